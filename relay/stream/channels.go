package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
)

// Agents' replies in community channels (PROTOCOL.md section 18, "Agents in
// channels"). They run through the same machinery as a conversation's: the
// stream buffer stream:{id} with its meta (whose "channel" field marks a
// channel reply), the agent socket's Feed, Settle's single terminal state,
// the sweeper. What differs:
//
//   - one active reply per channel, whichever agent writes it, and a FIFO of
//     waiting ones (kv.Keys.ChannelActive / ChannelQueue, one hash tag);
//     replies are stored pending by the send (store.SendChannelMessage) and
//     queued by the function that stored them, which asks any instance to
//     start the head (shared/relayjob.KindChannelReplies);
//   - frames go to the channel's topic (kv.Keys.ChannelTopic), one publish
//     each, to every socket subscribed to the channel on any instance,
//     never per member and never to agents' sockets;
//   - the end saves the text as a channel message from the agent at the
//     channel's next seq (store.SettleChannelReply) and publishes it as
//     channel_message_new after channel_stream_end.

// AdvanceChannel starts the channel's next queued reply if none is active.
func (e *Engine) AdvanceChannel(ctx context.Context, channelID string) {
	id, err := advanceScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ChannelActive(channelID), e.d.Keys.ChannelQueue(channelID)},
		e.d.ActiveTTL.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return
	}
	if err != nil {
		e.d.Log.Error("relay advance channel queue", "channel", channelID, "err", err)
		return
	}
	e.startChannel(ctx, channelID, id)
}

func (e *Engine) releaseChannel(ctx context.Context, channelID, replyID string) {
	if err := releaseScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ChannelActive(channelID)}, replyID).Err(); err != nil {
		e.d.Log.Error("relay release channel mark", "channel", channelID, "err", err)
	}
}

// startChannel runs a reply whose active mark this instance has just taken.
func (e *Engine) startChannel(ctx context.Context, channelID, replyID string) {
	ok, err := e.d.DB.StartChannelReply(ctx, replyID)
	if err != nil {
		e.d.Log.Error("relay start channel reply", "reply", replyID, "err", err)
		return // the mark expires and the sweeper queues it again
	}
	if !ok { // ended (or deleted) while it waited: the next one's turn
		e.releaseChannel(ctx, channelID, replyID)
		e.AdvanceChannel(ctx, channelID)
		return
	}
	if err := e.beginChannel(ctx, channelID, replyID); err != nil {
		e.d.Log.Error("relay begin channel reply", "reply", replyID, "err", err)
		e.SettleChannel(ctx, channelID, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrInternal,
			Message: "the relay could not start the reply"})
	}
}

