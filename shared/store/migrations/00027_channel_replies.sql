-- +goose Up
-- Agents' replies in community channels (relay/PROTOCOL.md section 18,
-- "Agents in channels"). A person's channel message that @mentions agents
-- attached to the channel (channel_agents) gives each of them a reply, a row
-- here from the send's own transaction; the relay streams it and, at its
-- end, saves its text as a channel message with this row's id, from the
-- agent, at the channel's next seq (in the same statement that ends the row,
-- so a reply ends exactly once whichever instance ends it).
create table channel_replies (
    id               text primary key default gen_random_uuid()::text,
    channel_id       text not null references channels(id) on delete cascade,
    agent_id         text not null references agents(id) on delete cascade,
    -- The message it answers: a person's, or in a chain the reply of the
    -- agent that mentioned this one.
    reply_to_id      text not null references channel_messages(id) on delete cascade,
    status           text not null default 'pending'
        check (status in ('pending', 'streaming', 'complete', 'error', 'cancelled')),
    error            text,
    -- Agent chains, as messages.chain_root_id / chain_hop (00011): the
    -- person's message that started the chain, and this reply's hop.
    chain_root_id    text references channel_messages(id) on delete cascade,
    chain_hop        int not null default 0 check (chain_hop >= 0),
    -- The relay deployment (REDIS_PREFIX) whose Redis holds its live state
    -- (00005): each deployment's sweeper looks at its own.
    relay_deployment text not null,
    -- Queue order: replies of one send share its created_at.
    queue_seq        bigint generated always as identity,
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    first_chunk_at   timestamptz,
    ended_at         timestamptz
);
create index channel_replies_open_idx on channel_replies (relay_deployment, channel_id, queue_seq)
    where status in ('pending', 'streaming');
create index channel_replies_agent_idx on channel_replies (agent_id) where status = 'streaming';
create index channel_replies_chain_idx on channel_replies (chain_root_id) where chain_root_id is not null;

-- +goose Down
drop table channel_replies;
