package stream

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
)

// An instance that stops between saving a reply's end and announcing it
// would leave the members' clients on other instances showing the reply as
// streaming (nothing else tells them: the reply is no longer open, so no
// sweep looks at it), and its conversation's queue waiting for the active
// mark to expire. So Settle notes each end in the Settling set (kv.Keys)
// before saving it and removes the note once it has announced the end and
// moved the queue on; every instance's sweeper finishes what a note older
// than settleGrace names when Postgres has that end: stream_end (and
// message_new for members without a socket), task_cancel when the end
// carried a reason, the active mark released and the queue moved on. At
// least once: should the settling instance only have been slow past the
// grace, members get a second stream_end with the same content
// (relay/PROTOCOL.md section 10). Not redone: the push notification and an
// agent chain's next replies (store.ContinueChain runs once per reply).

// settleGrace is how old a note, and the end Postgres saved, must be before
// a sweeper takes the settling instance for stopped.
const settleGrace = 10 * time.Second

// settleNoteBatch bounds the notes one sweep finishes.
const settleNoteBatch = 100

// settleNote is what a note says: the reply and the end its instance saves.
type settleNote struct {
	replyID, status, code, reason, message string
}

// member is the note as the set holds it; the message, free text, goes last.
func (n settleNote) member() string {
	return strings.Join([]string{n.replyID, n.status, n.code, n.reason, n.message}, "\n")
}

func parseSettleNote(member string) (settleNote, bool) {
	f := strings.SplitN(member, "\n", 5)
	if len(f) != 5 || !ari.ValidID(f[0]) {
		return settleNote{}, false
	}
	return settleNote{replyID: f[0], status: f[1], code: f[2], reason: f[3], message: f[4]}, true
}

// noteSettling records that this instance is about to save end for replyID;
// it returns the note for doneSettling ("" when Redis did not take it: the
// end is saved and announced all the same, without the safety net).
func (e *Engine) noteSettling(ctx context.Context, replyID string, end End) string {
	m := settleNote{replyID: replyID, status: end.Status, code: end.Code, reason: end.CancelReason, message: end.Message}.member()
	err := e.d.Redis.ZAdd(ctx, e.d.Keys.Settling(), redis.Z{Score: float64(time.Now().UnixMilli()), Member: m}).Err()
	if err != nil {
		e.d.Log.Warn("relay note settling reply", "reply", replyID, "err", err)
		return ""
	}
	return m
}

// doneSettling removes a note once its end has been announced (or was not
// this instance's to announce). It does not give up with the caller's
// context: a note left behind is announced again.
func (e *Engine) doneSettling(ctx context.Context, member string) {
	if member == "" {
		return
	}
	if err := e.d.Redis.ZRem(context.WithoutCancel(ctx), e.d.Keys.Settling(), member).Err(); err != nil {
		e.d.Log.Warn("relay settling note", "err", err)
	}
}

// sweepSettling finishes the ends whose settling instance stopped after
// saving them. Every instance runs it; removing a note is the claim, so one
// instance announces each.
func (e *Engine) sweepSettling(ctx context.Context) error {
	now := time.Now()
	key := e.d.Keys.Settling()
	notes, err := e.d.Redis.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{Min: "-inf",
		Max: strconv.FormatInt(now.Add(-settleGrace).UnixMilli(), 10), Count: settleNoteBatch}).Result()
	if err != nil {
		return err
	}
	var errs []error
	for _, z := range notes {
		member, _ := z.Member.(string)
		drop := func() { e.d.Redis.ZRem(ctx, key, member) }
		n, ok := parseSettleNote(member)
		if !ok {
			drop()
			continue
		}
		m, err := e.d.DB.Message(ctx, n.replyID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			drop() // deleted with its conversation: nobody to tell
		case err != nil:
			errs = append(errs, err)
		case m.Status != ari.StatusComplete && m.Status != ari.StatusError && m.Status != ari.StatusCancelled:
			// Not saved: the reply is open, and the usual sweep ends it.
			// The note goes once its instance cannot still be retrying.
			if now.Sub(time.UnixMilli(int64(z.Score))) > e.d.ActiveTTL+settleGrace {
				drop()
			}
		case m.Status != n.status:
			drop() // another caller's end was saved; that caller announces it
		case m.CompletedAt != nil && now.Sub(m.CompletedAt.Time) < settleGrace:
			// Saved just now (the note is older: a slow save); its
			// instance is announcing it.
		default:
			claimed, err := e.d.Redis.ZRem(ctx, key, member).Result()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if claimed == 1 {
				e.finishSettled(ctx, m, n)
			}
		}
	}
	return errors.Join(errs...)
}

// finishSettled does what the stopped instance did not after saving m's end.
func (e *Engine) finishSettled(ctx context.Context, m ari.Message, n settleNote) {
	e.d.Log.Warn("relay announcing a reply whose settling instance stopped", "reply", m.ID, "status", m.Status)
	metrics.SettleRecovered()
	se := &protocol.StreamEnd{MessageID: m.ID, ConversationID: m.ConversationID, Status: m.Status, Content: m.Content}
	if m.Status == ari.StatusError {
		se.Error = &protocol.StreamError{Code: n.code, Message: n.message}
	}
	if err := e.announceEnd(ctx, m, se); err != nil {
		e.d.Log.Error("relay announce end", "reply", m.ID, "err", err)
	}
	if n.reason != "" && m.SenderAgentID != nil {
		e.cancelTask(ctx, *m.SenderAgentID, m.ID, n.reason)
	}
	e.release(ctx, m.ConversationID, m.ID)
	e.advance(ctx, m.ConversationID)
}