func (e *Engine) beginChannel(ctx context.Context, channelID, replyID string) error {
	r, err := e.d.DB.ChannelReply(ctx, replyID)
	if err != nil {
		return err
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	meta := e.d.Keys.StreamMeta(replyID)
	pipe := e.d.Redis.TxPipeline()
	pipe.Set(ctx, e.d.Keys.Stream(replyID), "", kv.StreamTTL)
	pipe.HSet(ctx, meta, "conv", "", "channel", channelID, "agent", r.AgentID, "users", "",
		"dispatched", now, "last", now, "first", "0", "ended", "0")
	pipe.Expire(ctx, meta, kv.StreamTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	ss := &protocol.ChannelStreamStart{ChannelID: channelID, MessageID: replyID, AgentID: r.AgentID, ReplyToID: r.ReplyToID}
	if r.ChainHop > 0 && r.ChainRootID != nil {
		ss.ChainHop, ss.ChainRootID = r.ChainHop, *r.ChainRootID
	}
	if err := e.toChannel(ctx, channelID, ss); err != nil {
		return err
	}
	agent, err := e.d.DB.RelayAgentByID(ctx, r.AgentID)
	if errors.Is(err, store.ErrNotFound) {
		e.SettleChannel(ctx, channelID, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent no longer exists"})
		return nil
	}
	if err != nil {
		return err
	}
	task, err := e.buildChannelTask(ctx, r)
	if err != nil {
		return err
	}
	delivered, err := e.d.Transport.Deliver(ctx, e, agent, task)
	if err != nil {
		return err
	}
	if !delivered {
		e.SettleChannel(ctx, channelID, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent is not connected"})
	}
	return nil
}

// buildChannelTask is the task of a channel reply: the message it answers,
// the channel's newest earlier messages (bounded as a conversation's
// history), where it is, and its chain.
func (e *Engine) buildChannelTask(ctx context.Context, r ari.ChannelReply) (*protocol.Task, error) {
	in, err := e.d.DB.ChannelTaskInput(ctx, r.ReplyToID, protocol.HistoryEntries)
	if err != nil {
		return nil, err
	}
	t := &protocol.Task{TaskID: r.ID, MessageID: r.ID,
		Message: protocol.TaskMessage{ID: in.MessageID, Seq: in.Seq, Content: in.Content,
			Sender: protocol.Sender{ID: in.SenderID, Name: in.SenderName}, Attachments: []protocol.Attachment{}},
		History: boundHistory(in.History),
		Channel: &protocol.TaskChannel{ID: in.ChannelID, Name: in.ChannelName, CommunityID: in.CommunityID, CommunityName: in.CommunityName}}
	if r.ChainHop > 0 && r.ChainRootID != nil {
		t.Chain = &protocol.TaskChain{RootMessageID: *r.ChainRootID, Hop: r.ChainHop, MaxHops: ari.DefaultChainHops,
			MentionedBy: protocol.ChainAgent{ID: in.SenderID, Name: in.SenderName, Handle: in.SenderHandle}}
	}
	for _, a := range in.Attachments {
		link := a.URL
		if e.d.Files != nil {
			if link, _, err = e.d.Files.URL(ctx, a.Key); err != nil {
				return nil, err
			}
		}
		t.Message.Attachments = append(t.Message.Attachments, protocol.Attachment{ID: a.ID, URL: link,
			ContentType: a.ContentType, Size: a.Size, Name: a.Name})
	}
	return t, nil
}

// toChannel publishes a frame once on the channel's topic.
func (e *Engine) toChannel(ctx context.Context, channelID string, f protocol.Frame) error {
	b, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	_, err = e.d.Hub.Publish(ctx, e.d.Keys.ChannelTopic(channelID), b)
	return err
}

// DriveChannel makes this instance refresh a channel reply's active mark:
// it holds the agent socket that works on it.
func (e *Engine) DriveChannel(channelID, replyID string) {
	e.mu.Lock()
	e.chDriving[replyID] = channelID
	metrics.RepliesActive(len(e.driving) + len(e.chDriving))
	e.mu.Unlock()
}

// DriveTask is Drive or DriveChannel, as the task says.
func (e *Engine) DriveTask(conversationID, channelID, replyID string) {
	if channelID != "" {
		e.DriveChannel(channelID, replyID)
		return
	}
	e.Drive(conversationID, replyID)
}

// heartbeatChannels refreshes the marks of the channel replies driven here.
func (e *Engine) heartbeatChannels(ctx context.Context) {
	e.mu.Lock()
	ids := make(map[string]string, len(e.chDriving))
	for r, c := range e.chDriving {
		ids[r] = c
	}
	e.mu.Unlock()
	for r, c := range ids {
		n, err := refreshScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ChannelActive(c)}, r, e.d.ActiveTTL.Milliseconds()).Int()
		if err != nil {
			e.d.Log.Warn("relay refresh channel mark", "reply", r, "err", err)
			continue
		}
		if n == 0 {
			e.forget(r)
		}
	}
}

// SettleChannel ends a channel reply (Settle for a reply whose channel is
// known, also when its buffer has expired). It reports whether this call
// settled it.
func (e *Engine) SettleChannel(ctx context.Context, channelID, replyID string, end End) bool {
	res, err := endScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(replyID), e.d.Keys.StreamMeta(replyID)},
		int(kv.StreamTTL/time.Second)).StringSlice()
	if err != nil || len(res) != 5 {
		e.d.Log.Error("relay end buffer", "reply", replyID, "err", err)
		metrics.SettleFailed(metrics.SettleBuffer)
		return false
	}
	settled, _ := e.settleChannel(ctx, channelID, replyID, end, res)
	return settled
}

