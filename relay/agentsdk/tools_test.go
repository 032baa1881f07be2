package agentsdk

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/relay/protocol"
)

type moveArgs struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type moveResult struct {
	Moved bool `json:"moved"`
}

// A typed tool: the call names the task's tool by its action, is sent again
// on a new socket with the same callId, its result arrives as a value once
// (a result given again is dropped), and an error result is a *ToolError.
func TestToolCall(t *testing.T) {
	r := newStubRelay(t, token)
	move := Tool[moveArgs, moveResult]{Name: "move"}
	type result struct {
		r   moveResult
		err error
	}
	results := make(chan result, 2)
	_, _ = start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		if !move.Offered(task) || len(Tools(task)) != 1 {
			t.Errorf("tools = %v", Tools(task))
		}
		res, err := move.Call(ctx, s, moveArgs{From: "e2", To: "e4"})
		results <- result{res, err}
		res, err = move.Call(ctx, s, moveArgs{From: "e4", To: "e9"})
		results <- result{res, err}
		return nil
	}))
	c1 := r.next()
	c1.recv() // skills
	task := newTask("t1", "play")
	task.Tools = json.RawMessage(`[{"name":"chess__move","description":"Move.","parameters":{"type":"object"}}]`)
	c1.send(task)
	call, ok := c1.recv().(*protocol.ToolCall)
	if !ok || call.TaskID != "t1" || call.Tool != "chess__move" || string(call.Arguments) != `{"from":"e2","to":"e4"}` || call.CallID == "" {
		t.Fatalf("tool_call = %#v", call)
	}
	c1.drop()
	c2 := r.next()
	c2.recv() // skills
	again, ok := c2.recv().(*protocol.ToolCall)
	if !ok || again.CallID != call.CallID {
		t.Fatalf("after the reconnect = %#v", again)
	}
	c2.send(&protocol.ToolResult{TaskID: "t1", CallID: call.CallID, Result: json.RawMessage(`{"moved":true}`)})
	c2.send(&protocol.ToolResult{TaskID: "t1", CallID: call.CallID, Result: json.RawMessage(`{"moved":false}`)}) // a repeat
	if res := within(t, results, "the first result"); res.err != nil || !res.r.Moved {
		t.Fatalf("Call = %+v, %v", res.r, res.err)
	}
	second, ok := c2.recv().(*protocol.ToolCall)
	if !ok || second.CallID == call.CallID {
		t.Fatalf("second tool_call = %#v", second)
	}
	c2.send(&protocol.ToolResult{TaskID: "t1", CallID: second.CallID, Error: &protocol.ToolError{Code: "invalid_arguments", Message: "at /to: bad square"}})
	var te *ToolError
	if res := within(t, results, "the refusal"); !errors.As(res.err, &te) || te.Code != "invalid_arguments" {
		t.Fatalf("Call = %+v, %v, want a ToolError", res.r, res.err)
	}
	if _, ok := c2.recv().(*protocol.AgentComplete); !ok {
		t.Fatal("no agent_complete")
	}
}
