-- +goose Up
-- App tables. Ids are text (uuid strings) so any id a client sends simply fails
-- to match (404) instead of raising a cast error. Users are Better Auth's "user".

create table agents (
    id               text primary key default gen_random_uuid()::text,
    owner_id         text not null references "user"(id) on delete cascade,
    name             text not null check (char_length(name) between 1 and 100),
    handle           text not null check (handle ~ '^[a-z0-9_-]{1,64}$'),
    description      text not null default '' check (char_length(description) <= 2000),
    avatar_url       text,
    a2a_endpoint     text,
    a2a_auth_header  text,
    visibility       text not null default 'private' check (visibility in ('private', 'public')),
    skills           jsonb not null default '[]'::jsonb,
    -- sha256 of the ari_ token; the token itself is shown once and never stored.
    token_hash       bytea not null unique,
    token_hint       text not null default '',
    last_seen_at     timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index agents_owner_idx on agents (owner_id, created_at desc);
create index agents_public_idx on agents (created_at desc) where visibility = 'public';

create table conversations (
    id               text primary key default gen_random_uuid()::text,
    kind             text not null check (kind in ('direct', 'group')),
    title            text not null default '' check (char_length(title) <= 200),
    created_by       text references "user"(id) on delete set null,
    -- the per-conversation counter: the next message takes last_seq + 1 under
    -- this row's lock, so seqs are gap-free even with concurrent senders.
    last_seq         bigint not null default 0,
    last_message_at  timestamptz,
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index conversations_activity_idx on conversations (coalesce(last_message_at, created_at) desc, id desc);

create table conversation_members (
    conversation_id  text not null references conversations(id) on delete cascade,
    member_id        text not null default gen_random_uuid()::text,
    user_id          text references "user"(id) on delete cascade,
    agent_id         text references agents(id) on delete cascade,
    role             text not null default 'member' check (role in ('owner', 'admin', 'member')),
    muted            boolean not null default false,
    joined_at        timestamptz not null default now(),
    primary key (conversation_id, member_id),
    check ((user_id is null) <> (agent_id is null))
);
create unique index conversation_members_user_uq on conversation_members (conversation_id, user_id) where user_id is not null;
create unique index conversation_members_agent_uq on conversation_members (conversation_id, agent_id) where agent_id is not null;
create index conversation_members_user_idx on conversation_members (user_id) where user_id is not null;
create index conversation_members_agent_idx on conversation_members (agent_id) where agent_id is not null;

create table messages (
    id                text primary key default gen_random_uuid()::text,
    conversation_id   text not null references conversations(id) on delete cascade,
    seq               bigint not null check (seq > 0),
    role              text not null check (role in ('user', 'agent', 'system')),
    sender_user_id    text references "user"(id) on delete set null,
    sender_agent_id   text references agents(id) on delete set null,
    content           text not null default '',
    status            text not null default 'complete'
                      check (status in ('pending', 'streaming', 'complete', 'error', 'cancelled')),
    error             text,
    client_message_id text,
    reply_to_id       text references messages(id) on delete set null,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    first_chunk_at    timestamptz,
    completed_at      timestamptz,
    deleted_at        timestamptz,
    search            tsvector generated always as (to_tsvector('simple', content)) stored,
    constraint messages_conversation_seq_uq unique (conversation_id, seq)
);
-- A retried send (same sender, same clientMessageId) finds the stored message.
create unique index messages_client_id_uq on messages (sender_user_id, client_message_id)
    where client_message_id is not null;
create index messages_search_idx on messages using gin (search) where deleted_at is null;
create index messages_agent_idx on messages (sender_agent_id, created_at desc) where sender_agent_id is not null;
create index messages_open_replies_idx on messages (conversation_id) where status in ('pending', 'streaming');

create table conversation_reads (
    conversation_id  text not null references conversations(id) on delete cascade,
    user_id          text not null references "user"(id) on delete cascade,
    last_read_seq    bigint not null default 0 check (last_read_seq >= 0),
    updated_at       timestamptz not null default now(),
    primary key (conversation_id, user_id)
);
create index conversation_reads_user_idx on conversation_reads (user_id);

create table message_reactions (
    message_id   text not null references messages(id) on delete cascade,
    user_id      text not null references "user"(id) on delete cascade,
    emoji        text not null check (char_length(emoji) between 1 and 32),
    created_at   timestamptz not null default now(),
    primary key (message_id, user_id, emoji)
);
create index message_reactions_message_idx on message_reactions (message_id, emoji);

create table attachments (
    id              text primary key default gen_random_uuid()::text,
    owner_id        text not null references "user"(id) on delete cascade,
    message_id      text references messages(id) on delete set null,
    storage_key     text not null unique,
    original_name   text not null default '' check (char_length(original_name) <= 255),
    content_type    text not null,
    size            bigint not null check (size > 0),
    status          text not null default 'pending' check (status in ('pending', 'ready')),
    url             text,
    created_at      timestamptz not null default now(),
    attached_at     timestamptz
);
create index attachments_owner_idx on attachments (owner_id, created_at desc);
create index attachments_message_idx on attachments (message_id) where message_id is not null;
create index attachments_orphan_idx on attachments (created_at) where message_id is null;

create table push_subscriptions (
    id            text primary key default gen_random_uuid()::text,
    user_id       text not null references "user"(id) on delete cascade,
    endpoint      text not null unique,
    p256dh        text not null,
    auth          text not null,
    user_agent    text not null default '',
    created_at    timestamptz not null default now(),
    last_used_at  timestamptz
);
create index push_subscriptions_user_idx on push_subscriptions (user_id);

create table notification_preferences (
    user_id         text primary key references "user"(id) on delete cascade,
    enabled         boolean not null default true,
    quiet_start     text check (quiet_start ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    quiet_end       text check (quiet_end ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    time_zone       text not null default 'UTC',
    agent_replies   boolean not null default true,
    group_messages  boolean not null default true,
    mentions        boolean not null default true,
    preview         boolean not null default true,
    updated_at      timestamptz not null default now()
);

create table communities (
    id           text primary key default gen_random_uuid()::text,
    owner_id     text references "user"(id) on delete set null,
    name         text not null check (char_length(name) between 1 and 100),
    slug         text not null unique check (slug ~ '^[a-z0-9-]{1,64}$'),
    description  text not null default '',
    visibility   text not null default 'public' check (visibility in ('private', 'public')),
    created_at   timestamptz not null default now()
);

create table channels (
    id            text primary key default gen_random_uuid()::text,
    community_id  text not null references communities(id) on delete cascade,
    name          text not null check (char_length(name) between 1 and 100),
    topic         text not null default '',
    position      integer not null default 0,
    last_seq      bigint not null default 0,
    created_at    timestamptz not null default now(),
    unique (community_id, name)
);

create table community_members (
    community_id  text not null references communities(id) on delete cascade,
    user_id       text not null references "user"(id) on delete cascade,
    role          text not null default 'member' check (role in ('owner', 'admin', 'member')),
    joined_at     timestamptz not null default now(),
    primary key (community_id, user_id)
);
create index community_members_user_idx on community_members (user_id);

create table channel_messages (
    id               text primary key default gen_random_uuid()::text,
    channel_id       text not null references channels(id) on delete cascade,
    seq              bigint not null check (seq > 0),
    sender_user_id   text references "user"(id) on delete set null,
    sender_agent_id  text references agents(id) on delete set null,
    content          text not null default '',
    created_at       timestamptz not null default now(),
    deleted_at       timestamptz,
    unique (channel_id, seq)
);

create table developer_accounts (
    id            text primary key default gen_random_uuid()::text,
    user_id       text not null unique references "user"(id) on delete cascade,
    display_name  text not null check (char_length(display_name) between 1 and 100),
    website       text,
    verified      boolean not null default false,
    created_at    timestamptz not null default now()
);

create table apps (
    id             text primary key default gen_random_uuid()::text,
    -- an app outlives nothing of its developer's: deleting the account removes it
    developer_id   text not null references developer_accounts(id) on delete cascade,
    slug           text not null unique check (slug ~ '^[a-z0-9-]{1,64}$'),
    name           text not null check (char_length(name) between 1 and 100),
    description    text not null default '',
    price_coins    bigint not null default 0 check (price_coins >= 0),
    status         text not null default 'draft' check (status in ('draft', 'published', 'suspended')),
    created_at     timestamptz not null default now()
);

create table app_versions (
    id            text primary key default gen_random_uuid()::text,
    app_id        text not null references apps(id) on delete cascade,
    version       text not null check (char_length(version) between 1 and 32),
    manifest      jsonb not null,
    created_at    timestamptz not null default now(),
    published_at  timestamptz,
    unique (app_id, version)
);

create table coin_balances (
    user_id     text primary key references "user"(id) on delete cascade,
    -- the database, not Go, guarantees a balance never goes below zero
    balance     bigint not null default 0 check (balance >= 0),
    updated_at  timestamptz not null default now()
);

create table coin_transactions (
    id             text primary key default gen_random_uuid()::text,
    user_id        text not null references "user"(id) on delete cascade,
    amount         bigint not null check (amount <> 0),
    reason         text not null check (reason in ('purchase', 'grant', 'refund', 'payout', 'adjustment')),
    reference_id   text,
    balance_after  bigint not null default 0 check (balance_after >= 0),
    created_at     timestamptz not null default now()
);
create index coin_transactions_user_idx on coin_transactions (user_id, created_at desc);

-- Every transaction moves the balance in the same statement; a debit past zero
-- violates coin_balances' check and the whole insert fails.
-- +goose StatementBegin
create function apply_coin_transaction() returns trigger language plpgsql as $$
begin
    insert into coin_balances (user_id) values (new.user_id) on conflict (user_id) do nothing;
    update coin_balances set balance = balance + new.amount, updated_at = now()
        where user_id = new.user_id
    returning balance into new.balance_after;
    return new;
end;
$$;
-- +goose StatementEnd
create trigger coin_transactions_apply before insert on coin_transactions
    for each row execute function apply_coin_transaction();

create table app_purchases (
    id              text primary key default gen_random_uuid()::text,
    user_id         text not null references "user"(id) on delete cascade,
    app_id          text not null references apps(id) on delete restrict,
    transaction_id  text not null unique references coin_transactions(id) on delete restrict,
    price_coins     bigint not null check (price_coins >= 0),
    created_at      timestamptz not null default now(),
    unique (user_id, app_id)
);

-- +goose Down
drop table app_purchases;
drop trigger coin_transactions_apply on coin_transactions;
drop function apply_coin_transaction();
drop table coin_transactions;
drop table coin_balances;
drop table app_versions;
drop table apps;
drop table developer_accounts;
drop table channel_messages;
drop table community_members;
drop table channels;
drop table communities;
drop table notification_preferences;
drop table push_subscriptions;
drop table attachments;
drop table message_reactions;
drop table conversation_reads;
drop table messages;
drop table conversation_members;
drop table conversations;
drop table agents;
