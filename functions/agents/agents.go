// Package agents serves /api/agents: a developer's agents, their secret
// tokens, skills, statistics, history and export. Only an agent's owner
// manages it; a public agent is visible (its public fields) to anyone signed in.
package agents

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/netguard"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Deps are what the agents function needs.
type Deps struct {
	DB     *store.DB
	Redis  redis.UniversalClient
	Keys   kv.Keys
	Auth   *auth.Authenticator
	Events *events.Publisher
	// AllowPrivateNetworks (A2A_ALLOW_PRIVATE_NETWORKS, never in
	// production) accepts A2A endpoints on localhost and private or
	// reserved addresses, as the relay will then dial them.
	AllowPrivateNetworks bool
}

type handler struct{ Deps }

// New returns the agents router with every route behind sign-in.
func New(d Deps) *httpx.Router {
	h := handler{d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("POST /api/agents", h.create)
	authed.HandleFunc("GET /api/agents", h.list)
	authed.HandleFunc("GET /api/agents/{id}", h.get)
	authed.HandleFunc("PUT /api/agents/{id}", h.update)
	authed.HandleFunc("DELETE /api/agents/{id}", h.delete)
	authed.HandleFunc("GET /api/agents/{id}/skills", h.getSkills)
	authed.HandleFunc("PUT /api/agents/{id}/skills", h.putSkills)
	authed.HandleFunc("POST /api/agents/{id}/regenerate-token", h.regenerateToken)
	authed.HandleFunc("GET /api/agents/{id}/stats", h.stats)
	authed.HandleFunc("GET /api/agents/{id}/history", h.history)
	authed.HandleFunc("GET /api/agents/{id}/export", h.export)
	return r
}

// agentResponse is an agent plus what only the relay's presence knows.
func (h handler) agentResponse(ctx context.Context, callerID string, a ari.Agent) (AgentResponse, error) {
	online, err := h.online(ctx, []string{a.ID})
	if err != nil {
		return AgentResponse{}, err
	}
	return view(callerID, a, online[0]), nil
}

func view(callerID string, a ari.Agent, online bool) AgentResponse {
	mine := a.OwnerID == callerID
	if !mine {
		a = a.Public()
	}
	return AgentResponse{Agent: a, Online: online, Mine: mine}
}

// online reports for each agent whether a relay holds its socket (its
// presence key exists), in one round trip.
func (h handler) online(ctx context.Context, ids []string) ([]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := h.Redis.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, h.Keys.AgentPresence(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]bool, len(ids))
	for i, c := range cmds {
		out[i] = c.Val() > 0
	}
	return out, nil
}

// visible returns an agent the caller may see; anything else is 404.
func (h handler) visible(r *http.Request) (ari.Agent, error) {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return ari.Agent{}, err
	}
	a, err := h.DB.VisibleAgent(r.Context(), caller.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return a, ari.NotFound("agent")
	}
	return a, err
}

// owned returns an agent the caller owns: a foreign public agent is 403
// (visible, not theirs to change), a private or unknown one 404.
func (h handler) owned(r *http.Request) (ari.Agent, error) {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return ari.Agent{}, err
	}
	a, err := h.visible(r)
	if err != nil {
		return a, err
	}
	if a.OwnerID != caller.ID {
		return a, ari.Errorf(ari.CodeForbidden, "only the agent's owner can do this")
	}
	return a, nil
}

// storeErr maps the store's not-found (an agent deleted meanwhile) to 404.
func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("agent")
	}
	return err
}

func (h handler) create(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req CreateAgentRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	if err := h.checkEndpoint(req.A2AEndpoint); err != nil {
		return err
	}
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		return err
	}
	vis := req.Visibility
	if vis == "" {
		vis = ari.VisibilityPrivate
	}
	f := store.AgentFields{Name: &req.Name, Description: &req.Description, AvatarURL: req.AvatarURL,
		A2AEndpoint: req.A2AEndpoint, A2AAuthHeader: req.A2AAuthHeader, Visibility: &vis}
	a, err := h.DB.CreateAgent(r.Context(), caller.ID, f, req.Skills, hash, hint)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, AgentWithTokenResponse{
		Agent: AgentResponse{Agent: a, Mine: true}, Token: token})
}

