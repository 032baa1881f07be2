package appbridge

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ManifestSchema is the JSON Schema (draft 2020-12) a published manifest must
// satisfy, served at GET /api/apps/manifest.schema.json. It describes the
// shape; ValidateManifest adds what a schema cannot say (the parameters are
// themselves schemas that compile, sizes in bytes, no duplicate keys).
//
//go:embed manifest.schema.json
var ManifestSchema []byte

const manifestSchemaURL = "https://appbridge.invalid/manifest.schema.json"

var manifestSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(ManifestSchema)))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noFetch{})
	if err := c.AddResource(manifestSchemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(manifestSchemaURL)
})

// Published is a manifest accepted for publishing: what the bridge uses, the
// app's entry URL, and the canonical bytes to store (compact, sorted keys).
type Published struct {
	Manifest
	EntryURL  string
	Canonical json.RawMessage
}

// ValidateManifest checks a manifest for publishing: at most
// MaxManifestBytes, one JSON object nested at most 64 levels without
// duplicate keys, valid against ManifestSchema, and every action's
// parameters a compilable draft 2020-12 object schema (ParseManifest). The
// cost is bounded by the size limit: parsing and schema validation are
// linear, regular expressions are RE2, nothing is fetched. A refusal is a
// *ManifestError listing every problem found (at most 20).
func ValidateManifest(data []byte) (Published, error) {
	bad := &ManifestError{}
	if len(data) > MaxManifestBytes {
		bad.add("", fmt.Sprintf("manifest is %d bytes; the limit is %d", len(data), MaxManifestBytes))
		return Published{}, bad
	}
	doc, err := decodeStrict(data, manifestDepth)
	if err != nil {
		bad.add("", err.Error())
		return Published{}, bad
	}
	sch, err := manifestSchema()
	if err != nil {
		return Published{}, err
	}
	if err := sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return Published{}, err
		}
		for _, p := range schemaProblems(ve) {
			bad.add(p.Path, p.Message)
		}
		return Published{}, bad
	}
	top := doc.(map[string]any)
	entry, _ := top["entryUrl"].(string)
	if u, err := url.Parse(entry); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad.add("entryUrl", "must be an absolute http or https URL")
		return Published{}, bad
	}
	canon, err := encodeCanonical(doc)
	if err != nil {
		bad.add("", err.Error())
		return Published{}, bad
	}
	m, err := ParseManifest(canon)
	if err != nil {
		return Published{}, err
	}
	return Published{Manifest: m, EntryURL: entry, Canonical: canon}, nil
}

// schemaProblems flattens a validation failure into its innermost errors,
// each with the path a developer finds by eye (actions[2].name), sorted.
func schemaProblems(ve *jsonschema.ValidationError) []Problem {
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		var b strings.Builder
		for _, tok := range e.InstanceLocation {
			if n := len(tok); n > 0 && strings.Trim(tok, "0123456789") == "" {
				b.WriteString("[" + tok + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(truncate(tok, 64))
		}
		out = append(out, Problem{Path: b.String(), Message: e.ErrorKind.LocalizedString(printer)})
	}
	walk(ve)
	slices.SortFunc(out, func(a, b Problem) int { return strings.Compare(a.Path+"\x00"+a.Message, b.Path+"\x00"+b.Message) })
	return slices.Compact(out)
}

// MaxStateBytes bounds an app session's state document: it travels in every
// app_session_updated event and in sync_result.
const MaxStateBytes = 16 << 10

// stateDepth bounds nesting in a state document (Postgres parses jsonb
// recursively; a deep document must be refused before it gets there).
const stateDepth = 32

// maxStateMagnitude bounds the numbers of a state document: Postgres stores
// jsonb numbers as exact decimals, so 1e100000 (8 bytes here) would become
// 100,001 digits there. Between 1e-30 and 1e30 a number grows by a few dozen
// bytes at most.
const maxStateMagnitude = 1e30

// ParseState checks an app session's state document: one JSON object of at
// most MaxStateBytes, nested at most 32 levels, without duplicate keys, its
// numbers finite and 0 or of a magnitude from 1e-30 to 1e30. It returns the
// canonical form to store: compact, keys sorted, each number as the shortest
// text of its float64 (what a JavaScript app reads anyway).
func ParseState(data []byte) (json.RawMessage, error) {
	if len(data) > MaxStateBytes {
		return nil, fmt.Errorf("state is %d bytes; the limit is %d", len(data), MaxStateBytes)
	}
	v, err := decodeStrict(data, stateDepth)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("state must be a JSON object")
	}
	if v, err = stateNumbers(v); err != nil {
		return nil, err
	}
	return encodeCanonical(v)
}

// stateNumbers replaces every number of v by its canonical float64 text,
// refusing one out of range.
func stateNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if a := math.Abs(f); err != nil || math.IsInf(f, 0) || (a != 0 && (a < 1/maxStateMagnitude || a > maxStateMagnitude)) {
			return nil, fmt.Errorf("number %s is out of range: numbers must be 0 or of a magnitude from 1e-30 to 1e30", quoteBounded(string(x), 40))
		}
		b, err := json.Marshal(f) // formats as JavaScript does
		if err != nil {
			return nil, err
		}
		return json.Number(b), nil
	case map[string]any:
		for k, e := range x {
			n, err := stateNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := stateNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}
