package pushtrigger

import (
	"context"
	"errors"
	"log/slog"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Notifier is what the relay calls, with the messages as it has them: a
// reply that settled, and a user's message just stored. An AsyncNotifier runs
// these off the relay's path.
type Notifier interface {
	OnReply(ctx context.Context, reply ari.Message) []Decision
	OnUserMessage(ctx context.Context, m ari.Message, senderName string) []Decision
	OnAgentMessage(ctx context.Context, m ari.Message, agentName string) []Decision
	OnInputRequest(ctx context.Context, r ari.InputRequest) []Decision
	OnChannelMention(ctx context.Context, m ChannelMention) []Decision
}

var _ Notifier = (*Trigger)(nil)

// New builds the Trigger from configuration: a Sender when VAPID_PUBLIC_KEY
// and VAPID_PRIVATE_KEY are set, none (push off) when they are not.
func New(cfg config.Config, db *store.DB, rdb redis.UniversalClient, keys kv.Keys, log *slog.Logger) (*Trigger, error) {
	t := &Trigger{DB: db, Redis: rdb, Keys: keys, Log: log}
	if cfg.VAPIDPublicKey == "" && cfg.VAPIDPrivateKey == "" {
		return t, nil
	}
	s, err := notify.NewSender(notify.SenderConfig{VAPID: notify.VAPID{
		PublicKey: cfg.VAPIDPublicKey, PrivateKey: cfg.VAPIDPrivateKey, Subject: cfg.VAPIDSubject,
	}})
	if err != nil {
		return nil, err
	}
	t.Sender = s
	return t, nil
}

// OnReply notifies for a reply that ended complete; errors and cancellations
// are not worth a notification (the user is told in the conversation).
func (t *Trigger) OnReply(ctx context.Context, reply ari.Message) []Decision {
	if t.Sender == nil || reply.Status != ari.StatusComplete || reply.SenderAgentID == nil {
		return nil
	}
	name, err := t.DB.AgentDisplayName(ctx, *reply.SenderAgentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.log().WarnContext(ctx, "push: agent name", "agent_id", *reply.SenderAgentID, "err", err)
		name = "Your agent"
	}
	return t.OnReplyComplete(ctx, reply.ConversationID, reply.ID, name, reply.Content)
}

// OnUserMessage notifies the other users of a conversation of m (in a direct
// conversation there are none).
func (t *Trigger) OnUserMessage(ctx context.Context, m ari.Message, senderName string) []Decision {
	if t.Sender == nil || m.SenderUserID == nil {
		return nil
	}
	return t.OnGroupMessage(ctx, m.ConversationID, m.ID, *m.SenderUserID, senderName, m.Content)
}

// OnAgentMessage notifies a conversation's users of a message its agent
// started (kind agent_message; not a reply, so OnReply does not see it).
func (t *Trigger) OnAgentMessage(ctx context.Context, m ari.Message, agentName string) []Decision {
	if t.Sender == nil || m.SenderAgentID == nil {
		return nil
	}
	return t.run(ctx, event{conv: m.ConversationID, msg: m.ID, senderName: agentName, text: m.Content,
		kind: func(store.NotifyTarget) notify.Kind { return notify.KindAgentMessage }})
}

// OnInputRequest notifies a conversation's users that its agent asked them
// something and waits (kind input_request; the text is the prompt).
func (t *Trigger) OnInputRequest(ctx context.Context, r ari.InputRequest) []Decision {
	if t.Sender == nil || r.AgentID == nil {
		return nil
	}
	name, err := t.DB.AgentDisplayName(ctx, *r.AgentID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.log().WarnContext(ctx, "push: agent name", "agent_id", *r.AgentID, "err", err)
		name = "Your agent"
	}
	return t.run(ctx, event{conv: r.ConversationID, msg: r.MessageID, senderName: name, text: r.Prompt,
		kind: func(store.NotifyTarget) notify.Kind { return notify.KindInputRequest }})
}
