package agentsdk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Post sends agent_message and returns the ack; a post whose socket is lost
// before the answer is sent again on the next socket with the same id; a
// refusal comes back as a *PostError; bad input is refused locally.
func TestPost(t *testing.T) {
	r := newStubRelay(t, token)
	a, _ := start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error { return nil }))
	c1 := r.next()
	c1.recv() // skills
	ctx := context.Background()
	for _, bad := range [][3]string{{"c_1", "", "p1"}, {"c_1", " \n", "p1"}, {"c{1}", "hi", "p1"}, {"c_1", "hi", ""},
		{"c_1", "a\x00b", "p1"}, {"c_1", "\xff", "p1"}, {"c_1", strings.Repeat("x", protocol.MaxContentBytes+1), "p1"}} {
		if _, err := a.Post(ctx, bad[0], bad[1], bad[2]); !errors.Is(err, ErrInvalidPost) {
			t.Fatalf("Post%q = %v, want ErrInvalidPost", bad, err)
		}
	}

	type result struct {
		ack Posted
		err error
	}
	done := make(chan result, 1)
	go func() {
		ack, err := a.Post(ctx, "c_1", "Erinnerung: 9:12", "p-1")
		done <- result{ack, err}
	}()
	m, ok := c1.recv().(*protocol.AgentMessage)
	if !ok || m.ConversationID != "c_1" || m.Content != "Erinnerung: 9:12" || m.ClientMessageID != "p-1" {
		t.Fatalf("first frame = %+v", m)
	}
	c1.drop() // lost before the relay answered
	c2 := r.next()
	c2.recv() // skills
	again, ok := c2.recv().(*protocol.AgentMessage)
	if !ok || again.ClientMessageID != "p-1" || again.Content != m.Content {
		t.Fatalf("after the reconnect = %+v", again)
	}
	c2.send(&protocol.AgentMessageAck{ClientMessageID: "p-1", MessageID: "msg_7", Seq: 7})
	if res := within(t, done, "Post's answer"); res.err != nil || res.ack.MessageID != "msg_7" || res.ack.Seq != 7 {
		t.Fatalf("Post = %+v, %v", res.ack, res.err)
	}

	go func() {
		ack, err := a.Post(ctx, "c_2", "hallo", "p-2")
		done <- result{ack, err}
	}()
	c2.recv()
	c2.send(&protocol.ErrorFrame{Code: protocol.CodeRateLimited, Message: "too many messages", Ref: "p-2", RetryAfterMs: 1500})
	res := within(t, done, "Post's refusal")
	var pe *PostError
	if !errors.As(res.err, &pe) || pe.Code != protocol.CodeRateLimited || pe.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("Post = %v, want a rate_limited PostError", res.err)
	}
}
