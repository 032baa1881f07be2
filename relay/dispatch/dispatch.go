// Package dispatch decides how a task reaches its agent: over the agent's
// socket when some relay instance holds one, else over A2A when the agent has
// an endpoint. An A2A call is driven by the instance that makes it from
// start to end; its text goes through the same stream pipeline (buffer,
// offsets, fan-out, timeouts, one terminal state) as a socket agent's
// chunks. A task that ends input-required makes the reply wait with an
// input request (question.go); the instance that claims the answer makes
// the next call, into the same task, and continues the same reply.
// PROTOCOL.md section 14 "Questions" is the contract.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/relay/a2a"
	"github.com/ari-chat/ari-server/relay/agent"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Deps are what a Router needs.
type Deps struct {
	Sockets agent.TaskPublisher
	A2A     *a2a.Client // nil: no A2A
	DB      *store.DB
	Redis   redis.UniversalClient
	Keys    kv.Keys
	Log     *slog.Logger
}

// Router is the relay's stream.Transport: the agent's socket first, else its
// A2A endpoint.
type Router struct {
	d Deps

	mu      sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	runs    sync.WaitGroup
	stopped bool
}

// New returns a router; its A2A runs stop with Stop.
func New(d Deps) *Router { return &Router{d: d} }

// Deliver tries the agent's socket, then its A2A endpoint; an A2A run is
// driven by this instance and feeds replies.
func (d *Router) Deliver(ctx context.Context, replies *stream.Engine, ag store.RelayAgent, task *protocol.Task) (bool, error) {
	ok, err := d.d.Sockets.Publish(ctx, ag, task)
	if err != nil || ok || strings.TrimSpace(ag.A2AEndpoint) == "" || d.d.A2A == nil {
		return ok, err
	}
	runCtx, ok := d.begin()
	if !ok {
		return false, nil
	}
	channelID := ""
	if task.Channel != nil {
		channelID = task.Channel.ID
	}
	replies.DriveTask(task.ConversationID, channelID, task.TaskID)
	go func() {
		defer d.runs.Done()
		d.run(runCtx, replies, ag, task)
	}()
	return true, nil
}

// Answer sends a member's answer (or the request's expiry) back into the
// A2A task that asked, if this instance claims it first, and streams what
// the agent writes next into the same reply.
func (d *Router) Answer(ctx context.Context, replies *stream.Engine, r ari.InputRequest) {
	if d.d.A2A == nil || r.A2ATaskID == "" || r.AgentID == nil {
		return
	}
	runCtx, ok := d.begin()
	if !ok {
		return // stopping: another instance claims it
	}
	won, err := replies.ClaimInput(ctx, r)
	if err != nil || !won {
		if err != nil {
			d.d.Log.Error("relay a2a claim answer", "request", r.ID, "err", err)
		}
		d.runs.Done()
		return
	}
	go func() {
		defer d.runs.Done()
		d.resume(runCtx, replies, r)
	}()
}

// CancelA2A cancels the A2A task whose question a reply waited for when
// the reply ended (cancelled by a member, interrupted by the turn policy),
// so the task does not wait for an answer forever. Best effort, off the
// caller's path.
func (d *Router) CancelA2A(ctx context.Context, r ari.InputRequest) {
	if d.d.A2A == nil || r.A2ATaskID == "" || r.AgentID == nil {
		return
	}
	runCtx, ok := d.begin()
	if !ok {
		return
	}
	go func() {
		defer d.runs.Done()
		ctx := context.WithoutCancel(runCtx)
		ag, err := d.d.DB.RelayAgentByID(ctx, *r.AgentID)
		if err == nil {
			err = d.d.A2A.CancelIn(ctx, a2a.Agent{ID: ag.ID, Endpoint: r.A2AEndpoint, AuthHeader: d.authFor(ag, r)},
				a2a.Dialect(r.A2ADialect), r.A2ATaskID)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			d.d.Log.Warn("relay a2a cancel abandoned question", "request", r.ID, "err", err)
		}
	}()
}

// authFor is the agent's auth header for the endpoint its task lives at:
// none when the owner has moved the agent since (the header is the new
// endpoint's).
func (d *Router) authFor(ag store.RelayAgent, r ari.InputRequest) string {
	if ag.A2AEndpoint != r.A2AEndpoint {
		return ""
	}
	return ag.A2AAuth
}

