// Package events defines the events that functions and relay instances send to
// users' sockets through Redis, and the publisher that delivers them live or
// queues them in pending:{userId} for users with no socket anywhere.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Type names an event; clients receive it as the frame's "type".
type Type string

const (
	MessageNew          Type = "message_new"
	MessageDeleted      Type = "message_deleted"
	ReactionAdded       Type = "reaction_added"
	ReactionRemoved     Type = "reaction_removed"
	ReadUpdated         Type = "read_updated"
	MemberAdded         Type = "member_added"
	MemberRemoved       Type = "member_removed"
	ConversationCreated Type = "conversation_created"
	ConversationUpdated Type = "conversation_updated"
	ConversationDeleted Type = "conversation_deleted"
	// ChainLimit: an agent chain's budget stopped it (the relay sends it).
	ChainLimit Type = "chain_limit"
	// InputResolved: an agent's input request was answered or expired.
	InputResolved Type = "input_resolved"
	// App sessions (functions/apps): an app was opened in a conversation,
	// its state changed, it was closed.
	AppSessionStarted Type = "app_session_started"
	AppSessionUpdated Type = "app_session_updated"
	AppSessionEnded   Type = "app_session_ended"

	// Channel events go to the sockets subscribed to a community channel
	// (Publisher.ToChannel), never to pending queues: a member who was not
	// looking finds them in the channel's history and unread count.
	ChannelMessageNew      Type = "channel_message_new"
	ChannelMessageDeleted  Type = "channel_message_deleted"
	ChannelReactionAdded   Type = "channel_reaction_added"
	ChannelReactionRemoved Type = "channel_reaction_removed"
	// ChannelInputResolved: an agent's question or approval in the channel
	// was answered or expired (input_resolved's counterpart).
	ChannelInputResolved Type = "channel_input_resolved"
	ChannelDeleted       Type = "channel_deleted"
	// ChannelMemberRemoved tells relays that a user left the channel's
	// community (left, kicked, banned): their sockets stop getting the
	// channel at once. Relays turn it into channel_unsubscribed for that
	// user's sockets and forward it to no one else.
	ChannelMemberRemoved Type = "channel_member_removed"

	// Agent control events go to an agent's channel, not to users.
	AgentTokenRevoked Type = "agent_token_revoked"
	AgentDeleted      Type = "agent_deleted"

	// SessionsRevoked is for relays only (see Publisher.SessionsRevoked):
	// never forwarded to a socket, never queued.
	SessionsRevoked Type = "sessions_revoked"
)

