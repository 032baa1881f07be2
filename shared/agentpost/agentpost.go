// Package agentpost is the one path of a message an agent starts without a
// task (relay/PROTOCOL.md section 9, agent_message): the relay's agent socket
// and the REST route POST /api/agent/messages (agents without a socket) both
// take it. It counts the post against the agent's limit, stores it with the
// conversation's next seq (idempotent by clientMessageId, enforced by
// Postgres), sends message_new to every user member (live, or into pending
// for users with no socket) and hands it to Web Push (kind agent_message).
//
// An agent message starts no reply: not from its author, and not from other
// agents it @mentions; it does not wait for the conversation's queue either
// (it takes the next seq at once, between replies if one is being written).
package agentpost

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/textcheck"
)

// Rule is the per-agent limit, RATE_LIMIT_AGENT_MESSAGES_PER_MINUTE; the
// relay and the functions count on the same Redis counter under this name.
func Rule(c config.Config) ratelimit.Rule {
	return ratelimit.PerMinute("agent:messages", c.RateLimitAgentMessages)
}

// Notifier is told of each stored agent message (pushtrigger's notifiers).
type Notifier interface {
	AgentMessage(m ari.Message, agentName string) bool
}

// Poster posts agents' messages.
type Poster struct {
	DB      *store.DB
	Events  *events.Publisher
	Limiter *ratelimit.Limiter // nil: no limit
	Rule    ratelimit.Rule
	Push    Notifier // nil: no notifications
	Log     *slog.Logger
}

// Agent is who posts.
type Agent struct {
	ID   string
	Name string
}

// Post is what an agent sends.
type Post struct {
	ConversationID  string `json:"conversationId"`
	Content         string `json:"content"`
	ClientMessageID string `json:"clientMessageId"`
}

// Validate checks a post as a client sent it: field → problem, empty when
// valid. The relay's decoder applies the same rules to agent_message.
func (p Post) Validate() map[string]string {
	bad := map[string]string{}
	id := func(field, v string) {
		if !ari.ValidID(v) {
			bad[field] = "must be 1-64 characters of A-Z a-z 0-9 _ -"
		}
	}
	id("conversationId", p.ConversationID)
	id("clientMessageId", p.ClientMessageID)
	switch {
	case len(p.Content) > ari.MaxMessageBytes:
		bad["content"] = "exceeds 16384 bytes"
	case textcheck.String(p.Content) != "":
		bad["content"] = textcheck.String(p.Content)
	case strings.TrimSpace(p.Content) == "":
		bad["content"] = "is empty"
	}
	return bad
}

// Errors of Post besides internal ones. A rate limit is a *RateLimited.
var (
	// ErrNotFound: the conversation is unknown or the agent is not a member.
	ErrNotFound = store.ErrNotFound
	// ErrClientIDInUse: the agent used the clientMessageId in another
	// conversation; nothing was stored.
	ErrClientIDInUse = store.ErrClientIDInUse
)

// RateLimited refuses a post over the agent's limit; nothing was stored.
type RateLimited struct {
	Decision ratelimit.Decision
}

func (e *RateLimited) Error() string {
	return "agentpost: over the agent's message limit; retry after " + e.Decision.RetryAfter.Round(time.Millisecond).String()
}

// Post stores in as a message of agent and announces it. A retry (same
// clientMessageId, same conversation) answers the stored message with
// Created false and announces nothing again. The limit is counted first,
// so a flood costs one Redis round trip per post and stores nothing.
func (p *Poster) Post(ctx context.Context, agent Agent, in Post) (store.AgentPost, error) {
	if dec := p.Limiter.Allow(ctx, p.Rule, agent.ID); !dec.Allowed {
		return store.AgentPost{}, &RateLimited{Decision: dec}
	}
	out, err := p.DB.InsertAgentMessage(ctx, store.NewAgentMessage{AgentID: agent.ID, ConversationID: in.ConversationID,
		Content: in.Content, ClientMessageID: in.ClientMessageID})
	if err != nil || !out.Created {
		return out, err
	}
	// Stored: what follows is best effort, and the post is answered either
	// way (members who miss the event see the message by its seq).
	bg := context.WithoutCancel(ctx)
	if err := p.announce(bg, out.Message); err != nil {
		p.log().Error("agent message announce", "conversation", in.ConversationID, "message", out.Message.ID, "err", err)
	}
	if p.Push != nil {
		p.Push.AgentMessage(out.Message, agent.Name)
	}
	return out, nil
}

// messageNew is message_new's payload (PROTOCOL.md section 7).
type messageNew struct {
	Message ari.Message `json:"message"`
}

func (p *Poster) announce(ctx context.Context, m ari.Message) error {
	users, err := p.DB.MemberUserIDs(ctx, m.ConversationID)
	if err != nil || len(users) == 0 {
		return err
	}
	ev, err := events.New(events.MessageNew, m.ConversationID, messageNew{Message: m})
	if err != nil {
		return err
	}
	return p.Events.ToUsers(ctx, users, ev)
}

func (p *Poster) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// IsRateLimited returns the refusal when err is a rate limit.
func IsRateLimited(err error) (*RateLimited, bool) {
	var rl *RateLimited
	ok := errors.As(err, &rl)
	return rl, ok
}
