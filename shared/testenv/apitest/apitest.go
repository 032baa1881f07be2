// Package apitest drives a function's real handler over HTTP in tests, and
// seeds the rows those tests need the way production code writes them.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Server serves a handler under the same middleware as Lambda and the shim.
type Server struct {
	URL string
}

// Serve starts h on a loopback test server for the test's lifetime.
func Serve(t testing.TB, h http.Handler) *Server {
	t.Helper()
	srv := httptest.NewServer(platform.Wrap(h))
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL}
}

// Call sends a request as the user with token (none when empty) and returns
// the status and body. body is JSON-encoded unless it is already a string
// (sent as it is, for malformed-input tests); nil sends no body.
func (s *Server) Call(t testing.TB, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
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

// Must calls and fails the test unless the status is want.
func (s *Server) Must(t testing.TB, want int, token, method, path string, body any) []byte {
	t.Helper()
	status, raw := s.Call(t, token, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
	}
	return raw
}

// Decode unmarshals raw or fails the test.
func Decode[T any](t testing.TB, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return v
}

// ErrorBody is the JSON error shape every non-auth route answers with.
type ErrorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// Conversation makes a conversation with the users as members, the first one
// its owner.
func Conversation(t testing.TB, db *store.DB, kind string, users ...string) string {
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

// Post stores messages as the relay does: each takes the next seq from the
// conversation's counter under its row lock.
func Post(t testing.TB, db *store.DB, conv, sender string, texts ...string) []string {
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

// PostMany stores n messages "message <seq>" at once, taking n seqs in one step.
func PostMany(t testing.TB, db *store.DB, conv, sender string, n int) {
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

// Agent makes an agent owned by owner with the given visibility.
func Agent(t testing.TB, db *store.DB, owner, name, visibility string) string {
	t.Helper()
	var id string
	if err := db.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, visibility, token_hash)
		values ($1, $2, $3, $4, decode(md5(random()::text), 'hex')) returning id`,
		owner, name, strings.ToLower(name), visibility).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Listen subscribes to a user's channel the way a relay does and returns a
// function that waits (up to 5 s) for the next event.
func Listen(t testing.TB, rdb redis.UniversalClient, keys kv.Keys, userID string) func() events.Event {
	t.Helper()
	ctx := context.Background()
	sub := rdb.SSubscribe(ctx, keys.UserChannel(userID))
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
		return Decode[events.Event](t, []byte(msg.Payload))
	}
}
