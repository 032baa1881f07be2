-- +goose Up
-- Tool calls of agents to apps (issue 14 item 4; relay/PROTOCOL.md section
-- 15): an accepted call waits for the first answer of the client running
-- the app, or expires; the agent is given its result once (delivered_at).
-- arguments and result are kept as the exact JSON text (jsonb would reorder
-- keys and the canonical arguments are what the app was sent).
create table app_tool_calls (
    id           text primary key default gen_random_uuid()::text,
    session_id   text not null references app_sessions(id) on delete cascade,
    reply_id     text not null references messages(id) on delete cascade,
    agent_id     text not null references agents(id) on delete cascade,
    call_id      text not null,
    action       text not null,
    arguments    text not null,
    state        text not null default 'pending' check (state in ('pending', 'answered', 'expired')),
    result       text,
    error_code   text,
    error_message text,
    created_at   timestamptz not null default now(),
    expires_at   timestamptz not null,
    answered_at  timestamptz,
    delivered_at timestamptz,
    -- The client answers by (sessionId, callId).
    unique (session_id, call_id),
    check ((state = 'pending') = (answered_at is null))
);
create index app_tool_calls_undelivered_idx on app_tool_calls (agent_id) where delivered_at is null;

-- +goose Down
drop table app_tool_calls;
