package reactions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/redis/go-redis/v9"
)

type fixture struct {
	db   *store.DB
	rdb  *redis.Client
	keys kv.Keys
	srv  *httptest.Server
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	h := New(Deps{
		DB:     db,
		Events: events.NewPublisher(rdb, keys),
		Auth:   &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")},
	})
	srv := httptest.NewServer(platform.Wrap(h))
	t.Cleanup(srv.Close)
	return &fixture{db: db, rdb: rdb, keys: keys, srv: srv}
}

// call sends a request as the user with token (none when empty) and returns
// the status and body.
func (f *fixture) call(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw
}

func decode[T any](t *testing.T, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// conversation makes a conversation with the users as members, the first
// one its owner.
func conversation(t *testing.T, db *store.DB, kind string, users ...string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := db.Pool.QueryRow(ctx, `insert into conversations (kind, title, created_by) values ($1, 'test', $2) returning id`,
		kind, users[0]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		role := "member"
		if i == 0 {
			role = "owner"
		}
		if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, user_id, role) values ($1, $2, $3)`, id, u, role); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// post stores messages as the relay does: each takes the next seq from the
// conversation's counter under its row lock.
func post(t *testing.T, db *store.DB, conv, sender string, texts ...string) []string {
	t.Helper()
	var ids []string
	for _, text := range texts {
		var id string
		err := db.Pool.QueryRow(context.Background(), `
			with c as (update conversations set last_seq = last_seq + 1, last_message_at = now()
				where id = $1 returning last_seq)
			insert into messages (conversation_id, seq, role, sender_user_id, content)
			select $1, last_seq, 'user', $2, $3 from c returning id`, conv, sender, text).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// postMany stores n messages "message <seq>" at once, taking n seqs in one step.
func postMany(t *testing.T, db *store.DB, conv, sender string, n int) {
	t.Helper()
	_, err := db.Pool.Exec(context.Background(), `
		with c as (update conversations set last_seq = last_seq + $3, last_message_at = now()
			where id = $1 returning last_seq - $3 as base)
		insert into messages (conversation_id, seq, role, sender_user_id, content)
		select $1, c.base + g, 'user', $2, 'message ' || (c.base + g) from c, generate_series(1, $3::int) g`, conv, sender, n)
	if err != nil {
		t.Fatal(err)
	}
}

// listen subscribes to a user's channel the way a relay does and returns a
// function that waits for the next event.
func (f *fixture) listen(t *testing.T, userID string) func() events.Event {
	t.Helper()
	ctx := context.Background()
	sub := f.rdb.SSubscribe(ctx, f.keys.UserChannel(userID))
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	return func() events.Event {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no event for %s: %v", userID, err)
		}
		return decode[events.Event](t, []byte(msg.Payload))
	}
}
