// Package kv is Ari's Redis: one client per process, and this file, which names
// every key, channel and TTL the system uses. Names are part of the contract
// between functions and relay instances; change them here or nowhere.
//
// Keys that one script or transaction touches together share a hash tag (the
// part in literal braces), so they live on one slot when Redis becomes a cluster.
package kv

import (
	"strconv"
	"time"
)

// TTLs and bounds.
const (
	// StreamTTL keeps the text of a streaming reply for reconnecting clients.
	StreamTTL = 600 * time.Second
	// PendingTTL and PendingMax bound a user's offline event queue.
	PendingTTL = 24 * time.Hour
	PendingMax = 1000
	// PresenceTTL is refreshed by the relay's heartbeats (a third of it), so
	// the entries of a crashed relay instance expire by themselves.
	PresenceTTL = 60 * time.Second
	// ActiveTTL is how long a conversation's active-reply mark lives without a
	// refresh; a crashed relay cannot wedge a conversation for longer.
	ActiveTTL = 90 * time.Second
	// UnsavedEndTTL keeps a reply's buffer and recorded end when the reply
	// was ended for its members while Postgres was unreachable, until a
	// sweeper writes that end to Postgres.
	UnsavedEndTTL = 24 * time.Hour
	// PushDedupWindow: at most one push per user and conversation in this window.
	PushDedupWindow = 30 * time.Second
	// SocketTicketTTL is how long a socket ticket (shared/auth/ticket.go)
	// can be redeemed: long enough to open a socket, short enough that a
	// leaked one is worthless.
	SocketTicketTTL = 30 * time.Second
)

// Keys builds names under an optional prefix (tests use a unique one each).
type Keys struct{ Prefix string }

// Stream holds the text accumulated so far for a streaming reply (a string that
// grows with APPEND; its length in bytes is the offset reached).
func (k Keys) Stream(messageID string) string { return k.Prefix + "stream:{" + messageID + "}" }

// StreamMeta holds a streaming reply's metadata (conversation, agent, status).
func (k Keys) StreamMeta(messageID string) string {
	return k.Prefix + "stream:{" + messageID + "}:meta"
}

// Pending is a user's offline event queue (a list, newest first).
func (k Keys) Pending(userID string) string { return k.Prefix + "pending:{" + userID + "}" }

// PendingDropped marks that the queue overflowed and the client must refetch.
func (k Keys) PendingDropped(userID string) string {
	return k.Prefix + "pending:{" + userID + "}:dropped"
}

// UserPresence is a hash socketID -> "instanceID|conversationID|visible" of a
// user's live sockets.
func (k Keys) UserPresence(userID string) string { return k.Prefix + "presence:user:{" + userID + "}" }

// UserChannelPresence is a hash socketID -> the space-separated ids of the
// community channels that socket subscribes to (channel_subscribe), beside
// UserPresence (same hash tag, same TTL): the push trigger reads it to leave
// out members who are looking at a channel.
func (k Keys) UserChannelPresence(userID string) string {
	return k.Prefix + "presence:user:{" + userID + "}:channels"
}

// UserSockets is a sorted set of a user's open client sockets on every relay
// instance: member = socket name ("instance/socketId"), score = the Unix time
// in milliseconds at which the entry expires unless a heartbeat refreshes it
// (now + PresenceTTL). Entries of a killed instance thus stop counting
// towards RELAY_MAX_SOCKETS_PER_USER by themselves.
func (k Keys) UserSockets(userID string) string {
	return k.Prefix + "presence:user:{" + userID + "}:sockets"
}

// AgentPresence names the relay instance that holds an agent's socket.
func (k Keys) AgentPresence(agentID string) string {
	return k.Prefix + "presence:agent:{" + agentID + "}"
}

// AgentWatchers is a sorted set of the client sockets focused on a
// conversation with the agent: member = "userId|conversationId|socket
// name", score = the Unix time in milliseconds at which the entry expires
// unless a heartbeat refreshes it (now + PresenceTTL). The relay tells these
// sockets when the agent goes online or offline (shared/presence.Watch).
func (k Keys) AgentWatchers(agentID string) string {
	return k.Prefix + "presence:agent:{" + agentID + "}:watchers"
}

// ConvActive marks the conversation's active reply (its message id).
func (k Keys) ConvActive(conversationID string) string {
	return k.Prefix + "conv:{" + conversationID + "}:active"
}

// ConvQueue lists, in order, the replies waiting for the active one to end.
func (k Keys) ConvQueue(conversationID string) string {
	return k.Prefix + "conv:{" + conversationID + "}:queue"
}

