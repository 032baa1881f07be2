// Package pushtrigger decides, when a reply completes or someone writes in a
// group, which members get a Web Push notification, and sends it.
//
// For each user member (never the sender) it gathers what notify.Decide looks
// at: preferences from Postgres (defaults when none), the member's mute flag,
// whether the user has that conversation on screen (relay presence, see
// shared/presence) and the 30 s dedup mark in Redis. A user who passes gets
// one payload (notify.BuildPayload: neutral text when previews are off) sent
// to all their subscriptions; a subscription the push service calls gone
// (404/410) is deleted.
//
// Everything is best-effort and bounded: a call returns within Timeout, and
// failures are logged, never returned. The relay must still not run it on its
// stream pipeline: it hands calls to an AsyncNotifier, which runs them in owned
// goroutines, drops them when too many are in flight, and is closed on
// shutdown.
package pushtrigger

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
)

// Reasons beyond notify's own.
const (
	// ReasonNoSubscriptions: the user would be told but has no device.
	ReasonNoSubscriptions = "no_subscriptions"
	// ReasonError: something failed before sending (see the log).
	ReasonError = "error"
)

// Decision is what happened for one user.
type Decision struct {
	UserID string
	Kind   notify.Kind
	// Reason is notify's reason (ReasonSend, ReasonMuted, …) or one of ours.
	Reason string
	// Payload is what was sent, when something was.
	Payload *notify.Payload
	Results []notify.Result
}

// Sent reports whether at least one device accepted the notification.
func (d Decision) Sent() bool {
	for _, r := range d.Results {
		if r.Outcome == notify.Delivered {
			return true
		}
	}
	return false
}

// Trigger implements Notifier. The zero values of the optional fields are the
// production settings.
type Trigger struct {
	DB    *store.DB
	Redis redis.UniversalClient
	Keys  kv.Keys
	// Sender is nil when VAPID is not configured; every call then does nothing.
	Sender *notify.Sender
	Log    *slog.Logger

	// Now is the clock for quiet hours; nil means time.Now.
	Now func() time.Time
	// DedupWindow; 0 means kv.PushDedupWindow (30 s).
	DedupWindow time.Duration
	// Timeout bounds one call, sends and retries included; 0 means 20 s.
	Timeout time.Duration
	// Parallel bounds the users served at once within a call; 0 means 8.
	// Each user's devices are sent to in parallel within the Sender's bound.
	Parallel int
}

// OnReplyComplete notifies the conversation's users that agentName finished
// a reply.
func (t *Trigger) OnReplyComplete(ctx context.Context, conversationID, messageID, agentName, text string) []Decision {
	return t.run(ctx, event{conv: conversationID, msg: messageID, senderName: agentName, text: text,
		kind: func(store.NotifyTarget) notify.Kind { return notify.KindAgentReply }})
}

// OnGroupMessage notifies a group's other users of senderUserID's message.
// Those the text @mentions by their display name's handle (ari.Mentions,
// ari.AgentHandle) are told of a mention: their Mentions switch applies
// instead of GroupMessages.
func (t *Trigger) OnGroupMessage(ctx context.Context, conversationID, messageID, senderUserID, senderName, text string) []Decision {
	handles := map[string]bool{}
	for _, h := range ari.Mentions(text) {
		handles[h] = true
	}
	return t.run(ctx, event{conv: conversationID, msg: messageID, sender: senderUserID, senderName: senderName, text: text,
		group: true,
		kind: func(tg store.NotifyTarget) notify.Kind {
			if tg.Name != "" && handles[ari.AgentHandle(tg.Name)] {
				return notify.KindMention
			}
			return notify.KindGroupMessage
		}})
}

type event struct {
	conv, msg, sender, senderName, text string
	group                               bool
	kind                                func(store.NotifyTarget) notify.Kind
}

func (t *Trigger) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

func (t *Trigger) run(ctx context.Context, ev event) []Decision {
	if t.Sender == nil {
		return nil
	}
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	log := t.log().With("conversation_id", ev.conv, "message_id", ev.msg)

	conv, targets, err := t.DB.NotifyTargets(ctx, ev.conv, ev.sender)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			log.WarnContext(ctx, "push: loading members", "err", err)
		}
		return nil
	}
	if len(targets) == 0 {
		return nil
	}
	// Unknown focus counts as not looking: a notification too many beats a
	// lost one.
	focused, err := presence.FocusedMany(ctx, t.Redis, t.Keys, userIDs(targets), ev.conv)
	if err != nil {
		log.WarnContext(ctx, "push: reading presence", "err", err)
		focused = map[string]bool{}
	}

	title := ""
	if ev.group || conv.Kind == "group" {
		title = conv.Title
	}
	return t.each(ctx, log, targets, focused, func(tg store.NotifyTarget) notify.Message {
		return notify.Message{Kind: ev.kind(tg), ConversationID: ev.conv, MessageID: ev.msg,
			ConversationTitle: title, SenderName: ev.senderName, Text: ev.text}
	})
}

