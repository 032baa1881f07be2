package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// wordy is n bytes of text whose every token is distinct and hyphenated, the
// text whose tsvector is largest for its size (each "ab-cd" yields three
// lexemes with positions).
func wordy(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "w%x-v%x ", i, i)
	}
	return b.String()[:n]
}

// TestLongMessagesFitEveryIndex stores the longest message a person may send
// and grows it to the longest reply an agent may write (the relay saves a
// reply by updating its content), so no index on messages can refuse a
// message the product accepts. A btree carrying the tsvector (migration
// 00013's first version) failed here: its entries hold at most 2,704 bytes.
func TestLongMessagesFitEveryIndex(t *testing.T) {
	ctx := context.Background()
	// A database of its own: the package's other tests plan against the
	// size of the search index, which 30,000 lexemes would swell.
	url := testenv.EmptyDatabase(t)
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, url, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := testenv.NewUser(t, db, "long")
	conv := apitest.Conversation(t, db, "direct", u.ID)
	const maxReplyBytes = 256 << 10 // relay/protocol.MaxReplyBytes
	var id string
	if err := db.Pool.QueryRow(ctx, `insert into messages (conversation_id, seq, role, sender_user_id, content)
		values ($1, 1, 'user', $2, $3) returning id`, conv, u.ID, wordy(ari.MaxMessageBytes)).Scan(&id); err != nil {
		t.Fatalf("a %d-byte message: %v", ari.MaxMessageBytes, err)
	}
	if _, err := db.Pool.Exec(ctx, `update messages set content = $2 where id = $1`, id, wordy(maxReplyBytes)); err != nil {
		t.Fatalf("a %d-byte reply: %v", maxReplyBytes, err)
	}
	var lexemes int
	if err := db.Pool.QueryRow(ctx, `select length(search) from messages where id = $1`, id).Scan(&lexemes); err != nil || lexemes < 10000 {
		t.Fatalf("the reply's tsvector has %d lexemes (%v): the text is not the worst case it is meant to be", lexemes, err)
	}

	// messages_search_short_idx carries the tsvector of every message of up
	// to 256 bytes (migration 00018). The texts whose tsvector is largest
	// for their size must all fit a btree entry (2,704 bytes).
	short := map[string]string{
		"hyphenated words": wordy(256),
		"one-letter words": strings.Repeat("a b c d e f g h i j k l m n o p q r s t u v w x y z ", 10)[:256],
		"distinct letters": func() string {
			var b strings.Builder
			for r := 'a'; b.Len() < 256; r++ {
				b.WriteRune(r)
				b.WriteByte(' ')
			}
			return b.String()[:256]
		}(),
		"two-byte runes, hyphenated": func() string {
			var b strings.Builder
			for r := 'А'; b.Len() < 250; r += 2 { // Cyrillic: two bytes each
				b.WriteRune(r)
				b.WriteByte('-')
				b.WriteRune(r + 1)
				b.WriteByte(' ')
			}
			return b.String()
		}(),
	}
	seq := 2
	for name, text := range short {
		if len(text) > 256 {
			t.Fatalf("%s: %d bytes, meant to be at most 256", name, len(text))
		}
		var size int
		if err := db.Pool.QueryRow(ctx, `insert into messages (conversation_id, seq, role, sender_user_id, content)
			values ($1, $2, 'user', $3, $4) returning pg_column_size(search)`, conv, seq, u.ID, text).Scan(&size); err != nil {
			t.Fatalf("%s (%d bytes): %v", name, len(text), err)
		}
		t.Logf("%s: %d bytes of text, tsvector %d bytes", name, len(text), size)
		seq++
	}
	var indexed int
	if err := db.Pool.QueryRow(ctx, `select count(*) from messages where conversation_id = $1
		and deleted_at is null and not superseded and octet_length(content) <= 256`, conv).Scan(&indexed); err != nil || indexed != len(short) {
		t.Fatalf("%d short messages (%v), want %d", indexed, err, len(short))
	}

	// messages_page_short_idx carries every column of a row whose content
	// and error hold at most 1,024 bytes (migration 00029): the widest such
	// row, text that does not compress and a client id of the longest kind,
	// must fit.
	noise := func(n int) string {
		b := make([]byte, n/2)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	if _, err := db.Pool.Exec(ctx, `insert into messages (conversation_id, seq, role, sender_user_id, content, status, error,
			client_message_id) values ($1, $2, 'user', $3, $4, 'error', $5, $6)`,
		conv, seq, u.ID, noise(1000), noise(24), strings.Repeat("i", ari.MaxIDBytes)); err != nil {
		t.Fatalf("a row of 1,024 bytes of content and error: %v", err)
	}
	var paged int
	if err := db.Pool.QueryRow(ctx, `select count(*) from messages where conversation_id = $1 and seq = $2
		and octet_length(content) + octet_length(coalesce(error, '')) <= 1024`, conv, seq).Scan(&paged); err != nil || paged != 1 {
		t.Fatalf("the widest short row is not one the page index takes (%d, %v)", paged, err)
	}
	seq++

	// messages_scoped_search_idx keys every lexeme of a message of up to
	// 64 KB (migration 00033) in a tsvector built as text, which holds at
	// most 1 MB of lexemes: the texts with the most lexemes for their size
	// must all fit at that bound.
	const scopedBytes = 64 << 10 // store.scopedSearchBytes
	hyphenated := func(from rune) string {
		var b strings.Builder
		for r := from; ; r++ {
			var tok strings.Builder
			tok.WriteRune(r)
			tok.WriteByte('-')
			tok.WriteRune(r + 1)
			tok.WriteByte(' ')
			if b.Len()+tok.Len() > scopedBytes {
				return b.String()
			}
			b.WriteString(tok.String())
		}
	}
	for name, text := range map[string]string{
		"hyphenated words":            wordy(scopedBytes),
		"hyphenated two-byte runes":   hyphenated('Ā'),
		"hyphenated three-byte runes": hyphenated('一'),
	} {
		var lexemes, scoped int
		if err := db.Pool.QueryRow(ctx, `insert into messages (conversation_id, seq, role, sender_user_id, content)
			values ($1, $2, 'user', $3, $4) returning length(search), length(messages_scoped_search(conversation_id, search))`,
			conv, seq, u.ID, text).Scan(&lexemes, &scoped); err != nil {
			t.Fatalf("%s (%d bytes): %v", name, len(text), err)
		}
		if len(text) > scopedBytes || lexemes < 10000 || scoped != lexemes {
			t.Fatalf("%s: %d bytes, %d lexemes, %d keyed: not the worst case at the bound it is meant to be", name, len(text), lexemes, scoped)
		}
		seq++
	}
}
