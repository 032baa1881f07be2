-- +goose Up
-- Mentions in community channels (relay/PROTOCOL.md section 18, "Mentions"):
-- a message that @mentions members records one row per member it names,
-- never one per member of the community; a member's read mark prunes theirs.

-- ari_handle is ari.AgentHandle in SQL (a person is mentioned by the handle
-- of their display name, as agents are): lower-case, every run of characters
-- outside [a-z0-9_-] one "-", trimmed of "-", at most 64 bytes. Go lowers
-- with Unicode's rules, which turn exactly two characters outside ASCII into
-- ASCII letters (U+0130 İ and U+212A Kelvin, chr 304 and 8490); the rest turn
-- into "-" either way, so translate covers every case without depending on
-- the database's locale.
-- TestHandleMatchesGo (shared/store) compares the two.
-- +goose StatementBegin
create function ari_handle(name text) returns text language sql immutable strict parallel safe as $$
    select rtrim(left(btrim(regexp_replace(
        translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' || chr(304) || chr(8490), 'abcdefghijklmnopqrstuvwxyzik'),
        '[^abcdefghijklmnopqrstuvwxyz0123456789_-]+', '-', 'g'), '-'), 64), '-')
$$;
-- +goose StatementEnd

-- Each member's handle, kept on the membership so that a mention is an index
-- lookup in one community (Better Auth's "user" table gets no index of ours).
-- Triggers keep it: on joining, and when a user's name changes (by our code or
-- a stock Better Auth server's).
alter table community_members add column handle text not null default '';
update community_members cm set handle = ari_handle(u.name) from "user" u where u.id = cm.user_id;
create index community_members_handle_idx on community_members (community_id, handle);
-- +goose StatementBegin
create function community_member_handle() returns trigger language plpgsql as $$
begin
    new.handle := coalesce((select ari_handle(name) from "user" where id = new.user_id), '');
    return new;
end;
$$;
-- +goose StatementEnd
create trigger community_members_handle before insert on community_members
    for each row execute function community_member_handle();
-- +goose StatementBegin
create function user_community_handles() returns trigger language plpgsql as $$
begin
    update community_members set handle = ari_handle(new.name) where user_id = new.id;
    return null;
end;
$$;
-- +goose StatementEnd
create trigger user_community_handles after update of name on "user"
    for each row when (old.name is distinct from new.name) execute function user_community_handles();

-- One row per member a message mentions, until the member's read mark passes
-- it (MarkChannelRead deletes it), the message is deleted or the member
-- leaves. Unread mentions = rows with seq > the member's last_read_seq.
create table channel_mentions (
    user_id     text not null references "user"(id) on delete cascade,
    channel_id  text not null references channels(id) on delete cascade,
    seq         bigint not null check (seq > 0),
    created_at  timestamptz not null default now(),
    primary key (user_id, channel_id, seq)
);
create index channel_mentions_channel_idx on channel_mentions (channel_id, seq);

-- Mute (push notifications only; mentions are still counted): a whole
-- community on the membership, one channel on the member's read row.
alter table community_members add column muted boolean not null default false;
alter table channel_reads add column muted boolean not null default false;

-- +goose Down
alter table channel_reads drop column muted;
alter table community_members drop column muted;
drop table channel_mentions;
drop trigger user_community_handles on "user";
drop function user_community_handles();
drop trigger community_members_handle on community_members;
drop function community_member_handle();
drop index community_members_handle_idx;
alter table community_members drop column handle;
drop function ari_handle(text);
