package notify

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/notify/notifytest"
)

// The test push service lives in notifytest, so other packages' tests (the
// push trigger's) can prove interop the same way. These adapters keep this
// package's tests speaking in its own types.

type pushService struct {
	*notifytest.PushService
	srv struct{ URL string }
}

func newPushService(t *testing.T) *pushService {
	t.Helper()
	ps := &pushService{PushService: notifytest.NewPushService(t)}
	ps.srv.URL = ps.URL()
	return ps
}

func (ps *pushService) subscribe(path string) Subscription {
	return Subscription(ps.Subscribe(path))
}

// scripted is a canned answer given before the normal one.
type scripted struct {
	status     int
	retryAfter string
}

func (ps *pushService) answerFirst(path string, answers ...scripted) {
	for _, a := range answers {
		ps.AnswerFirst(path, notifytest.Answer{Status: a.status, RetryAfter: a.retryAfter})
	}
}

func (ps *pushService) answerAlways(path string, status int) { ps.AnswerAlways(path, status) }

func (ps *pushService) deliveries(path string) []notifytest.Delivery { return ps.Deliveries(path) }

func (ps *pushService) maxInFlight() int { return ps.MaxInFlight() }

type receiver struct{ notifytest.Receiver }

func newReceiver(t *testing.T) receiver { return receiver{notifytest.NewReceiver(t)} }

func (r receiver) subscription(endpoint string) Subscription {
	return Subscription(r.Subscription(endpoint))
}
