package agentsdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Errors of Stream's methods.
var (
	ErrTaskEnded      = errors.New("agentsdk: the reply has already ended")
	ErrInvalidUTF8    = errors.New("agentsdk: text is not valid UTF-8")
	ErrReplyTooLarge  = errors.New("agentsdk: reply would exceed 256 KiB")
	ErrNotExtending   = errors.New("agentsdk: Set text does not extend the text sent so far")
	ErrInvalidStatus  = errors.New("agentsdk: status state must be thinking, tool, writing or waiting, with a label of at most 200 bytes")
	errHandlerFailure = "the agent could not answer"
	errAgentStopping  = "the agent is shutting down"
)

type task struct {
	id     string
	ctx    context.Context
	cancel context.CancelCauseFunc
	epoch  uint64 // the socket its last frame went out on; writer-owned
	events chan AppEvent
}

type itemKind uint8

const (
	kindDelta itemKind = iota + 1
	kindSet
	kindComplete
	kindError
	kindStatus
	kindPost     // an agent_message, of no task
	kindInput    // an agent_input_request
	kindToolCall // a tool_call
)

// item is one frame waiting for the socket. It is rendered only when written,
// because what goes out depends on the socket (see Agent.write).
type item struct {
	task    *task
	kind    itemKind
	content string // delta text, the error message, or a status's label
	state   string // kindStatus: the state
	full    string // the whole reply text after this item
	final   bool   // kindComplete: send full as the authoritative content
	post    *protocol.AgentMessage
	input   *protocol.AgentInputRequest
	call    *protocol.ToolCall
	flushed chan struct{}
}

// Stream writes the reply of one task. Its methods are safe for concurrent
// use, but frames from concurrent callers go out in an arbitrary order.
type Stream struct {
	a     *Agent
	t     *task
	task  *Task // the frame, for the tools it lists
	mu    sync.Mutex
	text  strings.Builder
	ended bool
}

// Agent is the agent the task was given to, for what a handler does
// besides the reply (Post).
func (s *Stream) Agent() *Agent { return s.a }

// TaskID is the relay's id of the task.
func (s *Stream) TaskID() string { return s.t.id }

