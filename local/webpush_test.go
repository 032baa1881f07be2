package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/notify/notifytest"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/browser"
	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// Web Push in the web app, in headless Chromium against a real shim: the
// Notifications panel turns push on (the service worker registered, the
// subscription made with the server's VAPID key and stored through POST
// /api/push/subscribe), the service worker shows the server's payload
// (notify.BuildPayload, delivered to it through the DevTools protocol) as a
// notification that opens the conversation, and turning push off deletes
// the subscription. A browser's push service cannot run here: the page's
// pushManager hands out the subscription of the test's push receiver.
// Screenshots: .local/test/screenshots/TestWebPush.
func TestWebPush(t *testing.T) {
	npm.Build(t, "web")
	ln, port := loopback(t)
	base := "http://localhost:" + port
	cfg := testenv.Config(t)
	cfg.BaseURL = base
	cfg.WebDir = webDist
	var err error
	if cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, err = notify.GenerateVAPIDKeys(); err != nil {
		t.Fatal(err)
	}
	p, h := shimFor(t, cfg, true)
	serveTest(t, ln, h)

	sub := notifytest.NewReceiver(t).Subscription("https://push.example.test/sub/" + testenv.RandomID(12))
	payload := notify.BuildPayload(ari.NotificationPreferences{Preview: true}, notify.Message{Kind: notify.KindAgentReply,
		ConversationID: "c_push1", MessageID: "m_push1", SenderName: "Web Echo", Text: "Hallo aus dem Push"})
	subJSON, _ := json.Marshal(sub)
	payloadJSON, _ := json.Marshal(payload)
	shots, err := filepath.Abs("../.local/test/screenshots/" + t.Name())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Email      string `json:"email"`
		KeyBytes   int    `json:"keyBytes"`
		Controller string `json:"controller"`
		Requests   []struct {
			Method, Path, Body string
			Status             int
		} `json:"requests"`
		Notifications []struct {
			Title, Body, Tag string
			Data             map[string]string
		} `json:"notifications"`
		Screenshots []string `json:"screenshots"`
	}
	browser.Script(t, "testdata/webpush.mjs", 120*time.Second, &got, base, string(subJSON), string(payloadJSON), shots, "60000")
	t.Logf("screenshots: %s", strings.Join(got.Screenshots, " "))

	if got.KeyBytes != 65 || !strings.HasSuffix(got.Controller, "/sw.js") {
		t.Fatalf("subscribed with a %d-byte key, service worker %q", got.KeyBytes, got.Controller)
	}
	var posted, deleted bool
	for _, r := range got.Requests {
		switch {
		case r.Method == "POST" && r.Path == "/api/push/subscribe":
			var body struct {
				Endpoint string            `json:"endpoint"`
				Keys     map[string]string `json:"keys"`
			}
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil || r.Status != 201 || body.Endpoint != sub.Endpoint ||
				body.Keys["p256dh"] != sub.P256dh || body.Keys["auth"] != sub.Auth {
				t.Fatalf("POST /api/push/subscribe %d %s", r.Status, r.Body)
			}
			posted = true
		case r.Method == "DELETE" && r.Path == "/api/push/subscribe":
			if r.Status != 204 {
				t.Fatalf("DELETE /api/push/subscribe %d", r.Status)
			}
			deleted = true
		}
	}
	if !posted || !deleted {
		t.Fatalf("push requests: %+v", got.Requests)
	}
	if len(got.Notifications) != 1 {
		t.Fatalf("notifications shown: %+v", got.Notifications)
	}
	n := got.Notifications[0]
	if n.Title != payload.Title || n.Body != "Hallo aus dem Push" || n.Tag != payload.Tag || n.Data["url"] != "/#/c/c_push1/m/m_push1" {
		t.Fatalf("notification %+v for payload %s", n, payloadJSON)
	}
	var left int
	if err := p.DB.Pool.QueryRow(t.Context(), `select count(*) from push_subscriptions where endpoint = $1`, sub.Endpoint).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d subscriptions left after turning push off (%v)", left, err)
	}
}
