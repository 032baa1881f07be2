// Package stream is the reply lifecycle shared by all relay instances: one
// active reply per conversation (conv:{id}:active, with a TTL its driver
// refreshes) and a FIFO of waiting ones (conv:{id}:queue); the text of a
// streaming reply accumulated in stream:{messageId} with the byte offset it
// has reached; fan-out of stream frames to every member's user channel; and
// exactly one terminal state per reply, saved to Postgres by whichever
// instance wins the guarded UPDATE.
//
// Who does what: the instance that handles a send claims the active mark (or
// queues), starts the reply (stream_start, then the task to the agent's
// channel). The instance holding the agent's socket "drives" the reply: it
// receives the chunks, appends and fans them out, and refreshes the active
// mark. Every instance runs a sweeper over the open replies in Postgres that
// ends replies whose agent went silent (agent_timeout) or whose driver died
// (active mark expired: interrupted), and restarts stalled queues.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
)

// Transport hands a task to its agent (over the agent's socket on whichever
// instance holds it, or over A2A). replies is the engine the reply belongs
// to, for a transport that drives the reply itself (an A2A run feeds its
// chunks and end to it). False means the agent cannot be reached now; the
// reply then ends in error agent_offline.
//
// Answer sends a settled input request of an A2A task (ari.InputRequest's
// A2ATaskID set: the agent's task ended input-required) back into that
// task, when this instance wins its claim (Engine.ClaimInput), and streams
// the continuation into the same reply. It must not block on the agent.
type Transport interface {
	Deliver(ctx context.Context, replies *Engine, agent store.RelayAgent, task *protocol.Task) (bool, error)
	Answer(ctx context.Context, replies *Engine, r ari.InputRequest)
	// CancelA2A sends the cancel call for the A2A task of a request whose
	// reply ended while it waited (state cancelled). It must not block.
	CancelA2A(ctx context.Context, r ari.InputRequest)
}

// Deps are the engine's collaborators and timing.
type Deps struct {
	DB         *store.DB
	Redis      redis.UniversalClient
	Keys       kv.Keys
	Hub        *hub.Hub
	Transport  Transport
	Log        *slog.Logger
	InstanceID string // names this instance's sockets (hub.SocketName)
	ActiveTTL  time.Duration
	// ChunkLinger is how long a feed may let chunks gather before their
	// round trip to Redis when none of them is received on another
	// instance (Feed.send); 0: never.
	ChunkLinger       time.Duration
	FirstChunkTimeout time.Duration
	IdleTimeout       time.Duration
	// Push is told of every reply this instance settles and every input
	// request it opens; it decides about notifications off this path
	// (pushtrigger.AsyncNotifier). Nil: none.
	Push interface {
		Reply(reply ari.Message) bool
		InputRequest(r ari.InputRequest) bool
	}
	// InputTTL is how long an input request stays open (INPUT_REQUEST_TTL).
	InputTTL time.Duration
	// Files makes the links a task carries to its message's attachments
	// (storage.Store): presigned for private buckets, so they are made fresh
	// when the task is sent. Nil: the link stored at upload time.
	Files interface {
		URL(ctx context.Context, key string) (string, time.Time, error)
	}
}

// Engine runs replies for one instance.
type Engine struct {
	d       Deps
	latency *latency // ari_chunk_delivery_seconds

	mu      sync.Mutex
	driving map[string]string // reply id → conversation id, marks this instance refreshes
	// chDriving: reply id → channel id, the channel replies' marks this
	// instance refreshes (channels.go).
	chDriving map[string]string
	fanout    map[string]*recipients // reply id → whom its frames go to, for the tasks loaded here
	changed   map[string]bool        // conversations whose members left, not yet applied (members.go)
	losing    map[string]*Task       // reply id → task Lose could not end yet (retryLost)
	// feeds: reply id → the feed of the agent socket here that last gave
	// it text (flushBefore).
	feeds map[string]*Feed
	wake  chan struct{} // RunMembership's signal: changed has entries
}

