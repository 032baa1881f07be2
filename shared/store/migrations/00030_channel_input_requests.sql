-- +goose Up
-- Questions and approvals in community channels (relay/PROTOCOL.md section
-- 18, "Agents in channels"): an agent writing a channel reply asks the
-- channel's people, as in a conversation (00020). A request belongs to a
-- conversation's reply (message_id, conversation_id) or to a channel's
-- (channel_reply_id, channel_id), never both; the reply waits with status
-- waiting_input in either table.
alter table input_requests
    alter column message_id drop not null,
    alter column conversation_id drop not null,
    add column channel_reply_id text references channel_replies(id) on delete cascade,
    add column channel_id text references channels(id) on delete cascade,
    add constraint input_requests_one_place check (
        (message_id is not null and conversation_id is not null and channel_reply_id is null and channel_id is null)
        or (message_id is null and conversation_id is null and channel_reply_id is not null and channel_id is not null));
-- One open request per channel reply, as per conversation reply.
create unique index input_requests_open_channel_reply_uq on input_requests (channel_reply_id) where state = 'open';
create index input_requests_channel_reply_idx on input_requests (channel_reply_id) where channel_reply_id is not null;
create index input_requests_channel_idx on input_requests (channel_id, created_at) where state = 'open' and channel_id is not null;

alter table channel_replies drop constraint channel_replies_status_check,
    add constraint channel_replies_status_check
        check (status in ('pending', 'streaming', 'waiting_input', 'complete', 'error', 'cancelled'));
drop index channel_replies_open_idx;
create index channel_replies_open_idx on channel_replies (relay_deployment, channel_id, queue_seq)
    where status in ('pending', 'streaming', 'waiting_input');
drop index channel_replies_agent_idx;
create index channel_replies_agent_idx on channel_replies (agent_id) where status in ('streaming', 'waiting_input');

-- +goose Down
drop index channel_replies_agent_idx;
create index channel_replies_agent_idx on channel_replies (agent_id) where status = 'streaming';
drop index channel_replies_open_idx;
create index channel_replies_open_idx on channel_replies (relay_deployment, channel_id, queue_seq)
    where status in ('pending', 'streaming');
update channel_replies set status = 'cancelled', ended_at = now() where status = 'waiting_input';
alter table channel_replies drop constraint channel_replies_status_check,
    add constraint channel_replies_status_check
        check (status in ('pending', 'streaming', 'complete', 'error', 'cancelled'));
delete from input_requests where channel_reply_id is not null;
alter table input_requests
    drop constraint input_requests_one_place,
    drop column channel_id,
    drop column channel_reply_id,
    alter column conversation_id set not null,
    alter column message_id set not null;
