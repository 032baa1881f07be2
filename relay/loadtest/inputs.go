package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Input requests under load (relay/PROTOCOL.md section 9, issue 13 item 2),
// with agents speaking the wire directly (not through the SDK, which drops a
// repeated answer), so that every frame the agent's socket gets is counted:
//
//   - inputs: a group of -input-members members (the agent and the rest
//     people), the people's sockets alternating between the relays, the
//     agent on the last; the agent asks -input-rounds approvals one after
//     another and the time from its agent_input_request to each member
//     socket's input_request is the figure;
//   - inputs-kill: -kill-requests direct conversations of one agent, each
//     reply waiting for an approval, the people on the first relay and the
//     agent on the second; the people answer one after another over
//     -kill-window, and halfway the tool SIGKILLs the second relay
//     (-kill-pid). The agent reconnects to the first and the tool counts the
//     answers it got: none may be missing; a repeat is allowed by the
//     protocol in the instant of the crash, and counted.

// dialAgent opens an agent socket and authenticates it; frames after
// auth_ok are left for the caller.
func dialAgent(ctx context.Context, baseURL, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.DialContext(ctx, baseURL+protocol.AgentPath, nil)
	if err != nil {
		return nil, fmt.Errorf("agent dial: %w", err)
	}
	if err := writeFrame(ws, &protocol.Auth{Token: token}); err != nil {
		ws.Close()
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, fmt.Errorf("agent auth: %w", err)
	}
	if f, err := protocol.DecodeFromRelay(data); err != nil || f.FrameType() != protocol.TypeAuthOK {
		ws.Close()
		return nil, fmt.Errorf("agent auth answered %s", data)
	}
	_ = ws.SetReadDeadline(time.Time{})
	return ws, nil
}

// syncClient sends sync and reads to its sync_result: from then on the relay
// delivers the user's frames to this socket.
func syncClient(ws *websocket.Conn) error {
	if err := writeFrame(ws, &protocol.Sync{}); err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	defer ws.SetReadDeadline(time.Time{})
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		if f, err := protocol.DecodeFromRelay(data); err == nil && f.FrameType() == protocol.TypeSyncResult {
			return nil
		}
	}
}

// readUntil reads ws until ok accepts a frame, within wait.
func readUntil(ws *websocket.Conn, wait time.Duration, ok func(protocol.Frame) bool) (protocol.Frame, error) {
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	defer ws.SetReadDeadline(time.Time{})
	var seen []string
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("%w (after %s)", err, summarize(seen))
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue
		}
		seen = append(seen, f.FrameType())
		if e, isErr := f.(*protocol.ErrorFrame); isErr {
			return nil, fmt.Errorf("relay error %s: %s", e.Code, e.Message)
		}
		if ok(f) {
			return f, nil
		}
	}
}

// fanout collects when each member socket got each input_request.
type fanout struct {
	mu   sync.Mutex
	sent map[string]time.Duration   // requestId → when the agent wrote it (since base)
	got  map[string][]time.Duration // requestId → arrivals (since base)
	poke chan struct{}
}

