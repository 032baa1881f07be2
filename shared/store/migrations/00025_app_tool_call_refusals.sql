-- +goose Up
-- Every tool call is a row (issue 14 item 4), a refused one too: refused
-- before it reached the app (the bridge's codes, app_unavailable), answered
-- and given to the agent at once; the same call again is answered from it.
alter table app_tool_calls drop constraint app_tool_calls_state_check;
alter table app_tool_calls add constraint app_tool_calls_state_check
    check (state in ('pending', 'answered', 'expired', 'refused'));

-- +goose Down
delete from app_tool_calls where state = 'refused';
alter table app_tool_calls drop constraint app_tool_calls_state_check;
alter table app_tool_calls add constraint app_tool_calls_state_check
    check (state in ('pending', 'answered', 'expired'));
