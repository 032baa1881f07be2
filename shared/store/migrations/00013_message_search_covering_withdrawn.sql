-- +goose NO TRANSACTION
-- +goose Up
-- This version first created messages_search_history_idx, a btree on
-- (conversation_id, seq) INCLUDE (id, search) for index-only search. It was
-- withdrawn within the hour: a btree entry holds at most 2,704 bytes, and the
-- tsvector of a long message (an agent reply of a few KB) is larger, so
-- saving such a reply failed ("index row size exceeds btree version 4
-- maximum"). The number now removes that index wherever the first version
-- was applied, and does nothing elsewhere. TestLongMessagesFitEveryIndex
-- stores the longest messages the product allows.
drop index concurrently if exists messages_search_history_idx;

-- +goose Down
select 1;
