package protocol

import (
	"encoding/json"
	"regexp"
)

// Tools (PROTOCOL.md section 15): an agent calls an app's action with
// tool_call; the relay checks it (shared/appbridge) and sends the client
// running the app app_action; the client's first app_action_result comes
// back to the agent as tool_result. Refusals and expiries are tool_results
// with an error.
const (
	TypeToolCall        = "tool_call"         // agent → relay
	TypeToolResult      = "tool_result"       // relay → agent
	TypeAppAction       = "app_action"        // relay → client
	TypeAppActionResult = "app_action_result" // client → relay
)

// Error codes of tool results the relay itself gives (besides the bridge's
// refusal codes, shared/appbridge).
const (
	// ToolErrTimeout: the app did not answer within APP_TOOL_TIMEOUT.
	ToolErrTimeout = "timeout"
	// ToolErrCallIDInUse: the session has a call with this callId from
	// another task; nothing was sent to the app.
	ToolErrCallIDInUse = "call_id_in_use"
	// ToolErrAppUnavailable: nobody runs the app (its opener left).
	ToolErrAppUnavailable = "app_unavailable"
	// ToolErrInternal: the relay failed; nothing was sent to the app and
	// calling again is safe.
	ToolErrInternal = "internal"
)

// MaxToolErrorMessageBytes bounds an error message in tool results.
const MaxToolErrorMessageBytes = 512

var toolErrorCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ToolCall invokes one of the task's tools.
type ToolCall struct {
	TaskID    string          `json:"taskId"`
	CallID    string          `json:"callId"`
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// ToolError is a refused, failed or expired call.
type ToolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ToolResult answers a tool_call: exactly one of Result and Error.
type ToolResult struct {
	TaskID string          `json:"taskId"`
	CallID string          `json:"callId"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *ToolError      `json:"error,omitempty"`
}

// AppAction asks the client running the app to perform an action.
type AppAction struct {
	SessionID string          `json:"sessionId"`
	CallID    string          `json:"callId"`
	Action    string          `json:"action"`
	Arguments json.RawMessage `json:"arguments"`
}

// AppActionResult is the client's answer to app_action.
type AppActionResult struct {
	SessionID string          `json:"sessionId"`
	CallID    string          `json:"callId"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *ToolError      `json:"error,omitempty"`
}

func (*ToolCall) FrameType() string        { return TypeToolCall }
func (*ToolResult) FrameType() string      { return TypeToolResult }
func (*AppAction) FrameType() string       { return TypeAppAction }
func (*AppActionResult) FrameType() string { return TypeAppActionResult }

func decodeToolCall(o *object) Frame {
	f := &ToolCall{}
	f.TaskID = o.refID("taskId")
	f.CallID = o.id("callId", true)
	f.Tool = o.str("tool", true, 256)
	// The bridge checks arguments (an object, size, depth, schema) and
	// answers a tool_result; absent is {}.
	f.Arguments = o.kept("arguments")
	return f
}

func decodeAppActionResult(o *object) Frame {
	f := &AppActionResult{}
	f.SessionID = o.id("sessionId", true)
	f.CallID = o.refID("callId")
	f.Result = o.kept("result")
	if v := o.raw("error", false); v != nil {
		var e struct {
			Code    json.RawMessage `json:"code"`
			Message json.RawMessage `json:"message"`
		}
		if v[0] != '{' || json.Unmarshal(v, &e) != nil {
			o.fail("error", "must be an object {code, message}")
			return nil
		}
		f.Error = &ToolError{Code: o.strValue("error.code", e.Code, 64), Message: o.strValue("error.message", e.Message, MaxToolErrorMessageBytes)}
		if o.err == nil && !toolErrorCode.MatchString(f.Error.Code) {
			o.fail("error.code", "must match [a-z][a-z0-9_]{0,63}")
		}
	}
	if o.err == nil && (f.Result == nil) == (f.Error == nil) {
		o.fail("result", "exactly one of result and error is required")
	}
	return f
}

func init() {
	agentDecoders[TypeToolCall] = decodeToolCall
	clientDecoders[TypeAppActionResult] = decodeAppActionResult
	relayFrames[TypeToolResult] = func() Frame { return &ToolResult{} }
	relayFrames[TypeAppAction] = func() Frame { return &AppAction{} }
}
