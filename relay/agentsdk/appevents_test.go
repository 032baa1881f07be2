package agentsdk

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/appbridge"
)

// App events: those in the task's history are listed by HistoryAppEvents
// (message entries left out); an app_event for a running task reaches its
// Stream's AppEvents channel; one for another task is dropped.
func TestAppEvents(t *testing.T) {
	r := newStubRelay(t, token)
	got := make(chan []AppEvent, 2)
	_, _ = start(t, testConfig(r, func(ctx context.Context, task *Task, s *Stream) error {
		got <- HistoryAppEvents(task)
		select {
		case ev := <-s.AppEvents():
			got <- []AppEvent{ev}
		case <-ctx.Done():
		}
		return nil
	}))
	c := r.next()
	c.recv() // skills
	task := newTask("t1", "your move")
	task.History = []protocol.HistoryEntry{{Role: protocol.RoleUser, SenderName: "Ada", Content: "play", Seq: 1},
		{AppEvent: &appbridge.HistoryEvent{App: "chess", Kind: appbridge.EventAction, Name: "move", Actor: appbridge.ActorUser,
			Data: json.RawMessage(`{"from":"e2","to":"e4"}`), At: "2025-03-04T04:06:07.891Z", Text: `[app chess] user invoked move {"from":"e2","to":"e4"}`}}}
	c.send(task)
	if h := within(t, got, "the history's events"); len(h) != 1 || h[0].Name != "move" || h[0].Actor != appbridge.ActorUser ||
		string(h[0].Data) != `{"from":"e2","to":"e4"}` || h[0].TaskID != "t1" {
		t.Fatalf("HistoryAppEvents = %+v", h)
	}
	c.send(&protocol.AppEvent{TaskID: "t9", ConversationID: "c1", SessionID: "s1", App: "chess", Kind: appbridge.EventState, Name: "other", Text: "[app chess] state other"})
	c.send(&protocol.AppEvent{TaskID: "t1", ConversationID: "c1", SessionID: "s1", App: "chess", Kind: appbridge.EventState, Name: "game_over", Text: "[app chess] state game_over"})
	if ev := within(t, got, "the live event"); len(ev) != 1 || ev[0].Name != "game_over" || ev[0].SessionID != "s1" {
		t.Fatalf("AppEvents = %+v", ev)
	}
	if _, ok := c.recv().(*protocol.AgentComplete); !ok {
		t.Fatal("no agent_complete")
	}
}
