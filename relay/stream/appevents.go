package stream

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// App events (PROTOCOL.md section 15): what a member did in an app and
// what the app reported reach the session's agent live, as app_event on
// each reply it is writing in the conversation, and in the history of its
// next tasks.

// BridgeEvent is the bridge's view of a recorded event of the app slug.
func BridgeEvent(slug string, e ari.AppEvent) appbridge.Event {
	ev := appbridge.Event{AppSlug: slug, Kind: appbridge.EventKind(e.Kind), Name: e.Name, At: e.CreatedAt.Time}
	if e.Kind == ari.AppEventAction {
		ev.Actor = appbridge.ActorUser
	}
	if e.Data != nil {
		ev.Data = json.RawMessage(*e.Data)
	}
	return ev
}

// AppEvent gives a recorded event to the session's agent on every reply
// it is writing in the conversation, on whichever instance holds its
// socket. Lost (no socket, Redis failing), the agent still finds the event
// in its next task's history.
func (e *Engine) AppEvent(ctx context.Context, agentID, slug string, ev ari.AppEvent) {
	tasks, err := e.d.DB.AgentOpenReplies(ctx, agentID, ev.ConversationID)
	if err != nil {
		e.d.Log.Warn("relay app event replies", "agent", agentID, "err", err)
		return
	}
	entry := appbridge.EventEntry(BridgeEvent(slug, ev))
	for _, id := range tasks {
		b, err := protocol.Encode(protocol.NewAppEvent(id, ev.ConversationID, ev.SessionID, entry))
		if err == nil {
			_, err = e.d.Hub.Publish(ctx, e.d.Keys.AgentChannel(agentID), b)
		}
		if err != nil {
			e.d.Log.Warn("relay app event", "agent", agentID, "task", id, "err", err)
		}
	}
}

// withAppEvents merges into a task's history the events of the
// conversation's sessions for this agent since its oldest message (all of
// the newest ones when it has none), by time: at most
// protocol.HistoryAppEvents of them within protocol.HistoryAppEventBytes,
// newest kept.
func (e *Engine) withAppEvents(ctx context.Context, agentID, convID string, items []store.HistoryItem, history []protocol.HistoryEntry) ([]protocol.HistoryEntry, error) {
	// history is the newest of items (boundHistory): its first entry is
	// items[len(items)-len(history)].
	var since time.Time
	if len(history) > 0 {
		since = items[len(items)-len(history)].At
	}
	evs, err := e.d.DB.TaskAppEvents(ctx, agentID, convID, since, protocol.HistoryAppEvents)
	if err != nil || len(evs) == 0 {
		return history, err
	}
	entries := make([]appbridge.HistoryEvent, 0, len(evs))
	budget := protocol.HistoryAppEventBytes
	for i := len(evs) - 1; i >= 0; i-- {
		h := appbridge.EventEntry(BridgeEvent(evs[i].AppSlug, evs[i].AppEvent))
		if budget -= len(h.Text) + len(h.Data); budget < 0 {
			break
		}
		entries = append(entries, h)
	}
	// entries is newest first: entries[j] is evs[len(evs)-1-j].
	out := make([]protocol.HistoryEntry, 0, len(history)+len(entries))
	hi, times := 0, make([]time.Time, 0, len(history))
	for i := range history {
		times = append(times, items[len(items)-len(history)+i].At)
	}
	for j := len(entries) - 1; j >= 0; j-- {
		at := evs[len(evs)-1-j].CreatedAt.Time
		for hi < len(history) && !times[hi].After(at) {
			out = append(out, history[hi])
			hi++
		}
		ev := entries[j]
		out = append(out, protocol.HistoryEntry{AppEvent: &ev})
	}
	return append(out, history[hi:]...), nil
}
