package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Agents' replies in channels (relay/PROTOCOL.md section 18, "Agents in
// channels"). A person's message that @mentions agents attached to its
// channel gives each a pending reply in the send's own transaction, so a
// stored message never lacks the replies it owes. The relay runs them
// through the channel's queue; the end of a reply (only the first, by the
// guarded UPDATE) saves its text as a channel message with the reply's id,
// from the agent, at the channel's next seq, in the same transaction.

const channelReplyColumns = `r.id, r.channel_id, r.agent_id, r.reply_to_id, r.status, r.error, r.chain_root_id,
	r.chain_hop, r.created_at, r.started_at, r.first_chunk_at, r.ended_at`

func scanChannelReply(row pgx.Row) (ari.ChannelReply, error) {
	var r ari.ChannelReply
	err := row.Scan(&r.ID, &r.ChannelID, &r.AgentID, &r.ReplyToID, &r.Status, &r.Error, &r.ChainRootID,
		&r.ChainHop, &r.CreatedAt, &r.StartedAt, &r.FirstChunkAt, &r.EndedAt)
	return r, err
}

// mentionReplies stores a pending reply to message for every agent attached
// to the channel that content @mentions (by handle, compared in lower case),
// in the order first mentioned, each once, never self. Mentions of agents
// not attached to the channel start nothing.
func mentionReplies(ctx context.Context, tx pgx.Tx, channelID, messageID, content, self, deployment string,
	root *string, hop int) ([]ari.ChannelReply, error) {
	targets, err := channelAgentsNamed(ctx, tx, channelID, self, ari.Mentions(content))
	if err != nil || len(targets) == 0 {
		return nil, err
	}
	return insertChannelReplies(ctx, tx, channelID, messageID, deployment, root, hop, targets)
}

