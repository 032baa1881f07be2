package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
)

// Agents as a client socket sees them: whether each agent of the user's
// conversations is online (sync_result.agents), and, for the conversation
// the socket is focused on, a watch (shared/presence) through which the
// relay holding the agent's socket sends agent_presence when that changes.

// watch makes this socket watch the agents of conversationID ("" for none)
// instead of those it watched before. Only a member watches: the agents of
// a conversation that is not the user's stay unknown to it.
func (ss *session) watch(ctx context.Context, conversationID string) {
	d := ss.s.d
	ss.mu.Lock()
	old, oldAgents := ss.watching, ss.watchingAgents
	ss.mu.Unlock()
	if old == conversationID {
		return
	}
	if len(oldAgents) > 0 {
		if err := presence.Unwatch(ctx, d.Redis, d.Keys, oldAgents, ss.watcher(old)); err != nil {
			d.Log.Warn("relay agent watch", "user", ss.user.ID, "err", err)
		}
	}
	var agents []string
	if conversationID != "" {
		var err error
		agents, err = d.DB.MemberConversationAgentIDs(ctx, ss.user.ID, conversationID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			d.Log.Warn("relay agent watch", "user", ss.user.ID, "err", err)
		}
	}
	ss.mu.Lock()
	ss.watching, ss.watchingAgents = conversationID, agents
	ss.mu.Unlock()
	if len(agents) > 0 {
		if err := presence.Watch(ctx, d.Redis, d.Keys, agents, ss.watcher(conversationID)); err != nil {
			d.Log.Warn("relay agent watch", "user", ss.user.ID, "err", err)
		}
	}
}

// refreshWatch extends this socket's watch (the heartbeat's part).
func (ss *session) refreshWatch(ctx context.Context) {
	ss.mu.Lock()
	conv, agents := ss.watching, ss.watchingAgents
	ss.mu.Unlock()
	if len(agents) == 0 {
		return
	}
	if err := presence.Watch(ctx, ss.s.d.Redis, ss.s.d.Keys, agents, ss.watcher(conv)); err != nil {
		ss.s.d.Log.Warn("relay agent watch", "user", ss.user.ID, "err", err)
	}
}

func (ss *session) watcher(conversationID string) presence.Watcher {
	return presence.Watcher{UserID: ss.user.ID, ConversationID: conversationID, Socket: ss.name}
}

// agentsOnline says, for every agent of the user's conversations, whether
// it can be reached now: a socket on some relay instance or an A2A endpoint.
func (ss *session) agentsOnline(ctx context.Context) ([]protocol.AgentOnline, error) {
	d := ss.s.d
	reach, err := d.DB.UserAgentReach(ctx, ss.user.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(reach))
	for i, a := range reach {
		ids[i] = a.ID
	}
	sockets, err := presence.AgentSockets(ctx, d.Redis, d.Keys, ids)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.AgentOnline, len(reach))
	for i, a := range reach {
		out[i] = protocol.AgentOnline{AgentID: a.ID, Online: a.A2A || sockets[a.ID]}
	}
	return out, nil
}
