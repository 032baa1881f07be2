package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
)

// TicketLength is the length of a socket ticket: characters of IDAlphabet,
// about 238 bits.
const TicketLength = 40

// ErrBadTicket means a socket ticket is unknown, already used, expired, or
// was issued to a session that has ended since.
var ErrBadTicket = errors.New("auth: socket ticket is unknown, used, expired or its session ended")

// Tickets issues and redeems socket tickets: what a web app on another site
// (whose SameSite=Lax session cookie the browser does not send, and which
// cannot set headers on a WebSocket) presents in the first frame of its
// client socket instead of a session. A ticket is obtained over REST with a
// session (cookie or bearer), names that user and session, works once, and
// only for kv.SocketTicketTTL. Only its SHA-256 is stored, so Redis never
// holds a usable ticket.
type Tickets struct {
	Redis redis.Cmdable
	Keys  kv.Keys
	// TTL overrides kv.SocketTicketTTL (tests); zero keeps it.
	TTL time.Duration
}

func (t Tickets) ttl() time.Duration {
	if t.TTL > 0 {
		return t.TTL
	}
	return kv.SocketTicketTTL
}

func ticketKey(k kv.Keys, ticket string) string {
	sum := sha256.Sum256([]byte(ticket))
	return k.SocketTicket(hex.EncodeToString(sum[:]))
}

// Issue makes a ticket for c's session and returns it with its expiry.
func (t Tickets) Issue(ctx context.Context, c Caller) (string, time.Time, error) {
	ticket := GenerateID(TicketLength)
	ttl := t.ttl()
	expires := time.Now().Add(ttl)
	if err := t.Redis.Set(ctx, ticketKey(t.Keys, ticket), c.ID+" "+c.SessionID, ttl).Err(); err != nil {
		return "", time.Time{}, err
	}
	return ticket, expires, nil
}

// Redeem takes ticket (GETDEL: of two sockets presenting one ticket, one
// wins) and returns the caller it was issued to, provided that session is
// still live; otherwise ErrBadTicket. A ticket that is not of our form is
// refused before Redis sees it.
func (t Tickets) Redeem(ctx context.Context, db *store.DB, ticket string) (Caller, error) {
	if !validTicket(ticket) {
		return Caller{}, ErrBadTicket
	}
	v, err := t.Redis.GetDel(ctx, ticketKey(t.Keys, ticket)).Result()
	if errors.Is(err, redis.Nil) {
		return Caller{}, ErrBadTicket
	}
	if err != nil {
		return Caller{}, err
	}
	userID, sessionID, ok := strings.Cut(v, " ")
	if !ok {
		return Caller{}, ErrBadTicket
	}
	u, err := db.LiveSessionUser(ctx, sessionID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.ID != userID) {
		return Caller{}, ErrBadTicket
	}
	if err != nil {
		return Caller{}, err
	}
	return Caller{ID: u.ID, Email: u.Email, Name: u.Name, SessionID: sessionID}, nil
}

func validTicket(s string) bool {
	if len(s) != TicketLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(IDAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}
