package appbridge

import (
	"errors"
	"strings"
)

// Code is a stable, snake_case reason a call or a manifest was refused. Codes
// travel on the wire (see relay/PROTOCOL.md) and never change meaning; the
// message beside them is for people and may change.
type Code string

const (
	// CodeNotJSON: the arguments are not a single well-formed JSON value.
	CodeNotJSON Code = "not_json"
	// CodeUnknownApp: the tool name is not namespaced with this session's app.
	CodeUnknownApp Code = "unknown_app"
	// CodeUnknownAction: the app version declares no action with that name.
	CodeUnknownAction Code = "unknown_action"
	// CodeForbiddenByMode: the session's control mode does not let this actor
	// act at all (the agent in user_only, the user in agent_only).
	CodeForbiddenByMode Code = "forbidden_by_mode"
	// CodeForbiddenByManifest: the mode lets the actor act, but this action's
	// "actors" list in the manifest does not include them.
	CodeForbiddenByManifest Code = "forbidden_by_manifest"
	// CodeInvalidArguments: JSON, but not what the action's schema accepts
	// (also: too large, too deep, duplicate keys).
	CodeInvalidArguments Code = "invalid_arguments"
	// CodeInvalidSession: the session itself is unusable (unknown mode,
	// malformed app slug) — a server-side bug, not the caller's fault.
	CodeInvalidSession Code = "invalid_session"
	// CodeInvalidActor: the actor is neither "user" nor "agent" — a
	// server-side bug as well.
	CodeInvalidActor Code = "invalid_actor"
	// CodeInvalidManifest: ParseManifest refused the manifest.
	CodeInvalidManifest Code = "invalid_manifest"
)

// MaxErrorMessageBytes bounds Error.Message: a schema failure on a big
// argument object could otherwise echo kilobytes back into an agent's context.
const MaxErrorMessageBytes = 512

// Error is a refusal with a stable code. CallID echoes the tool call or user
// action it answers so the caller can route the refusal back.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	CallID  string `json:"callId,omitempty"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

func newError(code Code, callID, msg string) *Error {
	return &Error{Code: code, Message: truncate(msg, MaxErrorMessageBytes), CallID: callID}
}

// ErrorCode returns the code carried by err, or "" when err is not from this
// package (or nil).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var m *ManifestError
	if errors.As(err, &m) {
		return CodeInvalidManifest
	}
	return ""
}

// Problem is one reason a manifest was refused. Path points into the manifest
// JSON in a form a developer can find by eye, e.g. actions[2].parameters.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ManifestError lists every problem found, not just the first, so a developer
// fixes a manifest in one round trip.
type ManifestError struct {
	Problems []Problem `json:"problems"`
}

// maxProblems keeps a hostile manifest from producing an unbounded report.
const maxProblems = 20

func (e *ManifestError) Error() string {
	var b strings.Builder
	b.WriteString("invalid manifest: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Path != "" {
			b.WriteString(p.Path)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return truncate(b.String(), 4*MaxErrorMessageBytes)
}

func (e *ManifestError) add(path, msg string) {
	if len(e.Problems) >= maxProblems {
		return
	}
	e.Problems = append(e.Problems, Problem{Path: path, Message: truncate(msg, MaxErrorMessageBytes)})
}