// settleChannel is settle for a channel reply whose buffer endScript has
// closed (res is its answer).
func (e *Engine) settleChannel(ctx context.Context, channelID, replyID string, end End, res []string) (bool, error) {
	text := res[0]
	if res[1] != "" { // announced while Postgres was unreachable: save only
		recorded := End{Status: res[1], Code: res[2], Message: res[3]}
		_, settled, err := e.saveChannel(ctx, replyID, &recorded, text)
		if err == nil {
			e.forget(replyID)
			if settled {
				e.releaseChannel(ctx, channelID, replyID)
				e.AdvanceChannel(ctx, channelID)
			}
		}
		return false, nil
	}
	if end.Content != nil {
		text = *end.Content
	}
	defer e.doneSettling(ctx, e.noteSettling(ctx, replyID, channelID, end)) // recover.go
	out, settled, err := e.saveChannel(ctx, replyID, &end, text)
	if err != nil {
		e.d.Log.Error("relay settle channel reply", "reply", replyID, "err", err)
		if store.Unreachable(err) {
			metrics.SettleFailed(metrics.SettleUnsaved)
			e.channelEndUnsaved(ctx, channelID, replyID, internalEnd(end), text)
		} else {
			metrics.SettleFailed(metrics.SettleSaveError)
		}
		return false, nil
	}
	e.forget(replyID)
	if !settled {
		return false, nil
	}
	e.announceChannelEnd(ctx, channelID, replyID, end, out)
	if end.Status == ari.StatusComplete && out.Message != nil {
		e.continueChannelChain(ctx, out.Reply, out.Message.Content)
	}
	e.releaseChannel(ctx, channelID, replyID)
	e.AdvanceChannel(ctx, channelID)
	return true, nil
}

// announceChannelEnd tells the channel a reply's saved end
// (channel_stream_end, and channel_message_new for its text) and the agent
// task_cancel when the end carries a reason.
func (e *Engine) announceChannelEnd(ctx context.Context, channelID, replyID string, end End, out store.ChannelReplyEnd) {
	se := &protocol.ChannelStreamEnd{ChannelID: channelID, MessageID: replyID, Status: end.Status}
	if out.Message != nil {
		se.Content, se.Seq = out.Message.Content, out.Message.Seq
	}
	if end.Status == ari.StatusError {
		se.Error = &protocol.StreamError{Code: end.Code, Message: end.Message}
	}
	if err := e.toChannel(ctx, channelID, se); err != nil {
		e.d.Log.Error("relay announce channel end", "reply", replyID, "err", err)
	}
	if out.Message != nil {
		ev, err := events.NewForChannel(events.ChannelMessageNew, channelID, map[string]any{"message": out.Message})
		if err == nil {
			err = events.NewPublisher(e.d.Redis, e.d.Keys).ToChannel(ctx, ev)
		}
		if err != nil {
			e.d.Log.Error("relay announce channel message", "reply", replyID, "err", err)
		}
	}
	if end.CancelReason != "" {
		e.cancelTask(ctx, out.Reply.AgentID, replyID, end.CancelReason)
	}
}

// saveChannel writes a channel reply's terminal state, as save does.
func (e *Engine) saveChannel(ctx context.Context, replyID string, end *End, text string) (store.ChannelReplyEnd, bool, error) {
	var out store.ChannelReplyEnd
	settled, err := e.saveWith(ctx, replyID, end, text, func(text string) (bool, error) {
		var ok bool
		var err error
		out, ok, err = e.d.DB.SettleChannelReply(ctx, replyID, end.Status, text, end.Message)
		return ok, err
	})
	return out, settled, err
}