// bounded limits one trigger's work to Timeout (20 s by default).
func (t *Trigger) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	return context.WithTimeout(ctx, timeout)
}

func userIDs(targets []store.NotifyTarget) []string {
	ids := make([]string, len(targets))
	for i, tg := range targets {
		ids[i] = tg.UserID
	}
	return ids
}

// each decides for every target, at most Parallel at once, and sends to
// those who pass: looking holds the users who have the place on screen,
// message builds each one's message.
func (t *Trigger) each(ctx context.Context, log *slog.Logger, targets []store.NotifyTarget, looking map[string]bool,
	message func(store.NotifyTarget) notify.Message) []Decision {
	subs, err := t.DB.PushSubscriptionsOf(ctx, userIDs(targets))
	if err != nil {
		log.WarnContext(ctx, "push: loading subscriptions", "err", err)
		return nil
	}
	byUser := map[string][]ari.PushSubscription{}
	for _, s := range subs {
		byUser[s.UserID] = append(byUser[s.UserID], s)
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	parallel := t.Parallel
	if parallel <= 0 {
		parallel = 8
	}

	out := make([]Decision, len(targets))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, tg := range targets {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			msg := message(tg)
			in := notify.DecisionInput{Prefs: tg.Prefs, Kind: msg.Kind, Now: now(),
				Muted: tg.Muted, Focused: looking[tg.UserID]}
			out[i] = t.forUser(ctx, log.With("user_id", tg.UserID), tg.UserID, in, msg, byUser[tg.UserID])
		})
	}
	wg.Wait()
	return out
}

func (t *Trigger) forUser(ctx context.Context, log *slog.Logger, userID string, in notify.DecisionInput, msg notify.Message, subs []ari.PushSubscription) Decision {
	d := Decision{UserID: userID, Kind: in.Kind}
	send, reason := notify.Decide(in)
	d.Reason = reason
	if !send {
		return d
	}
	if len(subs) == 0 {
		d.Reason = ReasonNoSubscriptions
		return d
	}
	if reason == notify.ReasonSendBadQuietHours {
		log.WarnContext(ctx, "push: stored quiet hours unreadable; sending anyway")
	}

	// Claim the dedup window only now that we are about to send, so a
	// suppressed notification does not silence the next one.
	window := t.DedupWindow
	if window <= 0 {
		window = kv.PushDedupWindow
	}
	dedup := t.Keys.PushDedup(userID, msg.ConversationID)
	if msg.ChannelID != "" {
		dedup = t.Keys.PushDedupChannel(userID, msg.ChannelID)
	}
	claimed, err := t.Redis.SetNX(ctx, dedup, msg.MessageID, window).Result()
	switch {
	case err != nil:
		log.WarnContext(ctx, "push: dedup mark", "err", err)
	case !claimed:
		in.RecentlyNotified = true
		_, d.Reason = notify.Decide(in)
		return d
	}

	p := notify.BuildPayload(in.Prefs, msg)
	d.Payload = &p
	ns := make([]notify.Subscription, len(subs))
	for i, s := range subs {
		ns[i] = notify.Subscription{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}
	}
	d.Results = t.Sender.Send(ctx, ns, p)

	// Cleanup must not be cut short by a deadline the sends used up.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var used []string
	for i, r := range d.Results {
		switch r.Outcome {
		case notify.Delivered:
			used = append(used, subs[i].ID)
		case notify.Gone:
			if err := t.DB.DeleteGonePushSubscription(bg, userID, subs[i]); err != nil {
				log.WarnContext(ctx, "push: deleting gone subscription", "err", err)
			}
		case notify.Failed:
			log.InfoContext(ctx, "push: send failed", "status", r.Status, "attempts", r.Attempts, "err", r.Err)
		}
	}
	if len(used) > 0 {
		if err := t.DB.MarkPushSubscriptionsUsed(bg, used); err != nil {
			log.WarnContext(ctx, "push: marking subscriptions used", "err", err)
		}
	} else if claimed {
		// Nothing reached the user: let the next message try again.
		t.Redis.Del(bg, dedup)
	}
	return d
}
