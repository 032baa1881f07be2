package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Errors of membership changes that the caller may see but not make.
var (
	// ErrLastOwner: the only owner cannot leave or step down before making
	// someone else an owner.
	ErrLastOwner = errors.New("store: the last owner cannot leave")
	// ErrAlreadyMember: the user or agent is in the group already.
	ErrAlreadyMember = errors.New("store: already a member")
	// ErrGroupFull: the group has ari.MaxGroupMembers members.
	ErrGroupFull = errors.New("store: group is full")
)

// NewGroup is what a group starts with besides its creator.
type NewGroup struct {
	Title    string
	UserIDs  []string
	AgentIDs []string
}

// CreateGroup makes a group conversation whose owner is ownerID, with the
// given users and agents as members. An agent the owner may not talk to (not
// theirs and not public) is reported like an unknown one, as is an unknown
// user; nothing is created then. It returns the new conversation's id.
func (db *DB) CreateGroup(ctx context.Context, ownerID string, g NewGroup) (string, error) {
	var id string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `insert into conversations (kind, title, created_by)
			values ('group', $1, $2) returning id`, g.Title, ownerID).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into conversation_members (conversation_id, user_id, role)
			values ($1, $2, 'owner')`, id, ownerID); err != nil {
			return err
		}
		for _, u := range g.UserIDs {
			if u == ownerID {
				continue
			}
			if err := insertUserMember(ctx, tx, id, u); err != nil {
				return err
			}
		}
		for _, a := range g.AgentIDs {
			if err := insertAgentMember(ctx, tx, id, ownerID, a); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

func insertUserMember(ctx context.Context, tx pgx.Tx, conversationID, userID string) error {
	tag, err := tx.Exec(ctx, `insert into conversation_members (conversation_id, user_id)
		select $1, id from "user" where id = $2`, conversationID, userID)
	switch {
	case IsUniqueViolation(err, ""):
		return ErrAlreadyMember
	case err != nil:
		return err
	case tag.RowsAffected() == 0:
		return ari.NotFound("user")
	}
	return nil
}

// insertAgentMember adds an agent that adderID may talk to. The key-share lock
// keeps the agent from being deleted or made private between check and insert.
func insertAgentMember(ctx context.Context, tx pgx.Tx, conversationID, adderID, agentID string) error {
	var ok bool
	err := tx.QueryRow(ctx, `select true from agents where id = $1 and (owner_id = $2 or visibility = 'public')
		for key share`, agentID, adderID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return ari.NotFound("agent")
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conversationID, agentID)
	if IsUniqueViolation(err, "") {
		return ErrAlreadyMember
	}
	return err
}

const memberSelect = `select coalesce(cm.user_id, cm.agent_id),
		case when cm.user_id is null then 'agent' else 'user' end,
		coalesce(u.name, a.name, ''), coalesce(u.image, a.avatar_url), cm.role, cm.joined_at
	from conversation_members cm
	left join "user" u on u.id = cm.user_id
	left join agents a on a.id = cm.agent_id
	where cm.conversation_id = $1`

func scanMember(row pgx.Row) (ari.Member, error) {
	var m ari.Member
	err := row.Scan(&m.ID, &m.Kind, &m.Name, &m.Image, &m.Role, &m.JoinedAt)
	return m, err
}

// GroupMembers lists a group's members, owners first, then by joining. A
// conversation that is not a group, or that userID is not in, is ErrNotFound.
func (db *DB) GroupMembers(ctx context.Context, userID, conversationID string) ([]ari.Member, error) {
	if _, err := db.groupRole(ctx, db.Pool, userID, conversationID, false); err != nil {
		return nil, err
	}
	return groupMembers(ctx, db.Pool, conversationID)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func groupMembers(ctx context.Context, q querier, conversationID string) ([]ari.Member, error) {
	rows, err := q.Query(ctx, memberSelect+` order by case cm.role when 'owner' then 0 when 'admin' then 1 else 2 end,
		cm.joined_at, coalesce(cm.user_id, cm.agent_id)`, conversationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Member, error) { return scanMember(r) })
}

// groupRole returns userID's role in the group; lock takes the conversation
// row's lock so membership changes of one group happen one at a time (the
// last-owner rule depends on it).
func (db *DB) groupRole(ctx context.Context, q querier, userID, conversationID string, lock bool) (string, error) {
	sql := `select cm.role from conversations c
		join conversation_members cm on cm.conversation_id = c.id and cm.user_id = $1
		where c.id = $2 and c.kind = 'group'`
	if lock {
		sql += ` for update of c`
	}
	var role string
	err := q.QueryRow(ctx, sql, userID, conversationID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return role, err
}

// MemberChange is the result of a membership change: the member concerned
// and the users to tell (for a removal, the removed user too).
type MemberChange struct {
	Member ari.Member
	Notify []string
}

// AddGroupMember adds a user or an agent (exactly one of userID, agentID) to
// a group; only its owners and admins may (ErrNotAllowed for members). The
// agent must be one adderID may talk to.
func (db *DB) AddGroupMember(ctx context.Context, adderID, conversationID, userID, agentID string) (MemberChange, error) {
	var ch MemberChange
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		role, err := db.groupRole(ctx, tx, adderID, conversationID, true)
		if err != nil {
			return err
		}
		if role != RoleOwner && role != RoleAdmin {
			return ErrNotAllowed
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from conversation_members where conversation_id = $1`, conversationID).Scan(&n); err != nil {
			return err
		}
		if n >= ari.MaxGroupMembers {
			return ErrGroupFull
		}
		id := userID
		if agentID != "" {
			id = agentID
			err = insertAgentMember(ctx, tx, conversationID, adderID, agentID)
		} else {
			err = insertUserMember(ctx, tx, conversationID, userID)
		}
		if err != nil {
			return err
		}
		if ch.Member, err = scanMember(tx.QueryRow(ctx, memberSelect+` and coalesce(cm.user_id, cm.agent_id) = $2`, conversationID, id)); err != nil {
			return err
		}
		ch.Notify, err = memberUsers(ctx, tx, conversationID)
		return err
	})
	return ch, err
}

