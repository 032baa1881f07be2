package pushtrigger

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
)

// AsyncNotifier runs Notifier calls off the caller's path: the relay's stream
// pipeline hands over a completion and moves on. It owns every goroutine it
// starts; Close cancels them and waits.
type AsyncNotifier struct {
	n       Notifier
	timeout time.Duration
	log     *slog.Logger
	sem     chan struct{}

	mu     sync.Mutex
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewAsyncNotifier runs calls to n, each under timeout (0: 30 s), at most
// maxInFlight at once (0: 64); beyond that, calls are dropped and logged,
// because a notification is worth less than the relay's memory.
func NewAsyncNotifier(n Notifier, timeout time.Duration, maxInFlight int, log *slog.Logger) *AsyncNotifier {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if maxInFlight <= 0 {
		maxInFlight = 64
	}
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &AsyncNotifier{n: n, timeout: timeout, log: log, sem: make(chan struct{}, maxInFlight), ctx: ctx, cancel: cancel}
}

// Reply queues n.OnReply for a settled reply; false when dropped. A nil
// AsyncNotifier (push not wired) drops everything.
func (d *AsyncNotifier) Reply(reply ari.Message) bool {
	if d == nil {
		return false
	}
	return d.start(func(ctx context.Context) { d.n.OnReply(ctx, reply) })
}

// UserMessage queues n.OnUserMessage for a stored user message; false when
// dropped.
func (d *AsyncNotifier) UserMessage(m ari.Message, senderName string) bool {
	if d == nil {
		return false
	}
	return d.start(func(ctx context.Context) { d.n.OnUserMessage(ctx, m, senderName) })
}

// AgentMessage queues n.OnAgentMessage for a message an agent started;
// false when dropped.
func (d *AsyncNotifier) AgentMessage(m ari.Message, agentName string) bool {
	if d == nil {
		return false
	}
	return d.start(func(ctx context.Context) { d.n.OnAgentMessage(ctx, m, agentName) })
}

// InputRequest queues n.OnInputRequest for an agent's new input request;
// false when dropped.
func (d *AsyncNotifier) InputRequest(r ari.InputRequest) bool {
	if d == nil {
		return false
	}
	return d.start(func(ctx context.Context) { d.n.OnInputRequest(ctx, r) })
}

// ChannelMention queues n.OnChannelMention for a channel message that
// mentioned members; false when dropped.
func (d *AsyncNotifier) ChannelMention(m ChannelMention) bool {
	if d == nil {
		return false
	}
	return d.start(func(ctx context.Context) { d.n.OnChannelMention(ctx, m) })
}

func (d *AsyncNotifier) start(fn func(ctx context.Context)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	select {
	case d.sem <- struct{}{}:
	default:
		d.log.Warn("push: too many notifications in flight; dropping one")
		return false
	}
	d.wg.Go(func() {
		defer func() { <-d.sem }()
		ctx, cancel := context.WithTimeout(d.ctx, d.timeout)
		defer cancel()
		fn(ctx)
	})
	return true
}

// Close refuses new calls, cancels those in flight and waits for them.
func (d *AsyncNotifier) Close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}

// Shutdown refuses new calls and lets those in flight finish until ctx ends,
// then cancels them; it returns when all have stopped.
func (d *AsyncNotifier) Shutdown(ctx context.Context) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	d.cancel()
	<-done
}

// Wait blocks until every call started so far has ended; for tests, which
// start no calls while waiting.
func (d *AsyncNotifier) Wait() { d.wg.Wait() }

// Inline runs Notifier calls on the caller's goroutine and waits for them
// (each within the Trigger's Timeout): for a Lambda, which may be frozen as
// soon as it has answered, so a call left on a goroutine might never run.
type Inline struct {
	N Notifier
}

// AgentMessage runs n.OnAgentMessage now; always true.
func (i Inline) AgentMessage(m ari.Message, agentName string) bool {
	i.N.OnAgentMessage(context.Background(), m, agentName)
	return true
}

// ChannelMention runs n.OnChannelMention now; always true.
func (i Inline) ChannelMention(m ChannelMention) bool {
	i.N.OnChannelMention(context.Background(), m)
	return true
}