// Event is the envelope. Data is the type's payload (documented in PROTOCOL.md).
type Event struct {
	ID             string `json:"id"`
	Type           Type   `json:"type"`
	ConversationID string `json:"conversationId,omitempty"`
	// ChannelID names the community channel of a channel event.
	ChannelID string          `json:"channelId,omitempty"`
	At        ari.Time        `json:"at"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// New builds an event with a fresh id and the current time.
func New(t Type, conversationID string, data any) (Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("events: %w", err)
	}
	return Event{ID: uuid.NewString(), Type: t, ConversationID: conversationID, At: ari.T(time.Now()), Data: raw}, nil
}

// Publisher sends events through Redis.
type Publisher struct {
	rdb  redis.UniversalClient
	keys kv.Keys
}

// NewPublisher returns a publisher using keys' names.
func NewPublisher(rdb redis.UniversalClient, keys kv.Keys) *Publisher {
	return &Publisher{rdb: rdb, keys: keys}
}

// ToUsers delivers ev to each user: live over their sharded channel when some
// relay instance is subscribed (SPUBLISH counts receivers), else into their
// offline queue.
//
// An event that takes users out of a conversation (member_removed,
// conversation_deleted) first tells every relay instance
// (kv.Keys.MembershipChannel), so that a reply streaming there stops reaching
// them at once, wherever it is driven. It is done here, on the one path every
// such event takes, so no caller can forget it.
func (p *Publisher) ToUsers(ctx context.Context, userIDs []string, ev Event) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if (ev.Type == MemberRemoved || ev.Type == ConversationDeleted) && ev.ConversationID != "" {
		if err := p.rdb.SPublish(ctx, p.keys.MembershipChannel(), ev.ConversationID).Err(); err != nil {
			return fmt.Errorf("events: publish membership: %w", err)
		}
	}
	return Deliver(ctx, p.rdb, p.keys, userIDs, raw, raw)
}

// NewForChannel builds a channel event (ChannelMessageNew and the others)
// for channelID.
func NewForChannel(t Type, channelID string, data any) (Event, error) {
	ev, err := New(t, "", data)
	ev.ChannelID = channelID
	return ev, err
}

// ToChannel publishes a channel event once on the channel's topic
// (kv.Keys.ChannelTopic): every relay instance with a socket subscribed to
// the channel delivers it to those sockets. Nobody subscribed: nothing to do.
func (p *Publisher) ToChannel(ctx context.Context, ev Event) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := p.rdb.SPublish(ctx, p.keys.ChannelTopic(ev.ChannelID), raw).Err(); err != nil {
		return fmt.Errorf("events: publish channel: %w", err)
	}
	return nil
}

// ToAgent sends a control event to the relay holding the agent's socket. With
// no subscriber there is no socket to act on, so nothing is queued.
func (p *Publisher) ToAgent(ctx context.Context, agentID string, ev Event) error {
	raw, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return p.rdb.SPublish(ctx, p.keys.AgentChannel(agentID), raw).Err()
}

// sessionsRevoked is the notice on a user's channel that some of the user's
// sessions ended. Type is the first key, so a relay can tell it from the
// frames it forwards by a prefix (IsSessionsRevoked) without parsing each.
// It names sessions by id; tokens never leave the database.
type sessionsRevoked struct {
	Type       Type     `json:"type"`
	SessionIDs []string `json:"sessionIds"`
}

var sessionsRevokedPrefix = []byte(`{"type":"` + string(SessionsRevoked) + `"`)

// SessionsRevoked tells the relays holding userID's sockets that sessions
// ended (sign-out, revoked, password changed), so they close those sessions'
// sockets at once. It is live only: a user with no socket anywhere has
// nothing to close, so nothing goes to the offline queue.
func (p *Publisher) SessionsRevoked(ctx context.Context, userID string, sessionIDs []string) error {
	if len(sessionIDs) == 0 {
		return nil
	}
	raw, err := json.Marshal(sessionsRevoked{Type: SessionsRevoked, SessionIDs: sessionIDs})
	if err != nil {
		return err
	}
	if err := p.rdb.SPublish(ctx, p.keys.UserChannel(userID), raw).Err(); err != nil {
		return fmt.Errorf("events: publish: %w", err)
	}
	return nil
}

// RevokedSessions reads a payload of a user's channel: the session ids of a
// SessionsRevoked notice and true, or false for anything else (a frame to
// forward). Cheap for frames: one prefix comparison.
func RevokedSessions(payload []byte) ([]string, bool) {
	if !bytes.HasPrefix(payload, sessionsRevokedPrefix) {
		return nil, false
	}
	var n sessionsRevoked
	if json.Unmarshal(payload, &n) != nil {
		return nil, true
	}
	return n.SessionIDs, true
}

// pendingScript pushes one event, keeps the newest PendingMax, marks the queue
// as having dropped events when it trimmed, and refreshes both TTLs, atomically.
var pendingScript = redis.NewScript(`
local n = redis.call('LPUSH', KEYS[1], ARGV[1])
if n > tonumber(ARGV[2]) then
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
return n
`)

// PublishUsers publishes payload on each user's channel (several users in
// one pipeline, one round trip) and returns the users no instance holds a
// socket for (SPUBLISH counted no receiver).
func PublishUsers(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userIDs []string, payload []byte) (offline []string, err error) {
	if len(userIDs) == 1 {
		n, err := rdb.SPublish(ctx, keys.UserChannel(userIDs[0]), payload).Result()
		if err != nil {
			return nil, fmt.Errorf("events: publish: %w", err)
		}
		if n == 0 {
			offline = userIDs
		}
		return offline, nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(userIDs))
	for i, u := range userIDs {
		cmds[i] = pipe.SPublish(ctx, keys.UserChannel(u), payload)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("events: publish: %w", err)
	}
	for i, c := range cmds {
		if c.Val() == 0 {
			offline = append(offline, userIDs[i])
		}
	}
	return offline, nil
}

// Deliver is the one "live, else pending" step: it publishes live to each
// user's channel and queues queued (an event envelope) for every user no
// instance holds a socket for. live and queued differ when the socket frame
// is not itself an event (a relay's stream_end, whose offline form is the
// message_new event) or carries a relay's skip prefix.
func Deliver(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userIDs []string, live, queued []byte) error {
	offline, err := PublishUsers(ctx, rdb, keys, userIDs, live)
	if err != nil {
		return err
	}
	for _, u := range offline {
		if err := QueuePending(ctx, rdb, keys, u, queued); err != nil {
			return err
		}
	}
	return nil
}

// QueuePending appends a raw event to the user's offline queue.
func QueuePending(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userID string, raw []byte) error {
	err := pendingScript.Run(ctx, rdb, []string{keys.Pending(userID), keys.PendingDropped(userID)},
		raw, kv.PendingMax, int(kv.PendingTTL/time.Second)).Err()
	if err != nil {
		return fmt.Errorf("events: queue pending: %w", err)
	}
	return nil
}
