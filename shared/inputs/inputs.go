// Package inputs is the one path of an answer to an agent's question or
// approval (relay/PROTOCOL.md section 9, "Questions and approvals"): the
// relay's client socket (input_response) and the REST route POST
// /api/input-requests/{id}/answer both take it. Postgres decides the first
// valid answer (store.AnswerInputRequest); then every member gets the event
// input_resolved and the relay instance holding the agent's socket is told on
// the agent's channel, so it hands the answer over (from Postgres, once). The
// relay's sweeper announces expiries the same way (Resolved).
package inputs

import (
	"context"
	"log/slog"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// Answerer records members' answers.
type Answerer struct {
	DB     *store.DB
	Events *events.Publisher
	Log    *slog.Logger
}

// Errors of Answer besides internal ones: store.ErrNotFound (unknown, or
// not in a conversation of the user), *store.InputClosed (answered first by
// someone else, expired, or its reply ended: already_answered) and
// *store.InvalidAnswer (does not fit the request).

// Answer records userID's answer to request id and announces it. The
// request is answered once Answer returns without error, whatever happens
// to the announcements (the relay's sweeper nudges the agent's socket again
// for an answer that has not reached it).
func (a *Answerer) Answer(ctx context.Context, userID, id string, answer *string, approved *bool) (ari.InputRequest, error) {
	r, err := a.DB.AnswerInputRequest(ctx, userID, id, answer, approved)
	if err != nil {
		return r, err
	}
	if err := Resolved(context.WithoutCancel(ctx), a.DB, a.Events, r); err != nil {
		a.log().Error("input answer announce", "request", id, "err", err)
	}
	return r, nil
}

func (a *Answerer) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// ResolvedData is the payload of the input_resolved event (PROTOCOL.md
// section 7).
type ResolvedData struct {
	RequestID  string    `json:"requestId"`
	MessageID  string    `json:"messageId"`
	State      string    `json:"state"`
	Answer     *string   `json:"answer,omitempty"`
	Approved   *bool     `json:"approved,omitempty"`
	AnsweredBy *string   `json:"answeredBy,omitempty"`
	AnsweredAt *ari.Time `json:"answeredAt,omitempty"`
}

// Resolved announces a request that was answered or expired: input_resolved
// to every user member (live, or pending for users with no socket), and the
// same event on the agent's channel, where the relay instance holding its
// socket (if any) picks the answer up from Postgres and hands it over.
//
// A channel's request is announced once on the channel's topic instead
// (channel_input_resolved, to the sockets subscribed to it); the agent's
// channel hears input_resolved as for a conversation's.
func Resolved(ctx context.Context, db *store.DB, pub *events.Publisher, r ari.InputRequest) error {
	data := ResolvedData{RequestID: r.ID, MessageID: r.MessageID,
		State: r.State, Answer: r.Answer, Approved: r.Approved, AnsweredBy: r.AnsweredBy, AnsweredAt: r.AnsweredAt}
	if r.ChannelID != "" {
		ev, err := events.NewForChannel(events.ChannelInputResolved, r.ChannelID, data)
		if err != nil {
			return err
		}
		if err := pub.ToChannel(ctx, ev); err != nil {
			return err
		}
		if r.AgentID == nil {
			return nil
		}
		notice, err := events.New(events.InputResolved, "", data)
		if err != nil {
			return err
		}
		return pub.ToAgent(ctx, *r.AgentID, notice)
	}
	ev, err := events.New(events.InputResolved, r.ConversationID, data)
	if err != nil {
		return err
	}
	// Members first: the agent's next chunks should not reach them before
	// they learn the request is settled.
	users, err := db.MemberUserIDs(ctx, r.ConversationID)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		if err := pub.ToUsers(ctx, users, ev); err != nil {
			return err
		}
	}
	if r.AgentID == nil {
		return nil
	}
	return pub.ToAgent(ctx, *r.AgentID, ev)
}
