package client

import (
	"context"
	"encoding/json"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/relayjob"
)

// Job carries out a function's request (shared/relayjob) exactly as the
// matching client frame, on behalf of the function's signed-in caller, and
// returns the answer for the function.
func (s *Sessions) Job(ctx context.Context, job relayjob.Job) relayjob.Answer {
	switch job.Kind {
	case relayjob.KindRegenerate:
		// The function checked these; a job is still input, checked as
		// the frame decoder checks a frame's ids.
		if !ari.ValidID(job.ConversationID) || !ari.ValidID(job.MessageID) || (job.AgentID != "" && !ari.ValidID(job.AgentID)) {
			return relayjob.Answer{Error: &relayjob.Refusal{Code: protocol.CodeNotFound, Message: "message not found"}}
		}
		f := &protocol.Regenerate{ConversationID: job.ConversationID, MessageID: job.MessageID, AgentID: job.AgentID}
		var ans relayjob.Answer
		ef, ended := s.Regenerate(ctx, Requester{UserID: job.UserID, SessionID: job.SessionID}, f, func(ack *protocol.RegenerateAck) {
			// The answer goes out with the ack, before the reply starts,
			// as the socket's regenerate_ack does.
			ans.Result, _ = json.Marshal(relayjob.Regenerated{ConversationID: ack.ConversationID, MessageID: ack.MessageID,
				ReplyToID: ack.ReplyToID, Version: ack.Version, PreviousID: ack.PreviousID, Queued: ack.Queued,
				Reply: relayjob.ReplyEntry{MessageID: ack.Reply.MessageID, AgentID: ack.Reply.AgentID, Position: ack.Reply.Position}})
		})
		switch {
		case ended:
			ans.Error = &relayjob.Refusal{Code: protocol.CodeUnauthorized, Message: "the session has ended; nothing was stored"}
		case ef != nil:
			ans.Error = &relayjob.Refusal{Code: ef.Code, Message: ef.Message, RetryAfterMs: ef.RetryAfterMs}
		}
		return ans
	}
	return relayjob.Answer{Error: &relayjob.Refusal{Code: protocol.CodeInternal, Message: "unknown job kind " + job.Kind}}
}
