package agentsdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/google/uuid"
)

// Questions and approvals (relay/PROTOCOL.md section 9): a handler asks the
// conversation's people something and blocks until one of them answers, the
// request expires, or the task ends. The reply waits meanwhile without any
// silence timeout, across reconnects of the agent and restarts of the relay.

// Errors of Ask and Approve.
var (
	// ErrInputTimeout: nobody answered before the request expired
	// (input_timeout); the task goes on, and the handler decides what to write.
	ErrInputTimeout = errors.New("agentsdk: nobody answered the input request in time")
	// ErrInvalidInput: the request breaks the protocol's bounds (prompt 1 to
	// 4096 bytes, at most 16 options of 1 to 200 bytes without repeats, a
	// schema object of at most 8 KiB; options and schema only on questions).
	ErrInvalidInput = errors.New("agentsdk: invalid input request")
	// ErrAskInFlight: the task already waits for the answer to another request.
	ErrAskInFlight = errors.New("agentsdk: the task already waits for an answer")
)

// InputError is the relay's refusal of an input request: input_pending,
// request_id_in_use, invalid_frame, internal (asking again is safe).
type InputError struct {
	Code, Message, Field string
}

func (e *InputError) Error() string {
	return fmt.Sprintf("agentsdk: the relay refused the input request: %s (%s)", e.Message, e.Code)
}

// Question is what Ask sends: Options, when given, are the only answers a
// member can choose; Schema (a JSON Schema object) describes an answer that
// is JSON text. RequestID is chosen for you when empty.
type Question struct {
	Prompt    string
	Options   []string
	Schema    json.RawMessage
	RequestID string
}

// Answer is what a member answered: Text for a question (an approval's
// optional comment), Approved for an approval, UserID who answered.
type Answer struct {
	RequestID string
	Text      string
	Approved  bool
	UserID    string
}

type askResult struct {
	answer Answer
	err    error
}

// pendingAsk is a request waiting for its answer, by task.
type pendingAsk struct {
	requestID string
	ch        chan askResult
}

// Ask asks the conversation's people a question and waits for the first
// answer (agent_input_request, kind question). It returns ErrInputTimeout
// when the request expires unanswered, an *InputError when the relay refused
// it, or the task's cancellation cause.
func (s *Stream) Ask(ctx context.Context, q Question) (Answer, error) {
	return s.ask(ctx, protocol.InputQuestion, q)
}

// Approve asks the conversation's people for an approval and waits for the
// first decision (agent_input_request, kind approval); see Ask.
func (s *Stream) Approve(ctx context.Context, prompt string) (Answer, error) {
	return s.ask(ctx, protocol.InputApproval, Question{Prompt: prompt})
}

func (s *Stream) ask(ctx context.Context, kind string, q Question) (Answer, error) {
	if q.RequestID == "" {
		q.RequestID = uuid.NewString()
	}
	f := &protocol.AgentInputRequest{TaskID: s.t.id, RequestID: q.RequestID, Kind: kind, Prompt: q.Prompt, Options: q.Options, Schema: q.Schema}
	if !validInput(f) {
		return Answer{}, ErrInvalidInput
	}
	s.mu.Lock()
	err := s.usable()
	s.mu.Unlock()
	if err != nil {
		return Answer{}, err
	}
	a := s.a
	p := &pendingAsk{requestID: q.RequestID, ch: make(chan askResult, 1)}
	a.mu.Lock()
	if _, busy := a.asks[s.t.id]; busy {
		a.mu.Unlock()
		return Answer{}, ErrAskInFlight
	}
	a.asks[s.t.id] = p
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.asks[s.t.id] == p {
			delete(a.asks, s.t.id)
		}
		a.mu.Unlock()
	}()
	for {
		a.mu.Lock()
		lost := a.lost
		a.mu.Unlock()
		// Sent again on each new socket until answered: the relay keeps
		// one request per id, so a repeat changes nothing.
		if err := a.enqueue(s.t.ctx, item{task: s.t, kind: kindInput, input: f}); err != nil {
			return Answer{}, err
		}
		select {
		case r := <-p.ch:
			return r.answer, r.err
		case <-lost:
		case <-ctx.Done():
			return Answer{}, context.Cause(ctx)
		case <-s.t.ctx.Done():
			return Answer{}, context.Cause(s.t.ctx)
		case <-a.halt:
			return Answer{}, ErrStopped
		}
	}
}

func validInput(f *protocol.AgentInputRequest) bool {
	text := func(s string, max int) bool {
		return len(s) <= max && utf8.ValidString(s) && !strings.ContainsRune(s, 0) && strings.TrimSpace(s) != ""
	}
	if !ari.ValidID(f.RequestID) || !text(f.Prompt, ari.MaxInputPromptBytes) {
		return false
	}
	if f.Kind == protocol.InputApproval && (f.Options != nil || f.Schema != nil) {
		return false
	}
	if f.Options != nil && (len(f.Options) == 0 || len(f.Options) > ari.MaxInputOptions) {
		return false
	}
	seen := map[string]bool{}
	for _, o := range f.Options {
		if !text(o, ari.MaxInputOptionBytes) || seen[o] {
			return false
		}
		seen[o] = true
	}
	if f.Schema != nil {
		var obj map[string]any
		if len(f.Schema) > ari.MaxInputSchemaBytes || json.Unmarshal(f.Schema, &obj) != nil || obj == nil {
			return false
		}
	}
	return true
}

// answerAsk hands an answer (or a timeout) to the Ask waiting on the task,
// if it waits for that request. Anything else — an answer the agent already
// had, given again after a reconnect — is dropped, so a handler sees each
// answer once.
func (a *Agent) answerAsk(taskID, requestID string, r askResult) {
	a.mu.Lock()
	p := a.asks[taskID]
	if p != nil && p.requestID == requestID {
		delete(a.asks, taskID)
	} else {
		p = nil
	}
	a.mu.Unlock()
	if p != nil {
		p.ch <- r
	}
}

// refuseAsk hands the relay's refusal (an error frame whose ref is the
// task) to the Ask waiting on the task; false when none waits.
func (a *Agent) refuseAsk(f *protocol.ErrorFrame) bool {
	a.mu.Lock()
	p := a.asks[f.Ref]
	if p != nil {
		delete(a.asks, f.Ref)
	}
	a.mu.Unlock()
	if p == nil {
		return false
	}
	p.ch <- askResult{err: &InputError{Code: f.Code, Message: f.Message, Field: f.Field}}
	return true
}
