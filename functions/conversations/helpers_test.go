package conversations

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// setup serves the function on a fresh database and Redis prefix.
func setup(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Redis: e.Redis, Keys: e.Keys, Events: e.Events, Auth: e.Auth,
		Inputs: &inputs.Answerer{DB: e.DB, Events: e.Events}}))
}
