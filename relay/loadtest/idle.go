package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// idleRun opens o.idleSockets authenticated client sockets (one user each)
// to the first relay, lets them sit, and reports the relay process's RSS
// growth per socket.
func idleRun(ctx context.Context, o options, sd *seeder) error {
	users, err := sd.users(ctx, o.idleSockets)
	if err != nil {
		return err
	}
	before, err := rssKiB(o.relayPID)
	if err != nil {
		return err
	}
	socks := make([]*websocket.Conn, len(users))
	readers := sync.WaitGroup{}
	defer func() {
		for _, ws := range socks {
			if ws != nil {
				msg := websocket.FormatCloseMessage(protocol.CloseNormal, "normal")
				_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
				ws.Close()
			}
		}
		readers.Wait()
	}()
	// Dial with bounded parallelism: a burst of 5,000 handshakes would
	// measure the accept backlog, not the relay.
	const workers = 32
	next := make(chan int)
	errs := make(chan error, workers)
	var dialers sync.WaitGroup
	for range workers {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			for i := range next {
				ws, err := dialClient(ctx, o.relays[0], users[i].Session)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				socks[i] = ws
				readers.Add(1)
				go func() { // answers the relay's pings until the socket closes
					defer readers.Done()
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	started := time.Now()
	for i := range users {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	dialers.Wait()
	open := 0
	for _, ws := range socks {
		if ws != nil {
			open++
		}
	}
	dialTime := time.Since(started)
	select {
	case err := <-errs:
		fmt.Printf("  problem: %d of %d sockets failed, first: %v\n", len(users)-open, len(users), err)
	default:
	}
	time.Sleep(3 * time.Second) // let the relay's per-socket work (presence, subscriptions) settle
	after, err := rssKiB(o.relayPID)
	if err != nil {
		return err
	}
	per := float64(after-before) / float64(max(open, 1))
	fmt.Printf("idle sockets: %d authenticated (dialled in %.1fs); relay RSS %d KiB → %d KiB = %.1f KiB per socket\n",
		open, dialTime.Seconds(), before, after, per)
	if o.idleHold > 0 {
		select {
		case <-time.After(o.idleHold):
		case <-ctx.Done():
		}
	}
	return nil
}

// rssKiB reads VmRSS of a process.
func rssKiB(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
