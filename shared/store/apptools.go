package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// AgentAppSession is an open app session an agent works with, with the
// manifest of its version: what the relay turns into the tools of the
// agent's tasks (shared/appbridge).
type AgentAppSession struct {
	ari.AppSessionView
	Manifest json.RawMessage
}

// AgentAppSessions lists the sessions open in the conversation that name
// agentID as their agent, oldest first (so the tools of a task keep their
// order from one task to the next). OpenedBy is nil when the member who
// opened the session has left the conversation (or was removed): nobody
// runs the app for the agent any more.
func (db *DB) AgentAppSessions(ctx context.Context, agentID, convID string) ([]AgentAppSession, error) {
	rows, err := db.Pool.Query(ctx, `select s.id, s.conversation_id, s.app_id, s.app_version_id,
		case when exists (select 1 from conversation_members m where m.conversation_id = s.conversation_id and m.user_id = s.opened_by)
			then s.opened_by end, s.agent_id, s.mode,
		s.state, s.version, s.created_at, s.updated_at, s.ended_at, s.ended_by,
		a.slug, a.name, v.version, coalesce(v.manifest->>'entryUrl', ''), v.manifest
	from app_sessions s join apps a on a.id = s.app_id join app_versions v on v.id = s.app_version_id
	where s.agent_id = $1 and s.conversation_id = $2 and s.ended_at is null
	order by s.created_at, s.id`, agentID, convID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentAppSession, error) {
		var v AgentAppSession
		s := &v.AppSession
		err := r.Scan(&s.ID, &s.ConversationID, &s.AppID, &s.AppVersionID, &s.OpenedBy, &s.AgentID, &s.Mode,
			&s.State, &s.Version, &s.CreatedAt, &s.UpdatedAt, &s.EndedAt, &s.EndedBy,
			&v.AppSlug, &v.AppName, &v.AppVersion, &v.EntryURL, &v.Manifest)
		return v, err
	})
}

var (
	// ErrCallIDInUse: the session already has a call with this id, made
	// for another reply.
	ErrCallIDInUse = errors.New("store: tool call id in use")
	// ErrCallClosed: the call was answered already or expired.
	ErrCallClosed = errors.New("store: tool call answered or expired")
)

// NewToolCall is an accepted tool call to record.
type NewToolCall struct {
	SessionID, ReplyID, AgentID, CallID, Action string
	Arguments                                   json.RawMessage
	Expires                                     time.Time
}

const toolCallSelect = `select c.id, c.session_id, c.reply_id, c.agent_id, c.call_id, c.action, c.arguments, c.state,
	c.result, c.error_code, c.error_message, c.created_at, c.expires_at, c.answered_at, c.delivered_at from app_tool_calls c`