func (f *fanout) arrived(id string, at time.Duration) {
	f.mu.Lock()
	f.got[id] = append(f.got[id], at)
	f.mu.Unlock()
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// waitAll waits until n sockets got request id, or wait passed; it reports how many did.
func (f *fanout) waitAll(ctx context.Context, id string, n int, wait time.Duration) int {
	deadline := time.After(wait)
	for {
		f.mu.Lock()
		have := len(f.got[id])
		f.mu.Unlock()
		if have >= n {
			return have
		}
		select {
		case <-f.poke:
		case <-deadline:
			return have
		case <-ctx.Done():
			return have
		}
	}
}

func inputsFanoutRun(ctx context.Context, o options, sd *seeder) error {
	people, agent, conv, err := sd.group(ctx, o.inputMembers-1)
	if err != nil {
		return err
	}
	agentBase := o.relays[len(o.relays)-1]
	clients := make([]*websocket.Conn, len(people))
	var readers sync.WaitGroup
	defer func() {
		for _, ws := range clients {
			if ws != nil {
				ws.Close()
			}
		}
		readers.Wait()
	}()
	perRelay := make([]int, len(o.relays))
	for i, u := range people {
		ws, err := dialClient(ctx, o.relays[i%len(o.relays)], u.Session)
		if err != nil {
			return err
		}
		clients[i] = ws
		perRelay[i%len(o.relays)]++
		if err := syncClient(ws); err != nil {
			return err
		}
	}
	fo := &fanout{sent: map[string]time.Duration{}, got: map[string][]time.Duration{}, poke: make(chan struct{}, 1)}
	for _, ws := range clients {
		readers.Add(1)
		go func() { // the socket's reader, until the socket closes
			defer readers.Done()
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				at := time.Since(base)
				if f, err := protocol.DecodeFromRelay(data); err == nil {
					if r, ok := f.(*protocol.InputRequest); ok {
						fo.arrived(r.RequestID, at)
					}
				}
			}
		}()
	}
	aws, err := dialAgent(ctx, agentBase, agent.Token)
	if err != nil {
		return err
	}
	defer aws.Close()
	cmid := "lt-in-" + randomHex(4)
	if err := writeFrame(clients[0], &protocol.SendMessage{ConversationID: conv, Content: "Frag uns alle", ClientMessageID: cmid}); err != nil {
		return err
	}
	tf, err := readUntil(aws, 15*time.Second, func(f protocol.Frame) bool { return f.FrameType() == protocol.TypeTask })
	if err != nil {
		return fmt.Errorf("the group agent's task: %w", err)
	}
	task := tf.(*protocol.Task).TaskID
	var problems []string
	yes := true
	start := time.Now()
	frameBytes := 0
	rounds := 0
	for r := range o.inputRounds {
		if ctx.Err() != nil {
			break
		}
		id := fmt.Sprintf("%s-q%d", sd.run, r)
		req := &protocol.AgentInputRequest{TaskID: task, RequestID: id, Kind: protocol.InputApproval, Prompt: "Darf ich den Tisch für alle reservieren? (" + id + ")"}
		if b, err := protocol.Encode(req); err == nil {
			frameBytes = len(b)
		}
		fo.mu.Lock()
		fo.sent[id] = time.Since(base)
		fo.mu.Unlock()
		if err := writeFrame(aws, req); err != nil {
			return err
		}
		rounds++
		if n := fo.waitAll(ctx, id, len(people), 15*time.Second); n < len(people) && len(problems) < 10 {
			problems = append(problems, fmt.Sprintf("request %s reached %d of %d sockets", id, n, len(people)))
		}
		if err := writeFrame(clients[r%len(clients)], &protocol.InputAnswer{RequestID: id, Approved: &yes}); err != nil {
			return err
		}
		if _, err := readUntil(aws, 15*time.Second, func(f protocol.Frame) bool {
			ir, ok := f.(*protocol.InputResponse)
			return ok && ir.RequestID == id
		}); err != nil {
			return fmt.Errorf("the answer to %s: %w", id, err)
		}
	}
	elapsed := time.Since(start)
	_ = writeFrame(aws, &protocol.AgentComplete{TaskID: task})

	fo.mu.Lock()
	var lat []time.Duration
	for id, t0 := range fo.sent {
		for _, at := range fo.got[id] {
			lat = append(lat, at-t0)
		}
	}
	fo.mu.Unlock()
	fig := distOf(lat)
	peak := time.Duration(-1)
	for _, l := range lat {
		peak = max(peak, l)
	}
	where := ""
	for i, n := range perRelay {
		if i > 0 {
			where += ", "
		}
		where += fmt.Sprintf("%d on relay %d", n, i+1)
	}
	fmt.Printf("input request fan-out, a group of %d members (%d people: %s; the agent on relay %d), %d requests one after another: %d of %d arrived; agent_input_request → input_request %s, max %s (aim p99 ≤ 50 ms)\n",
		o.inputMembers, len(people), where, len(o.relays), rounds, len(lat), rounds*len(people), fig, us(peak))
	if len(problems) == 0 && len(lat) < rounds*len(people) {
		problems = append(problems, fmt.Sprintf("%d input_request frames missing", rounds*len(people)-len(lat)))
	}
	// The floors at the same number of sockets, paced as the requests came.
	interval := elapsed / time.Duration(max(rounds, 1))
	ws, rd, err := floors(ctx, o, shape{pairs: len(people), interval: interval, size: max(frameBytes, stampBytes+1), duration: o.floorDuration})
	if err != nil {
		return err
	}
	printFloors(fig, ws, rd, len(o.relays) > 1)
	for _, p := range problems {
		fmt.Println("  problem:", p)
	}
	return nil
}

// killClient is one person's socket in the kill run, read by its own goroutine.
type killClient struct {
	ws       *websocket.Conn
	request  chan string // the requestId of the reply's input_request
	resolved chan string // the state of its input_resolved
	ended    chan string // the reply's stream_end status
}

func (c *killClient) read() {
	var reply, asked string
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue
		}
		switch f := f.(type) {
		case *protocol.InputRequest:
			if asked == "" {
				asked, reply = f.RequestID, f.MessageID
				c.request <- f.RequestID
			}
		case *protocol.Event:
			if f.Type == protocol.TypeInputResolved && asked != "" {
				var d protocol.InputResolvedData
				if json.Unmarshal(f.Data, &d) == nil && d.RequestID == asked {
					select {
					case c.resolved <- d.State:
					default:
					}
				}
			}
		case *protocol.StreamEnd:
			if reply != "" && f.MessageID == reply {
				select {
				case c.ended <- f.Status:
				default:
				}
			}
		}
	}
}

