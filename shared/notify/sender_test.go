package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/netguard"
)

func testVAPID(t *testing.T) VAPID {
	t.Helper()
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	return VAPID{PublicKey: pub, PrivateKey: priv, Subject: "mailto:ops@example.com"}
}

func newTestSender(t *testing.T, v VAPID, mod func(*SenderConfig)) *Sender {
	t.Helper()
	cfg := SenderConfig{
		VAPID:       v,
		HTTPClient:  &http.Client{Timeout: 60 * time.Second},
		BaseBackoff: 10 * time.Millisecond,
		MaxBackoff:  2 * time.Second,
		Rules:       SubscriptionRules{AllowInsecureLoopback: true},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func samplePayload() Payload {
	return BuildPayload(ari.DefaultNotificationPreferences(), Message{
		Kind:              KindGroupMessage,
		ConversationID:    "conv-42",
		MessageID:         "msg-7",
		ConversationTitle: "Trip planning",
		SenderName:        "Ada",
		Text:              "Shall we leave at 9? 🚆 \"quoted\" <b>not html</b>",
	})
}

var topicAlphabet = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// The core interop proof: a third-party decrypter with only the browser's
// keys reads exactly the payload we sent, and the VAPID JWT verifies.
func TestSendIsReadableByIndependentImplementation(t *testing.T) {
	ps := newPushService(t)
	v := testVAPID(t)
	s := newTestSender(t, v, nil)

	subs := []Subscription{ps.subscribe("/push/a"), ps.subscribe("/push/b"), ps.subscribe("/push/c")}
	// Browsers may hand keys over padded; that must work too.
	subs[2].P256dh += "="
	subs[2].Auth += "=="
	p := samplePayload()

	results := s.Send(context.Background(), subs, p)
	if len(results) != len(subs) {
		t.Fatalf("got %d results for %d subscriptions", len(results), len(subs))
	}
	for i, r := range results {
		if r.Outcome != Delivered || r.Status != http.StatusCreated || r.Attempts != 1 || r.Err != nil {
			t.Errorf("result %d: %+v", i, r)
		}
		if r.Subscription != subs[i] {
			t.Errorf("result %d is for %q, want %q (order must follow input)", i, r.Subscription.Endpoint, subs[i].Endpoint)
		}
	}

	want, _ := json.Marshal(p)
	for _, path := range []string{"/push/a", "/push/b", "/push/c"} {
		ds := ps.deliveries(path)
		if len(ds) != 1 {
			t.Fatalf("%s: %d deliveries, want 1", path, len(ds))
		}
		d := ds[0]
		if !d.Verdict.OK {
			t.Fatalf("%s: push service could not verify/decrypt: %s", path, d.Verdict.Error)
		}
		if d.Verdict.Payload != string(want) {
			t.Errorf("%s: decrypted %q\nwant %q", path, d.Verdict.Payload, want)
		}
		var got Payload
		if err := json.Unmarshal([]byte(d.Verdict.Payload), &got); err != nil || got != p {
			t.Errorf("%s: decrypted payload %+v (err %v), want %+v", path, got, err, p)
		}
		if d.Verdict.VapidKey != v.PublicKey {
			t.Errorf("%s: k=%q, want our public key %q", path, d.Verdict.VapidKey, v.PublicKey)
		}
		if sub := d.Verdict.Claims["sub"]; sub != "mailto:ops@example.com" {
			t.Errorf("%s: sub claim %v, want mailto:ops@example.com (no double mailto:)", path, sub)
		}
		if aud := d.Verdict.Claims["aud"]; aud != ps.srv.URL {
			t.Errorf("%s: aud %v, want %s", path, aud, ps.srv.URL)
		}
		h := d.Header
		if h.Get("TTL") != "86400" || h.Get("Urgency") != "normal" || h.Get("Content-Encoding") != "aes128gcm" {
			t.Errorf("%s: TTL %q Urgency %q Content-Encoding %q", path, h.Get("TTL"), h.Get("Urgency"), h.Get("Content-Encoding"))
		}
		if topic := h.Get("Topic"); topic != Topic("conv-42") || !topicAlphabet.MatchString(topic) {
			t.Errorf("%s: Topic %q, want %q within 32 URL-safe base64 characters", path, topic, Topic("conv-42"))
		}
	}
}

// A negative control: the verifier must refuse what a browser could not read,
// or the test above would prove nothing.
func TestPushServiceRejectsWrongKeysAndForgedVAPID(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil)

	// Keys of a different browser: decryption must fail.
	sub := ps.subscribe("/push/wrong-keys")
	other := newReceiver(t).subscription(sub.Endpoint)
	r := s.Send(context.Background(), []Subscription{other}, samplePayload())[0]
	d := ps.deliveries("/push/wrong-keys")
	if len(d) != 1 || d[0].Verdict.OK || !strings.Contains(d[0].Verdict.Error, "decrypt") {
		t.Fatalf("wrong keys were not caught: %+v", d)
	}
	if r.Outcome != Failed || r.Status != http.StatusBadRequest || r.Attempts != 1 {
		t.Errorf("400 must fail without retry: %+v", r)
	}

	// A JWT whose k is another key: the signature must not verify.
	impostor := testVAPID(t)
	forge := newTestSender(t, testVAPID(t), func(c *SenderConfig) {
		c.HTTPClient = &http.Client{Transport: rewriteK{to: impostor.PublicKey}}
	})
	sub2 := ps.subscribe("/push/forged")
	forge.Send(context.Background(), []Subscription{sub2}, samplePayload())
	d = ps.deliveries("/push/forged")
	if len(d) != 1 || d[0].Verdict.OK || !strings.Contains(d[0].Verdict.Error, "signature") {
		t.Fatalf("forged VAPID was not caught: %+v", d)
	}
}

// rewriteK swaps the k= of the VAPID header, as an attacker replaying a
// token with their own key would.
type rewriteK struct{ to string }

func (rk rewriteK) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	auth := r.Header.Get("Authorization")
	i := strings.Index(auth, "k=")
	r.Header.Set("Authorization", auth[:i]+"k="+rk.to)
	return http.DefaultTransport.RoundTrip(r)
}

