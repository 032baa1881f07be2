package interop

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func idle(context.Context, *agentsdk.Task, *agentsdk.Stream) error { return nil }

func waitStopped(t *testing.T, a *agentsdk.Agent) error {
	t.Helper()
	select {
	case <-a.Done():
		return a.Wait()
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
		return nil
	}
}

// A regenerated token, as functions/agents does it (new hash, then
// agent_token_revoked on the agent's channel): the SDK stops with
// ErrRevoked instead of reconnecting, and the old token is refused after.
func TestSDKStopsOnRevokedToken(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Revoked", "revoked")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := agentsdk.Config{URL: relay.AgentURL(), Token: token, Handler: idle,
		Backoff: agentsdk.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}}
	a, err := agentsdk.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	newSum := sha256.Sum256([]byte("ari_" + testenv.RandomID(24)))
	if _, err := c.DB.Pool.Exec(ctx, `update agents set token_hash = $2 where id = $1`, agentID, newSum[:]); err != nil {
		t.Fatal(err)
	}
	rdb, _ := testenv.Redis(t)
	ev, err := events.New(events.AgentTokenRevoked, "", map[string]string{"agentId": agentID})
	if err != nil {
		t.Fatal(err)
	}
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.RedisPrefix}).ToAgent(ctx, agentID, ev); err != nil {
		t.Fatal(err)
	}
	if err := waitStopped(t, a); !errors.Is(err, agentsdk.ErrRevoked) {
		t.Fatalf("Wait = %v, want ErrRevoked", err)
	}
	var ae *agentsdk.AuthError
	if err := agentsdk.Run(ctx, cfg); !errors.As(err, &ae) || ae.Code != protocol.CodeUnauthorized {
		t.Fatalf("Run with the old token = %v, want *AuthError unauthorized", err)
	}
}

// A second process of the same agent takes over: the first stops with
// ErrReplaced (close 4004) and does not fight back by reconnecting.
func TestSDKStopsWhenReplaced(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	_, token := c.seedAgent(t, user.ID, "Twice", "twice")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := agentsdk.Config{URL: relay.AgentURL(), Token: token, Handler: idle,
		Backoff: agentsdk.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond}}
	first, err := agentsdk.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := agentsdk.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitStopped(t, first); !errors.Is(err, agentsdk.ErrReplaced) {
		t.Fatalf("first: Wait = %v, want ErrReplaced", err)
	}
	select {
	case <-second.Done():
		t.Fatalf("second stopped: %v", second.Wait())
	case <-time.After(300 * time.Millisecond):
	}
	cancel()
	if err := waitStopped(t, second); err != nil {
		t.Fatalf("second: Wait = %v after cancel", err)
	}
}
