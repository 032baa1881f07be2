package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Agent is what the relay knows about an A2A agent (from its agents row).
type Agent struct {
	ID         string
	Endpoint   string // base URL; the card is looked up under it
	AuthHeader string // "Name: value", or a bare Authorization value
}

// Turn is one earlier message of the conversation, oldest first.
type Turn struct {
	Role string `json:"role"` // "user" or "agent"
	Name string `json:"name,omitempty"`
	Text string `json:"text"`
}

// Task is one user message to deliver to the agent.
type Task struct {
	TaskID         string // the relay's task id; v0.1 uses it as the task name
	ConversationID string // sent as contextId (v0.1: sessionId)
	MessageID      string // sent as messageId; must be fresh per send
	Text           string
	History        []Turn

	// RemoteTaskID and RemoteContextID answer an agent task that ended
	// input_required (Outcome.Input): Text (and Data) is the person's
	// answer, sent into the same task and context, in every dialect (v1.0
	// and v0.2/0.3 message.taskId and contextId; v0.1 the same task id and
	// sessionId). Leave both empty to start a new task.
	RemoteTaskID    string
	RemoteContextID string
	// Data, when set, is sent as a data part after the text part: the
	// structured side of an answer, e.g. {"approved": true}.
	Data json.RawMessage
	// Dialect, when set, is where the run starts (Outcome.Dialect of the
	// run that left the task input_required: an answer goes to the task in
	// the dialect it was started in, also when this process has not
	// learned the agent's dialect yet, e.g. after a restart). Empty: the
	// dialect learned for the agent, or the card's.
	Dialect Dialect
	// OnRemoteTask, if set, is called once as soon as the agent names its
	// task, so the caller can Cancel while the stream is still running.
	OnRemoteTask func(remoteTaskID string)
}

// Status is the terminal outcome of one Run, in the relay's vocabulary.
type Status string

const (
	StatusComplete      Status = "complete"
	StatusError         Status = "error"
	StatusCancelled     Status = "cancelled"
	StatusInputRequired Status = "input_required"
)

// Outcome is how a Run ended. It is always filled in, also when Run
// returns an error (then Status is StatusError).
type Outcome struct {
	Status       Status
	FinalText    string // the assembled reply; equals what emit built up
	RemoteTaskID string
	// RemoteContextID is the context the agent put its task in (v0.1: the
	// session), for an answer to it; "" when it named none.
	RemoteContextID string
	RemoteState     string // the agent's last state, e.g. "input-required"
	Error           string // a message fit for the user when Status is error
	Dialect         Dialect
	// Input is what the agent asks when Status is StatusInputRequired.
	Input *InputRequest
}

// InputRequest is the question of an agent whose task ended input-required:
// the text and data parts of that state's status message. The task waits
// for the answer, which Run sends into the same task (Task.RemoteTaskID,
// RemoteContextID from the Outcome).
type InputRequest struct {
	// Prompt is the status message's text ("" when the agent put its
	// question only in the reply text or in data).
	Prompt string
	// Data are the status message's data parts, as the agent sent them
	// (a form's schema, options).
	Data []json.RawMessage
}

// Emit receives reply text as it arrives. With accumulated false, text is a
// delta to append; with accumulated true it replaces everything sent so far
// (the agent rewrote an artifact, or a better text source appeared).
// Returning an error stops the run.
type Emit func(text string, accumulated bool) error

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// HTTPClient must not set Timeout: that would cut long streams.
	HTTPClient *http.Client
	// IdleTimeout bounds the silence between stream bytes (default 2 min).
	// The SDKs send no heartbeats, and keep streams open on auth-required.
	IdleTimeout time.Duration
	// DiscoveryTimeout bounds a card fetch and a cancel call (default 15 s).
	DiscoveryTimeout time.Duration
	// MaxEventBytes limits one SSE event (default 8 MiB; SDK clients use 4).
	MaxEventBytes int
}

// Client talks A2A to agents. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	opts  Options
	cache dialectCache
	seq   atomic.Uint64
}

