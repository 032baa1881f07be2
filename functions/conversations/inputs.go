package conversations

import (
	"errors"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Questions and approvals of agents (relay/PROTOCOL.md section 9): the open
// requests of a conversation or of the caller, and the answer, which goes the
// same way as a socket's input_response (shared/inputs): decided by Postgres,
// then announced to members and to the relay holding the agent's socket.

// codeAlreadyAnswered: the request takes no more answers (409).
const codeAlreadyAnswered ari.Code = "already_answered"

// AnswerRequest is the body of POST /api/input-requests/{id}/answer: an
// approval needs approved; a question needs answer (one of its options, JSON
// when it has a schema).
type AnswerRequest struct {
	Answer   *string `json:"answer"`
	Approved *bool   `json:"approved"`
}

// Validate checks the bounds every answer has; the request's own rules are
// the store's.
func (q *AnswerRequest) Validate() map[string]string {
	bad := map[string]string{}
	switch {
	case q.Answer == nil && q.Approved == nil:
		bad["answer"] = "answer or approved is required"
	case q.Answer != nil && len(*q.Answer) > ari.MaxInputAnswerBytes:
		bad["answer"] = "exceeds 8192 bytes"
	}
	return bad
}

func (h handler) conversationInputs(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.MemberRole(r.Context(), id, caller.ID); err != nil {
		return storeErr(err)
	}
	return h.inputPage(w, r, caller.ID, id)
}

func (h handler) myInputs(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	return h.inputPage(w, r, caller.ID, "")
}

func (h handler) inputPage(w http.ResponseWriter, r *http.Request, userID, conversationID string) error {
	limit, after, err := httpx.PageRequest[store.InputCursor](r, 50, 100)
	if err != nil {
		return err
	}
	items, err := h.DB.OpenInputRequests(r.Context(), userID, conversationID, after, limit+1)
	if err != nil {
		return err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	page := httpx.NewPage(items)
	if more {
		last := items[len(items)-1]
		page.NextCursor = httpx.CursorPtr(store.InputCursor{CreatedAt: last.CreatedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h handler) answer(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req AnswerRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !ari.ValidID(id) {
		return ari.NotFound("input request")
	}
	out, err := h.Inputs.Answer(r.Context(), caller.ID, id, req.Answer, req.Approved)
	var closed *store.InputClosed
	var invalid *store.InvalidAnswer
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("input request")
	case errors.As(err, &closed):
		msg := "this request was answered already"
		switch closed.State {
		case ari.InputExpired:
			msg = "this request expired before it was answered"
		case ari.InputCancelled:
			msg = "the reply that asked this has ended"
		}
		return &ari.Error{Code: codeAlreadyAnswered, Message: msg, Status: http.StatusConflict}
	case errors.As(err, &invalid):
		return ari.Invalid(map[string]string{invalid.Field: invalid.Problem})
	case err != nil:
		return err
	}
	return httpx.JSON(w, http.StatusOK, out)
}
