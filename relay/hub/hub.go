// Package hub is this relay instance's end of Redis sharded pub/sub: the
// channels its sockets need, taken with SSUBSCRIBE when the first local socket
// needs one and dropped with SUNSUBSCRIBE when the last one leaves, and the
// fan-out of each message to the local handlers of that channel.
//
// Handlers run on the hub's one receive goroutine, in the order Redis
// delivered, and on the goroutines that call Deliver, so they must not block
// and must be safe for concurrent use: they hand frames to a socket's bounded
// queue (relay/conn) and return.
//
// A handler is called with a nil payload when its channel's subscription
// broke and has been taken again (a Redis restart, a cluster failover, a
// slot that moved): what was published meanwhile is lost, and the handler
// repairs what it can (a client socket is told to sync).
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

// Hub holds this instance's Redis pub/sub connections: one on a single
// Redis; on a Redis Cluster one per master that owns a subscribed channel's
// slot (a sharded channel is served only by its slot's master, and one
// SSUBSCRIBE may name channels of one slot only).
type Hub struct {
	rdb     redis.UniversalClient
	cluster *redis.ClusterClient // nil on a single Redis
	log     *slog.Logger

	mu     sync.Mutex
	subs   map[string]*entry
	shards map[string]*shard // by master address; "" on a single Redis
	// run is Run's context once it runs (receivers of shards made later
	// start at once under it); receivers counts them for Run to wait.
	run       context.Context
	receivers sync.WaitGroup

	// own prefixes the payloads this instance delivered to its sockets
	// itself (see Deliver); Run drops them unread. "" drops none.
	own string

	// wmu orders SSUBSCRIBE/SUNSUBSCRIBE writes with the decisions that
	// caused them, so a quick unsubscribe-then-subscribe of one channel
	// reaches Redis in that order. It is held for one buffered write only
	// (and, on a cluster, while a broken connection's channels move).
	wmu sync.Mutex
}

type entry struct {
	handlers map[uint64]func([]byte)
	ready    chan struct{}
	once     sync.Once
	shard    *shard // the connection that carries it (guarded by Hub.mu)
	// gap (guarded by Hub.mu): the subscription broke; its next
	// confirmation tells the handlers that messages may have been lost.
	gap bool
}

func (e *entry) markReady() { e.once.Do(func() { close(e.ready) }) }

// shard is one pub/sub connection and the channels it carries.
type shard struct {
	addr     string
	ps       *redis.PubSub
	channels map[string]struct{} // guarded by Hub.mu
	closed   bool                // guarded by Hub.mu: replaced after a failure
	// connected (guarded by Hub.mu): its first SSUBSCRIBE went out. A
	// cluster pub/sub that receives before that would connect to a random
	// node, so its receiver starts only then.
	connected bool
	receiving bool // guarded by Hub.mu
}

// New returns the hub of instance instanceID on rdb; Run must be running for
// subscriptions to confirm. Run drops, without handing them to any handler,
// payloads that skip every socket of instanceID (InstancePrefix): that
// instance delivered them to its sockets itself. An empty instanceID drops
// none.
func New(rdb redis.UniversalClient, log *slog.Logger, instanceID string) *Hub {
	h := &Hub{rdb: rdb, log: log, subs: map[string]*entry{}, shards: map[string]*shard{}}
	h.cluster, _ = rdb.(*redis.ClusterClient)
	if h.cluster == nil {
		// go-redis reconnects this one by itself and resubscribes its
		// channels in one SSUBSCRIBE, which a single Redis accepts.
		h.shards[""] = &shard{ps: rdb.SSubscribe(context.Background()), channels: map[string]struct{}{}, connected: true}
	}
	if instanceID != "" {
		h.own = InstancePrefix(instanceID)
	}
	return h
}

// Run receives until ctx ends, then closes the pub/sub connections.
// Messages published while a connection is down are lost, which clients
// repair with sync.
func (h *Hub) Run(ctx context.Context) error {
	h.mu.Lock()
	h.run = ctx
	for _, sh := range h.shards {
		h.startReceiver(sh)
	}
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	for _, sh := range h.shards {
		sh.closed = true
		_ = sh.ps.Close()
	}
	h.mu.Unlock()
	h.receivers.Wait()
	return nil
}

// startReceiver runs sh's receive loop under Run's context once sh is
// connected; h.mu held.
func (h *Hub) startReceiver(sh *shard) {
	if h.run == nil || !sh.connected || sh.receiving || sh.closed {
		return // Run, or the first SSUBSCRIBE, starts it
	}
	sh.receiving = true
	h.receivers.Add(1)
	go func() {
		defer h.receivers.Done()
		h.receive(h.run, sh)
	}()
}

