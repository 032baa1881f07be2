package groups

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// setup serves the function on a fresh database and Redis prefix.
func setup(t *testing.T) *apitest.Env {
	t.Helper()
	return serve(t, nil)
}

// serve is setup where more, when given, adds to the function's
// dependencies (limits, for instance).
func serve(t *testing.T, more func(e *apitest.Env, d *Deps)) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	d := Deps{DB: e.DB, Events: e.Events, Auth: e.Auth}
	if more != nil {
		more(e, &d)
	}
	return e.Serve(t, New(d))
}
