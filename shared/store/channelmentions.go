package store

import (
	"context"

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
