package main

import (
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Once its bound has passed, the kill run's collection counts every missing
// end instead of waiting for the second one forever: CI saw the tool hang
// when two replies missed their ends (the bound was a time.After channel,
// which fires once).
func TestCollectKillEndsEveryWaitAtTheBound(t *testing.T) {
	clients := make([]*killClient, 4)
	for i := range clients {
		clients[i] = &killClient{request: make(chan string, 1), resolved: make(chan string, 1), ended: make(chan string, 1)}
	}
	clients[0].resolved <- "answered"
	clients[1].resolved <- "answered"
	clients[2].resolved <- "answered"
	clients[0].ended <- protocol.StatusComplete
	clients[1].ended <- protocol.StatusError
	distinct := make(chan struct{}, 4)
	distinct <- struct{}{}
	distinct <- struct{}{}
	done := make(chan struct{})
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	got := make(chan killWaits, 1)
	go func() { got <- collectKill(done, clients, distinct, make(chan struct{})) }()
	select {
	case w := <-got:
		if w.answered != 3 || w.distinct != 2 || w.complete != 1 || w.endedOther != 1 || w.notEnded != 2 ||
			len(w.unresolved) != 1 || w.unresolved[0] != 3 {
			t.Fatalf("collectKill = %+v", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("collectKill still waiting 10 s after its bound")
	}
}