func insertChannelReplies(ctx context.Context, tx pgx.Tx, channelID, messageID, deployment string,
	root *string, hop int, agents []string) ([]ari.ChannelReply, error) {
	out := make([]ari.ChannelReply, 0, len(agents))
	for _, agentID := range agents {
		r, err := scanChannelReply(tx.QueryRow(ctx, `insert into channel_replies as r
			(channel_id, agent_id, reply_to_id, relay_deployment, chain_root_id, chain_hop)
			values ($1, $2, $3, $4, $5, $6) returning `+channelReplyColumns,
			channelID, agentID, messageID, deployment, root, hop))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// channelAgentsNamed returns the channel's agents named by handles, in the
// order first mentioned, without self.
func channelAgentsNamed(ctx context.Context, tx pgx.Tx, channelID, self string, handles []string) ([]string, error) {
	if len(handles) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `select a.id, lower(a.handle) from channel_agents ca join agents a on a.id = ca.agent_id
		where ca.channel_id = $1`, channelID)
	if err != nil {
		return nil, err
	}
	byHandle := map[string]string{}
	for rows.Next() {
		var id, handle string
		if err := rows.Scan(&id, &handle); err != nil {
			rows.Close()
			return nil, err
		}
		byHandle[handle] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{self: true}
	for _, h := range handles {
		if id, ok := byHandle[strings.ToLower(h)]; ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// StartChannelReply makes a pending reply streaming; false when it is not
// pending (ended meanwhile).
func (db *DB) StartChannelReply(ctx context.Context, replyID string) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `update channel_replies set status = 'streaming', started_at = now()
		where id = $1 and status = 'pending'`, replyID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ChannelReply reads one reply (the relay's: no caller to scope it to).
func (db *DB) ChannelReply(ctx context.Context, replyID string) (ari.ChannelReply, error) {
	r, err := scanChannelReply(db.Pool.QueryRow(ctx, `select `+channelReplyColumns+` from channel_replies r where r.id = $1`, replyID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// MarkChannelFirstChunk records when the agent's first chunk arrived (once).
func (db *DB) MarkChannelFirstChunk(ctx context.Context, replyID string) error {
	_, err := db.Pool.Exec(ctx, `update channel_replies set first_chunk_at = now()
		where id = $1 and first_chunk_at is null`, replyID)
	return err
}

// ChannelReplyEnd is a settled reply and the channel message its text was
// saved as (nil when it had no text).
type ChannelReplyEnd struct {
	Reply   ari.ChannelReply
	Message *ListedChannelMessage
}

// SettleChannelReply gives a reply its terminal status and, when content is
// not empty, saves content as the channel message with the reply's id, from
// its agent, at the channel's next seq; all in one transaction. Only the
// first call for a reply changes anything (settled false for the others).
func (db *DB) SettleChannelReply(ctx context.Context, replyID, status, content, errText string) (ChannelReplyEnd, bool, error) {
	switch status {
	case ari.StatusComplete, ari.StatusError, ari.StatusCancelled:
	default:
		return ChannelReplyEnd{}, false, fmt.Errorf("store: settle with status %q", status)
	}
	var errVal *string
	if errText != "" {
		errVal = &errText
	}
	var out ChannelReplyEnd
	settled := false
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		r, err := scanChannelReply(tx.QueryRow(ctx, `update channel_replies r set status = $2, error = $3, ended_at = now()
			where id = $1 and status in ('pending', 'streaming', 'waiting_input') returning `+channelReplyColumns, replyID, status, errVal))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// A request the reply still waits on closes with it (cancelled).
		if _, err := tx.Exec(ctx, `update input_requests set state = 'cancelled', resolved_at = now()
			where channel_reply_id = $1 and state = 'open'`, replyID); err != nil {
			return err
		}
		out.Reply, settled = r, true
		if content == "" {
			return nil
		}
		var seq int64
		if err := tx.QueryRow(ctx, `update channels set last_seq = last_seq + 1 where id = $1 returning last_seq`,
			r.ChannelID).Scan(&seq); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `insert into channel_messages (id, channel_id, seq, sender_agent_id, content)
			values ($1, $2, $3, $4, $5)`, r.ID, r.ChannelID, seq, r.AgentID, content)
		return err
	})
	if err != nil || !settled || content == "" {
		return out, settled, err
	}
	m, err := db.channelMessage(ctx, `m.id = $1`, replyID)
	if err != nil {
		return out, true, err
	}
	out.Message = &m
	return out, true, nil
}

// ChannelReplyEnded reads a reply and, when its end saved text, the channel
// message with its id: what SettleChannelReply returned to the instance
// that settled it (the relay's own use, unscoped). ErrNotFound: no reply.
func (db *DB) ChannelReplyEnded(ctx context.Context, replyID string) (ChannelReplyEnd, error) {
	var out ChannelReplyEnd
	r, err := db.ChannelReply(ctx, replyID)
	if err != nil {
		return out, err
	}
	out.Reply = r
	m, err := db.channelMessage(ctx, `m.id = $1`, replyID)
	if errors.Is(err, ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	out.Message = &m
	return out, nil
}

// OpenChannelReply is a channel reply not yet in a terminal state.
type OpenChannelReply struct {
	ID, ChannelID, AgentID, Status string
	CreatedAt                      ari.Time
}

// OpenChannelReplies lists the deployment's pending, streaming and waiting
// (waiting_input) channel replies, in queue order per channel (the relay's sweeper un-wedges
// channels from it).
func (db *DB) OpenChannelReplies(ctx context.Context, deployment string) ([]OpenChannelReply, error) {
	return db.openChannelReplies(ctx, `select id, channel_id, agent_id, status, created_at from channel_replies
		where status in ('pending', 'streaming', 'waiting_input') and relay_deployment = $1 order by channel_id, queue_seq`, deployment)
}

// AgentStreamingChannelReplies lists the deployment's streaming (or
// waiting) channel replies of one agent (its socket came back: this instance drives them).
func (db *DB) AgentStreamingChannelReplies(ctx context.Context, deployment, agentID string) ([]OpenChannelReply, error) {
	return db.openChannelReplies(ctx, `select id, channel_id, agent_id, status, created_at from channel_replies
		where status in ('streaming', 'waiting_input') and agent_id = $2 and relay_deployment = $1 order by channel_id, queue_seq`, deployment, agentID)
}

func (db *DB) openChannelReplies(ctx context.Context, q string, args ...any) ([]OpenChannelReply, error) {
	rows, err := db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenChannelReply, error) {
		var o OpenChannelReply
		err := r.Scan(&o.ID, &o.ChannelID, &o.AgentID, &o.Status, &o.CreatedAt)
		return o, err
	})
}

// ChannelTask is what an agent needs to answer in a channel: the message
// (TaskInput, History the channel's newest earlier messages with text) and
// the channel it is in.
type ChannelTask struct {
	TaskInput
	ChannelID, ChannelName, CommunityID, CommunityName string
}

// ChannelTaskInput loads the channel message messageID and the newest limit
// other messages of its channel that have text, oldest first: in a busy
// channel a queued reply starts after more was said (its seq is given at
// its end), so the newest messages, not those before messageID, are what
// the agent answers into; some may have seqs after messageID's.
func (db *DB) ChannelTaskInput(ctx context.Context, messageID string, limit int) (ChannelTask, error) {
	var in ChannelTask
	err := db.Pool.QueryRow(ctx, `select m.id, m.seq, case when m.deleted_at is null then m.content else '' end,
		coalesce(m.sender_user_id, m.sender_agent_id, ''), coalesce(u.name, a.name, ''),
		case when m.sender_agent_id is not null then 'agent' else 'user' end, coalesce(a.handle, ''),
		ch.id, ch.name, co.id, co.name
		from channel_messages m join channels ch on ch.id = m.channel_id join communities co on co.id = ch.community_id
		left join "user" u on u.id = m.sender_user_id left join agents a on a.id = m.sender_agent_id
		where m.id = $1`, messageID).
		Scan(&in.MessageID, &in.Seq, &in.Content, &in.SenderID, &in.SenderName, &in.SenderRole, &in.SenderHandle,
			&in.ChannelID, &in.ChannelName, &in.CommunityID, &in.CommunityName)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, ErrNotFound
	}
	if err != nil {
		return in, err
	}
	rows, err := db.Pool.Query(ctx, `select id, coalesce(url, ''), content_type, original_name, size, storage_key
		from attachments where channel_message_id = $1 order by created_at, id`, messageID)
	if err != nil {
		return in, err
	}
	in.Attachments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskAttachment, error) {
		var a TaskAttachment
		err := r.Scan(&a.ID, &a.URL, &a.ContentType, &a.Name, &a.Size, &a.Key)
		return a, err
	})
	if err != nil {
		return in, err
	}
	rows, err = db.Pool.Query(ctx, `select case when m.sender_agent_id is not null then 'agent' else 'user' end,
		coalesce(u.name, a.name, ''), m.content, m.seq from channel_messages m
		left join "user" u on u.id = m.sender_user_id left join agents a on a.id = m.sender_agent_id
		where m.channel_id = $1 and m.id <> $2 and m.deleted_at is null and m.content <> ''
		order by m.seq desc limit $3`, in.ChannelID, in.MessageID, limit)
	if err != nil {
		return in, err
	}
	in.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryItem, error) {
		var h HistoryItem
		err := r.Scan(&h.Role, &h.SenderName, &h.Content, &h.Seq)
		return h, err
	})
	slices.Reverse(in.History)
	return in, err
}

