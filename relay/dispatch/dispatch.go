// Package dispatch decides how a task reaches its agent: over the agent's
// socket when some relay instance holds one, else over A2A when the agent has
// an endpoint. An A2A run is driven by this instance from start to end; its
// text goes through the same stream pipeline (buffer, offsets, fan-out,
// timeouts, one terminal state) as a socket agent's chunks.
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
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return false, nil
	}
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithCancel(context.Background())
	}
	runCtx := d.ctx
	d.runs.Add(1)
	d.mu.Unlock()
	replies.Drive(task.ConversationID, task.TaskID)
	go func() {
		defer d.runs.Done()
		d.run(runCtx, replies, ag, task)
	}()
	return true, nil
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bg := context.WithoutCancel(ctx)
	t, err := replies.LoadTask(bg, ag.ID, task.TaskID)
	if err != nil {
		d.d.Log.Error("relay a2a task", "task", task.TaskID, "err", err)
		return
	}
	// A cancel or a timeout ends the reply elsewhere; notice it here too,
	// so the remote task is cancelled even while the agent is silent.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		d.watchEnd(ctx, task.TaskID, cancel)
	}()
	defer func() { cancel(); <-watchDone }()

	in := a2a.Task{TaskID: task.TaskID, ConversationID: task.ConversationID, MessageID: task.MessageID, Text: task.Message.Content}
	for _, h := range task.History {
		in.History = append(in.History, a2a.Turn{Role: h.Role, Name: h.SenderName, Text: h.Content})
	}
	emit := func(text string, accumulated bool) error {
		mode := protocol.ModeDelta
		if accumulated {
			if !strings.HasPrefix(text, t.Text) {
				return nil // a rewrite: clients get it as stream_end's content
			}
			mode = protocol.ModeAccumulated
		}
		return replies.Chunk(bg, t, text, mode)
	}
	out, err := d.d.A2A.Run(ctx, a2a.Agent{ID: ag.ID, Endpoint: ag.A2AEndpoint, AuthHeader: ag.A2AAuth}, in, emit)
	switch {
	case errors.Is(err, stream.ErrEnded):
		return // ended elsewhere (cancel, timeout); Run cancelled the remote task
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		replies.Settle(bg, task.TaskID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrInterrupted,
			Message: "the relay instance calling the agent stopped"})
		return
	case errors.Is(err, a2a.ErrIdleTimeout):
		// The client's backstop; the sweeper normally ends silence first.
		replies.Settle(bg, task.TaskID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout, Message: out.Error})
		return
	}
	switch out.Status {
	case a2a.StatusComplete, a2a.StatusInputRequired:
		final := out.FinalText
		replies.Complete(bg, t, &final)
	case a2a.StatusCancelled:
		replies.Settle(bg, task.TaskID, stream.End{Status: ari.StatusCancelled})
	default:
		msg := out.Error
		if msg == "" {
			msg = "the agent failed"
		}
		replies.Settle(bg, task.TaskID, stream.End{Status: ari.StatusError, Code: protocol.StreamErrAgentError, Message: msg})
	}
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