func (h *Hub) receive(ctx context.Context, sh *shard) {
	for {
		msg, err := sh.ps.Receive(ctx)
		if err != nil {
			h.mu.Lock()
			closed := sh.closed
			h.mu.Unlock()
			if ctx.Err() != nil || closed {
				return
			}
			h.log.Warn("relay pubsub receive", "node", sh.addr, "err", err)
			h.markGap(sh)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if h.cluster != nil {
				// go-redis would resubscribe every channel of this
				// connection in one SSUBSCRIBE, which a cluster refuses
				// for channels of several slots: move them by hand, to
				// whichever master owns each slot now (a failover
				// promoted a replica), and end this receiver.
				h.move(ctx, sh)
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			switch m.Kind {
			case "ssubscribe":
				h.mu.Lock()
				e := h.subs[m.Channel]
				gap := e != nil && e.gap
				if gap {
					e.gap = false
				}
				h.mu.Unlock()
				if e != nil {
					e.markReady()
				}
				if gap {
					h.Deliver(m.Channel, nil)
				}
			case "sunsubscribe":
				// Unasked (the channel is still wanted here): its slot
				// moved to another master.
				h.mu.Lock()
				e := h.subs[m.Channel]
				moved := h.cluster != nil && e != nil && e.shard == sh
				if moved {
					e.gap = true
				}
				h.mu.Unlock()
				if moved {
					h.resubscribe(ctx, []string{m.Channel})
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

// markGap notes that the channels sh carries may have lost messages: the
// confirmation of each one's next subscription calls its handlers with nil.
func (h *Hub) markGap(sh *shard) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range sh.channels {
		if e := h.subs[ch]; e != nil && e.shard == sh {
			e.gap = true
		}
	}
}

// move replaces a broken cluster connection: its channels are subscribed
// again, each on its slot's master as the cluster now says.
func (h *Hub) move(ctx context.Context, sh *shard) {
	h.wmu.Lock() // a Subscribe under way finishes on sh first, so its channel moves too
	h.mu.Lock()
	sh.closed = true
	if h.shards[sh.addr] == sh {
		delete(h.shards, sh.addr)
	}
	channels := make([]string, 0, len(sh.channels))
	for ch := range sh.channels {
		channels = append(channels, ch)
	}
	h.mu.Unlock()
	h.wmu.Unlock()
	_ = sh.ps.Close()
	h.resubscribe(ctx, channels)
}

// resubscribe subscribes channels that lost their connection again, on
// their slots' masters, retrying until it works or ctx ends.
func (h *Hub) resubscribe(ctx context.Context, channels []string) {
	h.cluster.ReloadState(ctx)
	for len(channels) > 0 && ctx.Err() == nil {
		var failed []string
		for _, ch := range channels {
			if err := h.subscribeAgain(ctx, ch); err != nil {
				h.log.Warn("relay pubsub resubscribe", "channel", ch, "err", err)
				failed = append(failed, ch)
			}
		}
		channels = failed
		if len(channels) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			h.cluster.ReloadState(ctx)
		}
	}
}

// subscribeAgain moves one channel, if still wanted, to the connection of
// its slot's master.
func (h *Hub) subscribeAgain(ctx context.Context, channel string) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.mu.Lock()
	e := h.subs[channel]
	h.mu.Unlock()
	if e == nil {
		return nil // dropped meanwhile
	}
	sh, err := h.shardFor(ctx, channel)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if old := e.shard; old != nil && old != sh {
		delete(old.channels, channel)
	}
	e.shard = sh
	sh.channels[channel] = struct{}{}
	h.mu.Unlock()
	err = sh.ps.SSubscribe(ctx, channel)
	h.connected(sh)
	return err
}

// connected notes that sh's connection exists (its first SSUBSCRIBE went
// out, well or not) and starts its receiver.
func (h *Hub) connected(sh *shard) {
	h.mu.Lock()
	sh.connected = true
	h.startReceiver(sh)
	h.mu.Unlock()
}

// shardFor returns the connection for channel's slot, making it when
// needed; wmu held.
func (h *Hub) shardFor(ctx context.Context, channel string) (*shard, error) {
	addr := ""
	if h.cluster != nil {
		node, err := h.cluster.MasterForKey(ctx, channel)
		if err != nil {
			return nil, err
		}
		addr = node.Options().Addr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sh := h.shards[addr]
	if sh == nil {
		// A cluster pub/sub connects to the master of the first channel
		// it is given: ours are all of this master's slots.
		sh = &shard{addr: addr, ps: h.cluster.SSubscribe(context.Background()), channels: map[string]struct{}{}}
		h.shards[addr] = sh
	}
	return sh, nil
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

// Subscribed reports whether this instance subscribes to channel (has a
// socket there): a publish on it reaches this instance too.
func (h *Hub) Subscribed(channel string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs[channel] != nil
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
		var sh *shard
		if sh, err = h.shardFor(ctx, channel); err == nil {
			h.mu.Lock()
			e.shard = sh
			sh.channels[channel] = struct{}{}
			h.mu.Unlock()
			err = sh.ps.SSubscribe(ctx, channel)
			h.connected(sh)
		}
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
	var sh *shard
	if e != nil {
		delete(e.handlers, id)
		if len(e.handlers) == 0 {
			delete(h.subs, channel)
			if sh = e.shard; sh != nil {
				delete(sh.channels, channel)
			}
		}
	}
	h.mu.Unlock()
	if sh != nil {
		if err := sh.ps.SUnsubscribe(ctx, channel); err != nil {
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
