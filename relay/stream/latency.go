package stream

import (
	"sync"
	"time"
	"unsafe"
)

// latency times chunk frames from the read of the agent frame that brought
// their oldest text to the moment every client socket of this instance that
// was given the frame has written it (ari_chunk_delivery_seconds). The
// sockets given a frame share its bytes, so the frame's address identifies
// it; the sockets' writers report each write (Engine.Written).
type latency struct {
	observe func(time.Duration)
	shards  [16]latencyShard
}

type latencyShard struct {
	mu sync.Mutex
	m  map[*byte]pendingFrame
}

type pendingFrame struct {
	start time.Time
	left  int  // writes still to come
	held  bool // sockets are still being given the frame (given not yet called)
}

// maxPending bounds a shard: frames a closed socket never wrote are swept.
const maxPending = 1024

func newLatency(observe func(time.Duration)) *latency {
	l := &latency{observe: observe}
	for i := range l.shards {
		l.shards[i].m = map[*byte]pendingFrame{}
	}
	return l
}

func (l *latency) shard(frame []byte) (*latencyShard, *byte) {
	p := unsafe.SliceData(frame)
	return &l.shards[(uintptr(unsafe.Pointer(p))>>6)%uintptr(len(l.shards))], p
}

// begin registers frame before any socket is given it.
func (l *latency) begin(frame []byte, start time.Time) {
	if len(frame) == 0 || start.IsZero() {
		return
	}
	s, p := l.shard(frame)
	s.mu.Lock()
	if len(s.m) >= maxPending {
		for k, f := range s.m {
			if time.Since(f.start) > 30*time.Second {
				delete(s.m, k)
			}
		}
	}
	s.m[p] = pendingFrame{start: start, held: true}
	s.mu.Unlock()
}

// given says how many sockets were given frame; some may have written it
// already.
func (l *latency) given(frame []byte, n int) {
	if len(frame) == 0 {
		return
	}
	s, p := l.shard(frame)
	s.mu.Lock()
	f, ok := s.m[p]
	if !ok {
		s.mu.Unlock()
		return
	}
	f.left += n
	f.held = false
	if f.left > 0 {
		s.m[p] = f
		s.mu.Unlock()
		return
	}
	delete(s.m, p)
	s.mu.Unlock()
	if n > 0 {
		l.observe(time.Since(f.start))
	}
}

// written is one socket's write of frame.
func (l *latency) written(frame []byte) {
	if len(frame) == 0 {
		return
	}
	s, p := l.shard(frame)
	s.mu.Lock()
	f, ok := s.m[p]
	if !ok {
		s.mu.Unlock()
		return
	}
	f.left--
	if f.held || f.left > 0 {
		s.m[p] = f
		s.mu.Unlock()
		return
	}
	delete(s.m, p)
	s.mu.Unlock()
	l.observe(time.Since(f.start))
}
