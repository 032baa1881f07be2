// Command loadtest measures running relay instances from outside: it seeds
// its own users, sessions, agents and conversations (DATABASE_URL), connects
// clients (gorilla/websocket) and agents (relay/agentsdk) on loopback, and
// prints
//
//   - agent-chunk → client latency p50/p99/p99.9 on one instance (client and
//     agent on the first relay) and across two (client on the first, agent
//     on the second);
//   - the realistic mix: 1,000 replies streaming at once on the first relay,
//     20 chunks/s each, with the same latencies and lost chunks counted;
//   - the chunks/s one instance delivers when agents send as fast as they
//     can (every chunk is also buffered in Redis by the relay), with sent,
//     delivered and lost counts and a byte-for-byte check of every reply;
//   - RSS per idle authenticated client socket, from the relay process's
//     /proc/<pid>/status VmRSS before and after opening N sockets;
//   - with -run inputs: agent_input_request → input_request latency to every
//     member socket of a 100-member group spread over the relays; with
//     inputs-kill (and -kill-pid): answers to waiting replies counted across
//     a SIGKILL of the relay holding the agent's socket (inputs.go);
//   - with -run channels: community channels (channels.go), publish → subscribed socket latency
//     in a community of 1,000 and of 10,000 members, Redis commands per
//     message, and what a member's join, read mark, channel list and sync
//     cost at each size.
//
// Beside every figure it prints floors measured in the same run with the
// same shape (floor.go): a bare gorilla/websocket forward in this process
// and a Redis SPUBLISH → SSUBSCRIBE round trip (REDIS_URL, REDIS_CLUSTER,
// REDIS_PREFIX as the relays use them), and the figure's ratio to them, so
// figures from a busy machine stay comparable. With -relay-pid it prints
// the relay's and Redis's CPU per chunk of the one-instance scenarios.
//
// Every loop is bounded by -duration or a count; seeded rows are deleted at
// the end. The relays under test must be the only relays on that database:
// a relay with another REDIS_PREFIX finds their streaming replies in
// Postgres but not their active marks in its Redis namespace, and its
// sweeper ends them as interrupted. Example, with two relays on 3502 and 3503:
//
//	go run ./relay/loadtest -relays ws://127.0.0.1:3502,ws://127.0.0.1:3503 -relay-pid $FIRST
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/kv"
)

