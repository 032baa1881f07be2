// Package communities serves communities: public or private spaces where
// many people and agents talk in channels. A private community does not
// exist for anyone but its members (404, as for an unknown id); a public one
// shows its profile to everyone signed in, and is joined by anyone not
// banned, but its members, channels and messages are for members (403).
// Roles are owner, admin and member: admins run channels, invites, agents
// and moderation; owners also the slug, the visibility, roles and deletion.
package communities

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the handlers use.
type Deps struct {
	DB   *store.DB
	Auth *auth.Authenticator
	// Files, when set, gives attachments fresh links on every read and
	// has the objects of deleted messages' attachments removed.
	Files storage.Store
	// Events, when set, publishes what changes in a channel to the sockets
	// subscribed to it (live.go).
	Events *events.Publisher
	// Limiter counts SendRule per user in Redis, the counter the relay's
	// send_message counts against too (nil: no limit).
	Limiter  *ratelimit.Limiter
	SendRule ratelimit.Rule
	// Push notifies the members a message @mentions (pushtrigger.Inline:
	// a Lambda may freeze once it has answered); nil: no notifications.
	Push interface {
		ChannelMention(m pushtrigger.ChannelMention) bool
	}
	// Jobs, when set, hands the replies of agents a channel message
	// @mentions to the relay (nil: a mention starts no reply).
	Jobs *relayjob.Client
}

type handler struct{ Deps }

// New returns the communities router; every route needs a signed-in caller.
func New(d Deps) *httpx.Router {
	h := &handler{d}
	r := httpx.NewRouter()
	a := r.With(d.Auth.Require)
	a.HandleFunc("POST /api/communities", h.create)
	a.HandleFunc("GET /api/communities", h.directory)
	a.HandleFunc("GET /api/communities/joined", h.joined)
	a.HandleFunc("GET /api/communities/{id}", h.get)
	a.HandleFunc("PUT /api/communities/{id}", h.update)
	a.HandleFunc("DELETE /api/communities/{id}", h.delete)
	a.HandleFunc("POST /api/communities/{id}/join", h.join)
	a.HandleFunc("POST /api/communities/{id}/leave", h.leave)
	a.HandleFunc("PUT /api/communities/{id}/mute", h.muteCommunity)
	a.HandleFunc("GET /api/communities/{id}/members", h.members)
	a.HandleFunc("PUT /api/communities/{id}/members/{memberId}", h.setRole)
	a.HandleFunc("DELETE /api/communities/{id}/members/{memberId}", h.kick)
	a.HandleFunc("GET /api/communities/{id}/bans", h.bans)
	a.HandleFunc("POST /api/communities/{id}/bans", h.ban)
	a.HandleFunc("DELETE /api/communities/{id}/bans/{userId}", h.unban)
	a.HandleFunc("GET /api/communities/{id}/invites", h.invites)
	a.HandleFunc("POST /api/communities/{id}/invites", h.createInvite)
	a.HandleFunc("DELETE /api/communities/{id}/invites/{inviteId}", h.revokeInvite)
	a.HandleFunc("GET /api/invites/{code}", h.invite)
	a.HandleFunc("POST /api/invites/{code}/accept", h.acceptInvite)
	a.HandleFunc("GET /api/communities/{id}/agents", h.agents)
	a.HandleFunc("POST /api/communities/{id}/agents", h.addAgent)
	a.HandleFunc("DELETE /api/communities/{id}/agents/{agentId}", h.removeAgent)
	a.HandleFunc("GET /api/communities/{id}/channels", h.channels)
	a.HandleFunc("POST /api/communities/{id}/channels", h.createChannel)
	a.HandleFunc("PUT /api/communities/{id}/channels/order", h.reorderChannels)
	a.HandleFunc("GET /api/communities/{id}/messages/search", h.search)
	a.HandleFunc("GET /api/channels/{id}", h.channel)
	a.HandleFunc("PUT /api/channels/{id}", h.updateChannel)
	a.HandleFunc("DELETE /api/channels/{id}", h.deleteChannel)
	a.HandleFunc("POST /api/channels/{id}/agents", h.addChannelAgent)
	a.HandleFunc("DELETE /api/channels/{id}/agents/{agentId}", h.removeChannelAgent)
	a.HandleFunc("POST /api/channels/{id}/read", h.read)
	a.HandleFunc("PUT /api/channels/{id}/mute", h.muteChannel)
	a.HandleFunc("GET /api/channels/{id}/messages", h.history)
	a.HandleFunc("POST /api/channels/{id}/messages", h.send)
	a.HandleFunc("DELETE /api/channels/{id}/messages/{messageId}", h.deleteMessage)
	a.HandleFunc("GET /api/channels/{id}/messages/{messageId}/reactions", h.reactions)
	a.HandleFunc("POST /api/channels/{id}/messages/{messageId}/reactions", h.react)
	a.HandleFunc("DELETE /api/channels/{id}/messages/{messageId}/reactions/{emoji}", h.unreact)
	return r
}

