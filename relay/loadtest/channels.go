package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// The community channel scenario (issue 17 item 4): for each community
// size, a public community of that many members with one channel; some of
// them with client sockets open, spread over the relays; a few of those
// subscribed to the channel. Messages are sent as the communities function
// sends them (store.SendChannelMessage, then one events.Publisher.ToChannel)
// and the scenario prints
//
//   - publish → receipt on every subscribed socket, p50/p99/p99.9/max, beside
//     the floors of the same shape (one Redis pub→sub hop plus a ws write
//     per subscriber);
//   - Redis commands per message: the SPUBLISH calls and all calls Redis
//     counted (INFO commandstats) while the messages went out, divided by
//     the messages: what a message costs Redis, which must not grow with
//     the community (the relays' own background work is in the second
//     figure too, so use a Redis of the run's own for it);
//   - what one member's join, read mark and channel list cost at that size
//     (the store calls the REST routes make, one after another, p50/p99),
//     and a sync round trip on a socket.
//
// Sockets that are not subscribed must get none of the channel's traffic;
// any that arrives is counted and printed.

// channelSizes are the community sizes measured, in order.
type channelSizes []int

func parseSizes(s string) (channelSizes, error) {
	var out channelSizes
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("-channel-members: %q is not a community size of at least 2", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("-channel-members is empty")
	}
	return out, nil
}

// channelResult is one size's outcome, for the tiny test.
type channelResult struct {
	members             int
	delivered, expected int64
	strays              int64 // channel events on sockets not subscribed
	spublish, commands  int64 // Redis calls counted while the messages went out
	latencies           []time.Duration
}

