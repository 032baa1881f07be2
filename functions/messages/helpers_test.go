package messages

import (
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/relayjob"

	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// setup serves the function on a fresh database and Redis prefix, with no
// relay running: a regenerate's job is taken back after 100 ms (503).
func setup(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Events: e.Events, Auth: e.Auth,
		Jobs: &relayjob.Client{Redis: e.Redis, Keys: e.Keys, TakeWait: 100 * time.Millisecond}}))
}
