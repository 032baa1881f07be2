package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
	"github.com/ari-chat/ari-server/shared/metrics"
)

// Urgency is the Web Push Urgency header (RFC 8030 §5.3): how hard the device
// should try to wake up for the message.
type Urgency string

const (
	UrgencyVeryLow Urgency = "very-low"
	UrgencyLow     Urgency = "low"
	UrgencyNormal  Urgency = "normal" // RFC 8030's example for a chat message
	UrgencyHigh    Urgency = "high"
)

// Outcome is how sending to one subscription ended.
type Outcome string

const (
	// Delivered: the push service accepted the message (2xx).
	Delivered Outcome = "delivered"
	// Gone: the push service says the subscription no longer exists (404 or
	// 410). The caller deletes it.
	Gone Outcome = "gone"
	// Failed: anything else, after retries where retrying made sense. The
	// subscription is kept.
	Failed Outcome = "failed"
)

// Result reports one subscription's send.
type Result struct {
	Subscription Subscription
	Outcome      Outcome
	// Status is the last HTTP status from the push service; 0 if none came.
	Status int
	// Attempts counts POSTs tried (0 when refused before sending).
	Attempts int
	// Err says why the send failed; nil for Delivered and Gone.
	Err error
}

// SenderConfig configures a Sender. Only VAPID is required.
type SenderConfig struct {
	VAPID VAPID
	// HTTPClient posts to push services. Nil gives a client with timeouts
	// that refuses to dial loopback, private and link-local addresses (unless
	// Rules.AllowInsecureLoopback, which admits loopback), so a subscription
	// cannot aim the server at its own network by way of DNS.
	HTTPClient *http.Client
	// TTL is how long the push service keeps an undelivered message.
	// Default 24 h.
	TTL time.Duration
	// Urgency defaults to UrgencyNormal.
	Urgency Urgency
	// Parallel bounds concurrent POSTs within one Send. Default 4.
	Parallel int
	// MaxAttempts bounds POSTs per subscription, first try included.
	// Default 4.
	MaxAttempts int
	// BaseBackoff is the wait before the first retry of a 429, a 5xx or a
	// network error; it doubles each retry, with jitter. Default 500 ms.
	BaseBackoff time.Duration
	// MaxBackoff caps one wait. A Retry-After beyond it ends the retries
	// instead of being cut short. Default 30 s.
	MaxBackoff time.Duration
	// Rules are applied to every subscription before sending.
	Rules SubscriptionRules
}

// Sender delivers Payloads to push subscriptions with webpush-go. It is safe
// for concurrent use and holds no goroutines between calls.
type Sender struct {
	cfg        SenderConfig
	subscriber string
	publicKey  string
	privateKey string
}

// NewSender checks cfg, fills in defaults and returns a Sender.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if err := cfg.VAPID.Validate(); err != nil {
		return nil, err
	}
	sub, _ := cfg.VAPID.subscriber()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = guardedClient(cfg.Rules.AllowInsecureLoopback)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 24 * time.Hour
	}
	switch cfg.Urgency {
	case "":
		cfg.Urgency = UrgencyNormal
	case UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return nil, fmt.Errorf("urgency: unknown value %q", cfg.Urgency)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 4
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	// webpush-go decodes keys with padding-tolerant decoders; handing it one
	// canonical form keeps that tolerance from mattering.
	pub, _ := decodeKey(cfg.VAPID.PublicKey)
	priv, _ := decodeKey(cfg.VAPID.PrivateKey)
	return &Sender{
		cfg:        cfg,
		subscriber: sub,
		publicKey:  base64.RawURLEncoding.EncodeToString(pub),
		privateKey: base64.RawURLEncoding.EncodeToString(priv),
	}, nil
}

// MaxPayloadBytes is the largest JSON payload that fits: webpush-go pads
// every message into one 4096-byte record, less the 16-byte AEAD tag, the
// 86-byte aes128gcm header and the 1-byte padding delimiter.
const MaxPayloadBytes = 4096 - 16 - 86 - 1

// ErrPayloadTooLarge is returned in every Result when the payload cannot fit
// in one push message.
var ErrPayloadTooLarge = errors.New("notify: payload larger than a push message can carry")

