-- +goose NO TRANSACTION
-- +goose Up
-- messages_scoped_search_idx's keyed tsvector was built by one
-- regexp_replace over the search column's text (00033, 00034), which cost
-- more than to_tsvector itself: 1.5 ms for a 12.8 KB message of 200
-- distinct words and 4.9 ms for one of 1,200, on every message written (the
-- settle of a reply included). A GIN index over a tsvector stores only its
-- lexemes, so the keyed vector is now built as an array: every lexeme keyed
-- and cut to 255 characters (00034), without positions (array_to_tsvector):
-- 0.6-0.8 and 2.7 ms.
--
-- A vector without positions answers a phrase false ('a <-> b' against
-- 'a c b' and against 'a b' alike), so the query keyed against it is no
-- longer the search's own query but what every match must contain: its
-- querytree (negations dropped, since they need no word present) with every
-- phrase operator made an AND. That can only add candidates; the search's
-- real match (search @@ query, positions and all) on every row read keeps
-- the answer exact, as it did for the keys two conversations share. A query
-- whose querytree is T (only negations) has nothing every match contains:
-- store.SearchMessages never reads this index for it (estimateMatches), and
-- the function keys the query whole for it, as before.
-- +goose StatementBegin
create or replace function messages_scoped_search(conversation_id text, search tsvector) returns tsvector
    language sql immutable parallel safe strict
    as $f$ select array_to_tsvector(array(select k.k || left(l, 255) from unnest(tsvector_to_array(search)) l))
        from (select messages_search_key(conversation_id) as k) k $f$;
-- +goose StatementEnd

-- tsquery text writes every operator between single spaces and quotes
-- every lexeme, and no lexeme of to_tsvector's or websearch_to_tsquery's
-- parser holds a space, '<' or '>', so " <-> " and " <N> " are exactly the
-- phrase operators. Lexemes are cut as in 00034, once, before the copies
-- are keyed (offset 0 keeps the planner from doing it per conversation).
-- +goose StatementBegin
create or replace function messages_scoped_query(conversation_ids text[], q tsquery) returns tsquery
    language sql immutable parallel safe strict
    as $f$ select case when numnode(q) = 0 then q
        else (select string_agg('(' || regexp_replace(s.t, $r$'((?:[^'\\]|''|\\.)*)'$r$,
                '''' || messages_search_key(c) || '\1''', 'g') || ')', ' | ')
            from (select case when x.t !~ '[^ ]{255}' then x.t
                    else regexp_replace(x.t, $r$'((?:[^'\\]|''|\\.){0,255})(?:[^'\\]|''|\\.)*'$r$, '''\1''', 'g') end as t
                from (select case when querytree(q) = 'T' then q::text
                        else regexp_replace(querytree(q), ' <[0-9-]+> ', ' & ', 'g') end as t) x offset 0) s,
                unnest(conversation_ids) c)::tsquery end $f$;
-- +goose StatementEnd

reindex index concurrently messages_scoped_search_idx;

-- +goose Down
-- 00034's functions.
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
reindex index concurrently messages_scoped_search_idx;
