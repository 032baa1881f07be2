// Package messages serves a conversation's history by seq, full-text search
// over the caller's conversations, deleting one's own messages, the
// messages agents without a socket start (POST /api/agent/messages, the REST
// form of the relay's agent_message), and regenerate (the REST form of the
// relay's frame, carried out by a relay instance: shared/relayjob). People's
// sends are the relay's job (it allocates seqs and starts replies).
package messages

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/seqpage"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Bounds of the search endpoint.
const (
	MaxQueryLen        = 1000 // characters of q
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
)

// Deps are what the handlers use.
type Deps struct {
	DB     *store.DB
	Events *events.Publisher
	Auth   *auth.Authenticator
	// Files, when set, gives attachments fresh links on every read and has
	// the objects of a deleted message's attachments removed.
	Files storage.Store
	// Poster stores and announces agents' own messages.
	Poster *agentpost.Poster
	// Jobs hands what only the relay may do (a regenerate) to a relay
	// instance.
	Jobs *relayjob.Client
}

// New returns the messages handler; every route needs a signed-in caller.
func New(d Deps) *httpx.Router {
	h := &handler{Deps: d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("GET /api/conversations/{id}/messages", h.page)
	authed.HandleFunc("GET /api/messages/search", h.search)
	authed.HandleFunc("DELETE /api/messages/{id}", h.delete)
	authed.HandleFunc("POST /api/conversations/{id}/messages/{messageId}/regenerate", h.regenerate)
	// An agent's token, not a session: the handler authenticates it.
	r.HandleFunc("POST /api/agent/messages", h.agentMessage)
	return r
}

type handler struct{ Deps }

func (h *handler) page(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	q, err := seqpage.Parse(r, true)
	if err != nil {
		return err
	}
	p, err := h.DB.MessagesPage(r.Context(), c.ID, r.PathValue("id"), q)
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("conversation")
	}
	if err != nil {
		return err
	}
	if err := h.freshLinks(r.Context(), p.Items); err != nil {
		return err
	}
	out := seqpage.Page(p.Items, func(m store.ListedMessage) int64 { return m.Seq }, q, p.HasOlder, p.HasNewer)
	return httpx.JSON(w, http.StatusOK, out)
}

// searchCursor continues a search after its last hit.
type searchCursor = store.SearchCursor

// SearchHit is one result of a search.
type SearchHit struct {
	Message store.ListedMessage `json:"message"`
	// Snippet is HTML: the text around the matches, escaped, with each match
	// wrapped in <mark>…</mark>.
	Snippet string  `json:"snippet"`
	Rank    float32 `json:"rank"`
}

func (h *handler) search(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := store.SearchQuery{Text: strings.TrimSpace(v.Get("q")), ConversationID: v.Get("conversationId"), Limit: DefaultSearchLimit}
	fields := map[string]string{}
	switch {
	case !utf8.ValidString(q.Text) || strings.ContainsRune(q.Text, 0):
		fields["q"] = "must be valid UTF-8 text"
	case q.Text == "":
		fields["q"] = "is required"
	case utf8.RuneCountInString(q.Text) > MaxQueryLen:
		fields["q"] = "must be at most " + strconv.Itoa(MaxQueryLen) + " characters"
	}
	if v.Has("conversationId") && (q.ConversationID == "" || len(q.ConversationID) > 100) {
		fields["conversationId"] = "must be a conversation id"
	}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > MaxSearchLimit {
			fields["limit"] = "must be an integer from 1 to " + strconv.Itoa(MaxSearchLimit)
		}
		q.Limit = n
	}
	if v.Has("cursor") {
		var sc searchCursor
		if err := httpx.DecodeCursor(v.Get("cursor"), &sc); err != nil || sc.ID == "" {
			fields["cursor"] = "is not a valid cursor"
		}
		q.After = &sc
	}
	if len(fields) > 0 {
		return ari.Invalid(fields)
	}
	hits, more, err := h.DB.SearchMessages(r.Context(), c.ID, q)
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("conversation")
	}
	if err != nil {
		return err
	}
	items := make([]SearchHit, len(hits))
	msgs := make([]store.ListedMessage, len(hits))
	for i, hit := range hits {
		msgs[i] = hit.Message
	}
	if err := h.freshLinks(r.Context(), msgs); err != nil {
		return err
	}
	for i, hit := range hits {
		items[i] = SearchHit{Message: msgs[i], Snippet: hit.Snippet, Rank: hit.Rank}
	}
	out := httpx.NewPage(items)
	if more {
		last := hits[len(hits)-1]
		out.NextCursor = httpx.CursorPtr(searchCursor{Rank: last.Rank, Seq: last.Message.Seq, ID: last.Message.ID})
	}
	return httpx.JSON(w, http.StatusOK, out)
}

// MessageDeletedData is the payload of the message_deleted event.
type MessageDeletedData struct {
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	d, err := h.DB.DeleteMessage(r.Context(), c.ID, r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("message")
	case errors.Is(err, store.ErrNotYours):
		return ari.Errorf(ari.CodeForbidden, "only the sender can delete a message")
	case err != nil:
		return err
	}
	if h.Files != nil && len(d.StorageKeys) > 0 {
		// The rows are gone, so a failed object delete leaves only a stray
		// file that nothing links to; the orphan sweep is not needed for it
		// and the client's delete has succeeded.
		if err := storage.DeleteObjects(r.Context(), h.Files, d.StorageKeys); err != nil {
			slog.WarnContext(r.Context(), "deleting attachment objects", "message", d.ID, "err", err)
		}
	}
	// Published again on a repeated delete, so a retry after a failed publish
	// still tells every device; a tombstone applied twice changes nothing.
	if err := h.tellMembers(r.Context(), d.ConversationID, events.MessageDeleted, MessageDeletedData{MessageID: d.ID, Seq: d.Seq}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) tellMembers(ctx context.Context, conversationID string, t events.Type, data any) error {
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

func (h *handler) freshLinks(ctx context.Context, items []store.ListedMessage) error {
	if h.Files == nil {
		return nil
	}
	for i := range items {
		if len(items[i].Attachments) > 0 {
			if err := storage.FreshURLs(ctx, h.Files, items[i].Attachments); err != nil {
				return err
			}
		}
	}
	return nil
}
