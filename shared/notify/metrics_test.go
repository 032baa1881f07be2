package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/metrics"
)

func pushSends(t *testing.T, outcome Outcome) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler("").ServeHTTP(rec, httptest.NewRequest("GET", metrics.Path, nil))
	prefix := `ari_push_sends_total{outcome="` + string(outcome) + `"} `
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// Every subscription's send is counted by its outcome.
func TestSendsCountedByOutcome(t *testing.T) {
	ps := newPushService(t)
	s := newTestSender(t, testVAPID(t), nil)
	live := ps.subscribe("/push/live")
	gone := ps.subscribe("/push/gone")
	ps.answerAlways("/push/gone", http.StatusGone)
	delivered, goneBefore := pushSends(t, Delivered), pushSends(t, Gone)
	s.Send(context.Background(), []Subscription{live, gone, live}, samplePayload())
	if d := pushSends(t, Delivered) - delivered; d != 2 {
		t.Errorf("delivered moved by %v, want 2", d)
	}
	if d := pushSends(t, Gone) - goneBefore; d != 1 {
		t.Errorf("gone moved by %v, want 1", d)
	}
}
