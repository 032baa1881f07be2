package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// NotificationPrefs returns the caller's notification preferences, or
// ari.DefaultNotificationPreferences when they never changed any.
func (db *DB) NotificationPrefs(ctx context.Context, userID string) (ari.NotificationPreferences, error) {
	var p ari.NotificationPreferences
	var start, end *string
	err := db.Pool.QueryRow(ctx, `select enabled, quiet_start, quiet_end, time_zone,
			agent_replies, group_messages, mentions, preview
		from notification_preferences where user_id = $1`, userID).
		Scan(&p.Enabled, &start, &end, &p.TimeZone, &p.AgentReplies, &p.GroupMessages, &p.Mentions, &p.Preview)
	if errors.Is(err, pgx.ErrNoRows) {
		return ari.DefaultNotificationPreferences(), nil
	}
	if err != nil {
		return ari.NotificationPreferences{}, err
	}
	p.QuietStart, p.QuietEnd = emptyIfNull(start), emptyIfNull(end)
	return p, nil
}

// PutNotificationPrefs stores the caller's preferences whole. The caller
// validates first (ari.NotificationPreferences.Validate); the table's checks are the last
// line. No quiet hours are stored as NULLs.
func (db *DB) PutNotificationPrefs(ctx context.Context, userID string, p ari.NotificationPreferences) error {
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
	_, err := db.Pool.Exec(ctx, `insert into notification_preferences
			(user_id, enabled, quiet_start, quiet_end, time_zone, agent_replies, group_messages, mentions, preview, updated_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())
		on conflict (user_id) do update set
			enabled = excluded.enabled, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
			time_zone = excluded.time_zone, agent_replies = excluded.agent_replies,
			group_messages = excluded.group_messages, mentions = excluded.mentions,
			preview = excluded.preview, updated_at = now()`,
		userID, p.Enabled, nullIfEmpty(p.QuietStart), nullIfEmpty(p.QuietEnd), p.TimeZone,
		p.AgentReplies, p.GroupMessages, p.Mentions, p.Preview)
	return err
}

// NotifyTarget is one user member of a conversation as the push trigger
// needs them: their preferences (defaults when none stored) and whether they
// muted the conversation.
type NotifyTarget struct {
	UserID string
	Name   string // display name: people are @mentioned by its handle
	Muted  bool
	Prefs  ari.NotificationPreferences
}

// NotifyConversation is what a notification says about the conversation.
type NotifyConversation struct {
	Kind  string
	Title string
}

// NotifyTargets returns the conversation and its user members except
// excludeUserID (the sender; "" excludes no one), in one query. ErrNotFound
// when the conversation does not exist.
func (db *DB) NotifyTargets(ctx context.Context, conversationID, excludeUserID string) (NotifyConversation, []NotifyTarget, error) {
	var conv NotifyConversation
	err := db.Pool.QueryRow(ctx, `select kind, title from conversations where id = $1`, conversationID).Scan(&conv.Kind, &conv.Title)
	if errors.Is(err, pgx.ErrNoRows) {
		return conv, nil, ErrNotFound
	}
	if err != nil {
		return conv, nil, err
	}
	d := ari.DefaultNotificationPreferences()
	rows, err := db.Pool.Query(ctx, `select cm.user_id, u.name, cm.muted,
			coalesce(p.enabled, $3), p.quiet_start, p.quiet_end, coalesce(p.time_zone, $4),
			coalesce(p.agent_replies, $5), coalesce(p.group_messages, $6),
			coalesce(p.mentions, $7), coalesce(p.preview, $8)
		from conversation_members cm
		join "user" u on u.id = cm.user_id
		left join notification_preferences p on p.user_id = cm.user_id
		where cm.conversation_id = $1 and cm.user_id is not null and cm.user_id <> $2
		order by cm.joined_at, cm.user_id`,
		conversationID, excludeUserID, d.Enabled, d.TimeZone, d.AgentReplies, d.GroupMessages, d.Mentions, d.Preview)
	if err != nil {
		return conv, nil, err
	}
	targets, err := pgx.CollectRows(rows, scanNotifyTarget)
	return conv, targets, err
}

// scanNotifyTarget reads a row of the targets queries: user id, name, muted,
// then the preferences (enabled, quiet start and end, time zone, agent
// replies, group messages, mentions, preview).
func scanNotifyTarget(r pgx.CollectableRow) (NotifyTarget, error) {
	var t NotifyTarget
	var start, end *string
	err := r.Scan(&t.UserID, &t.Name, &t.Muted, &t.Prefs.Enabled, &start, &end, &t.Prefs.TimeZone,
		&t.Prefs.AgentReplies, &t.Prefs.GroupMessages, &t.Prefs.Mentions, &t.Prefs.Preview)
	t.Prefs.QuietStart, t.Prefs.QuietEnd = emptyIfNull(start), emptyIfNull(end)
	return t, err
}

func emptyIfNull(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// AgentDisplayName is an agent's name as notifications show it; ErrNotFound
// when the agent is gone.
func (db *DB) AgentDisplayName(ctx context.Context, agentID string) (string, error) {
	var name string
	err := db.Pool.QueryRow(ctx, `select name from agents where id = $1`, agentID).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return name, err
}
