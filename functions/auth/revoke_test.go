package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
)

// revocations listens on a user's channel as a relay does and returns the
// session ids of the next sessions_revoked notice, failing after 5 s.
func (s *server) revocations(t *testing.T, userID string) func(secrets ...string) []string {
	t.Helper()
	ctx := context.Background()
	sub := s.p.Redis.SSubscribe(ctx, s.p.Keys.UserChannel(userID))
	t.Cleanup(func() { _ = sub.Close() })
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	return func(secrets ...string) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for {
			msg, err := sub.ReceiveMessage(ctx)
			if err != nil {
				t.Fatalf("no sessions_revoked notice for %s: %v", userID, err)
			}
			for _, secret := range secrets {
				if strings.Contains(msg.Payload, secret) {
					t.Fatalf("a session token went out on the user's channel: %s", msg.Payload)
				}
			}
			if ids, ok := events.RevokedSessions([]byte(msg.Payload)); ok {
				slices.Sort(ids)
				return ids
			}
		}
	}
}

// TestEndedSessionsAreAnnounced: every way a session ends tells the relays
// which session ids ended, on the user's channel, and never the tokens.
func TestEndedSessionsAreAnnounced(t *testing.T) {
	s := newServer(t, nil)
	email := uniqueEmail("revoke")
	const pw = "first password"
	a := s.client(t)
	up := signUp(t, a, email, pw)
	next := s.revocations(t, up.User.ID)
	signIn := func() (*client, string, string) {
		c := s.client(t)
		var in signInBody
		c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw}).json(t, &in)
		return c, in.Token, c.session().Session.ID
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	aID := a.session().Session.ID

	b, bTok, bID := signIn()
	if res := b.post("/api/auth/sign-out", map[string]any{}); res.Status != 200 {
		t.Fatalf("sign-out: %d %s", res.Status, res.Body)
	}
	if got := next(bTok); !slices.Equal(got, []string{bID}) {
		t.Fatalf("sign-out announced %v, want [%s]", got, bID)
	}

	_, cTok, cID := signIn()
	if res := a.post("/api/auth/revoke-session", map[string]any{"token": cTok}); res.Status != 200 {
		t.Fatalf("revoke-session: %d %s", res.Status, res.Body)
	}
	if got := next(cTok); !slices.Equal(got, []string{cID}) {
		t.Fatalf("revoke-session announced %v, want [%s]", got, cID)
	}

	_, dTok, dID := signIn()
	_, eTok, eID := signIn()
	if res := a.post("/api/auth/revoke-other-sessions", map[string]any{}); res.Status != 200 {
		t.Fatalf("revoke-other-sessions: %d %s", res.Status, res.Body)
	}
	if got := next(dTok, eTok, up.Token); !slices.Equal(got, sorted(dID, eID)) {
		t.Fatalf("revoke-other-sessions announced %v, want %v", got, sorted(dID, eID))
	}

	_, fTok, fID := signIn()
	res := a.post("/api/auth/change-password", map[string]any{"currentPassword": pw, "newPassword": "second password", "revokeOtherSessions": true})
	if res.Status != 200 {
		t.Fatalf("change-password: %d %s", res.Status, res.Body)
	}
	// The other sessions first, then the replaced current one.
	if got := next(fTok, up.Token); !slices.Equal(got, []string{fID}) {
		t.Fatalf("change-password announced %v, want [%s]", got, fID)
	}
	if got := next(up.Token); !slices.Equal(got, []string{aID}) {
		t.Fatalf("change-password announced %v for the replaced session, want [%s]", got, aID)
	}
}
