// Package account is what a user does with their whole account: erase it
// (with everything of theirs, README "Deleting an account") and export it
// (GET /api/account/export). The auth function serves both.
package account

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Eraser deletes accounts.
type Eraser struct {
	DB      *store.DB
	Redis   redis.UniversalClient
	Keys    kv.Keys
	Events  *events.Publisher
	Storage storage.Store
}

// Payloads of the events other members get (relay/PROTOCOL.md section 7).
type memberRemoved struct {
	MemberID string `json:"memberId"`
	Kind     string `json:"kind"`
}

type messageDeleted struct {
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
}

type reactionRemoved struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
}

type agentGone struct {
	AgentID string `json:"agentId"`
}

// Erase removes userID and everything of theirs (store.EraseUser), then,
// the rows being gone, tells the rest: the relays close the user's sockets
// (4001) and their agents' sockets (4003, as for a deleted agent), the
// other members of each conversation that lives on get member_removed,
// message_deleted and reaction_removed, the offline queue is dropped and
// every object under the user's storage prefixes is deleted. A failure
// after the commit is logged and the rest still runs: the account is gone
// either way, and what is left (an event, an object) is named in the log.
// An unknown user is store.ErrNotFound.
func (x Eraser) Erase(ctx context.Context, userID string) error {
	if x.Storage == nil {
		return errors.New("account: no file storage to erase uploads from")
	}
	e, err := x.DB.EraseUser(ctx, userID)
	if err != nil {
		return err
	}
	// The request may be gone by now; finish the notices regardless.
	ctx = context.WithoutCancel(ctx)
	logged := func(what string, err error) {
		if err != nil {
			slog.ErrorContext(ctx, "account erase: "+what, "user", userID, "err", err)
		}
	}
	if len(e.SessionIDs) > 0 {
		logged("sessions notice", x.Events.SessionsRevoked(ctx, userID, e.SessionIDs))
	}
	for _, a := range e.AgentIDs {
		ev, err := events.New(events.AgentDeleted, "", agentGone{AgentID: a})
		if err == nil {
			err = x.Events.ToAgent(ctx, a, ev)
		}
		logged("agent notice "+a, err)
	}
	for _, c := range e.Changed {
		tell := func(t events.Type, data any) {
			if len(c.Users) == 0 {
				return
			}
			ev, err := events.New(t, c.ConversationID, data)
			if err == nil {
				err = x.Events.ToUsers(ctx, c.Users, ev)
			}
			logged(string(t)+" to "+c.ConversationID, err)
		}
		for _, m := range c.Tombstones {
			tell(events.MessageDeleted, messageDeleted{MessageID: m.MessageID, Seq: m.Seq})
		}
		for _, r := range c.Reactions {
			tell(events.ReactionRemoved, reactionRemoved{MessageID: r.MessageID, UserID: userID, Emoji: r.Emoji})
		}
		for _, a := range c.LeftAgents {
			tell(events.MemberRemoved, memberRemoved{MemberID: a, Kind: "agent"})
		}
		if c.LeftUser {
			tell(events.MemberRemoved, memberRemoved{MemberID: userID, Kind: "user"})
		}
	}
	logged("offline queue", x.Redis.Del(ctx, x.Keys.Pending(userID), x.Keys.PendingDropped(userID)).Err())
	keys := e.StorageKeys
	for _, p := range storage.UserPrefixes(userID) {
		// Everything under the prefix, also objects no row names (an
		// upload never completed); a minute ahead covers clock skew.
		more, err := x.Storage.List(ctx, p, time.Now().Add(time.Minute))
		logged("list "+p, err)
		keys = append(keys, more...)
	}
	logged("delete objects", storage.DeleteObjects(ctx, x.Storage, keys))
	return nil
}
