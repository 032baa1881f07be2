// Package reactions serves emoji reactions on messages: add (idempotent),
// remove, and counts per emoji. Members of the conversation are told of every
// change; anyone else gets 404 for the message.
package reactions

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the handlers use.
type Deps struct {
	DB     *store.DB
	Events *events.Publisher
	Auth   *auth.Authenticator
}

// New returns the reactions handler; every route needs a signed-in caller.
func New(d Deps) *httpx.Router {
	h := &handler{Deps: d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("GET /api/messages/{id}/reactions", h.list)
	authed.HandleFunc("POST /api/messages/{id}/reactions", h.add)
	authed.HandleFunc("DELETE /api/messages/{id}/reactions/{emoji}", h.remove)
	return r
}

type handler struct{ Deps }

// AddRequest is the body of POST /api/messages/{id}/reactions.
type AddRequest struct {
	Emoji string `json:"emoji"`
}

var emojiProblem = "must be a single emoji of at most " + strconv.Itoa(ari.MaxEmojiBytes) + " bytes"

// Validate checks the emoji.
func (a *AddRequest) Validate() map[string]string {
	if !ari.ValidEmoji(a.Emoji) {
		return map[string]string{"emoji": emojiProblem}
	}
	return nil
}

// ReactionData is the payload of reaction_added and reaction_removed.
type ReactionData struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	counts, err := h.DB.Reactions(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return reactionError(err)
	}
	// Bounded by the emoji in use on one message; one page holds them.
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(counts))
}

func (h *handler) add(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req AddRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	id := r.PathValue("id")
	ch, err := h.DB.AddReaction(r.Context(), c.ID, id, req.Emoji)
	if err != nil {
		return reactionError(err)
	}
	status := http.StatusOK
	if ch.Changed {
		status = http.StatusCreated
		if err := h.tell(r.Context(), events.ReactionAdded, ch.ConversationID, ReactionData{id, c.ID, req.Emoji}); err != nil {
			return err
		}
	}
	return httpx.JSON(w, status, ari.ReactionCount{Emoji: req.Emoji, Count: ch.Count, Me: true})
}

func (h *handler) remove(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	emoji := r.PathValue("emoji")
	if !ari.ValidEmoji(emoji) {
		return ari.Invalid(map[string]string{"emoji": emojiProblem})
	}
	id := r.PathValue("id")
	ch, err := h.DB.RemoveReaction(r.Context(), c.ID, id, emoji)
	if err != nil {
		return reactionError(err)
	}
	if ch.Changed {
		if err := h.tell(r.Context(), events.ReactionRemoved, ch.ConversationID, ReactionData{id, c.ID, emoji}); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) tell(ctx context.Context, t events.Type, conversationID string, data ReactionData) error {
	users, err := h.DB.MemberUserIDs(ctx, conversationID)
	if err != nil {
		return err
	}
	ev, err := events.New(t, conversationID, data)
	if err != nil {
		return err
	}
	return h.Events.ToUsers(ctx, users, ev)
}

func reactionError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("message")
	case errors.Is(err, store.ErrMessageDeleted):
		return ari.Errorf(ari.CodeConflict, "the message was deleted")
	case errors.Is(err, store.ErrTooManyReactions):
		return ari.Errorf(ari.CodeConflict, "at most %d different reactions per message", ari.MaxReactionsPerUser)
	}
	return err
}
