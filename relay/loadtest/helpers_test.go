package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStampRoundTrip(t *testing.T) {
	buf := []byte(strings.Repeat("x", 64))
	stamp(buf)
	got, ok := readStamp(buf)
	if !ok || got <= 0 || got > time.Since(base) {
		t.Fatalf("readStamp = %v, %v", got, ok)
	}
	if buf[stampBytes-1] != ' ' || buf[stampBytes] != 'x' {
		t.Fatalf("stamp overwrote the padding: %q", buf)
	}
	if _, ok := readStamp([]byte("12")); ok {
		t.Fatal("a short chunk has no stamp")
	}
}

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i))
	}
	if p := percentile(s, 0.5); p != 50 {
		t.Fatalf("p50 = %v", p)
	}
	if p := percentile(s, 0.99); p != 99 {
		t.Fatalf("p99 = %v", p)
	}
	if p := percentile(nil, 0.5); p != -1 {
		t.Fatalf("empty = %v", p)
	}
}

func TestSummarize(t *testing.T) {
	got := summarize([]string{"message_ack", "stream_start", "stream_chunk", "stream_chunk"})
	if got != "message_ack, stream_start, 2×stream_chunk" {
		t.Fatalf("summarize = %q", got)
	}
}

func TestFlagsRefuseImpossibleRuns(t *testing.T) {
	for _, args := range [][]string{
		{"-db", ""},
		{"-db", "postgres://x", "-chunk-bytes", "10"},
		{"-db", "postgres://x", "-chunk-bytes", "2048", "-chunks-per-reply", "200"}, // 400 KiB reply
		{"-db", "postgres://x", "-run", "idle"},                                     // no -relay-pid
	} {
		if _, err := parseFlags(args); err == nil {
			t.Fatalf("parseFlags(%q) accepted", args)
		}
	}
	o, err := parseFlags([]string{"-db", "postgres://x", "-relays", "ws://a/, ws://b", "-run", "latency", "-agents", "50", "-clients", "3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.relays) != 2 || o.relays[0] != "ws://a" || o.relays[1] != "ws://b" || o.agents != 3 || !o.scenarios["latency"] || o.scenarios["idle"] {
		t.Fatalf("options %+v", o)
	}
}

func TestByPhaseSplitsAtTheWindow(t *testing.T) {
	ms := time.Millisecond
	tr := &traffic{
		turns: []time.Duration{100 * ms, 50 * ms}, // unsorted: sends and ends arrive from many goroutines
		// written: long before, just inside after, just outside after, just inside before, between two turns
		sentAt:    []time.Duration{10 * ms, 109 * ms, 111 * ms, 41 * ms, 75 * ms},
		latencies: []time.Duration{5, 4, 3, 2, 1},
	}
	distOf(tr.latencies) // the run's own figure is taken first; it must not reorder them
	steady, turnover := tr.byPhase()
	if fmt.Sprint(steady) != "[5ns 3ns 1ns]" || fmt.Sprint(turnover) != "[4ns 2ns]" {
		t.Fatalf("steady %v, turnover %v", steady, turnover)
	}
}
