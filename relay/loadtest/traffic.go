package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// Every chunk an agent sends starts with a stamp: the nanoseconds since base
// (monotonic, this process) at the moment the agent wrote it, as 19 digits and
// a space, padded with letters to the chunk size. Chunks are all the same
// size, so a client finds each chunk's start by its byte offset even when
// the relay delivers several in one delta.
const stampBytes = 20

var base = time.Now()

func stamp(buf []byte) {
	d := time.Since(base).Nanoseconds()
	s := strconv.AppendInt(nil, d, 10)
	for i := range 19 {
		buf[i] = '0'
	}
	copy(buf[19-len(s):19], s)
	buf[19] = ' '
}

func readStamp(b []byte) (time.Duration, bool) {
	if len(b) < stampBytes {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[:19]), 10, 64)
	return time.Duration(n), err == nil
}

// traffic is one timed run: a client per pair on clientBase, the pairs'
// agents on agentBase.
type traffic struct {
	clientBase, agentBase string
	pairs                 []pair
	duration              time.Duration
	chunkBytes, perReply  int
	interval              time.Duration // between one task's chunks; 0 = flat out
	// staggered spreads the conversations' first sends over one interval,
	// so that paced replies do not all send at the same instants.
	staggered bool
	log       *slog.Logger

	sent      atomic.Int64
	delivered atomic.Int64
	streaming atomic.Int64 // replies between stream_start and stream_end now
	peak      atomic.Int64 // the most at once
	sums      sync.Map     // reply messageId → sha256 of the text the agent sent

	mu        sync.Mutex
	latencies []time.Duration
	sentAt    []time.Duration // each latency's chunk: when the agent wrote it (since base)
	turns     []time.Duration // sends and stream_end arrivals (since base): replies turning over
	acks      []time.Duration // each send's message_ack: from writing the send to reading its ack
	firstAcks []time.Duration // the same for each socket's first send (all at once, on cold paths)
	replies   int
	complete  int
	equal     int
	problems  []string
	first     time.Time
	last      time.Time
}

func (tr *traffic) problem(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.problems) < 10 {
		tr.problems = append(tr.problems, fmt.Sprintf(format, args...))
	}
}

// handler streams perReply stamped chunks, paced by interval.
func (tr *traffic) handler(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
	h := sha256.New()
	chunk := make([]byte, tr.chunkBytes)
	for i := stampBytes; i < len(chunk); i++ {
		chunk[i] = 'a' + byte(i%26)
	}
	start := time.Now()
	for i := range tr.perReply {
		if tr.interval > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * tr.interval)); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		stamp(chunk)
		h.Write(chunk)
		if err := s.Write(string(chunk)); err != nil {
			return err
		}
		tr.sent.Add(1)
	}
	tr.sums.Store(task.MessageID, h.Sum(nil))
	return s.Complete()
}

// run connects the agents and clients and keeps every conversation busy
// with one reply after another until the duration is over, then waits for
// the replies in flight.
func (tr *traffic) run(ctx context.Context) error {
	actx, stopAgents := context.WithCancel(ctx)
	var agents []*agentsdk.Agent
	defer func() {
		stopAgents()
		for _, a := range agents {
			_ = a.Wait()
		}
	}()
	seen := map[string]bool{}
	for _, p := range tr.pairs {
		if seen[p.Agent.ID] {
			continue
		}
		seen[p.Agent.ID] = true
		a, err := agentsdk.Connect(actx, agentsdk.Config{
			URL: tr.agentBase + protocol.AgentPath, Token: p.Agent.Token, Handler: tr.handler, Logger: tr.log,
		})
		if err != nil {
			return fmt.Errorf("agent %s: %w", p.Agent.ID, err)
		}
		agents = append(agents, a)
	}
	clients := make([]*websocket.Conn, len(tr.pairs))
	defer func() {
		for _, ws := range clients {
			if ws != nil {
				ws.Close()
			}
		}
	}()
	for i, p := range tr.pairs {
		ws, err := dialClient(ctx, tr.clientBase, p.User.Session)
		if err != nil {
			return err
		}
		clients[i] = ws
	}
	deadline := time.Now().Add(tr.duration)
	var wg sync.WaitGroup
	for i, p := range tr.pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tr.staggered {
				select {
				case <-time.After(stagger(i, len(tr.pairs), tr.interval)):
				case <-ctx.Done():
					return
				}
			}
			tr.converse(ctx, clients[i], p.Conv, deadline)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func dialClient(ctx context.Context, baseURL, session string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 16 << 10}
	ws, resp, err := d.DialContext(ctx, baseURL+protocol.ClientPath, http.Header{"Authorization": {"Bearer " + session}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("client dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("client dial: %w", err)
	}
	return ws, nil
}

// converse sends a message, follows its reply to stream_end, and repeats
// until deadline.
func (tr *traffic) converse(ctx context.Context, ws *websocket.Conn, conv string, deadline time.Time) {
	for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
		cmid := fmt.Sprintf("lt-%s-%d", randomHex(4), n)
		if err := writeFrame(ws, &protocol.SendMessage{ConversationID: conv, Content: "go " + cmid, ClientMessageID: cmid}); err != nil {
			tr.problem("send: %v", err)
			return
		}
		sent := time.Since(base)
		tr.mu.Lock()
		if tr.first.IsZero() {
			tr.first = time.Now()
		}
		tr.turns = append(tr.turns, sent)
		tr.mu.Unlock()
		if err := tr.follow(ws, sent, n == 0); err != nil {
			tr.problem("%s: %v", conv, err)
			return
		}
	}
}

func writeFrame(ws *websocket.Conn, f protocol.Frame) error {
	b, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.TextMessage, b)
}

