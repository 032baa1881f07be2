// Package presence is the one reading and writing of user presence in Redis,
// shared by the relay (which writes an entry per live client socket) and the
// push trigger (which asks whether a user is looking at a conversation).
//
// kv.Keys.UserPresence(userID) is a hash: field = the socket's name
// ("instance/socketId", see relay/hub.SocketName), value =
// "instanceID|conversationID|visible" where conversationID is empty when no
// conversation is in the foreground and visible is "1" or "0" (the page or
// app is on screen). The relay refreshes the key's TTL (kv.PresenceTTL) with
// its heartbeat, so a crashed instance's entries vanish by themselves.
//
// kv.Keys.UserChannelPresence(userID) is a second hash with the same fields:
// value = the space-separated ids of the community channels the socket
// subscribes to (no field when none). SetWithChannels writes both, with one
// TTL.
package presence

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/redis/go-redis/v9"
)

// Entry is one socket's presence.
type Entry struct {
	// Instance is the relay instance holding the socket.
	Instance string
	// ConversationID is the conversation in the client's foreground ("" none).
	ConversationID string
	// Visible: the client's page or app is on screen (not a background tab).
	Visible bool
}

// Encode renders e as the hash value. Instance ids must not contain '|';
// conversation ids are uuids.
func (e Entry) Encode() string {
	v := "0"
	if e.Visible {
		v = "1"
	}
	return e.Instance + "|" + e.ConversationID + "|" + v
}

// ErrMalformed is returned by Parse for a value not in the documented form.
var ErrMalformed = errors.New("presence: malformed entry")

// Parse reads a hash value written by Encode.
func Parse(s string) (Entry, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return Entry{}, ErrMalformed
	}
	e := Entry{Instance: parts[0], ConversationID: parts[1]}
	switch parts[2] {
	case "1", "true":
		e.Visible = true
	case "0", "false":
	default:
		return Entry{}, ErrMalformed
	}
	return e, nil
}

// Set records socket's presence for userID and refreshes the key's TTL, in
// one round trip. The relay calls it on connect and on every focus frame.
func Set(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userID, socket string, e Entry) error {
	return SetWithChannels(ctx, rdb, keys, userID, socket, e, nil)
}

// SetWithChannels is Set for a socket that subscribes to channels (the
// community channels it follows; none drops its channel entry).
func SetWithChannels(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userID, socket string, e Entry, channels []string) error {
	key, chans := keys.UserPresence(userID), keys.UserChannelPresence(userID)
	pipe := rdb.TxPipeline()
	pipe.HSet(ctx, key, socket, e.Encode())
	pipe.Expire(ctx, key, kv.PresenceTTL)
	if len(channels) > 0 {
		pipe.HSet(ctx, chans, socket, strings.Join(channels, " "))
		pipe.Expire(ctx, chans, kv.PresenceTTL)
	} else {
		pipe.HDel(ctx, chans, socket)
	}
	_, err := pipe.Exec(ctx)
	return err
}

// Remove drops socket's entry, when the socket closes.
func Remove(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userID, socket string) error {
	pipe := rdb.TxPipeline()
	pipe.HDel(ctx, keys.UserPresence(userID), socket)
	pipe.HDel(ctx, keys.UserChannelPresence(userID), socket)
	_, err := pipe.Exec(ctx)
	return err
}

// WatchingChannelMany reports, for each of userIDs, whether one of the
// user's sockets subscribes to channelID and is on screen (its last focus
// said visible), in one round trip; the map holds those who are looking.
func WatchingChannelMany(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userIDs []string, channelID string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	pipe := rdb.Pipeline()
	entries := make([]*redis.MapStringStringCmd, len(userIDs))
	chans := make([]*redis.MapStringStringCmd, len(userIDs))
	for i, u := range userIDs {
		entries[i] = pipe.HGetAll(ctx, keys.UserPresence(u))
		chans[i] = pipe.HGetAll(ctx, keys.UserChannelPresence(u))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, u := range userIDs {
		for socket, list := range chans[i].Val() {
			e, err := Parse(entries[i].Val()[socket])
			if err == nil && e.Visible && slices.Contains(strings.Fields(list), channelID) {
				out[u] = true
				break
			}
		}
	}
	return out, nil
}

// Focused reports whether any of userID's sockets shows conversationID on
// screen right now. Entries that do not parse are ignored: a newer relay's
// format must not make us think nobody is looking.
func Focused(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userID, conversationID string) (bool, error) {
	all, err := rdb.HGetAll(ctx, keys.UserPresence(userID)).Result()
	if err != nil {
		return false, err
	}
	return anyFocused(all, conversationID), nil
}

// FocusedMany is Focused for several users in one round trip; the map holds
// the users who are looking.
func FocusedMany(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, userIDs []string, conversationID string) (map[string]bool, error) {
	out := make(map[string]bool, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(userIDs))
	for i, u := range userIDs {
		cmds[i] = pipe.HGetAll(ctx, keys.UserPresence(u))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, u := range userIDs {
		if anyFocused(cmds[i].Val(), conversationID) {
			out[u] = true
		}
	}
	return out, nil
}

func anyFocused(entries map[string]string, conversationID string) bool {
	for _, v := range entries {
		e, err := Parse(v)
		if err == nil && e.Visible && e.ConversationID == conversationID {
			return true
		}
	}
	return false
}
