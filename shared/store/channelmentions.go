package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Mentions in community channels: a message that @mentions members by
// their handle (ari.Mentions; a member's handle is ari.AgentHandle of their
// name, kept on community_members by triggers, migration 00026) records one
// channel_mentions row per member it names, in the send's transaction. Cost
// grows with the people mentioned, never with the community: the members
// are found by the (community_id, handle) index. A member's read mark
// prunes their rows (MarkChannelRead), so the table holds unread mentions.

// MaxMentionHandles bounds the different @handles of one channel message
// that are looked up as people: the first ones count, the rest are text.
const MaxMentionHandles = 20

// recordMentions stores the mentions of the message at seq for the members
// of the channel's community that content names (never the sender) and
// returns their user ids.
func recordMentions(ctx context.Context, tx pgx.Tx, senderID, channelID string, seq int64, content string) ([]string, error) {
	handles := ari.Mentions(content)
	if len(handles) == 0 {
		return nil, nil
	}
	if len(handles) > MaxMentionHandles {
		handles = handles[:MaxMentionHandles]
	}
	rows, err := tx.Query(ctx, `insert into channel_mentions (user_id, channel_id, seq)
		select cm.user_id, ch.id, $3 from channels ch
		join community_members cm on cm.community_id = ch.community_id and cm.handle = any($4)
		where ch.id = $2 and cm.user_id <> $1
		on conflict do nothing
		returning user_id`, senderID, channelID, seq, handles)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// mentionCountOf is the caller's ($1) unread mentions in channel ch, whose
// read mark is joined as r (channelSelect).
const mentionCountOf = `(select count(*) from channel_mentions mn
	where mn.user_id = $1 and mn.channel_id = ch.id and mn.seq > coalesce(r.last_read_seq, 0))`

// SetCommunityMuted mutes or unmutes the community's push notifications
// for the caller (members only): no push for any of its channels, mentions
// still counted.
func (db *DB) SetCommunityMuted(ctx context.Context, userID, communityID string, muted bool) (ari.Community, error) {
	if _, err := member(ctx, db.Pool, userID, communityID, false); err != nil {
		return ari.Community{}, err
	}
	if _, err := db.Pool.Exec(ctx, `update community_members set muted = $3 where community_id = $1 and user_id = $2`,
		communityID, userID, muted); err != nil {
		return ari.Community{}, err
	}
	return db.Community(ctx, userID, communityID)
}

// SetChannelMuted mutes or unmutes one channel's push notifications for
// the caller (members of its community), on the caller's read row.
func (db *DB) SetChannelMuted(ctx context.Context, userID, channelID string, muted bool) (ari.Channel, error) {
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, false); err != nil {
		return ari.Channel{}, err
	}
	if _, err := db.Pool.Exec(ctx, `insert into channel_reads (channel_id, user_id, muted) values ($1, $2, $3)
		on conflict (channel_id, user_id) do update set muted = excluded.muted, updated_at = now()`,
		channelID, userID, muted); err != nil {
		return ari.Channel{}, err
	}
	return db.Channel(ctx, userID, channelID)
}

// NotifyChannel is what a notification says about a channel.
type NotifyChannel struct {
	Name, CommunityID, CommunityName string
}

// ChannelMentionTargets returns the channel and, of userIDs, those still
// members of its community, with their preferences (defaults when none)
// and whether they muted the channel or the community (Muted), in one
// query each. ErrNotFound when the channel is gone.
func (db *DB) ChannelMentionTargets(ctx context.Context, channelID string, userIDs []string) (NotifyChannel, []NotifyTarget, error) {
	var ch NotifyChannel
	err := db.Pool.QueryRow(ctx, `select ch.name, c.id, c.name from channels ch join communities c on c.id = ch.community_id
		where ch.id = $1`, channelID).Scan(&ch.Name, &ch.CommunityID, &ch.CommunityName)
	if errors.Is(err, pgx.ErrNoRows) {
		return ch, nil, ErrNotFound
	}
	if err != nil {
		return ch, nil, err
	}
	d := ari.DefaultNotificationPreferences()
	rows, err := db.Pool.Query(ctx, `select cm.user_id, u.name, cm.muted or coalesce(r.muted, false),
			coalesce(p.enabled, $4), p.quiet_start, p.quiet_end, coalesce(p.time_zone, $5),
			coalesce(p.agent_replies, $6), coalesce(p.group_messages, $7),
			coalesce(p.mentions, $8), coalesce(p.preview, $9)
		from community_members cm
		join "user" u on u.id = cm.user_id
		left join channel_reads r on r.channel_id = $1 and r.user_id = cm.user_id
		left join notification_preferences p on p.user_id = cm.user_id
		where cm.community_id = $2 and cm.user_id = any($3)
		order by cm.user_id`,
		channelID, ch.CommunityID, userIDs, d.Enabled, d.TimeZone, d.AgentReplies, d.GroupMessages, d.Mentions, d.Preview)
	if err != nil {
		return ch, nil, err
	}
	targets, err := pgx.CollectRows(rows, scanNotifyTarget)
	return ch, targets, err
}
