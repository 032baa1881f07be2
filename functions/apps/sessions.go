package apps

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// App sessions (relay/PROTOCOL.md section 15, "App sessions"): a member
// opens an installed app in a conversation; its state document changes by
// optimistic concurrency (a write names the version it was derived from);
// the opener or the conversation's owner ends it. Every change is an event
// to the conversation's members.

// CodeVersionConflict is the error code of a state write that named an old
// version (409): the message and fields.version say the current one.
const CodeVersionConflict ari.Code = "version_conflict"

// OpenSessionRequest is the body of POST /api/conversations/{id}/app-sessions.
type OpenSessionRequest struct {
	AppID string `json:"appId"`
	Mode  string `json:"mode"`
	// AgentID is the conversation's agent the app works with: required for
	// agent_only and shared, optional for user_only (an agent that only
	// watches).
	AgentID *string `json:"agentId"`
}

// Validate checks every field at once.
func (q *OpenSessionRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !ari.ValidID(q.AppID) {
		bad["appId"] = "is required: the id of an app you installed"
	}
	mode := appbridge.ControlMode(q.Mode)
	switch {
	case !mode.Valid():
		bad["mode"] = "must be user_only, agent_only or shared"
	case q.AgentID == nil && mode != appbridge.ModeUserOnly:
		bad["agentId"] = "is required in " + q.Mode + " mode: the conversation's agent that drives the app"
	}
	if q.AgentID != nil && !ari.ValidID(*q.AgentID) {
		bad["agentId"] = "is not an agent id"
	}
	return bad
}

// StateRequest is the body of PUT /api/app-sessions/{id}/state: the new
// state and the version it was derived from.
type StateRequest struct {
	Version *int64          `json:"version"`
	State   json.RawMessage `json:"state"`
}

// Validate checks the version and the state document; State becomes its
// canonical form.
func (q *StateRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Version == nil || *q.Version < 1 {
		bad["version"] = "is required: the version the new state was derived from (at least 1)"
	}
	if len(q.State) == 0 || string(q.State) == "null" {
		bad["state"] = "is required: a JSON object"
	} else if canon, err := appbridge.ParseState(q.State); err != nil {
		bad["state"] = err.Error()
	} else {
		q.State = canon
	}
	return bad
}

// AppSessionData is the data of app_session_started, _updated and _ended
// (relay/PROTOCOL.md section 7): the session after the change.
type AppSessionData struct {
	Session ari.AppSessionView `json:"session"`
}

// sessionErr maps the store's sentinels for a session to what the client sees.
func sessionErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("app session")
	case errors.Is(err, store.ErrNotAllowed):
		return ari.Errorf(ari.CodeForbidden, "only the member who opened the app or the conversation's owner may end it")
	case errors.Is(err, store.ErrSessionEnded):
		return ari.Errorf(ari.CodeConflict, "the app session has ended")
	}
	return err
}

// tell sends an app session event to the conversation's members.
func (h handler) tell(r *http.Request, users []string, t events.Type, v ari.AppSessionView) error {
	if len(users) == 0 {
		return nil
	}
	ev, err := events.New(t, v.ConversationID, AppSessionData{Session: v})
	if err != nil {
		return err
	}
	return h.Events.ToUsers(r.Context(), users, ev)
}

func (h handler) openSession(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	conv := r.PathValue("id")
	// Membership first, so a stranger gets 404 whatever the body holds.
	if _, err := h.DB.MemberRole(r.Context(), conv, caller.ID); errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("conversation")
	} else if err != nil {
		return err
	}
	var req OpenSessionRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	v, users, err := h.DB.OpenAppSession(r.Context(), caller.ID, conv, store.NewAppSession{AppID: req.AppID, Mode: req.Mode, AgentID: req.AgentID})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("conversation")
	case errors.Is(err, store.ErrNotInstalled):
		return ari.Errorf(ari.CodeForbidden, "you have not installed this app (POST /api/apps/{id}/install)")
	case errors.Is(err, store.ErrAgentNotMember):
		return ari.Invalid(map[string]string{"agentId": "is not an agent of this conversation"})
	case errors.Is(err, store.ErrSessionOpen):
		return ari.Errorf(ari.CodeConflict, "this app is already open in the conversation")
	case err != nil:
		return storeErr(err)
	}
	if err := h.tell(r, users, events.AppSessionStarted, v); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, v)
}

func (h handler) conversationSessions(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	list, err := h.DB.ConversationAppSessions(r.Context(), caller.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("conversation")
	} else if err != nil {
		return err
	}
	// At most one open session per app: one page, no cursors.
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(list))
}

func (h handler) session(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	v, err := h.DB.AppSessionFor(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return sessionErr(err)
	}
	return httpx.JSON(w, http.StatusOK, v)
}

func (h handler) sessionState(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	// Membership first, so a stranger gets 404 whatever the body holds.
	if _, err := h.DB.AppSessionFor(r.Context(), caller.ID, id); err != nil {
		return sessionErr(err)
	}
	var req StateRequest
	if err := httpx.Decode(w, r, &req, appbridge.MaxStateBytes+1024); err != nil {
		return err
	}
	v, users, err := h.DB.UpdateAppSessionState(r.Context(), caller.ID, id, *req.Version, req.State)
	if errors.Is(err, store.ErrStaleVersion) {
		return &ari.Error{Code: CodeVersionConflict, Status: http.StatusConflict,
			Message: fmt.Sprintf("the state changed since version %d; the session is at version %d: apply your change to its current state (GET /api/app-sessions/%s) and send that version",
				*req.Version, v.Version, v.ID),
			Fields: map[string]string{"version": fmt.Sprintf("is stale: the session is at version %d", v.Version)}}
	}
	if err != nil {
		return sessionErr(err)
	}
	if err := h.tell(r, users, events.AppSessionUpdated, v); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, v)
}

func (h handler) endSession(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	v, users, ended, err := h.DB.EndAppSession(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return sessionErr(err)
	}
	if ended {
		if err := h.tell(r, users, events.AppSessionEnded, v); err != nil {
			return err
		}
	}
	return httpx.JSON(w, http.StatusOK, v)
}
