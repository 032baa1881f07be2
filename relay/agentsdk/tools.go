package agentsdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/google/uuid"
)

// Tools (relay/PROTOCOL.md section 15): while an app is open for the agent
// in a conversation, its tasks list the app's actions as tools
// (Task.Tools). A handler calls one and blocks until the app, running in
// the client of the member who opened it, answers; the answer is a value.

// ToolError is a tool_result with an error: a refusal of the bridge
// (unknown_app, unknown_action, forbidden_by_mode, forbidden_by_manifest,
// invalid_arguments …), of the relay (timeout, call_id_in_use,
// app_unavailable, internal) or the app's own code.
type ToolError struct {
	Code, Message string
}

func (e *ToolError) Error() string {
	return fmt.Sprintf("agentsdk: tool call failed: %s (%s)", e.Message, e.Code)
}

// ToolSpec is one tool of a task: the name to call it by, what it does,
// and the JSON Schema of its arguments, as common LLM tool-calling APIs
// take them.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// Tools lists the tools of a task (none: nil).
func Tools(t *Task) []ToolSpec {
	if len(t.Tools) == 0 {
		return nil
	}
	var out []ToolSpec
	if json.Unmarshal(t.Tools, &out) != nil {
		return nil
	}
	return out
}

// ErrCallInFlight: the task already waits for a call with this id.
var ErrCallInFlight = errors.New("agentsdk: a call with this id is in flight")

type callResult struct {
	result json.RawMessage
	err    error
}

// Call invokes the task's tool named tool with args (marshalled to a JSON
// object; nil is {}) and waits for the app's result, returned as its raw
// JSON. Refusals, the app's errors and timeouts are a *ToolError. The call
// is sent again on a new socket until answered (the relay keeps one call
// per id and gives its result once).
func (s *Stream) Call(ctx context.Context, tool string, args any) (json.RawMessage, error) {
	var raw json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("agentsdk: tool arguments: %w", err)
		}
		raw = b
	}
	s.mu.Lock()
	err := s.usable()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	a := s.a
	f := &protocol.ToolCall{TaskID: s.t.id, CallID: "call_" + strings.ReplaceAll(uuid.NewString(), "-", ""), Tool: tool, Arguments: raw}
	ch := make(chan callResult, 1)
	a.mu.Lock()
	if a.calls == nil {
		a.calls = map[string]chan callResult{}
	}
	a.calls[f.CallID] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.calls, f.CallID)
		a.mu.Unlock()
	}()
	for {
		a.mu.Lock()
		lost := a.lost
		a.mu.Unlock()
		if err := a.enqueue(s.t.ctx, item{task: s.t, kind: kindToolCall, call: f}); err != nil {
			return nil, err
		}
		select {
		case r := <-ch:
			return r.result, r.err
		case <-lost:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-s.t.ctx.Done():
			return nil, context.Cause(s.t.ctx)
		case <-a.halt:
			return nil, ErrStopped
		}
	}
}

// answerCall hands a tool_result to the Call waiting for it; a result
// given again (after a reconnect) finds none and is dropped.
func (a *Agent) answerCall(f *protocol.ToolResult) {
	a.mu.Lock()
	ch := a.calls[f.CallID]
	delete(a.calls, f.CallID)
	a.mu.Unlock()
	if ch == nil {
		return
	}
	if f.Error != nil {
		ch <- callResult{err: &ToolError{Code: f.Error.Code, Message: f.Error.Message}}
		return
	}
	ch <- callResult{result: f.Result}
}

// Tool is a tool with typed arguments A and result R, both JSON values:
// a handler per app action, results returned as values. Name is the
// action ("move") or the whole tool name ("chess__move"); the action
// matches the task's tool "<appSlug>__<action>".
type Tool[A, R any] struct {
	Name string
}

// Call invokes the tool in the stream's task and decodes its result.
func (t Tool[A, R]) Call(ctx context.Context, s *Stream, args A) (R, error) {
	var zero R
	raw, err := s.Call(ctx, t.resolve(s.task), args)
	if err != nil {
		return zero, err
	}
	var out R
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, fmt.Errorf("agentsdk: the result of %s: %w", t.Name, err)
	}
	return out, nil
}

// Offered reports whether the task offers the tool.
func (t Tool[A, R]) Offered(task *Task) bool {
	name := t.resolve(task)
	for _, s := range Tools(task) {
		if s.Name == name {
			return true
		}
	}
	return false
}

func (t Tool[A, R]) resolve(task *Task) string {
	for _, s := range Tools(task) {
		if s.Name == t.Name || strings.HasSuffix(s.Name, "__"+t.Name) {
			return s.Name
		}
	}
	return t.Name
}