// New returns an engine.
func New(d Deps) *Engine {
	return &Engine{d: d, driving: map[string]string{}, chDriving: map[string]string{}, fanout: map[string]*recipients{},
		losing: map[string]*Task{}, feeds: map[string]*Feed{}, changed: map[string]bool{}, wake: make(chan struct{}, 1), latency: newLatency(metrics.ChunkDelivered)}
}

// Written hears of each frame a client socket of this instance wrote
// (conn.Options.Written): the last write of a chunk frame times its delivery.
func (e *Engine) Written(frame []byte) { e.latency.written(frame) }

// Errors of task frames from agents.
var (
	// ErrNotYourTask: the task was never given to this agent.
	ErrNotYourTask = errors.New("stream: not your task")
	// ErrEnded: the task was this agent's but has ended; frames are dropped.
	ErrEnded = errors.New("stream: task ended")
	// ErrLost: the reply's buffer is shorter than the text sent into it.
	ErrLost = errors.New("stream: the reply's buffer lost text")
)

// Busy reports whether the conversation's queue is full.
func (e *Engine) Busy(ctx context.Context, conversationID string) (bool, error) {
	n, err := e.d.Redis.LLen(ctx, e.d.Keys.ConvQueue(conversationID)).Result()
	return n >= protocol.MaxQueuedReplies, err
}

// Enqueue puts new replies of a conversation in its queue and claims the
// active mark for the head when nothing is active. It returns the reply that
// the caller must now Start ("" for none) and, for each reply given, where it
// waits (1 = next to start; 0 = not waiting: it is the one to start).
// Starting is left to the caller so it can acknowledge the send before
// stream_start goes out.
func (e *Engine) Enqueue(ctx context.Context, conversationID string, replyIDs []string) (start string, positions []int, err error) {
	return e.EnqueueHeld(ctx, conversationID, "", replyIDs)
}

// EnqueueHeld is Enqueue for a send that took the active mark with Hold:
// the hold gives way to the replies.
func (e *Engine) EnqueueHeld(ctx context.Context, conversationID, hold string, replyIDs []string) (start string, positions []int, err error) {
	if len(replyIDs) == 0 {
		if hold != "" {
			e.release(ctx, conversationID, hold)
		}
		return "", nil, nil
	}
	args := []any{e.d.ActiveTTL.Milliseconds(), hold}
	for _, id := range replyIDs {
		args = append(args, id)
	}
	res, err := enqueueScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(conversationID), e.d.Keys.ConvQueue(conversationID)}, args...).Slice()
	if err != nil {
		return "", nil, fmt.Errorf("stream: enqueue: %w", err)
	}
	start, _ = res[0].(string)
	positions = make([]int, len(replyIDs))
	for i := range replyIDs {
		if i+1 < len(res) {
			pos, _ := res[i+1].(int64)
			positions[i] = int(pos) + 1 // -1 (not waiting) becomes 0
			if positions[i] > 0 {
				metrics.RepliesQueued(1)
			}
		}
	}
	return start, positions, nil
}

// Start runs a reply whose active mark Enqueue claimed for the caller.
func (e *Engine) Start(ctx context.Context, conversationID, replyID string) {
	if replyID != "" {
		e.start(ctx, conversationID, replyID)
	}
}

// Position reports where a reply waits: 0 when it is not in the queue.
func (e *Engine) Position(ctx context.Context, conversationID, replyID string) int {
	pos, err := e.d.Redis.LPos(ctx, e.d.Keys.ConvQueue(conversationID), replyID, redis.LPosArgs{}).Result()
	if err != nil {
		return 0
	}
	return int(pos) + 1
}

// advance starts the next queued reply if none is active.
func (e *Engine) advance(ctx context.Context, conversationID string) {
	id, err := advanceScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(conversationID), e.d.Keys.ConvQueue(conversationID)},
		e.d.ActiveTTL.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return
	}
	if err != nil {
		e.d.Log.Error("relay advance queue", "conversation", conversationID, "err", err)
		return
	}
	e.start(ctx, conversationID, id)
}

func (e *Engine) release(ctx context.Context, conversationID, replyID string) {
	if err := releaseScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(conversationID)}, replyID).Err(); err != nil {
		e.d.Log.Error("relay release active mark", "conversation", conversationID, "err", err)
	}
}