// ChannelActive marks a community channel's active agent reply (its id):
// one reply streams in a channel at a time, whichever agent writes it.
func (k Keys) ChannelActive(channelID string) string {
	return k.Prefix + "channel:{" + channelID + "}:active"
}

// ChannelQueue lists, in order, a channel's agent replies waiting for the
// active one to end (same hash tag as ChannelActive: one script takes both).
func (k Keys) ChannelQueue(channelID string) string {
	return k.Prefix + "channel:{" + channelID + "}:queue"
}

// UserChannel carries events for one user to whichever relay holds their sockets.
func (k Keys) UserChannel(userID string) string { return k.Prefix + "ch:user:{" + userID + "}" }

// AgentChannel carries control events (token regenerated, deleted) and tasks to
// the relay holding an agent's socket.
func (k Keys) AgentChannel(agentID string) string { return k.Prefix + "ch:agent:{" + agentID + "}" }

// ChannelTopic carries one community channel's traffic (messages,
// deletions, reactions, the channel's deletion, members removed) to the
// relay instances holding sockets subscribed to it (channel_subscribe): one
// publish per message whatever the community's size.
func (k Keys) ChannelTopic(channelID string) string {
	return k.Prefix + "ch:channel:{" + channelID + "}"
}

// MembershipChannel tells every relay instance that users left a
// conversation (a member removed, the conversation deleted); the payload is
// the conversation's id. An instance streaming a reply there stops sending
// its frames to users who are no longer members. One channel for all
// conversations: these changes are rare next to chunks, and every instance
// must hear them whichever users' sockets it holds.
func (k Keys) MembershipChannel() string { return k.Prefix + "ch:relay:membership" }

// RelayControl carries an operator's commands to one relay instance
// (shared/ops: "drain").
func (k Keys) RelayControl(instanceID string) string {
	return k.Prefix + "ch:relay:control:" + instanceID
}

// Settling is a sorted set of the replies whose end an instance is saving
// and announcing (relay/stream/recover.go), scored by when it began (Unix
// ms): an entry left behind names a reply whose instance stopped before its
// members were told, and any instance's sweeper tells them.
func (k Keys) Settling() string { return k.Prefix + "relay:settling" }

// RelayJobs is a list of requests from functions to the relay
// (shared/relayjob): functions RPUSH, relay instances BLPOP, so each job is
// carried out by one instance.
func (k Keys) RelayJobs() string { return k.Prefix + "relay:jobs" }

// RelayJobAnswer is the list a relay instance pushes one job's answer onto
// (the submitting function BLPOPs it); it expires after relayjob.AnswerTTL.
func (k Keys) RelayJobAnswer(jobID string) string {
	return k.Prefix + "relay:jobs:answer:{" + jobID + "}"
}

// LoadProbeChannel is one pair's channel of relay/loadtest's Redis floor
// (SPUBLISH → SSUBSCRIBE with no relay in between); a run's channels share
// the run's hash tag, so one SSUBSCRIBE takes them all on a cluster too.
func (k Keys) LoadProbeChannel(run string, pair int) string {
	return k.Prefix + "ch:loadprobe:{" + run + "}:" + strconv.Itoa(pair)
}

// PushDedup is set for PushDedupWindow after a push for user+conversation.
func (k Keys) PushDedup(userID, conversationID string) string {
	return k.Prefix + "push:dedup:{" + userID + "}:" + conversationID
}

// PushDedupChannel is PushDedup for a community channel's mentions.
func (k Keys) PushDedupChannel(userID, channelID string) string {
	return k.Prefix + "push:dedup:{" + userID + "}:channel:" + channelID
}

// RateLimit is the prefix for shared rate-limit counters.
func (k Keys) RateLimit() string { return k.Prefix + "rl:" }

// AgentEpoch counts an agent's socket sign-ins (INCR): of two sockets of one
// agent, the one with the higher epoch is the newer and stays.
func (k Keys) AgentEpoch(agentID string) string {
	return k.Prefix + "presence:agent:{" + agentID + "}:epoch"
}

// SocketTicket holds one unredeemed socket ticket, named by the SHA-256 (hex)
// of the ticket so the secret itself is never stored; its value is
// "userId sessionId", taken with GETDEL (single use), TTL SocketTicketTTL.
func (k Keys) SocketTicket(ticketHash string) string {
	return k.Prefix + "socket-ticket:" + ticketHash
}
