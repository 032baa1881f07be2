package textcheck

import (
	"encoding/json"
	"testing"
)

func TestJSON(t *testing.T) {
	cases := []struct {
		in, field, problem string
	}{
		{`{"name":"ok","n":1,"a":[true,null,{"x":"é\n\"\\"}]}`, "", ""},
		{`{"name":"a\u0000b"}`, "name", HasNUL},
		{`{"name":"a\u0000"}`, "name", HasNUL},
		{`{"skills":[{"name":"x"},{"name":"\u0000"}]}`, "skills[1].name", HasNUL},
		{`{"a":{"b":"\ud800"}}`, "a.b", LoneSurrogate},
		{`{"a":"\ud800x"}`, "a", LoneSurrogate},
		{`{"a":"\udc00"}`, "a", LoneSurrogate},
		{`{"a":"\ud800\u0041"}`, "a", LoneSurrogate},
		{`{"a":"\ud800\\udc00"}`, "a", LoneSurrogate},
		{`{"a":"\ud83d\ude00 ok"}`, "", ""},
		{`{"a":"\uD83D\uDE00"}`, "", ""},
		{"{\"a\":\"\xc3\x28\"}", "a", NotUTF8},
		{"{\"a\":[\"ok\",\"\xff\xfe\"]}", "a[1]", NotUTF8},
		{`{"a\u0000":1}`, "", HasNUL},
		{`{"o":{"k\u0000":1}}`, "o", HasNUL},
		{`"\u0000"`, "", HasNUL},
		{`[1,"\ud800"]`, "[1]", LoneSurrogate},
		{`{"a":"\\u0000"}`, "", ""}, // an escaped backslash, then text
		{`{"a":`, "", ""},           // malformed: left to the decoder
		{`{"a":"\u00`, "", ""},
	}
	for _, c := range cases {
		is := JSON([]byte(c.in))
		if c.problem == "" {
			if is != nil {
				t.Errorf("%s: got %+v, want nothing", c.in, is)
			}
			continue
		}
		if is == nil || is.Field != c.field || is.Problem != c.problem {
			t.Errorf("%s: got %+v, want %q %q", c.in, is, c.field, c.problem)
		}
	}
}

func TestString(t *testing.T) {
	for in, want := range map[string]string{"ok é": "", "a\x00": HasNUL, "\xc3\x28": NotUTF8, "\xc3": NotUTF8} {
		if got := String(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

// FuzzJSON checks the scanner agrees with encoding/json: whatever it passes
// decodes to the same strings a strict reader would see, and it never panics.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{`{"a":"\ud800"}`, `{"a":[1,{"b":"\u0000"}]}`, `"x"`, `{"\ud83d\ude00":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		is := JSON(b)
		if is != nil || !json.Valid(b) {
			return
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("valid JSON failed to decode: %v", err)
		}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				if String(x) != "" {
					t.Fatalf("passed a bad string %q in %q", x, b)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// Every socket frame and REST body passes JSON once.
func BenchmarkJSON(b *testing.B) {
	doc := []byte(`{"type":"agent_chunk","taskId":"m_01JEXAMPLE0000000000000000","content":"Tokyo is the capital of Japan \u00e9 and \"its\" largest city.","mode":"delta"}`)
	b.ReportAllocs()
	for b.Loop() {
		if is := JSON(doc); is != nil {
			b.Fatal(is)
		}
	}
}
