package agentsdk

import "github.com/ari-chat/ari-server/relay/protocol"

// App events (relay/PROTOCOL.md section 15): what a person did in an app
// open for the agent in the conversation, and what the app reported. Those
// from before the task are entries of Task.History (HistoryEntry.AppEvent
// set, among the messages by time); those that happen while a handler runs
// arrive on its Stream's AppEvents channel.

// AppEvent is an app_event frame: the bridge's structured entry (App, Kind
// "action" or "state", Name, Actor, Data, At, and Text, one line for a
// model's context) with the task, conversation and app session.
type AppEvent = protocol.AppEvent

// appEventBuffer bounds the events waiting for a handler; past it the
// newest are dropped (they are in the next task's history).
const appEventBuffer = 64

// AppEvents delivers the app events of the task's conversation while the
// handler runs, in the order the relay sent them. The channel is never
// closed; select on it beside the handler's context. A handler that does
// not read it loses nothing else: events it did not take are dropped once
// 64 wait, and every event is in the history of the next task.
func (s *Stream) AppEvents() <-chan AppEvent { return s.t.events }

// HistoryAppEvents lists the app events among the task's history, oldest
// first.
func HistoryAppEvents(t *Task) []AppEvent {
	var out []AppEvent
	for _, h := range t.History {
		if h.AppEvent != nil {
			f := AppEvent{TaskID: t.TaskID, ConversationID: t.ConversationID, App: h.AppEvent.App, Kind: h.AppEvent.Kind,
				Name: h.AppEvent.Name, Actor: h.AppEvent.Actor, Data: h.AppEvent.Data, DataOmitted: h.AppEvent.DataOmitted,
				At: h.AppEvent.At, Text: h.AppEvent.Text}
			out = append(out, f)
		}
	}
	return out
}

// appEvent hands an app_event to the handler of its task; none (the task
// ended) or a full buffer drops it.
func (a *Agent) appEvent(f *protocol.AppEvent) {
	a.mu.Lock()
	t := a.tasks[f.TaskID]
	a.mu.Unlock()
	if t == nil {
		return
	}
	select {
	case t.events <- *f:
	default:
		a.log.Warn("agentsdk: app event dropped (AppEvents not read)", "task", f.TaskID, "app", f.App, "name", f.Name)
	}
}