// storeErr maps the store's answers to what the client sees, in one place.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("community")
	case errors.Is(err, store.ErrNotMember):
		return ari.Errorf(ari.CodeForbidden, "join the community first")
	case errors.Is(err, store.ErrBanned):
		return ari.Errorf(ari.CodeForbidden, "you are banned from this community")
	case errors.Is(err, store.ErrNotAllowed):
		return ari.Errorf(ari.CodeForbidden, "your role in this community does not allow this")
	case errors.Is(err, store.ErrLastOwner):
		return ari.Errorf(ari.CodeConflict, "make another member an owner before you leave or step down")
	case errors.Is(err, store.ErrAlreadyMember):
		return ari.Errorf(ari.CodeConflict, "already a member")
	case errors.Is(err, store.ErrSlugTaken):
		return ari.Errorf(ari.CodeConflict, "another community has this slug")
	case errors.Is(err, store.ErrInviteInvalid):
		return ari.Errorf(ari.CodeNotFound, "invite not found, expired, used up or revoked")
	case errors.Is(err, store.ErrTooManyAgents):
		return ari.Errorf(ari.CodeConflict, "a community has at most %d agents", store.MaxCommunityAgents)
	case errors.Is(err, store.ErrNameTaken):
		return ari.Errorf(ari.CodeConflict, "another channel of the community has this name")
	}
	return err
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req CreateCommunityRequest
	if err := httpx.Decode(w, r, &req, 16<<10); err != nil {
		return err
	}
	com, err := h.DB.CreateCommunity(r.Context(), c.ID, store.NewCommunity{Name: req.Name, Slug: req.Slug,
		Description: req.Description, Visibility: req.Visibility})
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, com)
}

func (h *handler) directory(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	q, err := searchText(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.CommunityCursor](r, 30, 100)
	if err != nil {
		return err
	}
	list, err := h.DB.PublicCommunities(r.Context(), c.ID, q, after, limit+1)
	if err != nil {
		return err
	}
	page := httpx.NewPage(list)
	if len(list) > limit {
		page.Items = list[:limit]
		last := list[limit-1]
		page.NextCursor = httpx.CursorPtr(store.CommunityCursor{Time: last.CreatedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h *handler) joined(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.CommunityCursor](r, 30, 100)
	if err != nil {
		return err
	}
	list, joined, err := h.DB.JoinedCommunities(r.Context(), c.ID, after, limit+1)
	if err != nil {
		return err
	}
	page := httpx.NewPage(list)
	if len(list) > limit {
		page.Items = list[:limit]
		page.NextCursor = httpx.CursorPtr(store.CommunityCursor{Time: joined[limit-1], ID: list[limit-1].ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	com, err := h.DB.Community(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, com)
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	// Standing first, so an outsider gets 404 whatever the body holds.
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req UpdateCommunityRequest
	if err := httpx.Decode(w, r, &req, 16<<10); err != nil {
		return err
	}
	com, err := h.DB.UpdateCommunity(r.Context(), c.ID, id, store.CommunityChange{Name: req.Name, Slug: req.Slug,
		Description: req.Description, Visibility: req.Visibility})
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, com)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	channels := h.communityChannels(r.Context(), c.ID, r.PathValue("id"))
	keys, err := h.DB.DeleteCommunity(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	h.tellAll(r, events.ChannelDeleted, channels, nil)
	h.deleteObjects(r, keys)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteObjects removes the objects of attachments whose rows are gone; a
// failure leaves only a stray file nothing links to.
func (h *handler) deleteObjects(r *http.Request, keys []string) {
	if h.Files == nil || len(keys) == 0 {
		return
	}
	if err := storage.DeleteObjects(r.Context(), h.Files, keys); err != nil {
		slog.WarnContext(r.Context(), "deleting attachment objects", "objects", len(keys), "err", err)
	}
}

func (h *handler) join(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	com, err := h.DB.JoinCommunity(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, com)
}

func (h *handler) leave(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	channels := h.communityChannels(r.Context(), c.ID, r.PathValue("id"))
	if err := h.DB.LeaveCommunity(r.Context(), c.ID, r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	h.tellAll(r, events.ChannelMemberRemoved, channels, MemberRef{UserID: c.ID})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
