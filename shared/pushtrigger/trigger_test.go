package pushtrigger

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/notify/notifytest"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/redis/go-redis/v9"
)

// fixture is the real trigger on the test Postgres and Redis, sending through
// the real Sender to a loopback push service that decrypts with http_ece and
// verifies the VAPID JWT.
type fixture struct {
	db    *store.DB
	rdb   redis.UniversalClient
	keys  kv.Keys
	ps    *notifytest.PushService
	vapid notify.VAPID
	tr    *Trigger
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	pub, priv, err := notify.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	v := notify.VAPID{PublicKey: pub, PrivateKey: priv, Subject: "mailto:push@example.com"}
	s, err := notify.NewSender(notify.SenderConfig{VAPID: v, MaxAttempts: 2, BaseBackoff: 10 * time.Millisecond,
		Rules: notify.SubscriptionRules{AllowInsecureLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, rdb: rdb, keys: keys, ps: notifytest.NewPushService(t), vapid: v}
	f.tr = &Trigger{DB: db, Redis: rdb, Keys: keys, Sender: s}
	return f
}

// user makes a signed-up user with one subscription at the push service path
// "/u/<id>" (or none when subscribe is false) and the given preferences.
func (f *fixture) user(t *testing.T, name string, prefs *ari.NotificationPreferences) (testenv.TestUser, string) {
	t.Helper()
	u := testenv.NewUser(t, f.db, name)
	path := "/u/" + u.ID
	f.subscribe(t, u.ID, path)
	if prefs != nil {
		if err := f.db.PutNotificationPrefs(context.Background(), u.ID, *prefs); err != nil {
			t.Fatal(err)
		}
	}
	return u, path
}

func (f *fixture) subscribe(t *testing.T, userID, path string) {
	t.Helper()
	s := f.ps.Subscribe(path)
	if _, err := f.db.UpsertPushSubscription(context.Background(), userID,
		ari.PushSubscription{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}); err != nil {
		t.Fatal(err)
	}
}

// conversation makes a conversation with these users; muted ones muted it.
func (f *fixture) conversation(t *testing.T, kind, title string, users []string, muted ...string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := f.db.Pool.QueryRow(ctx, `insert into conversations (kind, title, created_by) values ($1, $2, $3) returning id`,
		kind, title, users[0]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		isMuted := false
		for _, m := range muted {
			isMuted = isMuted || m == u
		}
		if _, err := f.db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, user_id, muted) values ($1, $2, $3)`,
			id, u, isMuted); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// received decodes what the browser at path decrypted, in order.
func (f *fixture) received(t *testing.T, path string) []notify.Payload {
	t.Helper()
	var out []notify.Payload
	for _, d := range f.ps.Deliveries(path) {
		if !d.Verdict.OK {
			t.Fatalf("%s: push service could not verify/decrypt: %s", path, d.Verdict.Error)
		}
		if d.Verdict.VapidKey != f.vapid.PublicKey || d.Verdict.Claims["sub"] != "mailto:push@example.com" {
			t.Fatalf("%s: VAPID k=%s claims=%v", path, d.Verdict.VapidKey, d.Verdict.Claims)
		}
		var p notify.Payload
		if err := json.Unmarshal([]byte(d.Verdict.Payload), &p); err != nil {
			t.Fatalf("%s: payload %q: %v", path, d.Verdict.Payload, err)
		}
		out = append(out, p)
	}
	return out
}

func reasonFor(t *testing.T, ds []Decision, userID string) Decision {
	t.Helper()
	for _, d := range ds {
		if d.UserID == userID {
			return d
		}
	}
	t.Fatalf("no decision for %s in %+v", userID, ds)
	return Decision{}
}

func subscriptionCount(t *testing.T, db *store.DB, userID string) int {
	t.Helper()
	subs, err := db.PushSubscriptions(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return len(subs)
}

// End to end through the trigger: what each member's browser decrypts, with
// a verified VAPID signature; the sender is never told; a subscription the
// push service calls gone (410) is deleted, the live one kept.
func TestGroupMessageInteropAndGoneCleanup(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ann, annPath := f.user(t, "ann", nil)
	bob, bobPath := f.user(t, "bob", nil)
	cy, cyPath := f.user(t, "cy", nil)
	f.subscribe(t, bob.ID, "/gone/"+bob.ID)
	f.ps.AnswerAlways("/gone/"+bob.ID, http.StatusGone)
	conv := f.conversation(t, "group", "Trip planning", []string{ann.ID, bob.ID, cy.ID})

	ds := f.tr.OnGroupMessage(ctx, conv, "m-1", ann.ID, "Ann", "@cy shall we leave at 9?")
	if len(ds) != 2 {
		t.Fatalf("decisions %+v, want bob and cy only", ds)
	}
	if d := reasonFor(t, ds, bob.ID); d.Reason != notify.ReasonSend || !d.Sent() || len(d.Results) != 2 {
		t.Fatalf("bob: %+v", d)
	}
	if got := f.received(t, annPath); len(got) != 0 {
		t.Fatalf("the sender was notified: %+v", got)
	}
	want := notify.Payload{Title: "Ann in Trip planning", Body: "@cy shall we leave at 9?", Kind: notify.KindGroupMessage,
		ConversationID: conv, MessageID: "m-1", URL: "/conversations/" + conv, Tag: "conversation:" + conv}
	if got := f.received(t, bobPath); len(got) != 1 || got[0] != want {
		t.Fatalf("bob's browser decrypted %+v\nwant %+v", got, want)
	}
	wantCy := want
	wantCy.Kind, wantCy.Title = notify.KindMention, "Ann mentioned you in Trip planning"
	if got := f.received(t, cyPath); len(got) != 1 || got[0] != wantCy {
		t.Fatalf("cy's browser decrypted %+v\nwant %+v", got, wantCy)
	}
	if h := f.ps.Deliveries(bobPath)[0].Header; h.Get("Topic") != notify.Topic(conv) || h.Get("Urgency") == "" || h.Get("TTL") == "" {
		t.Errorf("headers: Topic %q Urgency %q TTL %q", h.Get("Topic"), h.Get("Urgency"), h.Get("TTL"))
	}

	// The gone subscription was deleted; the live one was kept and marked used.
	subs, err := f.db.PushSubscriptions(ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || !strings.HasSuffix(subs[0].Endpoint, bobPath) || subs[0].LastUsedAt == nil {
		t.Fatalf("bob's subscriptions after a 410: %+v", subs)
	}
	// The dedup mark lives for the 30 s window.
	if ttl := f.rdb.TTL(ctx, f.keys.PushDedup(bob.ID, conv)).Val(); ttl <= 20*time.Second || ttl > kv.PushDedupWindow {
		t.Errorf("dedup TTL %v, want about %v", ttl, kv.PushDedupWindow)
	}
}

func TestReplyCompleteNotifiesTheConversationsUser(t *testing.T) {
	f := setup(t)
	u, path := f.user(t, "asker", nil)
	conv := f.conversation(t, "direct", "", []string{u.ID})
	ds := f.tr.OnReplyComplete(context.Background(), conv, "m-9", "Helper", "Here is your answer.")
	if len(ds) != 1 || !ds[0].Sent() || ds[0].Kind != notify.KindAgentReply {
		t.Fatalf("decisions %+v", ds)
	}
	got := f.received(t, path)
	if len(got) != 1 || got[0].Title != "Helper" || got[0].Body != "Here is your answer." || got[0].Kind != notify.KindAgentReply || got[0].MessageID != "m-9" {
		t.Fatalf("decrypted %+v", got)
	}
}

// tokyo is 22:00–07:00 quiet hours in a zone nine hours east of UTC, so the
// window crosses midnight locally while UTC says mid-afternoon.
func tokyo() ari.NotificationPreferences {
	p := ari.DefaultNotificationPreferences()
	p.QuietStart, p.QuietEnd, p.TimeZone = "22:00", "07:00", "Asia/Tokyo"
	return p
}

func at(utc string) func() time.Time {
	tm, err := time.Parse(time.RFC3339, utc)
	if err != nil {
		panic(err)
	}
	return func() time.Time { return tm }
}

// Each rule alone, through the real trigger: one user, one conversation, one
// reply; the rule either holds the notification back or lets it through.
func TestRulesAlone(t *testing.T) {
	off := ari.DefaultNotificationPreferences()
	off.Enabled = false
	repliesOff := ari.DefaultNotificationPreferences()
	repliesOff.AgentReplies = false
	noPreview := ari.DefaultNotificationPreferences()
	noPreview.Preview = false
	quiet := tokyo()

	cases := []struct {
		name   string
		prefs  *ari.NotificationPreferences
		muted  bool
		focus  *presence.Entry // the user's one socket, if any
		now    func() time.Time
		reason string
	}{
		{name: "defaults send", reason: notify.ReasonSend},
		{name: "preferences off", prefs: &off, reason: notify.ReasonDisabled},
		{name: "agent replies off", prefs: &repliesOff, reason: notify.ReasonKindOff},
		{name: "muted", muted: true, reason: notify.ReasonMuted},
		{name: "looking at it", focus: &presence.Entry{Instance: "r1", Visible: true}, reason: notify.ReasonFocused},
		{name: "open but hidden tab", focus: &presence.Entry{Instance: "r1", Visible: false}, reason: notify.ReasonSend},
		{name: "looking at another conversation", focus: &presence.Entry{Instance: "r1", ConversationID: "other", Visible: true}, reason: notify.ReasonSend},
		// 23:30 in Tokyo, before local midnight.
		{name: "quiet hours before midnight", prefs: &quiet, now: at("2026-03-10T14:30:00Z"), reason: notify.ReasonQuietHours},
		// 03:00 in Tokyo, after local midnight.
		{name: "quiet hours after midnight", prefs: &quiet, now: at("2026-03-10T18:00:00Z"), reason: notify.ReasonQuietHours},
		// 07:00 in Tokyo: the end is exclusive.
		{name: "quiet hours ended", prefs: &quiet, now: at("2026-03-10T22:00:00Z"), reason: notify.ReasonSend},
		// 21:59 in Tokyo, while UTC's own clock (12:59) is nowhere near.
		{name: "before quiet hours", prefs: &quiet, now: at("2026-03-10T12:59:00Z"), reason: notify.ReasonSend},
		{name: "previews off", prefs: &noPreview, reason: notify.ReasonSend},
	}
	f := setup(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			u, path := f.user(t, "rules", c.prefs)
			var muted []string
			if c.muted {
				muted = []string{u.ID}
			}
			conv := f.conversation(t, "direct", "", []string{u.ID}, muted...)
			if c.focus != nil {
				e := *c.focus
				if e.ConversationID == "" {
					e.ConversationID = conv
				}
				if err := presence.Set(ctx, f.rdb, f.keys, u.ID, "r1/1", e); err != nil {
					t.Fatal(err)
				}
			}
			tr := *f.tr
			tr.Now = c.now
			ds := tr.OnReplyComplete(ctx, conv, "m-1", "Helper", "The secret plan")
			if len(ds) != 1 || ds[0].Reason != c.reason {
				t.Fatalf("decisions %+v, want reason %s", ds, c.reason)
			}
			got := f.received(t, path)
			dedup := f.rdb.Exists(ctx, f.keys.PushDedup(u.ID, conv)).Val()
			if c.reason != notify.ReasonSend {
				if len(got) != 0 || dedup != 0 {
					t.Fatalf("held back, yet delivered %+v / dedup mark %d", got, dedup)
				}
				return
			}
			if len(got) != 1 || dedup != 1 {
				t.Fatalf("delivered %+v, dedup mark %d; want one delivery and a mark", got, dedup)
			}
			wantBody := "The secret plan"
			if c.prefs != nil && !c.prefs.Preview {
				wantBody = notify.NeutralBody
				raw := f.ps.Deliveries(path)[0].Verdict.Payload
				if strings.Contains(raw, "secret") {
					t.Fatalf("previews off, yet the text was sent: %s", raw)
				}
			}
			if got[0].Body != wantBody {
				t.Fatalf("body %q, want %q", got[0].Body, wantBody)
			}
		})
	}
}

// A second completion within the window sends nothing; after the window the
// next one is sent again. The window is a minute, far longer than the test
// takes on any machine; its end is the mark's expiry in Redis, which the test
// brings forward instead of sleeping through it.
func TestDedupWindow(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u, path := f.user(t, "dedup", nil)
	conv := f.conversation(t, "direct", "", []string{u.ID})
	other := f.conversation(t, "direct", "", []string{u.ID})
	tr := *f.tr
	tr.DedupWindow = time.Minute

	if ds := tr.OnReplyComplete(ctx, conv, "m-1", "Helper", "one"); ds[0].Reason != notify.ReasonSend {
		t.Fatalf("first: %+v", ds)
	}
	if ds := tr.OnReplyComplete(ctx, conv, "m-2", "Helper", "two"); ds[0].Reason != notify.ReasonRecentlyNotified || ds[0].Results != nil {
		t.Fatalf("second within the window: %+v", ds)
	}
	// The window is per conversation.
	if ds := tr.OnReplyComplete(ctx, other, "m-3", "Helper", "elsewhere"); ds[0].Reason != notify.ReasonSend {
		t.Fatalf("other conversation: %+v", ds)
	}
	mark := f.keys.PushDedup(u.ID, conv)
	if ttl := f.rdb.PTTL(ctx, mark).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("dedup TTL %v, want the configured window", ttl)
	}
	// The window ends: the mark expires.
	if err := f.rdb.PExpire(ctx, mark, time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.rdb.Exists(ctx, mark).Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the dedup mark did not expire within 10 s of its 1 ms TTL")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ds := tr.OnReplyComplete(ctx, conv, "m-4", "Helper", "four"); ds[0].Reason != notify.ReasonSend {
		t.Fatalf("after the window: %+v", ds)
	}
	var ids []string
	for _, p := range f.received(t, path) {
		ids = append(ids, p.MessageID)
	}
	if strings.Join(ids, ",") != "m-1,m-3,m-4" {
		t.Fatalf("delivered %v, want m-1,m-3,m-4", ids)
	}
}

// Rules combined: in one group message every member meets a different mix,
// and the first rule that applies is the one reported; nothing held back is
// delivered and nothing held back claims the dedup window.
func TestRulesCombined(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	quietNoPreview := tokyo()
	quietNoPreview.Preview = false
	mentionsOff := ari.DefaultNotificationPreferences()
	mentionsOff.Mentions = false
	groupOff := ari.DefaultNotificationPreferences()
	groupOff.GroupMessages = false

	sender, _ := f.user(t, "sender", nil)
	mutedQuiet, mqPath := f.user(t, "muted-quiet", &quietNoPreview)          // muted and in quiet hours: muted wins
	focusedQuiet, fqPath := f.user(t, "focused-quiet", &quietNoPreview)      // looking and quiet: focused wins
	quietOnly, qPath := f.user(t, "quiet", &quietNoPreview)                  // quiet hours alone
	mentionedNoMentions, mnPath := f.user(t, "mention-off", &mentionsOff)    // mentioned, mentions off
	mentionedGroupOff, mgPath := f.user(t, "group-off-but-named", &groupOff) // mentioned: group switch does not apply
	plain, pPath := f.user(t, "plain", nil)
	conv := f.conversation(t, "group", "Ops", []string{sender.ID, mutedQuiet.ID, focusedQuiet.ID, quietOnly.ID,
		mentionedNoMentions.ID, mentionedGroupOff.ID, plain.ID}, mutedQuiet.ID)
	if err := presence.Set(ctx, f.rdb, f.keys, focusedQuiet.ID, "r2/7", presence.Entry{Instance: "r2", ConversationID: conv, Visible: true}); err != nil {
		t.Fatal(err)
	}
	// And plain has the same dedup mark from a moment ago.
	if err := f.rdb.Set(ctx, f.keys.PushDedup(plain.ID, conv), "m-0", kv.PushDedupWindow).Err(); err != nil {
		t.Fatal(err)
	}

	tr := *f.tr
	tr.Now = at("2026-07-01T15:00:00Z") // 00:00 in Tokyo, inside 22:00–07:00
	ds := tr.OnGroupMessage(ctx, conv, "m-1", sender.ID, "Sam", "deploy now @mention-off @group-off-but-named @focused-quiet")

	want := map[string]string{
		mutedQuiet.ID:          notify.ReasonMuted,
		focusedQuiet.ID:        notify.ReasonFocused,
		quietOnly.ID:           notify.ReasonQuietHours,
		mentionedNoMentions.ID: notify.ReasonKindOff,
		mentionedGroupOff.ID:   notify.ReasonSend,
		plain.ID:               notify.ReasonRecentlyNotified,
	}
	if len(ds) != len(want) {
		t.Fatalf("decisions %+v", ds)
	}
	for id, reason := range want {
		if d := reasonFor(t, ds, id); d.Reason != reason {
			t.Errorf("user %s: reason %s, want %s", id, d.Reason, reason)
		}
	}
	for _, p := range []string{mqPath, fqPath, qPath, mnPath, pPath} {
		if got := f.received(t, p); len(got) != 0 {
			t.Errorf("%s got %+v", p, got)
		}
	}
	if got := f.received(t, mgPath); len(got) != 1 || got[0].Kind != notify.KindMention {
		t.Errorf("mentioned user with group messages off got %+v, want one mention", got)
	}
	for _, id := range []string{mutedQuiet.ID, focusedQuiet.ID, quietOnly.ID, mentionedNoMentions.ID} {
		if n := f.rdb.Exists(ctx, f.keys.PushDedup(id, conv)).Val(); n != 0 {
			t.Errorf("user %s held back but the dedup window was claimed", id)
		}
	}
}

// Without VAPID there is no Sender: the trigger does nothing, quietly.
func TestNoSenderDoesNothing(t *testing.T) {
	f := setup(t)
	u, path := f.user(t, "nosender", nil)
	conv := f.conversation(t, "direct", "", []string{u.ID})
	tr := *f.tr
	tr.Sender = nil
	if ds := tr.OnReplyComplete(context.Background(), conv, "m", "A", "x"); ds != nil || len(f.ps.Deliveries(path)) != 0 {
		t.Fatalf("sent without a sender: %+v", ds)
	}
}

// A send that reaches no device gives the window back, so the next message
// is not silenced by a failure.
func TestFailedSendReleasesDedup(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u, path := f.user(t, "flaky", nil)
	conv := f.conversation(t, "direct", "", []string{u.ID})
	f.ps.AnswerFirst(path, notifytest.Answer{Status: 500}, notifytest.Answer{Status: 500})
	ds := f.tr.OnReplyComplete(ctx, conv, "m-1", "A", "x")
	if len(ds) != 1 || ds[0].Sent() || ds[0].Results[0].Outcome != notify.Failed {
		t.Fatalf("decisions %+v", ds)
	}
	if n := f.rdb.Exists(ctx, f.keys.PushDedup(u.ID, conv)).Val(); n != 0 {
		t.Fatal("failed send kept the dedup mark")
	}
	if subscriptionCount(t, f.db, u.ID) != 1 {
		t.Fatal("a failing (not gone) subscription was deleted")
	}
	if ds := f.tr.OnReplyComplete(ctx, conv, "m-2", "A", "y"); !ds[0].Sent() {
		t.Fatalf("next message after a failure: %+v", ds)
	}
}

// People are @mentioned by the handle of their display name: the text alone
// decides, with no ids from the caller, and other members get a group push.
func TestMentionByNameHandle(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ann, _ := f.user(t, "Ann", nil)
	groupOff := ari.DefaultNotificationPreferences()
	groupOff.GroupMessages = false
	ada, adaPath := f.user(t, "Ada Lovelace", &groupOff) // group pushes off, mentions on
	bob, bobPath := f.user(t, "Bob", nil)
	conv := f.conversation(t, "group", "Lab", []string{ann.ID, ada.ID, bob.ID})

	ds := f.tr.OnGroupMessage(ctx, conv, "m-7", ann.ID, "Ann", "@Ada-Lovelace can you check this?")
	if d := reasonFor(t, ds, ada.ID); d.Kind != notify.KindMention || !d.Sent() {
		t.Fatalf("ada: %+v", d)
	}
	if got := f.received(t, adaPath); len(got) != 1 || got[0].Kind != notify.KindMention {
		t.Fatalf("ada's browser got %+v", got)
	}
	if d := reasonFor(t, ds, bob.ID); d.Kind != notify.KindGroupMessage || !d.Sent() {
		t.Fatalf("bob: %+v", d)
	}
	if got := f.received(t, bobPath); len(got) != 1 || got[0].Kind != notify.KindGroupMessage {
		t.Fatalf("bob's browser got %+v", got)
	}
}