func TestSendReportsGoneSubscriptions(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil)
	live := ps.subscribe("/push/live")
	gone := ps.subscribe("/push/gone")
	missing := ps.subscribe("/push/missing")
	ps.answerAlways("/push/gone", http.StatusGone)
	ps.answerAlways("/push/missing", http.StatusNotFound)

	rs := s.Send(context.Background(), []Subscription{live, gone, missing}, samplePayload())
	want := []struct {
		out    Outcome
		status int
	}{{Delivered, 201}, {Gone, 410}, {Gone, 404}}
	for i, w := range want {
		if rs[i].Outcome != w.out || rs[i].Status != w.status || rs[i].Attempts != 1 || rs[i].Err != nil {
			t.Errorf("result %d: %+v, want %s/%d after one attempt", i, rs[i], w.out, w.status)
		}
	}
}

func TestSendRetries429HonouringRetryAfter(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil)
	sub := ps.subscribe("/push/busy")
	ps.answerFirst("/push/busy", scripted{status: http.StatusTooManyRequests, retryAfter: "1"})

	start := time.Now()
	r := s.Send(context.Background(), []Subscription{sub}, samplePayload())[0]
	elapsed := time.Since(start)
	if r.Outcome != Delivered || r.Attempts != 2 || r.Status != http.StatusCreated {
		t.Fatalf("want delivered on the second attempt: %+v", r)
	}
	// BaseBackoff is 10 ms; only Retry-After explains a one-second wait.
	if elapsed < time.Second {
		t.Errorf("retried after %s, before Retry-After's 1 s", elapsed)
	}
	ds := ps.deliveries("/push/busy")
	if len(ds) != 2 || ds[0].Status != 429 || ds[1].Status != 201 || !ds[1].Verdict.OK {
		t.Errorf("push service saw %+v", ds)
	}
}

func TestSendRetries5xxThenGivesUp(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), func(c *SenderConfig) { c.MaxAttempts = 3 })
	flaky := ps.subscribe("/push/flaky")
	down := ps.subscribe("/push/down")
	ps.answerFirst("/push/flaky", scripted{status: 502}, scripted{status: 503})
	ps.answerAlways("/push/down", http.StatusServiceUnavailable)

	rs := s.Send(context.Background(), []Subscription{flaky, down}, samplePayload())
	if rs[0].Outcome != Delivered || rs[0].Attempts != 3 {
		t.Errorf("flaky: want delivered on attempt 3: %+v", rs[0])
	}
	if rs[1].Outcome != Failed || rs[1].Attempts != 3 || rs[1].Status != 503 || rs[1].Err == nil {
		t.Errorf("down: want failed after 3 attempts with 503: %+v", rs[1])
	}
	if n := len(ps.deliveries("/push/down")); n != 3 {
		t.Errorf("down: push service saw %d attempts, want 3", n)
	}
}

func TestSendGivesUpWhenRetryAfterExceedsLimit(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil) // MaxBackoff 2 s
	sub := ps.subscribe("/push/slow")
	ps.answerFirst("/push/slow", scripted{status: 429, retryAfter: "120"})

	start := time.Now()
	r := s.Send(context.Background(), []Subscription{sub}, samplePayload())[0]
	if r.Outcome != Failed || r.Attempts != 1 || r.Status != 429 || !strings.Contains(r.Err.Error(), "retry after") {
		t.Errorf("want failed at once: %+v", r)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("waited %s instead of giving up", time.Since(start))
	}
}

