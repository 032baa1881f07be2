package store

import (
	"context"
	"errors"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Agent chains (relay/PROTOCOL.md section 13): in a group, an agent's reply
// that ended complete and @mentions other agent members gives each of them
// a pending reply to it. The chain's bookkeeping lives in the rows
// (messages.chain_root_id, chain_hop; conversations.chain_hops), read and
// written under the conversation row's lock, so whichever relay instance
// settles a reply continues its chain the same way.

// ChainStep is what a finished reply set off: the replies it gives the
// agents it mentioned (pending, in the order first mentioned), and whether
// the chain's budget stopped some or all of them (Limited). Hops is how many
// agent-to-agent hops the chain had made up to the finished reply.
type ChainStep struct {
	Replies []ari.Message
	Limited bool
	Hops    int
}

// ContinueChain stores the replies an agent's finished reply owes the other
// agent members it mentions, within its chain's budget: at most the
// conversation's chain_hops hops in a row from the person's message, and at
// most ari.ChainReplyFactor × chain_hops agent-caused replies per chain. An
// agent's mention of itself, of an agent that is not a member, and any
// mention outside a group start nothing. Deployment is as in
// NewUserMessage. Call it once per reply, when its complete end is saved.
func (db *DB) ContinueChain(ctx context.Context, reply ari.Message, deployment string) (ChainStep, error) {
	var out ChainStep
	if reply.SenderAgentID == nil || reply.Role != ari.RoleAgent || !strings.Contains(reply.Content, "@") {
		return out, nil
	}
	handles := ari.Mentions(reply.Content)
	if len(handles) == 0 {
		return out, nil
	}
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var kind string
		var budget int
		err := tx.QueryRow(ctx, `select kind, chain_hops from conversations where id = $1 for update`,
			reply.ConversationID).Scan(&kind, &budget)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted meanwhile: nobody to answer
		}
		if err != nil || kind != ari.KindGroup {
			return err
		}
		targets, err := mentionedAgents(ctx, tx, reply.ConversationID, *reply.SenderAgentID, handles)
		if err != nil || len(targets) == 0 {
			return err
		}
		var root *string
		if err := tx.QueryRow(ctx, `select chain_hop, coalesce(chain_root_id, reply_to_id) from messages where id = $1`,
			reply.ID).Scan(&out.Hops, &root); err != nil {
			return err
		}
		if root == nil { // a reply always answers something; be safe
			return nil
		}
		if out.Hops+1 > budget {
			out.Limited = true
			return nil
		}
		var used int
		if err := tx.QueryRow(ctx, `select count(*) from messages where chain_root_id = $1`, *root).Scan(&used); err != nil {
			return err
		}
		if room := ari.ChainReplyFactor*budget - used; len(targets) > room {
			targets = targets[:max(room, 0)]
			out.Limited = true
		}
		for _, agentID := range targets {
			r, err := insertMessage(ctx, tx, reply.ConversationID, `insert into messages
				(conversation_id, seq, role, sender_agent_id, status, reply_to_id, relay_deployment, chain_root_id, chain_hop)
				values ($1, $2, 'agent', $3, 'pending', $4, $5, $6, $7)`, agentID, reply.ID, deployment, *root, out.Hops+1)
			if err != nil {
				return err
			}
			out.Replies = append(out.Replies, r)
		}
		return nil
	})
	return out, err
}

// mentionedAgents returns the agent members named by handles (compared in
// lower case), in the order first mentioned, without self.
func mentionedAgents(ctx context.Context, tx pgx.Tx, conversationID, self string, handles []string) ([]string, error) {
	rows, err := tx.Query(ctx, `select a.id, lower(a.handle) from conversation_members cm join agents a on a.id = cm.agent_id
		where cm.conversation_id = $1`, conversationID)
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

// ReplyChain is where a reply stands in its chain: Hop 0 for a reply to a
// person, else the agent-to-agent hop that caused it; Root is the person's
// message that started the chain; Budget the conversation's chain_hops.
type ReplyChain struct {
	Hop    int
	Root   string
	Budget int
}

// ReplyChainOf returns a reply's place in its chain (for its task).
func (db *DB) ReplyChainOf(ctx context.Context, replyID string) (ReplyChain, error) {
	var c ReplyChain
	err := db.Pool.QueryRow(ctx, `select m.chain_hop, coalesce(m.chain_root_id, m.reply_to_id, ''), c.chain_hops
		from messages m join conversations c on c.id = m.conversation_id where m.id = $1`, replyID).Scan(&c.Hop, &c.Root, &c.Budget)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	return c, err
}
