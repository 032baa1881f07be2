-- +goose Up
-- Questions and approvals (relay/PROTOCOL.md section 9, agent_input_request):
-- an agent writing a reply asks the conversation's people something and the
-- reply waits (status waiting_input) until one of them answers, the request
-- expires or the reply ends. The request lives here, not only in Redis, so it
-- survives reconnects and relay restarts; the first answer wins by the
-- guarded UPDATE of state (open → answered), whichever instance or function
-- runs it. delivered_at records that the answer (or the expiry) reached the
-- agent's socket, so an agent that reconnects gets what it has not had.
alter table messages drop constraint messages_status_check;
alter table messages add constraint messages_status_check
    check (status in ('pending', 'streaming', 'waiting_input', 'complete', 'error', 'cancelled'));
drop index messages_open_replies_idx;
create index messages_open_replies_idx on messages (conversation_id)
    where status in ('pending', 'streaming', 'waiting_input');
drop index messages_one_regenerate_uq;
create unique index messages_one_regenerate_uq on messages (conversation_id)
    where version > 1 and status in ('pending', 'streaming', 'waiting_input');

create table input_requests (
    -- the agent's requestId: unique among all requests (agents use UUIDs)
    id               text primary key,
    message_id       text not null references messages(id) on delete cascade,
    conversation_id  text not null references conversations(id) on delete cascade,
    agent_id         text references agents(id) on delete cascade,
    kind             text not null check (kind in ('question', 'approval')),
    prompt           text not null check (octet_length(prompt) between 1 and 4096),
    options          jsonb check (options is null or jsonb_typeof(options) = 'array'),
    schema           jsonb check (schema is null or jsonb_typeof(schema) = 'object'),
    state            text not null default 'open' check (state in ('open', 'answered', 'expired', 'cancelled')),
    answer           text,
    approved         boolean,
    answered_by      text references "user"(id) on delete set null,
    answered_at      timestamptz,
    expires_at       timestamptz not null,
    resolved_at      timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz not null default now(),
    check ((state = 'open') = (resolved_at is null)),
    check (kind <> 'approval' or state <> 'answered' or approved is not null)
);
create index input_requests_message_idx on input_requests (message_id);
-- One open request per reply: the reply waits for one answer at a time.
create unique index input_requests_open_reply_uq on input_requests (message_id) where state = 'open';
create index input_requests_conversation_idx on input_requests (conversation_id, created_at) where state = 'open';
create index input_requests_expiry_idx on input_requests (expires_at) where state = 'open';
create index input_requests_undelivered_idx on input_requests (agent_id)
    where state in ('answered', 'expired') and delivered_at is null;

-- +goose Down
drop table input_requests;
update messages set status = 'streaming' where status = 'waiting_input';
drop index messages_one_regenerate_uq;
create unique index messages_one_regenerate_uq on messages (conversation_id)
    where version > 1 and status in ('pending', 'streaming');
drop index messages_open_replies_idx;
create index messages_open_replies_idx on messages (conversation_id) where status in ('pending', 'streaming');
alter table messages drop constraint messages_status_check;
alter table messages add constraint messages_status_check
    check (status in ('pending', 'streaming', 'complete', 'error', 'cancelled'));
