package communities

import (
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Membership, moderation, invites and agents of a community.

func (h *handler) members(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.MemberCursor](r, 50, 200)
	if err != nil {
		return err
	}
	list, err := h.DB.CommunityMembers(r.Context(), c.ID, r.PathValue("id"), after, limit+1)
	if err != nil {
		return storeErr(err)
	}
	page := httpx.NewPage(list)
	if len(list) > limit {
		page.Items = list[:limit]
		last := list[limit-1]
		page.NextCursor = httpx.CursorPtr(store.MemberCursor{Time: last.JoinedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h *handler) setRole(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req RoleRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	m, err := h.DB.SetCommunityRole(r.Context(), c.ID, id, r.PathValue("memberId"), req.Role)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, m)
}

func (h *handler) kick(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if err := h.DB.KickMember(r.Context(), c.ID, r.PathValue("id"), r.PathValue("memberId")); err != nil {
		return storeErr(err)
	}
	h.tellAll(r, events.ChannelMemberRemoved, h.communityChannels(r.Context(), c.ID, r.PathValue("id")),
		MemberRef{UserID: r.PathValue("memberId")})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) bans(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.MemberCursor](r, 50, 200)
	if err != nil {
		return err
	}
	list, err := h.DB.Bans(r.Context(), c.ID, r.PathValue("id"), after, limit+1)
	if err != nil {
		return storeErr(err)
	}
	page := httpx.NewPage(list)
	if len(list) > limit {
		page.Items = list[:limit]
		last := list[limit-1]
		page.NextCursor = httpx.CursorPtr(store.MemberCursor{Time: last.CreatedAt.Time, ID: last.UserID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h *handler) ban(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req BanRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	b, err := h.DB.BanMember(r.Context(), c.ID, id, req.UserID, req.Reason)
	if err != nil {
		return storeErr(err)
	}
	// Delivery stops at once, on every instance: the notice is ordered
	// with the channel's messages on each channel's topic.
	h.tellAll(r, events.ChannelMemberRemoved, h.communityChannels(r.Context(), c.ID, id), MemberRef{UserID: req.UserID})
	return httpx.JSON(w, http.StatusCreated, b)
}

func (h *handler) unban(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if err := h.DB.UnbanMember(r.Context(), c.ID, r.PathValue("id"), r.PathValue("userId")); err != nil {
		return storeErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) invites(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.CommunityCursor](r, 50, 100)
	if err != nil {
		return err
	}
	list, err := h.DB.Invites(r.Context(), c.ID, r.PathValue("id"), after, limit+1)
	if err != nil {
		return storeErr(err)
	}
	page := httpx.NewPage(list)
	if len(list) > limit {
		page.Items = list[:limit]
		last := list[limit-1]
		page.NextCursor = httpx.CursorPtr(store.CommunityCursor{Time: last.CreatedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

// InviteCodeLength is the length of generated invite codes (IDAlphabet,
// about 143 bits).
const InviteCodeLength = 24

func (h *handler) createInvite(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req CreateInviteRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	n := store.NewInvite{Code: auth.GenerateID(InviteCodeLength), MaxUses: req.MaxUses}
	if req.ExpiresInSeconds != nil {
		t := time.Now().Add(time.Duration(*req.ExpiresInSeconds) * time.Second)
		n.ExpiresAt = &t
	}
	inv, err := h.DB.CreateInvite(r.Context(), c.ID, id, n)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, inv)
}

func (h *handler) revokeInvite(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if err := h.DB.RevokeInvite(r.Context(), c.ID, r.PathValue("id"), r.PathValue("inviteId")); err != nil {
		return storeErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// inviteCode reads the path's code; one that cannot be a code names no invite.
func inviteCode(r *http.Request) (string, error) {
	code := r.PathValue("code")
	if len(code) < 16 || !ari.ValidID(code) {
		return "", store.ErrInviteInvalid
	}
	return code, nil
}

func (h *handler) invite(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	code, err := inviteCode(r)
	if err != nil {
		return storeErr(err)
	}
	com, err := h.DB.InviteCommunity(r.Context(), c.ID, code)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, com)
}

func (h *handler) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	code, err := inviteCode(r)
	if err != nil {
		return storeErr(err)
	}
	com, err := h.DB.AcceptInvite(r.Context(), c.ID, code)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, com)
}

func (h *handler) agents(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	list, err := h.DB.CommunityAgents(r.Context(), c.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	// Bounded by store.MaxCommunityAgents: one page.
	return httpx.JSON(w, http.StatusOK, httpx.NewPage(list))
}

func (h *handler) addAgent(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.CommunityRole(r.Context(), c.ID, id); err != nil {
		return storeErr(err)
	}
	var req AgentRequest
	if err := httpx.Decode(w, r, &req, 1<<10); err != nil {
		return err
	}
	a, err := h.DB.AddCommunityAgent(r.Context(), c.ID, id, req.AgentID)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, a)
}

func (h *handler) removeAgent(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if err := h.DB.RemoveCommunityAgent(r.Context(), c.ID, r.PathValue("id"), r.PathValue("agentId")); err != nil {
		return storeErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
