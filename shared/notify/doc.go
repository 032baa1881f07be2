// Package notify decides whether a user should get a push notification and
// delivers it with Web Push (RFC 8030), encrypted with aes128gcm (RFC 8291)
// and signed with VAPID (RFC 8292).
//
// It does no storage and no Redis: the caller (the reply-completed trigger)
// gathers preferences, mute state, presence and the dedup mark, asks Decide,
// builds the payload with BuildPayload, sends it with a Sender, and deletes
// every subscription whose Result is Gone.
//
// # Decision rules
//
// Decide checks, in order, and the first that applies says no: notifications
// disabled; the kind switched off (agent replies, group messages, mentions);
// the conversation muted; the user looking at that conversation; a
// notification for that conversation within the dedup window; inside quiet
// hours. Quiet hours are "HH:MM" wall-clock times in the user's IANA time
// zone, start inclusive and end exclusive; an end earlier than the start
// means the window crosses midnight; equal start and end mean no quiet hours.
// ari.DefaultNotificationPreferences: enabled, no quiet hours, UTC, all kinds on, previews on.
//
// # Payload (what the client's service worker receives)
//
// The push message body, once the browser has decrypted it, is one JSON
// object, read in the service worker with event.data.json():
//
//	{
//	  "title":          "Ada in Trip planning",   // notification title
//	  "body":           "Shall we leave at 9?",   // message text, or "New message" when previews are off
//	  "kind":           "group_message",          // "agent_reply" | "agent_message" | "input_request" | "group_message" | "mention" | "channel_mention"
//	  "conversationId": "c_123",
//	  "messageId":      "m_456",
//	  "url":            "/conversations/c_123",   // open this on notificationclick
//	  "tag":            "conversation:c_123"      // pass as showNotification's tag
//	}
//
// Every key is always present. A "channel_mention" (someone @mentioned the
// user in a community channel; nothing else in a channel is pushed) has
// "conversationId": "" and two more keys, "channelId" and "communityId";
// its messageId is the channel message's, url "/channels/{channelId}", tag
// "channel:{channelId}", and its title says "Ada mentioned you in #general
// (Rustaceans)". Title is at most 100 characters and body at
// most 200 (cut with "…"). Using tag makes a newer notification for a
// conversation replace the older one on screen; the Topic header (see Topic)
// does the same for messages the push service has not delivered yet. With
// previews off, no part of the message text is sent.
//
// # Sending
//
// A Sender posts to all of a user's subscriptions at once, at most
// SenderConfig.Parallel at a time, with the TTL and Urgency headers set and a
// Topic per conversation. 2xx is Delivered; 404 and 410 are Gone (delete the
// subscription); 429, 5xx and network errors are retried with exponential
// backoff and jitter, honouring Retry-After, up to MaxAttempts; anything else
// is Failed at once.
package notify
