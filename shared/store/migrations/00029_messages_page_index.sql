-- +goose NO TRANSACTION
-- +goose Up
-- A page of history (store.MessagesPage) walked messages_conversation_seq_uq
-- and read each row from the heap. Conversations interleave in time, so a
-- conversation's messages lie about one per heap page: a page of 50 touched
-- ~51 heap pages, which at a million messages are mostly outside
-- shared_buffers (a copy from the OS cache each, at worst a disk read), and
-- `before` at 1M measured p99 14 ms (local/bench/messages/README.md). A
-- btree that carries every column a page shows answers it from a few leaf
-- pages, but a btree entry holds at most 2,704 bytes, so, as for search
-- (00018), the history is split by size:
-- * rows whose content and error together are at most 1,024 bytes (a chat's
--   messages, short replies, tombstones) through messages_page_short_idx,
--   an index-only scan;
-- * longer ones through messages_page_long_idx, which lists only them, so
--   the heap is read for those alone.
-- The 1,024 is store.pageShortBytes; the query repeats both predicates
-- exactly, or the planner cannot use these indexes.
create index concurrently if not exists messages_page_short_idx
    on messages (conversation_id, seq)
    include (id, role, sender_user_id, sender_agent_id, content, status, error, client_message_id,
             reply_to_id, created_at, updated_at, first_chunk_at, completed_at, deleted_at, version,
             superseded, chain_hop, chain_root_id)
    where octet_length(content) + octet_length(coalesce(error, '')) <= 1024;
create index concurrently if not exists messages_page_long_idx
    on messages (conversation_id, seq)
    where octet_length(content) + octet_length(coalesce(error, '')) > 1024;

-- +goose Down
drop index concurrently if exists messages_page_short_idx;
drop index concurrently if exists messages_page_long_idx;