// killAgent is the agent's side of the kill run: it asks on every task,
// completes a task when its answer comes, and counts every answer frame.
type killAgent struct {
	token, survivor  string
	killed           atomic.Bool
	mu               sync.Mutex
	cur              *websocket.Conn   // the socket now, closed when the run stops
	requests         map[string]string // requestId → taskId
	answers          map[string]int    // requestId → input_response frames received
	before, after    int               // answer frames on the first socket, and after reconnecting
	completed        []string          // tasks completed, sent again on a new socket (repeats are dropped)
	reconnectedAfter time.Duration
	distinct         chan struct{} // one per request's first answer
	relayErrors      []string      // the first error frames the agent got
	err              error
}

func (a *killAgent) use(ws *websocket.Conn) {
	a.mu.Lock()
	a.cur = ws
	a.mu.Unlock()
}

func (a *killAgent) run(ctx context.Context, ws *websocket.Conn) {
	a.use(ws)
	stopped := make(chan struct{})
	defer close(stopped)
	go func() { // unblocks the read when the run stops
		select {
		case <-ctx.Done():
			a.mu.Lock()
			a.cur.Close()
			a.mu.Unlock()
		case <-stopped:
		}
	}()
	var killedAt time.Time
	for ctx.Err() == nil {
		_, data, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			if ctx.Err() != nil || !a.killed.Load() {
				if ctx.Err() == nil {
					a.err = fmt.Errorf("agent socket: %w", err)
				}
				return
			}
			if killedAt.IsZero() {
				killedAt = time.Now()
			}
			// The instance holding the socket is gone: back on the survivor.
			for ws = nil; ws == nil && ctx.Err() == nil; {
				if ws, err = dialAgent(ctx, a.survivor, a.token); err != nil {
					if time.Since(killedAt) > 30*time.Second {
						a.err = fmt.Errorf("agent reconnect: %w", err)
						return
					}
					time.Sleep(50 * time.Millisecond) // a reconnect backoff, not synchronisation
				}
			}
			if ws == nil {
				return
			}
			a.use(ws)
			if ctx.Err() != nil {
				ws.Close()
				return
			}
			a.mu.Lock()
			a.reconnectedAfter = time.Since(killedAt)
			completed := append([]string(nil), a.completed...)
			a.mu.Unlock()
			for _, id := range completed {
				_ = writeFrame(ws, &protocol.AgentComplete{TaskID: id})
			}
			continue
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue
		}
		switch f := f.(type) {
		case *protocol.Task:
			id := fmt.Sprintf("k-%s", randomHex(12))
			a.mu.Lock()
			a.requests[id] = f.TaskID
			a.mu.Unlock()
			_ = writeFrame(ws, &protocol.AgentInputRequest{TaskID: f.TaskID, RequestID: id, Kind: protocol.InputApproval, Prompt: "Darf ich? (" + id + ")"})
		case *protocol.ErrorFrame:
			a.mu.Lock()
			if len(a.relayErrors) < 5 {
				a.relayErrors = append(a.relayErrors, fmt.Sprintf("%s %s (ref %s)", f.Code, f.Message, f.Ref))
			}
			a.mu.Unlock()
		case *protocol.InputResponse:
			a.mu.Lock()
			task, mine := a.requests[f.RequestID]
			a.answers[f.RequestID]++
			first := a.answers[f.RequestID] == 1
			if killedAt.IsZero() {
				a.before++
			} else {
				a.after++
			}
			if first && mine {
				a.completed = append(a.completed, task)
			}
			a.mu.Unlock()
			if first && mine {
				_ = writeFrame(ws, &protocol.AgentComplete{TaskID: task})
				a.distinct <- struct{}{}
			}
		}
	}
	ws.Close()
}

