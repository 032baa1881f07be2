-- +goose Up
-- Questions of agents without a socket (relay/PROTOCOL.md section 14): an A2A
-- task that ends input-required becomes an input request of its reply, and
-- the answer goes back into that very task. What answering it needs is kept
-- with the request, so that any relay instance can send the answer, also
-- after a restart: the agent's task and context ids, the A2A dialect the task
-- was started in, and the endpoint it lives at. All four are set together,
-- and only for such requests; a socket agent's requests have none.
alter table input_requests
    add column a2a_task_id text check (octet_length(a2a_task_id) between 1 and 1024),
    add column a2a_context_id text check (octet_length(a2a_context_id) <= 1024),
    add column a2a_dialect text check (a2a_dialect in ('1.0', '0.3', '0.1')),
    add column a2a_endpoint text,
    add constraint input_requests_a2a_all_or_none check (
        (a2a_task_id is null) = (a2a_context_id is null)
        and (a2a_task_id is null) = (a2a_dialect is null)
        and (a2a_task_id is null) = (a2a_endpoint is null));
-- What the relay's sweepers look for: settled A2A requests not yet sent back.
create index input_requests_a2a_unsent_idx on input_requests (resolved_at)
    where a2a_task_id is not null and state in ('answered', 'expired') and delivered_at is null;

-- +goose Down
drop index input_requests_a2a_unsent_idx;
alter table input_requests
    drop constraint input_requests_a2a_all_or_none,
    drop column a2a_endpoint,
    drop column a2a_dialect,
    drop column a2a_context_id,
    drop column a2a_task_id;
