package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// Tools (PROTOCOL.md section 15): the agent's tool_call is checked by the
// bridge against the app session open for it in the task's conversation,
// recorded, and sent as app_action to the sockets of the member who opened
// the session (their user channel, any instance). The first
// app_action_result (relay/client) or the timeout settles the row and
// notifies the agent's channel; the socket that hears it reads the result
// from Postgres and gives it once, as for input requests (inputs.go).

const typeToolResolved = stream.TypeToolResolved

// callTool applies tool_call. Every refusal is a tool_result with an error,
// never an error frame: the agent's model made the call and must see why.
func (ss *session) callTool(ctx context.Context, f *protocol.ToolCall) {
	t := ss.task(ctx, f.TaskID)
	if t == nil {
		return
	}
	refuse := func(code, msg string) {
		ss.c.SendFrame(&protocol.ToolResult{TaskID: f.TaskID, CallID: f.CallID, Error: &protocol.ToolError{Code: code, Message: msg}})
	}
	d := ss.s.d
	internal := func(what string, err error) {
		d.Log.Error("relay tool call "+what, "task", t.ID, "call", f.CallID, "err", err)
		refuse(protocol.ToolErrInternal, "the relay failed; nothing was sent to the app, calling again is safe")
	}
	sessions, err := d.DB.AgentAppSessions(ctx, ss.agent.ID, t.ConversationID)
	if err != nil {
		internal("sessions", err)
		return
	}
	var v *store.AgentAppSession
	for i := range sessions {
		if strings.HasPrefix(f.Tool, sessions[i].AppSlug+"__") {
			v = &sessions[i]
			break
		}
	}
	if v == nil {
		refuse(string(appbridge.CodeUnknownApp), fmt.Sprintf("tool %q belongs to no app open for this agent in the conversation (tools are named <appSlug>__<action>, as in the task's tools)", cut(f.Tool, 140)))
		return
	}
	// A callId names one call: the same call again is answered from its
	// row, not checked again.
	prior, err := d.DB.SessionToolCall(ctx, ss.agent.ID, t.ID, v.ID, f.CallID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case errors.Is(err, store.ErrCallIDInUse):
		refuse(protocol.ToolErrCallIDInUse, "callId "+f.CallID+" was used by another call in this app session; nothing was sent, use a new id")
		return
	case err != nil:
		internal("lookup", err)
		return
	case prior.State == ari.ToolCallRefused:
		refuse(deref(prior.ErrorCode), deref(prior.ErrorMessage))
		return
	case prior.State != ari.ToolCallPending:
		return // settled: its result is (or was) given once
	}
	// record stores a refusal (every call is a row) and answers it.
	record := func(code, msg string) {
		_, _, err := d.DB.RefuseToolCall(ctx, store.NewToolCall{SessionID: v.ID, ReplyID: t.ID, AgentID: ss.agent.ID, CallID: f.CallID,
			Action: strings.TrimPrefix(f.Tool, v.AppSlug+"__"), Arguments: f.Arguments}, code, msg)
		if err != nil && !errors.Is(err, store.ErrCallIDInUse) {
			d.Log.Error("relay tool call refusal record", "task", t.ID, "call", f.CallID, "err", err)
		}
		refuse(code, msg)
	}
	s, m, err := stream.BridgeSession(*v)
	if err != nil {
		d.Log.Error("relay app manifest", "session", v.ID, "err", err)
		refuse(string(appbridge.CodeInvalidManifest), "the app's manifest cannot be used")
		return
	}
	act, err := appbridge.ResolveCall(s, m, appbridge.ToolCall{ID: f.CallID, Name: f.Tool, Arguments: f.Arguments}, appbridge.ActorAgent)
	var be *appbridge.Error
	if errors.As(err, &be) {
		record(string(be.Code), be.Message)
		return
	}
	if err != nil {
		internal("resolve", err)
		return
	}
	if v.OpenedBy == nil {
		record(protocol.ToolErrAppUnavailable, "nobody runs this app any more (the member who opened it has left)")
		return
	}
	c, created, err := d.DB.CreateToolCall(ctx, store.NewToolCall{SessionID: v.ID, ReplyID: t.ID, AgentID: ss.agent.ID,
		CallID: f.CallID, Action: act.Name, Arguments: act.Arguments, Expires: time.Now().Add(d.ToolTimeout)})
	switch {
	case errors.Is(err, store.ErrCallIDInUse):
		refuse(protocol.ToolErrCallIDInUse, "callId "+f.CallID+" was used by another call in this app session; nothing was sent, use a new id")
		return
	case err != nil:
		internal("record", err)
		return
	case !created && c.State != ari.ToolCallPending:
		return // the same call again, settled: its result is (or was) given once
	}
	b, err := protocol.Encode(&protocol.AppAction{SessionID: v.ID, CallID: f.CallID, Action: act.Name, Arguments: act.Arguments})
	if err == nil {
		_, err = d.Hub.ToUsers(ctx, d.Keys, []string{*v.OpenedBy}, b, "")
	}
	if err != nil {
		// Recorded: a client that syncs finds it; the timeout settles it otherwise.
		d.Log.Warn("relay app action", "session", v.ID, "call", f.CallID, "err", err)
	}
	if created {
		ss.s.expireLater(c.ID, ss.agent.ID, time.Until(c.ExpiresAt.Time))
	}
}