// follow reads one reply to the send written at sent (the socket's first
// when first). One conversation per socket and one reply at a time, so
// every stream frame on the socket is about the current reply.
func (tr *traffic) follow(ws *websocket.Conn, sent time.Duration, first bool) error {
	var have []byte
	var current string
	var lat, at []time.Duration
	delivered := int64(0)
	var seen []string // frame types of this reply, for the error report
	for {
		_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("%w (after %s)", err, summarize(seen))
		}
		now := time.Since(base)
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue
		}
		seen = append(seen, f.FrameType())
		switch f := f.(type) {
		case *protocol.MessageAck:
			tr.mu.Lock()
			if first {
				tr.firstAcks = append(tr.firstAcks, now-sent)
			} else {
				tr.acks = append(tr.acks, now-sent)
			}
			tr.mu.Unlock()
		case *protocol.StreamStart:
			if current == "" {
				if n := tr.streaming.Add(1); n > tr.peak.Load() {
					tr.peak.Store(n) // racy max, close enough for a report
				}
			}
			current = f.MessageID
		case *protocol.StreamChunk:
			if f.MessageID != current {
				continue
			}
			off := int(f.Offset)
			if off > len(have) {
				return fmt.Errorf("gap at offset %d (have %d)", off, len(have))
			}
			from := len(have) - off // bytes of this delta already held
			if from >= len(f.Delta) {
				continue
			}
			first := (len(have) + tr.chunkBytes - 1) / tr.chunkBytes * tr.chunkBytes
			for p := first; p < off+len(f.Delta); p += tr.chunkBytes {
				if t, ok := readStamp([]byte(f.Delta[p-off:])); ok {
					lat = append(lat, now-t)
					at = append(at, t)
					delivered++
				}
			}
			have = append(have, f.Delta[from:]...)
		case *protocol.StreamEnd:
			if f.MessageID != current && current != "" {
				continue
			}
			if current != "" {
				tr.streaming.Add(-1)
			}
			tr.mu.Lock()
			tr.turns = append(tr.turns, now)
			tr.mu.Unlock()
			tr.finish(f, have, lat, at, delivered)
			return nil
		case *protocol.ErrorFrame:
			return fmt.Errorf("relay error %s: %s", f.Code, f.Message)
		}
	}
}

func (tr *traffic) finish(end *protocol.StreamEnd, have []byte, lat, at []time.Duration, delivered int64) {
	tr.delivered.Add(delivered)
	sum := sha256.Sum256(have)
	want, _ := tr.sums.Load(end.MessageID)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.last = time.Now()
	tr.replies++
	tr.latencies = append(tr.latencies, lat...)
	tr.sentAt = append(tr.sentAt, at...)
	if end.Status == protocol.StatusComplete {
		tr.complete++
	} else if len(tr.problems) < 10 {
		msg := ""
		if end.Error != nil {
			msg = end.Error.Code + ": " + end.Error.Message
		}
		tr.problems = append(tr.problems, fmt.Sprintf("reply %s ended %s %s", end.MessageID, end.Status, msg))
	}
	if w, ok := want.([]byte); ok && string(w) == string(sum[:]) && end.Content == string(have) {
		tr.equal++
	}
}

// turnoverWindow is how near a reply's send or end a chunk must be written
// to count as written while replies turn over (byPhase).
const turnoverWindow = 10 * time.Millisecond

// byPhase splits the latencies into chunks written while no reply was sent
// or ended within turnoverWindow (steady streaming, what a pub/sub peer
// without persistence measures) and the rest. A reply's send and end do the
// per-reply work — the message rows, the task and its history, the settle
// with the reply's full text — in the relay and in Postgres, on the cores
// the chunks of the other replies need.
func (tr *traffic) byPhase() (steady, turnover []time.Duration) {
	turns := slices.Clone(tr.turns)
	slices.Sort(turns)
	for i, lat := range tr.latencies {
		t := tr.sentAt[i]
		j, _ := slices.BinarySearch(turns, t)
		near := (j < len(turns) && turns[j]-t < turnoverWindow) || (j > 0 && t-turns[j-1] < turnoverWindow)
		if near {
			turnover = append(turnover, lat)
		} else {
			steady = append(steady, lat)
		}
	}
	return steady, turnover
}

// printPhases prints byPhase's two figures under a run's latency line.
func (tr *traffic) printPhases() {
	steady, turnover := tr.byPhase()
	fmt.Printf("  steady (no reply sent or ended within %s): %d chunks, %s; within %s of a reply's send or end: %d chunks, %s\n",
		turnoverWindow, len(steady), distOf(steady), turnoverWindow, len(turnover), distOf(turnover))
	fmt.Printf("  send → message_ack: %d sends, %s; each socket's first send (all at once, cold): %d, %s\n",
		len(tr.acks), distOf(tr.acks), len(tr.firstAcks), distOf(tr.firstAcks))
}

func (tr *traffic) report() {
	for _, p := range tr.problems {
		fmt.Println("  problem:", p)
	}
}

var errNoSamples = errors.New("no samples")

func us(d time.Duration) string {
	if d < 0 {
		return errNoSamples.Error()
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}

// summarize counts frame types in order of first appearance: "message_ack, stream_start, 12×stream_chunk".
func summarize(types []string) string {
	if len(types) == 0 {
		return "no frames"
	}
	var order []string
	count := map[string]int{}
	for _, t := range types {
		if count[t] == 0 {
			order = append(order, t)
		}
		count[t]++
	}
	out := ""
	for i, t := range order {
		if i > 0 {
			out += ", "
		}
		if count[t] > 1 {
			out += fmt.Sprintf("%d×", count[t])
		}
		out += t
	}
	return out
}
