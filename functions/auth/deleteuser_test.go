package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/jackc/pgx/v5"
)

// world is what the erasure test seeds around the user it deletes.
type world struct {
	s                   *server
	keys                kv.Keys
	st                  storage.Store
	ada, bo, cy         signUpBody
	agent, boAgent      string
	direct, g1, g2, g3  string
	marker              string // in every text Ada or her agent wrote
	adaMsgs, agentMsgs  []string
	boMsg               string
	objKey, incomingKey string
	// Apps: Ada's that Bo bought (stays), Ada's nobody bought (goes), Bo's
	// that Ada bought (stays, Bo keeps the coins).
	adaSold, adaUnsold, boApp string
}

func (w *world) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.s.db.Pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (w *world) id(t *testing.T, sql string, args ...any) string {
	t.Helper()
	var id string
	if err := w.s.db.Pool.QueryRow(context.Background(), sql, args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// message appends a message to conv with the next seq.
func (w *world) message(t *testing.T, conv, role, userID, agentID, content string) string {
	t.Helper()
	var u, a any
	if userID != "" {
		u = userID
	}
	if agentID != "" {
		a = agentID
	}
	return w.id(t, `with c as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
		insert into messages (conversation_id, seq, role, sender_user_id, sender_agent_id, content, client_message_id)
		select $1, c.last_seq, $2, $3, $4, $5, case when $3::text is null then null else gen_random_uuid()::text end from c returning id`,
		conv, role, u, a, content)
}

func (w *world) member(t *testing.T, conv, userID, agentID, role string, joined time.Time) {
	t.Helper()
	var u, a any
	if userID != "" {
		u = userID
	}
	if agentID != "" {
		a = agentID
	}
	w.exec(t, `insert into conversation_members (conversation_id, user_id, agent_id, role, joined_at) values ($1, $2, $3, $4, $5)`,
		conv, u, a, role, joined)
}

func seedWorld(t *testing.T, s *server) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{s: s, keys: s.p.Keys, marker: "adas-words-" + randID()}
	st, err := storage.FromConfig(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	w.ada = signUp(t, s.client(t), uniqueEmail("ada"), "ada password 1")
	w.bo = signUp(t, s.client(t), uniqueEmail("bo"), "bo password 12")
	w.cy = signUp(t, s.client(t), uniqueEmail("cy"), "cy password 12")
	a, b, c := w.ada.User.ID, w.bo.User.ID, w.cy.User.ID
	w.exec(t, `update "user" set name = $2 where id = $1`, a, "Ada "+w.marker)

	w.agent = w.id(t, `insert into agents (owner_id, name, handle, description, visibility, token_hash, token_hint)
		values ($1, 'Ada bot', 'adabot', $2::text, 'public', sha256(convert_to($2::text, 'UTF8')), 'ari_…x') returning id`, a, w.marker)
	w.boAgent = w.id(t, `insert into agents (owner_id, name, handle, visibility, token_hash) values ($1, 'Bo bot', 'bobot', 'private', sha256(convert_to($2::text, 'UTF8'))) returning id`,
		b, "bo-"+randID())
	t0 := time.Now().Add(-time.Hour)

	// Ada alone with her agent: ends.
	w.direct = w.id(t, `insert into conversations (kind, title, created_by) values ('direct', $2, $1) returning id`, a, w.marker)
	w.member(t, w.direct, a, "", "owner", t0)
	w.member(t, w.direct, "", w.agent, "member", t0)
	w.message(t, w.direct, "user", a, "", "hi "+w.marker)
	w.message(t, w.direct, "agent", "", w.agent, "hello "+w.marker)

	// G1: Ada its only owner; Cy admin (joined after Bo): Cy succeeds.
	w.g1 = w.id(t, `insert into conversations (kind, title, created_by) values ('group', 'g1', $1) returning id`, a)
	w.member(t, w.g1, a, "", "owner", t0)
	w.member(t, w.g1, b, "", "member", t0.Add(time.Minute))
	w.member(t, w.g1, c, "", "admin", t0.Add(2*time.Minute))
	w.member(t, w.g1, "", w.agent, "member", t0)
	w.member(t, w.g1, "", w.boAgent, "member", t0)
	w.adaMsgs = append(w.adaMsgs, w.message(t, w.g1, "user", a, "", "plan "+w.marker))
	w.agentMsgs = append(w.agentMsgs, w.message(t, w.g1, "agent", "", w.agent, "reply "+w.marker))
	w.boMsg = w.message(t, w.g1, "user", b, "", "Bo's own words")
	w.exec(t, `insert into message_reactions (message_id, user_id, emoji) values ($1, $2, '👍')`, w.boMsg, a)
	w.exec(t, `insert into message_reactions (message_id, user_id, emoji) values ($1, $2, '🎉')`, w.boMsg, b)
	w.exec(t, `insert into conversation_reads (conversation_id, user_id, last_read_seq) values ($1, $2, 3)`, w.g1, a)

	// G2: Bo's group, Ada a member; one of her messages already deleted.
	w.g2 = w.id(t, `insert into conversations (kind, title, created_by) values ('group', 'g2', $1) returning id`, b)
	w.member(t, w.g2, b, "", "owner", t0)
	w.member(t, w.g2, a, "", "member", t0)
	w.adaMsgs = append(w.adaMsgs, w.message(t, w.g2, "user", a, "", "in g2 "+w.marker))
	gone := w.message(t, w.g2, "user", a, "", "")
	w.exec(t, `update messages set deleted_at = now() where id = $1`, gone)
	w.message(t, w.g2, "user", b, "", "Bo in g2")

	// G3: Ada wrote there and left; Bo and Cy stay. Ada's agent is still
	// a member (added by Bo: it is public).
	w.g3 = w.id(t, `insert into conversations (kind, title, created_by) values ('group', 'g3', $1) returning id`, c)
	w.member(t, w.g3, c, "", "owner", t0)
	w.member(t, w.g3, b, "", "member", t0)
	w.member(t, w.g3, "", w.agent, "member", t0)
	w.adaMsgs = append(w.adaMsgs, w.message(t, w.g3, "user", a, "", "left behind "+w.marker))

	// Uploads: one attached, one presigned and never completed (no row).
	seg := storage.OwnerSegment(a)
	w.objKey, w.incomingKey = "u/"+seg+"/"+randID()+".txt", "incoming/"+seg+"/"+randID()+".txt"
	for _, k := range []string{w.objKey, w.incomingKey} {
		body := []byte("file " + w.marker)
		if err := st.Put(ctx, k, bytes.NewReader(body), int64(len(body)), "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	w.exec(t, `insert into attachments (owner_id, message_id, storage_key, original_name, content_type, size, status)
		values ($1, $2, $3, $4, 'text/plain', 10, 'ready')`, a, w.adaMsgs[0], w.objKey, w.marker+".txt")

	w.exec(t, `insert into push_subscriptions (user_id, endpoint, p256dh, auth) values ($1, $2, 'k', 'a')`, a, "https://push.test/"+w.marker)
	w.exec(t, `insert into notification_preferences (user_id, time_zone) values ($1, 'Europe/Paris')`, a)
	w.exec(t, `with c as (insert into communities (owner_id, name, slug) values ($1, 'club', $2) returning id),
		ch as (insert into channels (community_id, name) select id, 'general' from c returning id),
		m as (insert into community_members (community_id, user_id) select id, $1 from c)
		insert into channel_messages (channel_id, seq, sender_user_id, content) select id, 1, $1, $3 from ch`,
		a, "club-"+randID(), "chan "+w.marker)
	if err := s.p.Redis.LPush(ctx, w.keys.Pending(a), `{"type":"message_new","data":"`+w.marker+`"}`).Err(); err != nil {
		t.Fatal(err)
	}
	// Apps and coins: Ada is a developer whose app Bo bought, and a buyer
	// of Bo's app.
	db := s.db
	grant := func(user string, n int64) {
		if _, _, err := db.GrantCoins(ctx, user, n, "grant-"+randID()); err != nil {
			t.Fatal(err)
		}
	}
	app := func(dev, slug, name string, price int64) string {
		a, err := db.CreateApp(ctx, dev, store.NewApp{Slug: slug, Name: name, PriceCoins: price, Visibility: "public"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PublishVersion(ctx, dev, a.ID, "1.0.0", []byte(`{"entryUrl":"https://apps.example/`+slug+`"}`)); err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	for _, u := range []string{a, b} {
		if _, err := db.OpenDeveloperAccount(ctx, u, "Dev", nil); err != nil {
			t.Fatal(err)
		}
	}
	w.exec(t, `update developer_accounts set display_name = $2 where user_id = $1`, a, "Ada dev "+w.marker)
	w.adaSold = app(a, "sold-"+strings.ToLower(randID()), "Sold app", 10)
	w.adaUnsold = app(a, "unsold-"+strings.ToLower(randID()), "Unsold "+w.marker, 10)
	w.boApp = app(b, "bo-"+strings.ToLower(randID()), "Bo's app", 7)
	grant(a, 20)
	grant(b, 50)
	if _, _, err := db.InstallApp(ctx, b, w.adaSold, "bo-buys-"+randID()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.InstallApp(ctx, a, w.boApp, "ada-buys-"+w.marker); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.InstallApp(ctx, a, w.adaSold, "ada-own-"+w.marker); err != nil {
		t.Fatal(err)
	}

	// A reset link waiting in her mailbox.
	if res := s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": w.ada.User.Email}); res.Status != 200 {
		t.Fatalf("reset request: %d %s", res.Status, res.Body)
	}
	s.mailTo(t, w.ada.User.Email)
	return w
}

// leftovers lists, for every table in the database (read from
// information_schema, so a table added later is covered without editing
// this test), the rows whose JSON form contains any of needles.
func leftovers(t *testing.T, s *server, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := s.db.Pool.Query(ctx, `select table_name from information_schema.tables
		where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 20 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var found []string
	for _, tbl := range tables {
		q := fmt.Sprintf(`select to_jsonb(x)::text from %s x where `, pgx.Identifier{tbl}.Sanitize())
		var conds []string
		for i := range needles {
			conds = append(conds, fmt.Sprintf("strpos(to_jsonb(x)::text, $%d) > 0", i+1))
		}
		args := make([]any, len(needles))
		for i, n := range needles {
			args[i] = n
		}
		rows, err := s.db.Pool.Query(ctx, q+strings.Join(conds, " or "), args...)
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", tbl, err)
		}
		for _, g := range got {
			found = append(found, tbl+": "+g)
		}
	}
	return found
}

// pendingTypes reads userID's offline queue: event type → data payloads.
func pendingTypes(t *testing.T, s *server, keys kv.Keys, userID string) map[string][]map[string]any {
	t.Helper()
	raw, err := s.p.Redis.LRange(context.Background(), keys.Pending(userID), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, r := range raw {
		var ev struct {
			Type           string         `json:"type"`
			ConversationID string         `json:"conversationId"`
			Data           map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(r), &ev); err != nil {
			t.Fatal(err)
		}
		ev.Data["_conv"] = ev.ConversationID
		out[ev.Type] = append(out[ev.Type], ev.Data)
	}
	return out
}

// TestDeleteUserErasesEverything deletes a user with conversations,
// groups, an agent, uploads, reactions and queued events, then proves that
// nothing of theirs is left in any table, under their storage prefixes or
// in their Redis queue — only tombstones keeping seqs — and that the other
// members and the relays were told.
func TestDeleteUserErasesEverything(t *testing.T) {
	s := newServer(t, nil)
	w := seedWorld(t, s)
	ctx := context.Background()
	a := w.ada.User.ID
	needles := []string{a, w.ada.User.Email, w.agent, w.marker}
	if len(leftovers(t, s, needles...)) == 0 {
		t.Fatal("seeding left no trace to look for")
	}

	// The relays' side: the user's channel (sessions) and the agent's.
	userSub := s.p.Redis.SSubscribe(ctx, w.keys.UserChannel(a))
	agentSub := s.p.Redis.SSubscribe(ctx, w.keys.AgentChannel(w.agent))
	defer userSub.Close()
	defer agentSub.Close()
	for _, sub := range []interface {
		Receive(context.Context) (any, error)
	}{userSub, agentSub} {
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var seqs map[string]int64 = map[string]int64{}
	rows, _ := s.db.Pool.Query(ctx, `select id, seq from messages where conversation_id = any($1)`, []string{w.g1, w.g2, w.g3})
	var id string
	var seq int64
	_, _ = pgx.ForEachRow(rows, []any{&id, &seq}, func() error { seqs[id] = seq; return nil })

	c := s.client(t)
	if res := c.post("/api/auth/sign-in/email", map[string]any{"email": w.ada.User.Email, "password": "ada password 1"}); res.Status != 200 {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	res := c.post("/api/auth/delete-user", map[string]any{"password": "ada password 1"})
	var out struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}
	res.json(t, &out)
	if res.Status != 200 || !out.Success || out.Message != "User deleted" {
		t.Fatalf("delete-user: %d %s", res.Status, res.Body)
	}
	if ck, ok := setCookie(res, "better-auth.session_token"); !ok || ck.MaxAge >= 0 {
		t.Fatal("session cookie not expired")
	}

	// Nothing of hers in any table.
	if left := leftovers(t, s, needles...); len(left) > 0 {
		t.Fatalf("left behind:\n%s", strings.Join(left, "\n"))
	}
	// Tombstones keep their seqs; others' messages are whole.
	for mid, want := range seqs {
		var got int64
		var content string
		var deleted bool
		var sender *string
		if err := s.db.Pool.QueryRow(ctx, `select seq, content, deleted_at is not null, sender_user_id from messages where id = $1`, mid).Scan(
			&got, &content, &deleted, &sender); err != nil {
			t.Fatalf("message %s gone: %v", mid, err)
		}
		mine := slices.Contains(w.adaMsgs, mid) || slices.Contains(w.agentMsgs, mid)
		if got != want || (mine && (content != "" || !deleted || sender != nil)) || (mid == w.boMsg && (content != "Bo's own words" || deleted)) {
			t.Fatalf("message %s: seq %d (was %d) content %q deleted %v", mid, got, want, content, deleted)
		}
	}
	var n int
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from conversations where id = $1`, w.direct).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the conversation no one else was in is still there (%d, %v)", n, err)
	}
	var role string
	if err := s.db.Pool.QueryRow(ctx, `select role from conversation_members where conversation_id = $1 and user_id = $2`, w.g1, w.cy.User.ID).Scan(&role); err != nil || role != "owner" {
		t.Fatalf("g1's successor: Cy is %q (%v), want owner (the admin before the older member)", role, err)
	}
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from message_reactions where message_id = $1`, w.boMsg).Scan(&n); err != nil || n != 1 {
		t.Fatalf("Bo's own reaction: %d (%v)", n, err)
	}
	// Apps: the one Bo bought stays for him, unpublished and without a
	// developer; the one nobody bought is gone; Bo keeps his app, its sale
	// to Ada and his coins, his ledger still summing to his balance.
	var status string
	var dev *string
	if err := s.db.Pool.QueryRow(ctx, `select status, developer_id from apps where id = $1`, w.adaSold).Scan(&status, &dev); err != nil ||
		status != "unpublished" || dev != nil {
		t.Fatalf("Ada's sold app: status %q developer %v (%v), want unpublished without a developer", status, dev, err)
	}
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from apps where id = $1`, w.adaUnsold).Scan(&n); err != nil || n != 0 {
		t.Fatalf("Ada's unsold app: %d rows (%v), want none", n, err)
	}
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from app_purchases where user_id = $1 and app_id = $2`, w.bo.User.ID, w.adaSold).Scan(&n); err != nil || n != 1 {
		t.Fatalf("Bo's purchase: %d rows (%v)", n, err)
	}
	if d, err := s.db.AppFor(ctx, w.bo.User.ID, w.adaSold); err != nil || !d.Installed || d.Version == nil || d.DeveloperName != nil {
		t.Fatalf("Bo's view of the app he bought: %+v (%v)", d, err)
	}
	var bal, sum int64
	if err := s.db.Pool.QueryRow(ctx, `select (select balance from coin_balances where user_id = $1),
		(select sum(amount) from coin_transactions where user_id = $1)`, w.bo.User.ID).Scan(&bal, &sum); err != nil || bal != 50-10+7 || sum != bal {
		t.Fatalf("Bo's balance %d, ledger sum %d (%v), want 47 both", bal, sum, err)
	}
	if err := s.db.Pool.QueryRow(ctx, `select status from apps where id = $1`, w.boApp).Scan(&status); err != nil || status != "published" {
		t.Fatalf("Bo's app: %q (%v)", status, err)
	}
	// Storage: both prefixes empty.
	for _, p := range storage.UserPrefixes(a) {
		keys, err := w.st.List(ctx, p, time.Now().Add(time.Hour))
		if err != nil || len(keys) > 0 {
			t.Fatalf("objects under %s: %v (%v)", p, keys, err)
		}
	}
	// Redis: her queue is gone.
	if n, err := s.p.Redis.Exists(ctx, w.keys.Pending(a), w.keys.PendingDropped(a)).Result(); err != nil || n != 0 {
		t.Fatalf("pending queue left: %d %v", n, err)
	}
	// Relays: her sessions end (sockets close 4001), her agent's socket closes (4003).
	readSub := func(sub interface {
		ReceiveTimeout(context.Context, time.Duration) (any, error)
	}, want string) {
		t.Helper()
		msg, err := sub.ReceiveTimeout(ctx, 10*time.Second)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if !strings.Contains(fmt.Sprint(msg), want) {
			t.Fatalf("got %v, want %s", msg, want)
		}
	}
	readSub(userSub, string(events.SessionsRevoked))
	readSub(agentSub, string(events.AgentDeleted))

	// Bo (offline) finds the events in his queue.
	bo := pendingTypes(t, s, w.keys, w.bo.User.ID)
	has := func(typ string, match func(map[string]any) bool) bool {
		return slices.ContainsFunc(bo[typ], match)
	}
	if !has("member_removed", func(d map[string]any) bool { return d["memberId"] == a && d["kind"] == "user" && d["_conv"] == w.g1 }) ||
		!has("member_removed", func(d map[string]any) bool { return d["memberId"] == a && d["_conv"] == w.g2 }) ||
		!has("member_removed", func(d map[string]any) bool {
			return d["memberId"] == w.agent && d["kind"] == "agent" && d["_conv"] == w.g3
		}) ||
		!has("reaction_removed", func(d map[string]any) bool {
			return d["messageId"] == w.boMsg && d["emoji"] == "👍" && d["userId"] == a
		}) {
		t.Fatalf("Bo's events: %v", bo)
	}
	for _, m := range append(append([]string{}, w.adaMsgs...), w.agentMsgs...) {
		if !has("message_deleted", func(d map[string]any) bool { return d["messageId"] == m && d["seq"] == float64(seqs[m]) }) {
			t.Fatalf("no message_deleted for %s: %v", m, bo["message_deleted"])
		}
	}
	// And she can no longer sign in.
	if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": w.ada.User.Email, "password": "ada password 1"}); res.Status != 401 {
		t.Fatalf("sign-in after deletion: %d %s", res.Status, res.Body)
	}
	if c.session() != nil {
		t.Fatal("the session outlived the account")
	}
}

// TestDeleteUserProofs: a password or a session under a day old; Better
// Auth's refusals otherwise.
func TestDeleteUserProofs(t *testing.T) {
	s := newServer(t, nil)
	ctx := context.Background()
	if res := s.client(t).post("/api/auth/delete-user", map[string]any{}); res.Status != 401 || res.err(t).Code != "UNAUTHORIZED" {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}
	c := s.client(t)
	up := signUp(t, c, uniqueEmail("del"), "del password 1")
	before := s.counts(t)
	if res := c.post("/api/auth/delete-user", map[string]any{"password": "wrong password"}); res.Status != 400 || res.err(t).Code != "INVALID_PASSWORD" {
		t.Fatalf("wrong password: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/delete-user", map[string]any{"token": "nosuchtoken"}); res.Status != 404 || res.err(t).Code != "INVALID_TOKEN" {
		t.Fatalf("unknown token: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/delete-user", map[string]any{"callbackURL": "https://evil.test/"}); res.Status != 403 || res.err(t).Code != "INVALID_CALLBACK_URL" {
		t.Fatalf("foreign callbackURL: %d %s", res.Status, res.Body)
	}
	// A session older than a day needs the password.
	if _, err := s.db.Pool.Exec(ctx, `update "session" set "createdAt" = now() - interval '25 hours' where "userId" = $1`, up.User.ID); err != nil {
		t.Fatal(err)
	}
	res := c.post("/api/auth/delete-user", map[string]any{})
	if e := res.err(t); res.Status != 400 || e.Code != "SESSION_EXPIRED" {
		t.Fatalf("stale session: %d %s", res.Status, res.Body)
	}
	if after := s.counts(t); after != before {
		t.Fatalf("refusals changed rows: %+v -> %+v", before, after)
	}
	if res := c.post("/api/auth/delete-user", map[string]any{"password": "del password 1"}); res.Status != 200 {
		t.Fatalf("stale session with password: %d %s", res.Status, res.Body)
	}
	if after := s.counts(t); after.users != before.users-1 || after.sessions != before.sessions-1 || after.accounts != before.accounts-1 {
		t.Fatalf("rows %+v -> %+v", before, after)
	}

	// A fresh session alone is enough (Google users have no password).
	c2 := s.client(t)
	signUp(t, c2, uniqueEmail("fresh"), "fresh password 1")
	if res := c2.post("/api/auth/delete-user", map[string]any{}); res.Status != 200 {
		t.Fatalf("fresh session: %d %s", res.Status, res.Body)
	}
	if c2.session() != nil {
		t.Fatal("still signed in")
	}
}

// TestDeleteUserConfirmedByMail: with AUTH_DELETE_ACCOUNT_CONFIRMATION the
// account goes only when the mailed link is opened, signed in.
func TestDeleteUserConfirmedByMail(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.DeleteAccountConfirmation = true })
	ctx := context.Background()
	c := s.client(t)
	up := signUp(t, c, uniqueEmail("confirm"), "confirm password 1")
	res := c.post("/api/auth/delete-user", map[string]any{"callbackURL": "/bye"})
	if res.Status != 200 || !strings.Contains(string(res.Body), `"message":"Verification email sent"`) {
		t.Fatalf("delete-user: %d %s", res.Status, res.Body)
	}
	_, link := s.mailTo(t, up.User.Email)
	u, err := url.Parse(link)
	if err != nil || u.Path != "/api/auth/delete-user/callback" || u.Query().Get("callbackURL") != "/bye" || len(u.Query().Get("token")) != 32 {
		t.Fatalf("link %s", link)
	}
	token := u.Query().Get("token")
	var value string
	var expires time.Time
	if err := s.db.Pool.QueryRow(ctx, `select value, "expiresAt" from "verification" where identifier = $1`, "delete-account-"+token).Scan(&value, &expires); err != nil ||
		value != up.User.ID || time.Until(expires) < 23*time.Hour {
		t.Fatalf("verification row: %q %v (%v)", value, expires, err)
	}
	if c.session() == nil {
		t.Fatal("the account went before the link was opened")
	}
	// Opened signed out: Better Auth's 404, the token still good.
	if res := s.client(t).get(link); res.Status != 404 || res.err(t).Code != "FAILED_TO_GET_USER_INFO" {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}
	res = c.get(link)
	if res.Status != 302 || res.Header.Get("Location") != "/bye" {
		t.Fatalf("callback: %d %v %s", res.Status, res.Header, res.Body)
	}
	var n int
	if err := s.db.Pool.QueryRow(ctx, `select count(*) from "user" where id = $1`, up.User.ID).Scan(&n); err != nil || n != 0 || c.session() != nil {
		t.Fatalf("still there: %d users (%v)", n, err)
	}
}

// TestAccountExport: the signed-in user's data streamed as one JSON
// document, nothing secret in it, limited per user.
func TestAccountExport(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimitExportPerHour = 2 })
	w := seedWorld(t, s)
	ctx := context.Background()
	// Enough messages that the document outgrows every buffer: it must
	// go out chunked, as it is read.
	w.exec(t, `with c as (update conversations set last_seq = last_seq + 1200 where id = $1 returning last_seq - 1200 as base)
		insert into messages (conversation_id, seq, role, sender_user_id, content)
		select $1, c.base + g, 'user', $2, repeat('x', 100) || g from c, generate_series(1, 1200) g`, w.g2, w.ada.User.ID)

	c := s.client(t)
	if res := c.post("/api/auth/sign-in/email", map[string]any{"email": w.ada.User.Email, "password": "ada password 1"}); res.Status != 200 {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	if res := s.client(t).get("/api/account/export"); res.Status != 401 {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}
	res := c.get("/api/account/export")
	if res.Status != 200 || res.Header.Get("Content-Length") != "" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("export: %d %v", res.Status, res.Header)
	}
	fmt.Printf("export: %d bytes, sent chunked\n", len(res.Body))
	var doc struct {
		Format string `json:"format"`
		User   struct {
			ID, Email, Name string
		} `json:"user"`
		Accounts      []map[string]any `json:"accounts"`
		Agents        []map[string]any `json:"agents"`
		Conversations []struct {
			ID       string           `json:"id"`
			Role     *string          `json:"role"`
			Messages []map[string]any `json:"messages"`
		} `json:"conversations"`
		Reactions []map[string]any `json:"reactions"`
		Uploads   []map[string]any `json:"uploads"`
	}
	res.json(t, &doc)
	if doc.Format != "ari.export.v1" || doc.User.ID != w.ada.User.ID || doc.User.Email != w.ada.User.Email || len(doc.Accounts) != 1 ||
		doc.Accounts[0]["providerId"] != "credential" {
		t.Fatalf("profile part: %+v %+v", doc.User, doc.Accounts)
	}
	if len(doc.Agents) != 1 || doc.Agents[0]["id"] != w.agent || doc.Agents[0]["handle"] != "adabot" {
		t.Fatalf("agents %v", doc.Agents)
	}
	for _, secret := range []string{"token", "tokenHint", "tokenHash", "a2aAuthHeader", "password", "accessToken"} {
		if strings.Contains(string(res.Body), `"`+secret+`"`) {
			t.Fatalf("export carries %q", secret)
		}
	}
	byID := map[string]int{}
	for _, cv := range doc.Conversations {
		byID[cv.ID] = len(cv.Messages)
		if cv.ID == w.g3 && (cv.Role != nil || len(cv.Messages) != 1 || cv.Messages[0]["senderUserId"] != w.ada.User.ID) {
			t.Fatalf("a group she left: only her own message, got %+v", cv)
		}
	}
	if len(byID) != 4 || byID[w.direct] != 2 || byID[w.g1] != 3 || byID[w.g2] != 1203 {
		t.Fatalf("conversations → messages: %v", byID)
	}
	if len(doc.Reactions) != 1 || doc.Reactions[0]["messageId"] != w.boMsg || doc.Reactions[0]["emoji"] != "👍" {
		t.Fatalf("reactions %v", doc.Reactions)
	}
	if len(doc.Uploads) != 1 || doc.Uploads[0]["name"] != w.marker+".txt" {
		t.Fatalf("uploads %v", doc.Uploads)
	}
	// The link opens the file (served as the shim serves /files/).
	link, _ := doc.Uploads[0]["url"].(string)
	lu, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, s.cfg.BaseURL+"/files/") {
		t.Fatalf("upload link %q", link)
	}
	rec := httptest.NewRecorder()
	storage.LocalHandler(w.st.(*storage.Local)).ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", lu.RequestURI(), nil))
	if rec.Code != 200 || rec.Body.String() != "file "+w.marker {
		t.Fatalf("upload link %q: %d %q", link, rec.Code, rec.Body.String())
	}
	if res := c.get("/api/account/export"); res.Status != 200 {
		t.Fatalf("second export: %d", res.Status)
	}
	res = c.get("/api/account/export")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	res.json(t, &e)
	if res.Status != 429 || e.Error.Code != "rate_limited" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third export in the hour: %d %v %s", res.Status, res.Header, res.Body)
	}
}