// Text is the reply text written so far.
func (s *Stream) Text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// Write appends delta to the reply (agent_chunk in delta mode). It blocks
// while the send queue is full, and fails once the task's context is done.
// An empty delta tells the relay the agent is still working.
func (s *Stream) Write(delta string) error {
	if !utf8.ValidString(delta) {
		return ErrInvalidUTF8
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.text.Len()+len(delta) > protocol.MaxReplyBytes {
		return ErrReplyTooLarge
	}
	s.text.WriteString(delta)
	return s.a.enqueue(s.t.ctx, item{task: s.t, kind: kindDelta, content: delta, full: s.text.String()})
}

// Set replaces the reply with text, which must begin with the text written so
// far (agent_chunk in accumulated mode). To rewrite the reply, end it with
// CompleteWith instead.
func (s *Stream) Set(text string) error {
	if !utf8.ValidString(text) {
		return ErrInvalidUTF8
	}
	if len(text) > protocol.MaxReplyBytes {
		return ErrReplyTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if !strings.HasPrefix(text, s.text.String()) {
		return ErrNotExtending
	}
	s.text.Reset()
	s.text.WriteString(text)
	return s.a.enqueue(s.t.ctx, item{task: s.t, kind: kindSet, full: s.text.String()})
}

// Status states for SendStatus.
const (
	StateThinking = protocol.StateThinking
	StateTool     = protocol.StateTool
	StateWriting  = protocol.StateWriting
	StateWaiting  = protocol.StateWaiting
)

// SendStatus tells the conversation's members what the agent is doing
// (agent_status): state is one of the State constants, label a short text
// for people (at most 200 bytes, may be empty). Members see the latest one
// until the reply ends; it also counts as activity for the relay's silence
// timeouts.
func (s *Stream) SendStatus(state, label string) error {
	if !protocol.ValidState(state) || len(label) > protocol.MaxStatusLabelBytes || !utf8.ValidString(label) {
		return ErrInvalidStatus
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	return s.a.enqueue(s.t.ctx, item{task: s.t, kind: kindStatus, state: state, content: label})
}

// Complete ends the reply with the text written so far.
func (s *Stream) Complete() error { return s.end(item{kind: kindComplete}, nil) }

// CompleteWith ends the reply with final as its text, whatever was streamed.
func (s *Stream) CompleteWith(final string) error {
	if !utf8.ValidString(final) {
		return ErrInvalidUTF8
	}
	if len(final) > protocol.MaxReplyBytes {
		return ErrReplyTooLarge
	}
	return s.end(item{kind: kindComplete, final: true}, &final)
}

// Fail ends the reply in error. err's text is shown to the conversation's
// members, so it must not carry secrets; it is cut to 2 KiB.
func (s *Stream) Fail(err error) error {
	msg := errHandlerFailure
	if err != nil && err.Error() != "" {
		msg = err.Error()
	}
	return s.end(item{kind: kindError, content: truncate(strings.ToValidUTF8(msg, "\uFFFD"), protocol.MaxAgentErrorBytes)}, nil)
}

func (s *Stream) end(it item, final *string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return ErrTaskEnded
	}
	cause := context.Cause(s.t.ctx)
	if relayEnded(cause) {
		s.ended = true
		return cause
	}
	s.ended = true
	if final != nil {
		s.text.Reset()
		s.text.WriteString(*final)
	}
	it.task = s.t
	it.full = s.text.String()
	// A stopping agent still sends its last frames, so the task's own
	// (cancelled) context does not bound this wait; the agent's halt does.
	return s.a.enqueue(context.Background(), it)
}

// usable reports why nothing more may be written, with s.mu held.
func (s *Stream) usable() error {
	if s.ended {
		return ErrTaskEnded
	}
	if s.t.ctx.Err() != nil {
		return context.Cause(s.t.ctx)
	}
	return nil
}

// relayEnded: the relay no longer accepts frames for the task, so sending
// its end would be noise.
func relayEnded(cause error) bool {
	var ce *CancelError
	return errors.As(cause, &ce) || errors.Is(cause, ErrNotYourTask)
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// enqueue hands an item to the writer, waiting while the queue is full.
func (a *Agent) enqueue(ctx context.Context, it item) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	select {
	case a.out <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-a.halt:
		return ErrStopped
	}
}

// startTask runs the handler for a task frame in its own goroutine.
func (a *Agent) startTask(f *protocol.Task) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	if _, dup := a.tasks[f.TaskID]; dup {
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	t := &task{id: f.TaskID, ctx: ctx, cancel: cancel, events: make(chan AppEvent, appEventBuffer)}
	a.tasks[f.TaskID] = t
	a.handlers.Add(1)
	go a.serveTask(t, f)
}

func (a *Agent) cancelTask(id string, cause error) {
	a.mu.Lock()
	t := a.tasks[id]
	a.mu.Unlock()
	if t != nil {
		t.cancel(cause)
	}
}

func (a *Agent) serveTask(t *task, f *protocol.Task) {
	defer a.handlers.Done()
	defer func() {
		a.mu.Lock()
		delete(a.tasks, t.id)
		a.mu.Unlock()
		t.cancel(nil)
	}()
	s := &Stream{a: a, t: t, task: f}
	err := a.callHandler(t.ctx, f, s)
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return
	}
	cause := context.Cause(t.ctx)
	switch {
	case relayEnded(cause):
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
	case err == nil:
		_ = s.Complete()
	case errors.Is(cause, ErrStopped):
		_ = s.Fail(errors.New(errAgentStopping))
	default:
		a.log.Error("agentsdk: handler failed", "task", t.id, "err", err)
		_ = s.Fail(errors.New(errHandlerFailure))
	}
}

// callHandler turns a handler's panic into an error, so one bad task does not
// take the agent and its other tasks down.
func (a *Agent) callHandler(ctx context.Context, f *protocol.Task, s *Stream) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("agentsdk: handler panicked: %v", p)
		}
	}()
	return a.cfg.Handler(ctx, f, s)
}
