package notify

import (
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Kind is what happened that might be worth a notification.
type Kind string

const (
	// KindAgentReply: an agent finished a reply in the user's conversation.
	KindAgentReply Kind = "agent_reply"
	// KindGroupMessage: someone else wrote in a group conversation.
	KindGroupMessage Kind = "group_message"
	// KindMention: a message named the user. Callers pick the most specific
	// kind, so a group message that mentions the user is a mention.
	KindMention Kind = "mention"
	// KindAgentMessage: an agent posted in the user's conversation on its
	// own (not a reply to a task). The AgentReplies switch governs it: it
	// is what an agent says to the user either way.
	KindAgentMessage Kind = "agent_message"
	// KindChannelMention: a message in a community channel @mentioned the
	// user. The Mentions switch governs it. Nothing else in a channel is
	// pushed.
	KindChannelMention Kind = "channel_mention"
	// KindInputRequest: an agent asked the user's conversation a question
	// or for an approval and waits for the answer. The AgentReplies switch
	// governs it, as it does the reply that waits.
	KindInputRequest Kind = "input_request"
)

// DecisionInput is everything Decide looks at. The caller gathers it: Prefs
// from Postgres, Muted from the membership, Focused from relay presence,
// RecentlyNotified from the 30 s dedup key in Redis.
type DecisionInput struct {
	Prefs ari.NotificationPreferences
	Kind  Kind
	Now   time.Time
	// Muted: the user muted this conversation (for a channel: the channel
	// or its community).
	Muted bool
	// Focused: the user has this conversation in the foreground right now.
	Focused bool
	// RecentlyNotified: already notified for this conversation within the
	// dedup window.
	RecentlyNotified bool
}

// Reasons Decide gives; stable strings, fit for logs and metrics.
const (
	ReasonSend             = "send"
	ReasonDisabled         = "disabled"
	ReasonUnknownKind      = "unknown_kind"
	ReasonKindOff          = "kind_off"
	ReasonMuted            = "muted"
	ReasonFocused          = "focused"
	ReasonRecentlyNotified = "recently_notified"
	ReasonQuietHours       = "quiet_hours"
	// ReasonSendBadQuietHours: sent although the stored quiet hours or time
	// zone are unreadable. Validate refuses such prefs on input, so this only
	// appears for rows that went bad later (e.g. a zone removed from tzdata);
	// losing a notification silently is the worse failure, so we send and
	// let the caller log this reason.
	ReasonSendBadQuietHours = "send_bad_quiet_hours"
)

// Decide says whether to push a notification, and why. It is pure: the same
// input always gives the same answer. Rules, first match wins: master switch
// off; unknown kind; kind switched off; conversation muted (mute silences
// mentions too); user looking at the conversation; notified within the dedup
// window; inside quiet hours. Otherwise send.
func Decide(in DecisionInput) (send bool, reason string) {
	p := in.Prefs
	if !p.Enabled {
		return false, ReasonDisabled
	}
	var on bool
	switch in.Kind {
	case KindAgentReply, KindAgentMessage, KindInputRequest:
		on = p.AgentReplies
	case KindGroupMessage:
		on = p.GroupMessages
	case KindMention, KindChannelMention:
		on = p.Mentions
	default:
		return false, ReasonUnknownKind
	}
	switch {
	case !on:
		return false, ReasonKindOff
	case in.Muted:
		return false, ReasonMuted
	case in.Focused:
		return false, ReasonFocused
	case in.RecentlyNotified:
		return false, ReasonRecentlyNotified
	}
	quiet, err := p.InQuietHours(in.Now)
	if err != nil {
		return true, ReasonSendBadQuietHours
	}
	if quiet {
		return false, ReasonQuietHours
	}
	return true, ReasonSend
}