// start runs a reply whose active mark this instance has just taken: it
// becomes streaming, members get stream_start, the agent gets the task.
func (e *Engine) start(ctx context.Context, conversationID, replyID string) {
	ok, err := e.d.DB.StartReply(ctx, replyID)
	if err != nil {
		e.d.Log.Error("relay start reply", "reply", replyID, "err", err)
		return // the mark expires and the sweeper retries
	}
	if !ok { // ended while it waited (cancelled): the next one's turn
		e.release(ctx, conversationID, replyID)
		e.advance(ctx, conversationID)
		return
	}
	if err := e.begin(ctx, conversationID, replyID); err != nil {
		e.d.Log.Error("relay begin reply", "reply", replyID, "err", err)
		e.Settle(ctx, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrInternal, Message: "the relay could not start the reply"})
	}
}

func (e *Engine) begin(ctx context.Context, conversationID, replyID string) error {
	reply, err := e.d.DB.Message(ctx, replyID)
	if err != nil {
		return err
	}
	if reply.SenderAgentID == nil || reply.ReplyToID == nil {
		return fmt.Errorf("reply %s has no agent or no message", replyID)
	}
	users, err := e.d.DB.MemberUserIDs(ctx, conversationID)
	if err != nil {
		return err
	}
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	ttl := kv.StreamTTL
	meta := e.d.Keys.StreamMeta(replyID)
	pipe := e.d.Redis.TxPipeline()
	pipe.Set(ctx, e.d.Keys.Stream(replyID), "", ttl)
	pipe.HSet(ctx, meta, "conv", conversationID, "agent", *reply.SenderAgentID, "users", strings.Join(users, ","),
		"dispatched", now, "last", now, "first", "0", "ended", "0")
	pipe.Expire(ctx, meta, ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	var prev *ari.Message // the version a regenerated reply supersedes
	if reply.Version > 1 {
		p, err := e.d.DB.PreviousVersion(ctx, reply)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			prev = &p
		}
	}
	ss := &protocol.StreamStart{ConversationID: conversationID, MessageID: replyID,
		AgentID: *reply.SenderAgentID, Seq: reply.Seq, ReplyToID: *reply.ReplyToID}
	if prev != nil {
		ss.Version, ss.PreviousID = reply.Version, prev.ID
	}
	if reply.ChainHop > 0 {
		ss.ChainHop = reply.ChainHop
		if reply.ChainRootID != nil {
			ss.ChainRootID = *reply.ChainRootID
		}
	}
	start, err := protocol.Encode(ss)
	if err != nil {
		return err
	}
	if _, err := e.d.Hub.ToUsersHereFirst(ctx, e.d.Keys, e.d.InstanceID, users, start); err != nil {
		return err
	}
	agent, err := e.d.DB.RelayAgentByID(ctx, *reply.SenderAgentID)
	if errors.Is(err, store.ErrNotFound) {
		e.Settle(ctx, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent no longer exists"})
		return nil
	}
	if err != nil {
		return err
	}
	task, err := e.buildTask(ctx, reply)
	if err != nil {
		return err
	}
	if prev != nil {
		text := prev.Content
		if len(text) > protocol.HistoryBytes {
			text = cutUTF8(text, protocol.HistoryBytes)
		}
		task.Regenerate = &protocol.TaskRegenerate{Version: reply.Version, PreviousReplyID: prev.ID, PreviousContent: text}
	}
	delivered, err := e.d.Transport.Deliver(ctx, e, agent, task)
	if err != nil {
		return err
	}
	if !delivered {
		e.Settle(ctx, replyID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentOffline, Message: "the agent is not connected"})
	}
	return nil
}

