-- +goose NO TRANSACTION
-- +goose Up
-- Search for a common term reads the caller's own history and tests each
-- message's tsvector. In the heap a conversation's messages lie about one per
-- page (conversations interleave in time), so at a million rows that meant
-- ~4,000 heap pages per search, most outside shared_buffers. This index keeps
-- each conversation's tsvectors side by side in seq order, with the id search
-- orders and joins by, so the scan is index-only: a user's 4,000 messages are
-- ~190 index pages at any table size. It costs ~260 bytes per live message
-- (262 MB at 1M). Partial like the GIN index: tombstones are never searched.
-- CONCURRENTLY: writers are not blocked while it builds on a large table.
create index concurrently messages_search_history_idx on messages (conversation_id, seq)
    include (id, search) where deleted_at is null;

-- +goose Down
drop index concurrently messages_search_history_idx;
