package stream

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

func encodeEvent(v any) ([]byte, error) { return json.Marshal(v) }

// Task is a reply as the instance holding its agent's socket sees it: the
// text so far (to merge accumulated chunks) and whom to fan chunks out to
// (which shrinks when members leave mid-reply; see members.go).
// The agent session's reader accepts text into it (Text); the sending side
// (Feed's sender, or the caller of Chunk) owns sent, touched and first.
type Task struct {
	ID             string
	ConversationID string
	// ChannelID is set, and ConversationID empty, for a reply in a
	// community channel (channels.go): its frames go to the channel's topic.
	ChannelID string
	AgentID   string
	to        *recipients
	Text      string // accepted so far (the reader's view); see accept
	first     bool
	text      strings.Builder // Text's storage, grown in place

	sent    int64       // bytes in stream:{id} as this instance knows it; the sender's
	touched time.Time   // when the sender last noted activity in the meta
	ended   atomic.Bool // the buffer refused a delta: the reply is over
	// lost: a delta could not be kept in the buffer (Redis failed, or a
	// failover lost writes that were not yet replicated), so the buffer no
	// longer holds what the agent sent and the reply cannot end complete
	// from it (see Engine.Lose).
	lost atomic.Bool

	queued   []byte // Feed: accepted text not yet sent; guarded by Feed.mu
	feed     *Feed  // the feed that last accepted text for it (the reader's)
	queuedIn bool   // Feed: in Feed.pending
	// shift is how far the buffer's length has moved from Text's (someone
	// else appended too): Feed.deliver's offsets follow the buffer, as the
	// published ones do (set by the sender, read by the reader).
	shift atomic.Int64
	// alone: the last publish of its text reached no other instance (set
	// by the sender), so its next round trip may wait (Feed.send).
	alone atomic.Bool
}

// mayLinger reports whether the feed may hold t's text back for
// ChunkLinger (Feed.lingerLocked): a conversation's reply whose last publish
// reached no other instance. A channel's subscribers, here too, read the
// published copy.
func (t *Task) mayLinger() bool { return t.ChannelID == "" && t.alone.Load() }

