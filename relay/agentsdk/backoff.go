package agentsdk

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces reconnect attempts: the delay starts at Initial and doubles
// after each failed attempt up to Max; each wait is drawn at random from its
// upper half, so agents cut off together do not come back together.
type Backoff struct {
	Initial time.Duration // 500 ms when zero
	Max     time.Duration // 30 s when zero
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 30 * time.Second
	}
	if b.Max < b.Initial {
		b.Max = b.Initial
	}
	return b
}

func (b Backoff) start() *backoffState { return &backoffState{cfg: b, cur: b.Initial} }

type backoffState struct {
	cfg Backoff
	cur time.Duration
}

// next returns the wait before the coming attempt and grows the next one.
func (s *backoffState) next() time.Duration {
	d := s.jitter(s.cur)
	s.cur *= 2
	if s.cur > s.cfg.Max {
		s.cur = s.cfg.Max
	}
	return d
}

func (s *backoffState) reset() { s.cur = s.cfg.Initial }

// jitter draws from [d/2, d].
func (s *backoffState) jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}