// channelEndUnsaved is endUnsaved for a channel reply: subscribers get
// channel_stream_end, the agent task_cancel, the queue moves on; the end is
// recorded with the buffer for a sweeper to save.
func (e *Engine) channelEndUnsaved(ctx context.Context, channelID, replyID string, end End, text string) {
	keys := []string{e.d.Keys.Stream(replyID), e.d.Keys.StreamMeta(replyID)}
	first, err := recordEndScript.Run(ctx, e.d.Redis, keys, end.Status, end.Code, end.Message, text,
		int(kv.UnsavedEndTTL/time.Second)).Int()
	if err != nil || first == 0 {
		if err != nil {
			e.d.Log.Error("relay record unsaved end", "reply", replyID, "err", err)
		}
		return
	}
	e.forget(replyID)
	if err := e.toChannel(ctx, channelID, &protocol.ChannelStreamEnd{ChannelID: channelID, MessageID: replyID, Status: end.Status,
		Content: text, Error: &protocol.StreamError{Code: end.Code, Message: end.Message}}); err != nil {
		e.d.Log.Error("relay announce unsaved channel end", "reply", replyID, "err", err)
	}
	if agentID, _ := e.d.Redis.HGet(ctx, keys[1], "agent").Result(); agentID != "" {
		e.cancelTask(ctx, agentID, replyID, end.CancelReason)
	}
	e.d.Log.Warn("relay ended a channel reply without saving it (Postgres unreachable)", "reply", replyID)
	e.releaseChannel(ctx, channelID, replyID)
	e.AdvanceChannel(ctx, channelID)
}

// continueChannelChain queues the replies a finished reply's mentions of
// other channel agents owe (store.ContinueChannelChain bounds them), behind
// whatever waits in the channel; subscribers get channel_chain_limit when
// the budget stopped some.
func (e *Engine) continueChannelChain(ctx context.Context, r ari.ChannelReply, content string) {
	step, err := e.d.DB.ContinueChannelChain(ctx, r, content, e.d.Keys.Prefix)
	if err != nil {
		e.d.Log.Error("relay continue channel chain", "reply", r.ID, "err", err)
		return
	}
	if len(step.Replies) > 0 {
		ids := make([]any, len(step.Replies))
		for i, n := range step.Replies {
			ids[i] = n.ID
		}
		// The finished reply still holds the mark: the next one starts
		// when Settle releases it. Lost here: the sweeper queues them.
		if err := e.d.Redis.RPush(ctx, e.d.Keys.ChannelQueue(r.ChannelID), ids...).Err(); err != nil {
			e.d.Log.Error("relay enqueue channel chain", "reply", r.ID, "err", err)
		}
	}
	if step.Limited {
		if err := e.toChannel(ctx, r.ChannelID, &protocol.ChannelChainLimit{ChannelID: r.ChannelID, MessageID: r.ID, Hops: step.Hops}); err != nil {
			e.d.Log.Error("relay channel_chain_limit", "reply", r.ID, "err", err)
		}
	}
}