// LoadTask reads a task of agentID from Redis: ErrNotYourTask when it was
// never this agent's, ErrEnded when it was and is over.
func (e *Engine) LoadTask(ctx context.Context, agentID, taskID string) (*Task, error) {
	// A reply whose buffer lost text and that Lose could not end yet stays
	// that same task: read afresh it would append the agent's next chunks
	// after the hole, and could even end complete with text missing.
	e.mu.Lock()
	t := e.losing[taskID]
	e.mu.Unlock()
	if t != nil {
		if t.AgentID != agentID {
			return nil, ErrNotYourTask
		}
		return t, nil
	}
	// Meta and text in one round trip: this runs on the agent socket's
	// reader, for the first chunk of every reply.
	pipe := e.d.Redis.Pipeline()
	metaCmd := pipe.HGetAll(ctx, e.d.Keys.StreamMeta(taskID))
	textCmd := pipe.Get(ctx, e.d.Keys.Stream(taskID))
	_, _ = pipe.Exec(ctx) // errors are read per command
	meta, err := metaCmd.Result()
	if err != nil {
		return nil, err
	}
	if meta["agent"] == "" { // no buffer: ended long ago, or never a task
		if r, err := e.d.DB.ChannelReply(ctx, taskID); err == nil {
			if r.AgentID != agentID || r.Status == ari.StatusPending {
				return nil, ErrNotYourTask
			}
			return nil, ErrEnded
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		m, err := e.d.DB.Message(ctx, taskID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (m.SenderAgentID == nil || *m.SenderAgentID != agentID)) {
			return nil, ErrNotYourTask
		}
		if err != nil {
			return nil, err
		}
		if m.Status == ari.StatusPending { // not started: not given to the agent yet
			return nil, ErrNotYourTask
		}
		return nil, ErrEnded
	}
	if meta["agent"] != agentID {
		return nil, ErrNotYourTask
	}
	if meta["ended"] != "0" {
		return nil, ErrEnded
	}
	text, err := textCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	if ch := meta["channel"]; ch != "" {
		return e.loadChannelTask(taskID, agentID, ch, meta, text), nil
	}
	var users []string
	if meta["users"] != "" {
		users = strings.Split(meta["users"], ",")
	}
	e.Drive(meta["conv"], taskID)
	t = &Task{ID: taskID, ConversationID: meta["conv"], AgentID: agentID,
		to: e.recipientsOf(taskID, meta["conv"], users), first: meta["first"] == "1", sent: int64(len(text))}
	t.accept(text)
	return t, nil
}

// accept appends delta to Text. Text views the builder's bytes, so a long
// reply is not copied again for every chunk (as Text += delta would).
func (t *Task) accept(delta string) {
	t.text.WriteString(delta)
	t.Text = t.text.String()
}

// Chunk applies an agent_chunk and returns once it is buffered and sent to
// clients. ErrEnded means the task is over (drop the chunk silently). A chunk
// that breaks the rules ends the reply in error.
func (e *Engine) Chunk(ctx context.Context, t *Task, content, mode string) error {
	delta, end, err := merge(t, content, mode)
	if end != nil {
		e.Settle(ctx, t.ID, *end)
		return ErrEnded
	}
	if err != nil {
		return err
	}
	return e.appendDelta(ctx, t, delta)
}

// merge turns a chunk into the delta it adds to t.Text, or into the end of a
// reply that it breaks.
func merge(t *Task, content, mode string) (string, *End, error) {
	var delta string
	var err error
	if mode == protocol.ModeDelta { // Merge's rule without building the new text
		delta = content
		if len(t.Text)+len(content) > protocol.MaxReplyBytes {
			err = protocol.ErrReplyTooLarge
		}
	} else {
		delta, _, err = protocol.Merge(t.Text, content, mode)
	}
	switch {
	case errors.Is(err, protocol.ErrNotExtending):
		return "", &End{Status: ari.StatusError, Code: protocol.StreamErrInvalidChunk,
			Message: "accumulated chunk does not extend text", CancelReason: protocol.CancelInvalidChunk}, nil
	case errors.Is(err, protocol.ErrReplyTooLarge):
		return "", &End{Status: ari.StatusError, Code: protocol.StreamErrReplyTooLarge,
			Message: "the reply exceeds 256 KiB", CancelReason: protocol.CancelReplyTooLarge}, nil
	}
	return delta, nil, err
}

// appendDelta buffers and sends one delta and waits for it.
func (e *Engine) appendDelta(ctx context.Context, t *Task, delta string) error {
	errs, firsts := e.appendDeltas(ctx, []*Task{t}, []string{delta}, true)
	e.markFirst(ctx, firsts)
	if errs[0] != nil {
		return errs[0]
	}
	t.accept(delta)
	return nil
}

// Complete applies agent_complete. Content that extends the text reaches
// clients as a last chunk; content that does not replaces the text.
func (e *Engine) Complete(ctx context.Context, t *Task, content *string) {
	if t.lost.Load() && content == nil {
		e.Lose(ctx, t)
		return
	}
	end := End{Status: ari.StatusComplete}
	if content != nil {
		if strings.HasPrefix(*content, t.Text) && len(*content) <= protocol.MaxReplyBytes {
			if err := e.appendDelta(ctx, t, (*content)[len(t.Text):]); errors.Is(err, ErrEnded) {
				return
			} else if err != nil {
				e.d.Log.Warn("relay final chunk", "reply", t.ID, "err", err)
			}
		}
		end.Content = content
	}
	e.Settle(ctx, t.ID, end)
}

// Lose ends a reply whose buffer lost text (Task.lost) in error internal
// with the text the buffer kept, which is what every client that resumes
// is shown, and tells the agent to stop (task_cancel internal). While Redis
// is still unreachable this fails; the next frame for the task and every
// heartbeat try again (retryLost).
func (e *Engine) Lose(ctx context.Context, t *Task) {
	settled, err := e.settle(ctx, t.ID, End{Status: ari.StatusError, Code: protocol.StreamErrInternal,
		Message: "the relay lost part of this reply; the text is what it kept", CancelReason: protocol.CancelInternal})
	e.mu.Lock()
	if err != nil {
		e.losing[t.ID] = t // the heartbeat tries again
	} else {
		delete(e.losing, t.ID)
	}
	e.mu.Unlock()
	if settled {
		t.ended.Store(true)
	}
}

// retryLost tries again to end the replies Lose could not end (Redis was
// unreachable), so that one ends in error internal soon after Redis is back
// even when its agent sends nothing more, rather than in agent_timeout.
func (e *Engine) retryLost(ctx context.Context) {
	e.mu.Lock()
	tasks := make([]*Task, 0, len(e.losing))
	for _, t := range e.losing {
		tasks = append(tasks, t)
	}
	e.mu.Unlock()
	for _, t := range tasks {
		e.Lose(ctx, t)
	}
}

// Finish settles a reply of agentID whose buffer an end closed that never
// reached Postgres: the instance settling it died between the two (its
// agent, reconnected elsewhere, sends its end again, which LoadTask reports
// as ErrEnded). It does nothing for a reply Postgres has ended already or
// that is not the agent's, for one whose buffer is gone (it would end with
// its text taken for empty) and for one whose buffer lost text (Lose ends
// those), and reports whether it settled the reply.
func (e *Engine) Finish(ctx context.Context, agentID, replyID string, end End) bool {
	e.mu.Lock()
	_, losing := e.losing[replyID]
	e.mu.Unlock()
	if losing {
		return false // its buffer lost text: Lose ends it, not this end
	}
	// Only a buffer that is there, the agent's, and closed: one Redis could
	// not find (or read wrong during a failover) is not ended by an end that
	// would take its text for empty.
	meta, err := e.d.Redis.HMGet(ctx, e.d.Keys.StreamMeta(replyID), "agent", "ended").Result()
	if err != nil || len(meta) != 2 {
		return false
	}
	if owner, _ := meta[0].(string); owner != agentID {
		return false
	}
	if ended, _ := meta[1].(string); ended != "1" {
		return false
	}
	m, err := e.d.DB.Message(ctx, replyID)
	if err != nil || m.SenderAgentID == nil || *m.SenderAgentID != agentID ||
		(m.Status != ari.StatusStreaming && m.Status != ari.StatusWaitingInput) {
		return false
	}
	return e.Settle(ctx, replyID, end)
}

// Fail applies agent_error: the text so far is kept.
func (e *Engine) Fail(ctx context.Context, t *Task, message string) {
	e.Settle(ctx, t.ID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentError, Message: message})
}

