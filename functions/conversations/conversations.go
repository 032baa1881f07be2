// Package conversations serves /api/conversations: a user's conversations
// with their agents — start, list, rename or set the turn policy, delete or leave, read marks, mute,
// and whether a reply is being written. Every route answers only for
// conversations the caller is a member of; any other id is 404.
package conversations

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Deps are what the conversations function needs.
type Deps struct {
	DB     *store.DB
	Redis  redis.UniversalClient
	Keys   kv.Keys
	Auth   *auth.Authenticator
	Events *events.Publisher
	// Inputs records answers to agents' questions and approvals.
	Inputs *inputs.Answerer
}

type handler struct{ Deps }

// New returns the conversations router with every route behind sign-in.
func New(d Deps) *httpx.Router {
	h := handler{d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("POST /api/conversations", h.create)
	authed.HandleFunc("GET /api/conversations", h.list)
	authed.HandleFunc("GET /api/conversations/{id}", h.get)
	authed.HandleFunc("PUT /api/conversations/{id}", h.update)
	authed.HandleFunc("DELETE /api/conversations/{id}", h.delete)
	authed.HandleFunc("POST /api/conversations/{id}/read", h.read)
	authed.HandleFunc("POST /api/conversations/{id}/mute", h.mute)
	authed.HandleFunc("GET /api/conversations/{id}/status", h.status)
	authed.HandleFunc("GET /api/conversations/{id}/input-requests", h.conversationInputs)
	authed.HandleFunc("GET /api/input-requests", h.myInputs)
	authed.HandleFunc("POST /api/input-requests/{id}/answer", h.answer)
	return r
}

// storeErr maps the store's sentinels to what the client sees.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("conversation")
	case errors.Is(err, store.ErrNotAllowed):
		return ari.Errorf(ari.CodeForbidden, "your role in this conversation does not allow this")
	case errors.Is(err, store.ErrSeqAhead):
		return ari.Invalid(map[string]string{"seq": "is past the conversation's last message"})
	}
	return err
}

// withStreaming fills each conversation's Streaming flag from the relay's
// active-reply marks, in one round trip.
func (h handler) withStreaming(ctx context.Context, convs []ari.Conversation) error {
	if len(convs) == 0 {
		return nil
	}
	pipe := h.Redis.Pipeline()
	cmds := make([]*redis.IntCmd, len(convs))
	for i, c := range convs {
		cmds[i] = pipe.Exists(ctx, h.Keys.ConvActive(c.ID))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	for i, c := range cmds {
		convs[i].Streaming = c.Val() > 0
	}
	return nil
}

func (h handler) one(ctx context.Context, userID, id string) (ari.Conversation, error) {
	c, err := h.DB.ConversationFor(ctx, userID, id)
	if err != nil {
		return c, storeErr(err)
	}
	s := []ari.Conversation{c}
	err = h.withStreaming(ctx, s)
	return s[0], err
}

// publish sends ev to users; a failure is the request's failure, since the
// change would otherwise stay invisible to the other devices.
func (h handler) publish(ctx context.Context, users []string, t events.Type, convID string, data any) error {
	if len(users) == 0 {
		return nil
	}
	ev, err := events.New(t, convID, data)
	if err != nil {
		return err
	}
	return h.Events.ToUsers(ctx, users, ev)
}

func (h handler) create(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req CreateConversationRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	me := caller.ID
	c, err := h.DB.CreateDirectConversation(r.Context(), me, req.AgentID, req.Title)
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("agent")
	}
	if err != nil {
		return err
	}
	// The caller's other devices add it to their lists.
	if err := h.publish(r.Context(), []string{me}, events.ConversationCreated, c.ID, eventData(c)); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusCreated, c)
}