func (e *Engine) buildTask(ctx context.Context, reply ari.Message) (*protocol.Task, error) {
	in, err := e.d.DB.TaskInput(ctx, *reply.ReplyToID, protocol.HistoryEntries)
	if err != nil {
		return nil, err
	}
	t := &protocol.Task{TaskID: reply.ID, ConversationID: reply.ConversationID, MessageID: reply.ID,
		Message: protocol.TaskMessage{ID: in.MessageID, Seq: in.Seq, Content: in.Content,
			Sender: protocol.Sender{ID: in.SenderID, Name: in.SenderName}, Attachments: []protocol.Attachment{}},
		History: boundHistory(in.History)}
	if t.Chain, err = e.taskChain(ctx, reply, in); err != nil {
		return nil, err
	}
	if t.Tools, err = e.taskTools(ctx, *reply.SenderAgentID, reply.ConversationID); err != nil {
		return nil, err
	}
	if t.History, err = e.withAppEvents(ctx, *reply.SenderAgentID, reply.ConversationID, in.History, t.History); err != nil {
		return nil, err
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

// boundHistory keeps the newest entries whose contents fit HistoryBytes,
// dropping the oldest first; an entry that alone exceeds the budget is cut at
// a character boundary.
func boundHistory(items []store.HistoryItem) []protocol.HistoryEntry {
	out := []protocol.HistoryEntry{}
	budget := protocol.HistoryBytes
	for i := len(items) - 1; i >= 0 && budget > 0; i-- {
		c := items[i].Content
		if len(c) > budget {
			if len(out) > 0 {
				break
			}
			c = cutUTF8(c, budget)
		}
		budget -= len(c)
		role := protocol.RoleUser
		if items[i].Role == ari.RoleAgent {
			role = protocol.RoleAgent
		}
		out = append(out, protocol.HistoryEntry{Role: role, SenderName: items[i].SenderName, Content: c, Seq: items[i].Seq})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// Drive makes this instance refresh the reply's active mark: it holds the
// agent socket that works on it.
func (e *Engine) Drive(conversationID, replyID string) {
	e.mu.Lock()
	e.driving[replyID] = conversationID
	metrics.RepliesActive(len(e.driving) + len(e.chDriving))
	e.mu.Unlock()
}

// Heartbeat refreshes the active marks of the replies this instance drives
// and forgets those that ended. It also re-reads the members of the
// conversations whose replies this instance fans out, in case a notice of a
// member leaving was lost (a Redis reconnect drops what was published
// meanwhile).
func (e *Engine) Heartbeat(ctx context.Context) {
	defer e.recheckMembers(ctx)
	e.retryLost(ctx)
	e.heartbeatChannels(ctx)
	e.mu.Lock()
	ids := make(map[string]string, len(e.driving))
	for r, c := range e.driving {
		ids[r] = c
	}
	e.mu.Unlock()
	for r, c := range ids {
		n, err := refreshScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(c)}, r, e.d.ActiveTTL.Milliseconds()).Int()
		if err != nil {
			e.d.Log.Warn("relay refresh active mark", "reply", r, "err", err)
			continue
		}
		if n == 0 {
			e.forget(r)
		}
	}
}

// StopDriving forgets every reply (on shutdown: their marks expire unless the
// agent reconnects to another instance, which then drives them).
func (e *Engine) StopDriving() {
	e.mu.Lock()
	e.driving = map[string]string{}
	e.chDriving = map[string]string{}
	e.fanout = map[string]*recipients{}
	e.losing = map[string]*Task{}
	metrics.RepliesActive(0)
	e.mu.Unlock()
}

// flushBefore waits until the text an agent socket of this instance has
// accepted for the reply is in its buffer (Feed.WaitFor), before a member's
// cancel, an interrupt or a regenerate ends it: local sockets are given each
// chunk when it is read, before the sender appends it, so without this a
// chunk a member already saw could miss the saved text. It must not run on
// the feed's own sender goroutine. A feed on another instance is not waited
// for (its chunks that come after the end are dropped, as they always were).
func (e *Engine) flushBefore(replyID string) {
	e.mu.Lock()
	f := e.feeds[replyID]
	e.mu.Unlock()
	if f != nil {
		f.WaitFor(f.Mark())
	}
}

// forget stops driving a reply and fanning it out from this instance; false
// when it did neither.
func (e *Engine) forget(replyID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, driven := e.driving[replyID]
	_, fanned := e.fanout[replyID]
	_, inChannel := e.chDriving[replyID]
	delete(e.driving, replyID)
	delete(e.fanout, replyID)
	delete(e.chDriving, replyID)
	delete(e.feeds, replyID)
	metrics.RepliesActive(len(e.driving) + len(e.chDriving))
	return driven || fanned || inChannel
}
