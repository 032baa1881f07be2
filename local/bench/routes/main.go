// Command routes measures what running servers serve per second on the hot
// routes: a history page and the conversation list from the function shim
// (HTTP), and a sent message from the relay (the client socket's
// send_message → message_ack, which is where a message is sent). It seeds
// its own users, sessions and conversations through DATABASE_URL (deleted
// at the end), then runs each route for -duration with -concurrency
// closed-loop workers and prints requests/s, latency percentiles, errors,
// the servers' CPU per request (with -pids) and the most Postgres
// connections the servers held meanwhile.
//
//	go run ./local/bench/routes -shim http://127.0.0.1:3501 -relay ws://127.0.0.1:3502 -pids $SHIM,$RELAY
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ari-chat/ari-server/shared/procstat"
)

type options struct {
	databaseURL string
	shim, relay string
	routes      []string
	concurrency []int
	duration    time.Duration
	users       int
	perUser     int
	messages    int
	pids        []int
	keep        bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "routes:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("routes", flag.ContinueOnError)
	var o options
	var routes, conc, pids string
	fs.StringVar(&o.databaseURL, "db", os.Getenv("DATABASE_URL"), "Postgres URL of the servers' database (default $DATABASE_URL)")
	fs.StringVar(&o.shim, "shim", "http://127.0.0.1:3501", "base URL of the function shim")
	fs.StringVar(&o.relay, "relay", "ws://127.0.0.1:3502", "base URL of a relay (for send)")
	fs.StringVar(&routes, "run", "page,list,send", "routes to measure: page, list, send")
	fs.StringVar(&conc, "concurrency", "1,8,32", "closed-loop workers; each level is a separate run")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each run")
	fs.IntVar(&o.users, "users", 200, "seeded users (each worker acts as one)")
	fs.IntVar(&o.perUser, "conversations", 5, "conversations each user owns (each is in about twice as many)")
	fs.IntVar(&o.messages, "messages", 200, "messages already in each conversation")
	fs.StringVar(&pids, "pids", "", "comma-separated process ids of the shim and relay, for CPU per request (/proc/<pid>/stat)")
	fs.BoolVar(&o.keep, "keep", false, "keep the seeded rows")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, r := range strings.Split(routes, ",") {
		switch r = strings.TrimSpace(r); r {
		case "page", "list", "send":
			o.routes = append(o.routes, r)
		case "":
		default:
			return o, fmt.Errorf("-run: unknown route %q (page, list, send)", r)
		}
	}
	for _, c := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return o, fmt.Errorf("-concurrency: %q is not a positive number", c)
		}
		o.concurrency = append(o.concurrency, n)
	}
	if pids != "" {
		for _, p := range strings.Split(pids, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n < 1 {
				return o, fmt.Errorf("-pids: %q is not a process id", p)
			}
			o.pids = append(o.pids, n)
		}
	}
	switch {
	case o.databaseURL == "":
		return o, errors.New("-db or DATABASE_URL is required (the tool seeds its own users)")
	case o.perUser < 1 || o.messages < 1 || o.users <= o.perUser:
		return o, errors.New("-conversations and -messages must be positive, -users above -conversations (partners are the next users)")
	case slices.Max(o.concurrency) > o.users:
		return o, errors.New("-concurrency above -users: each worker needs its own user")
	}
	return o, nil
}

func run(ctx context.Context, o options) error {
	sd, err := openSeeder(ctx, o.databaseURL)
	if err != nil {
		return err
	}
	defer sd.close()
	defer func() {
		if !o.keep {
			if err := sd.cleanup(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "routes: cleanup:", err)
			}
		}
	}()
	members, err := sd.seed(ctx, o.users, o.perUser, o.messages)
	if err != nil {
		return err
	}
	fmt.Printf("shim %s, relay %s; %d users, %d conversations each owned, %d messages each; %s per run; load average %s\n",
		o.shim, o.relay, o.users, o.perUser, o.messages, o.duration, procstat.LoadAvg())
	fmt.Printf("%-5s %5s %9s %8s %8s %8s %7s %10s %8s\n", "route", "conc", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "cpu ms/req", "pg conns")
	for _, route := range o.routes {
		for _, c := range o.concurrency {
			r, err := measure(ctx, o, sd, members, route, c)
			if err != nil {
				return fmt.Errorf("%s at %d: %w", route, c, err)
			}
			fmt.Printf("%-5s %5d %9.0f %8.3f %8.3f %8.3f %7d %10s %8d\n", route, c, r.rate, ms(r.p50), ms(r.p95), ms(r.p99), r.errors, r.cpu, r.conns)
			if r.firstError != "" {
				fmt.Printf("      first error: %s\n", r.firstError)
			}
		}
	}
	fmt.Printf("load average at the end %s\n", procstat.LoadAvg())
	return ctx.Err()
}

type result struct {
	rate          float64
	p50, p95, p99 time.Duration
	errors        int64
	firstError    string
	cpu           string
	conns         int
}

// worker does one request of its route and says how long it took.
type worker func(ctx context.Context) (time.Duration, error)

// measure runs one route at one concurrency: c workers, each its own user,
// back to back for the duration.
func measure(ctx context.Context, o options, sd *seeder, members []member, route string, c int) (result, error) {
	workers := make([]worker, c)
	var closers []func()
	defer func() {
		for _, f := range closers {
			f()
		}
	}()
	for i := range workers {
		m := members[i]
		rnd := rand.New(rand.NewPCG(uint64(i), 7))
		switch route {
		case "page":
			workers[i] = httpWorker(o.shim, m.Token, func() string {
				return "/api/conversations/" + m.Convs[rnd.IntN(len(m.Convs))] + "/messages?limit=50"
			})
		case "list":
			workers[i] = httpWorker(o.shim, m.Token, func() string { return "/api/conversations" })
		case "send":
			s, err := dialSender(ctx, o.relay, m.Token, m.Convs[0])
			if err != nil {
				return result{}, err
			}
			closers = append(closers, s.close)
			workers[i] = s.send
		}
	}
	cpu0 := cpuTime(o.pids)
	var peak atomic.Int64
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := sd.backends(sampleCtx); err == nil && int64(n) > peak.Load() {
				peak.Store(int64(n))
			}
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	var (
		mu       sync.Mutex
		took     []time.Duration
		errs     int64
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.duration)
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var bad int64
			var first string
			for time.Now().Before(deadline) && ctx.Err() == nil {
				d, err := w(ctx)
				if err != nil {
					bad++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			took = append(took, mine...)
			errs += bad
			if firstErr == "" {
				firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := cpuTime(o.pids)
	stopSampling()
	<-sampled
	if len(took) == 0 {
		return result{}, fmt.Errorf("no request succeeded: %s", firstErr)
	}
	slices.Sort(took)
	r := result{
		rate: float64(len(took)) / elapsed.Seconds(), p50: pct(took, 50), p95: pct(took, 95), p99: pct(took, 99),
		errors: errs, firstError: firstErr, cpu: "-", conns: int(peak.Load()),
	}
	if cpu0 >= 0 && cpu1 >= 0 {
		r.cpu = fmt.Sprintf("%.3f", (cpu1-cpu0).Seconds()*1000/float64(len(took)))
	}
	return r, ctx.Err()
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, (len(d)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// cpuTime is the user+system CPU the processes have used, or -1 without
// pids or /proc.
func cpuTime(pids []int) time.Duration {
	if len(pids) == 0 {
		return -1
	}
	var total time.Duration
	for _, pid := range pids {
		d, err := procstat.CPU(pid)
		if err != nil {
			return -1
		}
		total += d
	}
	return total
}
