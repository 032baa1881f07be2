package agents

import (
	"net/http"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// setup serves the function on a fresh database and Redis prefix.
func setup(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Redis: e.Redis, Keys: e.Keys, Events: e.Events, Auth: e.Auth}))
}

// createAgent makes an agent through the API and returns it with its token.
func createAgent(t *testing.T, f *apitest.Env, token string, req CreateAgentRequest) (AgentResponse, string) {
	t.Helper()
	got := apitest.Decode[AgentWithTokenResponse](t, f.Must(t, http.StatusCreated, token, "POST", "/api/agents", req))
	return got.Agent, got.Token
}