// Cancel ends a reply a member cancelled: the streaming one keeps its text
// and the agent gets task_cancel; a queued one leaves the queue, empty.
// A reply that already ended is ignored.
func (e *Engine) Cancel(ctx context.Context, reply ari.Message) {
	switch reply.Status {
	case ari.StatusPending:
		e.d.Redis.LRem(ctx, e.d.Keys.ConvQueue(reply.ConversationID), 0, reply.ID)
		e.Settle(ctx, reply.ID, End{Status: ari.StatusCancelled})
	case ari.StatusStreaming, ari.StatusWaitingInput:
		e.flushBefore(reply.ID)
		e.Settle(ctx, reply.ID, End{Status: ari.StatusCancelled, CancelReason: protocol.CancelUser})
	}
}

// AgentRevoked ends the agent's streaming replies, and the replies named by
// also: its token was regenerated or it was deleted, so nothing more will come.
func (e *Engine) AgentRevoked(ctx context.Context, agentID string, also ...string) {
	inChannels, err := e.d.DB.AgentStreamingChannelReplies(ctx, e.d.Keys.Prefix, agentID)
	if err != nil {
		e.d.Log.Error("relay revoked agent channel replies", "agent", agentID, "err", err)
	}
	for _, r := range inChannels {
		e.SettleChannel(ctx, r.ChannelID, r.ID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent was disconnected by its owner"})
	}
	replies, err := e.d.DB.AgentStreamingReplies(ctx, e.d.Keys.Prefix, agentID)
	if err != nil {
		e.d.Log.Error("relay revoked agent replies", "agent", agentID, "err", err)
	}
	ids := also
	for _, r := range replies {
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		e.Settle(ctx, id, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent was disconnected by its owner"})
	}
}

// Adopt makes this instance drive the agent's streaming replies: its socket
// has (re)connected here, perhaps after another instance went away. It
// returns their ids (conversations' and channels'), for the answers the new
// socket may have to get again (relay/agent, redeliverInputs).
func (e *Engine) Adopt(ctx context.Context, agentID string) []string {
	replies, err := e.d.DB.AgentStreamingReplies(ctx, e.d.Keys.Prefix, agentID)
	if err != nil {
		e.d.Log.Warn("relay adopt replies", "agent", agentID, "err", err)
	}
	ids := make([]string, 0, len(replies))
	for _, r := range replies {
		e.Drive(r.ConversationID, r.ID)
		ids = append(ids, r.ID)
	}
	ids = append(ids, e.adoptChannels(ctx, agentID)...)
	if len(ids) > 0 {
		e.Heartbeat(ctx)
	}
	return ids
}
