-- +goose Up
-- Messages agents start (relay/PROTOCOL.md section 9, agent_message; REST
-- POST /api/agent/messages) carry the agent's clientMessageId: a retry finds
-- the stored message, so the database, not the caller, keeps a send
-- idempotent. Replies never carry one, so they are outside this index.
create unique index messages_agent_client_id_uq on messages (sender_agent_id, client_message_id)
    where client_message_id is not null and sender_agent_id is not null;

-- +goose Down
drop index messages_agent_client_id_uq;
