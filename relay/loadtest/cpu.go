package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/procstat"
	"github.com/redis/go-redis/v9"
)

// Server CPU per chunk: the relay process's user+system time from
// /proc/<pid>/stat and Redis's used_cpu_user+used_cpu_sys from INFO cpu,
// read before and after a scenario.

func redisCPU(ctx context.Context, rdb redis.UniversalClient) (time.Duration, error) {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			n, _ := strconv.ParseFloat(v, 64)
			total += n
		}
	}
	return time.Duration(total * float64(time.Second)), nil
}

// cpuMeter reads what it can at start and reports per chunk at the end.
type cpuMeter struct {
	pid          int
	rdb          redis.UniversalClient
	relay, redis time.Duration
	okRelay      bool
	okRedis      bool
}

func startCPU(ctx context.Context, pid int, rdb redis.UniversalClient) *cpuMeter {
	m := &cpuMeter{pid: pid, rdb: rdb}
	if pid > 0 {
		var err error
		m.relay, err = procstat.CPU(pid)
		m.okRelay = err == nil
	}
	if rdb != nil {
		var err error
		m.redis, err = redisCPU(ctx, rdb)
		m.okRedis = err == nil
	}
	return m
}

// perChunk prints "relay 95 µs, Redis 30 µs" of CPU per chunk delivered.
func (m *cpuMeter) perChunk(ctx context.Context, chunks int64) string {
	if chunks <= 0 {
		return "no chunks"
	}
	var parts []string
	if m.okRelay {
		if now, err := procstat.CPU(m.pid); err == nil {
			parts = append(parts, fmt.Sprintf("relay %d µs", (now-m.relay).Microseconds()/chunks))
		}
	}
	if m.okRedis {
		if now, err := redisCPU(ctx, m.rdb); err == nil {
			parts = append(parts, fmt.Sprintf("Redis %d µs", (now-m.redis).Microseconds()/chunks))
		}
	}
	if len(parts) == 0 {
		return "not measured (give -relay-pid, -redis)"
	}
	return strings.Join(parts, ", ")
}
