package stream

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
)

// End describes a terminal state.
type End struct {
	Status  string  // ari.StatusComplete, StatusError or StatusCancelled
	Content *string // final text; nil keeps the buffered text
	Code    string  // stream_end.error.code for StatusError
	Message string  // stream_end.error.message
	// CancelReason, when set, sends the agent task_cancel with it.
	CancelReason string
}

// internalEnd is what a reply becomes when the end it was given cannot be
// saved: error internal, the agent told to stop.
func internalEnd(was End) End {
	reason := was.CancelReason
	if reason == "" {
		reason = protocol.CancelInternal
	}
	return End{Status: ari.StatusError, Code: protocol.StreamErrInternal,
		Message: "the relay could not save this reply", CancelReason: reason}
}

// Settle ends a reply: closes its buffer, saves the terminal state (only the
// first caller anywhere wins), sends stream_end to members (message_new to
// pending for members with no socket), tells the agent when asked, and moves
// the conversation's queue on. It reports whether this call settled it.
//
// Every call ends the reply one way or another, so a conversation never waits
// behind a reply that cannot be saved: when Postgres refuses the end (for any
// reason but being unreachable) the reply ends in error internal with the
// text Postgres takes; when Postgres is unreachable the save is retried with
// backoff for at most the active TTL, and then the reply ends in error
// internal for its members and the queue moves on, the end recorded with the
// buffer so that a sweeper saves it once Postgres is back (see endUnsaved).
func (e *Engine) Settle(ctx context.Context, replyID string, end End) bool {
	settled, _ := e.settle(ctx, replyID, end)
	return settled
}

// errBuffer: Redis did not end the reply's buffer, so nothing was settled.
var errBuffer = errors.New("stream: the reply's buffer could not be ended")

// settle is Settle, also telling a reply Redis could not end (errBuffer,
// nothing changed: try again later) from one that is over either way.
func (e *Engine) settle(ctx context.Context, replyID string, end End) (bool, error) {
	res, err := endScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(replyID), e.d.Keys.StreamMeta(replyID)},
		int(kv.StreamTTL/time.Second)).StringSlice()
	if err != nil || len(res) != 5 {
		e.d.Log.Error("relay end buffer", "reply", replyID, "err", err)
		metrics.SettleFailed(metrics.SettleBuffer)
		return false, errBuffer
	}
	if channel := res[4]; channel != "" {
		return e.settleChannel(ctx, channel, replyID, end, res)
	}
	text := res[0]
	if res[1] != "" {
		e.saveRecorded(ctx, replyID, text, End{Status: res[1], Code: res[2], Message: res[3]})
		return false, nil
	}
	if end.Content != nil {
		text = *end.Content
	}
	defer e.doneSettling(ctx, e.noteSettling(ctx, replyID, "", end)) // recover.go
	m, settled, err := e.save(ctx, replyID, &end, text)
	if err != nil {
		e.d.Log.Error("relay settle reply", "reply", replyID, "err", err)
		if store.Unreachable(err) {
			metrics.SettleFailed(metrics.SettleUnsaved)
			e.endUnsaved(ctx, replyID, internalEnd(end), text)
		} else {
			metrics.SettleFailed(metrics.SettleSaveError)
		}
		return false, nil
	}
	e.forget(replyID)
	if !settled {
		return false, nil
	}
	e.announceEnd(ctx, m, end)
	if e.d.Push != nil {
		e.d.Push.Reply(m) // never blocks: dropped when too many are in flight
	}
	if m.Status == ari.StatusComplete {
		e.continueChain(ctx, m)
	}
	e.release(ctx, m.ConversationID, replyID)
	e.advance(ctx, m.ConversationID)
	if end.CancelReason != "" && m.SenderAgentID != nil {
		// After the queue moved on: a Postgres round trip that finds no
		// question for almost every reply must not hold the next one.
		e.cancelQuestion(ctx, replyID)
	}
	return true, nil
}

// save writes the terminal state. Postgres refusing it (not being
// unreachable: a NUL or invalid UTF-8 in the text, a constraint, a trigger)
// turns it into internalEnd, saved with the text without U+0000 and invalid
// UTF-8, then with no text; end is updated to what was saved. Postgres
// unreachable is retried with backoff until the active TTL has passed, and
// its error returned.
func (e *Engine) save(ctx context.Context, replyID string, end *End, text string) (ari.Message, bool, error) {
	var m ari.Message
	settled, err := e.saveWith(ctx, replyID, end, text, func(text string) (bool, error) {
		var ok bool
		var err error
		m, ok, err = e.d.DB.SettleReply(ctx, replyID, end.Status, text, end.Message)
		return ok, err
	})
	return m, settled, err
}

