package stream

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// Who a live reply reaches. The instance driving a reply sends each batch of
// its text to every recipient's user channel; the recipients are the members
// when it started (stream:{id}:meta "users"), less whoever has left since:
//
//   - a function that removes a member or deletes a conversation publishes
//     the conversation's id on kv.Keys.MembershipChannel (events.Publisher
//     does it for member_removed and conversation_deleted); every instance
//     hears it (MembersChanged), and the one fanning out a reply there re-reads
//     the members from Postgres and drops the others from the reply's
//     recipients and from its meta before the next batch goes out; a reply
//     whose conversation is gone is ended for the agent (task_cancel) at once;
//   - a task loaded on an instance (its first chunk there) has its members
//     read from Postgres as well (RunMembership, off the agent's socket),
//     which covers a notice that came before it;
//   - the heartbeat re-reads them, in case a notice was lost.
//
// Recipients only shrink: a member added mid-reply never got its stream_start
// and is reached by the next reply. stream_end goes to the members read when
// the reply ends, and sync reports only replies in the caller's conversations
// (store.UserStreamingReplies), so a user who left gets neither. Queued
// replies read the members when they start.

// recipients is the list one reply's frames go to on this instance.
type recipients struct {
	conv  string
	mu    sync.Mutex // orders shrinks; the sender reads the list without it
	users atomic.Pointer[[]string]
}

// maxChanged bounds the conversations waiting for RunMembership; past it
// notices are dropped and the heartbeat applies them.
const maxChanged = 10000

func (r *recipients) list() []string {
	if p := r.users.Load(); p != nil {
		return *p
	}
	return nil
}

// keep drops the users who are not in members and returns the list left and
// whether any went.
func (r *recipients) keep(members []string) ([]string, bool) {
	in := make(map[string]bool, len(members))
	for _, m := range members {
		in[m] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.list()
	kept := make([]string, 0, len(cur))
	for _, u := range cur {
		if in[u] {
			kept = append(kept, u)
		}
	}
	if len(kept) == len(cur) {
		return cur, false
	}
	r.users.Store(&kept)
	return kept, true
}

// recipientsOf returns the recipients of a reply loaded here, started with
// the users of its meta. They are registered first and then checked against
// Postgres by RunMembership, as for a notice: a member who leaves from now on
// is dropped by the notice, and one who left before by that read. The read
// is not done here because this runs on the agent socket's reader, for the
// first chunk of every reply: a Postgres round trip there held up the chunks
// of every other reply on that socket (relay/loadtest's tail).
func (e *Engine) recipientsOf(replyID, conv string, started []string) *recipients {
	e.mu.Lock()
	r := e.fanout[replyID]
	if r == nil {
		r = &recipients{conv: conv}
		r.users.Store(&started)
		e.fanout[replyID] = r
	}
	e.mu.Unlock()
	e.MembersChanged(conv)
	return r
}

// keepMembers drops the users who left from a reply's recipients and, when
// some did, from its meta (which the end of an unsaved reply reads).
func (e *Engine) keepMembers(ctx context.Context, replyID string, r *recipients, members []string) {
	kept, changed := r.keep(members)
	if !changed {
		return
	}
	if err := usersScript.Run(ctx, e.d.Redis, []string{e.d.Keys.StreamMeta(replyID)}, strings.Join(kept, ",")).Err(); err != nil {
		e.d.Log.Warn("relay reply members", "reply", replyID, "err", err)
	}
}

// MembersChanged notes that users left a conversation (a notice on
// kv.Keys.MembershipChannel). It runs on the hub's goroutine, so it only
// notes; RunMembership applies.
func (e *Engine) MembersChanged(conversationID string) {
	if conversationID == "" {
		return
	}
	e.mu.Lock()
	if len(e.changed) < maxChanged {
		e.changed[conversationID] = true
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// RunMembership applies the notes of MembersChanged until ctx ends.
func (e *Engine) RunMembership(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		}
		e.mu.Lock()
		convs := e.changed
		e.changed = map[string]bool{}
		e.mu.Unlock()
		e.applyMembers(ctx, func(conv string) bool { return convs[conv] })
	}
}

// recheckMembers re-reads the members of every conversation whose reply this
// instance fans out.
func (e *Engine) recheckMembers(ctx context.Context) {
	e.applyMembers(ctx, func(string) bool { return true })
}

// applyMembers re-reads the members of the conversations (those that match)
// of the replies fanned out here, all in one query, and drops the users who
// left. A conversation with no members left may have been
// deleted: its replies are then ended for their agents at once.
func (e *Engine) applyMembers(ctx context.Context, match func(conv string) bool) {
	type reply struct {
		id string
		to *recipients
	}
	byConv := map[string][]reply{}
	e.mu.Lock()
	for id, r := range e.fanout {
		if match(r.conv) {
			byConv[r.conv] = append(byConv[r.conv], reply{id, r})
		}
	}
	e.mu.Unlock()
	if len(byConv) == 0 {
		return
	}
	convs := make([]string, 0, len(byConv))
	for conv := range byConv {
		convs = append(convs, conv)
	}
	// One query for all of them: the heartbeat re-reads every conversation
	// streaming here, and the first chunk of every reply asks for its own.
	members, err := e.d.DB.MemberUserIDsOf(ctx, convs)
	if err != nil {
		if ctx.Err() == nil {
			e.d.Log.Warn("relay conversation members", "conversations", len(convs), "err", err)
		}
		return
	}
	for conv, replies := range byConv {
		for _, r := range replies {
			e.keepMembers(ctx, r.id, r.to, members[conv])
			if len(members[conv]) == 0 {
				e.dropDeleted(ctx, r.id, conv)
			}
		}
	}
}
