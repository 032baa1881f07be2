package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// What a member does in an app and what the app reports (PROTOCOL.md
// section 15, "A person's actions and the app's events"): checked (the
// bridge, as for an agent's tool calls), recorded once per id, acknowledged,
// and given to the session's agent (relay/stream/appevents.go). A refusal
// is an error frame and records nothing.

// userAction applies app_user_action: the member invoked one of the app's
// actions, checked as actor user (mode, the action's actors, arguments).
func (ss *session) userAction(ctx context.Context, f *protocol.AppUserAction) {
	if !ss.allowAppEvent(ctx, protocol.TypeAppUserAction, f.ID) {
		return
	}
	v, ok := ss.openAppSession(ctx, f.SessionID, f.ID)
	if !ok {
		return
	}
	s, m, err := stream.BridgeSession(v)
	if err != nil {
		ss.internal(fmt.Errorf("app session %s manifest: %w", v.ID, err), f.ID)
		return
	}
	act, err := appbridge.ResolveAction(s, m, appbridge.Invocation{ID: f.ID, Action: f.Action, Arguments: f.Arguments}, appbridge.ActorUser)
	var be *appbridge.Error
	if errors.As(err, &be) {
		ss.fail(string(be.Code), be.Message, f.ID)
		return
	}
	if err != nil {
		ss.internal(err, f.ID)
		return
	}
	data := string(act.Arguments)
	ss.recordAppEvent(ctx, v, store.NewAppEvent{SessionID: v.ID, ClientID: f.ID, Kind: ari.AppEventAction, Name: act.Name, Data: &data})
}

// stateEvent applies app_state_event: the app reports one of the events
// its manifest declares, with data (any JSON value, or none).
func (ss *session) stateEvent(ctx context.Context, f *protocol.AppStateEvent) {
	if !ss.allowAppEvent(ctx, protocol.TypeAppStateEvent, f.ID) {
		return
	}
	v, ok := ss.openAppSession(ctx, f.SessionID, f.ID)
	if !ok {
		return
	}
	m, err := appbridge.ParseManifest(v.Manifest)
	if err != nil {
		ss.internal(fmt.Errorf("app session %s manifest: %w", v.ID, err), f.ID)
		return
	}
	if _, ok := m.Event(f.Event); !ok {
		ss.fail(protocol.CodeUnknownEvent, fmt.Sprintf("app %q declares no event %q", v.AppSlug, cut(f.Event, 80)), f.ID)
		return
	}
	n := store.NewAppEvent{SessionID: v.ID, ClientID: f.ID, Kind: ari.AppEventState, Name: f.Event}
	data, err := appbridge.EventData(f.Data)
	if err != nil {
		ss.fail(protocol.CodeInvalidData, "data: must be one JSON value without duplicate keys, nested at most 32 levels", f.ID)
		return
	}
	if data != nil {
		d := string(data)
		n.Data = &d
	}
	ss.recordAppEvent(ctx, v, n)
}

// openAppSession loads a session of one of the user's conversations that
// has not ended, answering the socket otherwise.
func (ss *session) openAppSession(ctx context.Context, sessionID, ref string) (store.AgentAppSession, bool) {
	v, err := ss.s.d.DB.MemberAppSession(ctx, ss.user.ID, sessionID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "app session not found", ref)
		return v, false
	case err != nil:
		ss.internal(err, ref)
		return v, false
	case v.EndedAt != nil:
		ss.fail(protocol.CodeAppSessionEnded, "the app session has ended; nothing was recorded", ref)
		return v, false
	}
	return v, true
}

// recordAppEvent stores the event once, acknowledges it, and gives a new
// one to the session's agent.
func (ss *session) recordAppEvent(ctx context.Context, v store.AgentAppSession, n store.NewAppEvent) {
	e, created, err := ss.s.d.DB.RecordAppEvent(ctx, ss.user.ID, n)
	switch {
	case errors.Is(err, store.ErrNotFound): // ended, or the member left, meanwhile
		ss.fail(protocol.CodeNotFound, "app session not found", n.ClientID)
		return
	case err != nil:
		ss.internal(err, n.ClientID)
		return
	}
	ss.c.SendFrame(&protocol.AppEventAck{SessionID: e.SessionID, ID: e.ClientID, At: ari.FormatTime(e.CreatedAt.Time)})
	if created && v.AgentID != nil {
		ss.s.d.Engine.AppEvent(ctx, *v.AgentID, v.AppSlug, e)
	}
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
