package appbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func chessWithEntry(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/chess.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["entryUrl"] = "https://apps.example.com/chess/"
	b, _ := json.Marshal(doc)
	return b
}

func TestValidateManifestAcceptsTheSample(t *testing.T) {
	p, err := ValidateManifest(chessWithEntry(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.EntryURL != "https://apps.example.com/chess/" || len(p.Actions) != 4 || len(p.Events) != 2 {
		t.Fatalf("got %+v", p)
	}
	if _, err := ParseManifest(p.Canonical); err != nil {
		t.Fatalf("canonical form does not parse: %v", err)
	}
	// The served schema is itself a valid draft 2020-12 schema.
	if _, err := manifestSchema(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateManifestRefusesHostileManifests: every hostile manifest is a
// *ManifestError (a 400 at the route), found in bounded time.
func TestValidateManifestRefusesHostileManifests(t *testing.T) {
	action := func(params string) string {
		return `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","parameters":` + params + `}]}`
	}
	deep := strings.Repeat(`{"type":"object","properties":{"a":`, 40) + `{"type":"string"}` + strings.Repeat(`}}`, 40)
	veryDeep := strings.Repeat(`[`, 100000) + strings.Repeat(`]`, 100000)
	bigEnum := make([]string, 5000)
	for i := range bigEnum {
		bigEnum[i] = fmt.Sprintf("%q", fmt.Sprint("value-", i))
	}
	manyActions := make([]string, 65)
	for i := range manyActions {
		manyActions[i] = fmt.Sprintf(`{"name":"a%d","description":"x"}`, i)
	}
	cases := []struct{ name, manifest, want string }{
		{"not an object", `[]`, "want object"},
		{"not JSON", `{"entryUrl":`, "not JSON"},
		{"no entry URL", `{"actions":[]}`, "entryUrl"},
		{"entry URL not http", `{"entryUrl":"javascript:alert(1)"}`, "entryUrl"},
		{"entry URL without host", `{"entryUrl":"https://"}`, "entryUrl"},
		{"unknown top-level key", `{"entryUrl":"https://a.example/","entryURL":"x"}`, "entryURL"},
		{"duplicate keys", `{"entryUrl":"https://a.example/","entryUrl":"https://b.example/"}`, "duplicate key"},
		{"nested past 64 levels", action(deep), "nested deeper"},
		{"100,000 brackets", veryDeep, "nested deeper"},
		{"over 256 KiB", `{"entryUrl":"https://a.example/","x":"` + strings.Repeat("a", MaxManifestBytes) + `"}`, "limit"},
		{"schema over 16 KiB", action(`{"type":"object","properties":{"a":{"enum":[` + strings.Join(bigEnum, ",") + `]}}}`), "limit is 16384"},
		{"65 actions", `{"entryUrl":"https://a.example/","actions":[` + strings.Join(manyActions, ",") + `]}`, "actions"},
		{"bad regex", action(`{"type":"object","properties":{"a":{"type":"string","pattern":"(unclosed"}}}`), "parameters"},
		{"look-around regex", action(`{"type":"object","properties":{"a":{"type":"string","pattern":"(?=x)"}}}`), "parameters"},
		{"huge repetition", action(`{"type":"object","properties":{"a":{"type":"string","pattern":"(a{1000}){1000}"}}}`), "parameters"},
		{"external ref", action(`{"type":"object","properties":{"a":{"$ref":"file:///etc/passwd"}}}`), "parameters"},
		{"http ref", action(`{"type":"object","properties":{"a":{"$ref":"http://169.254.169.254/x"}}}`), "parameters"},
		{"ref to nowhere", action(`{"type":"object","properties":{"a":{"$ref":"#/$defs/none"}}}`), "parameters"},
		{"ref cycle", action(`{"type":"object","$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}}}`), "$ref cycle"},
		{"other dialect", action(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`), "parameters"},
		{"not an object schema", action(`{"type":"string"}`), "parameters"},
		{"bad keyword value", action(`{"type":"object","minProperties":-1}`), "parameters"},
		{"unknown actor", `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","actors":["robot"]}]}`, "actors"},
		{"bad action name", `{"entryUrl":"https://a.example/","actions":[{"name":"Go!","description":"Go."}]}`, "name"},
		{"action typo", `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"Go.","actor":["user"]}]}`, "actor"},
		{"duplicate action", `{"entryUrl":"https://a.example/","actions":[{"name":"go","description":"a"},{"name":"go","description":"b"}]}`, "duplicate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := ValidateManifest([]byte(c.manifest))
			took := time.Since(start)
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("got %v (%T), want *ManifestError", err, err)
			}
			if len(me.Problems) == 0 || len(me.Problems) > maxProblems {
				t.Fatalf("%d problems", len(me.Problems))
			}
			if !strings.Contains(me.Error(), c.want) {
				t.Fatalf("error %q does not mention %q", me.Error(), c.want)
			}
			if len(me.Error()) > 4*MaxErrorMessageBytes {
				t.Fatalf("error is %d bytes", len(me.Error()))
			}
			t.Logf("refused in %v: %s", took, me.Error())
		})
	}
}

func TestParseState(t *testing.T) {
	got, err := ParseState([]byte(` {"b": 1.5e3, "a": [0.1, -2E2, 1e-7, 1e21, 12345678901234567890], "c": {"d": null, "e": "x"}} `))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":[0.1,-200,1e-7,1e+21,12345678901234567000],"b":1500,"c":{"d":null,"e":"x"}}`; string(got) != want {
		t.Fatalf("canonical state\n got %s\nwant %s", got, want)
	}
	for name, in := range map[string]string{
		"array":          `[1]`,
		"string":         `"x"`,
		"empty":          ``,
		"two values":     `{}{}`,
		"duplicate keys": `{"a":1,"a":1}`,
		"too deep":       strings.Repeat(`{"a":`, 33) + `1` + strings.Repeat(`}`, 33),
		"overflow":       `{"a":1e400}`,
		"past 1e30":      `{"a":[2e30]}`,
		"below 1e-30":    `{"a":{"b":-1e-31}}`,
		"too large":      `{"a":"` + strings.Repeat("x", MaxStateBytes) + `"}`,
	} {
		if _, err := ParseState([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
