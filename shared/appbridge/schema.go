package appbridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// draft2020 is the only dialect a manifest may declare: one dialect keeps the
// meaning of a schema the same for the validator here and for whatever model
// reads it as a tool definition.
const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// schemaBase names an action's schema inside the validator. The .invalid
// domain can never resolve, which documents that nothing is ever fetched.
const schemaBase = "https://appbridge.invalid/actions/"

var printer = message.NewPrinter(language.English)

// pointerEscaper writes JSON Pointer tokens (RFC 6901) so a key holding "/"
// cannot be mistaken for a deeper path.
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// noFetch refuses every external $ref. Without it the library's default
// loader would read file:// URLs from this machine's disk on behalf of
// whoever wrote the manifest, and this package promises no I/O at all.
type noFetch struct{}

func (noFetch) Load(url string) (any, error) {
	return nil, errors.New("external references are not allowed; put shared definitions under $defs")
}

// compileParameters checks that doc is a draft 2020-12 object schema and
// compiles it. Formats are asserted (2020-12 leaves them advisory by default)
// because an app that writes "format": "date-time" expects it enforced.
func compileParameters(actionName string, doc any) (*jsonschema.Schema, error) {
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("must be a JSON object (a schema with \"type\": \"object\")")
	}
	if d, present := obj["$schema"]; present {
		s, _ := d.(string)
		if strings.TrimSuffix(s, "#") != draft2020 {
			return nil, fmt.Errorf("$schema must be %q when present", draft2020)
		}
	}
	if t, _ := obj["type"].(string); t != "object" {
		return nil, errors.New(`must declare "type": "object" (tool arguments are always an object)`)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noFetch{})
	loc := schemaBase + actionName
	if err := c.AddResource(loc, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(loc)
	var meta *jsonschema.SchemaValidationError
	if errors.As(err, &meta) {
		return nil, errors.New("not a valid JSON Schema (draft 2020-12): " + describeValidation(meta.Err))
	}
	if err != nil {
		// Our internal base URL means nothing to the app developer.
		msg := strings.ReplaceAll(err.Error(), loc, "parameters")
		return nil, errors.New(strings.ReplaceAll(msg, schemaBase, ""))
	}
	// A cycle of $refs that consumes no input compiles, and the validator
	// refuses every value with it at call time; refuse it at publish time
	// instead, where the developer sees it. (A cycle reached only inside
	// some values is still caught by the validator, cleanly, per call.)
	if err := sch.Validate(map[string]any{}); err != nil && hasRefCycle(err) {
		return nil, errors.New("$ref cycle: a reference leads back to itself without reading any input")
	}
	return sch, nil
}

func hasRefCycle(err error) bool {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	if _, ok := ve.ErrorKind.(*kind.RefCycle); ok {
		return true
	}
	for _, c := range ve.Causes {
		if hasRefCycle(c) {
			return true
		}
	}
	return false
}

// describeValidation flattens a validation failure into one line listing the
// innermost failures ("at /to: missing property 'square'"), which is what an
// agent needs to repair its call; the schema URLs in the library's own text
// are noise to it. The validator walks maps in random order, so the failures
// are sorted to make the message the same on every run.
func describeValidation(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			where := "/"
			for i, tok := range e.InstanceLocation {
				if i > 0 {
					where += "/"
				}
				where += pointerEscaper.Replace(tok)
			}
			parts = append(parts, "at "+where+": "+e.ErrorKind.LocalizedString(printer))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.Sort(parts)
	parts = slices.Compact(parts)
	const shown = 5
	if len(parts) > shown {
		parts = append(parts[:shown], fmt.Sprintf("and %d more", len(parts)-shown))
	}
	return strings.Join(parts, "; ")
}
