package push

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

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/notify/notifytest"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

type fixture struct {
	db  *store.DB
	srv *httptest.Server
}

func setup(t *testing.T, publicKey string) *fixture {
	t.Helper()
	db := testenv.DB(t)
	h := New(Deps{
		DB:             db,
		Auth:           &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")},
		VAPIDPublicKey: publicKey,
	})
	srv := httptest.NewServer(platform.Wrap(h))
	t.Cleanup(srv.Close)
	return &fixture{db: db, srv: srv}
}

// call sends body (raw when a string, else JSON) as the user with token.
func (f *fixture) call(t *testing.T, token, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
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
	req.Header.Set("User-Agent", "TestBrowser/1.0")
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

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

func decodeError(t *testing.T, raw []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not a JSON error: %s", raw)
	}
	return e
}

// browserSub is what PushSubscription.toJSON() gives, for a real key pair.
func browserSub(t *testing.T, endpoint string) map[string]any {
	t.Helper()
	s := notifytest.NewReceiver(t).Subscription(endpoint)
	return map[string]any{"endpoint": s.Endpoint, "expirationTime": nil,
		"keys": map[string]string{"p256dh": s.P256dh, "auth": s.Auth}}
}

func (f *fixture) endpoints(t *testing.T, userID string) []string {
	t.Helper()
	subs, err := f.db.PushSubscriptions(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range subs {
		out = append(out, s.Endpoint)
	}
	return out
}

func TestVAPIDPublicKeyIsPublic(t *testing.T) {
	pub, _, err := notify.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	f := setup(t, pub)
	status, raw := f.call(t, "", "GET", "/api/push/vapid-public-key", nil)
	var got struct{ PublicKey string }
	if status != 200 || json.Unmarshal(raw, &got) != nil || got.PublicKey != pub {
		t.Fatalf("%d %s", status, raw)
	}

	unset := setup(t, "")
	status, raw = unset.call(t, "", "GET", "/api/push/vapid-public-key", nil)
	if status != http.StatusServiceUnavailable || decodeError(t, raw).Error.Code != "unavailable" {
		t.Fatalf("without VAPID: %d %s", status, raw)
	}
}

func TestSubscriptionRoutesNeedSignIn(t *testing.T) {
	f := setup(t, "k")
	for _, m := range []string{"POST", "DELETE"} {
		status, raw := f.call(t, "", m, "/api/push/subscribe", browserSub(t, "https://push.example.com/x"))
		if status != http.StatusUnauthorized || decodeError(t, raw).Error.Code != "unauthorized" {
			t.Errorf("%s without a session: %d %s", m, status, raw)
		}
		status, _ = f.call(t, "not-a-session", m, "/api/push/subscribe", browserSub(t, "https://push.example.com/x"))
		if status != http.StatusUnauthorized {
			t.Errorf("%s with a bad token: %d", m, status)
		}
	}
	var n int
	if err := f.db.Pool.QueryRow(context.Background(), `select count(*) from push_subscriptions where endpoint = 'https://push.example.com/x'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("stored without sign-in: %d %v", n, err)
	}
}

func TestSubscribeUpsertAndUnsubscribe(t *testing.T) {
	f := setup(t, "k")
	ann := testenv.NewUser(t, f.db, "ann")
	bob := testenv.NewUser(t, f.db, "bob")
	ep := "https://fcm.googleapis.com/fcm/send/" + testenv.RandomID(12)

	status, raw := f.call(t, ann.Token, "POST", "/api/push/subscribe", browserSub(t, ep))
	var first SubscriptionResponse
	if status != http.StatusCreated || json.Unmarshal(raw, &first) != nil || first.Endpoint != ep || first.ID == "" {
		t.Fatalf("new: %d %s", status, raw)
	}
	status, raw = f.call(t, ann.Token, "POST", "/api/push/subscribe", browserSub(t, ep))
	var again SubscriptionResponse
	if status != http.StatusOK || json.Unmarshal(raw, &again) != nil || again.ID != first.ID {
		t.Fatalf("same endpoint again: %d %s (want 200, same id %s)", status, raw, first.ID)
	}
	if strings.Contains(string(raw), "p256dh") || strings.Contains(string(raw), "auth") {
		t.Errorf("keys echoed back: %s", raw)
	}

	// Bob cannot remove Ann's endpoint: 404, and it stays hers.
	status, raw = f.call(t, bob.Token, "DELETE", "/api/push/subscribe", map[string]string{"endpoint": ep})
	if status != http.StatusNotFound || decodeError(t, raw).Error.Code != "not_found" {
		t.Fatalf("foreign delete: %d %s", status, raw)
	}
	if got := f.endpoints(t, ann.ID); len(got) != 1 || got[0] != ep {
		t.Fatalf("ann's subscriptions after a foreign delete: %v", got)
	}

	// Bob signs in on that browser and subscribes: the endpoint is his now.
	status, _ = f.call(t, bob.Token, "POST", "/api/push/subscribe", browserSub(t, ep))
	if status != http.StatusCreated {
		t.Fatalf("take-over: %d", status)
	}
	if got := f.endpoints(t, ann.ID); len(got) != 0 {
		t.Fatalf("ann still holds %v", got)
	}
	if got := f.endpoints(t, bob.ID); len(got) != 1 || got[0] != ep {
		t.Fatalf("bob holds %v", got)
	}

	status, _ = f.call(t, bob.Token, "DELETE", "/api/push/subscribe", map[string]string{"endpoint": ep})
	if status != http.StatusNoContent {
		t.Fatalf("own delete: %d", status)
	}
	if got := f.endpoints(t, bob.ID); len(got) != 0 {
		t.Fatalf("deleted, yet %v", got)
	}
	status, _ = f.call(t, bob.Token, "DELETE", "/api/push/subscribe", map[string]string{"endpoint": ep})
	if status != http.StatusNotFound {
		t.Fatalf("second delete: %d", status)
	}
}

func TestSubscribeRefusesBadInput(t *testing.T) {
	f := setup(t, "k")
	u := testenv.NewUser(t, f.db, "bad-input")
	good := notifytest.NewReceiver(t).Subscription("https://push.example.com/good")
	with := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{"endpoint": good.Endpoint, "keys": map[string]any{"p256dh": good.P256dh, "auth": good.Auth}}
		mut(m)
		return m
	}
	keys := func(p256dh, auth any) func(m map[string]any) {
		return func(m map[string]any) { m["keys"] = map[string]any{"p256dh": p256dh, "auth": auth} }
	}
	short := good.P256dh[:40]
	cases := []struct {
		name   string
		body   any
		status int
		fields []string
	}{
		{"http endpoint", with(func(m map[string]any) { m["endpoint"] = "http://push.example.com/x" }), 400, []string{"endpoint"}},
		{"loopback endpoint", with(func(m map[string]any) { m["endpoint"] = "https://127.0.0.1/x" }), 400, []string{"endpoint"}},
		{"private address", with(func(m map[string]any) { m["endpoint"] = "https://10.0.0.8/x" }), 400, []string{"endpoint"}},
		{"not a URL", with(func(m map[string]any) { m["endpoint"] = "push me" }), 400, []string{"endpoint"}},
		{"no endpoint", with(func(m map[string]any) { delete(m, "endpoint") }), 400, []string{"endpoint"}},
		{"short p256dh", with(keys(short, good.Auth)), 400, []string{"keys.p256dh"}},
		{"long auth", with(keys(good.P256dh, good.Auth+"AAAA")), 400, []string{"keys.auth"}},
		{"not base64url", with(keys("!!!", "***")), 400, []string{"keys.p256dh", "keys.auth"}},
		{"no keys", with(func(m map[string]any) { delete(m, "keys") }), 400, []string{"keys.p256dh", "keys.auth"}},
		{"everything wrong at once", map[string]any{"endpoint": "http://x", "keys": map[string]any{"p256dh": short, "auth": ""}}, 400,
			[]string{"endpoint", "keys.p256dh", "keys.auth"}},
		{"expired", with(func(m map[string]any) { m["expirationTime"] = float64(time.Now().Add(-time.Hour).UnixMilli()) }), 400, []string{"expirationTime"}},
		{"keys of the wrong type", with(keys(5, true)), 400, nil},
		{"unknown field", with(func(m map[string]any) { m["extra"] = 1 }), 400, nil},
		{"not JSON", "{endpoint", 400, nil},
		{"two objects", `{"endpoint":"x"}{}`, 400, nil},
		{"too large", `{"endpoint":"` + strings.Repeat("a", 9000) + `"}`, 413, nil},
	}
	for _, c := range cases {
		status, raw := f.call(t, u.Token, "POST", "/api/push/subscribe", c.body)
		if status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, raw, c.status)
			continue
		}
		e := decodeError(t, raw)
		for _, field := range c.fields {
			if e.Error.Fields[field] == "" {
				t.Errorf("%s: no problem named for %s in %s", c.name, field, raw)
			}
		}
	}
	if got := f.endpoints(t, u.ID); len(got) != 0 {
		t.Fatalf("bad input stored %v", got)
	}
	// A future expirationTime is fine.
	ok := with(func(m map[string]any) { m["expirationTime"] = float64(time.Now().Add(time.Hour).UnixMilli()) })
	if status, raw := f.call(t, u.Token, "POST", "/api/push/subscribe", ok); status != http.StatusCreated {
		t.Fatalf("valid subscription: %d %s", status, raw)
	}
	// DELETE with a bad body changes nothing either.
	for _, body := range []any{map[string]string{}, "nope", map[string]any{"endpoint": 3}} {
		if status, _ := f.call(t, u.Token, "DELETE", "/api/push/subscribe", body); status != 400 {
			t.Errorf("DELETE %v: %d", body, status)
		}
	}
	if got := f.endpoints(t, u.ID); len(got) != 1 {
		t.Fatalf("after bad deletes: %v", got)
	}
}