// begin counts a run that Stop waits for; false when stopping.
func (d *Router) begin() (context.Context, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return nil, false
	}
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithCancel(context.Background())
	}
	d.runs.Add(1)
	return d.ctx, true
}

// Stop cancels the A2A runs of this instance and waits for them to settle
// their replies (as interrupted: a run cannot move to another instance).
func (d *Router) Stop() {
	d.mu.Lock()
	d.stopped = true
	if d.cancel != nil {
		d.cancel()
	}
	d.mu.Unlock()
	d.runs.Wait()
}

func (d *Router) run(ctx context.Context, replies *stream.Engine, ag store.RelayAgent, task *protocol.Task) {
	t, err := replies.LoadTask(context.WithoutCancel(ctx), ag.ID, task.TaskID)
	if err != nil {
		d.d.Log.Error("relay a2a task", "task", task.TaskID, "err", err)
		return
	}
	in := a2a.Task{TaskID: task.TaskID, ConversationID: task.ConversationID, MessageID: task.MessageID, Text: task.Message.Content}
	for _, h := range task.History {
		if h.AppEvent != nil {
			continue // app events are for socket agents (PROTOCOL.md section 14)
		}
		in.History = append(in.History, a2a.Turn{Role: h.Role, Name: h.SenderName, Text: h.Content})
	}
	d.drive(ctx, replies, ag, t, in)
}

// resume continues a reply whose A2A task asked a question, now settled
// and claimed by this instance: the answer goes into the same task, in the
// dialect the task was started in, and the agent's next text follows the
// reply's text so far. An expired question cancels the task (every dialect
// has a cancel call) and the reply ends complete with its text so far.
func (d *Router) resume(ctx context.Context, replies *stream.Engine, r ari.InputRequest) {
	bg := context.WithoutCancel(ctx)
	fail := func(code, msg string) {
		replies.Settle(bg, r.MessageID, stream.End{Status: ari.StatusError, Code: code, Message: msg})
	}
	ag, err := d.d.DB.RelayAgentByID(bg, *r.AgentID)
	if errors.Is(err, store.ErrNotFound) {
		fail(protocol.StreamErrAgentOffline, "the agent no longer exists")
		return
	}
	if err != nil {
		d.d.Log.Error("relay a2a answer agent", "request", r.ID, "err", err)
		fail(protocol.StreamErrInternal, "the relay could not send the answer to the agent")
		return
	}
	t, err := replies.LoadTask(bg, ag.ID, r.MessageID)
	if err != nil {
		if !errors.Is(err, stream.ErrEnded) {
			d.d.Log.Error("relay a2a answer task", "request", r.ID, "err", err)
			fail(protocol.StreamErrInternal, "the relay could not send the answer to the agent")
		}
		return
	}
	if ag.A2AEndpoint != r.A2AEndpoint {
		// The owner moved the agent meanwhile: the task lives at the old
		// endpoint, and the auth header is for the new one.
		fail(protocol.StreamErrAgentError, "the agent's A2A endpoint changed while it waited for the answer")
		return
	}
	remote := a2a.Agent{ID: ag.ID, Endpoint: r.A2AEndpoint, AuthHeader: ag.A2AAuth}
	if r.State != ari.InputAnswered || r.Answer == nil {
		if err := d.d.A2A.CancelIn(bg, remote, a2a.Dialect(r.A2ADialect), r.A2ATaskID); err != nil {
			d.d.Log.Warn("relay a2a cancel expired question", "request", r.ID, "err", err)
		}
		replies.Complete(bg, t, nil)
		return
	}
	d.drive(ctx, replies, ag, t, a2a.Task{TaskID: r.MessageID, ConversationID: r.ConversationID,
		// The request id is new for every question, so it is a fresh
		// messageId for the answer, as A2A wants.
		MessageID: r.ID, Text: *r.Answer, RemoteTaskID: r.A2ATaskID, RemoteContextID: r.A2AContextID,
		Dialect: a2a.Dialect(r.A2ADialect)})
}

// answerSeparator goes between a reply's text so far (the agent's question,
// usually) and what the agent writes after the answer.
const answerSeparator = "\n\n"