// New returns a Client.
func New(o Options) *Client {
	// A copy, so the redirect rule below is ours alone.
	hc := &http.Client{}
	if o.HTTPClient != nil {
		*hc = *o.HTTPClient
	}
	hc.CheckRedirect = keepAuthOnOrigin(hc.CheckRedirect)
	o.HTTPClient = hc
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.DiscoveryTimeout <= 0 {
		o.DiscoveryTimeout = 15 * time.Second
	}
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = 8 << 20
	}
	return &Client{http: o.HTTPClient, opts: o}
}

func (c *Client) nextID() string { return "ari-" + strconv.FormatUint(c.seq.Add(1), 10) }

// Run sends t to the agent and streams the reply into emit until the agent
// reaches a terminal or waiting state, the stream ends, ctx ends, or the
// agent stays idle too long. A non-nil error means the exchange itself
// failed (ErrUnauthorized, ErrIdleTimeout, ErrNoEndpoint, a network error,
// ctx's error…); an agent that reports failure is Status error with a nil
// error. When the run ends early (idle timeout, ctx done, emit error) after
// the agent named its task, Run asks the agent to cancel that task, since
// closing the stream alone leaves it running.
func (c *Client) Run(ctx context.Context, a Agent, t Task, emit Emit) (Outcome, error) {
	if strings.TrimSpace(a.Endpoint) == "" {
		return failed(Outcome{}, ErrNoEndpoint, "agent_offline: the agent has no socket and no A2A endpoint")
	}
	r, err := c.routeFor(ctx, a)
	if errors.Is(err, ErrForeignRPCOrigin) {
		return failed(Outcome{}, err, "the agent card sends calls to another origin than the agent's endpoint; its auth header goes only to the endpoint's origin")
	}
	if err != nil {
		return failed(Outcome{}, err, "could not reach the agent")
	}
	from := r.start
	if t.Dialect != "" {
		from = t.Dialect
	}
	start := 0
	for i, d := range ladder {
		if d == from {
			start = i
		}
	}
	var last error
	for _, d := range ladder[start:] {
		out, started, err := c.stream(ctx, a, d, r, t, emit)
		if !started && stepsDown(err, d) {
			last = err
			continue
		}
		if !started && !errors.Is(err, ErrUnauthorized) {
			// The route may be stale (agent moved or upgraded): look again next time.
			c.cache.forget(a)
		}
		return out, err
	}
	c.cache.forget(a)
	return failed(Outcome{}, fmt.Errorf("%w: %w", ErrNoDialect, last), "the agent does not speak a supported A2A version")
}

func failed(o Outcome, err error, msg string) (Outcome, error) {
	o.Status = StatusError
	if o.Error == "" {
		o.Error = msg
	}
	return o, err
}

// routeFor returns the cached route or discovers it.
func (c *Client) routeFor(ctx context.Context, a Agent) (route, error) {
	if r, ok := c.cache.get(a); ok {
		return r, nil
	}
	return c.discover(ctx, a)
}

