package store

import (
	"context"
	"errors"
	"slices"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Channels of communities: admins create, rename, reorder, give topics and
// delete them, and choose the community's agents that may answer in each;
// members read them and keep a read mark per channel (one row per member
// and channel, moved forward on read; unread counts come from seqs).

// MaxChannels bounds the channels of one community.
const MaxChannels = 200

// ErrTooManyChannels: the community has MaxChannels channels.
var ErrTooManyChannels = errors.New("store: too many channels")

// channelAccess is member (or admin, when admin is set) for the community
// of a channel; an unknown channel is ErrNotFound.
func channelAccess(ctx context.Context, q querier, userID, channelID string, needAdmin bool) (CommunityAccess, error) {
	var communityID string
	err := q.QueryRow(ctx, `select community_id from channels where id = $1`, channelID).Scan(&communityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return CommunityAccess{}, ErrNotFound
	}
	if err != nil {
		return CommunityAccess{}, err
	}
	if needAdmin {
		return admin(ctx, q, userID, communityID, false)
	}
	return member(ctx, q, userID, communityID, false)
}

// ChannelAccess returns the caller's standing in the channel's community:
// ErrNotFound for an unknown channel or one of a private community the
// caller is not in, ErrNotMember / ErrBanned for a public one's outsiders.
func (db *DB) ChannelAccess(ctx context.Context, userID, channelID string) (CommunityAccess, error) {
	return channelAccess(ctx, db.Pool, userID, channelID, false)
}

const channelSelect = `select ch.id, ch.community_id, ch.name, ch.topic, ch.position, ch.last_seq, ch.created_at, ch.updated_at,
		coalesce(r.last_read_seq, 0), ` + mentionCountOf + `,
		coalesce((select array_agg(x.agent_id order by x.created_at, x.agent_id) from channel_agents x where x.channel_id = ch.id), '{}'),
		coalesce(r.muted, false)
	from channels ch left join channel_reads r on r.channel_id = ch.id and r.user_id = $1`

func scanChannel(row pgx.Row) (ari.Channel, error) {
	var c ari.Channel
	err := row.Scan(&c.ID, &c.CommunityID, &c.Name, &c.Topic, &c.Position, &c.LastSeq, &c.CreatedAt, &c.UpdatedAt,
		&c.LastReadSeq, &c.MentionCount, &c.AgentIDs, &c.Muted)
	c.UnreadCount = max(c.LastSeq-c.LastReadSeq, 0)
	return c, err
}

// Channels lists a community's channels in their order, with the caller's
// read marks (members only). A community has at most MaxChannels.
func (db *DB) Channels(ctx context.Context, userID, communityID string) ([]ari.Channel, error) {
	if _, err := member(ctx, db.Pool, userID, communityID, false); err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, channelSelect+` where ch.community_id = $2 order by ch.position, ch.created_at, ch.id`,
		userID, communityID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Channel, error) { return scanChannel(r) })
}

// Channel returns one channel for a member of its community.
func (db *DB) Channel(ctx context.Context, userID, channelID string) (ari.Channel, error) {
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, false); err != nil {
		return ari.Channel{}, err
	}
	return scanChannel(db.Pool.QueryRow(ctx, channelSelect+` where ch.id = $2`, userID, channelID))
}

// CreateChannel adds a channel at the end of the community's order (owners
// and admins). A name in use is ErrNameTaken.
func (db *DB) CreateChannel(ctx context.Context, userID, communityID, name, topic string) (ari.Channel, error) {
	var id string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := admin(ctx, tx, userID, communityID, true); err != nil {
			return err
		}
		var n, last int
		if err := tx.QueryRow(ctx, `select count(*), coalesce(max(position), -1) from channels where community_id = $1`,
			communityID).Scan(&n, &last); err != nil {
			return err
		}
		if n >= MaxChannels {
			return ErrTooManyChannels
		}
		return tx.QueryRow(ctx, `insert into channels (community_id, name, topic, position) values ($1, $2, $3, $4) returning id`,
			communityID, name, topic, last+1).Scan(&id)
	})
	if IsUniqueViolation(err, "channels_community_id_name_key") {
		return ari.Channel{}, ErrNameTaken
	}
	if err != nil {
		return ari.Channel{}, err
	}
	return db.Channel(ctx, userID, id)
}

// ChannelChange holds what an update sets; nil leaves a field as it is.
type ChannelChange struct {
	Name, Topic *string
}

// UpdateChannel renames a channel or sets its topic (owners and admins).
func (db *DB) UpdateChannel(ctx context.Context, userID, channelID string, ch ChannelChange) (ari.Channel, error) {
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, true); err != nil {
		return ari.Channel{}, err
	}
	_, err := db.Pool.Exec(ctx, `update channels set name = coalesce($2, name), topic = coalesce($3, topic), updated_at = now()
		where id = $1`, channelID, ch.Name, ch.Topic)
	if IsUniqueViolation(err, "channels_community_id_name_key") {
		return ari.Channel{}, ErrNameTaken
	}
	if err != nil {
		return ari.Channel{}, err
	}
	return db.Channel(ctx, userID, channelID)
}

