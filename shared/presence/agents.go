package presence

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/redis/go-redis/v9"
)

// Agents. kv.Keys.AgentPresence(agentID) names the relay instance holding
// the agent's socket (TTL kv.PresenceTTL, refreshed by that instance's
// heartbeat). An agent is online when it has such a socket or an A2A
// endpoint (the relay would call it); the second half is in Postgres
// (store.AgentReach), so callers combine the two.
//
// kv.Keys.AgentWatchers(agentID) lists the client sockets focused on a
// conversation with the agent, so that a change of the agent's socket
// reaches exactly those (PROTOCOL.md, agent_presence) rather than everyone
// who ever talked to it.

// AgentSockets reports which of agentIDs have a live socket on some relay
// instance, in one round trip.
func AgentSockets(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, agentIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(agentIDs))
	if len(agentIDs) == 0 {
		return out, nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(agentIDs))
	for i, a := range agentIDs {
		cmds[i] = pipe.Exists(ctx, keys.AgentPresence(a))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, a := range agentIDs {
		if cmds[i].Val() > 0 {
			out[a] = true
		}
	}
	return out, nil
}

// Watcher is a client socket focused on a conversation with an agent.
type Watcher struct {
	UserID         string
	ConversationID string
	Socket         string // relay/hub.SocketName
}

func (w Watcher) member() string { return w.UserID + "|" + w.ConversationID + "|" + w.Socket }

func parseWatcher(s string) (Watcher, bool) {
	parts := strings.SplitN(s, "|", 3)
	if len(parts) != 3 {
		return Watcher{}, false
	}
	return Watcher{UserID: parts[0], ConversationID: parts[1], Socket: parts[2]}, true
}

// Watch adds (or refreshes, with a new expiry) w to the watchers of each
// agent, one round trip for all.
func Watch(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, agentIDs []string, w Watcher) error {
	if len(agentIDs) == 0 {
		return nil
	}
	until := float64(time.Now().Add(kv.PresenceTTL).UnixMilli())
	pipe := rdb.Pipeline()
	for _, a := range agentIDs {
		key := keys.AgentWatchers(a)
		pipe.ZAdd(ctx, key, redis.Z{Score: until, Member: w.member()})
		pipe.PExpire(ctx, key, kv.PresenceTTL)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Unwatch removes w from the watchers of each agent.
func Unwatch(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, agentIDs []string, w Watcher) error {
	if len(agentIDs) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	for _, a := range agentIDs {
		pipe.ZRem(ctx, keys.AgentWatchers(a), w.member())
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Watchers returns the unexpired watchers of agentID, dropping the expired
// ones (a crashed instance's sockets) on the way.
func Watchers(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, agentID string) ([]Watcher, error) {
	key := keys.AgentWatchers(agentID)
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	pipe := rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, key, "-inf", "("+now)
	list := pipe.ZRangeByScore(ctx, key, &redis.ZRangeBy{Min: now, Max: "+inf"})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]Watcher, 0, len(list.Val()))
	for _, m := range list.Val() {
		if w, ok := parseWatcher(m); ok {
			out = append(out, w)
		}
	}
	return out, nil
}