func (h handler) list(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.ConversationCursor](r, 30, 100)
	if err != nil {
		return err
	}
	convs, err := h.DB.ConversationsFor(r.Context(), caller.ID, after, limit+1)
	if err != nil {
		return err
	}
	more := len(convs) > limit
	if more {
		convs = convs[:limit]
	}
	if err := h.withStreaming(r.Context(), convs); err != nil {
		return err
	}
	page := httpx.NewPage(convs)
	if more {
		last := convs[len(convs)-1]
		page.NextCursor = httpx.CursorPtr(store.ConversationCursor{Activity: last.Activity().Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h handler) get(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	c, err := h.one(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, c)
}

func (h handler) update(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	me, id := caller.ID, r.PathValue("id")
	// Membership first, so a stranger gets 404 whatever the body holds.
	if _, err := h.DB.MemberRole(r.Context(), id, me); err != nil {
		return storeErr(err)
	}
	var req UpdateConversationRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	if _, err := h.DB.UpdateConversation(r.Context(), me, id, store.ConversationChange{Title: req.Title, TurnPolicy: req.TurnPolicy, ChainHops: req.ChainHops}); err != nil {
		return storeErr(err)
	}
	c, err := h.one(r.Context(), me, id)
	if err != nil {
		return err
	}
	users, err := h.DB.MemberUserIDs(r.Context(), id)
	if err != nil {
		return err
	}
	if err := h.publish(r.Context(), users, events.ConversationUpdated, id, eventData(c)); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, c)
}

// delete removes the conversation for everyone when the caller owns it;
// any other member leaves it instead.
func (h handler) delete(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	me, id := caller.ID, r.PathValue("id")
	role, err := h.DB.MemberRole(r.Context(), id, me)
	if err != nil {
		return storeErr(err)
	}
	if role == store.RoleOwner {
		users, err := h.DB.DeleteConversation(r.Context(), me, id)
		if err != nil {
			return storeErr(err)
		}
		if err := h.publish(r.Context(), users, events.ConversationDeleted, id, ConversationDeletedData{ConversationID: id}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	_, remaining, err := h.DB.LeaveConversation(r.Context(), me, id)
	if err != nil {
		return storeErr(err)
	}
	// The leaver's own devices drop the conversation on seeing their own id
	// (PROTOCOL.md: memberId is the user's or agent's id).
	data := MemberRemovedData{MemberID: me, Kind: "user"}
	if err := h.publish(r.Context(), append(remaining, me), events.MemberRemoved, id, data); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h handler) read(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	me, id := caller.ID, r.PathValue("id")
	if _, err := h.DB.MemberRole(r.Context(), id, me); err != nil {
		return storeErr(err)
	}
	var req ReadRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	stored, moved, err := h.DB.MarkConversationRead(r.Context(), me, id, *req.Seq)
	if err != nil {
		return storeErr(err)
	}
	if moved {
		// Only the reader's own devices care where they stopped reading.
		if err := h.publish(r.Context(), []string{me}, events.ReadUpdated, id, ReadUpdatedData{UserID: me, Seq: stored}); err != nil {
			return err
		}
	}
	return httpx.JSON(w, http.StatusOK, ReadResponse{ConversationID: id, LastReadSeq: stored})
}

func (h handler) mute(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	muted, err := h.DB.ToggleMute(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, MuteResponse{Muted: muted})
}

func (h handler) status(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	me, id := caller.ID, r.PathValue("id")
	if _, err := h.DB.MemberRole(r.Context(), id, me); err != nil {
		return storeErr(err)
	}
	agents, err := h.DB.ConversationAgentReach(r.Context(), id)
	if err != nil {
		return err
	}
	ctx := r.Context()
	pipe := h.Redis.Pipeline()
	active := pipe.Get(ctx, h.Keys.ConvActive(id))
	queued := pipe.LLen(ctx, h.Keys.ConvQueue(id))
	// Exec reports the first failing command; each is checked on its own below.
	_, _ = pipe.Exec(ctx)
	resp := StatusResponse{ConversationID: id, Agents: make([]AgentStatus, len(agents))}
	switch v, err := active.Result(); {
	case err == nil:
		resp.Streaming, resp.ActiveMessageID = true, &v
	case errors.Is(err, redis.Nil):
	case strings.HasPrefix(err.Error(), "WRONGTYPE"):
		// A mark of another shape still means a reply is active.
		resp.Streaming = true
	default:
		return err
	}
	if resp.Queued, err = queued.Result(); err != nil {
		return err
	}
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	sockets, err := presence.AgentSockets(ctx, h.Redis, h.Keys, ids)
	if err != nil {
		return err
	}
	for i, a := range agents {
		resp.Agents[i] = AgentStatus{ID: a.ID, Online: sockets[a.ID] || a.A2A}
		resp.AgentOnline = resp.AgentOnline || resp.Agents[i].Online
	}
	return httpx.JSON(w, http.StatusOK, resp)
}