func (h handler) list(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.AgentCursor](r, 50, 100)
	if err != nil {
		return err
	}
	me := caller.ID
	agents, err := h.DB.AgentsByOwner(r.Context(), me, after, limit+1)
	if err != nil {
		return err
	}
	more := len(agents) > limit
	if more {
		agents = agents[:limit]
	}
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	online, err := h.online(r.Context(), ids)
	if err != nil {
		return err
	}
	items := make([]AgentResponse, len(agents))
	for i, a := range agents {
		items[i] = view(me, a, online[i])
	}
	page := httpx.NewPage(items)
	if more {
		last := agents[len(agents)-1]
		page.NextCursor = httpx.CursorPtr(store.AgentCursor{CreatedAt: last.CreatedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h handler) get(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.visible(r)
	if err != nil {
		return err
	}
	resp, err := h.agentResponse(r.Context(), caller.ID, a)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, resp)
}

func (h handler) update(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if _, err := h.owned(r); err != nil {
		return err
	}
	var req UpdateAgentRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	if err := h.checkEndpoint(req.A2AEndpoint); err != nil {
		return err
	}
	a, err := h.DB.UpdateAgent(r.Context(), caller.ID, r.PathValue("id"), store.AgentFields{
		Name: req.Name, Description: req.Description, AvatarURL: req.AvatarURL,
		A2AEndpoint: req.A2AEndpoint, A2AAuthHeader: req.A2AAuthHeader, Visibility: req.Visibility})
	if err != nil {
		return storeErr(err)
	}
	resp, err := h.agentResponse(r.Context(), caller.ID, a)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, resp)
}

func (h handler) delete(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.owned(r)
	if err != nil {
		return err
	}
	if err := h.DB.DeleteAgent(r.Context(), caller.ID, a.ID); err != nil {
		return storeErr(err)
	}
	// The relay holding the agent's socket closes it.
	if err := h.toAgent(r.Context(), events.AgentDeleted, a.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h handler) toAgent(ctx context.Context, t events.Type, agentID string) error {
	ev, err := events.New(t, "", AgentEventData{AgentID: agentID})
	if err != nil {
		return err
	}
	return h.Events.ToAgent(ctx, agentID, ev)
}

func (h handler) getSkills(w http.ResponseWriter, r *http.Request) error {
	a, err := h.visible(r)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, SkillsBody{Skills: a.Skills})
}

func (h handler) putSkills(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if _, err := h.owned(r); err != nil {
		return err
	}
	var req SkillsBody
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	a, err := h.DB.ReplaceAgentSkills(r.Context(), caller.ID, r.PathValue("id"), req.Skills)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, SkillsBody{Skills: a.Skills})
}

func (h handler) regenerateToken(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if _, err := h.owned(r); err != nil {
		return err
	}
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		return err
	}
	a, err := h.DB.SetAgentToken(r.Context(), caller.ID, r.PathValue("id"), hash, hint)
	if err != nil {
		return storeErr(err)
	}
	// The old token no longer matches any row; a socket signed in with it is
	// closed by the relay that holds it.
	if err := h.toAgent(r.Context(), events.AgentTokenRevoked, a.ID); err != nil {
		return err
	}
	resp, err := h.agentResponse(r.Context(), caller.ID, a)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, AgentWithTokenResponse{Agent: resp, Token: token})
}

func (h handler) stats(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.owned(r)
	if err != nil {
		return err
	}
	s, err := h.DB.AgentStats(r.Context(), caller.ID, a.ID)
	if err != nil {
		return storeErr(err)
	}
	online, err := h.online(r.Context(), []string{a.ID})
	if err != nil {
		return err
	}
	s.Online = online[0]
	return httpx.JSON(w, http.StatusOK, s)
}

func (h handler) history(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.owned(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.AgentTaskCursor](r, 50, 100)
	if err != nil {
		return err
	}
	tasks, err := h.DB.AgentHistory(r.Context(), caller.ID, a.ID, after, limit+1)
	if err != nil {
		return err
	}
	more := len(tasks) > limit
	if more {
		tasks = tasks[:limit]
	}
	page := httpx.NewPage(tasks)
	if more {
		last := tasks[len(tasks)-1]
		page.NextCursor = httpx.CursorPtr(store.AgentTaskCursor{CreatedAt: last.CreatedAt.Time, ID: last.MessageID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

// checkEndpoint refuses, when it is written, an A2A endpoint the relay's
// dialer would refuse (netguard, the same rule as push subscriptions):
// localhost names and literal addresses that are not globally reachable.
// Names that resolve to such addresses are caught when dialled.
func (h handler) checkEndpoint(raw *string) error {
	if raw == nil || *raw == "" || h.AllowPrivateNetworks {
		return nil
	}
	u, err := url.Parse(*raw)
	if err != nil {
		return nil // Validate has answered already
	}
	if netguard.CheckHost(u.Hostname()) != nil {
		return ari.Invalid(map[string]string{"a2aEndpoint": "must be on a public host (not localhost, not a private or reserved address)"})
	}
	return nil
}