// stream runs one attempt in dialect d. started reports whether the agent
// accepted the call (so the dialect is right, whatever happened next).
func (c *Client) stream(ctx context.Context, a Agent, d Dialect, r route, t Task, emit Emit) (out Outcome, started bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.opts.IdleTimeout, func() { cancel(ErrIdleTimeout) })
	defer idle.Stop()

	asm := assembler{resuming: t.RemoteTaskID != ""}
	emitted := ""
	named := false
	push := func(done bool) error {
		if asm.taskID != "" && !named {
			named = true
			if t.OnRemoteTask != nil {
				t.OnRemoteTask(asm.taskID)
			}
		}
		best := asm.text(done)
		if best == emitted {
			return nil
		}
		var err error
		if strings.HasPrefix(best, emitted) {
			err = emit(best[len(emitted):], false)
		} else {
			err = emit(best, true)
		}
		emitted = best
		return err
	}
	end := func(err error) (Outcome, bool, error) {
		if err == nil {
			err = push(true)
		}
		if err == nil {
			return asm.outcome(d), true, nil
		}
		if ctx.Err() != nil {
			// The idle timer's cause, or the caller's own.
			err = context.Cause(ctx)
		}
		if asm.taskID != "" && !ending(asm.state) {
			c.cancelQuietly(ctx, a, d, r.urlFor(d), asm.taskID)
		}
		o := asm.outcome(d)
		o.FinalText = emitted
		o.Error = ""
		if errors.Is(err, ErrIdleTimeout) {
			o.Error = "the agent stopped responding"
		}
		o, err = failed(o, err, "the agent connection failed")
		return o, true, err
	}

	v01 := d == V01
	if v01 && t.TaskID == "" && t.RemoteTaskID == "" {
		return Outcome{Status: StatusError, Error: "missing task id", Dialect: d}, false, errors.New("a2a: v0.1 needs Task.TaskID")
	}
	resp, env, err := c.post(ctx, a, d, r.urlFor(d), d.streamMethod(), d.streamParams(t, r.tenant))
	if err != nil {
		if ctx.Err() != nil {
			err = context.Cause(ctx)
			if v01 {
				// Given up on before any answer: v1.0 and v0.3 agents have not
				// named a task to cancel yet, but a v0.1 agent works on ours.
				c.cancelQuietly(ctx, a, d, r.urlFor(d), d.taskName(t))
			}
		}
		msg := "could not reach the agent"
		var re *RPCError
		var he *HTTPError
		switch {
		case errors.Is(err, ErrUnauthorized):
			msg = "the agent rejected its credentials"
		case errors.As(err, &re):
			// The agent refused the call itself, with its own words.
			msg = rpcReason(re)
		case errors.As(err, &he):
			msg = fmt.Sprintf("the agent answered HTTP %d", he.Status)
		}
		o, err := failed(Outcome{Dialect: d}, err, msg)
		return o, false, err
	}
	// The agent accepted this dialect: remember it now, so that a Cancel
	// issued mid-stream already knows how to speak to the agent.
	c.cache.put(a, r, d)
	if env != nil {
		// A plain JSON result: the agent answered without streaming.
		u, err := decodeResult(d, env.Result)
		if err != nil {
			return end(err)
		}
		asm.apply(u)
		return end(nil)
	}
	defer resp.Body.Close()
	sse := newSSEReader(&idleReader{r: resp.Body, t: idle, d: c.opts.IdleTimeout}, c.opts.MaxEventBytes)
	for {
		ev, err := sse.next()
		if err == io.EOF {
			return end(nil)
		}
		if err != nil {
			return end(err)
		}
		u, rpcErr, err := c.decodeEvent(d, ev)
		if err != nil {
			return end(err)
		}
		if rpcErr != nil {
			// The agent aborted the stream; keep what it said so far.
			o, _, _ := end(rpcErr)
			o.Error = rpcReason(rpcErr)
			return o, true, nil
		}
		asm.apply(u)
		if err := push(false); err != nil {
			return end(err)
		}
		if ending(asm.state) {
			return end(nil)
		}
	}
}

// decodeEvent unwraps one SSE event's JSON-RPC envelope. An "event: error"
// frame and an envelope with error set both report the agent's error.
func (c *Client) decodeEvent(d Dialect, ev sseEvent) (update, *RPCError, error) {
	var env rpcEnvelope
	if err := json.Unmarshal(ev.data, &env); err != nil {
		if ev.name == "error" {
			return update{}, &RPCError{Code: -32603, Message: string(ev.data), Dialect: d}, nil
		}
		return update{}, nil, fmt.Errorf("a2a: bad stream event: %w", err)
	}
	if env.Error != nil {
		return update{}, &RPCError{Code: env.Error.Code, Message: env.Error.Message, Dialect: d}, nil
	}
	if ev.name == "error" {
		return update{}, &RPCError{Code: -32603, Message: "stream error", Dialect: d}, nil
	}
	if len(env.Result) == 0 {
		return update{}, nil, nil
	}
	u, err := decodeResult(d, env.Result)
	return u, nil, err
}

// idleReader re-arms the idle timer whenever bytes arrive.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.t.Reset(i.d)
	}
	return n, err
}
