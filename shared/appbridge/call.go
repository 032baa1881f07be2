package appbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxArgumentsBytes bounds the arguments of one call; it matches the 32 KB
// client frame limit, so anything a client could send fits.
const MaxArgumentsBytes = 32 << 10

// argumentsDepth bounds nesting in arguments; real forms are shallow and the
// validator recurses.
const argumentsDepth = 32

// ToolCall is what an agent sends to invoke a tool it was given.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// Invocation is an action named directly (no app prefix), the form a client
// uses when the user presses something in the app.
type Invocation struct {
	ID        string          `json:"id"`
	Action    string          `json:"action"`
	Arguments json.RawMessage `json:"arguments"`
}

// Action is a validated request for the app to do something. Arguments are
// the canonical re-encoding (compact, sorted keys) of exactly the value that
// passed the schema, so the app never sees anything else.
type Action struct {
	CallID         string          `json:"callId"`
	SessionID      string          `json:"sessionId"`
	ConversationID string          `json:"conversationId"`
	AppID          string          `json:"appId"`
	AppVersionID   string          `json:"appVersionId"`
	Name           string          `json:"name"`
	Actor          Actor           `json:"actor"`
	Arguments      json.RawMessage `json:"arguments"`
}

// ResolveCall turns a tool call into a validated Action for the session's
// app, or refuses it with an *Error. Usually actor is ActorAgent; a client
// that speaks in tool names may pass ActorUser.
//
// Checks run in this order and the first failure is returned:
// invalid_session, invalid_actor, unknown_app (name not prefixed with
// "<appSlug>__"), forbidden_by_mode, unknown_action, forbidden_by_manifest,
// invalid_arguments (too large), not_json, invalid_arguments (duplicate keys,
// too deep, schema).
func ResolveCall(s Session, m Manifest, call ToolCall, actor Actor) (Action, error) {
	if err := precheck(s, actor, call.ID); err != nil {
		return Action{}, err
	}
	name, ok := splitToolName(s.AppSlug, call.Name)
	if !ok {
		return Action{}, newError(CodeUnknownApp, call.ID,
			fmt.Sprintf("tool %s does not belong to app %q (its tools are named %s<action>)", quoteBounded(call.Name, 140), s.AppSlug, s.AppSlug+toolSep))
	}
	return resolve(s, m, call.ID, name, call.Arguments, actor)
}

// ResolveAction is ResolveCall for an action named without the app prefix,
// as user interactions arrive. The order of checks is the same, minus
// unknown_app.
func ResolveAction(s Session, m Manifest, inv Invocation, actor Actor) (Action, error) {
	if err := precheck(s, actor, inv.ID); err != nil {
		return Action{}, err
	}
	return resolve(s, m, inv.ID, inv.Action, inv.Arguments, actor)
}

func precheck(s Session, actor Actor, callID string) error {
	if err := s.Validate(); err != nil {
		err.(*Error).CallID = callID
		return err
	}
	if !actor.valid() {
		return newError(CodeInvalidActor, callID, fmt.Sprintf("unknown actor %s", quoteBounded(string(actor), 32)))
	}
	return nil
}

func resolve(s Session, m Manifest, callID, name string, args json.RawMessage, actor Actor) (Action, error) {
	// The mode comes before the lookup: an agent in user_only mode was given
	// no tools, and telling it so helps more than "unknown action".
	if !s.Mode.admits(actor) {
		return Action{}, newError(CodeForbiddenByMode, callID, fmt.Sprintf("the %s may not act in %s mode", actor, s.Mode))
	}
	spec, ok := m.Action(name)
	if !ok {
		return Action{}, newError(CodeUnknownAction, callID, fmt.Sprintf("app %q has no action %s", s.AppSlug, quoteBounded(name, 80)))
	}
	if err := Permit(s.Mode, actor, spec); err != nil {
		err.(*Error).CallID = callID
		return Action{}, err
	}
	if spec.schema == nil {
		return Action{}, newError(CodeInvalidManifest, callID, "the manifest was not built by ParseManifest")
	}
	if len(args) > MaxArgumentsBytes {
		return Action{}, newError(CodeInvalidArguments, callID, fmt.Sprintf("arguments are %d bytes; the limit is %d", len(args), MaxArgumentsBytes))
	}
	// Absent arguments mean "no arguments": several LLM APIs send nothing
	// (or an empty string) for a tool called without parameters.
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	value, err := decodeStrict(args, argumentsDepth)
	if err != nil {
		if errors.Is(err, errSyntax) {
			return Action{}, newError(CodeNotJSON, callID, "arguments: "+err.Error())
		}
		return Action{}, newError(CodeInvalidArguments, callID, "arguments: "+err.Error())
	}
	if err := spec.schema.Validate(value); err != nil {
		return Action{}, newError(CodeInvalidArguments, callID, "arguments do not match the schema of "+name+": "+describeValidation(err))
	}
	canon, err := encodeCanonical(value)
	if err != nil {
		return Action{}, newError(CodeInvalidArguments, callID, "arguments: "+err.Error())
	}
	return Action{
		CallID:         callID,
		SessionID:      s.ID,
		ConversationID: s.ConversationID,
		AppID:          s.AppID,
		AppVersionID:   s.AppVersionID,
		Name:           name,
		Actor:          actor,
		Arguments:      canon,
	}, nil
}
