package communities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Channels: admins create, rename, reorder, give topics to and delete them,
// and choose the community agents that may answer in each; members list
// them with their unread counts and move their read marks.

// channelErr is storeErr for routes whose path names a channel.
func channelErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("channel")
	case errors.Is(err, store.ErrTooManyChannels):
		return ari.Errorf(ari.CodeConflict, "a community has at most %d channels", store.MaxChannels)
	case errors.Is(err, store.ErrChannelOrder):
		return ari.Invalid(map[string]string{"channelIds": "must list every channel of the community exactly once"})
	}
	return storeErr(err)
}

// channelFirst answers 404/403 for a channel the caller may not use before
// its body is read, so an outsider learns nothing from a body's problems.
func (h *handler) channelFirst(ctx context.Context, userID, channelID string) error {
	if _, err := h.DB.ChannelAccess(ctx, userID, channelID); err != nil {
		return channelErr(err)
	}
	return nil
}

func (h *handler) channels(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	list, err := h.DB.Channels(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	// Bounded by store.MaxChannels: one page.
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(list))
}

// ChannelRequest is the body of POST /api/communities/{id}/channels and
// PUT /api/channels/{id} (where absent fields stay as they are).
type ChannelRequest struct {
	Name  *string `json:"name"`
	Topic *string `json:"topic"`
	// create: the name is required.
	create bool
}

// Validate checks the name and topic.
func (q *ChannelRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Name == nil && (q.create || q.Topic == nil) {
		bad["name"] = "is required"
		if !q.create {
			bad["name"] = "give name or topic (or both)"
		}
	}
	if q.Name != nil {
		checkName(bad, "name", q.Name)
	}
	if q.Topic != nil {
		t := strings.TrimSpace(*q.Topic)
		q.Topic = &t
		checkLen(bad, "topic", t, MaxTopic)
	}
	return bad
}

func (h *handler) createChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	req := ChannelRequest{create: true}
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	topic := ""
	if req.Topic != nil {
		topic = *req.Topic
	}
	ch, err := h.DB.CreateChannel(r.Context(), c.ID, id, *req.Name, topic)
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, ch)
}

// OrderRequest is the body of PUT /api/communities/{id}/channels/order.
type OrderRequest struct {
	ChannelIDs []string `json:"channelIds"`
}

// Validate checks the list's shape; the store checks it is the community's.
func (q *OrderRequest) Validate() map[string]string {
	if len(q.ChannelIDs) == 0 || len(q.ChannelIDs) > store.MaxChannels {
		return map[string]string{"channelIds": fmt.Sprintf("must list 1 to %d channel ids", store.MaxChannels)}
	}
	seen := map[string]bool{}
	for _, id := range q.ChannelIDs {
		if !ari.ValidID(id) || seen[id] {
			return map[string]string{"channelIds": "must list every channel of the community exactly once"}
		}
		seen[id] = true
	}
	return nil
}

func (h *handler) reorderChannels(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req OrderRequest
	if err := httpx.Decode(w, r, &req, 32<<10); err != nil {
		return err
	}
	list, err := h.DB.ReorderChannels(r.Context(), c.ID, id, req.ChannelIDs)
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(list))
}

func (h *handler) channel(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	ch, err := h.DB.Channel(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, ch)
}

func (h *handler) updateChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req ChannelRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	ch, err := h.DB.UpdateChannel(r.Context(), c.ID, id, store.ChannelChange{Name: req.Name, Topic: req.Topic})
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, ch)
}

func (h *handler) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	keys, err := h.DB.DeleteChannel(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return channelErr(err)
	}
	h.tell(r, events.ChannelDeleted, r.PathValue("id"), nil)
	h.deleteObjects(r, keys)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) addChannelAgent(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req AgentRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	ch, err := h.DB.AddChannelAgent(r.Context(), c.ID, id, req.AgentID)
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, ch)
}

func (h *handler) removeChannelAgent(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if err := h.DB.RemoveChannelAgent(r.Context(), c.ID, r.PathValue("id"), r.PathValue("agentId")); err != nil {
		return channelErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ReadRequest is the body of POST /api/channels/{id}/read: the caller has
// read everything up to and including Seq.
type ReadRequest struct {
	Seq *int64 `json:"seq"`
}

// Validate requires a non-negative seq.
func (q *ReadRequest) Validate() map[string]string {
	switch {
	case q.Seq == nil:
		return map[string]string{"seq": "is required"}
	case *q.Seq < 0 || *q.Seq > 1<<53:
		return map[string]string{"seq": "must be a seq (0 or more)"}
	}
	return nil
}

// ReadResponse is the stored mark, which may be higher than the one sent
// (marks never move backwards) or lower (never past the channel's last seq).
type ReadResponse struct {
	ChannelID   string `json:"channelId"`
	LastReadSeq int64  `json:"lastReadSeq"`
}

func (h *handler) read(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req ReadRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	seq, err := h.DB.MarkChannelRead(r.Context(), c.ID, id, *req.Seq)
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, ReadResponse{ChannelID: id, LastReadSeq: seq})
}
