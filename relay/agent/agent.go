// Package agent runs agent sockets (/ws/agent): the auth handshake, one live
// socket per agent across all relay instances (the newer wins), skills, task
// delivery from the agent's Redis channel, and the agent's task frames, which
// go to relay/stream after an ownership check.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ari-chat/ari-server/relay/conn"
	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// typeReplaced is relay-internal traffic on an agent's channel: a newer
// socket of the agent authenticated on some instance; every other socket of
// that agent closes with 4004. Agents never see it.
const typeReplaced = "relay_replaced"

type replaced struct {
	Type  string `json:"type"`
	Epoch int64  `json:"epoch"`
}

// Deps are what agent sessions need.
type Deps struct {
	DB          *store.DB
	Redis       redis.UniversalClient
	Keys        kv.Keys
	Hub         *hub.Hub
	Engine      *stream.Engine
	Log         *slog.Logger
	InstanceID  string
	AuthTimeout time.Duration
	PresenceTTL time.Duration
	// Poster stores and announces the agent's own messages (agent_message).
	Poster *agentpost.Poster
	// ToolTimeout bounds the wait for an app's answer to a tool_call.
	ToolTimeout time.Duration
}

// Sessions are this instance's agent sockets.
type Sessions struct {
	d Deps

	mu   sync.Mutex
	all  map[uint64]*session
	live map[string]*session // agent id → its current socket here
}

// New returns an empty set of sessions.
func New(d Deps) *Sessions {
	return &Sessions{d: d, all: map[uint64]*session{}, live: map[string]*session{}}
}

type session struct {
	s     *Sessions
	c     *conn.Conn
	name  string
	agent store.RelayAgent
	a2a   bool // the agent has an A2A endpoint: online with or without a socket
	// state: 0 waiting for auth, 1 authenticated (or authenticating), 2 refused.
	state   atomic.Int32
	revoked atomic.Bool
	epoch   int64                   // set before the socket subscribes; see kv.Keys.AgentEpoch
	tasks   map[string]*stream.Task // only the reader goroutine touches it
	feed    *stream.Feed            // chunks on their way to Redis and clients
	// Replies the agent ended are settled on goroutines of their own (a few
	// Postgres and Redis round trips), so this socket's other replies keep
	// streaming meanwhile; frames for them are dropped until they are done.
	settling sync.Map // task id → true
	settlers sync.WaitGroup
	// endedTask: the last task the reader found ended in its buffer
	// (LoadTask's ErrEnded), for finish; the reader's only.
	endedTask string
	// ctx is Serve's, for work the socket starts off its reader (inputs.go).
	ctx context.Context
	// given: input requests whose answer (or expiry) this socket was given
	// or is being given (inputs.go), so it gets each once.
	inputsMu   sync.Mutex
	given      map[string]bool
	inputsDone bool           // the socket has closed: start no more deliveries
	inputs     sync.WaitGroup // deliveries under way; guarded by inputsMu for Add
}

// Serve runs one agent socket until it closes.
func (s *Sessions) Serve(ctx context.Context, c *conn.Conn) {
	ss := &session{s: s, c: c, name: hub.SocketName(s.d.InstanceID, c.ID()), tasks: map[string]*stream.Task{},
		ctx: context.WithoutCancel(ctx)}
	ss.feed = s.d.Engine.NewFeed(ctx, func(t *stream.Task, err error) {
		// The feed has ended the reply (stream.Engine.Lose: error internal,
		// task_cancel internal), or will at the task's next frame.
		s.d.Log.Error("relay chunk", "task", t.ID, "err", err)
	})
	ss.feed.ReadAt = c.ReadAt // chunk delivery is timed from the frame's read
	s.mu.Lock()
	s.all[c.ID()] = ss
	s.mu.Unlock()
	timer := time.AfterFunc(s.d.AuthTimeout, func() {
		if ss.state.CompareAndSwap(0, 2) {
			c.SendFrame(&protocol.AuthError{Code: protocol.CodeAuthTimeout, Message: "no auth frame within the deadline"})
			c.Close(protocol.CloseAuthTimeout)
		}
	})
	// Deferred, so that it also runs when handling a frame panics (the
	// server recovers and closes the socket with 1011): a dead socket keeps
	// no subscription of the agent's channel, which would take its tasks.
	defer s.finish(ctx, ss, timer)
	c.Run(func(data []byte) { ss.handle(ctx, data) })
}

