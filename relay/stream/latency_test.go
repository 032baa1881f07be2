package stream

import (
	"testing"
	"time"
)

// A frame is timed once, when the last socket given it has written it,
// whether the writes come before or after the count of sockets is known; a
// frame given to no socket is not timed.
func TestLatencyObservesLastWrite(t *testing.T) {
	var seen []time.Duration
	l := newLatency(func(d time.Duration) { seen = append(seen, d) })
	start := time.Now().Add(-time.Millisecond)

	a := []byte(`{"type":"stream_chunk"}`)
	l.begin(a, start)
	l.written(a) // a fast writer, before given
	l.given(a, 2)
	if len(seen) != 0 {
		t.Fatalf("timed before every socket wrote: %v", seen)
	}
	l.written(a)
	if len(seen) != 1 || seen[0] < time.Millisecond {
		t.Fatalf("seen %v, want one figure of at least 1ms", seen)
	}
	l.written(a) // no longer tracked
	if len(seen) != 1 {
		t.Fatalf("timed twice: %v", seen)
	}

	b := []byte(`{"type":"stream_chunk","x":1}`)
	l.begin(b, start)
	l.written(b)
	l.given(b, 1) // every write already happened
	if len(seen) != 2 {
		t.Fatalf("seen %v, want a second figure", seen)
	}
	c := []byte(`{"type":"stream_chunk","x":2}`)
	l.begin(c, start)
	l.given(c, 0)
	if len(seen) != 2 {
		t.Fatalf("a frame no socket got was timed: %v", seen)
	}
	for i := range l.shards {
		if n := len(l.shards[i].m); n != 0 {
			t.Fatalf("shard %d keeps %d frames", i, n)
		}
	}
}