// DeleteChannel removes a channel with its messages (owners and admins) and
// returns the storage keys of the attachments that went with them.
func (db *DB) DeleteChannel(ctx context.Context, userID, channelID string) ([]string, error) {
	var keys []string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := channelAccess(ctx, tx, userID, channelID, true); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `delete from attachments where channel_message_id in (
			select id from channel_messages where channel_id = $1) returning storage_key`, channelID)
		if err != nil {
			return err
		}
		if keys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from channels where id = $1`, channelID)
		return err
	})
	return keys, err
}

// ErrChannelOrder: the ids given are not exactly the community's channels.
var ErrChannelOrder = errors.New("store: not the community's channels")

// ReorderChannels sets the channels' order to ids, which must list every
// channel of the community once (owners and admins).
func (db *DB) ReorderChannels(ctx context.Context, userID, communityID string, ids []string) ([]ari.Channel, error) {
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := admin(ctx, tx, userID, communityID, true); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select id from channels where community_id = $1 order by id`, communityID)
		if err != nil {
			return err
		}
		have, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		want := slices.Clone(ids)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			return ErrChannelOrder
		}
		_, err = tx.Exec(ctx, `update channels ch set position = o.pos - 1, updated_at = now()
			from unnest($2::text[]) with ordinality as o(id, pos)
			where ch.id = o.id and ch.community_id = $1`, communityID, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.Channels(ctx, userID, communityID)
}

// AddChannelAgent lets a community agent answer in a channel (owners and
// admins); an agent not in the community is ErrNotFound as "agent".
func (db *DB) AddChannelAgent(ctx context.Context, userID, channelID, agentID string) (ari.Channel, error) {
	a, err := channelAccess(ctx, db.Pool, userID, channelID, true)
	if err != nil {
		return ari.Channel{}, err
	}
	_, err = db.Pool.Exec(ctx, `insert into channel_agents (channel_id, community_id, agent_id) values ($1, $2, $3)
		on conflict do nothing`, channelID, a.CommunityID, agentID)
	if IsForeignKeyViolation(err) {
		return ari.Channel{}, ari.NotFound("agent")
	}
	if err != nil {
		return ari.Channel{}, err
	}
	return db.Channel(ctx, userID, channelID)
}

// RemoveChannelAgent stops an agent answering in a channel (owners and admins).
func (db *DB) RemoveChannelAgent(ctx context.Context, userID, channelID, agentID string) error {
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, true); err != nil {
		return err
	}
	tag, err := db.Pool.Exec(ctx, `delete from channel_agents where channel_id = $1 and agent_id = $2`, channelID, agentID)
	if err == nil && tag.RowsAffected() == 0 {
		return ari.NotFound("agent")
	}
	return err
}

// MarkChannelRead moves the member's read mark forward to seq (lowered to
// the channel's last seq; never backwards) and returns the stored mark. The
// member's mentions up to the mark go: they are read.
func (db *DB) MarkChannelRead(ctx context.Context, userID, channelID string, seq int64) (int64, error) {
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, false); err != nil {
		return 0, err
	}
	var stored int64
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into channel_reads (channel_id, user_id, last_read_seq)
			select id, $2, least($3, last_seq) from channels where id = $1
			on conflict (channel_id, user_id) do update
			set last_read_seq = greatest(channel_reads.last_read_seq, excluded.last_read_seq), updated_at = now()
			returning last_read_seq`, channelID, userID, seq).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from channel_mentions where user_id = $1 and channel_id = $2 and seq <= $3`,
			userID, channelID, stored)
		return err
	})
	return stored, err
}

// MaxSyncChannels bounds the channels ChannelStates lists by activity
// (sync_result.channels); channels with unread mentions come on top of them.
const MaxSyncChannels = 1000

// ChannelState is one channel's place and the caller's read mark in it.
type ChannelState struct {
	ChannelID, CommunityID string
	LastSeq, LastReadSeq   int64
	UnreadCount            int64 // LastSeq − LastReadSeq: counted from seqs, no row per message
	MentionCount           int64 // messages after LastReadSeq that @mention the caller
	Muted                  bool  // the caller muted the channel or its community (no pushes)
}

// ChannelStates lists the channels of every community the user is a member
// of, the most recently active first (its newest message's time, or its
// creation when it has none): at most limit (≤ MaxSyncChannels) of them,
// plus every other channel where the user has unread mentions. Each is a
// few index lookups, whatever the community's size.
func (db *DB) ChannelStates(ctx context.Context, userID string, limit int) ([]ChannelState, error) {
	limit = max(0, min(limit, MaxSyncChannels))
	rows, err := db.Pool.Query(ctx, `with mine as (
			select ch.id, ch.community_id, ch.last_seq, coalesce(r.last_read_seq, 0) as read,
				cm.muted or coalesce(r.muted, false) as muted, coalesce(last.created_at, ch.created_at) as active
			from community_members cm
			join channels ch on ch.community_id = cm.community_id
			left join channel_reads r on r.channel_id = ch.id and r.user_id = $1
			left join channel_messages last on last.channel_id = ch.id and last.seq = ch.last_seq
			where cm.user_id = $1),
		mentioned as (
			select mn.channel_id, count(*) as n from channel_mentions mn
			join mine on mine.id = mn.channel_id and mn.seq > mine.read
			where mn.user_id = $1
			group by mn.channel_id),
		listed as (
			(select id from mine order by active desc, id limit $2)
			union
			select channel_id from mentioned)
		select mine.id, mine.community_id, mine.last_seq, mine.read, coalesce(m.n, 0), mine.muted
		from mine join listed on listed.id = mine.id
		left join mentioned m on m.channel_id = mine.id
		order by mine.active desc, mine.id`, userID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelState, error) {
		var s ChannelState
		err := r.Scan(&s.ChannelID, &s.CommunityID, &s.LastSeq, &s.LastReadSeq, &s.MentionCount, &s.Muted)
		s.UnreadCount = max(s.LastSeq-s.LastReadSeq, 0)
		return s, err
	})
}