// drive runs one A2A call for the reply t and ends it, or makes it wait
// for an answer when the agent's task ends input-required. What the call
// writes is appended to t's text as it stands (after answerSeparator when
// there is some: a continuation).
func (d *Router) drive(ctx context.Context, replies *stream.Engine, ag store.RelayAgent, t *stream.Task, in a2a.Task) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bg := context.WithoutCancel(ctx)
	// A cancel or a timeout ends the reply elsewhere; notice it here too,
	// so the remote task is cancelled even while the agent is silent.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		d.watchEnd(ctx, t.ID, cancel)
	}()
	defer func() { cancel(); <-watchDone }()

	base := t.Text
	if base != "" {
		base += answerSeparator
	}
	opened := base == "" // the separator has been sent
	emit := func(text string, accumulated bool) error {
		if text == "" {
			return nil
		}
		if !accumulated {
			if !opened {
				opened, text = true, answerSeparator+text
			}
			return replies.Chunk(bg, t, text, protocol.ModeDelta)
		}
		text = base + text
		if !strings.HasPrefix(text, t.Text) {
			return nil // a rewrite: clients get it as stream_end's content
		}
		opened = true
		return replies.Chunk(bg, t, text, protocol.ModeAccumulated)
	}
	endpoint := ag.A2AEndpoint
	out, err := d.d.A2A.Run(ctx, a2a.Agent{ID: ag.ID, Endpoint: endpoint, AuthHeader: ag.A2AAuth}, in, emit)
	switch {
	case errors.Is(err, stream.ErrEnded):
		return // ended elsewhere (cancel, timeout); Run cancelled the remote task
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		replies.Settle(bg, t.ID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrInterrupted,
			Message: "the relay instance calling the agent stopped"})
		return
	case errors.Is(err, a2a.ErrIdleTimeout):
		// The client's backstop; the sweeper normally ends silence first.
		replies.Settle(bg, t.ID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout, Message: out.Error})
		return
	}
	final := t.Text
	if out.FinalText != "" {
		final = base + out.FinalText
	}
	switch out.Status {
	case a2a.StatusInputRequired:
		if d.ask(bg, replies, ag.ID, t, out, endpoint, final) {
			return
		}
		replies.Complete(bg, t, &final)
	case a2a.StatusComplete:
		replies.Complete(bg, t, &final)
	case a2a.StatusCancelled:
		replies.Settle(bg, t.ID, stream.End{Status: ari.StatusCancelled})
	default:
		msg := out.Error
		if msg == "" {
			msg = "the agent failed"
		}
		replies.Settle(bg, t.ID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrAgentError, Message: msg})
	}
}

// ask turns the agent's input-required task into an input request of the
// reply, which then waits for a member's answer (Answer sends it back).
// False: the request could not be stored; the reply ends complete with its
// text, as it did before questions existed.
func (d *Router) ask(ctx context.Context, replies *stream.Engine, agentID string, t *stream.Task, out a2a.Outcome, endpoint, text string) bool {
	if out.RemoteTaskID == "" {
		return false // nothing to answer into
	}
	if t.ChannelID != "" {
		// An A2A agent's question in a community channel is not asked
		// (PROTOCOL.md section 18): its reply ends with the text so far.
		return false
	}
	q := question(out.Input, text)
	_, _, err := replies.OpenInput(ctx, store.NewInputRequest{ID: newRequestID(), ReplyID: t.ID, AgentID: agentID,
		Kind: ari.InputQuestion, Prompt: q.Prompt, Options: q.Options, Schema: q.Schema,
		A2A: &store.A2ATask{TaskID: out.RemoteTaskID, ContextID: out.RemoteContextID, Dialect: string(out.Dialect), Endpoint: endpoint}})
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrNotFound):
		return true // the reply ended meanwhile (cancelled): nothing to do
	}
	d.d.Log.Error("relay a2a question", "reply", t.ID, "err", err)
	return false
}

func (d *Router) watchEnd(ctx context.Context, replyID string, cancel context.CancelFunc) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			ended, err := d.d.Redis.HGet(ctx, d.d.Keys.StreamMeta(replyID), "ended").Result()
			if err == nil && ended != "0" || errors.Is(err, redis.Nil) {
				cancel()
				return
			}
		}
	}
}
