-- +goose Up
-- What a new message addressed to an agent does while a reply is active or
-- queued in the conversation (relay/PROTOCOL.md section 10): queue it behind
-- (the behaviour before this column), refuse it (conversation_busy, nothing
-- stored), or interrupt (the active reply ends cancelled, queued ones are
-- dropped, the new message's reply starts).
alter table conversations add column turn_policy text not null default 'queue'
    check (turn_policy in ('queue', 'reject', 'interrupt'));

-- +goose Down
alter table conversations drop column turn_policy;
