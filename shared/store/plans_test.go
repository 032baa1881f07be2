package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recorder keeps every query a pool runs, with its arguments.
type recorder struct {
	mu      sync.Mutex
	queries []recordedQuery
}

type recordedQuery struct {
	sql  string
	args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, recordedQuery{d.SQL, d.Args})
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) take() []recordedQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.queries
	r.queries = nil
	return q
}

// planNode is the part of EXPLAIN (FORMAT JSON) this test reads.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (p planNode) walk(f func(planNode)) {
	f(p)
	for _, c := range p.Plans {
		c.walk(f)
	}
}

// TestMessageQueriesUseTheirIndexes runs the message queries through the
// real store methods, records the SQL they send, and has Postgres EXPLAIN
// each one with sequential scans disabled: none may still scan the messages
// table, and each reaches the index it was written for. A query that
// drifts from its index (or an index dropped by a migration) fails here,
// not at a million rows in production.
func TestMessageQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	// A database of its own: the package's tests run in parallel, and a
	// transaction of theirs still open on the shared database keeps VACUUM
	// from marking this test's pages all-visible, which the planner reads
	// before it costs an index-only scan (fresh-clone CI runs planned the
	// short-message pages without their index twice, on 8e353b3 and c44257c,
	// even after vacuuming again).
	base, dbURL := testenv.FreshDB(t)
	u := testenv.NewUser(t, base, "planner")
	conv := apitest.Conversation(t, base, "direct", u.ID)
	apitest.PostMany(t, base, conv, u.ID, 3000)
	if _, err := base.Pool.Exec(ctx, `update messages set client_message_id = 'plan-' || seq where conversation_id = $1 and seq % 10 = 0`, conv); err != nil {
		t.Fatal(err)
	}
	// Some long messages, searched from the heap (messages_search_long_idx),
	// and some longer still, paged from the heap (messages_page_long_idx).
	if _, err := base.Pool.Exec(ctx, `update messages set content = repeat(content || ' ', 40) where conversation_id = $1 and seq % 50 = 7`, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := base.Pool.Exec(ctx, `update messages set content = repeat(content || ' ', 100) where conversation_id = $1 and seq % 50 = 8`, conv); err != nil {
		t.Fatal(err)
	}
	// Vacuumed, as autovacuum would have: the visibility map is what lets
	// the short messages be searched from their index alone.
	if _, err := base.Pool.Exec(ctx, `vacuum analyze messages`); err != nil {
		t.Fatal(err)
	}

	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	cfg.ConnConfig.Tracer = rec
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := &store.DB{Pool: pool}

	explainer, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer explainer.Close(ctx)
	if _, err := explainer.Exec(ctx, `set enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}

	type planCase struct {
		name  string
		index string
		node  string // the plan node that must read index, when it matters
		run   func() error
	}
	var cases []planCase
	// A page is an ordered scan that stops at the limit (no bitmap), its
	// short messages read from their index alone.
	for name, q := range map[string]store.PageQuery{
		"newest page": {Mode: store.PageNewest, Limit: 50},
		"page before": {Mode: store.PageBefore, Seq: 1500, Limit: 50},
		"page after":  {Mode: store.PageAfter, Seq: 10, Limit: 50},
		"page around": {Mode: store.PageAround, Seq: 700, Limit: 50},
	} {
		run := func() error {
			_, err := db.MessagesPage(ctx, u.ID, conv, q)
			return err
		}
		cases = append(cases,
			planCase{name + ", short messages", "messages_page_short_idx", "Index Only Scan", run},
			planCase{name + ", long messages", "messages_page_long_idx", "Index Scan", run})
	}
	for _, c := range append(cases, []planCase{
		{"retried send by clientMessageId", "messages_client_id_uq", "", func() error {
			_, err := db.UserSendByClientID(ctx, u.ID, "plan-100")
			return err
		}},
		{"search, rare term: the caller's postings alone", "messages_scoped_search_idx", "Bitmap Index Scan", func() error {
			defer store.SetGINMatchCost(0)()
			_, _, err := db.SearchMessages(ctx, u.ID, store.SearchQuery{Text: "message 1234", Limit: 20})
			return err
		}},
		{"search, rare term: messages over 64 KB", "messages_search_huge_idx", "", func() error {
			defer store.SetGINMatchCost(0)()
			_, _, err := db.SearchMessages(ctx, u.ID, store.SearchQuery{Text: "message 1234", Limit: 20})
			return err
		}},
		{"search, common term: short messages from their index alone", "messages_search_short_idx", "Index Only Scan", func() error {
			defer store.SetGINMatchCost(1e12)()
			_, _, err := db.SearchMessages(ctx, u.ID, store.SearchQuery{Text: "message", Limit: 20})
			return err
		}},
		{"search, common term: long messages", "messages_search_long_idx", "", func() error {
			defer store.SetGINMatchCost(1e12)()
			_, _, err := db.SearchMessages(ctx, u.ID, store.SearchQuery{Text: "message", Limit: 20})
			return err
		}},
		{"open replies of a conversation", "messages_open_replies_idx", "", func() error {
			_, err := db.ConversationOpenReplies(ctx, conv)
			return err
		}},
		{"open replies of a deployment", "messages_open_replies_idx", "", func() error {
			_, err := db.OpenReplies(ctx, "plan")
			return err
		}},
	}...) {
		t.Run(c.name, func(t *testing.T) {
			// The planner weighs an index-only scan by the visibility map
			// the VACUUM above wrote; on a busy server that VACUUM may have
			// left pages unmarked (a CI run once planned two short-message
			// pages without their index). So a miss vacuums again and asks
			// again, twice at most, and the plans seen are shown if it
			// still misses.
			for attempt := 0; ; attempt++ {
				reached, plans := planReaches(t, explainer, rec, c.run, c.index, c.node)
				if reached {
					return
				}
				if attempt == 2 {
					t.Errorf("no query used %s; plans:\n%s", c.index, strings.Join(plans, "\n"))
					return
				}
				if _, err := base.Pool.Exec(ctx, `vacuum analyze messages`); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// planReaches runs one store call, EXPLAINs each messages query it sent,
// and reports whether one reads index (with node, when set); a sequential
// scan of messages is an error at once.
func planReaches(t *testing.T, explainer *pgx.Conn, rec *recorder, run func() error, index, node string) (bool, []string) {
	t.Helper()
	ctx := context.Background()
	rec.take()
	if err := run(); err != nil {
		t.Fatal(err)
	}
	reached := false
	var seen []string
	for _, q := range rec.take() {
		if !strings.Contains(q.sql, "messages") || strings.HasPrefix(strings.TrimSpace(strings.ToLower(q.sql)), "explain") {
			continue
		}
		var raw []byte
		if err := explainer.QueryRow(ctx, "explain (format json) "+q.sql, q.args...).Scan(&raw); err != nil {
			t.Fatalf("explain %s: %v", q.sql, err)
		}
		var plans []struct {
			Plan planNode `json:"Plan"`
		}
		if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("plan %s: %v", raw, err)
		}
		seen = append(seen, string(raw))
		plans[0].Plan.walk(func(n planNode) {
			if n.Relation == "messages" && n.NodeType == "Seq Scan" {
				t.Errorf("scans the whole messages table:\n%s\nplan %s", q.sql, raw)
			}
			if n.IndexName == index {
				reached = true
				if node != "" && n.NodeType != node {
					t.Errorf("reads %s with %s, want %s:\n%s\nplan %s", index, n.NodeType, node, q.sql, raw)
				}
			}
		})
	}
	return reached, seen
}