func TestSendStopsWaitingWhenContextEnds(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), func(c *SenderConfig) {
		c.BaseBackoff, c.MaxBackoff = 30*time.Second, time.Minute
	})
	sub := ps.subscribe("/push/down")
	ps.answerAlways("/push/down", http.StatusInternalServerError)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := s.Send(ctx, []Subscription{sub}, samplePayload())[0]
	if r.Outcome != Failed || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("want failed with the context's error: %+v", r)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Send took %s after its context ended", el)
	}
}

func TestSendBoundsParallelism(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), func(c *SenderConfig) { c.Parallel = 2 })
	var subs []Subscription
	for i := range 8 {
		subs = append(subs, ps.subscribe("/push/p"+string(rune('a'+i))))
	}
	for i, r := range s.Send(context.Background(), subs, samplePayload()) {
		if r.Outcome != Delivered {
			t.Errorf("sub %d: %+v", i, r)
		}
	}
	// Each POST takes a node process's lifetime, so two overlap for sure.
	if m := ps.maxInFlight(); m != 2 {
		t.Errorf("max concurrent POSTs %d, want exactly the bound 2", m)
	}
}

func TestSendRefusesBeforePosting(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil)
	bad := ps.subscribe("/push/bad")
	bad.Auth = "c2hvcnQ" // 5 bytes
	good := ps.subscribe("/push/good")

	rs := s.Send(context.Background(), []Subscription{bad, good}, samplePayload())
	if rs[0].Outcome != Failed || rs[0].Attempts != 0 || !strings.Contains(rs[0].Err.Error(), "auth") {
		t.Errorf("bad subscription: %+v", rs[0])
	}
	if rs[1].Outcome != Delivered {
		t.Errorf("one bad subscription must not stop the others: %+v", rs[1])
	}
	if n := len(ps.deliveries("/push/bad")); n != 0 {
		t.Errorf("posted %d times to an invalid subscription", n)
	}

	big := samplePayload()
	big.Body = strings.Repeat("x", MaxPayloadBytes)
	r := s.Send(context.Background(), []Subscription{good}, big)[0]
	if r.Outcome != Failed || !errors.Is(r.Err, ErrPayloadTooLarge) {
		t.Errorf("oversized payload: %+v", r)
	}
}

// The default client is the last line against SSRF: it checks the address
// really dialled, whatever the URL said.
func TestDefaultClientRefusesNonPublicAddresses(t *testing.T) {
	ps := newPushService(t)
	if _, err := guardedClient(false).Get(ps.srv.URL); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("dialled loopback: err %v", err)
	}
	resp, err := guardedClient(true).Get(ps.srv.URL)
	if err != nil {
		t.Fatalf("loopback allowed for tests, yet: %v", err)
	}
	resp.Body.Close()

	for addr, ok := range map[string]bool{
		"10.1.2.3:443": false, "192.168.0.1:443": false, "169.254.169.254:80": false,
		"[fd00::1]:443": false, "[::1]:443": false, "0.0.0.0:443": false,
		"142.250.74.46:443": true, "[2a00:1450:4001:82b::200e]:443": true,
	} {
		if err := netguard.CheckAddress(addr, false); (err == nil) != ok {
			t.Errorf("CheckAddress(%s): %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestNewSenderRejectsBadConfig(t *testing.T) {
	good := testVAPID(t)
	other := testVAPID(t)
	for name, v := range map[string]VAPID{
		"mismatched pair": {PublicKey: good.PublicKey, PrivateKey: other.PrivateKey, Subject: good.Subject},
		"swapped":         {PublicKey: good.PrivateKey, PrivateKey: good.PublicKey, Subject: good.Subject},
		"no subject":      {PublicKey: good.PublicKey, PrivateKey: good.PrivateKey},
		"http subject":    {PublicKey: good.PublicKey, PrivateKey: good.PrivateKey, Subject: "http://example.com"},
		"empty":           {},
	} {
		if _, err := NewSender(SenderConfig{VAPID: v}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewSender(SenderConfig{VAPID: good, Urgency: "urgent"}); err == nil {
		t.Error("unknown urgency accepted")
	}
	for _, subj := range []string{"mailto:ops@example.com", "ops@example.com", "https://ari.example/contact"} {
		if _, err := NewSender(SenderConfig{VAPID: VAPID{PublicKey: good.PublicKey, PrivateKey: good.PrivateKey, Subject: subj}}); err != nil {
			t.Errorf("subject %q refused: %v", subj, err)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 02 Jan 2025 03:04:35 GMT": 30 * time.Second,
		"Thu, 02 Jan 2025 03:00:00 GMT": 0,
	} {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
