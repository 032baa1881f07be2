-- +goose Up
-- Communities (functions/communities; README "Communities"): what 00002's
-- tables lacked. Every rule below is the database's, so two requests racing
-- on two Lambdas cannot break it.

-- A community's search vector (public ones are searched by name, slug and
-- description) and its member count, kept by a trigger so listing a
-- directory never counts rows of community_members.
alter table communities add column updated_at timestamptz not null default now();
alter table communities add column member_count int not null default 0 check (member_count >= 0);
alter table communities add column search tsvector generated always as
    (to_tsvector('simple', name || ' ' || replace(slug, '-', ' ') || ' ' || description)) stored;
alter table communities add constraint communities_description_len check (char_length(description) <= 2000);
create index communities_public_idx on communities (created_at desc, id desc) where visibility = 'public';
create index communities_public_search_idx on communities using gin (search) where visibility = 'public';

-- +goose StatementBegin
create function community_member_count() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update communities set member_count = member_count + 1 where id = new.community_id;
    else
        update communities set member_count = member_count - 1 where id = old.community_id;
    end if;
    return null;
end;
$$;
-- +goose StatementEnd
create trigger community_members_count after insert or delete on community_members
    for each row execute function community_member_count();

-- Members are paged by (joined_at, user_id).
create index community_members_page_idx on community_members (community_id, joined_at, user_id);

-- A banned user is no member and cannot become one again until unbanned:
-- the trigger refuses the insert whatever path (join, invite) attempts it.
create table community_bans (
    community_id  text not null references communities(id) on delete cascade,
    user_id       text not null references "user"(id) on delete cascade,
    banned_by     text references "user"(id) on delete set null,
    reason        text not null default '' check (char_length(reason) <= 500),
    created_at    timestamptz not null default now(),
    primary key (community_id, user_id)
);
-- +goose StatementBegin
create function community_members_not_banned() returns trigger language plpgsql as $$
begin
    if exists(select 1 from community_bans where community_id = new.community_id and user_id = new.user_id) then
        raise exception 'user % is banned from community %', new.user_id, new.community_id
            using errcode = 'P0001', constraint = 'community_members_not_banned';
    end if;
    return new;
end;
$$;
-- +goose StatementEnd
create trigger community_members_not_banned before insert on community_members
    for each row execute function community_members_not_banned();

-- Invite links: a code with an optional expiry and use limit, revocable.
-- Accepting one counts a use in the same statement that checks the limit.
create table community_invites (
    id            text primary key default gen_random_uuid()::text,
    community_id  text not null references communities(id) on delete cascade,
    code          text not null unique check (code ~ '^[A-Za-z0-9_-]{16,64}$'),
    created_by    text references "user"(id) on delete set null,
    expires_at    timestamptz,
    max_uses      int check (max_uses is null or max_uses between 1 and 100000),
    uses          int not null default 0 check (uses >= 0 and (max_uses is null or uses <= max_uses)),
    revoked_at    timestamptz,
    created_at    timestamptz not null default now()
);
create index community_invites_community_idx on community_invites (community_id, created_at desc);

-- Agents a community's admins added, and the channels each may answer in
-- (only a community's agent, only that community's channels).
create table community_agents (
    community_id  text not null references communities(id) on delete cascade,
    agent_id      text not null references agents(id) on delete cascade,
    added_by      text references "user"(id) on delete set null,
    created_at    timestamptz not null default now(),
    primary key (community_id, agent_id)
);
create index community_agents_agent_idx on community_agents (agent_id);
alter table channels add constraint channels_id_community_uq unique (id, community_id);
alter table channels add column updated_at timestamptz not null default now();
alter table channels add constraint channels_topic_len check (char_length(topic) <= 500);
create index channels_community_idx on channels (community_id, position, created_at);
create table channel_agents (
    channel_id    text not null,
    community_id  text not null,
    agent_id      text not null,
    created_at    timestamptz not null default now(),
    primary key (channel_id, agent_id),
    foreign key (channel_id, community_id) references channels (id, community_id) on delete cascade,
    foreign key (community_id, agent_id) references community_agents (community_id, agent_id) on delete cascade
);
create index channel_agents_agent_idx on channel_agents (community_id, agent_id);

-- Channel messages: idempotent sends, full-text search, reactions,
-- attachments, as for conversations. The gap-free seq comes from
-- channels.last_seq under the channel row's lock (UNIQUE(channel_id, seq)
-- from 00002 refuses a duplicate).
alter table channel_messages add column client_message_id text;
alter table channel_messages add column updated_at timestamptz not null default now();
alter table channel_messages add column deleted_by text references "user"(id) on delete set null;
alter table channel_messages add column search tsvector generated always as (to_tsvector('simple', content)) stored;
create unique index channel_messages_client_id_uq on channel_messages (sender_user_id, client_message_id)
    where client_message_id is not null;
-- A plain GIN index, as 00004 settled for messages: the planner ANDs it
-- with the (channel_id, seq) index for the channels searched.
create index channel_messages_search_idx on channel_messages using gin (search) where deleted_at is null;

create table channel_message_reactions (
    message_id   text not null references channel_messages(id) on delete cascade,
    user_id      text not null references "user"(id) on delete cascade,
    emoji        text not null check (char_length(emoji) between 1 and 64),
    created_at   timestamptz not null default now(),
    primary key (message_id, user_id, emoji)
);
create index channel_message_reactions_message_idx on channel_message_reactions (message_id, emoji);

alter table attachments add column channel_message_id text references channel_messages(id) on delete set null;
alter table attachments add constraint attachments_one_message check (message_id is null or channel_message_id is null);
create index attachments_channel_message_idx on attachments (channel_message_id) where channel_message_id is not null;
drop index attachments_orphan_idx;
create index attachments_orphan_idx on attachments (created_at) where message_id is null and channel_message_id is null;

-- Unread state: one row per member and channel, moved forward on read;
-- never a row per member per message. Unread = channels.last_seq - last_read_seq.
create table channel_reads (
    channel_id     text not null references channels(id) on delete cascade,
    user_id        text not null references "user"(id) on delete cascade,
    last_read_seq  bigint not null default 0 check (last_read_seq >= 0),
    updated_at     timestamptz not null default now(),
    primary key (channel_id, user_id)
);
create index channel_reads_user_idx on channel_reads (user_id);

-- +goose Down
drop table channel_reads;
drop index attachments_orphan_idx;
create index attachments_orphan_idx on attachments (created_at) where message_id is null;
drop index attachments_channel_message_idx;
alter table attachments drop constraint attachments_one_message;
alter table attachments drop column channel_message_id;
drop table channel_message_reactions;
drop index channel_messages_search_idx;
drop index channel_messages_client_id_uq;
alter table channel_messages drop column search;
alter table channel_messages drop column deleted_by;
alter table channel_messages drop column updated_at;
alter table channel_messages drop column client_message_id;
drop table channel_agents;
drop index channels_community_idx;
alter table channels drop constraint channels_topic_len;
alter table channels drop column updated_at;
alter table channels drop constraint channels_id_community_uq;
drop table community_agents;
drop table community_invites;
drop trigger community_members_not_banned on community_members;
drop function community_members_not_banned();
drop table community_bans;
drop index community_members_page_idx;
drop trigger community_members_count on community_members;
drop function community_member_count();
drop index communities_public_search_idx;
drop index communities_public_idx;
alter table communities drop constraint communities_description_len;
alter table communities drop column search;
alter table communities drop column member_count;
alter table communities drop column updated_at;