func memberUsers(ctx context.Context, q querier, conversationID string) ([]string, error) {
	rows, err := q.Query(ctx, `select user_id from conversation_members
		where conversation_id = $1 and user_id is not null order by joined_at, user_id`, conversationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// RemoveGroupMember removes memberID (a user's or an agent's id) from a group.
// Anyone may remove themselves, except the last owner (ErrLastOwner); owners
// and admins may remove others, but an admin may not remove an owner
// (ErrNotAllowed). An unknown member is ErrNotFound.
func (db *DB) RemoveGroupMember(ctx context.Context, callerID, conversationID, memberID string) (MemberChange, error) {
	var ch MemberChange
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		role, err := db.groupRole(ctx, tx, callerID, conversationID, true)
		if err != nil {
			return err
		}
		target, err := scanMember(tx.QueryRow(ctx, memberSelect+` and coalesce(cm.user_id, cm.agent_id) = $2`, conversationID, memberID))
		if errors.Is(err, pgx.ErrNoRows) {
			return ari.NotFound("member")
		}
		if err != nil {
			return err
		}
		self := target.Kind == ari.MemberUser && target.ID == callerID
		switch {
		case self && role == RoleOwner:
			if err := otherOwner(ctx, tx, conversationID, callerID); err != nil {
				return err
			}
		case self:
		case role != RoleOwner && role != RoleAdmin:
			return ErrNotAllowed
		case target.Role == RoleOwner && role != RoleOwner:
			return ErrNotAllowed
		}
		// Everyone who was in the group hears of it, the removed user too.
		if ch.Notify, err = memberUsers(ctx, tx, conversationID); err != nil {
			return err
		}
		ch.Member = target
		if target.Kind == ari.MemberAgent {
			_, err = tx.Exec(ctx, `delete from conversation_members where conversation_id = $1 and agent_id = $2`, conversationID, memberID)
			return err
		}
		if _, err := tx.Exec(ctx, `delete from conversation_members where conversation_id = $1 and user_id = $2`, conversationID, memberID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from conversation_reads where conversation_id = $1 and user_id = $2`, conversationID, memberID)
		return err
	})
	return ch, err
}

// otherOwner reports ErrLastOwner unless someone besides userID owns the group.
func otherOwner(ctx context.Context, q querier, conversationID, userID string) error {
	var n int
	if err := q.QueryRow(ctx, `select count(*) from conversation_members
		where conversation_id = $1 and role = 'owner' and user_id <> $2`, conversationID, userID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrLastOwner
	}
	return nil
}

// SetGroupRole gives a user member a role; only owners may, which is how an
// owner hands the group over before leaving. The last owner cannot step down
// (ErrLastOwner); an agent has no role to change (ErrNotAllowed).
func (db *DB) SetGroupRole(ctx context.Context, callerID, conversationID, memberID, newRole string) (MemberChange, error) {
	var ch MemberChange
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		role, err := db.groupRole(ctx, tx, callerID, conversationID, true)
		if err != nil {
			return err
		}
		target, err := scanMember(tx.QueryRow(ctx, memberSelect+` and coalesce(cm.user_id, cm.agent_id) = $2`, conversationID, memberID))
		if errors.Is(err, pgx.ErrNoRows) {
			return ari.NotFound("member")
		}
		if err != nil {
			return err
		}
		if role != RoleOwner || target.Kind != ari.MemberUser {
			return ErrNotAllowed
		}
		if target.ID == callerID && newRole != RoleOwner {
			if err := otherOwner(ctx, tx, conversationID, callerID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `update conversation_members set role = $3
			where conversation_id = $1 and user_id = $2`, conversationID, memberID, newRole); err != nil {
			return err
		}
		target.Role = newRole
		ch.Member = target
		ch.Notify, err = memberUsers(ctx, tx, conversationID)
		return err
	})
	return ch, err
}