// saveWith is save's policy around one write of the end (write gets the
// text to save, reads end's status and message, and reports whether it
// settled the reply).
func (e *Engine) saveWith(ctx context.Context, replyID string, end *End, text string, write func(text string) (bool, error)) (bool, error) {
	deadline := time.Now().Add(e.d.ActiveTTL)
	wait := 100 * time.Millisecond
	texts := []string{text}
	refused := false
	for {
		settled, err := write(texts[0])
		switch {
		case err == nil:
			return settled, nil
		case !store.Unreachable(err):
			e.d.Log.Error("relay settle refused", "reply", replyID, "status", end.Status, "err", err)
			if !refused {
				metrics.SettleFailed(metrics.SettleRefused)
				refused = true
				*end = internalEnd(*end)
				texts = []string{keepable(texts[0]), ""}
				continue
			}
			if len(texts) > 1 {
				texts = texts[1:]
				continue
			}
			return false, err
		case time.Now().Add(wait).After(deadline):
			return false, err
		}
		select {
		case <-ctx.Done():
			return false, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// keepable is text as Postgres takes it: without U+0000 and invalid UTF-8.
func keepable(text string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(text, "\x00", ""), "")
}

// endUnsaved ends a reply whose end cannot reach Postgres: its members (as
// they were when it started, less those who left since: see members.go) get
// stream_end, the agent task_cancel, and the
// conversation's queue moves on. The end is recorded with the buffer (only
// the first instance to record one announces it) for kv.UnsavedEndTTL;
// whichever sweeper next finds the reply open in Postgres saves it then
// (saveRecorded) and announces nothing more. Members without a socket get no
// message_new: the message is not readable until it is saved, and sync
// brings it afterwards.
func (e *Engine) endUnsaved(ctx context.Context, replyID string, end End, text string) {
	keys := []string{e.d.Keys.Stream(replyID), e.d.Keys.StreamMeta(replyID)}
	first, err := recordEndScript.Run(ctx, e.d.Redis, keys, end.Status, end.Code, end.Message, text,
		int(kv.UnsavedEndTTL/time.Second)).Int()
	if err != nil || first == 0 {
		if err != nil {
			e.d.Log.Error("relay record unsaved end", "reply", replyID, "err", err)
		}
		return
	}
	meta, err := e.d.Redis.HMGet(ctx, keys[1], "conv", "agent", "users").Result()
	if err != nil {
		e.d.Log.Error("relay unsaved end", "reply", replyID, "err", err)
		return
	}
	conv, _ := meta[0].(string)
	agentID, _ := meta[1].(string)
	users, _ := meta[2].(string)
	e.forget(replyID)
	if conv == "" { // never started: nobody saw it, nothing to announce
		return
	}
	b, err := protocol.Encode(&protocol.StreamEnd{MessageID: replyID, ConversationID: conv, Status: end.Status,
		Content: text, Error: &protocol.StreamError{Code: end.Code, Message: end.Message}})
	if err == nil && users != "" {
		_, err = e.d.Hub.ToUsers(ctx, e.d.Keys, strings.Split(users, ","), b, "")
	}
	if err != nil {
		e.d.Log.Error("relay announce unsaved end", "reply", replyID, "err", err)
	}
	if agentID != "" {
		e.cancelTask(ctx, agentID, replyID, end.CancelReason)
	}
	e.d.Log.Warn("relay ended a reply without saving it (Postgres unreachable)", "reply", replyID)
	e.release(ctx, conv, replyID)
	e.advance(ctx, conv)
}

// saveRecorded writes an end that endUnsaved announced; its members and
// agent were told then, so nothing is sent now.
func (e *Engine) saveRecorded(ctx context.Context, replyID, text string, end End) {
	m, settled, err := e.save(ctx, replyID, &end, text)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			e.d.Log.Error("relay save recorded end", "reply", replyID, "err", err)
		}
		return
	}
	e.forget(replyID)
	if settled {
		e.release(ctx, m.ConversationID, replyID)
		e.advance(ctx, m.ConversationID)
	}
}

func (e *Engine) cancelTask(ctx context.Context, agentID, replyID, reason string) {
	b, err := protocol.Encode(&protocol.TaskCancel{TaskID: replyID, Reason: reason})
	if err == nil {
		_, err = e.d.Hub.Publish(ctx, e.d.Keys.AgentChannel(agentID), b)
	}
	if err != nil {
		e.d.Log.Warn("relay task_cancel", "reply", replyID, "err", err)
	}
}

// announceEnd tells the members a reply's saved end m (stream_end, and
// message_new to pending for members with no socket) and the agent
// task_cancel when the end carries a reason.
func (e *Engine) announceEnd(ctx context.Context, m ari.Message, end End) {
	se := &protocol.StreamEnd{MessageID: m.ID, ConversationID: m.ConversationID, Status: end.Status, Content: m.Content}
	if end.Status == ari.StatusError {
		se.Error = &protocol.StreamError{Code: end.Code, Message: end.Message}
	}
	if err := e.toMembers(ctx, m, se); err != nil {
		e.d.Log.Error("relay announce end", "reply", m.ID, "err", err)
	}
	if end.CancelReason != "" && m.SenderAgentID != nil {
		e.cancelTask(ctx, *m.SenderAgentID, m.ID, end.CancelReason)
	}
}

// toMembers sends se to the members of m's conversation, m as message_new
// to the pending events of those without a socket.
func (e *Engine) toMembers(ctx context.Context, m ari.Message, se *protocol.StreamEnd) error {
	users, err := e.d.DB.MemberUserIDs(ctx, m.ConversationID)
	if err != nil {
		return err
	}
	b, err := protocol.Encode(se)
	if err != nil {
		return err
	}
	ev, err := events.New(events.MessageNew, m.ConversationID, protocol.MessageNewData{Message: m})
	if err != nil {
		return err
	}
	raw, err := encodeEvent(ev)
	if err != nil {
		return err
	}
	return e.d.Hub.ToUsersOrQueue(ctx, e.d.Keys, users, b, "", raw)
}
