package stream

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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
// (relay/PROTOCOL.md section 10). A channel's reply likewise
// (channel_stream_end, channel_message_new). Not redone: the push
// notification and an agent chain's next replies (store.ContinueChain runs
// once per reply).

// settleGrace is how old a note, and the end Postgres saved, must be before
// a sweeper takes the settling instance for stopped.
const settleGrace = 10 * time.Second

// settleNoteBatch bounds the notes one sweep finishes.
const settleNoteBatch = 100

// settleNote is what a note says: the reply (a channel's when channelID is
// set, else a conversation's) and the end its instance saves.
type settleNote struct {
	replyID, channelID, status, code, reason, message string
}

// member is the note as the set holds it; the message, free text, goes last.
func (n settleNote) member() string {
	return strings.Join([]string{n.replyID, n.channelID, n.status, n.code, n.reason, n.message}, "\n")
}

func parseSettleNote(member string) (settleNote, bool) {
	f := strings.SplitN(member, "\n", 6)
	if len(f) != 6 || !ari.ValidID(f[0]) || (f[1] != "" && !ari.ValidID(f[1])) {
		return settleNote{}, false
	}
	return settleNote{replyID: f[0], channelID: f[1], status: f[2], code: f[3], reason: f[4], message: f[5]}, true
}

// noteSettling records that this instance is about to save end for replyID
// (of channelID, "" for a conversation's reply); it returns the note for
// doneSettling ("" when Redis did not take it: the end is saved and
// announced all the same, without the safety net).
func (e *Engine) noteSettling(ctx context.Context, replyID, channelID string, end End) string {
	m := settleNote{replyID: replyID, channelID: channelID, status: end.Status, code: end.Code, reason: end.CancelReason, message: end.Message}.member()
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
		st, err := e.savedEnd(ctx, n)
		switch {
		case errors.Is(err, store.ErrNotFound):
			drop() // deleted with its conversation or channel: nobody to tell
		case err != nil:
			errs = append(errs, err)
		case st.status != ari.StatusComplete && st.status != ari.StatusError && st.status != ari.StatusCancelled:
			// Not saved: the reply is open, and the usual sweep ends it.
			// The note goes once its instance cannot still be retrying.
			if now.Sub(time.UnixMilli(int64(z.Score))) > e.d.ActiveTTL+settleGrace {
				drop()
			}
		case st.status != n.status:
			drop() // another caller's end was saved; that caller announces it
		case st.endedAt == nil || now.Sub(st.endedAt.Time) < settleGrace:
			// Saved just now (the note is older: a slow save); its
			// instance is announcing it.
		default:
			claimed, err := e.d.Redis.ZRem(ctx, key, member).Result()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if claimed == 1 {
				e.d.Log.Warn("relay announcing a reply whose settling instance stopped", "reply", n.replyID, "status", n.status)
				metrics.SettleRecovered()
				st.finish()
			}
		}
	}
	return errors.Join(errs...)
}

// savedState is what Postgres holds of a noted reply's end, and how to do
// what the stopped instance did not after saving it.
type savedState struct {
	status  string
	endedAt *ari.Time
	finish  func()
}

func (e *Engine) savedEnd(ctx context.Context, n settleNote) (savedState, error) {
	if n.channelID != "" {
		out, err := e.d.DB.ChannelReplyEnded(ctx, n.replyID)
		if err != nil {
			return savedState{}, err
		}
		return savedState{status: out.Reply.Status, endedAt: out.Reply.EndedAt,
			finish: func() { e.finishChannelSettled(ctx, out, n) }}, nil
	}
	m, err := e.d.DB.Message(ctx, n.replyID)
	if err != nil {
		return savedState{}, err
	}
	return savedState{status: m.Status, endedAt: m.CompletedAt, finish: func() { e.finishSettled(ctx, m, n) }}, nil
}

// end is the end the note recorded, with the status Postgres saved.
func (n settleNote) end(status string) End {
	return End{Status: status, Code: n.code, Message: n.message, CancelReason: n.reason}
}

// finishSettled does what the stopped instance did not after saving m's end.
func (e *Engine) finishSettled(ctx context.Context, m ari.Message, n settleNote) {
	e.announceEnd(ctx, m, n.end(m.Status))
	e.release(ctx, m.ConversationID, m.ID)
	e.advance(ctx, m.ConversationID)
}

// finishChannelSettled is finishSettled for a channel's reply.
func (e *Engine) finishChannelSettled(ctx context.Context, out store.ChannelReplyEnd, n settleNote) {
	r := out.Reply
	e.announceChannelEnd(ctx, r.ChannelID, r.ID, n.end(r.Status), out)
	e.releaseChannel(ctx, r.ChannelID, r.ID)
	e.AdvanceChannel(ctx, r.ChannelID)
}
