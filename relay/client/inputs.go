package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// answer applies input_response: a member answers an agent's question or
// approval (PROTOCOL.md section 9). Postgres decides the first valid answer;
// the input_resolved event that follows, to every member's sockets, is the
// answering socket's confirmation too. The answer to an A2A task's
// question is sent back from here at once (a sweeper would otherwise, as
// for an answer given over REST).
func (ss *session) answer(ctx context.Context, f *protocol.InputAnswer) {
	r, err := ss.s.d.Inputs.Answer(ctx, ss.user.ID, f.RequestID, f.Answer, f.Approved)
	var closed *store.InputClosed
	var invalid *store.InvalidAnswer
	switch {
	case err == nil:
		ss.s.d.Engine.AnswerA2A(context.WithoutCancel(ctx), r)
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "input request not found", f.RequestID)
	case errors.As(err, &closed):
		ss.fail(protocol.CodeAlreadyAnswered, closedMessage(closed.State), f.RequestID)
	case errors.As(err, &invalid):
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeInvalidFrame, Field: invalid.Field,
			Message: invalid.Field + ": " + invalid.Problem, Ref: f.RequestID})
	default:
		ss.internal(err, f.RequestID)
	}
}

// closedMessage says why a request takes no more answers.
func closedMessage(state string) string {
	switch state {
	case ari.InputExpired:
		return "this request expired before it was answered"
	case ari.InputCancelled:
		return "the reply that asked this has ended"
	}
	return "this request was answered already"
}

// openInputs lists the open requests of the user's conversations for
// sync_result (the newest store.MaxSyncInputRequests).
func (ss *session) openInputs(ctx context.Context) ([]protocol.InputRequest, error) {
	open, err := ss.s.d.DB.NewestOpenInputRequests(ctx, ss.user.ID, store.MaxSyncInputRequests)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.InputRequest, 0, len(open))
	for _, r := range open {
		out = append(out, *protocol.InputRequestOf(r))
	}
	return out, nil
}
