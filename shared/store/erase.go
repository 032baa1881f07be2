package store

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
)

// Erasure is what EraseUser did that the rest of the system must hear of
// after the commit: sessions and agents to cut off, objects to delete, and
// per conversation that lives on, what the other members must be told.
type Erasure struct {
	SessionIDs  []string
	AgentIDs    []string
	StorageKeys []string
	// Ended are conversations no other person was in: deleted whole.
	Ended []string
	// Changed are conversations that live on without the user.
	Changed []ErasedIn
}

// ErasedIn is one surviving conversation: who is left to tell, and what of
// the user went.
type ErasedIn struct {
	ConversationID string
	// Users are the remaining user members (to tell).
	Users []string
	// LeftUser: the user was a member; LeftAgents: the user's agents that were.
	LeftUser   bool
	LeftAgents []string
	// Tombstones are messages by the user or their agents emptied here
	// (they keep their seq); Reactions the user's reactions removed.
	Tombstones []Tombstone
	Reactions  []ErasedReaction
	// Successor is the member made owner because the user was its last
	// owner ("" when none was needed).
	Successor string
}

// Tombstone is an emptied message.
type Tombstone struct {
	MessageID string
	Seq       int64
}

// ErasedReaction is a removed reaction.
type ErasedReaction struct {
	MessageID, Emoji string
}

