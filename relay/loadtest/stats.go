package main

import (
	"fmt"
	"slices"
	"time"
)

// percentile returns the q-quantile (nearest rank) of samples, or -1 when
// there are none. It sorts samples in place.
func percentile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return -1
	}
	slices.Sort(samples)
	i := int(q*float64(len(samples))+0.5) - 1
	i = max(0, min(i, len(samples)-1))
	return samples[i]
}

// dist is the three quantiles every latency figure prints.
type dist struct{ p50, p99, p999 time.Duration }

// distOf sorts a copy: callers keep samples in the order they pair with
// other slices (traffic.sentAt).
func distOf(samples []time.Duration) dist {
	s := slices.Clone(samples)
	return dist{percentile(s, 0.50), percentile(s, 0.99), percentile(s, 0.999)}
}

func (d dist) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, p99.9 %s", us(d.p50), us(d.p99), us(d.p999))
}

// plus adds two distributions quantile by quantile: an upper bound for the
// quantiles of a path that crosses both hops, good enough for a floor.
func (d dist) plus(o dist) dist {
	if d.p50 < 0 || o.p50 < 0 {
		return dist{-1, -1, -1}
	}
	return dist{d.p50 + o.p50, d.p99 + o.p99, d.p999 + o.p999}
}

// ratio prints d ÷ floor per quantile, "×2.1/×3.4/×3.0".
func (d dist) ratio(floor dist) string {
	r := func(a, b time.Duration) string {
		if a < 0 || b <= 0 {
			return "–"
		}
		return fmt.Sprintf("×%.1f", float64(a)/float64(b))
	}
	return r(d.p50, floor.p50) + "/" + r(d.p99, floor.p99) + "/" + r(d.p999, floor.p999)
}
