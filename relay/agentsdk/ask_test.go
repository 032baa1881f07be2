package agentsdk

import (
	"context"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Approve and Ask block until the answer: the request is sent again on a
// new socket (the relay keeps one per id), an answer given again after a
// reconnect reaches the handler once, a timeout is ErrInputTimeout, a
// refusal an *InputError, and bad requests are refused locally.
func TestAskAndApprove(t *testing.T) {
	r := newStubRelay(t, token)
	type result struct {
		a   Answer
		err error
	}
	results := make(chan result, 4)
	_, _ = start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		if _, err := s.Ask(ctx, Question{Prompt: "x", Options: []string{"a", "a"}}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("repeated options: %v", err)
		}
		if _, err := s.Ask(ctx, Question{Prompt: " "}); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("blank prompt: %v", err)
		}
		switch task.Message.Content {
		case "approve":
			a, err := s.Approve(ctx, "Darf ich?")
			results <- result{a, err}
			if err != nil {
				return err
			}
			return s.Write("ok")
		default:
			a, err := s.Ask(ctx, Question{Prompt: "Welche?", Options: []string{"rot", "blau"}, RequestID: "q-ask"})
			results <- result{a, err}
			return nil
		}
	}))
	c1 := r.next()
	c1.recv() // skills
	c1.send(newTask("t1", "approve"))
	req, ok := c1.recv().(*protocol.AgentInputRequest)
	if !ok || req.TaskID != "t1" || req.Kind != protocol.InputApproval || req.Prompt != "Darf ich?" || req.RequestID == "" {
		t.Fatalf("first frame = %#v", req)
	}
	c1.drop() // lost: sent again on the next socket, same id
	c2 := r.next()
	c2.recv() // skills
	again, ok := c2.recv().(*protocol.AgentInputRequest)
	if !ok || again.RequestID != req.RequestID {
		t.Fatalf("after the reconnect = %#v", again)
	}
	yes := true
	c2.send(&protocol.InputResponse{TaskID: "t1", RequestID: req.RequestID, Approved: &yes, UserID: "u_ada"})
	c2.send(&protocol.InputResponse{TaskID: "t1", RequestID: req.RequestID, Approved: &yes, UserID: "u_ada"}) // a repeat
	if res := within(t, results, "Approve's answer"); res.err != nil || !res.a.Approved || res.a.UserID != "u_ada" {
		t.Fatalf("Approve = %+v, %v", res.a, res.err)
	}
	if ch, ok := c2.recv().(*protocol.AgentChunk); !ok || ch.Content != "ok" {
		t.Fatalf("after the answer = %#v", ch)
	}
	if _, ok := c2.recv().(*protocol.AgentComplete); !ok {
		t.Fatal("no agent_complete")
	}

	c2.send(newTask("t2", "ask"))
	q, ok := c2.recv().(*protocol.AgentInputRequest)
	if !ok || q.RequestID != "q-ask" || len(q.Options) != 2 {
		t.Fatalf("question = %#v", q)
	}
	c2.send(&protocol.InputTimeout{TaskID: "t2", RequestID: "q-ask"})
	if res := within(t, results, "Ask's timeout"); !errors.Is(res.err, ErrInputTimeout) {
		t.Fatalf("Ask = %+v, %v", res.a, res.err)
	}
	c2.recv() // agent_complete

	c2.send(newTask("t3", "ask"))
	c2.recv()
	c2.send(&protocol.ErrorFrame{Code: protocol.CodeRequestIDInUse, Message: "used", Ref: "t3"})
	var ie *InputError
	if res := within(t, results, "Ask's refusal"); !errors.As(res.err, &ie) || ie.Code != protocol.CodeRequestIDInUse {
		t.Fatalf("Ask = %v, want an InputError", res.err)
	}
}
