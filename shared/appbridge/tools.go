package appbridge

import (
	"encoding/json"
	"strings"
)

// toolSep joins an app slug and an action name into a tool name. Slugs
// cannot contain "_", so the first "__" always ends the slug.
const toolSep = "__"

// Tool is one tool definition in an agent's task frame. The shape
// (name, description, parameters as JSON Schema) is the one common LLM
// tool-calling APIs share, so an agent can usually pass it through unchanged.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ToolName is the name under which an app's action is offered to the agent:
// "<appSlug>__<action>", e.g. "chess__move". Namespacing keeps actions of
// different apps in one conversation from colliding.
func ToolName(appSlug, action string) string {
	return appSlug + toolSep + action
}

// Tools lists the actions the agent may invoke in this session as tool
// definitions, in manifest order. In user_only mode, and for an invalid
// session, it is empty: the agent then sees the app only through events.
func Tools(s Session, m Manifest) []Tool {
	allowed := Allowed(s, m, ActorAgent)
	if len(allowed) == 0 {
		return nil
	}
	out := make([]Tool, 0, len(allowed))
	for _, a := range allowed {
		out = append(out, Tool{Name: ToolName(s.AppSlug, a.Name), Description: a.Description, Parameters: a.Parameters})
	}
	return out
}

// splitToolName returns the action part of a tool name that belongs to the
// session's app.
func splitToolName(appSlug, name string) (string, bool) {
	return strings.CutPrefix(name, appSlug+toolSep)
}
