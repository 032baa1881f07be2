// Package ops answers an operator's questions about a running deployment
// from Redis and Postgres, without going through a relay: what a
// conversation's replies are doing right now, which agents are connected to
// which relay instance, and how to drain one instance. `local` exposes them
// as commands (local/ops.go).
package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
)

// DrainMessage, published on kv.Keys.RelayControl(instance), makes that relay
// instance shut down as on SIGTERM: it stops accepting, closes its sockets
// with "going away" (clients and agents reconnect to another instance) and
// settles or hands over every reply it drives, then exits.
const DrainMessage = "drain"

// Reply is what Redis and Postgres hold about one reply.
type Reply struct {
	ID string `json:"id"`
	// Status and Seq come from Postgres ("" and 0 when the row is gone).
	Status string `json:"status"`
	Seq    int64  `json:"seq"`
	// Buffered is the length in bytes of the stream buffer (the offset
	// reached); Meta the stream's metadata hash (both empty once expired).
	Buffered int64             `json:"buffered"`
	Meta     map[string]string `json:"meta,omitempty"`
}

// ConversationState is a conversation's live state.
type ConversationState struct {
	ConversationID string `json:"conversationId"`
	// Active is the active mark's value: a reply id, or a hold token while
	// a send is being stored under the reject policy; "" when idle.
	Active string `json:"active"`
	// ActiveTTLMs is how long the mark lives without a refresh.
	ActiveTTLMs int64   `json:"activeTtlMs"`
	Replies     []Reply `json:"replies"` // the active reply first, then the queue in order
}

// Conversation reads a conversation's active mark, queue and the buffers of
// those replies. It does not check membership: it is for operators.
func Conversation(ctx context.Context, rdb redis.UniversalClient, db *store.DB, keys kv.Keys, conversationID string) (ConversationState, error) {
	st := ConversationState{ConversationID: conversationID, Replies: []Reply{}}
	pipe := rdb.Pipeline()
	active := pipe.Get(ctx, keys.ConvActive(conversationID))
	ttl := pipe.PTTL(ctx, keys.ConvActive(conversationID))
	queue := pipe.LRange(ctx, keys.ConvQueue(conversationID), 0, -1)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("ops: conversation: %w", err)
	}
	st.Active = active.Val()
	if d := ttl.Val(); d > 0 {
		st.ActiveTTLMs = d.Milliseconds()
	}
	ids := queue.Val()
	if st.Active != "" && !strings.HasPrefix(st.Active, "hold:") {
		ids = append([]string{st.Active}, ids...)
	}
	if len(ids) == 0 {
		return st, nil
	}
	pipe = rdb.Pipeline()
	lens := make([]*redis.IntCmd, len(ids))
	metas := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		lens[i] = pipe.StrLen(ctx, keys.Stream(id))
		metas[i] = pipe.HGetAll(ctx, keys.StreamMeta(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return st, fmt.Errorf("ops: conversation buffers: %w", err)
	}
	rows, err := db.Pool.Query(ctx, `select id, status, seq from messages where conversation_id = $1 and id = any($2)`, conversationID, ids)
	if err != nil {
		return st, fmt.Errorf("ops: conversation rows: %w", err)
	}
	defer rows.Close()
	type row struct {
		status string
		seq    int64
	}
	found := map[string]row{}
	for rows.Next() {
		var id string
		var r row
		if err := rows.Scan(&id, &r.status, &r.seq); err != nil {
			return st, fmt.Errorf("ops: conversation rows: %w", err)
		}
		found[id] = r
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("ops: conversation rows: %w", err)
	}
	for i, id := range ids {
		r := Reply{ID: id, Status: found[id].status, Seq: found[id].seq, Buffered: lens[i].Val(), Meta: metas[i].Val()}
		st.Replies = append(st.Replies, r)
	}
	return st, nil
}

// AgentConnection is one agent whose socket a relay instance holds.
type AgentConnection struct {
	AgentID string `json:"agentId"`
	Name    string `json:"name"`
	Handle  string `json:"handle"`
}

// Instance is one relay instance and the agents connected to it.
type Instance struct {
	ID     string            `json:"instance"`
	Agents []AgentConnection `json:"agents"`
}

// Agents lists the connected agents by relay instance (instances sorted by
// id, agents by handle). It scans every master of a cluster.
func Agents(ctx context.Context, rdb redis.UniversalClient, db *store.DB, keys kv.Keys) ([]Instance, error) {
	match := keys.AgentPresence("*")
	var mu sync.Mutex // ForEachMaster scans the masters concurrently
	var names []string
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, match, 500).Iterator()
		for it.Next(ctx) {
			// The pattern also matches the agent's :watchers and :epoch keys.
			if strings.HasSuffix(it.Val(), "}") {
				mu.Lock()
				names = append(names, it.Val())
				mu.Unlock()
			}
		}
		return it.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Client:
		err = scan(ctx, c)
	default:
		return nil, fmt.Errorf("ops: agents: unsupported Redis client %T", rdb)
	}
	if err != nil {
		return nil, fmt.Errorf("ops: agents: %w", err)
	}
	pipe := rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(names))
	for i, n := range names {
		gets[i] = pipe.Get(ctx, n)
	}
	if len(names) > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("ops: agents: %w", err)
		}
	}
	byAgent := map[string]string{} // agent id → instance
	ids := []string{}
	for i, n := range names {
		if gets[i].Val() == "" {
			continue // expired between the scan and the read
		}
		id := strings.TrimSuffix(strings.TrimPrefix(n, strings.TrimSuffix(match, "*}")), "}")
		byAgent[id] = gets[i].Val()
		ids = append(ids, id)
	}
	agents := map[string]AgentConnection{}
	if len(ids) > 0 {
		rows, err := db.Pool.Query(ctx, `select id, name, handle from agents where id = any($1)`, ids)
		if err != nil {
			return nil, fmt.Errorf("ops: agents: %w", err)
		}
		for rows.Next() {
			var a AgentConnection
			if err := rows.Scan(&a.AgentID, &a.Name, &a.Handle); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ops: agents: %w", err)
			}
			agents[a.AgentID] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ops: agents: %w", err)
		}
	}
	instances := map[string]*Instance{}
	for _, id := range ids {
		in := byAgent[id]
		if instances[in] == nil {
			instances[in] = &Instance{ID: in}
		}
		a, ok := agents[id]
		if !ok {
			a = AgentConnection{AgentID: id} // deleted while connected
		}
		instances[in].Agents = append(instances[in].Agents, a)
	}
	out := make([]Instance, 0, len(instances))
	for _, in := range instances {
		sort.Slice(in.Agents, func(i, j int) bool { return in.Agents[i].Handle < in.Agents[j].Handle })
		out = append(out, *in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Drain asks relay instance to shut down as on SIGTERM and reports whether
// an instance heard it (false: no relay of that id is subscribed, or it is
// already gone).
func Drain(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, instance string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := rdb.SPublish(ctx, keys.RelayControl(instance), DrainMessage).Result()
	if err != nil {
		return false, fmt.Errorf("ops: drain: %w", err)
	}
	return n > 0, nil
}
