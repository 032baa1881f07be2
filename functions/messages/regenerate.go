package messages

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/store"
)

// codeConversationBusy is the relay's error code of the same name: the turn
// policy or the one-regenerate-at-a-time rule refused, nothing was stored.
const codeConversationBusy ari.Code = "conversation_busy"

// regenerateBody is the optional body of a regenerate.
type regenerateBody struct {
	AgentID string `json:"agentId"`
}

func (b *regenerateBody) Validate() map[string]string {
	if b.AgentID != "" && !ari.ValidID(b.AgentID) {
		return map[string]string{"agentId": "must be 1-64 characters of A-Z a-z 0-9 _ -"}
	}
	return nil
}

// regenerate is POST /api/conversations/{id}/messages/{messageId}/regenerate,
// the REST form of the client frame regenerate (PROTOCOL.md section 10).
// Starting, queueing and interrupting replies is the relay's alone, so the
// request is handed to a relay instance as a job (shared/relayjob), which
// carries it out exactly as the frame, under the caller's session, and
// answers with what regenerate_ack says. 202: the new version is stored and
// on its way; its stream frames reach the members' sockets.
func (h *handler) regenerate(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var in regenerateBody
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &in, 4<<10); err != nil {
			return err
		}
	}
	conv, msg := r.PathValue("id"), r.PathValue("messageId")
	// An outsider, or a message that is not the conversation's, learns
	// nothing and costs no relay a job.
	if err := h.DB.SeesMessage(r.Context(), c.ID, conv, msg); errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("message")
	} else if err != nil {
		return err
	}
	ans, err := h.Jobs.Submit(r.Context(), relayjob.Job{Kind: relayjob.KindRegenerate, UserID: c.ID, SessionID: c.SessionID,
		ConversationID: conv, MessageID: msg, AgentID: in.AgentID})
	switch {
	case errors.Is(err, relayjob.ErrNotTaken):
		return &ari.Error{Code: ari.CodeUnavailable, RetryAfter: 5, Err: err,
			Message: "no relay instance took the request; nothing was stored; try again"}
	case errors.Is(err, relayjob.ErrNoAnswer):
		return &ari.Error{Code: ari.CodeUnavailable, Err: err,
			Message: "the relay did not answer in time; the new version may have been stored: see the conversation's history before trying again"}
	case err != nil:
		return err
	}
	if e := ans.Error; e != nil {
		return refusal(e)
	}
	var out relayjob.Regenerated
	if err := json.Unmarshal(ans.Result, &out); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusAccepted, out)
}

// refusal turns the relay's error frame code into the REST error: the same
// code, with its HTTP status.
func refusal(e *relayjob.Refusal) error {
	switch ari.Code(e.Code) {
	case ari.CodeNotFound:
		return ari.NotFound("message")
	case ari.CodeForbidden:
		return &ari.Error{Code: ari.CodeForbidden, Message: e.Message}
	case codeConversationBusy:
		return &ari.Error{Code: codeConversationBusy, Status: http.StatusConflict, Message: e.Message}
	case ari.CodeRateLimited:
		return &ari.Error{Code: ari.CodeRateLimited, Message: "too many messages; nothing was stored; try again after Retry-After seconds",
			RetryAfter: int((e.RetryAfterMs + 999) / 1000)}
	case ari.CodeUnauthorized:
		return &ari.Error{Code: ari.CodeUnauthorized, Message: e.Message}
	}
	return errors.New("relay job: " + e.Code + ": " + e.Message)
}
