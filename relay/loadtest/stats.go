package main

import (
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
