package agentsdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// DefaultURL is where `make local` runs the relay's agent socket.
const DefaultURL = "ws://127.0.0.1:3502" + protocol.AgentPath

// Task is one reply the relay asks the agent to write.
type Task = protocol.Task

// Skill is one capability the agent declares.
type Skill = protocol.Skill

// Info identifies the agent as the relay knows it (id, name, mention handle).
type Info = protocol.AgentInfo

// Handler writes the reply for one task. It runs in its own goroutine and must
// return once ctx is done.
type Handler func(ctx context.Context, task *Task, s *Stream) error

// Config describes one agent connection.
type Config struct {
	URL     string  // the relay's agent socket; DefaultURL when empty
	Token   string  // the agent's secret, "ari_" + 48 hex characters
	Skills  []Skill // declared after every authentication when not nil
	Handler Handler // required
	Logger  *slog.Logger
	Backoff Backoff
	// Dialer is used to dial the relay; a dialer with a 15 s handshake
	// timeout when nil.
	Dialer *websocket.Dialer
}

// Stopping errors. Run and Wait return them; a task's context carries
// ErrStopped or ErrNotYourTask as its cause.
var (
	// ErrRevoked: the relay closed the socket with 4003 — the token was
	// regenerated or the agent deleted. Reconnecting with it is pointless.
	ErrRevoked = errors.New("agentsdk: agent token revoked")
	// ErrReplaced: a newer socket of the same agent took over (4004).
	ErrReplaced = errors.New("agentsdk: replaced by a newer connection of the same agent")
	// ErrStopped: the agent is shutting down.
	ErrStopped = errors.New("agentsdk: agent stopped")
	// ErrNotYourTask: the relay does not know the task as this agent's.
	ErrNotYourTask = errors.New("agentsdk: the relay does not know this task")
)

// AuthError is an auth_error from the relay (or close 4001). Only
// auth_timeout is retried; any other code stops the agent.
type AuthError struct {
	Code    string
	Message string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("agentsdk: relay refused the agent: %s (%s)", e.Message, e.Code)
}

// CancelError is the cause of a task context cancelled by the relay's
// task_cancel; Reason is one of protocol's Cancel* constants.
type CancelError struct {
	Reason string
}

func (e *CancelError) Error() string { return "agentsdk: task cancelled by the relay: " + e.Reason }

// fatal reports whether err must stop the agent rather than be retried.
func fatal(err error) bool {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.Code != protocol.CodeAuthTimeout
	}
	return errors.Is(err, ErrRevoked) || errors.Is(err, ErrReplaced)
}

// Agent is a running agent connection.
type Agent struct {
	cfg Config
	log *slog.Logger

	out      chan item     // frames for the relay, kept across reconnects
	halt     chan struct{} // closed once nothing more can be sent
	haltOnce sync.Once

	mu           sync.Mutex
	tasks        map[string]*task
	posts        map[string]chan postResult // Posts waiting, by clientMessageID
	asks         map[string]*pendingAsk     // Asks waiting, by task id
	calls        map[string]chan callResult // Calls waiting, by call id
	lost         chan struct{}              // closed when the current socket closes
	info         Info
	stopping     bool
	handlers     sync.WaitGroup
	handlersDone chan struct{} // closed when every handler returned, after stopping

	done chan struct{}
	err  error

	// Writer state. Only the writer goroutine of the current socket touches
	// it; sockets follow each other, so there is never more than one.
	epoch  uint64      // counts sockets
	retry  *item       // the frame whose write failed on the previous socket
	recent []sentFrame // terminal frames written shortly before the last loss
}

type sentFrame struct {
	it item
	at time.Time
}

// queueSize bounds frames waiting for the socket; a handler writing faster
// than the relay reads blocks in Write instead of growing memory.
const queueSize = 256

func newAgent(cfg Config) (*Agent, error) {
	if cfg.Handler == nil {
		return nil, errors.New("agentsdk: Config.Handler is required")
	}
	if cfg.Token == "" {
		return nil, errors.New("agentsdk: Config.Token is required")
	}
	if cfg.URL == "" {
		cfg.URL = DefaultURL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg.Backoff = cfg.Backoff.withDefaults()
	return &Agent{
		cfg:   cfg,
		log:   cfg.Logger,
		out:   make(chan item, queueSize),
		halt:  make(chan struct{}),
		tasks: make(map[string]*task),
		posts: make(map[string]chan postResult),
		asks:  make(map[string]*pendingAsk),
		lost:  make(chan struct{}),
		done:  make(chan struct{}),
	}, nil
}

// Connect dials the relay and authenticates once, returning the refusal or
// network error of that first attempt, then keeps the agent connected in the
// background until ctx is cancelled or a fatal error (see Wait).
func Connect(ctx context.Context, cfg Config) (*Agent, error) {
	a, err := newAgent(cfg)
	if err != nil {
		return nil, err
	}
	ws, err := a.dial(ctx)
	if err != nil {
		return nil, err
	}
	go a.run(ctx, ws)
	return a, nil
}

// Run connects (retrying network failures with backoff) and serves tasks
// until ctx is cancelled, which returns nil after a clean stop, or until a
// fatal error: *AuthError, ErrRevoked or ErrReplaced.
func Run(ctx context.Context, cfg Config) error {
	a, err := newAgent(cfg)
	if err != nil {
		return err
	}
	go a.run(ctx, nil)
	return a.Wait()
}

// Info is the agent as the relay announced it in the last auth_ok.
func (a *Agent) Info() Info {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.info
}

// Done is closed when the agent has stopped and every handler has returned.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Wait blocks until the agent stops and returns why: nil when its context
// was cancelled, else the fatal error.
func (a *Agent) Wait() error {
	<-a.done
	return a.err
}

// run keeps a socket up until ctx ends or a fatal error. ws, when not nil, is
// an already authenticated first socket.
func (a *Agent) run(ctx context.Context, ws *websocket.Conn) {
	defer close(a.done)
	bo := a.cfg.Backoff.start()
	for ctx.Err() == nil {
		if ws == nil {
			var err error
			if ws, err = a.dial(ctx); err != nil {
				if ctx.Err() != nil {
					break
				}
				if fatal(err) {
					a.err = err
					break
				}
				wait := bo.next()
				a.log.Warn("agentsdk: cannot connect to the relay", "err", err, "retryIn", wait)
				if !sleep(ctx, wait) {
					break
				}
				continue
			}
		}
		bo.reset()
		err := a.serve(ctx, ws)
		ws = nil
		if ctx.Err() != nil {
			break
		}
		if fatal(err) {
			a.err = err
			a.log.Error("agentsdk: relay ended the agent", "err", err)
			break
		}
		wait := bo.next()
		var ce *websocket.CloseError
		if errors.As(err, &ce) && ce.Code == protocol.CloseGoingAway {
			// The instance is shutting down; another one answers now.
			wait = bo.jitter(a.cfg.Backoff.Initial / 2)
		}
		a.log.Warn("agentsdk: lost the relay", "err", err, "retryIn", wait)
		if !sleep(ctx, wait) {
			break
		}
	}
	a.beginStop()
	a.haltOnce.Do(func() { close(a.halt) })
	<-a.handlersDone
}

// beginStop cancels every task with ErrStopped; later tasks are refused.
func (a *Agent) beginStop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return
	}
	a.stopping = true
	for _, t := range a.tasks {
		t.cancel(ErrStopped)
	}
	a.handlersDone = make(chan struct{})
	go func() { // joined by run, which waits for handlersDone
		a.handlers.Wait()
		close(a.handlersDone)
	}()
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
