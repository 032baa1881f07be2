package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// MemberAppSession returns a session of one of userID's conversations (open
// or ended) with its app's slug and its version's manifest, for the bridge;
// ErrNotFound for anyone else's and for an unknown id alike.
func (db *DB) MemberAppSession(ctx context.Context, userID, sessionID string) (AgentAppSession, error) {
	var v AgentAppSession
	s := &v.AppSession
	err := db.Pool.QueryRow(ctx, `select s.id, s.conversation_id, s.app_id, s.app_version_id, s.opened_by, s.agent_id, s.mode,
		s.state, s.version, s.created_at, s.updated_at, s.ended_at, s.ended_by,
		a.slug, a.name, v.version, coalesce(v.manifest->>'entryUrl', ''), v.manifest
	from app_sessions s join apps a on a.id = s.app_id join app_versions v on v.id = s.app_version_id
	where s.id = $2 and`+memberOfSession, userID, sessionID).Scan(&s.ID, &s.ConversationID, &s.AppID, &s.AppVersionID,
		&s.OpenedBy, &s.AgentID, &s.Mode, &s.State, &s.Version, &s.CreatedAt, &s.UpdatedAt, &s.EndedAt, &s.EndedBy,
		&v.AppSlug, &v.AppName, &v.AppVersion, &v.EntryURL, &v.Manifest)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ErrNotFound
	}
	return v, err
}

// NewAppEvent is an accepted action of a member or event of the app.
type NewAppEvent struct {
	SessionID, ClientID, Kind, Name string
	Data                            *string // JSON text
}

const appEventColumns = `e.id, e.session_id, e.conversation_id, e.user_id, e.client_id, e.kind, e.name, e.data, e.created_at`

func scanAppEvent(row pgx.Row) (ari.AppEvent, error) {
	var e ari.AppEvent
	err := row.Scan(&e.ID, &e.SessionID, &e.ConversationID, &e.UserID, &e.ClientID, &e.Kind, &e.Name, &e.Data, &e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, ErrNotFound
	}
	return e, err
}

// RecordAppEvent records an event of an open session of one of userID's
// conversations. The same client id again in the session returns the
// stored event with created false (whatever the rest says: the first
// report wins). A session that is not userID's to report on, or that has
// ended, is ErrNotFound.
func (db *DB) RecordAppEvent(ctx context.Context, userID string, n NewAppEvent) (e ari.AppEvent, created bool, err error) {
	e, err = scanAppEvent(db.Pool.QueryRow(ctx, `with e as (insert into app_events
		(session_id, conversation_id, user_id, client_id, kind, name, data)
		select s.id, s.conversation_id, $1, $3, $4, $5, $6 from app_sessions s
		where s.id = $2 and s.ended_at is null and`+memberOfSession+`
		on conflict (session_id, client_id) do nothing returning *) select `+appEventColumns+` from e`,
		userID, n.SessionID, n.ClientID, n.Kind, n.Name, n.Data))
	if !errors.Is(err, ErrNotFound) {
		return e, err == nil, err
	}
	e, err = scanAppEvent(db.Pool.QueryRow(ctx, `select `+appEventColumns+` from app_events e
		join app_sessions s on s.id = e.session_id
		where e.session_id = $2 and e.client_id = $3 and`+memberOfSession, userID, n.SessionID, n.ClientID))
	return e, false, err
}

// AgentOpenReplies lists the replies agentID is writing (or waiting on a
// person for) in the conversation: the tasks open there.
func (db *DB) AgentOpenReplies(ctx context.Context, agentID, convID string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `select id from messages where conversation_id = $2 and sender_agent_id = $1
		and status in ('streaming', 'waiting_input') order by seq`, agentID, convID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TaskAppEvent is an app event with its app's slug, for an agent's task.
type TaskAppEvent struct {
	ari.AppEvent
	AppSlug string
}

// TaskAppEvents lists the newest limit events, at or after since, of the
// conversation's sessions whose agent is agentID, oldest first.
func (db *DB) TaskAppEvents(ctx context.Context, agentID, convID string, since time.Time, limit int) ([]TaskAppEvent, error) {
	rows, err := db.Pool.Query(ctx, `select * from (select `+appEventColumns+`, a.slug from app_events e
		join app_sessions s on s.id = e.session_id join apps a on a.id = s.app_id
		where e.conversation_id = $2 and s.agent_id = $1 and e.created_at >= $3
		order by e.created_at desc, e.id desc limit $4) e order by e.created_at, e.id`, agentID, convID, since, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskAppEvent, error) {
		var e TaskAppEvent
		err := r.Scan(&e.ID, &e.SessionID, &e.ConversationID, &e.UserID, &e.ClientID, &e.Kind, &e.Name, &e.Data, &e.CreatedAt, &e.AppSlug)
		return e, err
	})
}
