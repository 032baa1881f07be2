-- +goose Up
-- An A2A task waits in input-required for the answer to its question
-- (00022). When the request's row goes before that answer (or the task's
-- cancel) was sent — its conversation deleted, its user's account erased,
-- the reply message removed — nothing would ever tell the remote agent, and
-- its task would wait forever. This trigger keeps where the task lives, and
-- a relay's sweeper takes each row once and cancels the task (the dialect's
-- cancel call). agent_id is not a foreign key: the agent may be what is
-- being deleted (then the cancel finds no agent and is dropped).
create table a2a_abandoned_tasks (
    id          bigint generated always as identity primary key,
    agent_id    text not null,
    task_id     text not null,
    context_id  text not null,
    dialect     text not null,
    endpoint    text not null,
    created_at  timestamptz not null default now()
);

-- +goose StatementBegin
create function input_requests_abandon_a2a() returns trigger language plpgsql as $$
begin
    if old.a2a_task_id is not null and old.delivered_at is null and old.agent_id is not null then
        insert into a2a_abandoned_tasks (agent_id, task_id, context_id, dialect, endpoint)
        values (old.agent_id, old.a2a_task_id, coalesce(old.a2a_context_id, ''), old.a2a_dialect, old.a2a_endpoint);
    end if;
    return old;
end
$$;
-- +goose StatementEnd
create trigger input_requests_abandon_a2a before delete on input_requests
    for each row execute function input_requests_abandon_a2a();

-- +goose Down
drop trigger input_requests_abandon_a2a on input_requests;
drop function input_requests_abandon_a2a();
drop table a2a_abandoned_tasks;
