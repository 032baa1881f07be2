// Package groups serves group conversations: creating one (its creator owns
// it), listing its members, and adding, promoting and removing members. Every
// membership change is told to all the group's users, the removed one too.
package groups

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the handlers use.
type Deps struct {
	DB     *store.DB
	Events *events.Publisher
	Auth   *auth.Authenticator
	// Limiter counts Limits per user in Redis; nil: no limits.
	Limiter *ratelimit.Limiter
	Limits  Limits
}

// Limits bound, per user, what reaches other people's lists: groups
// created, and members added (by POST .../members and by userIds and
// agentIds at creation alike, since both put a conversation in someone's
// list).
type Limits struct {
	Create  ratelimit.Rule
	Members ratelimit.Rule
}

// LimitsFrom reads RATE_LIMIT_GROUPS_PER_HOUR and
// RATE_LIMIT_GROUP_MEMBERS_PER_HOUR.
func LimitsFrom(groupsPerHour, membersPerHour int) Limits {
	return Limits{Create: ratelimit.PerHour("groups:create", groupsPerHour),
		Members: ratelimit.PerHour("groups:members", membersPerHour)}
}

// New returns the groups handler; every route needs a signed-in caller.
func New(d Deps) *httpx.Router {
	h := &handler{Deps: d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("POST /api/groups", h.create)
	authed.HandleFunc("GET /api/groups/{id}/members", h.members)
	authed.HandleFunc("POST /api/groups/{id}/members", h.add)
	authed.HandleFunc("PUT /api/groups/{id}/members/{memberId}", h.setRole)
	authed.HandleFunc("DELETE /api/groups/{id}/members/{memberId}", h.remove)
	return r
}

type handler struct{ Deps }

// CreateRequest is the body of POST /api/groups.
type CreateRequest struct {
	Title    string   `json:"title"`
	UserIDs  []string `json:"userIds"`
	AgentIDs []string `json:"agentIds"`
}

// Validate checks every field at once.
func (c *CreateRequest) Validate() map[string]string {
	f := map[string]string{}
	c.Title = strings.TrimSpace(c.Title)
	if n := utf8.RuneCountInString(c.Title); n == 0 || n > ari.MaxConversationTitle {
		f["title"] = "must be 1 to " + strconv.Itoa(ari.MaxConversationTitle) + " characters"
	}
	if p := idList(c.UserIDs, ari.MaxGroupMembers-1); p != "" {
		f["userIds"] = p
	}
	if p := idList(c.AgentIDs, ari.MaxGroupAgents); p != "" {
		f["agentIds"] = p
	}
	if len(c.UserIDs)+len(c.AgentIDs)+1 > ari.MaxGroupMembers {
		f["userIds"] = "a group has at most " + strconv.Itoa(ari.MaxGroupMembers) + " members"
	}
	return f
}

func idList(ids []string, max int) string {
	if len(ids) > max {
		return "at most " + strconv.Itoa(max) + " ids"
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || len(id) > 100 {
			return "must hold ids"
		}
		if seen[id] {
			return "must not repeat an id"
		}
		seen[id] = true
	}
	return ""
}

// conversationData is the payload of conversation_created.
type conversationData struct {
	Conversation eventConversation `json:"conversation"`
}

type eventConversation struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title,omitempty"`
	UpdatedAt ari.Time `json:"updatedAt"`
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req CreateRequest
	if err := httpx.Decode(w, r, &req, 64<<10); err != nil {
		return err
	}
	if err := h.limit(r.Context(), h.Limits.Create, c.ID, 1); err != nil {
		return err
	}
	if err := h.limit(r.Context(), h.Limits.Members, c.ID, len(req.UserIDs)+len(req.AgentIDs)); err != nil {
		return err
	}
	id, err := h.DB.CreateGroup(r.Context(), c.ID, store.NewGroup{Title: req.Title, UserIDs: req.UserIDs, AgentIDs: req.AgentIDs})
	if err != nil {
		return memberError(err)
	}
	conv, err := h.DB.ConversationFor(r.Context(), c.ID, id)
	if err != nil {
		return err
	}
	users, err := h.DB.MemberUserIDs(r.Context(), id)
	if err != nil {
		return err
	}
	data := conversationData{eventConversation{ID: conv.ID, Kind: conv.Kind, Title: conv.Title, UpdatedAt: conv.UpdatedAt}}
	if err := h.tell(r.Context(), users, events.ConversationCreated, id, data); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, conv)
}