// EraseUser removes userID and everything of theirs in one transaction
// (README, "Deleting an account"):
//   - conversations where no other person is a member are deleted whole;
//   - in the others, the user's and their agents' messages become
//     tombstones (content, error and client id cleared, deleted_at set, seq
//     kept; an open reply of their agent ends cancelled), their reactions go,
//     and a group whose last owner they were gets the longest-standing admin,
//     else the longest-standing member, as its owner;
//   - community channel messages they or their agents wrote become tombstones,
//     and a community whose last owner they were gets a successor as a group does;
//   - apps they published that nobody else installed are deleted; the others
//     stay for the people who installed them, unpublished and without a
//     developer (their coins stay spent: the buyers' ledgers keep the debit);
//   - their uploads' rows, verification rows naming them, and then the user
//     row, whose cascades take sessions, accounts, agents (and the agents'
//     memberships), memberships, read marks, push subscriptions, preferences
//     and the rest.
//
// An unknown user is ErrNotFound.
func (db *DB) EraseUser(ctx context.Context, userID string) (Erasure, error) {
	var e Erasure
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		e = Erasure{}
		var one int
		if err := tx.QueryRow(ctx, `select 1 from "user" where id = $1 for update`, userID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var err error
		if e.AgentIDs, err = textColumn(ctx, tx, `select id from agents where owner_id = $1 order by id`, userID); err != nil {
			return err
		}
		// Conversations without another person end.
		if e.Ended, err = textColumn(ctx, tx, `delete from conversations c
			where exists (select 1 from conversation_members m where m.conversation_id = c.id and m.user_id = $1)
			  and not exists (select 1 from conversation_members m where m.conversation_id = c.id
			                  and m.user_id is not null and m.user_id <> $1)
			returning c.id`, userID); err != nil {
			return err
		}
		slices.Sort(e.Ended)
		changed := map[string]*ErasedIn{}
		in := func(conv string) *ErasedIn {
			c := changed[conv]
			if c == nil {
				c = &ErasedIn{ConversationID: conv}
				changed[conv] = c
			}
			return c
		}
		rows, err := tx.Query(ctx, `select conversation_id, coalesce(agent_id, '') from conversation_members
			where user_id = $1 or agent_id = any($2) order by conversation_id, agent_id nulls first`, userID, e.AgentIDs)
		if err != nil {
			return err
		}
		var conv, agent string
		if _, err := pgx.ForEachRow(rows, []any{&conv, &agent}, func() error {
			if agent == "" {
				in(conv).LeftUser = true
			} else {
				in(conv).LeftAgents = append(in(conv).LeftAgents, agent)
			}
			return nil
		}); err != nil {
			return err
		}
		// Groups whose only owner leaves get a successor.
		rows, err = tx.Query(ctx, `with orphaned as (
				select m.conversation_id from conversation_members m
				where m.user_id = $1 and m.role = 'owner'
				  and not exists (select 1 from conversation_members o where o.conversation_id = m.conversation_id
				                  and o.role = 'owner' and o.user_id is not null and o.user_id <> $1)),
			heir as (
				select distinct on (m.conversation_id) m.conversation_id, m.user_id from conversation_members m
				join orphaned o on o.conversation_id = m.conversation_id
				where m.user_id is not null and m.user_id <> $1
				order by m.conversation_id, case m.role when 'admin' then 0 else 1 end, m.joined_at, m.user_id)
			update conversation_members m set role = 'owner' from heir h
			where m.conversation_id = h.conversation_id and m.user_id = h.user_id
			returning m.conversation_id, m.user_id`, userID)
		if err != nil {
			return err
		}
		var heir string
		if _, err := pgx.ForEachRow(rows, []any{&conv, &heir}, func() error {
			in(conv).Successor = heir
			return nil
		}); err != nil {
			return err
		}
		// Communities whose only owner leaves get one too, by the same rule,
		// so a community is never left without someone to run it.
		if _, err := tx.Exec(ctx, `with orphaned as (
				select m.community_id from community_members m
				where m.user_id = $1 and m.role = 'owner'
				  and not exists (select 1 from community_members o where o.community_id = m.community_id
				                  and o.role = 'owner' and o.user_id <> $1)),
			heir as (
				select distinct on (m.community_id) m.community_id, m.user_id from community_members m
				join orphaned o on o.community_id = m.community_id
				where m.user_id <> $1
				order by m.community_id, case m.role when 'admin' then 0 else 1 end, m.joined_at, m.user_id),
			promoted as (
				update community_members m set role = 'owner' from heir h
				where m.community_id = h.community_id and m.user_id = h.user_id
				returning m.community_id, m.user_id)
			update communities c set owner_id = p.user_id, updated_at = now() from promoted p
			where c.id = p.community_id and c.owner_id = $1`, userID); err != nil {
			return err
		}
		// Tombstones: messages not yet deleted are told about; every one of
		// theirs is cleared either way.
		var seq int64
		var id string
		rows, err = tx.Query(ctx, `update messages set content = '', error = null, client_message_id = null,
				deleted_at = now(), updated_at = now(),
				status = case when status in ('pending', 'streaming', 'waiting_input') then 'cancelled' else status end
			where (sender_user_id = $1 or sender_agent_id = any($2)) and deleted_at is null
			returning conversation_id, id, seq`, userID, e.AgentIDs)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&conv, &id, &seq}, func() error {
			c := in(conv)
			c.Tombstones = append(c.Tombstones, Tombstone{MessageID: id, Seq: seq})
			return nil
		}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update messages set content = '', error = null, client_message_id = null
			where sender_user_id = $1 or sender_agent_id = any($2)`, userID, e.AgentIDs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update channel_messages set content = '', client_message_id = null, deleted_at = coalesce(deleted_at, now())
			where sender_user_id = $1 or sender_agent_id = any($2)`, userID, e.AgentIDs); err != nil {
			return err
		}
		var emoji string
		rows, err = tx.Query(ctx, `delete from message_reactions r using messages m
			where r.user_id = $1 and m.id = r.message_id
			returning m.conversation_id, r.message_id, r.emoji`, userID)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&conv, &id, &emoji}, func() error {
			c := in(conv)
			c.Reactions = append(c.Reactions, ErasedReaction{MessageID: id, Emoji: emoji})
			return nil
		}); err != nil {
			return err
		}
		if e.StorageKeys, err = textColumn(ctx, tx, `delete from attachments where owner_id = $1 returning storage_key`, userID); err != nil {
			return err
		}
		if e.SessionIDs, err = textColumn(ctx, tx, `delete from "session" where "userId" = $1 returning id`, userID); err != nil {
			return err
		}
		// Reset and delete-account tokens hold the id as their value; OAuth
		// link states hold it inside theirs.
		if _, err := tx.Exec(ctx, `delete from "verification" where value = $1 or strpos(value, $1) > 0`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from app_purchases where user_id = $1`, userID); err != nil {
			return err
		}
		// A developer's apps nobody else installed go; the ones people
		// installed stay for them, unpublished, and lose their developer
		// when developer_accounts cascades (apps.developer_id is set null).
		if _, err := tx.Exec(ctx, `delete from apps a using developer_accounts d
			where d.id = a.developer_id and d.user_id = $1
			  and not exists (select 1 from app_purchases p where p.app_id = a.id)`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update apps a set status = 'unpublished', updated_at = now() from developer_accounts d
			where d.id = a.developer_id and d.user_id = $1 and a.status = 'published'`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from "user" where id = $1`, userID); err != nil {
			return err
		}
		for conv, c := range changed {
			if slices.Contains(e.Ended, conv) {
				continue
			}
			if c.Users, err = textColumn(ctx, tx, `select user_id from conversation_members
				where conversation_id = $1 and user_id is not null order by user_id`, conv); err != nil {
				return err
			}
			e.Changed = append(e.Changed, *c)
		}
		slices.SortFunc(e.Changed, func(a, b ErasedIn) int {
			switch {
			case a.ConversationID < b.ConversationID:
				return -1
			case a.ConversationID > b.ConversationID:
				return 1
			}
			return 0
		})
		return nil
	})
	return e, err
}

// textColumn collects one text column.
func textColumn(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
