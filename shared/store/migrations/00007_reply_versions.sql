-- +goose Up
-- Regenerate (relay/PROTOCOL.md section 10): a new answer to the latest
-- message from a person is a new reply row with the next seq, replying to the
-- same message, from the same agent. The replies of one agent to one message
-- are its versions: version 1 is the first answer, each regenerate the next;
-- older versions are marked superseded (history leaves them out unless asked
-- for every version). The columns mean something for replies only.
alter table messages add column version int not null default 1 check (version >= 1);
alter table messages add column superseded boolean not null default false;
create index messages_reply_to_idx on messages (reply_to_id, sender_agent_id) where reply_to_id is not null;
-- One regenerated reply open (pending or streaming) per conversation at a time.
create unique index messages_one_regenerate_uq on messages (conversation_id)
    where version > 1 and status in ('pending', 'streaming');

-- +goose Down
drop index messages_one_regenerate_uq;
drop index messages_reply_to_idx;
alter table messages drop column superseded;
alter table messages drop column version;
