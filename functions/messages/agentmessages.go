package messages

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// codeClientIDInUse: the agent used the clientMessageId in another
// conversation (the relay's error code of the same name).
const codeClientIDInUse ari.Code = "client_message_id_in_use"

// AgentMessageAnswer is what POST /api/agent/messages answers: the
// agent_message_ack's keys and the stored message.
type AgentMessageAnswer struct {
	ClientMessageID string      `json:"clientMessageId"`
	MessageID       string      `json:"messageId"`
	Seq             int64       `json:"seq"`
	Message         ari.Message `json:"message"`
}

// agentMessage is POST /api/agent/messages: an agent without a socket (a
// scheduled job, a Lambda) posts in a conversation it is a member of, with
// its secret token as Bearer. 201 for a new message, 200 for a retry of a
// stored one.
func (h *handler) agentMessage(w http.ResponseWriter, r *http.Request) error {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	agent, err := h.DB.AgentByToken(r.Context(), token) // a malformed token is not found
	if errors.Is(err, store.ErrNotFound) {
		return ari.Errorf(ari.CodeUnauthorized, "an agent token is required (Authorization: Bearer ari_…)")
	}
	if err != nil {
		return err
	}
	var in agentpost.Post
	if err := httpx.Decode(w, r, &in, 64<<10); err != nil {
		return err
	}
	out, err := h.Poster.Post(r.Context(), agentpost.Agent{ID: agent.ID, Name: agent.Name}, in)
	if rl, ok := agentpost.IsRateLimited(err); ok {
		return &ari.Error{Code: ari.CodeRateLimited, Message: "too many messages from this agent; nothing was stored",
			RetryAfter: rl.Decision.RetryAfterSeconds()}
	}
	switch {
	case errors.Is(err, agentpost.ErrNotFound):
		return ari.NotFound("conversation")
	case errors.Is(err, agentpost.ErrClientIDInUse):
		return &ari.Error{Code: codeClientIDInUse, Status: http.StatusConflict,
			Message: "clientMessageId: already used for one of this agent's messages in another conversation; nothing was stored, send it with a new id",
			Fields:  map[string]string{"clientMessageId": "already used in another conversation"}}
	case err != nil:
		return err
	}
	status := http.StatusOK
	if out.Created {
		status = http.StatusCreated
	}
	return httpx.JSON(w, status, AgentMessageAnswer{ClientMessageID: in.ClientMessageID, MessageID: out.Message.ID,
		Seq: out.Message.Seq, Message: out.Message})
}
