package messages

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// pushes records what would have been notified (Web Push cannot run here).
type pushes struct {
	mu   sync.Mutex
	sent []string // message id and agent name
}

func (p *pushes) AgentMessage(m ari.Message, agentName string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, m.ID+" "+agentName)
	return true
}

func (p *pushes) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent...)
}

// tokenAgent makes an agent whose secret token the test knows.
func tokenAgent(t *testing.T, e *apitest.Env, owner, name string) (id, token string) {
	t.Helper()
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.DB.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, $2, $3, $4, $5) returning id`, owner, name, ari.AgentHandle(name), hash, hint).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id, token
}

func join(t *testing.T, e *apitest.Env, conv, agentID string) {
	t.Helper()
	if _, err := e.DB.Pool.Exec(context.Background(), `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, agentID); err != nil {
		t.Fatal(err)
	}
}

func TestAgentPostsOverRESTWithItsToken(t *testing.T) {
	e := apitest.New(t)
	push := &pushes{}
	// Five posts an hour: the sixth is over the limit whatever the
	// machine's speed.
	poster := &agentpost.Poster{DB: e.DB, Events: e.Events, Limiter: ratelimit.New(e.Redis, e.Keys),
		Rule: ratelimit.Rule{Name: "agent:messages", Rate: 5, Period: time.Hour, Burst: 5}, Push: push}
	e.Serve(t, New(Deps{DB: e.DB, Events: e.Events, Auth: e.Auth, Poster: poster}))
	ada := testenv.NewUser(t, e.DB, "Ada")
	bob := testenv.NewUser(t, e.DB, "Bob")
	agent, token := tokenAgent(t, e, ada.ID, "Kalender")
	conv := apitest.Conversation(t, e.DB, "group", ada.ID, bob.ID)
	join(t, e, conv, agent)
	other := apitest.Conversation(t, e.DB, "direct", ada.ID)
	join(t, e, other, agent)
	foreign := apitest.Conversation(t, e.DB, "direct", bob.ID)
	next := e.Listen(t, bob.ID)
	const path = "/api/agent/messages"
	body := map[string]any{"conversationId": conv, "content": "Termin um 9:00 🙂", "clientMessageId": "cron-1"}

	// Refused before anything is stored: no token, a session token, a
	// malformed body (none of these count against the limit).
	for _, tok := range []string{"", ada.Token, "ari_" + strings.Repeat("0", 48)} {
		if st, raw := e.Call(t, tok, "POST", path, body); st != http.StatusUnauthorized {
			t.Fatalf("token %q: %d %s", tok, st, raw)
		}
	}
	for field, bad := range map[string]map[string]any{
		"content":         {"conversationId": conv, "content": " ", "clientMessageId": "x1"},
		"conversationId":  {"conversationId": "a{b}", "content": "hi", "clientMessageId": "x1"},
		"clientMessageId": {"conversationId": conv, "content": "hi", "clientMessageId": ""},
	} {
		raw := e.Must(t, http.StatusBadRequest, token, "POST", path, bad)
		if eb := apitest.Decode[apitest.ErrorBody](t, raw); eb.Error.Fields[field] == "" {
			t.Fatalf("%s: %s", field, raw)
		}
	}
	e.Must(t, http.StatusBadRequest, token, "POST", path, map[string]any{"conversationId": conv, "content": strings.Repeat("x", ari.MaxMessageBytes+1), "clientMessageId": "x1"})

	first := apitest.Decode[AgentMessageAnswer](t, e.Must(t, http.StatusCreated, token, "POST", path, body))
	if first.Seq != 1 || first.MessageID == "" || first.ClientMessageID != "cron-1" || first.Message.Role != ari.RoleAgent ||
		*first.Message.SenderAgentID != agent || first.Message.Content != "Termin um 9:00 🙂" {
		t.Fatalf("answer %+v", first)
	}
	ev := next()
	if ev.Type != events.MessageNew || ev.ConversationID != conv {
		t.Fatalf("event %+v", ev)
	}
	got := apitest.Decode[struct{ Message ari.Message }](t, ev.Data)
	if got.Message.ID != first.MessageID || got.Message.Seq != 1 {
		t.Fatalf("message_new %s", ev.Data)
	}

	// A retry: 200, the same message, no second event or push.
	again := apitest.Decode[AgentMessageAnswer](t, e.Must(t, http.StatusOK, token, "POST", path, body))
	if again.MessageID != first.MessageID || again.Seq != 1 {
		t.Fatalf("retry %+v", again)
	}
	e.Must(t, http.StatusNotFound, token, "POST", path, map[string]any{"conversationId": foreign, "content": "hi", "clientMessageId": "cron-2"})
	raw := e.Must(t, http.StatusConflict, token, "POST", path, map[string]any{"conversationId": other, "content": "hi", "clientMessageId": "cron-1"})
	if eb := apitest.Decode[apitest.ErrorBody](t, raw); eb.Error.Code != "client_message_id_in_use" {
		t.Fatalf("reused id: %s", raw)
	}
	// The retry announced nothing: bob's next event is the next message.
	second := apitest.Decode[AgentMessageAnswer](t, e.Must(t, http.StatusCreated, token, "POST", path,
		map[string]any{"conversationId": conv, "content": "Termin verschoben", "clientMessageId": "cron-4"}))
	if ev := next(); apitest.Decode[struct{ Message ari.Message }](t, ev.Data).Message.ID != second.MessageID || second.Seq != 2 {
		t.Fatalf("after the retry bob got %s (second post %+v)", ev.Data, second)
	}
	// The limit (5) is spent by the five posts above; the next is refused
	// with Retry-After and stores nothing.
	raw = e.Must(t, http.StatusTooManyRequests, token, "POST", path, map[string]any{"conversationId": conv, "content": "noch eins", "clientMessageId": "cron-3"})
	if eb := apitest.Decode[apitest.ErrorBody](t, raw); eb.Error.Code != "rate_limited" {
		t.Fatalf("over the limit: %s", raw)
	}
	var n int
	if err := e.DB.Pool.QueryRow(context.Background(), `select count(*) from messages where sender_agent_id = $1`, agent).Scan(&n); err != nil || n != 2 {
		t.Fatalf("agent has %d messages stored (%v), want 2", n, err)
	}
	if p := push.list(); len(p) != 2 || p[0] != first.MessageID+" Kalender" || p[1] != second.MessageID+" Kalender" {
		t.Fatalf("pushes %v", p)
	}
}
