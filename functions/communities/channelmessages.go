package communities

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
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/seqpage"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Channel messages over REST: send (idempotent by clientMessageId, the
// per-user send limit the relay's send_message counts against too),
// history by seq, search over a community, delete, reactions.

// messageErr is channelErr for routes about one message.
func messageErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotYours):
		return ari.Errorf(ari.CodeForbidden, "only the sender or an admin can delete a message")
	case errors.Is(err, store.ErrMessageDeleted):
		return ari.Errorf(ari.CodeConflict, "the message was deleted")
	case errors.Is(err, store.ErrTooManyReactions):
		return ari.Errorf(ari.CodeConflict, "at most %d different reactions per message", ari.MaxReactionsPerUser)
	case errors.Is(err, store.ErrClientIDInUse):
		return ari.Errorf(ari.CodeConflict, "clientMessageId was already used for a message in another channel")
	}
	return channelErr(err)
}

// SendRequest is the body of POST /api/channels/{id}/messages.
type SendRequest struct {
	// ClientMessageID makes the send idempotent: a retry with the same id
	// answers the stored message.
	ClientMessageID string   `json:"clientMessageId"`
	Content         string   `json:"content"`
	AttachmentIDs   []string `json:"attachmentIds"`
}

// Validate checks every field at once.
func (q *SendRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !ari.ValidID(q.ClientMessageID) {
		bad["clientMessageId"] = "must be 1 to " + strconv.Itoa(ari.MaxIDBytes) + " of A-Z, a-z, 0-9, _ and -"
	}
	if len(q.Content) > ari.MaxMessageBytes {
		bad["content"] = "at most " + strconv.Itoa(ari.MaxMessageBytes) + " bytes"
	} else if strings.TrimSpace(q.Content) == "" && len(q.AttachmentIDs) == 0 {
		bad["content"] = "is required (or attachmentIds)"
	}
	if len(q.AttachmentIDs) > store.MaxAttachmentsPerMessage {
		bad["attachmentIds"] = "at most " + strconv.Itoa(store.MaxAttachmentsPerMessage) + " attachments per message"
	} else {
		seen := map[string]bool{}
		for _, id := range q.AttachmentIDs {
			if !ari.ValidID(id) || seen[id] {
				bad["attachmentIds"] = "must list attachment ids, each once"
				break
			}
			seen[id] = true
		}
	}
	return bad
}

func (h *handler) send(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req SendRequest
	if err := httpx.Decode(w, r, &req, 64<<10); err != nil {
		return err
	}
	// Before anything touches Postgres: a flood costs one Redis round trip.
	if d := h.Limiter.Allow(r.Context(), h.SendRule, c.ID); !d.Allowed {
		return &ari.Error{Code: ari.CodeRateLimited, Message: "too many messages; nothing was stored; send again later",
			RetryAfter: d.RetryAfterSeconds()}
	}
	in := store.NewChannelMessage{UserID: c.ID, ChannelID: id,
		Content: req.Content, ClientMessageID: req.ClientMessageID, Attachments: req.AttachmentIDs}
	if h.Jobs != nil {
		in.Deployment = h.Jobs.Deployment()
	}
	s, err := h.DB.SendChannelMessage(r.Context(), in)
	if err != nil {
		return messageErr(err)
	}
	if err := h.freshLinks(r.Context(), []store.ListedChannelMessage{s.Message}); err != nil {
		return err
	}
	status := http.StatusCreated
	if s.Created {
		h.tell(r, events.ChannelMessageNew, id, NewMessage{Message: s.Message})
		h.mentioned(s, c.Name)
		h.queueReplies(r, id, s.Replies)
	} else {
		status = http.StatusOK
	}
	return httpx.JSON(w, status, s.Message)
}

func (h *handler) history(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	q, err := seqpage.Parse(r, false)
	if err != nil {
		return err
	}
	p, err := h.DB.ChannelMessagesPage(r.Context(), c.ID, id, q)
	if err != nil {
		return channelErr(err)
	}
	if err := h.freshLinks(r.Context(), p.Items); err != nil {
		return err
	}
	out := seqpage.Page(p.Items, func(m store.ListedChannelMessage) int64 { return m.Seq }, q, p.HasOlder, p.HasNewer)
	return httpx.JSON(w, http.StatusOK, out)
}

// SearchHit is one result of a channel search.
type SearchHit struct {
	Message store.ListedChannelMessage `json:"message"`
	// Snippet is HTML: the text around the matches, escaped, with each
	// match wrapped in <mark>…</mark>.
	Snippet string  `json:"snippet"`
	Rank    float32 `json:"rank"`
}

// Bounds of the search endpoint (as for conversations).
const (
	MaxSearchQuery     = 1000
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
)

