-- +goose Up
-- 00003's (conversation_id, search) GIN index measured slower than what it
-- replaced: for conversation_id = ANY(the caller's conversations) GIN runs one
-- scan per conversation, each walking the whole posting tree of a common word
-- (126 ms at 1M messages where a bitmap AND of the two plain indexes takes
-- 2 ms). Search now picks its plan from the word's estimated frequency
-- (store.SearchMessages): rare terms through this GIN index, common ones
-- through the caller's own history on (conversation_id, seq).
drop index messages_conversation_search_idx;
create index messages_search_idx on messages using gin (search) where deleted_at is null;
drop extension if exists btree_gin;

-- +goose Down
create extension if not exists btree_gin;
create index messages_conversation_search_idx on messages using gin (conversation_id, search)
    where deleted_at is null;
drop index messages_search_idx;
