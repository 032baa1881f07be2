package appbridge

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Limits on a manifest. They keep one app from filling an agent's context
// window with tools, and keep parsing cheap enough to do on every load.
const (
	MaxManifestBytes    = 256 << 10
	MaxActions          = 64
	MaxEvents           = 64
	MaxDescriptionBytes = 1024
	MaxSchemaBytes      = 16 << 10
	// manifestDepth bounds nesting of the whole manifest (schemas nest).
	manifestDepth = 64
)

// nameRe is the shape of action and event names: safe inside a tool name for
// every common LLM tool-calling API, and readable in event text.
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Manifest is what one app version declares to the bridge: the actions it
// accepts and the events it emits. Build it with ParseManifest; a Manifest
// assembled by hand has no compiled schemas and every call against it is
// refused.
type Manifest struct {
	Actions []ActionSpec `json:"actions"`
	Events  []EventSpec  `json:"events"`
}

// ActionSpec is one declared action.
type ActionSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Parameters is the JSON Schema (draft 2020-12, "type": "object") for the
	// action's arguments, re-encoded canonically (compact, sorted keys).
	Parameters json.RawMessage `json:"parameters"`
	// Actors, when set, narrows who may invoke the action in the modes that
	// allow both; nil means user and agent.
	Actors []Actor `json:"actors,omitempty"`

	schema *jsonschema.Schema
}

// EventSpec is one event the app declares it may emit.
type EventSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Action looks up a declared action by name.
func (m Manifest) Action(name string) (ActionSpec, bool) {
	for _, a := range m.Actions {
		if a.Name == name {
			return a, true
		}
	}
	return ActionSpec{}, false
}

// Event looks up a declared event by name.
func (m Manifest) Event(name string) (EventSpec, bool) {
	for _, e := range m.Events {
		if e.Name == name {
			return e, true
		}
	}
	return EventSpec{}, false
}

// allows reports whether the manifest lets actor invoke the action.
func (a ActionSpec) allows(actor Actor) bool {
	return a.Actors == nil || slices.Contains(a.Actors, actor)
}

// emptyParameters stands in for an action declared without parameters, so
// every tool still carries an object schema (several LLM APIs require one).
var emptyParameters = map[string]any{"type": "object", "properties": map[string]any{}, "additionalProperties": false}

// ParseManifest parses and validates the manifest JSON of an app version
// (app_versions.manifest). All problems are reported together in a
// *ManifestError.
//
// Top-level keys other than "actions" and "events" are ignored, because the
// manifest also carries things other parts of the platform read. Inside an
// action or event every key must be known, so a typo such as "actor" fails
// loudly instead of silently widening who may act.
func ParseManifest(data []byte) (Manifest, error) {
	bad := &ManifestError{}
	if len(data) > MaxManifestBytes {
		bad.add("", fmt.Sprintf("manifest is %d bytes; the limit is %d", len(data), MaxManifestBytes))
		return Manifest{}, bad
	}
	doc, err := decodeStrict(data, manifestDepth)
	if err != nil {
		bad.add("", err.Error())
		return Manifest{}, bad
	}
	top, ok := doc.(map[string]any)
	if !ok {
		bad.add("", "manifest must be a JSON object")
		return Manifest{}, bad
	}
	var m Manifest
	if raw, present := top["actions"]; present {
		m.Actions = parseActions(raw, bad)
	}
	if raw, present := top["events"]; present {
		m.Events = parseEvents(raw, bad)
	}
	if len(bad.Problems) > 0 {
		return Manifest{}, bad
	}
	return m, nil
}

