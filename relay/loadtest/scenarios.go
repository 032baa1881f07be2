package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// floors measures the floors of one shape, the ws forward first.
func floors(ctx context.Context, o options, sh shape) (ws, rd *sample, err error) {
	if ws, err = wsFloor(ctx, sh); err != nil {
		return nil, nil, err
	}
	if o.rdb != nil && sh.interval > 0 {
		if rd, err = redisFloor(ctx, o.rdb, o.keys, o.run, sh); err != nil {
			return nil, nil, err
		}
	}
	return ws, rd, nil
}

// printFloors prints the floors' line under a figure, with the figure's
// ratio to the floor of the hops it crosses: the ws forward on one
// instance, the ws forward plus Redis pub→sub across two.
func printFloors(fig dist, ws, rd *sample, cross bool) {
	wd := distOf(ws.lat)
	line := fmt.Sprintf("  floor ws forward: %s (%d of %d arrived)", wd, ws.got, ws.sent)
	floor, of := wd, "ws forward"
	if rd != nil {
		rdd := distOf(rd.lat)
		line += fmt.Sprintf("; redis pub→sub: %s (%d of %d arrived)", rdd, rd.got, rd.sent)
		if cross {
			floor, of = wd.plus(rdd), "ws forward + redis pub→sub"
		}
	} else {
		line += "; redis pub→sub: not measured (no REDIS_URL)"
	}
	fmt.Println(line)
	fmt.Printf("  relay ÷ %s (p50/p99/p99.9): %s\n", of, fig.ratio(floor))
}

func latencyRun(ctx context.Context, o options, sd *seeder, log *slog.Logger, label, clientBase, agentBase string, cross bool) error {
	pairs, err := sd.pairs(ctx, o.conversations, o.agents)
	if err != nil {
		return err
	}
	interval := time.Duration(float64(time.Second) * float64(o.conversations) / float64(o.latencyRate))
	ws, rd, err := floors(ctx, o, shape{pairs: o.conversations, interval: interval, size: o.chunkBytes, duration: o.floorDuration})
	if err != nil {
		return err
	}
	tr := &traffic{clientBase: clientBase, agentBase: agentBase, pairs: pairs, duration: o.duration,
		chunkBytes: o.chunkBytes, perReply: o.chunksPerReply, interval: interval, log: log}
	cpu := startCPU(ctx, o.relayPID, o.rdb)
	if err := tr.run(ctx); err != nil {
		return err
	}
	fig := distOf(tr.latencies)
	fmt.Printf("latency %s, %d chunks/s offered: %d chunks, %s; replies %d (complete %d, text equal %d), lost %d\n",
		label, o.latencyRate, len(tr.latencies), fig, tr.replies, tr.complete, tr.equal, tr.sent.Load()-tr.delivered.Load())
	tr.printPhases()
	if !cross {
		fmt.Printf("  server CPU per chunk: %s\n", cpu.perChunk(ctx, tr.delivered.Load()))
	}
	printFloors(fig, ws, rd, cross)
	tr.report()
	return nil
}

// mixRun is the realistic mix: many replies streaming at once on one
// instance, each paced like a model's output, one client socket and one
// conversation per reply, their agents sharing a few sockets.
func mixRun(ctx context.Context, o options, sd *seeder, log *slog.Logger) error {
	pairs, err := sd.pairs(ctx, o.mixReplies, o.mixAgents)
	if err != nil {
		return err
	}
	interval := time.Second / time.Duration(o.mixRate)
	ws, rd, err := floors(ctx, o, shape{pairs: o.mixReplies, interval: interval, size: o.chunkBytes, duration: o.floorDuration})
	if err != nil {
		return err
	}
	tr := &traffic{clientBase: o.relays[0], agentBase: o.relays[0], pairs: pairs, duration: o.duration,
		chunkBytes: o.chunkBytes, perReply: o.chunksPerReply, interval: interval, staggered: true, log: log}
	cpu := startCPU(ctx, o.relayPID, o.rdb)
	if err := tr.run(ctx); err != nil {
		return err
	}
	fig := distOf(tr.latencies)
	fmt.Printf("realistic mix one instance, %d replies × %d chunks/s (%d chunks/s offered, %d agents): %d chunks, %s; peak %d streaming at once; replies %d (complete %d, text equal %d), lost %d\n",
		o.mixReplies, o.mixRate, o.mixReplies*o.mixRate, min(o.mixAgents, o.mixReplies), len(tr.latencies), fig, tr.peak.Load(),
		tr.replies, tr.complete, tr.equal, tr.sent.Load()-tr.delivered.Load())
	tr.printPhases()
	fmt.Printf("  server CPU per chunk: %s\n", cpu.perChunk(ctx, tr.delivered.Load()))
	printFloors(fig, ws, rd, false)
	tr.report()
	return nil
}

func throughputRun(ctx context.Context, o options, sd *seeder, log *slog.Logger) error {
	pairs, err := sd.pairs(ctx, o.conversations, o.agents)
	if err != nil {
		return err
	}
	ws, err := wsFloor(ctx, shape{pairs: o.conversations, size: o.chunkBytes, duration: o.floorDuration})
	if err != nil {
		return err
	}
	tr := &traffic{clientBase: o.relays[0], agentBase: o.relays[0], pairs: pairs, duration: o.duration,
		chunkBytes: o.chunkBytes, perReply: o.chunksPerReply, log: log}
	cpu := startCPU(ctx, o.relayPID, o.rdb)
	if err := tr.run(ctx); err != nil {
		return err
	}
	elapsed := tr.last.Sub(tr.first)
	sent, delivered := tr.sent.Load(), tr.delivered.Load()
	rate := float64(delivered) / elapsed.Seconds()
	fig := distOf(tr.latencies)
	fmt.Printf("throughput one instance, agents flat out: %d chunks in %.1fs = %.0f chunks/s (%.1f MB/s of text); sent %d, delivered %d, lost %d; replies %d (complete %d, text equal %d); under load %s\n",
		delivered, elapsed.Seconds(), rate, rate*float64(o.chunkBytes)/1e6, sent, delivered, sent-delivered,
		tr.replies, tr.complete, tr.equal, fig)
	fmt.Printf("  server CPU per chunk: %s\n", cpu.perChunk(ctx, delivered))
	fmt.Printf("  floor ws forward flat out, %d pairs: %.0f messages/s (%d of %d arrived); relay ÷ floor: %.2f of its rate\n",
		o.conversations, ws.rate(), ws.got, ws.sent, rate/max(ws.rate(), 1))
	tr.report()
	return nil
}
