package stream

import (
	"context"
	"encoding/json"

	"github.com/ari-chat/ari-server/relay/protocol"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/store"
)

// BridgeSession is the bridge's view of a stored session and its
// manifest. A manifest the bridge cannot read (it was validated when its
// version was published, so this is a server bug) is an error.
func BridgeSession(v store.AgentAppSession) (appbridge.Session, appbridge.Manifest, error) {
	s := appbridge.Session{ID: v.ID, ConversationID: v.ConversationID, AppID: v.AppID, AppSlug: v.AppSlug,
		AppVersionID: v.AppVersionID, Mode: appbridge.ControlMode(v.Mode)}
	m, err := appbridge.ParseManifest(v.Manifest)
	return s, m, err
}

// taskTools lists the tools of the agent's task (PROTOCOL.md section 15):
// the actions each app session open in the conversation for this agent
// lets it invoke, session by session in opening order; nil when there are
// none, so the task has no tools field.
func (e *Engine) taskTools(ctx context.Context, agentID, convID string) (json.RawMessage, error) {
	sessions, err := e.d.DB.AgentAppSessions(ctx, agentID, convID)
	if err != nil || len(sessions) == 0 {
		return nil, err
	}
	var tools []appbridge.Tool
	for _, v := range sessions {
		s, m, err := BridgeSession(v)
		if err != nil {
			e.d.Log.Error("relay app manifest", "session", v.ID, "err", err)
			continue
		}
		tools = append(tools, appbridge.Tools(s, m)...)
	}
	if len(tools) == 0 {
		return nil, nil
	}
	return json.Marshal(tools)
}

// TypeToolResolved is relay-internal traffic on an agent's channel: a tool
// call of the agent was answered or expired (its row id in "id"); whichever
// socket of the agent hears it reads the result from Postgres and gives it
// to the agent once. Agents never see it.
const TypeToolResolved = "relay_tool_resolved"

// ToolResolved tells the agent's socket, on whichever instance, that the
// tool call with row id has its result. Lost (no socket, Redis failing),
// the agent gets the result when it next authenticates.
func (e *Engine) ToolResolved(ctx context.Context, agentID, id string) {
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}{TypeToolResolved, id})
	if err == nil {
		_, err = e.d.Hub.Publish(ctx, e.d.Keys.AgentChannel(agentID), b)
	}
	if err != nil {
		e.d.Log.Warn("relay tool resolved notice", "agent", agentID, "call", id, "err", err)
	}
}

// sweepToolCalls ends the calls whose time is up that no live timer ended:
// the instance that took the call (and timed it) died, while the agent may
// be connected elsewhere and waiting. Each is ended once (the UPDATE claims
// it) and the agent's socket, wherever it is, is told.
func (e *Engine) sweepToolCalls(ctx context.Context) error {
	calls, err := e.d.DB.ExpireOverdueToolCalls(ctx, e.d.Keys.Prefix, protocol.ToolErrTimeout, "the app did not answer in time")
	for _, c := range calls {
		e.ToolResolved(ctx, c.AgentID, c.ID)
	}
	return err
}
