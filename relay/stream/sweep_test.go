package stream

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// roundTrips counts how a client sends the commands named in match: alone
// or in pipelines (the rest, such as a new connection's handshake, is not
// counted).
type roundTrips struct {
	match                    map[string]bool
	single, pipelines, piped atomic.Int64
}

func (*roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if c.match[cmd.Name()] {
			c.single.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n := 0
		for _, cmd := range cmds {
			if c.match[cmd.Name()] {
				n++
			}
		}
		if n > 0 {
			c.pipelines.Add(1)
			c.piped.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

// A sweep reads every mark and every streaming reply's silence fields in
// pipelines of sweepBatch commands, not one round trip each, and decides
// from them as the one-by-one reads did.
func TestSweepReadsInPipelines(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	e := New(Deps{Redis: rdb, Keys: keys, Log: slog.Default(), InstanceID: "i1",
		IdleTimeout: 30 * time.Second, FirstChunkTimeout: 60 * time.Second})
	now := time.Now()
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(-d).UnixMilli(), 10) }

	// 700 conversations, every other one with an active mark; 700 streaming
	// replies in four states: 1,400 reads, three pipelines.
	const n = 700
	var marks, replies []string
	for i := range n {
		conv := fmt.Sprintf("c%04d", i)
		marks = append(marks, keys.ConvActive(conv))
		id := fmt.Sprintf("m%04d", i)
		replies = append(replies, id)
		if i%2 == 0 {
			if err := rdb.Set(ctx, keys.ConvActive(conv), id, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var fields []any
		switch i % 4 {
		case 0: // streaming, silent past the idle timeout
			fields = []any{"dispatched", ms(2 * time.Minute), "last", ms(31 * time.Second), "first", "1"}
		case 1: // streaming, heard from just now
			fields = []any{"dispatched", ms(2 * time.Minute), "last", ms(time.Second), "first", "1"}
		case 2: // no chunk yet, dispatched past the first-chunk timeout
			fields = []any{"dispatched", ms(61 * time.Second), "last", ms(61 * time.Second), "first", "0"}
		case 3: // no meta at all (expired): nothing to decide from
		}
		if fields != nil {
			if err := rdb.HSet(ctx, keys.StreamMeta(id), fields...).Err(); err != nil {
				t.Fatal(err)
			}
			rdb.Expire(ctx, keys.StreamMeta(id), time.Minute)
		}
	}
	t.Cleanup(func() {
		for i := range n {
			rdb.Del(context.Background(), marks[i], keys.StreamMeta(replies[i]))
		}
	})

	count := roundTrips{match: map[string]bool{"get": true, "hmget": true}}
	rdb.AddHook(&count)
	read := e.readForSweep(ctx, append(marks, marks[0]), replies) // a mark named twice is read once
	if s, p, c := count.single.Load(), count.pipelines.Load(), count.piped.Load(); s != 0 || c != 2*n || p != (2*n+sweepBatch-1)/sweepBatch {
		t.Fatalf("reads: %d single commands, %d pipelines of %d commands; want 0, %d, %d", s, p, c, (2*n+sweepBatch-1)/sweepBatch, 2*n)
	}

	for i := range n {
		active, err := read.active(marks[i])
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: replies[i], false: ""}[i%2 == 0]; active != want {
			t.Fatalf("mark %d: %q, want %q", i, active, want)
		}
		end, err := e.silence(read, replies[i])
		if err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0, 2:
			if end == nil || end.Code != protocol.StreamErrAgentTimeout || end.CancelReason != protocol.CancelTimeout {
				t.Fatalf("reply %d (case %d): end %+v, want agent_timeout", i, i%4, end)
			}
		default:
			if end != nil {
				t.Fatalf("reply %d (case %d): end %+v, want none", i, i%4, end)
			}
		}
	}
	if _, err := read.active(keys.ConvActive("never-read")); err == nil {
		t.Fatal("a mark the sweep did not read answered")
	}
	if _, err := e.silence(read, "never-read"); err == nil {
		t.Fatal("a reply the sweep did not read answered")
	}
}

// One failed read fails only its own decision: a closed client's pipeline
// errors reach each command.
func TestSweepReadErrorsStayOnTheirCommands(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	e := New(Deps{Redis: rdb, Keys: keys, Log: slog.Default(), InstanceID: "i1", IdleTimeout: time.Second, FirstChunkTimeout: time.Second})
	_ = rdb.Close()
	read := e.readForSweep(context.Background(), []string{keys.ConvActive("c1")}, []string{"m1"})
	if _, err := read.active(keys.ConvActive("c1")); err == nil {
		t.Fatal("a failed mark read answered")
	}
	if _, err := e.silence(read, "m1"); err == nil {
		t.Fatal("a failed meta read answered")
	}
}
