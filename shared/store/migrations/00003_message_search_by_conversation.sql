-- +goose Up
-- Search only ever looks inside the caller's conversations. A GIN index on
-- (conversation_id, search) lets one bitmap scan find the matches of exactly
-- those conversations, instead of every user's matches being fetched from the
-- plain search index and filtered (slow for common words at millions of rows).
-- btree_gin supplies the GIN operator class for the text column; it is a
-- trusted extension (PostgreSQL 13+, available on RDS/Aurora).
create extension if not exists btree_gin;
create index messages_conversation_search_idx on messages using gin (conversation_id, search)
    where deleted_at is null;
-- The single-column index answers no query the new one cannot; dropping it
-- keeps message writes from maintaining two GIN indexes.
drop index messages_search_idx;

-- +goose Down
create index messages_search_idx on messages using gin (search) where deleted_at is null;
drop index messages_conversation_search_idx;