// finish undoes what the socket held once it has closed.
func (s *Sessions) finish(ctx context.Context, ss *session, timer *time.Timer) {
	c := ss.c
	timer.Stop()
	ss.settlers.Wait()
	ss.inputsMu.Lock()
	ss.inputsDone = true
	ss.inputsMu.Unlock()
	ss.inputs.Wait()
	ss.feed.Close()
	s.mu.Lock()
	delete(s.all, c.ID())
	if s.live[ss.agent.ID] == ss {
		delete(s.live, ss.agent.ID)
	}
	s.mu.Unlock()
	if ss.agent.ID == "" {
		return
	}
	bg := context.WithoutCancel(ctx)
	s.d.Hub.Unsubscribe(bg, s.d.Keys.AgentChannel(ss.agent.ID), c.ID())
	// Drop the presence only if it is still ours (a newer socket elsewhere
	// may have written its instance since).
	if v, _ := s.d.Redis.Get(bg, s.d.Keys.AgentPresence(ss.agent.ID)).Result(); v == s.d.InstanceID && s.liveHere(ss.agent.ID) == nil {
		s.d.Redis.Del(bg, s.d.Keys.AgentPresence(ss.agent.ID))
		s.announce(bg, ss.agent.ID, ss.a2a)
	}
	if ss.revoked.Load() {
		// A deleted agent's replies no longer name it in Postgres; the
		// tasks this socket was streaming are ended by id as well.
		ids := make([]string, 0, len(ss.tasks))
		for id := range ss.tasks {
			ids = append(ids, id)
		}
		s.d.Engine.AgentRevoked(bg, ss.agent.ID, ids...)
	}
}

func (s *Sessions) liveHere(agentID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[agentID]
}

// CloseAll closes every agent socket with code (1001 on shutdown).
func (s *Sessions) CloseAll(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.all {
		ss.c.Close(code)
	}
}

// Heartbeat refreshes the presence of this instance's agents.
func (s *Sessions) Heartbeat(ctx context.Context) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.live))
	for id := range s.live {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.d.Redis.Set(ctx, s.d.Keys.AgentPresence(id), s.d.InstanceID, s.d.PresenceTTL)
		if err := s.d.DB.TouchAgentLastSeen(ctx, id, time.Now()); err != nil {
			s.d.Log.Warn("relay agent last seen", "agent", id, "err", err)
		}
	}
}

func (ss *session) sendError(code, msg, ref string) {
	ss.c.SendFrame(&protocol.ErrorFrame{Code: code, Message: msg, Ref: ref})
}

func (ss *session) handle(ctx context.Context, data []byte) {
	if ss.state.Load() != 1 {
		ss.authenticate(ctx, data)
		return
	}
	f, err := protocol.DecodeAgent(data)
	metrics.FrameIn(metrics.Agent, f)
	if err != nil {
		if ef := protocol.FrameFor(err); ef != nil {
			ss.c.SendFrame(ef)
		}
		return
	}
	switch f := f.(type) {
	case *protocol.Ping:
		ss.c.SendFrame(&protocol.Pong{})
	case *protocol.Auth:
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeInvalidFrame, Message: "type: already authenticated", Field: "type"})
	case *protocol.Skills:
		skills := make([]ari.Skill, 0, len(f.Skills))
		for _, sk := range f.Skills {
			skills = append(skills, ari.Skill{Name: sk.Name, Description: sk.Description})
		}
		if err := ss.s.d.DB.SetAgentSkills(ctx, ss.agent.ID, skills); err != nil {
			ss.s.d.Log.Error("relay save skills", "agent", ss.agent.ID, "err", err)
			ss.sendError(protocol.CodeInternal, "skills were not saved", "")
		}
	case *protocol.AgentChunk:
		if t := ss.task(ctx, f.TaskID); t != nil {
			ss.after(t, ss.feed.Chunk(t, f.Content, f.Mode))
		}
	case *protocol.AgentComplete:
		if t := ss.task(ctx, f.TaskID); t != nil {
			ss.settle(t, func() { ss.s.d.Engine.Complete(ctx, t, f.Content) })
		} else {
			ss.finish(ctx, f.TaskID, stream.End{Status: ari.StatusComplete, Content: f.Content})
		}
	case *protocol.AgentError:
		if t := ss.task(ctx, f.TaskID); t != nil {
			ss.settle(t, func() { ss.s.d.Engine.Fail(ctx, t, f.Error) })
		} else {
			ss.finish(ctx, f.TaskID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrAgentError, Message: f.Error})
		}
	case *protocol.AgentMessage:
		ss.post(ctx, f)
	case *protocol.AgentInputRequest:
		ss.askInput(ctx, f)
	case *protocol.ToolCall:
		ss.callTool(ctx, f)
	case *protocol.AgentStatus:
		if t := ss.task(ctx, f.TaskID); t != nil {
			ss.feed.Wait() // the chunks sent before the status reach members first
			if err := ss.s.d.Engine.Status(ctx, t, f.State, f.Label); errors.Is(err, stream.ErrEnded) {
				delete(ss.tasks, t.ID)
			} else if err != nil {
				ss.s.d.Log.Error("relay agent status", "task", t.ID, "err", err)
				ss.sendError(protocol.CodeInternal, "the relay failed; the status was not applied", t.ID)
			}
		}
	}
}

