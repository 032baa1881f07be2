-- +goose NO TRANSACTION
-- +goose Up
-- Search of common terms reads the caller's history and tests each message
-- (store.historySearch). Through messages_conversation_seq_uq that meant one
-- heap page per message or so: at a million messages those pages are not in
-- shared_buffers, and search grew 8–12× from 10k to 1M with the same
-- history per user. A btree that carries the tsvector answers it from the
-- index alone, but a btree entry holds at most 2,704 bytes (00013: a long
-- reply's tsvector is larger), so the history is split by the size of the
-- text:
-- * messages of at most 256 bytes (most of a chat; their tsvector stays far
--   below the limit, TestLongMessagesFitEveryIndex stores the worst ones)
--   are searched index-only through messages_search_short_idx;
-- * longer ones (agent replies, pasted text) through messages_search_long_idx,
--   which lists only them, so the heap is read for those alone.
-- The 256 is store.shortSearchBytes; the query repeats both predicates
-- exactly, or the planner cannot use these indexes.
create index concurrently if not exists messages_search_short_idx
    on messages (conversation_id, seq) include (id, search)
    where deleted_at is null and not superseded and octet_length(content) <= 256;
create index concurrently if not exists messages_search_long_idx
    on messages (conversation_id, seq)
    where deleted_at is null and not superseded and octet_length(content) > 256;

-- +goose Down
drop index concurrently if exists messages_search_short_idx;
drop index concurrently if exists messages_search_long_idx;
