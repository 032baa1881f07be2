package hub

import (
	"bytes"
	"context"
	"strconv"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
)

// What travels on a user's channel (kv.Keys.UserChannel) is a complete frame
// for every socket of that user: functions publish shared/events envelopes,
// relays publish stream frames and events. A payload that must skip one
// socket (read_updated goes to the user's *other* sockets) is prefixed with
// "!<instance>/<socket id>\n"; one that must skip every socket of one
// instance (which delivered it to them itself, see Hub.Deliver) with
// "!<instance>/\n". A payload only for the sockets focused on one
// conversation (agent_presence) is prefixed with "?<conversationId>\n". A
// frame, being a JSON object, never starts with "!" or "?". This file is the
// only place that spells the prefixes.

// skipPrefix is what goes before a frame that the sockets skip names must
// not get.
func skipPrefix(skip string) string { return "!" + skip + "\n" }

// InstancePrefix is the prefix of a payload that every socket of instanceID
// skips (UserPayload with InstanceName), for callers that build payloads in
// place.
func InstancePrefix(instanceID string) string { return skipPrefix(InstanceName(instanceID)) }

// UserPayload builds the payload for a user channel; skip names a socket
// ("instance/id") that must not get it, or is empty.
func UserPayload(frame []byte, skip string) []byte {
	if skip == "" {
		return frame
	}
	out := make([]byte, 0, len(frame)+len(skip)+2)
	out = append(out, skipPrefix(skip)...)
	return append(out, frame...)
}

// SplitUserPayload returns the frame and the socket to skip ("" for none).
func SplitUserPayload(p []byte) (frame []byte, skip string) {
	if len(p) == 0 || p[0] != '!' {
		return p, ""
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return nil, ""
	}
	return p[i+1:], string(p[1:i])
}

// FocusPayload builds the payload for a user channel that only the user's
// sockets focused on conversationID deliver.
func FocusPayload(frame []byte, conversationID string) []byte {
	out := make([]byte, 0, len(frame)+len(conversationID)+2)
	out = append(out, '?')
	out = append(out, conversationID...)
	out = append(out, '\n')
	return append(out, frame...)
}

// SplitFocus returns the frame and the conversation a socket must be
// focused on to deliver it ("" for any socket).
func SplitFocus(p []byte) (frame []byte, conversationID string) {
	if len(p) == 0 || p[0] != '?' {
		return p, ""
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return nil, ""
	}
	return p[i+1:], string(p[1:i])
}

// SocketName is how a socket is named across instances in skip prefixes.
func SocketName(instanceID string, id uint64) string {
	return instanceID + "/" + strconv.FormatUint(id, 10)
}

// InstanceName is the skip that names every socket of an instance.
func InstanceName(instanceID string) string { return instanceID + "/" }

// Skips reports whether a payload's skip applies to the socket named name
// (SocketName): it names that socket or its whole instance.
func Skips(skip, name string) bool {
	if skip == "" {
		return false
	}
	if skip == name {
		return true
	}
	return skip[len(skip)-1] == '/' && len(name) > len(skip) && name[:len(skip)] == skip
}

// ToUsers publishes frame, prefixed to skip the socket or instance named by
// skip, to each user's channel and returns the users no instance holds a
// socket for.
func (h *Hub) ToUsers(ctx context.Context, keys kv.Keys, userIDs []string, frame []byte, skip string) (offline []string, err error) {
	return events.PublishUsers(ctx, h.rdb, keys, userIDs, UserPayload(frame, skip))
}

// ToUsersHereFirst is ToUsers for a frame that must keep its place among
// the stream_chunks appendDeltas hands straight to this instance's sockets
// (stream_start, stream_status): this instance's sockets get it now, from
// here, and skip the copy published for the other instances. Going round
// through Redis instead, it could arrive after a chunk the agent sent later.
func (h *Hub) ToUsersHereFirst(ctx context.Context, keys kv.Keys, instanceID string, userIDs []string, frame []byte) (offline []string, err error) {
	for _, u := range userIDs {
		h.Deliver(keys.UserChannel(u), frame)
	}
	return h.ToUsers(ctx, keys, userIDs, frame, InstanceName(instanceID))
}

// ToUsersOrQueue is ToUsers that queues event (shared/events.Deliver) for the
// users found offline.
func (h *Hub) ToUsersOrQueue(ctx context.Context, keys kv.Keys, userIDs []string, frame []byte, skip string, event []byte) error {
	return events.Deliver(ctx, h.rdb, keys, userIDs, UserPayload(frame, skip), event)
}
