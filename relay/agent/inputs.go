package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// Questions and approvals on the agent socket (PROTOCOL.md section 9): the
// agent's agent_input_request opens a request for its task; answers and
// expiries come back as input_response / input_timeout, read from Postgres
// (never from the notice that announced them) and recorded as delivered
// once handed to this socket, so a socket gets each at most once and a
// reconnecting agent gets what no socket had.

// askInput applies agent_input_request.
func (ss *session) askInput(ctx context.Context, f *protocol.AgentInputRequest) {
	t := ss.task(ctx, f.TaskID)
	if t == nil {
		return
	}
	ss.feed.Wait() // the chunks sent before the request reach members first
	_, _, err := ss.s.d.Engine.OpenInput(ctx, store.NewInputRequest{ID: f.RequestID, ReplyID: t.ID, AgentID: ss.agent.ID,
		ChannelID: t.ChannelID, Kind: f.Kind, Prompt: f.Prompt, Options: f.Options, Schema: f.Schema})
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound): // the reply has ended
		delete(ss.tasks, t.ID)
	case errors.Is(err, store.ErrInputPending):
		ss.sendError(protocol.CodeInputPending, "the reply already waits for the answer to another request", t.ID)
	case errors.Is(err, store.ErrRequestIDInUse):
		ss.sendError(protocol.CodeRequestIDInUse, "requestId "+f.RequestID+" is used by another request; nothing was stored, use a new id", t.ID)
	default:
		ss.s.d.Log.Error("relay input request", "task", t.ID, "err", err)
		ss.sendError(protocol.CodeInternal, "the relay failed; the request was not stored, sending it again is safe", t.ID)
	}
}

// inputNotice handles an input_resolved event on the agent's channel: it
// names a request whose answer (or expiry) may be waiting for this socket.
// It runs on the hub's goroutine, so the work goes to a goroutine the
// session waits for.
func (ss *session) inputNotice(payload []byte) {
	var ev struct {
		Data struct {
			RequestID string `json:"requestId"`
		} `json:"data"`
	}
	if json.Unmarshal(payload, &ev) != nil || !ari.ValidID(ev.Data.RequestID) {
		return
	}
	ss.goInput(func() { ss.deliverInput(ss.ctx, ev.Data.RequestID) })
}

// goInput runs fn on a goroutine finish waits for, unless the socket has
// closed (the next socket of the agent gets what fn would have delivered).
func (ss *session) goInput(fn func()) {
	ss.inputsMu.Lock()
	defer ss.inputsMu.Unlock()
	if ss.inputsDone {
		return
	}
	ss.inputs.Go(fn)
}

// deliverInputs hands over everything settled for the agent that has not
// reached it: on authentication, after the socket has subscribed (a notice
// that comes meanwhile finds the request taken here).
func (ss *session) deliverInputs(ctx context.Context) {
	pending, err := ss.s.d.DB.UndeliveredInputs(ctx, ss.agent.ID)
	if err != nil {
		ss.s.d.Log.Error("relay undelivered inputs", "agent", ss.agent.ID, "err", err)
		return
	}
	for _, r := range pending {
		ss.giveInput(ctx, r)
	}
}

func (ss *session) deliverInput(ctx context.Context, id string) {
	r, err := ss.s.d.DB.UndeliveredInput(ctx, ss.agent.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return // delivered already, or its reply ended
	}
	if err != nil {
		ss.s.d.Log.Error("relay undelivered input", "request", id, "err", err)
		return // the sweeper nudges again
	}
	ss.giveInput(ctx, r)
}

// redeliverAge bounds how long after its delivery an answer is given again
// to the agent's next socket (redeliverInputs).
const redeliverAge = 2 * time.Minute

// redeliverInputs gives the new socket again the answers recently handed to
// an earlier socket of the agent for replies it has not been heard from on
// since (no chunk or status after the answer: the reply's meta still has
// the "last" activity the delivery set, which is its "dispatched"): that
// socket may have died with the answer unread. The agent may get an answer
// twice; the SDKs drop a repeat by requestId (PROTOCOL.md section 9).
func (ss *session) redeliverInputs(ctx context.Context, replies []string) {
	if len(replies) == 0 {
		return
	}
	recent, err := ss.s.d.DB.RecentlyDeliveredInputs(ctx, replies, redeliverAge)
	if err != nil {
		ss.s.d.Log.Error("relay recently delivered inputs", "agent", ss.agent.ID, "err", err)
		return
	}
	for _, r := range recent {
		meta, err := ss.s.d.Redis.HMGet(ctx, ss.s.d.Keys.StreamMeta(r.MessageID), "ended", "last", "dispatched").Result()
		if err != nil {
			ss.s.d.Log.Warn("relay redeliver input", "request", r.ID, "err", err)
			continue
		}
		ended, _ := meta[0].(string)
		last, _ := meta[1].(string)
		dispatched, _ := meta[2].(string)
		if ended != "0" || last == "" || last != dispatched {
			continue // ended, gone, or the agent has been heard from since
		}
		ss.sendInput(r)
	}
}

// giveInput sends one settled request to the agent, once per socket, then
// records the delivery (which lets the reply stream again).
func (ss *session) giveInput(ctx context.Context, r ari.InputRequest) {
	if !ss.sendInput(r) {
		return
	}
	if _, err := ss.s.d.Engine.InputDelivered(ctx, r); err != nil {
		ss.s.d.Log.Error("relay input delivered", "request", r.ID, "err", err)
	}
}

// sendInput writes a settled request's input_response (or input_timeout) to
// the socket, once per socket; false when it was not written (given already,
// or the socket is closing: the next one gets it).
func (ss *session) sendInput(r ari.InputRequest) bool {
	ss.inputsMu.Lock()
	if ss.given == nil {
		ss.given = map[string]bool{}
	}
	if ss.given[r.ID] {
		ss.inputsMu.Unlock()
		return false
	}
	ss.given[r.ID] = true
	ss.inputsMu.Unlock()
	var f protocol.Frame = &protocol.InputTimeout{TaskID: r.MessageID, RequestID: r.ID}
	if r.State == ari.InputAnswered {
		user := ""
		if r.AnsweredBy != nil {
			user = *r.AnsweredBy
		}
		f = &protocol.InputResponse{TaskID: r.MessageID, RequestID: r.ID, Answer: r.Answer, Approved: r.Approved, UserID: user}
	}
	b, err := protocol.Encode(f)
	if err != nil || !ss.c.SendWait(b) {
		ss.inputsMu.Lock()
		delete(ss.given, r.ID) // the socket is closing: the next one gets it
		ss.inputsMu.Unlock()
		return false
	}
	return true
}
