package apitest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/redis/go-redis/v9"
)

// Env is what a function's tests run on: a fresh database, a Redis prefix of
// their own, the dependencies every function builds from them, and (after
// Serve) the function under test on a loopback server.
type Env struct {
	DB     *store.DB
	Redis  redis.UniversalClient
	Keys   kv.Keys
	Events *events.Publisher
	Auth   *auth.Authenticator
	*Server
}

// New returns a fresh Env; the function is not served yet.
func New(t testing.TB) *Env {
	t.Helper()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	return &Env{
		DB: db, Redis: rdb, Keys: keys,
		Events: events.NewPublisher(rdb, keys),
		Auth:   &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")},
	}
}

// Serve serves h for the test's lifetime and returns e, now able to Call it.
func (e *Env) Serve(t testing.TB, h http.Handler) *Env {
	t.Helper()
	e.Server = Serve(t, h)
	return e
}

// Listen subscribes to a user's channel the way a relay does (see Listen).
func (e *Env) Listen(t testing.TB, userID string) func() events.Event {
	t.Helper()
	return Listen(t, e.Redis, e.Keys, userID)
}

// SeedMessage stores a message at the conversation's next seq, as the relay
// does, with every column a test may need to set.
func SeedMessage(t testing.TB, db *store.DB, convID, role string, userID, agentID *string, content, status string,
	created time.Time, firstChunk, completed *time.Time) string {
	t.Helper()
	var id string
	err := db.Pool.QueryRow(context.Background(), `
		with c as (update conversations set last_seq = last_seq + 1, last_message_at = $7
			where id = $1 returning last_seq)
		insert into messages (conversation_id, seq, role, sender_user_id, sender_agent_id, content, status,
			created_at, first_chunk_at, completed_at)
		select $1, c.last_seq, $2, $3, $4, $5, $6, $7, $8, $9 from c returning id`,
		convID, role, userID, agentID, content, status, created, firstChunk, completed).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Subscribe listens on a sharded channel as a relay would, returning once
// Redis has confirmed the subscription.
func Subscribe(t testing.TB, rdb redis.UniversalClient, channel string) *redis.PubSub {
	t.Helper()
	ps := rdb.SSubscribe(context.Background(), channel)
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

// NextEvent waits up to 5 s for the next event on ps.
func NextEvent(t testing.TB, ps *redis.PubSub) events.Event {
	t.Helper()
	msg, err := ps.ReceiveTimeout(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	m, ok := msg.(*redis.Message)
	if !ok {
		t.Fatalf("unexpected %T %v", msg, msg)
	}
	return Decode[events.Event](t, []byte(m.Payload))
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }
