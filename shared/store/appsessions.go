package store

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

var (
	// ErrNotInstalled: the caller has not installed the app (or it does
	// not exist: the two are one answer).
	ErrNotInstalled = errors.New("store: app not installed")
	// ErrAgentNotMember: the agent named for a session is not in the conversation.
	ErrAgentNotMember = errors.New("store: agent not in the conversation")
	// ErrSessionOpen: the app is already open in the conversation.
	ErrSessionOpen = errors.New("store: app session already open")
	// ErrStaleVersion: the state changed since the version the caller read.
	ErrStaleVersion = errors.New("store: app session state changed")
)

// NewAppSession is what a member gives to open an app in a conversation.
type NewAppSession struct {
	AppID   string
	Mode    string
	AgentID *string
}

// appSessionSelect reads sessions (s) with what a client needs to run them.
const appSessionSelect = `select s.id, s.conversation_id, s.app_id, s.app_version_id, s.opened_by, s.agent_id, s.mode,
		s.state, s.version, s.created_at, s.updated_at, s.ended_at, s.ended_by,
		a.slug, a.name, v.version, coalesce(v.manifest->>'entryUrl', '')
	from app_sessions s join apps a on a.id = s.app_id join app_versions v on v.id = s.app_version_id`

// memberOfSession scopes a query on s to sessions of $1's conversations.
const memberOfSession = ` exists (select 1 from conversation_members m where m.conversation_id = s.conversation_id and m.user_id = $1)`

// sessionUsers lists the user members of session $1's conversation, to tell.
const sessionUsers = `select m.user_id from conversation_members m join app_sessions s on s.conversation_id = m.conversation_id
	where s.id = $1 and m.user_id is not null order by m.joined_at, m.user_id`

func scanAppSession(row pgx.Row) (ari.AppSessionView, error) {
	var v ari.AppSessionView
	s := &v.AppSession
	err := row.Scan(&s.ID, &s.ConversationID, &s.AppID, &s.AppVersionID, &s.OpenedBy, &s.AgentID, &s.Mode,
		&s.State, &s.Version, &s.CreatedAt, &s.UpdatedAt, &s.EndedAt, &s.EndedBy,
		&v.AppSlug, &v.AppName, &v.AppVersion, &v.EntryURL)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ErrNotFound
	}
	return v, err
}

func collectAppSessions(rows pgx.Rows, err error) ([]ari.AppSessionView, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.AppSessionView, error) { return scanAppSession(r) })
}

// OpenAppSession opens an app the caller installed in one of their
// conversations, on the app's latest published version, with an empty state
// at version 1, and returns it with the conversation's user members (to
// tell). Errors: ErrNotFound (not a member), ErrNotInstalled, ErrSuspended,
// ErrNoVersion, ErrAgentNotMember, ErrSessionOpen (the app is open there
// already; the database's unique index decides between concurrent opens).
func (db *DB) OpenAppSession(ctx context.Context, userID, convID string, n NewAppSession) (v ari.AppSessionView, users []string, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `select 1 from conversation_members where conversation_id = $1 and user_id = $2`, convID, userID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		var status string
		var version *string
		err = tx.QueryRow(ctx, `select a.status, (select v.id from app_versions v where v.app_id = a.id and v.published_at is not null
				order by v.published_at desc, v.id desc limit 1)
			from app_purchases p join apps a on a.id = p.app_id where p.user_id = $1 and p.app_id = $2`, userID, n.AppID).Scan(&status, &version)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrNotInstalled
		case err != nil:
			return err
		case status == ari.AppSuspended:
			return ErrSuspended
		case version == nil:
			return ErrNoVersion
		}
		if n.AgentID != nil {
			err := tx.QueryRow(ctx, `select 1 from conversation_members where conversation_id = $1 and agent_id = $2`, convID, *n.AgentID).Scan(&one)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrAgentNotMember
			} else if err != nil {
				return err
			}
		}
		var id string
		err = tx.QueryRow(ctx, `insert into app_sessions (conversation_id, app_id, app_version_id, opened_by, agent_id, mode)
			values ($1, $2, $3, $4, $5, $6) returning id`, convID, n.AppID, *version, userID, n.AgentID, n.Mode).Scan(&id)
		if IsUniqueViolation(err, "app_sessions_open_idx") {
			return ErrSessionOpen
		} else if err != nil {
			return err
		}
		if v, err = scanAppSession(tx.QueryRow(ctx, appSessionSelect+` where s.id = $1`, id)); err != nil {
			return err
		}
		users, err = textColumn(ctx, tx, sessionUsers, id)
		return err
	})
	if err != nil {
		return ari.AppSessionView{}, nil, err
	}
	return v, users, nil
}

// AppSessionFor returns a session of one of userID's conversations (open or
// ended), or ErrNotFound.
func (db *DB) AppSessionFor(ctx context.Context, userID, sessionID string) (ari.AppSessionView, error) {
	return scanAppSession(db.Pool.QueryRow(ctx, appSessionSelect+` where s.id = $2 and`+memberOfSession, userID, sessionID))
}

// ConversationAppSessions lists the open sessions of one of userID's
// conversations, oldest first (ErrNotFound when not a member). There is at
// most one per app.
func (db *DB) ConversationAppSessions(ctx context.Context, userID, convID string) ([]ari.AppSessionView, error) {
	if _, err := db.MemberRole(ctx, convID, userID); err != nil {
		return nil, err
	}
	return collectAppSessions(db.Pool.Query(ctx, appSessionSelect+`
		where s.conversation_id = $1 and s.ended_at is null order by s.created_at, s.id`, convID))
}

// MaxSyncAppSessions bounds the open sessions sync_result lists: each
// carries its state (up to appbridge.MaxStateBytes), so a user of many
// conversations with apps open would otherwise get megabytes on every sync.
const MaxSyncAppSessions = 100

// OpenAppSessionsFor lists the open sessions of all of userID's
// conversations (sync_result.appSessions), by conversation, oldest first:
// the limit (at most MaxSyncAppSessions) most recently changed.
func (db *DB) OpenAppSessionsFor(ctx context.Context, userID string, limit int) ([]ari.AppSessionView, error) {
	limit = max(0, min(limit, MaxSyncAppSessions))
	return collectAppSessions(db.Pool.Query(ctx, appSessionSelect+`
		where s.id in (select x.id from app_sessions x
			join conversation_members m on m.conversation_id = x.conversation_id and m.user_id = $1
			where x.ended_at is null order by x.updated_at desc, x.id desc limit $2)
		order by s.conversation_id, s.created_at, s.id`, userID, limit))
}

// lockedSession is a session row locked for change, with the caller's role
// in its conversation.
type lockedSession struct {
	openedBy *string
	ended    bool
	version  int64
	role     string
}

// lockSession reads a session of userID's conversations for update
// (ErrNotFound for anyone else's), so changes to one session are serialised.
func lockSession(ctx context.Context, tx pgx.Tx, userID, sessionID string) (lockedSession, error) {
	var l lockedSession
	err := tx.QueryRow(ctx, `select s.opened_by, s.ended_at is not null, s.version, m.role from app_sessions s
		join conversation_members m on m.conversation_id = s.conversation_id and m.user_id = $1
		where s.id = $2 for update of s`, userID, sessionID).Scan(&l.openedBy, &l.ended, &l.version, &l.role)
	if errors.Is(err, pgx.ErrNoRows) {
		err = ErrNotFound
	}
	return l, err
}

// UpdateAppSessionState replaces the state of an open session if its
// version is still version (optimistic concurrency: of two writes of the
// same version exactly one wins), bumps the version, and returns the session
// with the conversation's user members. ErrStaleVersion comes with the
// session as it is now (its version and state); ErrSessionEnded when it
// ended; ErrNotFound when the caller is not a member.
func (db *DB) UpdateAppSessionState(ctx context.Context, userID, sessionID string, version int64, state json.RawMessage) (ari.AppSessionView, []string, error) {
	var v ari.AppSessionView
	var users []string
	stale := false
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		l, err := lockSession(ctx, tx, userID, sessionID)
		switch {
		case err != nil:
			return err
		case l.ended:
			return ErrSessionEnded
		case l.version != version:
			stale = true
		default:
			if _, err := tx.Exec(ctx, `update app_sessions set state = $2, version = version + 1, updated_at = now() where id = $1`,
				sessionID, state); err != nil {
				return err
			}
			if users, err = textColumn(ctx, tx, sessionUsers, sessionID); err != nil {
				return err
			}
		}
		v, err = scanAppSession(tx.QueryRow(ctx, appSessionSelect+` where s.id = $1`, sessionID))
		return err
	})
	switch {
	case err != nil:
		return ari.AppSessionView{}, nil, err
	case stale:
		return v, nil, ErrStaleVersion
	}
	return v, users, nil
}

// EndAppSession ends a session; only its opener or the conversation's owner
// may (ErrNotAllowed, also for a session that has ended). ended is false
// when it had ended already (nothing changed, nobody to tell). users are the
// conversation's user members.
func (db *DB) EndAppSession(ctx context.Context, userID, sessionID string) (v ari.AppSessionView, users []string, ended bool, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		l, err := lockSession(ctx, tx, userID, sessionID)
		switch {
		case err != nil:
			return err
		case l.role != RoleOwner && (l.openedBy == nil || *l.openedBy != userID):
			return ErrNotAllowed
		case !l.ended:
			if _, err := tx.Exec(ctx, `update app_sessions set ended_at = now(), ended_by = $2, updated_at = now() where id = $1`,
				sessionID, userID); err != nil {
				return err
			}
			ended = true
			if users, err = textColumn(ctx, tx, sessionUsers, sessionID); err != nil {
				return err
			}
		}
		v, err = scanAppSession(tx.QueryRow(ctx, appSessionSelect+` where s.id = $1`, sessionID))
		return err
	})
	if err != nil {
		return ari.AppSessionView{}, nil, false, err
	}
	return v, users, ended, nil
}
