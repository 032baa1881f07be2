-- +goose NO TRANSACTION
-- +goose Up
-- A lexeme holds at most 2,046 bytes, and migration 00033's key adds 8 to
-- each: a word of 2,039 to 2,046 bytes (a long token, a base64 run, one
-- letter repeated) made messages_scoped_search raise "word is too long",
-- so the INSERT or settle of such a message failed, and a search for such
-- a word failed in messages_scoped_query the same way. Keyed lexemes are
-- now cut to their first 255 characters (at most 1,020 bytes), in the index
-- and in the query alike: a cut lexeme stands for every word it begins, so
-- it can only add candidates, and the query's real match (search @@ query)
-- on every row read keeps the answer exact.
--
-- Only a tsvector text with a run of 255 characters without a space can
-- hold such a lexeme; the rest keep 00033's one regexp_replace over the same
-- text, which the test scans once more. The rare others are rebuilt lexeme by lexeme with positions
-- (to_tsvector's weights are all D, written without a letter). 255: the
-- most a regular expression repetition counts here.
-- +goose StatementBegin
create or replace function messages_scoped_search(conversation_id text, search tsvector) returns tsvector
    language sql immutable parallel safe strict
    as $$ select case when x.t !~ '[^ ]{255}' then
            regexp_replace(x.t, $r$'((?:[^'\\]|''|\\.)*)'$r$,
                '''' || messages_search_key(conversation_id) || '\1''', 'g')::tsvector
        else (select string_agg('''' || replace(replace(messages_search_key(conversation_id) || left(u.lexeme, 255),
                    '\', '\\'), '''', '''''') || '''' || coalesce(':' || array_to_string(u.positions, ','), ''), ' ')::tsvector
            from unnest(search) u) end
        from (select search::text as t) x $$;
-- +goose StatementEnd

-- The query side cuts its lexemes to the same 255 characters (a unit of
-- the quoted text is one character: itself, '' or a backslash pair), once,
-- before keying the copies. The bounded repetition is slow on long texts,
-- so it runs only on a query that can hold a long lexeme, and a query is at
-- most 1,000 characters (functions/messages MaxQueryLen).
-- +goose StatementBegin
create or replace function messages_scoped_query(conversation_ids text[], q tsquery) returns tsquery
    language sql immutable parallel safe strict
    as $$ select case when numnode(q) = 0 then q
        else (select string_agg('(' || regexp_replace(cut.q, $r$'((?:[^'\\]|''|\\.)*)'$r$,
                '''' || messages_search_key(c) || '\1''', 'g') || ')', ' | ')
            from (select case when q::text !~ '[^ ]{255}' then q::text
                    else regexp_replace(q::text, $r$'((?:[^'\\]|''|\\.){0,255})(?:[^'\\]|''|\\.)*'$r$, '''\1''', 'g') end as q) cut,
                unnest(conversation_ids) c)::tsquery end $$;
-- +goose StatementEnd

-- Entries written by 00033's function hold long lexemes whole, which the
-- cut query no longer names.
reindex index concurrently messages_scoped_search_idx;

-- +goose Down
-- +goose StatementBegin
create or replace function messages_scoped_search(conversation_id text, search tsvector) returns tsvector
    language sql immutable parallel safe strict
    as $$ select regexp_replace(search::text, $r$'((?:[^'\\]|''|\\.)*)'$r$,
            '''' || messages_search_key(conversation_id) || '\1''', 'g')::tsvector $$;
-- +goose StatementEnd
-- +goose StatementBegin
create or replace function messages_scoped_query(conversation_ids text[], q tsquery) returns tsquery
    language sql immutable parallel safe strict
    as $$ select case when numnode(q) = 0 then q
        else (select string_agg('(' || regexp_replace(q::text, $r$'((?:[^'\\]|''|\\.)*)'$r$,
                '''' || messages_search_key(c) || '\1''', 'g') || ')', ' | ')
            from unnest(conversation_ids) c)::tsquery end $$;
-- +goose StatementEnd
reindex index concurrently messages_scoped_search_idx;