// Topic is the Web Push Topic for a conversation: the push service keeps only
// the newest undelivered message per topic. A topic may be at most 32
// characters of the URL-safe base64 alphabet, so conversation ids are hashed
// (SHA-256, first 24 bytes, base64url: exactly 32 characters).
func Topic(conversationID string) string {
	sum := sha256.Sum256([]byte(conversationID))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// Send posts p to every subscription, at most cfg.Parallel at once, and
// returns one Result per subscription in the same order. It returns when all
// sends have ended; cancelling ctx ends pending waits and requests early.
func (s *Sender) Send(ctx context.Context, subs []Subscription, p Payload) []Result {
	results := make([]Result, len(subs))
	defer countSends(results) // reads the outcomes once every send has ended
	body, err := json.Marshal(p)
	if err == nil && len(body) > MaxPayloadBytes {
		err = ErrPayloadTooLarge
	}
	if err != nil {
		for i, sub := range subs {
			results[i] = Result{Subscription: sub, Outcome: Failed, Err: err}
		}
		return results
	}
	topic := ""
	switch {
	case p.ConversationID != "":
		topic = Topic(p.ConversationID)
	case p.ChannelID != "":
		topic = Topic("channel:" + p.ChannelID)
	}

	sem := make(chan struct{}, s.cfg.Parallel)
	var wg sync.WaitGroup
	for i, sub := range subs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = Result{Subscription: sub, Outcome: Failed, Err: ctx.Err()}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = s.sendOne(ctx, body, sub, topic)
		})
	}
	wg.Wait()
	return results
}

// countSends counts each subscription's outcome in ari_push_sends_total.
func countSends(results []Result) {
	for _, r := range results {
		metrics.PushSent(string(r.Outcome))
	}
}

func (s *Sender) sendOne(ctx context.Context, body []byte, sub Subscription, topic string) Result {
	res := Result{Subscription: sub, Outcome: Failed}
	if err := s.cfg.Rules.Validate(sub); err != nil {
		res.Err = fmt.Errorf("invalid subscription: %w", err)
		return res
	}
	p256dh, _ := decodeKey(sub.P256dh)
	auth, _ := decodeKey(sub.Auth)
	ws := &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys: webpush.Keys{
			P256dh: base64.RawURLEncoding.EncodeToString(p256dh),
			Auth:   base64.RawURLEncoding.EncodeToString(auth),
		},
	}
	opts := &webpush.Options{
		HTTPClient:      s.cfg.HTTPClient,
		Subscriber:      s.subscriber,
		Topic:           topic,
		TTL:             int(s.cfg.TTL / time.Second),
		Urgency:         webpush.Urgency(s.cfg.Urgency),
		VAPIDPublicKey:  s.publicKey,
		VAPIDPrivateKey: s.privateKey,
	}
	for {
		res.Attempts++
		wait, retry := s.attempt(ctx, body, ws, opts, &res)
		if !retry {
			return res
		}
		if res.Attempts >= s.cfg.MaxAttempts {
			res.Err = fmt.Errorf("gave up after %d attempts: %w", res.Attempts, res.Err)
			return res
		}
		if wait > s.cfg.MaxBackoff {
			res.Err = fmt.Errorf("push service asked to retry after %s, beyond the %s limit: %w", wait, s.cfg.MaxBackoff, res.Err)
			return res
		}
		if wait <= 0 {
			wait = s.backoff(res.Attempts)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Err = errors.Join(ctx.Err(), res.Err)
			return res
		}
	}
}

// attempt makes one POST and records its outcome in res. It says whether a
// retry makes sense and how long the push service asked us to wait (0 when it
// did not say).
func (s *Sender) attempt(ctx context.Context, body []byte, ws *webpush.Subscription, opts *webpush.Options, res *Result) (wait time.Duration, retry bool) {
	// webpush-go appends padding to the message through bytes.NewBuffer, which
	// writes into any spare capacity: clipping makes it copy instead of
	// scribbling over the body that parallel sends and retries share.
	resp, err := webpush.SendNotificationWithContext(ctx, slices.Clip(body), ws, opts)
	if err != nil {
		res.Status = 0
		res.Err = err
		// http.Client reports transport failures as *url.Error; anything else
		// came from encryption or signing and will not improve by retrying.
		var uerr *url.Error
		return 0, ctx.Err() == nil && errors.As(err, &uerr)
	}
	// webpush-go hands back error statuses as responses; the status is ours
	// to interpret, and the body ours to close.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	res.Status = resp.StatusCode
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		res.Outcome, res.Err = Delivered, nil
		return 0, false
	case code == http.StatusNotFound || code == http.StatusGone:
		res.Outcome, res.Err = Gone, nil
		return 0, false
	case code == http.StatusTooManyRequests || code >= 500:
		res.Err = fmt.Errorf("push service answered %d", code)
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), true
	default:
		res.Err = fmt.Errorf("push service answered %d", code)
		return 0, false
	}
}

// backoff is the wait before retry n (1-based): BaseBackoff doubled n-1
// times, capped, and spread over its upper half so that many senders rejected
// together do not return together.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.BaseBackoff << min(n-1, 20)
	if d <= 0 || d > s.cfg.MaxBackoff {
		d = s.cfg.MaxBackoff
	}
	half := d / 2
	return half + rand.N(half+1)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		// Far beyond any MaxBackoff, and safe from Duration overflow.
		secs = min(secs, 1<<20)
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