// ChannelStream reads the reply streaming in a channel (nil when none), for
// a socket that subscribes: its text so far and offset.
func (e *Engine) ChannelStream(ctx context.Context, channelID string) (*protocol.ChannelStream, error) {
	id, err := e.d.Redis.Get(ctx, e.d.Keys.ChannelActive(channelID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pipe := e.d.Redis.Pipeline()
	metaCmd := pipe.HMGet(ctx, e.d.Keys.StreamMeta(id), "channel", "agent", "ended", "state", "label")
	textCmd := pipe.Get(ctx, e.d.Keys.Stream(id))
	_, _ = pipe.Exec(ctx) // errors are read per command
	meta, err := metaCmd.Result()
	if err != nil {
		return nil, err
	}
	text, err := textCmd.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	channel, _ := meta[0].(string)
	agent, _ := meta[1].(string)
	ended, _ := meta[2].(string)
	if channel != channelID || ended != "0" {
		return nil, nil // not started yet, or over
	}
	cs := &protocol.ChannelStream{MessageID: id, AgentID: agent, Content: text, Offset: int64(len(text)),
		Status: replyStatus(meta[3:5])}
	r, err := e.d.DB.OpenChannelInput(ctx, id)
	switch {
	case err == nil:
		cs.InputRequest = protocol.ChannelInputRequestOf(r)
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return cs, nil
}

// adoptChannels makes this instance drive the agent's streaming channel
// replies (its socket came here).
func (e *Engine) adoptChannels(ctx context.Context, agentID string) []string {
	replies, err := e.d.DB.AgentStreamingChannelReplies(ctx, e.d.Keys.Prefix, agentID)
	if err != nil {
		e.d.Log.Warn("relay adopt channel replies", "agent", agentID, "err", err)
		return nil
	}
	ids := make([]string, len(replies))
	for i, r := range replies {
		e.DriveChannel(r.ChannelID, r.ID)
		ids[i] = r.ID
	}
	return ids
}

// sweepChannels is Sweep for channel replies: a streaming reply whose
// channel's mark is gone or names another reply lost its driver
// (interrupted); a silent agent times out; a stalled queue is restarted,
// with stored replies missing from it put back in order; replies driven
// here whose rows are gone (channel deleted) are dropped.
func (e *Engine) sweepChannels(ctx context.Context) error {
	open, err := e.d.DB.OpenChannelReplies(ctx, e.d.Keys.Prefix)
	if err != nil {
		return err
	}
	e.forgetDeletedChannels(ctx, open)
	byChannel := map[string][]store.OpenChannelReply{}
	var order, marks, streaming []string
	for _, r := range open {
		if _, ok := byChannel[r.ChannelID]; !ok {
			order = append(order, r.ChannelID)
			marks = append(marks, e.d.Keys.ChannelActive(r.ChannelID))
		}
		byChannel[r.ChannelID] = append(byChannel[r.ChannelID], r)
		if r.Status == ari.StatusStreaming {
			streaming = append(streaming, r.ID)
		}
	}
	read := e.readForSweep(ctx, marks, streaming)
	var errs []error
	for i, ch := range order {
		if err := e.sweepChannel(ctx, ch, marks[i], byChannel[ch], read); err != nil {
			errs = append(errs, fmt.Errorf("channel %s: %w", ch, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) sweepChannel(ctx context.Context, channelID, mark string, replies []store.OpenChannelReply, read *sweepRead) error {
	active, err := read.active(mark)
	if err != nil {
		return err
	}
	streaming := false
	for _, r := range replies {
		if r.Status == ari.StatusWaitingInput {
			// Waiting for a person: no silence timeout, and the reply
			// keeps the channel's mark, driven or not (as in a
			// conversation, PROTOCOL.md section 10).
			streaming = true
			if err := e.holdWaitingChannel(ctx, channelID, r.ID); err != nil {
				return err
			}
			continue
		}
		if r.Status != ari.StatusStreaming {
			continue
		}
		streaming = true
		settle := func(end End) { e.SettleChannel(ctx, channelID, r.ID, end) }
		if active != r.ID {
			settle(End{Status: ari.StatusError, Code: protocol.StreamErrInterrupted,
				Message: "the relay instance streaming this reply stopped"})
			continue
		}
		end, err := e.silence(read, r.ID)
		if err != nil {
			return err
		}
		if end != nil {
			settle(*end)
		}
	}
	if streaming || active != "" {
		return nil
	}
	queued, err := e.d.Redis.LRange(ctx, e.d.Keys.ChannelQueue(channelID), 0, -1).Result()
	if err != nil {
		return err
	}
	var missing []any
	for _, r := range replies {
		if r.Status == ari.StatusPending && !slices.Contains(queued, r.ID) && time.Since(r.CreatedAt.Time) > orphanAge {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		slices.Reverse(missing)
		if err := e.d.Redis.LPush(ctx, e.d.Keys.ChannelQueue(channelID), missing...).Err(); err != nil {
			return err
		}
	}
	e.AdvanceChannel(ctx, channelID)
	return nil
}

// holdWaitingChannel is holdWaiting for a channel reply: the channel's
// active mark and the reply's buffer.
func (e *Engine) holdWaitingChannel(ctx context.Context, channelID, replyID string) error {
	if err := holdMarkScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ChannelActive(channelID)},
		replyID, e.d.ActiveTTL.Milliseconds()).Err(); err != nil {
		return err
	}
	return keepBufferScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(replyID), e.d.Keys.StreamMeta(replyID)},
		int(kv.StreamTTL/time.Second)).Err()
}

// forgetDeletedChannels stops driving channel replies whose rows are gone
// (their channel or their agent was deleted): the buffer is closed, the
// subscribers told (channel_stream_end error, nothing saved), the mark
// released, the queue moved on and the agent told to stop.
func (e *Engine) forgetDeletedChannels(ctx context.Context, open []store.OpenChannelReply) {
	isOpen := make(map[string]bool, len(open))
	for _, r := range open {
		isOpen[r.ID] = true
	}
	e.mu.Lock()
	gone := map[string]string{}
	for id, ch := range e.chDriving {
		if !isOpen[id] {
			gone[id] = ch
		}
	}
	e.mu.Unlock()
	for id, ch := range gone {
		if _, err := e.d.DB.ChannelReply(ctx, id); !errors.Is(err, store.ErrNotFound) {
			continue // ended elsewhere: the heartbeat drops it
		}
		if !e.forget(id) {
			continue
		}
		agentID, _ := e.d.Redis.HGet(ctx, e.d.Keys.StreamMeta(id), "agent").Result()
		res, _ := endScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(id), e.d.Keys.StreamMeta(id)}, int(kv.StreamTTL/time.Second)).StringSlice()
		text := ""
		if len(res) > 0 {
			text = res[0]
		}
		if err := e.toChannel(ctx, ch, &protocol.ChannelStreamEnd{ChannelID: ch, MessageID: id, Status: ari.StatusError, Content: text,
			Error: &protocol.StreamError{Code: protocol.StreamErrAgentOffline, Message: "the reply no longer exists: its agent or channel was deleted"}}); err != nil {
			e.d.Log.Warn("relay announce dropped channel reply", "reply", id, "err", err)
		}
		e.releaseChannel(ctx, ch, id)
		e.AdvanceChannel(ctx, ch)
		if agentID != "" {
			e.cancelTask(ctx, agentID, id, protocol.CancelConversationDeleted)
		}
	}
}

// channelStatus is Status for a channel reply: one frame on the topic.
func (e *Engine) channelStatus(ctx context.Context, t *Task, state, label string) error {
	return e.toChannel(ctx, t.ChannelID, &protocol.ChannelStreamStatus{ChannelID: t.ChannelID, MessageID: t.ID, State: state, Label: label})
}

// loadChannelTask is LoadTask's end for a channel reply.
func (e *Engine) loadChannelTask(taskID, agentID, channelID string, meta map[string]string, text string) *Task {
	e.DriveChannel(channelID, taskID)
	t := &Task{ID: taskID, ChannelID: channelID, AgentID: agentID, to: &recipients{},
		first: meta["first"] == "1", sent: int64(len(text))}
	t.accept(text)
	return t
}

// CancelChannel ends a channel reply a member cancelled (cancel_stream):
// a streaming or waiting one keeps its text and its agent gets task_cancel;
// a queued one leaves the channel's queue, empty. One that ended already is
// ignored.
func (e *Engine) CancelChannel(ctx context.Context, r ari.ChannelReply) {
	switch r.Status {
	case ari.StatusPending:
		e.d.Redis.LRem(ctx, e.d.Keys.ChannelQueue(r.ChannelID), 0, r.ID)
		e.SettleChannel(ctx, r.ChannelID, r.ID, End{Status: ari.StatusCancelled})
	case ari.StatusStreaming, ari.StatusWaitingInput:
		e.flushBefore(r.ID)
		e.SettleChannel(ctx, r.ChannelID, r.ID, End{Status: ari.StatusCancelled, CancelReason: protocol.CancelUser})
	}
}
