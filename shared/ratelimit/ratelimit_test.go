package ratelimit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestAllowSharedAcrossLimiters(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	// Two limiters stand for two instances: the counters are in Redis.
	a, b := ratelimit.New(rdb, keys), ratelimit.New(rdb, keys)
	rule := ratelimit.PerMinute("test", 4)
	ctx := context.Background()
	for i := range 4 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if d := l.Allow(ctx, rule, "1.2.3.4"); !d.Allowed {
			t.Fatalf("event %d refused", i+1)
		}
	}
	d := b.Allow(ctx, rule, "1.2.3.4")
	if d.Allowed {
		t.Fatal("5th event within the minute allowed")
	}
	// GCRA: one event is earned back every 15 s.
	if d.RetryAfter <= 0 || d.RetryAfter > 15*time.Second || d.RetryAfterSeconds() < 1 {
		t.Fatalf("RetryAfter = %v", d.RetryAfter)
	}
	if !a.Allow(ctx, rule, "5.6.7.8").Allowed {
		t.Fatal("another id shares the bucket")
	}
	if !a.Allow(ctx, ratelimit.PerMinute("other", 4), "1.2.3.4").Allowed {
		t.Fatal("another rule shares the bucket")
	}
	n, err := rdb.Exists(ctx, "rate:"+keys.RateLimit()+"test:1.2.3.4").Result()
	if err != nil || n != 1 {
		t.Fatalf("counter key not under keys.RateLimit(): %d %v", n, err)
	}
}

func TestAllowNCountsABatch(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	l := ratelimit.New(rdb, keys)
	rule := ratelimit.PerHour("batch", 10)
	ctx := context.Background()
	if !l.AllowN(ctx, rule, "u1", 7).Allowed {
		t.Fatal("a batch of 7 out of 10 refused")
	}
	if d := l.AllowN(ctx, rule, "u1", 4); d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("a batch of 4 with 3 left: %+v", d)
	}
	// All or none: the refused batch took nothing.
	if !l.AllowN(ctx, rule, "u1", 3).Allowed {
		t.Fatal("the 3 left were taken by a refused batch")
	}
	// A batch over the burst costs the whole burst and is possible when full.
	if !l.AllowN(ctx, rule, "u2", 25).Allowed {
		t.Fatal("a batch over the burst refused with a full allowance")
	}
	if l.Allow(ctx, rule, "u2").Allowed {
		t.Fatal("the allowance was not spent by the oversized batch")
	}
}

func TestNilLimiterAllows(t *testing.T) {
	var l *ratelimit.Limiter
	if !l.Allow(context.Background(), ratelimit.PerMinute("x", 1), "id").Allowed {
		t.Fatal("nil limiter refused")
	}
}

func TestMiddleware(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	l := ratelimit.New(rdb, keys)
	h := l.Middleware(ratelimit.PerMinute("mw", 2), func(r *http.Request) string { return ratelimit.ClientIP(r, false) },
		func(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
			w.WriteHeader(http.StatusTooManyRequests)
		})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	var codes []int
	for range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		codes = append(codes, rec.Code)
	}
	if codes[0] != 204 || codes[1] != 204 || codes[2] != 429 {
		t.Fatalf("codes %v", codes)
	}
}

func TestClientIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Add("X-Forwarded-For", "6.6.6.6, 1.2.3.4")
	if got := ratelimit.ClientIP(r, false); got != "10.0.0.1" {
		t.Errorf("untrusted: %s", got)
	}
	// The last entry is the one our proxy appended; earlier ones are the
	// client's to invent.
	if got := ratelimit.ClientIP(r, true); got != "1.2.3.4" {
		t.Errorf("trusted: %s", got)
	}
	r.Header.Set("X-Forwarded-For", "garbage")
	if got := ratelimit.ClientIP(r, true); got != "10.0.0.1" {
		t.Errorf("garbage header: %s", got)
	}
}

func TestRetryAfterMillisRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want int64
	}{{0, 1}, {time.Microsecond, 1}, {time.Millisecond, 1}, {time.Millisecond + 1, 2}, {2750 * time.Millisecond, 2750}} {
		if got := (ratelimit.Decision{RetryAfter: tc.in}).RetryAfterMillis(); got != tc.want {
			t.Errorf("RetryAfterMillis(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