// expireLater ends the call with a timeout error once its time is up, if no
// answer came first, and tells the agent's socket wherever it is now. The
// timer belongs to this instance, not to the socket: the agent may
// reconnect elsewhere meanwhile. Should this instance stop first, the
// agent's next authentication expires what is overdue.
func (s *Sessions) expireLater(id, agentID string, after time.Duration) {
	time.AfterFunc(after, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ids, err := s.d.DB.ExpireToolCalls(ctx, agentID, id, protocol.ToolErrTimeout, s.timeoutMessage())
		if err != nil {
			s.d.Log.Error("relay tool call expire", "call", id, "err", err)
			return
		}
		if len(ids) > 0 {
			s.d.Engine.ToolResolved(ctx, agentID, id)
		}
	})
}

func (s *Sessions) timeoutMessage() string {
	return fmt.Sprintf("the app did not answer within %s", s.d.ToolTimeout)
}

// toolNotice handles relay_tool_resolved on the agent's channel (on the
// hub's goroutine: the work goes to a goroutine the session waits for).
func (ss *session) toolNotice(payload []byte) {
	var n struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(payload, &n) != nil || n.ID == "" {
		return
	}
	ss.goInput(func() { ss.deliverToolResults(ss.ctx, n.ID) })
}

// deliverToolResults gives the agent the results it has not had: one call
// (id), or on authentication ("") all of them, after expiring the overdue
// calls whose timer may have died with another instance.
func (ss *session) deliverToolResults(ctx context.Context, id string) {
	d := ss.s.d
	if id == "" {
		if _, err := d.DB.ExpireToolCalls(ctx, ss.agent.ID, "", protocol.ToolErrTimeout, ss.s.timeoutMessage()); err != nil {
			d.Log.Error("relay tool calls expire", "agent", ss.agent.ID, "err", err)
		}
	}
	calls, err := d.DB.UndeliveredToolResults(ctx, ss.agent.ID, id)
	if err != nil {
		d.Log.Error("relay undelivered tool results", "agent", ss.agent.ID, "err", err)
		return
	}
	for _, c := range calls {
		ss.giveToolResult(ctx, c)
	}
}

// giveToolResult sends one result, once per socket, then records it as
// delivered (so no later socket of the agent gets it again).
func (ss *session) giveToolResult(ctx context.Context, c ari.AppToolCall) {
	key := "tool:" + c.ID
	ss.inputsMu.Lock()
	if ss.given == nil {
		ss.given = map[string]bool{}
	}
	if ss.given[key] {
		ss.inputsMu.Unlock()
		return
	}
	ss.given[key] = true
	ss.inputsMu.Unlock()
	f := &protocol.ToolResult{TaskID: c.ReplyID, CallID: c.CallID}
	switch {
	case c.ErrorCode != nil:
		f.Error = &protocol.ToolError{Code: *c.ErrorCode}
		if c.ErrorMessage != nil {
			f.Error.Message = *c.ErrorMessage
		}
	case c.Result != nil:
		f.Result = json.RawMessage(*c.Result)
	default:
		f.Result = json.RawMessage("null")
	}
	b, err := protocol.Encode(f)
	if err != nil || !ss.c.SendWait(b) {
		ss.inputsMu.Lock()
		delete(ss.given, key) // the socket is closing: the next one gets it
		ss.inputsMu.Unlock()
		return
	}
	if _, err := ss.s.d.DB.ToolResultDelivered(ctx, ss.agent.ID, c.ID); err != nil {
		ss.s.d.Log.Error("relay tool result delivered", "call", c.ID, "err", err)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
