-- +goose Up
-- Apps, coins and app sessions made real (issue 14; README "Apps and agent
-- tools", relay/PROTOCOL.md section 15).

-- An app has an icon, is listed in the catalogue or only reachable by its id
-- (unlisted), and can be withdrawn by its developer (unpublished: out of the
-- catalogue, no new installs, its buyers keep it).
alter table apps
    add column icon_url   text check (icon_url is null or char_length(icon_url) <= 2048),
    add column visibility text not null default 'public' check (visibility in ('public', 'unlisted')),
    add column updated_at timestamptz not null default now();
alter table apps drop constraint apps_status_check;
alter table apps add constraint apps_status_check
    check (status in ('draft', 'published', 'unpublished', 'suspended'));

-- A developer who deletes their account leaves the apps people bought behind,
-- anonymised and unpublished, so the buyers keep what they paid for
-- (store.EraseUser deletes the apps nobody installed). Before, apps cascaded
-- from the account and app_purchases restricted the delete, so erasing a
-- developer whose app was bought failed.
alter table apps alter column developer_id drop not null;
alter table apps drop constraint apps_developer_id_fkey;
alter table apps add constraint apps_developer_id_fkey
    foreign key (developer_id) references developer_accounts(id) on delete set null;
create index apps_developer_idx on apps (developer_id, created_at desc, id desc);
-- The catalogue: published public apps, newest first.
create index apps_catalogue_idx on apps (created_at desc, id desc)
    where status = 'published' and visibility = 'public';

-- A published version never changes: a new manifest is a new version.
-- +goose StatementBegin
create function app_versions_immutable() returns trigger language plpgsql as $$
begin
    raise exception 'app versions are immutable' using errcode = 'check_violation';
end;
$$;
-- +goose StatementEnd
create trigger app_versions_no_update before update on app_versions
    for each row execute function app_versions_immutable();
create index app_versions_latest_idx on app_versions (app_id, published_at desc, id desc)
    where published_at is not null;

-- Every movement of coins carries the key its caller chose; a retry with the
-- same key finds the first movement instead of making a second. A sale is the
-- developer's side of a purchase.
alter table coin_transactions add column idempotency_key text
    check (idempotency_key is null or char_length(idempotency_key) between 1 and 100);
alter table coin_transactions add constraint coin_transactions_idempotency_key
    unique (user_id, idempotency_key);
alter table coin_transactions drop constraint coin_transactions_reason_check;
alter table coin_transactions add constraint coin_transactions_reason_check
    check (reason in ('purchase', 'sale', 'grant', 'refund', 'payout', 'adjustment'));

-- app_purchases is every install: a free app installs without a ledger entry
-- (no transaction), a paid one with the buyer's debit. The key makes a retried
-- install find the first.
alter table app_purchases alter column transaction_id drop not null;
alter table app_purchases add column idempotency_key text
    check (idempotency_key is null or char_length(idempotency_key) between 1 and 100);
alter table app_purchases add constraint app_purchases_idempotency_key
    unique (user_id, idempotency_key);
create index app_purchases_app_idx on app_purchases (app_id);

-- An app open in a conversation: which version, in which control mode, for
-- which agent, with the app's state document. version counts every state
-- change (optimistic concurrency: a write names the version it read).
create table app_sessions (
    id              text primary key default gen_random_uuid()::text,
    conversation_id text not null references conversations(id) on delete cascade,
    app_id          text not null references apps(id) on delete cascade,
    app_version_id  text not null references app_versions(id) on delete cascade,
    opened_by       text references "user"(id) on delete set null,
    agent_id        text references agents(id) on delete set null,
    mode            text not null check (mode in ('user_only', 'agent_only', 'shared')),
    state           jsonb not null default '{}'::jsonb,
    version         bigint not null default 1 check (version >= 1),
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    ended_at        timestamptz,
    ended_by        text references "user"(id) on delete set null
);
-- One open session per app and conversation.
create unique index app_sessions_open_idx on app_sessions (conversation_id, app_id) where ended_at is null;
create index app_sessions_conversation_idx on app_sessions (conversation_id, created_at desc);

-- +goose Down
drop table app_sessions;
drop index app_purchases_app_idx;
alter table app_purchases drop constraint app_purchases_idempotency_key;
alter table app_purchases drop column idempotency_key;
delete from app_purchases where transaction_id is null;
alter table app_purchases alter column transaction_id set not null;
alter table coin_transactions drop constraint coin_transactions_reason_check;
delete from coin_transactions where reason = 'sale';
alter table coin_transactions add constraint coin_transactions_reason_check
    check (reason in ('purchase', 'grant', 'refund', 'payout', 'adjustment'));
alter table coin_transactions drop constraint coin_transactions_idempotency_key;
alter table coin_transactions drop column idempotency_key;
drop index app_versions_latest_idx;
drop trigger app_versions_no_update on app_versions;
drop function app_versions_immutable();
drop index apps_catalogue_idx;
drop index apps_developer_idx;
delete from apps where developer_id is null;
alter table apps drop constraint apps_developer_id_fkey;
alter table apps add constraint apps_developer_id_fkey
    foreign key (developer_id) references developer_accounts(id) on delete cascade;
alter table apps alter column developer_id set not null;
update apps set status = 'draft' where status = 'unpublished';
alter table apps drop constraint apps_status_check;
alter table apps add constraint apps_status_check check (status in ('draft', 'published', 'suspended'));
alter table apps drop column updated_at, drop column visibility, drop column icon_url;
