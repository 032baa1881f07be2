// Command messages benchmarks the messages function against a real Postgres:
// it seeds a data set of the size asked for (once per database), then drives
// the real handler in-process (auth, store, JSON) and prints latency
// percentiles for each kind of history page and for search, followed by the
// EXPLAIN (ANALYZE, BUFFERS) of every query one request of each kind makes.
//
//	go run ./local/bench/messages -messages 10000
//	go run ./local/bench/messages -messages 1000000
//
// Each size gets its own database (ari_bench_<N> on the server of -admin)
// unless -db names one; a seeded database is reused, -reseed starts over.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		slog.Error("bench failed", "err", err)
		os.Exit(1)
	}
}

type options struct {
	admin, db          string
	messages, perConv  int
	iterations, warmup int
	searches           int
	reseed, explain    bool
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	fs.StringVar(&o.admin, "admin", envOr("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:55433/postgres?sslmode=disable"),
		"maintenance database URL of the server to create bench databases on")
	fs.StringVar(&o.db, "db", os.Getenv("BENCH_DATABASE_URL"), "database URL to use instead of ari_bench_<N> on -admin's server")
	fs.IntVar(&o.messages, "messages", 10000, "messages to seed")
	fs.IntVar(&o.perConv, "per-conversation", 500, "messages per conversation")
	fs.IntVar(&o.iterations, "iterations", 2000, "requests measured per kind")
	fs.IntVar(&o.warmup, "warmup", 200, "requests per kind before measuring")
	fs.IntVar(&o.searches, "searches", 500, "requests measured per kind of search")
	fs.BoolVar(&o.reseed, "reseed", false, "drop and re-create the bench database first")
	fs.BoolVar(&o.explain, "explain", true, "print EXPLAIN (ANALYZE, BUFFERS) of each query")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := newShape(o.messages, o.perConv)
	dbURL, err := prepareDatabase(ctx, o, s)
	if err != nil {
		return err
	}
	rec := &recorder{}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	ok, err := seeded(ctx, pool, s)
	if err != nil {
		return err
	}
	if !ok {
		if err := seed(ctx, pool, s); err != nil {
			return err
		}
	}
	db := &store.DB{Pool: pool}
	h := messages.New(messages.Deps{DB: db, Auth: &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")}})
	b := &bench{h: h, s: s, rnd: rand.New(rand.NewPCG(1, 2))}
	if b.words, err = vocabulary(ctx, pool); err != nil {
		return err
	}
	var total int64
	if err := pool.QueryRow(ctx, `select count(*) from messages`).Scan(&total); err != nil {
		return err
	}
	fmt.Printf("messages benchmark: %d messages in table, %d conversations of %d, %d users; %d page and %d search requests per kind after %d warm-up\n\n",
		total, s.Conversations, s.PerConv, s.Users, o.iterations, o.searches, o.warmup)
	fmt.Printf("%-16s %9s %9s %9s %9s\n", "request", "p50 ms", "p95 ms", "p99 ms", "max ms")
	kinds := b.kinds()
	for _, k := range kinds {
		for i := 0; i < o.warmup; i++ {
			if _, err := b.do(k.path()); err != nil {
				return err
			}
		}
		n := o.iterations
		if strings.HasPrefix(k.name, "search") {
			n = o.searches
		}
		d := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			took, err := b.do(k.path())
			if err != nil {
				return err
			}
			d = append(d, took)
		}
		slices.Sort(d)
		fmt.Printf("%-16s %9.3f %9.3f %9.3f %9.3f\n", k.name, ms(pct(d, 50)), ms(pct(d, 95)), ms(pct(d, 99)), ms(d[len(d)-1]))
	}
	if !o.explain {
		return nil
	}
	for _, k := range kinds {
		path := k.path()
		rec.start()
		if _, err := b.do(path); err != nil {
			return err
		}
		qs := rec.stop()
		fmt.Printf("\n=== %s: GET %s\n", k.name, path)
		for _, q := range qs {
			if err := explain(ctx, pool, q); err != nil {
				return err
			}
		}
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// prepareDatabase returns the URL of a migrated database for the shape,
// creating it when needed.
func prepareDatabase(ctx context.Context, o options, s shape) (string, error) {
	dbURL := o.db
	if dbURL == "" {
		u, err := url.Parse(o.admin)
		if err != nil {
			return "", err
		}
		name := fmt.Sprintf("ari_bench_%d", s.Messages)
		conn, err := pgx.Connect(ctx, o.admin)
		if err != nil {
			return "", err
		}
		defer conn.Close(ctx)
		if o.reseed {
			if _, err := conn.Exec(ctx, "drop database if exists "+name); err != nil {
				return "", err
			}
		}
		_, err = conn.Exec(ctx, "create database "+name)
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && pe.Code == "42P04") { // duplicate_database
			return "", err
		}
		u.Path = "/" + name
		dbURL = u.String()
	}
	if _, err := store.Migrate(ctx, dbURL); err != nil {
		return "", err
	}
	return dbURL, nil
}

func vocabulary(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `select w from bench_vocab order by i`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

type bench struct {
	h     http.Handler
	s     shape
	rnd   *rand.Rand
	words []string
}

type kind struct {
	name string
	path func() string
}

// user picks a bench user and one of their conversations: conversation g has
// user g mod U as its owner.
func (b *bench) user() (token, conv string) {
	g := b.rnd.IntN(b.s.Conversations)
	u := g % b.s.Users
	return "bench-token-bench-u-" + fmt.Sprint(u), fmt.Sprintf("bench-c-%d", g)
}

func (b *bench) seq() int64 { return 1 + b.rnd.Int64N(int64(b.s.PerConv)) }

// word picks a word the way messages use them: common words often (the most
// common is in about 60% of messages, like "the").
func (b *bench) word() string {
	x := b.rnd.Float64()
	return b.words[int(x*x*x*float64(len(b.words)))]
}

func (b *bench) kinds() []kind {
	page := func(name, q string) kind {
		return kind{name, func() string {
			tok, conv := b.user()
			path := "/api/conversations/" + conv + "/messages?limit=50"
			if q != "" {
				path += "&" + q + "=" + fmt.Sprint(b.seq())
			}
			return tok + " " + path
		}}
	}
	search := func(name string, q func() string) kind {
		return kind{name, func() string {
			tok, _ := b.user()
			return tok + " /api/messages/search?q=" + url.QueryEscape(q())
		}}
	}
	return []kind{
		page("page newest", ""), page("page before", "before"), page("page after", "after"), page("page around", "around"),
		search("search common", b.word),
		search("search word", func() string { return b.words[b.rnd.IntN(len(b.words))] }),
		search("search prefix", func() string { return b.words[b.rnd.IntN(len(b.words))][:4] }),
		search("search 2 words", func() string { return b.word() + " " + b.word() }),
		search("search rare", func() string { return b.words[len(b.words)-1-b.rnd.IntN(200)] }),
	}
}

// do serves one "token path" request through the handler and returns how
// long it took; anything but 200 is an error.
func (b *bench) do(tokenPath string) (time.Duration, error) {
	tok, path, _ := strings.Cut(tokenPath, " ")
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	start := time.Now()
	b.h.ServeHTTP(w, req)
	took := time.Since(start)
	if w.Code != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
	return took, nil
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, (len(d)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// recorder is a pgx tracer that, between start and stop, keeps every query
// the handler sends, with its arguments, so they can be EXPLAINed exactly.
type recorder struct {
	mu      sync.Mutex
	on      bool
	queries []traced
}

type traced struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.on {
		r.queries = append(r.queries, traced{d.SQL, slices.Clone(d.Args)})
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

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
