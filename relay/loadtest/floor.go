package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
)

// Floors: what this machine charges, in the same run and with the same
// shape (pairs, pace, chunk size) as the figure they stand beside, for the
// hops a chunk crosses without any relay logic. A relay figure divided by
// its floor stays comparable when the machine is busy with other work.
//
//   - ws forward: a tiny in-process server that reads each message one
//     socket sends and writes it to another, all gorilla/websocket on
//     loopback: the agent → relay → client hops with nothing in between.
//   - redis pub→sub: SPUBLISH on one sharded channel per pair, one
//     connection SSUBSCRIBEd to all of them and read in a Receive loop, as
//     the relay's hub does: the extra hop a chunk takes between instances.

// shape is the load a floor is measured under.
type shape struct {
	pairs    int
	interval time.Duration // between one pair's messages; 0 = flat out
	size     int           // bytes per message (stamped like a chunk)
	duration time.Duration
}

// sample is what a floor measured.
type sample struct {
	lat        []time.Duration
	sent, got  int64
	first, end time.Time
}

func (s *sample) rate() float64 {
	if el := s.end.Sub(s.first).Seconds(); el > 0 {
		return float64(s.got) / el
	}
	return 0
}

// collector gathers latencies from many receivers.
type collector struct {
	mu  sync.Mutex
	lat []time.Duration
	got atomic.Int64
}

func (c *collector) add(l []time.Duration) {
	c.got.Add(int64(len(l)))
	c.mu.Lock()
	c.lat = append(c.lat, l...)
	c.mu.Unlock()
}

// pace sends n messages from one pair at sh's interval (or flat out) until
// the duration is over, stamping each just before send.
func pace(ctx context.Context, sh shape, deadline time.Time, offset time.Duration, sent *atomic.Int64, send func(msg []byte) error) error {
	msg := make([]byte, sh.size)
	for i := stampBytes; i < len(msg); i++ {
		msg[i] = 'a' + byte(i%26)
	}
	start := time.Now().Add(offset)
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * sh.interval)
		if !at.Before(deadline) || !time.Now().Before(deadline) || ctx.Err() != nil {
			return nil
		}
		if wait := time.Until(at); wait > 0 && sh.interval > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
		}
		stamp(msg)
		if err := send(msg); err != nil {
			return err
		}
		sent.Add(1)
	}
}

// stagger spreads the pairs' first messages over one interval, as replies
// that started at different moments would be.
func stagger(i, n int, interval time.Duration) time.Duration {
	if n <= 1 {
		return 0
	}
	return interval * time.Duration(i) / time.Duration(n)
}

