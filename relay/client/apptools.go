package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/store"
)

// actionResult applies app_action_result: the client running the app (a
// socket of the member who opened the session) answers an app_action.
// Postgres keeps the first answer; the agent's socket, on whichever
// instance, is told and gives it to the agent once (relay/agent/tools.go).
func (ss *session) actionResult(ctx context.Context, f *protocol.AppActionResult) {
	var result, code, msg *string
	if f.Error != nil {
		code, msg = &f.Error.Code, &f.Error.Message
	} else {
		var b bytes.Buffer
		if err := json.Compact(&b, f.Result); err != nil {
			ss.fail(protocol.CodeInvalidFrame, "result: must be JSON", f.CallID)
			return
		}
		s := b.String()
		result = &s
	}
	c, err := ss.s.d.DB.AnswerToolCall(ctx, ss.user.ID, f.SessionID, f.CallID, result, code, msg)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "no call "+f.CallID+" of an app session you opened", f.CallID)
	case errors.Is(err, store.ErrCallClosed):
		ss.fail(protocol.CodeAlreadyAnswered, "this call was answered already or has expired; the agent has the first answer", f.CallID)
	case err != nil:
		ss.internal(err, f.CallID)
	default:
		ss.s.d.Engine.ToolResolved(ctx, c.AgentID, c.ID)
	}
}

// pendingAppActions lists again the app_actions still waiting for an
// answer from the apps this user opened; sync sends them after its
// sync_result, so a client that reconnects mid-call performs them (the app
// answers each callId once: the first answer wins anyway).
func (ss *session) pendingAppActions(ctx context.Context) ([]*protocol.AppAction, error) {
	calls, err := ss.s.d.DB.PendingToolCallsFor(ctx, ss.user.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*protocol.AppAction, 0, len(calls))
	for _, c := range calls {
		out = append(out, &protocol.AppAction{SessionID: c.SessionID, CallID: c.CallID, Action: c.Action, Arguments: json.RawMessage(c.Arguments)})
	}
	return out, nil
}
