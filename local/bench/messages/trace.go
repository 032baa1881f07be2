package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recorder is a pgx tracer that, between start and stop, keeps every query
// the handler sends, with its arguments, so they can be EXPLAINed exactly;
// and always times each statement's round trip, by statement, so the
// figures can say where a request's time goes.
type recorder struct {
	mu      sync.Mutex
	on      bool
	queries []traced
	took    map[string][]time.Duration
}

type traced struct {
	sql  string
	args []any
}

type startedKey struct{}

type started struct {
	sql string
	at  time.Time
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.queries = append(r.queries, traced{d.SQL, slices.Clone(d.Args)})
	}
	return context.WithValue(ctx, startedKey{}, started{d.SQL, time.Now()})
}

func (r *recorder) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	s, ok := ctx.Value(startedKey{}).(started)
	if !ok {
		return
	}
	took := time.Since(s.at)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.took == nil {
		r.took = map[string][]time.Duration{}
	}
	r.took[s.sql] = append(r.took[s.sql], took)
}

// statements returns, and forgets, the round trips timed since the last
// call: each statement's p50 by a short name.
func (r *recorder) statements() map[string]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]time.Duration{}
	byName := map[string][]time.Duration{}
	for sql, d := range r.took {
		byName[statementName(sql)] = append(byName[statementName(sql)], d...)
	}
	for name, d := range byName {
		slices.Sort(d)
		out[name] = pct(d, 50)
	}
	r.took = nil
	return out
}

// statementName shortens a statement to what tells it apart here.
func statementName(sql string) string {
	f := strings.Fields(sql)
	switch {
	case len(f) > 1 && f[0] == "explain":
		return "estimate"
	case strings.Contains(sql, `from "session"`):
		return "session"
	case strings.Contains(sql, "ts_headline") && strings.Contains(sql, "messages_scoped_query"):
		return "search scoped"
	case strings.Contains(sql, "ts_headline"):
		return "search history"
	case strings.Contains(sql, "order by m.seq"):
		return "page"
	case strings.Contains(sql, "reltuples"):
		return "scale"
	case strings.Contains(sql, "select role from conversation_members"):
		return "member check"
	}
	return strings.Join(f[:min(len(f), 4)], " ")
}

func (r *recorder) start() {
	r.mu.Lock()
	r.on, r.queries = true, nil
	r.mu.Unlock()
}

func (r *recorder) stop() []traced {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.queries
}

func explain(ctx context.Context, pool *pgxpool.Pool, q traced) error {
	sql := strings.Join(strings.Fields(q.sql), " ")
	fmt.Printf("\n-- %s\n", sql)
	if strings.HasPrefix(sql, "explain") {
		fmt.Println("(the search's own planner estimate: plans only, reads no rows)")
		return nil
	}
	if len(q.args) > 0 {
		fmt.Printf("-- args: %s\n", showArgs(q.args))
	}
	rows, err := pool.Query(ctx, "explain (analyze, buffers) "+q.sql, q.args...)
	if err != nil {
		return err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(lines, "\n"))
	return nil
}

func showArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		s := fmt.Sprintf("%v", a)
		switch v := a.(type) {
		case string:
			s = fmt.Sprintf("%q", v)
		case *string:
			if v != nil {
				s = fmt.Sprintf("%q", *v)
			}
		}
		if len(s) > 60 {
			s = s[:60] + "…"
		}
		parts[i] = fmt.Sprintf("$%d=%s", i+1, s)
	}
	return strings.Join(parts, " ")
}
