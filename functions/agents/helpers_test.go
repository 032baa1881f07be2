package agents

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
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"github.com/redis/go-redis/v9"
)

type fixture struct {
	db     *store.DB
	rdb    *redis.Client
	keys   kv.Keys
	router interface{ Patterns() []string }
	api    *apitest.Server
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	h := New(Deps{
		DB: db, Redis: rdb, Keys: keys,
		Events: events.NewPublisher(rdb, keys),
		Auth:   &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")},
	})
	return &fixture{db: db, rdb: rdb, keys: keys, router: h, api: apitest.Serve(t, h)}
}

// call sends a request as the user with token (none when empty); body is
// JSON-encoded unless it is already a string.
func (f *fixture) call(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	return f.api.Call(t, token, method, path, body)
}

// must calls and fails the test unless the status is want.
func (f *fixture) must(t *testing.T, want int, token, method, path string, body any) []byte {
	t.Helper()
	return f.api.Must(t, want, token, method, path, body)
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	return apitest.Decode[T](t, raw)
}

type errorBody = apitest.ErrorBody

// createAgent makes an agent through the API and returns it with its token.
func (f *fixture) createAgent(t *testing.T, token string, req CreateAgentRequest) (AgentResponse, string) {
	t.Helper()
	got := decode[AgentWithTokenResponse](t, f.must(t, http.StatusCreated, token, "POST", "/api/agents", req))
	return got.Agent, got.Token
}

// subscribe listens on a sharded channel as a relay would, returning once
// Redis has confirmed the subscription.
func subscribe(t *testing.T, rdb *redis.Client, channel string) *redis.PubSub {
	t.Helper()
	ps := rdb.SSubscribe(context.Background(), channel)
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

// nextEvent waits for the next event on ps.
func nextEvent(t *testing.T, ps *redis.PubSub) events.Event {
	t.Helper()
	msg, err := ps.ReceiveTimeout(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatalf("no event: %v", err)
	}
	m, ok := msg.(*redis.Message)
	if !ok {
		t.Fatalf("unexpected %T %v", msg, msg)
	}
	return decode[events.Event](t, []byte(m.Payload))
}

// seedMessage stores a message at the conversation's next seq, as the relay does.
func seedMessage(t *testing.T, db *store.DB, convID, role string, userID, agentID *string, content, status string,
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

func ptr[T any](v T) *T { return &v }
