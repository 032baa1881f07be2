package communities

import (
	"net/http"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// Mute: a member turns off push notifications from a whole community or
// from one channel (stored on their membership and on their read row). Only
// mentions are ever pushed from channels, so mute silences those; they are
// still counted (mentionCount) for the member's badges.

// MuteRequest is the body of PUT /api/communities/{id}/mute and
// PUT /api/channels/{id}/mute.
type MuteRequest struct {
	Muted *bool `json:"muted"`
}

// Validate requires muted.
func (q *MuteRequest) Validate() map[string]string {
	if q.Muted == nil {
		return map[string]string{"muted": "is required (true or false)"}
	}
	return nil
}

// MuteResponse is the stored state.
type MuteResponse struct {
	Muted bool `json:"muted"`
}

func (h *handler) muteCommunity(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req MuteRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	got, err := h.DB.SetCommunityMuted(r.Context(), c.ID, id, *req.Muted)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, MuteResponse{Muted: got.Muted})
}

func (h *handler) muteChannel(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := h.channelFirst(r.Context(), c.ID, id); err != nil {
		return err
	}
	var req MuteRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	got, err := h.DB.SetChannelMuted(r.Context(), c.ID, id, *req.Muted)
	if err != nil {
		return channelErr(err)
	}
	return httpx.JSON(w, http.StatusOK, MuteResponse{Muted: got.Muted})
}
