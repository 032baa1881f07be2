// Command messages benchmarks the messages function against a real Postgres:
// it seeds a data set of the size asked for (once per database), then drives
// the real handler in-process (auth, store, JSON) and prints latency
// percentiles for each kind of history page and for search, followed by the
// EXPLAIN (ANALYZE, BUFFERS) of every query one request of each kind makes.
//
//	go run ./local/bench/messages -messages 10000
//	go run ./local/bench/messages -messages 10000,1000000
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
	"strconv"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/procstat"
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
	sizes              []int
	perConv            int
	iterations, warmup int
	searches           int
	reseed, explain    bool
}

// sized is one data set under test: its database, handler and plan recorder.
type sized struct {
	s    shape
	pool *pgxpool.Pool
	rec  *recorder
	b    *bench
}

func run(ctx context.Context, args []string) error {
	var o options
	var sizes string
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	fs.StringVar(&o.admin, "admin", envOr("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:55433/postgres?sslmode=disable"),
		"maintenance database URL of the server to create bench databases on")
	fs.StringVar(&o.db, "db", os.Getenv("BENCH_DATABASE_URL"), "database URL to use instead of ari_bench_<N> on -admin's server (one size only)")
	fs.StringVar(&sizes, "messages", "10000", "messages to seed; several sizes (10000,1000000) are measured in one run, their requests interleaved")
	fs.IntVar(&o.perConv, "per-conversation", 500, "messages per conversation")
	fs.IntVar(&o.iterations, "iterations", 2000, "requests measured per kind")
	fs.IntVar(&o.warmup, "warmup", 200, "requests per kind before measuring")
	fs.IntVar(&o.searches, "searches", 500, "requests measured per kind of search")
	fs.BoolVar(&o.reseed, "reseed", false, "drop and re-create the bench database first")
	fs.BoolVar(&o.explain, "explain", true, "print EXPLAIN (ANALYZE, BUFFERS) of each query")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, f := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-messages: %q is not a positive number", f)
		}
		o.sizes = append(o.sizes, n)
	}
	if o.db != "" && len(o.sizes) > 1 {
		return errors.New("-db names one database: give one -messages size with it")
	}
	var sets []*sized
	defer func() {
		for _, z := range sets {
			z.pool.Close()
		}
	}()
	for _, n := range o.sizes {
		z, err := open(ctx, o, newShape(n, o.perConv))
		if err != nil {
			return err
		}
		sets = append(sets, z)
	}
	fmt.Printf("messages benchmark: %d page and %d search requests per kind after %d warm-up; load average %s\n",
		o.iterations, o.searches, o.warmup, procstat.LoadAvg())
	for _, z := range sets {
		fmt.Printf("  %d messages: %d conversations of %d, %d users\n", z.s.Messages, z.s.Conversations, z.s.PerConv, z.s.Users)
	}
	fmt.Printf("\n%-16s", "request")
	for _, z := range sets {
		fmt.Printf(" | %9s %7s %7s %7s", fmt.Sprintf("%s p50", count(z.s.Messages)), "p95", "p99", "max")
	}
	if len(sets) > 1 {
		fmt.Printf(" | %s", "p50 ×")
	}
	fmt.Println("   (ms)")
	kinds := make([][]kind, len(sets))
	for i, z := range sets {
		kinds[i] = z.b.kinds()
	}
	for k := range kinds[0] {
		n := o.iterations
		if strings.HasPrefix(kinds[0][k].name, "search") {
			n = o.searches
		}
		// Requests to the sizes alternate, so each size sees the same
		// machine: a neighbour's burst lands on all of them alike.
		for i := 0; i < o.warmup; i++ {
			for j, z := range sets {
				if _, err := z.b.do(kinds[j][k].path()); err != nil {
					return err
				}
			}
		}
		for _, z := range sets {
			z.rec.statements() // the warm-up's timings are not the figures
		}
		d := make([][]time.Duration, len(sets))
		for i := 0; i < n; i++ {
			for j, z := range sets {
				took, err := z.b.do(kinds[j][k].path())
				if err != nil {
					return err
				}
				d[j] = append(d[j], took)
			}
		}
		fmt.Printf("%-16s", kinds[0][k].name)
		for j := range sets {
			slices.Sort(d[j])
			fmt.Printf(" | %9.3f %7.3f %7.3f %7.3f", ms(pct(d[j], 50)), ms(pct(d[j], 95)), ms(pct(d[j], 99)), ms(d[j][len(d[j])-1]))
		}
		if len(sets) > 1 {
			fmt.Printf(" | %5.1f", float64(pct(d[len(d)-1], 50))/float64(pct(d[0], 50)))
		}
		fmt.Println()
		// Where the time went: each statement's round trip p50, per size.
		per := make([]map[string]time.Duration, len(sets))
		var names []string
		for j, z := range sets {
			per[j] = z.rec.statements()
			for name := range per[j] {
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Printf("  %-14s", name)
			for j := range sets {
				if d, ok := per[j][name]; ok {
					fmt.Printf(" | %9.3f %23s", ms(d), "")
				} else {
					fmt.Printf(" | %9s %23s", "-", "")
				}
			}
			fmt.Println()
		}
	}
	fmt.Printf("\nload average at the end %s\n", procstat.LoadAvg())
	if !o.explain {
		return nil
	}
	for j, z := range sets {
		for _, k := range kinds[j] {
			path := k.path()
			z.rec.start()
			if _, err := z.b.do(path); err != nil {
				return err
			}
			qs := z.rec.stop()
			fmt.Printf("\n=== %d messages, %s: GET %s\n", z.s.Messages, k.name, path)
			for _, q := range qs {
				if err := explain(ctx, z.pool, q); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// open prepares (seeding when needed) the database of one size and the
// handler over it.
func open(ctx context.Context, o options, s shape) (*sized, error) {
	dbURL, err := prepareDatabase(ctx, o, s)
	if err != nil {
		return nil, err
	}
	rec := &recorder{}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	z := &sized{s: s, pool: pool, rec: rec}
	if err := z.prepare(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return z, nil
}

func (z *sized) prepare(ctx context.Context) error {
	ok, err := seeded(ctx, z.pool, z.s)
	if err != nil {
		return err
	}
	if !ok {
		if err := seed(ctx, z.pool, z.s); err != nil {
			return err
		}
	}
	db := &store.DB{Pool: z.pool}
	h := messages.New(messages.Deps{DB: db, Auth: &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")}})
	z.b = &bench{h: h, s: z.s, rnd: rand.New(rand.NewPCG(1, 2))}
	z.b.words, err = vocabulary(ctx, z.pool)
	return err
}

// count writes 10000 as 10k and 1000000 as 1M.
func count(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
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