func inputsKillRun(ctx context.Context, o options, sd *seeder) error {
	pairs, err := sd.pairs(ctx, o.killRequests, 1)
	if err != nil {
		return err
	}
	survivor, doomed := o.relays[0], o.relays[1]
	n := len(pairs)
	clients := make([]*killClient, n)
	var readers sync.WaitGroup
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.ws.Close()
			}
		}
		readers.Wait()
	}()
	for i, p := range pairs {
		ws, err := dialClient(ctx, survivor, p.User.Session)
		if err != nil {
			return err
		}
		c := &killClient{ws: ws, request: make(chan string, 1), resolved: make(chan string, 1), ended: make(chan string, 1)}
		clients[i] = c
		if err := syncClient(ws); err != nil {
			return err
		}
		readers.Add(1)
		go func() { defer readers.Done(); c.read() }()
	}
	actx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	ag := &killAgent{token: pairs[0].Agent.Token, survivor: survivor, requests: map[string]string{},
		answers: map[string]int{}, distinct: make(chan struct{}, n)}
	aws, err := dialAgent(ctx, doomed, ag.token)
	if err != nil {
		return err
	}
	agentDone := make(chan struct{})
	go func() { defer close(agentDone); ag.run(actx, aws) }()
	defer func() { stopAgent(); <-agentDone }()

	// Every reply asks, and every person sees the request: all stored.
	for i, p := range pairs {
		if err := writeFrame(clients[i].ws, &protocol.SendMessage{ConversationID: p.Conv, Content: "Frag mich", ClientMessageID: "lt-k-" + randomHex(6)}); err != nil {
			return err
		}
	}
	requests := make([]string, n)
	for i, c := range clients {
		select {
		case requests[i] = <-c.request:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("inputs-kill: conversation %d got no input_request within 30 s", i)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The answers, one after another; the agent's instance dies halfway.
	yes := true
	pace := o.killWindow / time.Duration(n)
	for i, c := range clients {
		if i == n/2 {
			ag.killed.Store(true)
			if err := syscall.Kill(o.killPID, syscall.SIGKILL); err != nil {
				return fmt.Errorf("kill relay %d: %w", o.killPID, err)
			}
		}
		if err := writeFrame(c.ws, &protocol.InputAnswer{RequestID: requests[i], Approved: &yes}); err != nil {
			return err
		}
		select {
		case <-time.After(pace):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var problems []string
	note := func(format string, args ...any) {
		if len(problems) < 10 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	// One bound for all the waits below, not one per conversation: a context,
	// whose Done stays closed once it fires, so every wait after it ends too.
	wctx, stopWaits := context.WithTimeout(ctx, 60*time.Second)
	defer stopWaits()
	w := collectKill(wctx.Done(), clients, ag.distinct, agentDone)
	for _, i := range w.unresolved {
		note("request %s: no input_resolved within 60 s", requests[i])
	}
	answered, complete, endedOther, notEnded := w.answered, w.complete, w.endedOther, w.notEnded
	stopAgent()
	<-agentDone
	if ag.err != nil && !errors.Is(ag.err, context.Canceled) {
		note("%v", ag.err)
	}
	for _, e := range ag.relayErrors {
		note("the agent got error %s", e)
	}
	ag.mu.Lock()
	twice := 0
	for _, k := range ag.answers {
		twice += max(k-1, 0)
	}
	fmt.Printf("input answers across a SIGKILL of the agent's relay: %d replies waiting, %d answered (%d before the kill, %d after, over %s); the agent got %d distinct answers (%d frames on the killed relay's socket, %d after reconnecting %s later to the survivor): lost %d, delivered twice %d; replies complete %d of %d (ended otherwise %d, not ended within 60 s %d)\n",
		n, answered, n/2, n-n/2, o.killWindow, len(ag.answers), ag.before, ag.after, ag.reconnectedAfter.Round(time.Millisecond),
		answered-len(ag.answers), twice, complete, n, endedOther, notEnded)
	ag.mu.Unlock()
	for _, p := range problems {
		fmt.Println("  problem:", p)
	}
	return nil
}

// killWaits is what the kill run saw after its answers.
type killWaits struct {
	answered, distinct             int
	complete, endedOther, notEnded int
	unresolved                     []int // clients with no input_resolved
}

// collectKill gathers each client's input_resolved, the agent's distinct
// answers and each reply's end until done closes. Replies that do not
// complete are counted, not reported as problems: what the run checks is the
// answers; see the README for why, at a fast pace, a reply can miss its end.
func collectKill(done <-chan struct{}, clients []*killClient, distinct <-chan struct{}, agentDone <-chan struct{}) killWaits {
	var w killWaits
	// Each wait takes what has already come before looking at done: once done
	// is closed a select would otherwise pick between them at random.
	for i, c := range clients {
		st, ok := recvBy(c.resolved, done, nil)
		switch {
		case !ok:
			w.unresolved = append(w.unresolved, i)
		case st == "answered":
			w.answered++
		}
	}
	for w.distinct < w.answered {
		if _, ok := recvBy(distinct, done, agentDone); !ok {
			break
		}
		w.distinct++
	}
	for _, c := range clients {
		st, ok := recvBy(c.ended, done, nil)
		switch {
		case !ok:
			w.notEnded++
		case st == protocol.StatusComplete:
			w.complete++
		default:
			w.endedOther++
		}
	}
	return w
}

// recvBy receives from ch, preferring a value already there, unless stop or
// other (nil: never) closes first; ok reports whether a value came.
func recvBy[T any](ch <-chan T, stop, other <-chan struct{}) (v T, ok bool) {
	select {
	case v = <-ch:
		return v, true
	default:
	}
	select {
	case v = <-ch:
		return v, true
	case <-stop:
	case <-other:
	}
	return v, false
}