func scanToolCall(row pgx.Row) (ari.AppToolCall, error) {
	var c ari.AppToolCall
	err := row.Scan(&c.ID, &c.SessionID, &c.ReplyID, &c.AgentID, &c.CallID, &c.Action, &c.Arguments, &c.State,
		&c.Result, &c.ErrorCode, &c.ErrorMessage, &c.CreatedAt, &c.ExpiresAt, &c.AnsweredAt, &c.DeliveredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}

// CreateToolCall records an accepted call, pending until Expires. The same
// call again (same session, call id and reply: the agent sent it twice)
// returns the stored one with created false; a call id the session used for
// another reply is ErrCallIDInUse.
func (db *DB) CreateToolCall(ctx context.Context, n NewToolCall) (c ari.AppToolCall, created bool, err error) {
	c, err = scanToolCall(db.Pool.QueryRow(ctx, `with c as (insert into app_tool_calls
		(session_id, reply_id, agent_id, call_id, action, arguments, expires_at) values ($1, $2, $3, $4, $5, $6, $7)
		on conflict (session_id, call_id) do nothing returning *) `+
		`select c.id, c.session_id, c.reply_id, c.agent_id, c.call_id, c.action, c.arguments, c.state,
	c.result, c.error_code, c.error_message, c.created_at, c.expires_at, c.answered_at, c.delivered_at from c`,
		n.SessionID, n.ReplyID, n.AgentID, n.CallID, n.Action, string(n.Arguments), n.Expires))
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	c, err = scanToolCall(db.Pool.QueryRow(ctx, toolCallSelect+` where c.session_id = $1 and c.call_id = $2`, n.SessionID, n.CallID))
	if err == nil && (c.ReplyID != n.ReplyID || c.AgentID != n.AgentID) {
		return ari.AppToolCall{}, false, ErrCallIDInUse
	}
	return c, false, err
}

// RefuseToolCall records a call refused before it reached the app, with
// its error, as answered and given to the agent (the refusal goes back on
// the socket at once). The same call again returns the stored one with
// created false; a call id the session used for another reply is
// ErrCallIDInUse.
func (db *DB) RefuseToolCall(ctx context.Context, n NewToolCall, code, message string) (c ari.AppToolCall, created bool, err error) {
	c, err = scanToolCall(db.Pool.QueryRow(ctx, `with c as (insert into app_tool_calls
		(session_id, reply_id, agent_id, call_id, action, arguments, expires_at, state, error_code, error_message, answered_at, delivered_at)
		values ($1, $2, $3, $4, $5, $6, now(), 'refused', $7, $8, now(), now())
		on conflict (session_id, call_id) do nothing returning *) `+
		`select c.id, c.session_id, c.reply_id, c.agent_id, c.call_id, c.action, c.arguments, c.state,
	c.result, c.error_code, c.error_message, c.created_at, c.expires_at, c.answered_at, c.delivered_at from c`,
		n.SessionID, n.ReplyID, n.AgentID, n.CallID, n.Action, string(n.Arguments), code, message))
	if err == nil {
		return c, true, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return c, false, err
	}
	c, err = db.SessionToolCall(ctx, n.AgentID, n.ReplyID, n.SessionID, n.CallID)
	return c, false, err
}

// SessionToolCall returns the session's call callID made for the agent's
// reply: ErrNotFound when there is none, ErrCallIDInUse when the id names a
// call of another reply.
func (db *DB) SessionToolCall(ctx context.Context, agentID, replyID, sessionID, callID string) (ari.AppToolCall, error) {
	c, err := scanToolCall(db.Pool.QueryRow(ctx, toolCallSelect+` where c.session_id = $1 and c.call_id = $2`, sessionID, callID))
	if err == nil && (c.ReplyID != replyID || c.AgentID != agentID) {
		return ari.AppToolCall{}, ErrCallIDInUse
	}
	return c, err
}

// AnswerToolCall records the answer of the client running the app: userID
// must have opened the session and still be a member of its conversation. Exactly one of result (JSON text) and
// errCode is set. The first answer wins; later ones are ErrCallClosed. A
// call that is not userID's to answer is ErrNotFound.
func (db *DB) AnswerToolCall(ctx context.Context, userID, sessionID, callID string, result *string, errCode, errMessage *string) (ari.AppToolCall, error) {
	c, err := scanToolCall(db.Pool.QueryRow(ctx, `with c as (update app_tool_calls c set state = 'answered', result = $4,
		error_code = $5, error_message = $6, answered_at = now()
		from app_sessions s where s.id = c.session_id and s.opened_by = $1 and c.session_id = $2 and c.call_id = $3
		and c.state = 'pending' and`+memberOfSession+` returning c.*) select c.id, c.session_id, c.reply_id, c.agent_id, c.call_id, c.action, c.arguments, c.state,
	c.result, c.error_code, c.error_message, c.created_at, c.expires_at, c.answered_at, c.delivered_at from c`,
		userID, sessionID, callID, result, errCode, errMessage))
	if !errors.Is(err, ErrNotFound) {
		return c, err
	}
	var exists bool
	if err := db.Pool.QueryRow(ctx, `select exists (select 1 from app_tool_calls c join app_sessions s on s.id = c.session_id
		where s.opened_by = $1 and c.session_id = $2 and c.call_id = $3 and`+memberOfSession+`)`, userID, sessionID, callID).Scan(&exists); err != nil {
		return c, err
	}
	if exists {
		return c, ErrCallClosed
	}
	return c, ErrNotFound
}

// ExpireToolCalls ends the agent's pending calls whose time is up (id
// names one, "" all of them) with error code, and returns the ids it ended.
func (db *DB) ExpireToolCalls(ctx context.Context, agentID, id, code, message string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `update app_tool_calls set state = 'expired', error_code = $3, error_message = $4, answered_at = now()
		where agent_id = $1 and ($2 = '' or id = $2) and state = 'pending' and expires_at <= now() returning id`, agentID, id, code, message)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// UndeliveredToolResults lists the agent's answered or expired calls whose
// result it has not been given (id names one, "" all), oldest first.
func (db *DB) UndeliveredToolResults(ctx context.Context, agentID, id string) ([]ari.AppToolCall, error) {
	rows, err := db.Pool.Query(ctx, toolCallSelect+` where c.agent_id = $1 and ($2 = '' or c.id = $2)
		and c.state <> 'pending' and c.delivered_at is null order by c.answered_at, c.id`, agentID, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.AppToolCall, error) { return scanToolCall(r) })
}

// ToolResultDelivered records that the agent was given the call's result;
// false: it had been already.
func (db *DB) ToolResultDelivered(ctx context.Context, agentID, id string) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `update app_tool_calls set delivered_at = now()
		where agent_id = $1 and id = $2 and state <> 'pending' and delivered_at is null`, agentID, id)
	return tag.RowsAffected() == 1, err
}

// PendingToolCallsFor lists the pending calls of the sessions userID opened
// in conversations they are still a member of (the client running the app
// answers them), oldest first.
func (db *DB) PendingToolCallsFor(ctx context.Context, userID string) ([]ari.AppToolCall, error) {
	rows, err := db.Pool.Query(ctx, toolCallSelect+` join app_sessions s on s.id = c.session_id
		where s.opened_by = $1 and s.ended_at is null and c.state = 'pending' and c.expires_at > now() and`+memberOfSession+`
		order by c.created_at, c.id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.AppToolCall, error) { return scanToolCall(r) })
}

// OverdueToolCall is a call the sweeper expired: its row and its agent.
type OverdueToolCall struct {
	ID, AgentID string
}

// ExpireOverdueToolCalls ends, with error code, every pending call of the
// deployment's replies whose time is up, and returns them. Each call is
// ended once, by whichever caller (this sweep on any instance, or the
// timer of the instance that took the call) gets there first.
func (db *DB) ExpireOverdueToolCalls(ctx context.Context, deployment, code, message string) ([]OverdueToolCall, error) {
	rows, err := db.Pool.Query(ctx, `update app_tool_calls c set state = 'expired', error_code = $2, error_message = $3, answered_at = now()
		from messages m where m.id = c.reply_id and (m.relay_deployment = $1 or m.relay_deployment is null)
		and c.state = 'pending' and c.expires_at <= now() returning c.id, c.agent_id`, deployment, code, message)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[OverdueToolCall])
}
