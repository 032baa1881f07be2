-- +goose NO TRANSACTION
-- +goose Up
-- Search reads a GIN index for terms rare enough (store.SearchMessages).
-- messages_search_idx lists a word's messages table-wide, so finding the
-- caller's few matches meant reading the word's whole posting list (2,287
-- rows at a million messages for a word the caller has in 9) and ANDing it
-- with the caller's 4,000-row history: a cost that grows with the table.
-- messages_scoped_search_idx keys every word by its conversation instead
-- (the first 8 hex digits of md5(conversation_id), then the lexeme, with
-- its positions), so a search over the caller's conversations reads only
-- their postings: the same few entries at any table size.
--
-- A keyed tsvector is built as text, and tsvector text holds at most 1 MB
-- of lexemes: the keyed words of a 256 KB reply can pass it. So the index
-- lists messages of up to 64 KB (their worst case, hyphenated distinct
-- words, stays under a quarter of that limit), and the few longer ones are
-- found through messages_search_huge_idx, which lists only them, tested
-- row by row. The 65,536 is store.scopedSearchBytes; the query repeats
-- both predicates exactly, or the planner cannot use these indexes.
--
-- The key only narrows: two conversations may share one, so the query
-- still checks the conversation and the real match (search @@ query) on
-- every row it reads; a shared key adds a candidate, never loses one. md5,
-- not hashtext: its value is fixed forever, so index and query agree
-- across upgrades.
-- +goose StatementBegin
create or replace function messages_search_key(conversation_id text) returns text
    language sql immutable parallel safe strict
    as $$ select left(md5(conversation_id), 8) $$;
-- +goose StatementEnd

-- The lexemes of search keyed by conversation, positions kept (phrases
-- still match). tsvector text quotes every lexeme ('…', ' and \ doubled
-- inside), and a key is hex, so prefixing inside the quotes changes the
-- lexemes and nothing else; messages_scoped_query rewrites a query the same
-- way. (About 40 µs of Postgres CPU per message written, measured over the
-- bench's 10,000 messages.)
-- +goose StatementBegin
create or replace function messages_scoped_search(conversation_id text, search tsvector) returns tsvector
    language sql immutable parallel safe strict
    as $$ select regexp_replace(search::text, $r$'((?:[^'\\]|''|\\.)*)'$r$,
            '''' || messages_search_key(conversation_id) || '\1''', 'g')::tsvector $$;
-- +goose StatementEnd

-- A query over messages_scoped_search for the given conversations: q with
-- every lexeme keyed by each conversation in turn, the copies ORed. tsquery
-- text quotes lexemes as tsvector text does, so the same rewrite keeps
-- every operator, phrase and prefix as it was. An empty query stays empty,
-- no conversations give null: both match nothing.
-- +goose StatementBegin
create or replace function messages_scoped_query(conversation_ids text[], q tsquery) returns tsquery
    language sql immutable parallel safe strict
    as $$ select case when numnode(q) = 0 then q
        else (select string_agg('(' || regexp_replace(q::text, $r$'((?:[^'\\]|''|\\.)*)'$r$,
                '''' || messages_search_key(c) || '\1''', 'g') || ')', ' | ')
            from unnest(conversation_ids) c)::tsquery end $$;
-- +goose StatementEnd

create index concurrently if not exists messages_scoped_search_idx
    on messages using gin (messages_scoped_search(conversation_id, search))
    where deleted_at is null and not superseded and octet_length(content) <= 65536;
create index concurrently if not exists messages_search_huge_idx
    on messages (conversation_id, seq)
    where deleted_at is null and not superseded and octet_length(content) > 65536;
drop index concurrently if exists messages_search_idx;

-- +goose Down
create index concurrently if not exists messages_search_idx on messages using gin (search) where deleted_at is null;
drop index concurrently if exists messages_scoped_search_idx;
drop index concurrently if exists messages_search_huge_idx;
drop function if exists messages_scoped_query(text[], tsquery);
drop function if exists messages_scoped_search(text, tsvector);
drop function if exists messages_search_key(text);
