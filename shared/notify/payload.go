package notify

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Payload is the JSON the client's service worker receives in its push event
// (event.data.json()). doc.go describes each key for client authors.
type Payload struct {
	Title          string `json:"title"`
	Body           string `json:"body"`
	Kind           Kind   `json:"kind"`
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	URL            string `json:"url"`
	// Tag is for showNotification's tag option: a newer notification for the
	// same conversation replaces the older one already on screen (the Topic
	// header does the same for messages still waiting at the push service).
	Tag string `json:"tag"`
	// ChannelID and CommunityID are set, and ConversationID is "", for a
	// mention in a community channel (KindChannelMention) only.
	ChannelID   string `json:"channelId,omitempty"`
	CommunityID string `json:"communityId,omitempty"`
}

// NeutralBody stands in for the message text when previews are off.
const NeutralBody = "New message"

// Limits on what the notification shows. Desktop and mobile notifications
// cut text long before this; the limits mostly keep the encrypted payload far
// below the 4 KB a push message may carry.
const (
	maxTitleRunes = 100
	maxBodyRunes  = 200
)

// Message is what happened, as the trigger knows it.
type Message struct {
	Kind           Kind
	ConversationID string
	MessageID      string
	// ConversationTitle names a group ("Trip planning"); may be empty.
	ConversationTitle string
	// SenderName is the agent's or person's display name.
	SenderName string
	// Text is the message content; shown only when prefs.Preview is on.
	Text string
	// URL opens the conversation in the client; empty gives
	// "/conversations/{conversationId}" ("/channels/{channelId}" for a
	// channel).
	URL string
	// ChannelID and CommunityID name the community channel of a
	// KindChannelMention (ConversationID is then ""); ConversationTitle is
	// then the channel as shown ("#general in Rustaceans").
	ChannelID, CommunityID string
}

// BuildPayload turns m into what the device shows, honouring prefs.Preview:
// without preview the body is NeutralBody, so neither the message text nor
// any part of it leaves for the push service (it is encrypted, but the
// lock screen is not).
func BuildPayload(prefs ari.NotificationPreferences, m Message) Payload {
	p := Payload{
		Title:          truncate(title(m), maxTitleRunes),
		Body:           NeutralBody,
		Kind:           m.Kind,
		ConversationID: m.ConversationID,
		MessageID:      m.MessageID,
		URL:            m.URL,
		Tag:            "conversation:" + m.ConversationID,
		ChannelID:      m.ChannelID,
		CommunityID:    m.CommunityID,
	}
	if m.ChannelID != "" {
		p.Tag = "channel:" + m.ChannelID
	}
	if prefs.Preview {
		if text := strings.TrimSpace(m.Text); text != "" {
			p.Body = truncate(text, maxBodyRunes)
		}
	}
	switch {
	case p.URL != "":
	case m.ChannelID != "":
		p.URL = "/channels/" + url.PathEscape(m.ChannelID)
	default:
		p.URL = "/conversations/" + url.PathEscape(m.ConversationID)
	}
	return p
}

func title(m Message) string {
	sender := strings.TrimSpace(m.SenderName)
	group := strings.TrimSpace(m.ConversationTitle)
	if sender == "" {
		sender = "Someone"
	}
	switch {
	case (m.Kind == KindMention || m.Kind == KindChannelMention) && group != "":
		return sender + " mentioned you in " + group
	case m.Kind == KindMention || m.Kind == KindChannelMention:
		return sender + " mentioned you"
	case m.Kind == KindGroupMessage && group != "":
		return sender + " in " + group
	default:
		return sender
	}
}

// truncate cuts s to at most n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), func(c rune) bool { return c == ' ' }) + "…"
}