// seedCommunity makes a public community with one channel ("general") whose
// members are users (the first the owner), each with a read mark at 0, in a
// few statements whatever the size.
func (s *seeder) seedCommunity(ctx context.Context, users []seededUser) (communityID, channelID string, err error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	err = s.pool.QueryRow(ctx, `
		with c as (insert into communities (owner_id, name, slug, visibility) values ($1, 'Load community', $2, 'public') returning id),
		ch as (insert into channels (community_id, name) select id, 'general' from c returning id, community_id)
		select community_id, id from ch`, ids[0], s.run+"-"+randomHex(3)).Scan(&communityID, &channelID)
	if err != nil {
		return "", "", fmt.Errorf("seed community: %w", err)
	}
	s.communityIDs = append(s.communityIDs, communityID)
	if err := s.seedMembers(ctx, communityID, ids); err != nil {
		return "", "", fmt.Errorf("seed members: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `insert into channel_reads (channel_id, user_id) select $1, unnest($2::text[])`,
		channelID, ids); err != nil {
		return "", "", fmt.Errorf("seed read marks: %w", err)
	}
	return communityID, channelID, nil
}

// seedMembers inserts the members in one statement (the member count's
// statement trigger, migration 00032, updates the community once).
func (s *seeder) seedMembers(ctx context.Context, communityID string, ids []string) error {
	_, err := s.pool.Exec(ctx, `insert into community_members (community_id, user_id, role)
		select $1, u, case when n = 1 then 'owner' else 'member' end from unnest($2::text[]) with ordinality as t(u, n)`, communityID, ids)
	return err
}

// channelFrame is what a reader needs of a frame.
type channelFrame struct {
	Type      string `json:"type"`
	ChannelID string `json:"channelId"`
	Data      struct {
		Message struct {
			Seq int64 `json:"seq"`
		} `json:"message"`
	} `json:"data"`
}

// channelSocket is one member's client socket and its reader.
type channelSocket struct {
	ws         *websocket.Conn
	subscribed chan struct{} // closed on channel_subscribed
	synced     chan struct{} // one per sync_result
	failed     chan string   // an error frame's code
}

func channelsRun(ctx context.Context, o options, sd *seeder) ([]channelResult, error) {
	if o.rdb == nil {
		return nil, errors.New("the channels run publishes through Redis: give -redis or REDIS_URL")
	}
	var out []channelResult
	for _, n := range o.channelMembers {
		r, err := channelsAt(ctx, o, sd, n)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func channelsAt(ctx context.Context, o options, sd *seeder, members int) (channelResult, error) {
	res := channelResult{members: members}
	sockets := min(o.channelSockets, members)
	subs := min(o.channelSubscribers, sockets)
	started := time.Now()
	users, err := sd.users(ctx, members)
	if err != nil {
		return res, err
	}
	communityID, channelID, err := sd.seedCommunity(ctx, users)
	if err != nil {
		return res, err
	}
	joiners, err := sd.users(ctx, o.channelOps) // not members yet: they join below
	if err != nil {
		return res, err
	}
	seeded := time.Since(started)
	db := &store.DB{Pool: sd.pool}

	// The sockets: members 0..sockets-1, round robin over the relays; the
	// first subs of them subscribe.
	sent := make([]atomic.Int64, o.channelMessages+1) // by seq: when it was published (since base)
	var delivered, strays atomic.Int64
	var col collector
	expected := int64(subs * o.channelMessages)
	allIn := make(chan struct{})
	var allOnce sync.Once
	socks := make([]*channelSocket, sockets)
	var readers sync.WaitGroup
	defer func() {
		for _, s := range socks {
			if s != nil {
				s.ws.Close()
			}
		}
		readers.Wait()
	}()
	read := func(i int, s *channelSocket) {
		defer readers.Done()
		for {
			_, b, err := s.ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Since(base)
			var f channelFrame
			if json.Unmarshal(b, &f) != nil {
				continue
			}
			switch f.Type {
			case protocol.TypeChannelSubscribed:
				close(s.subscribed)
			case protocol.TypeSyncResult:
				select {
				case s.synced <- struct{}{}:
				default:
				}
			case protocol.TypeError:
				var e struct{ Code string }
				_ = json.Unmarshal(b, &e)
				select {
				case s.failed <- e.Code:
				default:
				}
			case string(events.ChannelMessageNew):
				if i >= subs || f.ChannelID != channelID {
					strays.Add(1)
					continue
				}
				seq := f.Data.Message.Seq
				if seq < 1 || seq >= int64(len(sent)) {
					continue
				}
				if at := sent[seq].Load(); at > 0 {
					col.add([]time.Duration{now - time.Duration(at)})
				}
				if delivered.Add(1) == expected {
					allOnce.Do(func() { close(allIn) })
				}
			}
		}
	}
	dialStart := time.Now()
	if err := dialMany(ctx, sockets, func(i int) error {
		ws, err := dialClient(ctx, o.relays[i%len(o.relays)], users[i].Session)
		if err != nil {
			return err
		}
		s := &channelSocket{ws: ws, subscribed: make(chan struct{}), synced: make(chan struct{}, 1), failed: make(chan string, 1)}
		socks[i] = s
		readers.Add(1)
		go read(i, s)
		return nil
	}); err != nil {
		return res, err
	}
	dialTime := time.Since(dialStart)
	for i := range subs {
		if err := writeFrame(socks[i].ws, &protocol.ChannelSubscribe{ChannelID: channelID}); err != nil {
			return res, err
		}
	}
	for i := range subs {
		select {
		case <-socks[i].subscribed:
		case code := <-socks[i].failed:
			return res, fmt.Errorf("channel_subscribe refused: %s", code)
		case <-time.After(15 * time.Second):
			return res, errors.New("no channel_subscribed within 15 s")
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}

	interval := time.Second / time.Duration(o.channelRate)
	const eventBytes = 420 // about a channel_message_new frame of this run
	// Floors of the same shape: the relay writes each publish to every
	// subscribed socket (a ws forward per subscriber), and the publish
	// crosses Redis once (one sharded channel).
	ws, err := wsFloor(ctx, shape{pairs: subs, interval: interval, size: eventBytes, duration: o.floorDuration})
	if err != nil {
		return res, err
	}
	rd, err := redisFloor(ctx, o.rdb, o.keys, o.run, shape{pairs: 1, interval: interval, size: eventBytes, duration: o.floorDuration})
	if err != nil {
		return res, err
	}

	// The messages, paced, each stored then published once.
	pub := events.NewPublisher(o.rdb, o.keys)
	sender := users[0].ID
	before, cerr := commandCalls(ctx, o.rdb)
	start := time.Now()
	for i := range o.channelMessages {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		send, err := db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: sender, ChannelID: channelID,
			Content: fmt.Sprintf("load message %d", i), ClientMessageID: fmt.Sprintf("%s-%d", sd.run, i)})
		if err != nil {
			return res, fmt.Errorf("send: %w", err)
		}
		ev, err := events.NewForChannel(events.ChannelMessageNew, channelID, struct {
			Message store.ListedChannelMessage `json:"message"`
		}{send.Message})
		if err != nil {
			return res, err
		}
		if seq := send.Message.Seq; seq > 0 && seq < int64(len(sent)) {
			sent[seq].Store(int64(time.Since(base)))
		}
		if err := pub.ToChannel(ctx, ev); err != nil {
			return res, err
		}
	}
	after, cerr2 := commandCalls(ctx, o.rdb)
	select {
	case <-allIn:
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
		return res, ctx.Err()
	}

	// What one member's operations cost at this size.
	var joins, reads, lists, syncs []time.Duration
	for _, u := range joiners {
		t := time.Now()
		if _, err := db.JoinCommunity(ctx, u.ID, communityID); err != nil {
			return res, fmt.Errorf("join: %w", err)
		}
		joins = append(joins, time.Since(t))
	}
	lastSeq := int64(o.channelMessages)
	for i := range min(o.channelOps, members) {
		u := users[members-1-i] // members without a socket
		t := time.Now()
		if _, err := db.MarkChannelRead(ctx, u.ID, channelID, lastSeq); err != nil {
			return res, fmt.Errorf("read mark: %w", err)
		}
		reads = append(reads, time.Since(t))
		t = time.Now()
		if _, err := db.Channels(ctx, u.ID, communityID); err != nil {
			return res, fmt.Errorf("channel list: %w", err)
		}
		lists = append(lists, time.Since(t))
	}
	for i := range min(o.channelOps, sockets) {
		s := socks[sockets-1-i]
		t := time.Now()
		if err := writeFrame(s.ws, &protocol.Sync{}); err != nil {
			return res, err
		}
		select {
		case <-s.synced:
			syncs = append(syncs, time.Since(t))
		case <-time.After(10 * time.Second):
			return res, errors.New("no sync_result within 10 s")
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}

	res.delivered, res.expected, res.strays = delivered.Load(), expected, strays.Load()
	col.mu.Lock()
	res.latencies = append(res.latencies, col.lat...)
	col.mu.Unlock()
	fig := distOf(res.latencies)
	fmt.Printf("channels, %d members (seeded in %.1fs): %d sockets on %d relays (dialled in %.1fs), %d subscribed; %d messages at %d/s: publish → subscribed socket %s, max %s; delivered %d of %d; channel frames on sockets not subscribed: %d\n",
		members, seeded.Seconds(), sockets, min(len(o.relays), sockets), dialTime.Seconds(), subs, o.channelMessages, o.channelRate,
		fig, us(maxOf(res.latencies)), res.delivered, res.expected, res.strays)
	if cerr == nil && cerr2 == nil {
		var others string
		res.spublish, res.commands, others = commandDelta(before, after)
		fmt.Printf("  Redis per message: %.2f SPUBLISH, %.1f commands in all (INFO commandstats while %d messages went out: %d SPUBLISH, %d commands; besides SPUBLISH: %s)\n",
			float64(res.spublish)/float64(o.channelMessages), float64(res.commands)/float64(o.channelMessages),
			o.channelMessages, res.spublish, res.commands, others)
	} else {
		fmt.Printf("  Redis per message: not measured (%v)\n", errors.Join(cerr, cerr2))
	}
	printFloors(fig, ws, rd, true)
	fmt.Printf("  one member's cost at %d members, p50/p99 of %d each: join %s, read mark %s, channel list %s, sync round trip %s\n",
		members, o.channelOps, pair50(joins), pair50(reads), pair50(lists), pair50(syncs))
	return res, nil
}

// dialMany runs dial(i) for i in [0, n) with bounded parallelism: a burst
// of handshakes would measure the accept backlog, not the relay.
func dialMany(ctx context.Context, n int, dial func(i int) error) error {
	const workers = 32
	next := make(chan int)
	var first error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := dial(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func maxOf(s []time.Duration) time.Duration {
	if len(s) == 0 {
		return -1
	}
	m := s[0]
	for _, d := range s {
		m = max(m, d)
	}
	return m
}

// pair50 prints "p50/p99" in ms.
func pair50(s []time.Duration) string {
	if len(s) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f/%.2f ms", ms(percentile(s, 0.5)), ms(percentile(s, 0.99)))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// commandCalls reads INFO commandstats: the calls of each command, summed
// over a cluster's masters.
func commandCalls(ctx context.Context, rdb redis.UniversalClient) (map[string]int64, error) {
	var mu sync.Mutex
	calls := map[string]int64{}
	read := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for name, n := range parseCommandStats(info) {
			calls[name] += n
		}
		return nil
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, read)
	case *redis.Client:
		err = read(ctx, c)
	default:
		err = fmt.Errorf("commandstats: a %T", rdb)
	}
	return calls, err
}

// parseCommandStats reads "cmdstat_<name>:calls=N,..." lines.
func parseCommandStats(info string) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		if n, err := strconv.ParseInt(calls, 10, 64); err == nil {
			out[strings.TrimPrefix(name, "cmdstat_")] += n
		}
	}
	return out
}

// commandDelta is after − before: the SPUBLISH calls, all calls, and the
// busiest other commands as "set 120, expire 60".
func commandDelta(before, after map[string]int64) (spublish, all int64, others string) {
	type count struct {
		name string
		n    int64
	}
	var rest []count
	for name, n := range after {
		d := n - before[name]
		all += d
		if name == "spublish" {
			spublish = d
		} else if d > 0 {
			rest = append(rest, count{name, d})
		}
	}
	slices.SortFunc(rest, func(a, b count) int { return cmpInt(b.n, a.n, a.name, b.name) })
	var parts []string
	for _, c := range rest[:min(len(rest), 4)] {
		parts = append(parts, fmt.Sprintf("%s %d", c.name, c.n))
	}
	return spublish, all, strings.Join(parts, ", ")
}

func cmpInt(a, b int64, x, y string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return strings.Compare(x, y)
}