// settle ends a task off the reader: fn runs on a goroutine of its own once
// the chunks given before are in the buffer, and the task is no longer this
// reader's.
func (ss *session) settle(t *stream.Task, fn func()) {
	mark := ss.feed.Mark()
	delete(ss.tasks, t.ID)
	ss.settling.Store(t.ID, true)
	ss.settlers.Add(1)
	go func() {
		defer ss.settlers.Done()
		defer ss.settling.Delete(t.ID)
		// The buffer holds every chunk before it ends. Waited for here,
		// not on the reader: the socket's other replies keep streaming.
		ss.feed.WaitFor(mark)
		fn()
	}()
}

// finish gives an end the agent sent for a task whose buffer has ended to
// Engine.Finish, off the reader: an instance that died while settling it
// closed the buffer but never saved the end (the agent sends its end again
// after reconnecting). For a task that ended for good it costs one read.
func (ss *session) finish(ctx context.Context, taskID string, end stream.End) {
	if ss.endedTask != taskID {
		return // not the agent's (answered not_your_task), or being settled here
	}
	ss.endedTask = ""
	ss.settlers.Add(1)
	go func() {
		defer ss.settlers.Done()
		ss.s.d.Engine.Finish(ctx, ss.agent.ID, taskID, end)
	}()
}

// task finds a task of this agent, answering not_your_task for others and
// nil (drop silently) for tasks of this agent that have ended.
func (ss *session) task(ctx context.Context, taskID string) *stream.Task {
	if t := ss.tasks[taskID]; t != nil {
		return t
	}
	if _, ok := ss.settling.Load(taskID); ok {
		return nil // ended by the agent, being settled
	}
	t, err := ss.s.d.Engine.LoadTask(ctx, ss.agent.ID, taskID)
	switch {
	case errors.Is(err, stream.ErrNotYourTask):
		ss.sendError(protocol.CodeNotYourTask, "task "+taskID+" was not given to this agent", taskID)
		return nil
	case errors.Is(err, stream.ErrEnded):
		ss.endedTask = taskID
		return nil
	case err != nil:
		ss.s.d.Log.Error("relay load task", "task", taskID, "err", err)
		ss.sendError(protocol.CodeInternal, "the relay failed; the chunk was not applied", taskID)
		return nil
	}
	ss.tasks[taskID] = t
	return t
}

func (ss *session) after(t *stream.Task, err error) {
	switch {
	case errors.Is(err, stream.ErrEnded):
		delete(ss.tasks, t.ID)
	case err != nil:
		ss.s.d.Log.Error("relay chunk", "task", t.ID, "err", err)
		ss.sendError(protocol.CodeInternal, "the relay failed; the chunk was not applied", t.ID)
	}
}