// ChannelChainStep is what a finished channel reply set off (as ChainStep).
type ChannelChainStep struct {
	Replies []ari.ChannelReply
	Limited bool
	Hops    int
}

// ContinueChannelChain stores the replies a finished agent reply (saved as
// the channel message with its id, whose content is content) owes the
// other agents of the channel it mentions, within the chain's budget: at
// most ari.DefaultChainHops hops in a row from the person's message and
// ari.ChainReplyFactor × that many agent-caused replies per chain (the same
// guard as a group conversation's default). Under the channel row's lock,
// so two instances continuing two chains count the same way. Call it once
// per reply, when its complete end is saved.
func (db *DB) ContinueChannelChain(ctx context.Context, reply ari.ChannelReply, content, deployment string) (ChannelChainStep, error) {
	var out ChannelChainStep
	if !strings.Contains(content, "@") {
		return out, nil
	}
	handles := ari.Mentions(content)
	if len(handles) == 0 {
		return out, nil
	}
	budget := ari.DefaultChainHops
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `select 1 from channels where id = $1 for update`, reply.ChannelID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		targets, err := channelAgentsNamed(ctx, tx, reply.ChannelID, reply.AgentID, handles)
		if err != nil || len(targets) == 0 {
			return err
		}
		root := reply.ReplyToID
		if reply.ChainRootID != nil {
			root = *reply.ChainRootID
		}
		out.Hops = reply.ChainHop
		if out.Hops+1 > budget {
			out.Limited = true
			return nil
		}
		var used int
		if err := tx.QueryRow(ctx, `select count(*) from channel_replies where chain_root_id = $1`, root).Scan(&used); err != nil {
			return err
		}
		if room := ari.ChainReplyFactor*budget - used; len(targets) > room {
			targets = targets[:max(room, 0)]
			out.Limited = true
		}
		out.Replies, err = insertChannelReplies(ctx, tx, reply.ChannelID, reply.ID, deployment, &root, out.Hops+1, targets)
		return err
	})
	return out, err
}

// ChannelReplyToCancel returns a channel reply userID may cancel: one that
// answers their message (or whose agent chain their message started), or
// any in a community they administer. ErrNotFound: no such reply in a
// channel they may read; ErrNotAllowed: someone else's, for a member.
func (db *DB) ChannelReplyToCancel(ctx context.Context, userID, replyID string) (ari.ChannelReply, error) {
	r, err := db.ChannelReply(ctx, replyID)
	if err != nil {
		return r, err
	}
	acc, err := channelAccess(ctx, db.Pool, userID, r.ChannelID, false)
	switch {
	case errors.Is(err, ErrNotMember) || errors.Is(err, ErrBanned):
		return r, ErrNotFound
	case err != nil:
		return r, err
	case IsCommunityAdmin(acc.Role):
		return r, nil
	}
	asked := r.ReplyToID
	if r.ChainRootID != nil {
		asked = *r.ChainRootID
	}
	var author *string
	err = db.Pool.QueryRow(ctx, `select sender_user_id from channel_messages where id = $1`, asked).Scan(&author)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return r, err
	}
	if author == nil || *author != userID {
		return r, ErrNotAllowed
	}
	return r, nil
}
