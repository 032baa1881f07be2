-- +goose Up
-- What people and apps do in an app session (issue 14 item 4;
-- relay/PROTOCOL.md section 15, "A person's actions and the app's events"):
-- an action a member invoked in the app (kind 'action', checked by the bridge
-- as actor user) or an event the app declared and reported (kind 'state').
-- The session's agent is given them live while it writes a reply in the
-- conversation, and in the history of its next tasks. client_id is the
-- client's id for the report: a report sent again is recorded once. data is
-- the exact JSON text (the canonical arguments of an action).
create table app_events (
    id              text primary key default gen_random_uuid()::text,
    session_id      text not null references app_sessions(id) on delete cascade,
    conversation_id text not null references conversations(id) on delete cascade,
    user_id         text references "user"(id) on delete set null,
    client_id       text not null,
    kind            text not null check (kind in ('action', 'state')),
    name            text not null,
    data            text,
    created_at      timestamptz not null default now(),
    unique (session_id, client_id)
);
create index app_events_conversation_idx on app_events (conversation_id, created_at desc);

-- +goose Down
drop table app_events;