func (h *handler) members(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	ms, err := h.DB.GroupMembers(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return memberError(err)
	}
	// A group is bounded (ari.MaxGroupMembers), so one page holds it all.
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(ms))
}

// AddRequest names exactly one user or agent to add.
type AddRequest struct {
	UserID  string `json:"userId"`
	AgentID string `json:"agentId"`
}

// Validate checks that exactly one id is given.
func (a *AddRequest) Validate() map[string]string {
	switch {
	case (a.UserID == "") == (a.AgentID == ""):
		return map[string]string{"userId": "give exactly one of userId and agentId"}
	case len(a.UserID) > 100 || len(a.AgentID) > 100:
		return map[string]string{"userId": "is not an id"}
	}
	return nil
}

// memberData is the member_added payload: who joined.
type memberData struct {
	Member eventMember `json:"member"`
}

type eventMember struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// memberRemovedData is the member_removed payload.
type memberRemovedData struct {
	MemberID string `json:"memberId"`
	Kind     string `json:"kind"`
}

func (h *handler) add(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req AddRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	if err := h.limit(r.Context(), h.Limits.Members, c.ID, 1); err != nil {
		return err
	}
	conv := r.PathValue("id")
	ch, err := h.DB.AddGroupMember(r.Context(), c.ID, conv, req.UserID, req.AgentID)
	if err != nil {
		return memberError(err)
	}
	data := memberData{eventMember{ID: ch.Member.ID, Kind: ch.Member.Kind, Name: ch.Member.Name}}
	if err := h.tell(r.Context(), ch.Notify, events.MemberAdded, conv, data); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, ch.Member)
}

// RoleRequest sets a member's role.
type RoleRequest struct {
	Role string `json:"role"`
}

// Validate checks the role is one of the three.
func (q *RoleRequest) Validate() map[string]string {
	switch q.Role {
	case store.RoleOwner, store.RoleAdmin, store.RoleMember:
		return nil
	}
	return map[string]string{"role": "must be owner, admin or member"}
}

func (h *handler) setRole(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req RoleRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	ch, err := h.DB.SetGroupRole(r.Context(), c.ID, r.PathValue("id"), r.PathValue("memberId"), req.Role)
	if err != nil {
		return memberError(err)
	}
	return httpx.JSON(w, http.StatusOK, ch.Member)
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	conv := r.PathValue("id")
	ch, err := h.DB.RemoveGroupMember(r.Context(), c.ID, conv, r.PathValue("memberId"))
	if err != nil {
		return memberError(err)
	}
	data := memberRemovedData{MemberID: ch.Member.ID, Kind: ch.Member.Kind}
	if err := h.tell(r.Context(), ch.Notify, events.MemberRemoved, conv, data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// limit counts n events of rule for the caller; over the limit it answers
// 429 rate_limited with Retry-After, before anything is stored.
func (h *handler) limit(ctx context.Context, rule ratelimit.Rule, userID string, n int) error {
	d := h.Limiter.AllowN(ctx, rule, userID, n)
	if d.Allowed {
		return nil
	}
	return &ari.Error{Code: ari.CodeRateLimited, Message: "too many group changes; try again later",
		RetryAfter: d.RetryAfterSeconds()}
}

func (h *handler) tell(ctx context.Context, users []string, t events.Type, conversationID string, data any) error {
	ev, err := events.New(t, conversationID, data)
	if err != nil {
		return err
	}
	return h.Events.ToUsers(ctx, users, ev)
}

// memberError maps the store's answers to client errors.
func memberError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("group")
	case errors.Is(err, store.ErrNotAllowed):
		return ari.Errorf(ari.CodeForbidden, "your role in this group does not allow that")
	case errors.Is(err, store.ErrLastOwner):
		return ari.Errorf(ari.CodeConflict, "make another member an owner before you leave or step down")
	case errors.Is(err, store.ErrAlreadyMember):
		return ari.Errorf(ari.CodeConflict, "already a member of this group")
	case errors.Is(err, store.ErrGroupFull):
		return ari.Errorf(ari.CodeConflict, "the group has %d members, the most it can have", ari.MaxGroupMembers)
	}
	return err
}