func (h *handler) search(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	v := r.URL.Query()
	q := store.ChannelSearchQuery{Text: strings.TrimSpace(v.Get("q")), CommunityID: id, ChannelID: v.Get("channelId"), Limit: DefaultSearchLimit}
	fields := map[string]string{}
	switch {
	case q.Text == "":
		fields["q"] = "is required"
	case utf8.RuneCountInString(q.Text) > MaxSearchQuery:
		fields["q"] = "must be at most " + strconv.Itoa(MaxSearchQuery) + " characters"
	}
	if v.Has("channelId") && !ari.ValidID(q.ChannelID) {
		fields["channelId"] = "must be a channel id"
	}
	if v.Has("limit") {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > MaxSearchLimit {
			fields["limit"] = "must be an integer from 1 to " + strconv.Itoa(MaxSearchLimit)
		}
		q.Limit = n
	}
	if v.Has("cursor") {
		var sc store.SearchCursor
		if err := httpx.DecodeCursor(v.Get("cursor"), &sc); err != nil || sc.ID == "" {
			fields["cursor"] = "is not a valid cursor"
		}
		q.After = &sc
	}
	if len(fields) > 0 {
		return ari.Invalid(fields)
	}
	hits, more, err := h.DB.SearchChannelMessages(r.Context(), c.ID, q)
	if err != nil {
		return storeErr(err)
	}
	msgs := make([]store.ListedChannelMessage, len(hits))
	for i := range hits {
		msgs[i] = hits[i].Message
	}
	if err := h.freshLinks(r.Context(), msgs); err != nil {
		return err
	}
	items := make([]SearchHit, len(hits))
	for i, hit := range hits {
		items[i] = SearchHit{Message: msgs[i], Snippet: hit.Snippet, Rank: hit.Rank}
	}
	out := httpx.NewPage(items)
	if more {
		last := hits[len(hits)-1]
		out.NextCursor = httpx.CursorPtr(store.SearchCursor{Rank: last.Rank, Seq: last.Message.Seq, ID: last.Message.ID})
	}
	return httpx.JSON(w, http.StatusOK, out)
}

func (h *handler) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	d, err := h.DB.DeleteChannelMessage(r.Context(), c.ID, r.PathValue("id"), r.PathValue("messageId"))
	if err != nil {
		return messageErr(err)
	}
	h.tell(r, events.ChannelMessageDeleted, r.PathValue("id"), MessageRef{MessageID: r.PathValue("messageId")})
	h.deleteObjects(r, d.StorageKeys)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) reactions(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	counts, err := h.DB.ChannelReactions(r.Context(), c.ID, r.PathValue("id"), r.PathValue("messageId"))
	if err != nil {
		return messageErr(err)
	}
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(counts))
}

// ReactionRequest is the body of POST .../reactions.
type ReactionRequest struct {
	Emoji string `json:"emoji"`
}

var emojiProblem = "must be a single emoji of at most " + strconv.Itoa(ari.MaxEmojiBytes) + " bytes"

// Validate checks the emoji.
func (q *ReactionRequest) Validate() map[string]string {
	if !ari.ValidEmoji(q.Emoji) {
		return map[string]string{"emoji": emojiProblem}
	}
	return nil
}

func (h *handler) react(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req ReactionRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	changed, count, err := h.DB.AddChannelReaction(r.Context(), c.ID, id, r.PathValue("messageId"), req.Emoji)
	if err != nil {
		return messageErr(err)
	}
	status := http.StatusOK
	if changed {
		status = http.StatusCreated
		h.tell(r, events.ChannelReactionAdded, id, ReactionData{r.PathValue("messageId"), c.ID, req.Emoji})
	}
	return httpx.JSON(w, status, ari.ReactionCount{Emoji: req.Emoji, Count: count, Me: true})
}

func (h *handler) unreact(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	emoji := r.PathValue("emoji")
	if !ari.ValidEmoji(emoji) {
		return ari.Invalid(map[string]string{"emoji": emojiProblem})
	}
	changed, err := h.DB.RemoveChannelReaction(r.Context(), c.ID, id, r.PathValue("messageId"), emoji)
	if err != nil {
		return messageErr(err)
	}
	if changed {
		h.tell(r, events.ChannelReactionRemoved, id, ReactionData{r.PathValue("messageId"), c.ID, emoji})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// freshLinks gives attachments fresh links (presigned ones expire).
func (h *handler) freshLinks(ctx context.Context, items []store.ListedChannelMessage) error {
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

// mentioned pushes to the members the new message @mentions (only they
// hear of channel traffic by push).
func (h *handler) mentioned(s store.ChannelSend, senderName string) {
	if h.Push == nil || len(s.Mentioned) == 0 {
		return
	}
	h.Push.ChannelMention(pushtrigger.ChannelMention{ChannelID: s.Message.ChannelID, MessageID: s.Message.ID,
		SenderName: senderName, Text: s.Message.Content, UserIDs: s.Mentioned})
}