type options struct {
	databaseURL    string
	relays         []string
	scenarios      map[string]bool
	conversations  int
	agents         int
	duration       time.Duration
	chunkBytes     int
	chunksPerReply int
	latencyRate    int
	idleSockets    int
	relayPID       int
	idleHold       time.Duration
	keep           bool
	mixReplies     int
	mixRate        int
	mixAgents      int
	floorDuration  time.Duration
	redisURL       string
	redisCluster   bool
	inputMembers   int
	inputRounds    int
	killRequests   int
	killWindow     time.Duration
	killPID        int

	channelMembers     channelSizes
	channelSockets     int
	channelSubscribers int
	channelMessages    int
	channelRate        int
	channelOps         int

	rdb  redis.UniversalClient // nil without a Redis URL: no Redis floor
	keys kv.Keys
	run  string // the seeder's run id, which names the floor's channels
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
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var o options
	var relays, scenarios, sizes string
	fs.StringVar(&o.databaseURL, "db", os.Getenv("DATABASE_URL"), "Postgres URL of the relays' database (default $DATABASE_URL)")
	fs.StringVar(&relays, "relays", "ws://127.0.0.1:3502", "comma-separated relay base URLs; the second is used for the cross-instance run")
	fs.StringVar(&scenarios, "run", "latency,cross,throughput,idle,mix", "scenarios to run: latency, cross, throughput, idle, mix, inputs, inputs-kill (SIGKILLs the second relay), channels")
	fs.IntVar(&o.conversations, "clients", 20, "client sockets, one user and one conversation each")
	fs.IntVar(&o.agents, "agents", 4, "agent connections; conversations are spread over them")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each timed scenario")
	fs.IntVar(&o.chunkBytes, "chunk-bytes", 64, "bytes per agent chunk (at least 24)")
	fs.IntVar(&o.chunksPerReply, "chunks-per-reply", 200, "chunks in each reply")
	fs.IntVar(&o.latencyRate, "latency-rate", 2000, "chunks/s offered in total during the latency runs")
	fs.IntVar(&o.idleSockets, "idle-sockets", 5000, "idle authenticated client sockets for the memory run")
	fs.IntVar(&o.relayPID, "relay-pid", 0, "pid of the first relay's process, for the memory run")
	fs.DurationVar(&o.idleHold, "idle-hold", 0, "keep the idle sockets open this long after measuring (to profile the relay meanwhile)")
	fs.BoolVar(&o.keep, "keep", false, "keep the seeded rows")
	fs.IntVar(&o.mixReplies, "mix-replies", 1000, "replies streaming at once in the realistic mix (one client and conversation each)")
	fs.IntVar(&o.mixRate, "mix-rate", 20, "chunks/s of each reply in the realistic mix")
	fs.IntVar(&o.mixAgents, "mix-agents", 20, "agent connections the realistic mix's replies are spread over")
	fs.IntVar(&o.inputMembers, "input-members", 100, "members of the inputs run's group, the agent included (the product's limit is 100)")
	fs.IntVar(&o.inputRounds, "input-rounds", 50, "input requests the inputs run's agent asks, one after another")
	fs.IntVar(&o.killRequests, "kill-requests", 40, "replies waiting for an answer in the inputs-kill run")
	fs.DurationVar(&o.killWindow, "kill-window", 2*time.Second, "how long the inputs-kill run's answers take to arrive, one after another")
	fs.IntVar(&o.killPID, "kill-pid", 0, "pid of the second relay's process, which the inputs-kill run SIGKILLs")
	fs.DurationVar(&o.floorDuration, "floor-duration", 5*time.Second, "length of each floor measurement")
	fs.StringVar(&o.redisURL, "redis", os.Getenv("REDIS_URL"), "Redis URL for the pub→sub floor and Redis CPU (default $REDIS_URL; with REDIS_CLUSTER and REDIS_PREFIX as the relays have them)")
	fs.StringVar(&sizes, "channel-members", "1000,10000", "community sizes of the channels run, in order")
	fs.IntVar(&o.channelSockets, "channel-sockets", 500, "members with a client socket open in the channels run, spread over the relays")
	fs.IntVar(&o.channelSubscribers, "channel-subscribers", 50, "of those, sockets subscribed to the channel")
	fs.IntVar(&o.channelMessages, "channel-messages", 200, "messages sent into the channel at each size")
	fs.IntVar(&o.channelRate, "channel-rate", 20, "messages/s sent into the channel")
	fs.IntVar(&o.channelOps, "channel-ops", 200, "joins, read marks, channel lists and syncs timed at each size")
	o.redisCluster = os.Getenv("REDIS_CLUSTER") == "true"
	o.keys = kv.Keys{Prefix: os.Getenv("REDIS_PREFIX")}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, r := range strings.Split(relays, ",") {
		if r = strings.TrimRight(strings.TrimSpace(r), "/"); r != "" {
			o.relays = append(o.relays, r)
		}
	}
	var err error
	if o.channelMembers, err = parseSizes(sizes); err != nil {
		return o, err
	}
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(scenarios, ",") {
		o.scenarios[strings.TrimSpace(s)] = true
	}
	switch {
	case o.databaseURL == "":
		return o, errors.New("-db or DATABASE_URL is required (the tool seeds its own users and agents)")
	case len(o.relays) == 0:
		return o, errors.New("-relays is empty")
	case o.conversations < 1 || o.agents < 1 || o.chunksPerReply < 1:
		return o, errors.New("-clients, -agents and -chunks-per-reply must be positive")
	case o.mixReplies < 1 || o.mixRate < 1 || o.mixAgents < 1 || o.floorDuration <= 0:
		return o, errors.New("-mix-replies, -mix-rate, -mix-agents and -floor-duration must be positive")
	case o.chunkBytes < stampBytes+1 || o.chunkBytes*o.chunksPerReply > 256<<10:
		return o, fmt.Errorf("-chunk-bytes must be at least %d and a reply (chunk-bytes × chunks-per-reply) at most 256 KiB", stampBytes+1)
	case o.channelSockets < 1 || o.channelSubscribers < 1 || o.channelMessages < 1 || o.channelRate < 1 || o.channelOps < 1:
		return o, errors.New("-channel-sockets, -channel-subscribers, -channel-messages, -channel-rate and -channel-ops must be positive")
	case o.scenarios["idle"] && o.relayPID == 0:
		return o, errors.New("the idle run needs -relay-pid (the first relay's process id)")
	case o.inputMembers < 2 || o.inputRounds < 1 || o.killRequests < 2 || o.killWindow <= 0:
		return o, errors.New("-input-members must be at least 2, -kill-requests at least 2, -input-rounds and -kill-window positive")
	case o.scenarios["inputs-kill"] && (o.killPID == 0 || len(o.relays) < 2):
		return o, errors.New("the inputs-kill run needs two -relays and -kill-pid (the second relay's process id, which it SIGKILLs)")
	}
	if o.agents > o.conversations {
		o.agents = o.conversations
	}
	return o, nil
}

func run(ctx context.Context, o options) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sd, err := openSeeder(ctx, o.databaseURL)
	if err != nil {
		return err
	}
	defer sd.close()
	o.run = sd.run
	if o.redisURL != "" {
		if o.rdb, err = kv.Open(o.redisURL, o.redisCluster); err != nil {
			return err
		}
		defer o.rdb.Close()
	}
	defer func() {
		if !o.keep {
			if err := sd.cleanup(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: cleanup:", err)
			}
		}
	}()
	fmt.Printf("relays %v; %d clients, %d agents, %d-byte chunks, %d chunks per reply\n",
		o.relays, o.conversations, o.agents, o.chunkBytes, o.chunksPerReply)
	// Idle sockets first, while the relay's heap holds nothing from the
	// traffic runs that the sockets could reuse unseen.
	if o.scenarios["idle"] {
		if err := idleRun(ctx, o, sd); err != nil {
			return err
		}
	}
	if o.scenarios["latency"] {
		if err := latencyRun(ctx, o, sd, log, "one instance", o.relays[0], o.relays[0], false); err != nil {
			return err
		}
	}
	if o.scenarios["cross"] {
		if len(o.relays) < 2 {
			fmt.Println("cross-instance latency: skipped, give two -relays")
		} else if err := latencyRun(ctx, o, sd, log, "across instances (client on 1st, agent on 2nd)", o.relays[0], o.relays[1], true); err != nil {
			return err
		}
	}
	if o.scenarios["mix"] {
		if err := mixRun(ctx, o, sd, log); err != nil {
			return err
		}
	}
	if o.scenarios["throughput"] {
		if err := throughputRun(ctx, o, sd, log); err != nil {
			return err
		}
	}
	if o.scenarios["inputs"] {
		if err := inputsFanoutRun(ctx, o, sd); err != nil {
			return err
		}
	}
	if o.scenarios["channels"] {
		if _, err := channelsRun(ctx, o, sd); err != nil {
			return err
		}
	}
	// Last: it leaves only the first relay running.
	if o.scenarios["inputs-kill"] {
		if err := inputsKillRun(ctx, o, sd); err != nil {
			return err
		}
	}
	return nil
}
