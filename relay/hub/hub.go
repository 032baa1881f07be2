// Package hub is this relay instance's end of Redis sharded pub/sub: the
// channels its sockets need, taken with SSUBSCRIBE when the first local socket
// needs one and dropped with SUNSUBSCRIBE when the last one leaves, and the
// fan-out of each message to the local handlers of that channel.
//
// Handlers run on the hub's one receive goroutine, in the order Redis
// delivered, and on the goroutines that call Deliver, so they must not block
// and must be safe for concurrent use: they hand frames to a socket's bounded
// queue (relay/conn) and return.
package hub

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hub holds one Redis pub/sub connection for the whole instance.
type Hub struct {
	rdb *redis.Client
	ps  *redis.PubSub
	log *slog.Logger

	mu   sync.Mutex
	subs map[string]*entry

	// own prefixes the payloads this instance delivered to its sockets
	// itself (see Deliver); Run drops them unread. "" drops none.
	own string

	// wmu orders SSUBSCRIBE/SUNSUBSCRIBE writes with the decisions that
	// caused them, so a quick unsubscribe-then-subscribe of one channel
	// reaches Redis in that order. It is held for one buffered write only.
	wmu sync.Mutex
}

type entry struct {
	handlers map[uint64]func([]byte)
	ready    chan struct{}
	once     sync.Once
}

func (e *entry) markReady() { e.once.Do(func() { close(e.ready) }) }

// New returns the hub of instance instanceID on rdb; Run must be running for
// subscriptions to confirm. Run drops, without handing them to any handler,
// payloads that skip every socket of instanceID (InstancePrefix): that
// instance delivered them to its sockets itself. An empty instanceID drops
// none.
func New(rdb *redis.Client, log *slog.Logger, instanceID string) *Hub {
	h := &Hub{rdb: rdb, ps: rdb.SSubscribe(context.Background()), log: log, subs: map[string]*entry{}}
	if instanceID != "" {
		h.own = InstancePrefix(instanceID)
	}
	return h
}

// Run receives until ctx ends, then closes the pub/sub connection. go-redis
// reconnects and resubscribes by itself after a network error; frames
// published meanwhile are lost, which clients repair with sync.
func (h *Hub) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		_ = h.ps.Close()
	}()
	defer func() { <-stopped }()
	for {
		msg, err := h.ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			h.log.Warn("relay pubsub receive", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "ssubscribe" {
				h.mu.Lock()
				e := h.subs[m.Channel]
				h.mu.Unlock()
				if e != nil {
					e.markReady()
				}
			}
		case *redis.Message:
			if h.own != "" && strings.HasPrefix(m.Payload, h.own) {
				continue
			}
			h.Deliver(m.Channel, []byte(m.Payload))
		}
	}
}

// Deliver hands payload to this instance's handlers of channel, as if it had
// arrived from Redis. A relay that publishes a frame can deliver it to its
// own sockets at once this way (and mark the published copy to be skipped
// here, see InstanceName), which spares them a round trip through Redis. It
// returns how many handlers it called.
func (h *Hub) Deliver(channel string, payload []byte) int {
	h.mu.Lock()
	e := h.subs[channel]
	var one func([]byte)
	var fns []func([]byte)
	if e != nil {
		if len(e.handlers) == 1 {
			for _, fn := range e.handlers {
				one = fn
			}
		} else {
			fns = make([]func([]byte), 0, len(e.handlers))
			for _, fn := range e.handlers {
				fns = append(fns, fn)
			}
		}
	}
	h.mu.Unlock()
	if one != nil {
		one(payload)
		return 1
	}
	for _, fn := range fns {
		fn(payload)
	}
	return len(fns)
}

// Subscribe adds handler id to channel and returns once Redis confirmed the
// subscription, so that everything published afterwards reaches handler.
func (h *Hub) Subscribe(ctx context.Context, channel string, id uint64, handler func([]byte)) error {
	h.wmu.Lock()
	h.mu.Lock()
	e := h.subs[channel]
	first := e == nil
	if first {
		e = &entry{handlers: map[uint64]func([]byte){}, ready: make(chan struct{})}
		h.subs[channel] = e
	}
	e.handlers[id] = handler
	h.mu.Unlock()
	var err error
	if first {
		err = h.ps.SSubscribe(ctx, channel)
	}
	h.wmu.Unlock()
	if err != nil {
		h.Unsubscribe(context.WithoutCancel(ctx), channel, id)
		return fmt.Errorf("hub: subscribe: %w", err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case <-e.ready:
		return nil
	case <-wait.Done():
		h.Unsubscribe(context.WithoutCancel(ctx), channel, id)
		return fmt.Errorf("hub: subscribe %s: not confirmed: %w", channel, wait.Err())
	}
}

// Unsubscribe removes handler id; the last one out drops the channel.
func (h *Hub) Unsubscribe(ctx context.Context, channel string, id uint64) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.mu.Lock()
	e := h.subs[channel]
	last := false
	if e != nil {
		delete(e.handlers, id)
		if len(e.handlers) == 0 {
			delete(h.subs, channel)
			last = true
		}
	}
	h.mu.Unlock()
	if last {
		if err := h.ps.SUnsubscribe(ctx, channel); err != nil {
			h.log.Warn("relay unsubscribe", "channel", channel, "err", err)
		}
	}
}

// Channels reports how many channels this instance is subscribed to.
func (h *Hub) Channels() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Publish sends payload on a sharded channel and returns how many instances
// received it (0: nobody holds a socket for it anywhere).
func (h *Hub) Publish(ctx context.Context, channel string, payload []byte) (int64, error) {
	n, err := h.rdb.SPublish(ctx, channel, payload).Result()
	if err != nil {
		return 0, fmt.Errorf("hub: publish: %w", err)
	}
	return n, nil
}