// wsFloor measures the bare gorilla/websocket forward.
func wsFloor(ctx context.Context, sh shape) (*sample, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// Buffer sizes as the relay's upgraders use them: the "in" socket is
	// an agent's, the "out" socket a client's.
	up := websocket.Upgrader{ReadBufferSize: 8192, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}}
	var mu sync.Mutex
	outs := map[string]chan *websocket.Conn{} // by pair: the out socket, once upgraded
	outOf := func(id string) chan *websocket.Conn {
		mu.Lock()
		defer mu.Unlock()
		if outs[id] == nil {
			outs[id] = make(chan *websocket.Conn, 1)
		}
		return outs[id]
	}
	var all []*websocket.Conn
	var forwarders sync.WaitGroup
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		id := r.URL.Query().Get("pair")
		mu.Lock()
		all = append(all, ws)
		mu.Unlock()
		if r.URL.Query().Get("role") == "out" {
			outOf(id) <- ws
			return
		}
		// The out socket's client has its answer before this handler
		// got to register it: wait for it.
		var out *websocket.Conn
		select {
		case out = <-outOf(id):
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		forwarders.Add(1)
		mu.Unlock()
		go func() { // the forward: one reader, one writer, nothing else
			defer forwarders.Done()
			for {
				_, b, err := ws.ReadMessage()
				if err != nil || out == nil {
					return
				}
				_ = out.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if out.WriteMessage(websocket.TextMessage, b) != nil {
					return
				}
			}
		}()
	})}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
		mu.Lock()
		for _, ws := range all {
			ws.Close()
		}
		mu.Unlock()
		forwarders.Wait()
	}()

	url := "ws://" + ln.Addr().String() + "/?pair="
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 16 << 10}
	ins := make([]*websocket.Conn, sh.pairs)
	recv := make([]*websocket.Conn, sh.pairs)
	defer func() {
		for i := range sh.pairs {
			if ins[i] != nil {
				ins[i].Close()
			}
			if recv[i] != nil {
				recv[i].Close()
			}
		}
	}()
	for i := range sh.pairs {
		id := strconv.Itoa(i)
		if recv[i], _, err = d.DialContext(ctx, url+id+"&role=out", nil); err != nil {
			return nil, fmt.Errorf("ws floor: %w", err)
		}
		if ins[i], _, err = d.DialContext(ctx, url+id+"&role=in", nil); err != nil {
			return nil, fmt.Errorf("ws floor: %w", err)
		}
	}
	s := &sample{first: time.Now()}
	var sent atomic.Int64
	var col collector
	deadline := s.first.Add(sh.duration)
	var wg sync.WaitGroup
	for i := range sh.pairs {
		wg.Add(2)
		go func() {
			defer wg.Done()
			write := func(msg []byte) error {
				_ = ins[i].SetWriteDeadline(time.Now().Add(10 * time.Second))
				return ins[i].WriteMessage(websocket.TextMessage, msg)
			}
			if pace(ctx, sh, deadline, stagger(i, sh.pairs, sh.interval), &sent, write) == nil {
				_ = write(nil) // the end: an empty message
			}
		}()
		go func() {
			defer wg.Done()
			var lat []time.Duration
			// Reads to the sender's empty end message, or a bounded wait
			// past the duration.
			_ = recv[i].SetReadDeadline(deadline.Add(5 * time.Second))
			for {
				_, b, err := recv[i].ReadMessage()
				if err != nil || len(b) == 0 {
					break
				}
				if t, ok := readStamp(b); ok {
					lat = append(lat, time.Since(base)-t)
				}
			}
			col.add(lat)
		}()
	}
	wg.Wait()
	s.end = time.Now()
	s.lat, s.sent, s.got = col.lat, sent.Load(), col.got.Load()
	return s, nil
}

// redisFloor measures SPUBLISH → SSUBSCRIBE on rdb.
func redisFloor(ctx context.Context, rdb redis.UniversalClient, keys kv.Keys, run string, sh shape) (*sample, error) {
	channels := make([]string, sh.pairs)
	for i := range channels {
		channels[i] = keys.LoadProbeChannel(run, i)
	}
	ps := rdb.SSubscribe(ctx, channels...)
	defer ps.Close()
	for confirmed := 0; confirmed < len(channels); {
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := ps.Receive(wait)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("redis floor: subscribe: %w", err)
		}
		if m, ok := msg.(*redis.Subscription); ok && m.Kind == "ssubscribe" {
			confirmed = m.Count
		}
	}
	s := &sample{first: time.Now()}
	var sent atomic.Int64
	deadline := s.first.Add(sh.duration)
	var senders sync.WaitGroup
	for i := range sh.pairs {
		senders.Add(1)
		go func() {
			defer senders.Done()
			publish := func(msg []byte) error { return rdb.SPublish(ctx, channels[i], msg).Err() }
			if pace(ctx, sh, deadline, stagger(i, sh.pairs, sh.interval), &sent, publish) == nil {
				_ = publish(nil) // the end: an empty message
			}
		}()
	}
	var lat []time.Duration
	ends := 0
	stop, cancel := context.WithDeadline(ctx, deadline.Add(5*time.Second))
	defer cancel()
	for ends < sh.pairs {
		msg, err := ps.Receive(stop)
		if err != nil {
			break
		}
		if m, ok := msg.(*redis.Message); ok {
			if m.Payload == "" {
				ends++
			} else if t, ok := readStamp([]byte(m.Payload)); ok {
				lat = append(lat, time.Since(base)-t)
			}
		}
	}
	senders.Wait()
	s.end = time.Now()
	s.lat, s.sent, s.got = lat, sent.Load(), int64(len(lat))
	return s, nil
}