func parseActions(raw any, bad *ManifestError) []ActionSpec {
	list, ok := raw.([]any)
	if !ok {
		bad.add("actions", "must be an array")
		return nil
	}
	if len(list) > MaxActions {
		bad.add("actions", fmt.Sprintf("%d actions; the limit is %d", len(list), MaxActions))
		return nil
	}
	out := make([]ActionSpec, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		path := fmt.Sprintf("actions[%d]", i)
		obj, ok := item.(map[string]any)
		if !ok {
			bad.add(path, "must be an object")
			continue
		}
		rejectUnknownKeys(obj, path, bad, "name", "description", "parameters", "actors")
		a := ActionSpec{
			Name:        checkName(obj, path, bad),
			Description: checkDescription(obj, path, bad, true),
			Actors:      checkActors(obj, path, bad),
		}
		if a.Name != "" {
			if seen[a.Name] {
				bad.add(path+".name", fmt.Sprintf("duplicate action name %q", a.Name))
			}
			seen[a.Name] = true
		}
		params, present := obj["parameters"]
		if !present {
			params = emptyParameters
		}
		canon, err := encodeCanonical(params)
		switch {
		case err != nil:
			bad.add(path+".parameters", err.Error())
		case len(canon) > MaxSchemaBytes:
			bad.add(path+".parameters", fmt.Sprintf("schema is %d bytes; the limit is %d", len(canon), MaxSchemaBytes))
		default:
			a.Parameters = canon
			sch, err := compileParameters(fmt.Sprintf("%d", i), params)
			if err != nil {
				bad.add(path+".parameters", err.Error())
			}
			a.schema = sch
		}
		out = append(out, a)
	}
	return out
}

func parseEvents(raw any, bad *ManifestError) []EventSpec {
	list, ok := raw.([]any)
	if !ok {
		bad.add("events", "must be an array")
		return nil
	}
	if len(list) > MaxEvents {
		bad.add("events", fmt.Sprintf("%d events; the limit is %d", len(list), MaxEvents))
		return nil
	}
	out := make([]EventSpec, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		path := fmt.Sprintf("events[%d]", i)
		obj, ok := item.(map[string]any)
		if !ok {
			bad.add(path, "must be an object")
			continue
		}
		rejectUnknownKeys(obj, path, bad, "name", "description")
		e := EventSpec{Name: checkName(obj, path, bad), Description: checkDescription(obj, path, bad, false)}
		if e.Name != "" {
			if seen[e.Name] {
				bad.add(path+".name", fmt.Sprintf("duplicate event name %q", e.Name))
			}
			seen[e.Name] = true
		}
		out = append(out, e)
	}
	return out
}

func rejectUnknownKeys(obj map[string]any, path string, bad *ManifestError, known ...string) {
	// Sorted so the problem list is the same on every run.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			bad.add(path, "unknown key "+quoteBounded(k, 64))
		}
	}
}

func checkName(obj map[string]any, path string, bad *ManifestError) string {
	name, ok := obj["name"].(string)
	if !ok || !nameRe.MatchString(name) {
		bad.add(path+".name", "must be a string matching [a-z][a-z0-9_]{0,63}")
		return ""
	}
	return name
}

func checkDescription(obj map[string]any, path string, bad *ManifestError, required bool) string {
	raw, present := obj["description"]
	if !present && !required {
		return ""
	}
	// Required for actions: a tool without a description is one a model
	// guesses at.
	desc, ok := raw.(string)
	switch {
	case !ok || (required && desc == ""):
		bad.add(path+".description", "must be a non-empty string")
	case len(desc) > MaxDescriptionBytes:
		bad.add(path+".description", fmt.Sprintf("%d bytes; the limit is %d", len(desc), MaxDescriptionBytes))
	case !utf8.ValidString(desc):
		bad.add(path+".description", "must be valid UTF-8")
	default:
		return desc
	}
	return ""
}

func checkActors(obj map[string]any, path string, bad *ManifestError) []Actor {
	raw, present := obj["actors"]
	if !present {
		return nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		bad.add(path+".actors", `must be a non-empty array of "user" and/or "agent" (omit it to allow both)`)
		return nil
	}
	var out []Actor
	for _, item := range list {
		s, _ := item.(string)
		a := Actor(s)
		if !a.valid() {
			bad.add(path+".actors", fmt.Sprintf(`unknown actor %s; use "user" or "agent"`, quoteBounded(s, 32)))
			return nil
		}
		if slices.Contains(out, a) {
			bad.add(path+".actors", fmt.Sprintf("actor %q listed twice", s))
			return nil
		}
		out = append(out, a)
	}
	return out
}
