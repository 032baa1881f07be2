package agent

import (
	"context"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
)

// announce tells the client sockets focused on a conversation with the
// agent whether it is online now (agent_presence), after its socket came or
// went. It reads the state rather than assuming it, so a late announcement
// still says what is true. An agent with an A2A endpoint is online whatever
// its socket does: nothing changed for its members.
func (s *Sessions) announce(ctx context.Context, agentID string, a2a bool) {
	if a2a {
		return
	}
	d := s.d
	watchers, err := presence.Watchers(ctx, d.Redis, d.Keys, agentID)
	if err != nil || len(watchers) == 0 {
		if err != nil {
			d.Log.Warn("relay agent presence", "agent", agentID, "err", err)
		}
		return
	}
	online, err := d.Redis.Exists(ctx, d.Keys.AgentPresence(agentID)).Result()
	if err != nil {
		d.Log.Warn("relay agent presence", "agent", agentID, "err", err)
		return
	}
	seen := map[store.Watching]bool{}
	var pairs []store.Watching
	for _, w := range watchers {
		p := store.Watching{UserID: w.UserID, ConversationID: w.ConversationID}
		if !seen[p] {
			seen[p] = true
			pairs = append(pairs, p)
		}
	}
	// A watch outlives a membership until the socket focuses elsewhere;
	// only members of a conversation the agent is still in hear of it.
	still, err := d.DB.StillWatching(ctx, agentID, pairs)
	if err != nil {
		d.Log.Warn("relay agent presence", "agent", agentID, "err", err)
		return
	}
	byConv := map[string][]string{}
	for _, p := range pairs {
		if still[p] {
			byConv[p.ConversationID] = append(byConv[p.ConversationID], p.UserID)
		}
	}
	for conv, users := range byConv {
		frame, err := protocol.Encode(&protocol.AgentPresence{ConversationID: conv, AgentID: agentID, Online: online > 0})
		if err != nil {
			return
		}
		if _, err := events.PublishUsers(ctx, d.Redis, d.Keys, users, hub.FocusPayload(frame, conv)); err != nil {
			d.Log.Warn("relay agent presence", "agent", agentID, "err", err)
		}
	}
}
