package main

import (
	"context"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// The ws floor delivers every message it sends, each with a latency.
func TestWSFloorDeliversEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := wsFloor(ctx, shape{pairs: 4, interval: 10 * time.Millisecond, size: 64, duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.sent < 100 || s.got != s.sent || int64(len(s.lat)) != s.got {
		t.Fatalf("sent %d, got %d, %d latencies", s.sent, s.got, len(s.lat))
	}
	for _, l := range s.lat {
		if l <= 0 || l > 10*time.Second {
			t.Fatalf("latency %v", l)
		}
	}
}

// The Redis floor receives every message it publishes, on a real Redis.
func TestRedisFloorDeliversEverything(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := redisFloor(ctx, rdb, keys, "t"+testenv.RandomID(4), shape{pairs: 4, interval: 10 * time.Millisecond, size: 64, duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.sent < 100 || s.got != s.sent || int64(len(s.lat)) != s.got {
		t.Fatalf("sent %d, got %d, %d latencies", s.sent, s.got, len(s.lat))
	}
}

func TestDistRatio(t *testing.T) {
	d := dist{200 * time.Microsecond, 2 * time.Millisecond, 4 * time.Millisecond}
	f := dist{100 * time.Microsecond, time.Millisecond, time.Millisecond}
	if got := d.ratio(f); got != "×2.0/×2.0/×4.0" {
		t.Fatalf("ratio = %q", got)
	}
	if got := d.plus(f); got.p999 != 5*time.Millisecond {
		t.Fatalf("plus = %+v", got)
	}
	if got := d.ratio(distOf(nil)); got != "–/–/–" {
		t.Fatalf("ratio to nothing = %q", got)
	}
}
