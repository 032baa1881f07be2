-- +goose Up
-- 00019 kept communities.member_count with a row trigger: one UPDATE of the
-- community's row per member inserted or deleted. In one statement that adds
-- many members (an import, a seed) that is quadratic — each update walks the
-- chain of the row's versions the statement made before it; 12 s for 10,000
-- members here — and leaves as many dead versions. Statement triggers with
-- transition tables update each community once per statement instead.
drop trigger community_members_count on community_members;
drop function community_member_count();

-- +goose StatementBegin
create function community_members_added() returns trigger language plpgsql as $$
begin
    update communities c set member_count = c.member_count + n.k
    from (select community_id, count(*)::int as k from added group by community_id) n
    where c.id = n.community_id;
    return null;
end;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
create function community_members_removed() returns trigger language plpgsql as $$
begin
    update communities c set member_count = c.member_count - n.k
    from (select community_id, count(*)::int as k from removed group by community_id) n
    where c.id = n.community_id;
    return null;
end;
$$;
-- +goose StatementEnd

create trigger community_members_count_added after insert on community_members
    referencing new table as added for each statement execute function community_members_added();
create trigger community_members_count_removed after delete on community_members
    referencing old table as removed for each statement execute function community_members_removed();

-- +goose Down
drop trigger community_members_count_removed on community_members;
drop trigger community_members_count_added on community_members;
drop function community_members_removed();
drop function community_members_added();

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