func (ss *session) authenticate(ctx context.Context, data []byte) {
	if !ss.state.CompareAndSwap(0, 1) {
		return // timed out meanwhile
	}
	refuse := func(code, msg string) {
		ss.state.Store(2)
		ss.c.SendFrame(&protocol.AuthError{Code: code, Message: msg})
		ss.c.Close(protocol.CloseUnauthorized)
	}
	f, err := protocol.DecodeAgent(data)
	metrics.FrameIn(metrics.Agent, f)
	a, ok := f.(*protocol.Auth)
	if err != nil || !ok {
		refuse(protocol.CodeAuthRequired, "the first frame must be auth")
		return
	}
	agent, err := ss.s.d.DB.AgentByToken(ctx, a.Token)
	if errors.Is(err, store.ErrNotFound) {
		refuse(protocol.CodeUnauthorized, "invalid agent token")
		return
	}
	if err != nil {
		ss.s.d.Log.Error("relay agent auth", "err", err)
		ss.state.Store(2)
		ss.c.Close(protocol.CloseInternal)
		return
	}
	ss.agent = store.RelayAgent{ID: agent.ID, Name: agent.Name, Handle: agent.Handle}
	ss.a2a = agent.A2AEndpoint != nil && *agent.A2AEndpoint != ""
	d := ss.s.d
	epoch, err := d.Redis.Incr(ctx, d.Keys.AgentEpoch(agent.ID)).Result()
	if err != nil {
		d.Log.Error("relay agent epoch", "agent", agent.ID, "err", err)
		ss.c.Close(protocol.CloseInternal)
		return
	}
	ss.epoch = epoch
	if err := d.Hub.Subscribe(ctx, d.Keys.AgentChannel(agent.ID), ss.c.ID(), ss.onChannel); err != nil {
		d.Log.Error("relay agent subscribe", "agent", agent.ID, "err", err)
		ss.c.Close(protocol.CloseInternal)
		return
	}
	ss.s.mu.Lock()
	old := ss.s.live[agent.ID]
	if old == nil || old.epoch < epoch {
		ss.s.live[agent.ID] = ss
	}
	ss.s.mu.Unlock()
	if old != nil && old.epoch < epoch {
		old.c.Close(protocol.CloseReplaced)
	}
	// Older sockets on other instances close when they hear of this one;
	// the notice goes out before auth_ok, so nothing the agent does after
	// auth_ok races with it.
	if b, err := json.Marshal(replaced{Type: typeReplaced, Epoch: epoch}); err == nil {
		if _, err := d.Hub.Publish(ctx, d.Keys.AgentChannel(agent.ID), b); err != nil {
			d.Log.Warn("relay agent replace notice", "agent", agent.ID, "err", err)
		}
	}
	ss.c.SendFrame(&protocol.AuthOK{Agent: protocol.AgentInfo{ID: agent.ID, Name: agent.Name, Handle: agent.Handle}, Protocol: protocol.Version})
	if prev, _ := d.Redis.SetArgs(ctx, d.Keys.AgentPresence(agent.ID), d.InstanceID, redis.SetArgs{TTL: d.PresenceTTL, Get: true}).Result(); prev == "" {
		ss.s.announce(ctx, agent.ID, ss.a2a) // no socket anywhere before this one
	}
	if err := d.DB.TouchAgentLastSeen(ctx, agent.ID, time.Now()); err != nil {
		d.Log.Warn("relay agent last seen", "agent", agent.ID, "err", err)
	}
	adopted := d.Engine.Adopt(ctx, agent.ID)
	// Answers that came while the agent had no socket (or whose socket
	// went away before it had them), after the subscription, so that none
	// falls between the two.
	ss.goInput(func() {
		ss.deliverInputs(ss.ctx)
		ss.redeliverInputs(ss.ctx, adopted)
	})
	ss.goInput(func() { ss.deliverToolResults(ss.ctx, "") })
}

// onChannel handles what arrives on the agent's channel. It runs on the
// hub's goroutine, so it only queues frames and flips flags.
func (ss *session) onChannel(payload []byte) {
	// A nil payload (hub: frames may have been lost) needs nothing here:
	// input responses are given again by the sweeper, a lost task ends its
	// reply by the silence timeout, a lost task_cancel by the buffer
	// refusing the agent's next chunk.
	var head struct {
		Type           string `json:"type"`
		Epoch          int64  `json:"epoch"`
		TaskID         string `json:"taskId"`
		ConversationID string `json:"conversationId"`
		Channel        *struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if json.Unmarshal(payload, &head) != nil {
		return
	}
	switch head.Type {
	case protocol.TypeTask:
		channelID := ""
		if head.Channel != nil {
			channelID = head.Channel.ID
		}
		ss.s.d.Engine.DriveTask(head.ConversationID, channelID, head.TaskID)
		ss.c.Send(payload)
	case protocol.TypeTaskCancel:
		ss.feed.Cancelled(head.TaskID) // before the agent can answer it
		ss.c.Send(payload)
	case typeReplaced:
		if head.Epoch > ss.epoch {
			ss.c.Close(protocol.CloseReplaced)
		}
	case string(events.InputResolved):
		ss.inputNotice(payload)
	case typeToolResolved:
		ss.toolNotice(payload)
	case protocol.TypeAppEvent:
		ss.c.Send(payload) // an app event while the agent writes taskId (stream/appevents.go)
	case string(events.AgentTokenRevoked), string(events.AgentDeleted):
		ss.revoked.Store(true)
		ss.c.Close(protocol.CloseRevoked)
	}
}

// TaskPublisher delivers tasks to agent sockets: published on the agent's
// channel, they reach whichever instance holds its socket.
type TaskPublisher struct {
	Hub  *hub.Hub
	Keys kv.Keys
}

// Publish sends task to the agent's socket; false: nobody subscribed, so no
// instance holds a socket of the agent.
func (d TaskPublisher) Publish(ctx context.Context, agent store.RelayAgent, task *protocol.Task) (bool, error) {
	b, err := protocol.Encode(task)
	if err != nil {
		return false, err
	}
	n, err := d.Hub.Publish(ctx, d.Keys.AgentChannel(agent.ID), b)
	return n > 0, err
}
