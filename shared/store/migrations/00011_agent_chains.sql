-- +goose Up
-- Agents that address agents (relay/PROTOCOL.md section 13): in a group, an
-- agent's finished reply that @mentions another agent member gives that
-- agent a reply too. Each person's message starts a chain; chain_hops is the
-- conversation's budget of agent-to-agent hops per chain (0 turns chains
-- off), and a chain makes at most twice that many replies in all.
-- A reply an agent's mention caused records its chain: chain_root_id is the
-- person's message that started it, chain_hop its distance from that
-- message (1 for the first agent-to-agent hop; replies to a person keep 0
-- and no root). Every relay instance reads the budget from these rows under
-- the conversation row's lock, so no instance's memory holds a chain.
alter table conversations add column chain_hops int not null default 4
    check (chain_hops between 0 and 16);
alter table messages add column chain_hop int not null default 0 check (chain_hop >= 0);
alter table messages add column chain_root_id text references messages (id) on delete set null;
create index messages_chain_root_idx on messages (chain_root_id) where chain_root_id is not null;

-- +goose Down
drop index messages_chain_root_idx;
alter table messages drop column chain_root_id;
alter table messages drop column chain_hop;
alter table conversations drop column chain_hops;
