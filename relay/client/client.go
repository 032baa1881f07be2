// Package client runs client sockets (/ws): each is subscribed to its user's
// Redis channel for as long as it is open, keeps its presence (instance,
// focused conversation, visibility) in Redis, and turns the client's frames
// into stored messages, replies started or queued, read marks and syncs.
package client

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/conn"
	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/relay/stream"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what client sessions need.
type Deps struct {
	DB         *store.DB
	Redis      redis.UniversalClient
	Keys       kv.Keys
	Hub        *hub.Hub
	Engine     *stream.Engine
	Log        *slog.Logger
	InstanceID string
	// Push is told of users' messages in groups (pushtrigger.AsyncNotifier;
	// never blocks). Nil: no notifications.
	Push interface {
		UserMessage(m ari.Message, senderName string) bool
		ChannelMention(m pushtrigger.ChannelMention) bool
	}
	// Events publishes channel events (channel_send's channel_message_new).
	Events *events.Publisher
	// Files gives channel_message_ack's attachments fresh links; nil: the
	// links stored at upload.
	Files storage.Store
	// Limiter and SendRule bound each user's send_message frames over every
	// instance (nil Limiter: no limit).
	Limiter  *ratelimit.Limiter
	SendRule ratelimit.Rule
	// AppEventRule bounds each user's app_user_action and app_state_event
	// frames the same way.
	AppEventRule ratelimit.Rule
	// MaxSockets caps each user's open client sockets over every instance
	// (0: no cap).
	MaxSockets int
	// MaxChannels caps the community channels one socket subscribes to.
	MaxChannels int
	// Tickets redeems the socket tickets of sockets whose upgrade carried
	// no session (ServeTicket); AuthTimeout is how long such a socket may
	// take to present one.
	Tickets     auth.Tickets
	AuthTimeout time.Duration
	// Inputs records members' answers to agents' input requests.
	Inputs *inputs.Answerer
}

// Sessions are this instance's client sockets.
type Sessions struct {
	d   Deps
	mu  sync.Mutex
	all map[uint64]*session
}

// New returns an empty set of sessions.
func New(d Deps) *Sessions { return &Sessions{d: d, all: map[uint64]*session{}} }

type session struct {
	s      *Sessions
	c      *conn.Conn
	user   auth.Caller
	name   string
	mu     sync.Mutex
	focus  string
	active bool
	// watching is the conversation whose agents this socket watches
	// (presence.Watch) and those agents; the reader writes, the heartbeat
	// reads, both under mu.
	watching       string
	watchingAgents []string
	// revoked: a sessions_revoked notice named this socket's session.
	revoked atomic.Bool
	// channels: the community channels this socket subscribed to
	// (channels.go); guarded by mu.
	channels map[string]*channelSub
}

// Serve runs one client socket of caller until it closes. The socket is
// subscribed to the user's channel before any frame is read, so a sync it
// sends later sees every chunk either in the buffers or live.
func (s *Sessions) Serve(ctx context.Context, c *conn.Conn, caller auth.Caller) {
	ss := s.open(ctx, c, caller)
	if ss == nil {
		c.Run(func([]byte) {})
		return
	}
	// Deferred, so that it also runs when handling a frame panics (the
	// server recovers and closes the socket with 1011): a dead socket keeps
	// no subscription, presence or place under the user's socket cap.
	defer s.finish(ctx, ss)
	c.Run(func(data []byte) { ss.handle(ctx, data) })
}

// open admits c as a socket of caller: within the user's socket cap,
// subscribed to the user's channel, present. Nil: c was closed instead.
func (s *Sessions) open(ctx context.Context, c *conn.Conn, caller auth.Caller) *session {
	ss := &session{s: s, c: c, user: caller, name: hub.SocketName(s.d.InstanceID, c.ID())}
	// The newest socket is the one refused: the sockets a user already
	// has keep working, and a client looping on reconnects cannot push
	// the user's other devices out.
	if !ss.claimSocket(ctx) {
		c.Close(protocol.CloseTooManySockets)
		return nil
	}
	if err := s.d.Hub.Subscribe(ctx, s.d.Keys.UserChannel(caller.ID), c.ID(), ss.onChannel); err != nil {
		s.d.Log.Error("relay client subscribe", "user", caller.ID, "err", err)
		ss.releaseSocket(context.WithoutCancel(ctx))
		c.Close(protocol.CloseInternal)
		return nil
	}
	s.mu.Lock()
	s.all[c.ID()] = ss
	s.mu.Unlock()
	ss.savePresence(ctx)
	return ss
}

// finish undoes open once the socket has closed.
func (s *Sessions) finish(ctx context.Context, ss *session) {
	bg := context.WithoutCancel(ctx)
	s.mu.Lock()
	delete(s.all, ss.c.ID())
	s.mu.Unlock()
	s.d.Hub.Unsubscribe(bg, s.d.Keys.UserChannel(ss.user.ID), ss.c.ID())
	ss.leaveChannels(bg)
	ss.watch(bg, "")
	if err := presence.Remove(bg, s.d.Redis, s.d.Keys, ss.user.ID, ss.name); err != nil {
		s.d.Log.Warn("relay presence", "user", ss.user.ID, "err", err)
	}
	ss.releaseSocket(bg)
}

// CloseAll closes every client socket with code.
func (s *Sessions) CloseAll(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.all {
		ss.c.Close(code)
	}
}

// onChannel runs on the hub's goroutine or on a goroutine that delivers
// this instance's own frames (hub.Deliver): queue the frame unless it is
// meant for other sockets only.
func (ss *session) onChannel(payload []byte) {
	if payload == nil {
		// The user's channel lost messages (hub): the client syncs and
		// finds whatever it missed, stream ends included.
		ss.c.SendFrame(&protocol.SyncNeeded{})
		return
	}
	frame, skip := hub.SplitUserPayload(payload)
	frame, focus := hub.SplitFocus(frame)
	if frame == nil || hub.Skips(skip, ss.name) || ss.revokedBy(frame) {
		return
	}
	if focus != "" {
		ss.mu.Lock()
		mine := ss.focus == focus
		ss.mu.Unlock()
		if !mine {
			return
		}
	}
	ss.c.Send(frame)
}

func (ss *session) fail(code, msg, ref string) {
	ss.c.SendFrame(&protocol.ErrorFrame{Code: code, Message: msg, Ref: ref})
}

func (ss *session) internal(err error, ref string) {
	ss.s.d.Log.Error("relay client frame", "user", ss.user.ID, "err", err)
	ss.fail(protocol.CodeInternal, "the relay failed; retrying is safe", ref)
}

func (ss *session) handle(ctx context.Context, data []byte) {
	f, err := protocol.DecodeClient(data)
	metrics.FrameIn(metrics.Client, f)
	if err != nil {
		if ef := protocol.FrameFor(err); ef != nil {
			ss.c.SendFrame(ef)
		}
		return
	}
	switch f := f.(type) {
	case *protocol.Ping:
		ss.c.SendFrame(&protocol.Pong{})
	case *protocol.TicketAuth:
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeInvalidFrame, Message: "type: already authenticated", Field: "type"})
	case *protocol.SendMessage:
		ss.send(ctx, f)
	case *protocol.Regenerate:
		ss.regenerate(ctx, f)
	case *protocol.AppActionResult:
		ss.actionResult(ctx, f)
	case *protocol.AppUserAction:
		ss.userAction(ctx, f)
	case *protocol.AppStateEvent:
		ss.stateEvent(ctx, f)
	case *protocol.InputAnswer:
		ss.answer(ctx, f)
	case *protocol.Sync:
		ss.sync(ctx, f)
	case *protocol.CancelStream:
		reply, err := ss.s.d.DB.MemberReply(ctx, ss.user.ID, f.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			ss.cancelChannelReply(ctx, f.MessageID)
			return
		}
		if err != nil {
			ss.internal(err, f.MessageID)
			return
		}
		ss.s.d.Engine.Cancel(ctx, reply)
	case *protocol.MarkRead:
		ss.markRead(ctx, f)
	case *protocol.ChannelSubscribe:
		ss.subscribeChannel(ctx, f.ChannelID)
	case *protocol.ChannelUnsubscribe:
		ss.unsubscribeChannel(ctx, f.ChannelID)
	case *protocol.ChannelSend:
		ss.channelSend(ctx, f)
	case *protocol.Focus:
		ss.mu.Lock()
		ss.focus, ss.active = "", f.Visible
		if f.ConversationID != nil {
			ss.focus = *f.ConversationID
		}
		focus := ss.focus
		ss.mu.Unlock()
		ss.savePresence(ctx)
		ss.watch(ctx, focus)
	}
}

// route picks the agents a message is addressed to (PROTOCOL.md section 13).
func route(kind string, agents []store.RelayAgent, content string) []string {
	if kind == protocol.KindDirect {
		ids := make([]string, 0, len(agents))
		for _, a := range agents {
			ids = append(ids, a.ID)
		}
		return ids
	}
	var ids []string
	for _, h := range ari.Mentions(content) {
		for _, a := range agents {
			if strings.EqualFold(a.Handle, h) {
				ids = append(ids, a.ID)
				break
			}
		}
	}
	if len(ids) == 0 && len(agents) == 1 {
		ids = []string{agents[0].ID}
	}
	return ids
}

func (ss *session) send(ctx context.Context, f *protocol.SendMessage) {
	d := ss.s.d
	ref := f.ClientMessageID
	// The limit comes first, before any Postgres work: over it, even a
	// retry of a stored clientMessageId waits (its retry after
	// retryAfterMs gets the stored message's ack).
	if !ss.allowSend(ctx, ref) {
		return
	}
	if prior, err := d.DB.UserSendByClientID(ctx, ss.user.ID, f.ClientMessageID); err == nil {
		ss.ackExisting(ctx, f, prior)
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		ss.internal(err, ref)
		return
	}
	// Membership first: nothing about a conversation that is not the
	// caller's (its agents, its queue) may shape the answer. One round trip
	// reads it with the conversation's kind, turn policy and agents.
	target, err := d.DB.SendTargetFor(ctx, f.ConversationID, ss.user.ID)
	if errors.Is(err, store.ErrNotFound) {
		ss.fail(protocol.CodeNotFound, "conversation not found", ref)
		return
	}
	if err != nil {
		ss.internal(err, ref)
		return
	}
	kind := target.Kind
	to := route(kind, target.Agents, f.Content)
	policy := ari.TurnQueue
	if len(to) > 0 {
		policy = target.Policy
		if busy, err := d.Engine.Busy(ctx, f.ConversationID); err != nil {
			ss.internal(err, ref)
			return
		} else if busy {
			ss.fail(protocol.CodeConversationBusy, "too many replies are waiting in this conversation; try again later", ref)
			return
		}
	}
	if ss.revoked.Load() {
		return // the socket is closing with 4001
	}
	// Turn policy reject: the conversation's active mark is taken before
	// the message is stored, so a send into a busy conversation stores
	// nothing, and of two sends into an idle one only one is stored.
	hold := ""
	if len(to) > 0 && policy == ari.TurnReject {
		var ok bool
		if hold, ok, err = d.Engine.Hold(ctx, f.ConversationID); err != nil {
			ss.internal(err, ref)
			return
		} else if !ok {
			ss.fail(protocol.CodeConversationBusy, "a reply is being written or waiting in this conversation, and it takes no new messages meanwhile (turn policy reject); nothing was stored", ref)
			return
		}
	}
	// The session is checked in the insert's transaction too: a message
	// sent after sign-out is not stored even when the notice is late.
	sent, err := d.DB.InsertUserMessage(ctx, store.NewUserMessage{UserID: ss.user.ID, ConversationID: f.ConversationID,
		Content: f.Content, ClientMessageID: f.ClientMessageID, Attachments: f.Attachments, ReplyAgentIDs: to,
		Deployment: d.Keys.Prefix, SessionID: ss.user.SessionID})
	if err != nil || !sent.Created {
		d.Engine.Unhold(context.WithoutCancel(ctx), f.ConversationID, hold)
	}
	var ae *ari.Error
	switch {
	case errors.Is(err, store.ErrSessionEnded):
		ss.c.Close(protocol.CloseUnauthorized)
		return
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "conversation not found", ref)
		return
	case errors.As(err, &ae) && ae.Code == ari.CodeNotFound:
		ss.fail(protocol.CodeNotFound, "attachment not found", ref)
		return
	case err != nil:
		ss.internal(err, ref)
		return
	}
	if !sent.Created { // a concurrent duplicate stored it first
		ss.ackExisting(ctx, f, sent)
		return
	}
	ids := make([]string, 0, len(sent.Replies))
	for _, r := range sent.Replies {
		ids = append(ids, r.ID)
	}
	ss.s.dispatch(ctx, f.ConversationID, policy, hold, ids, func(positions []int) {
		ss.c.SendFrame(newAck(f.ClientMessageID, sent, positions))
		ss.announce(ctx, sent.Message)
		if kind == "group" && d.Push != nil {
			d.Push.UserMessage(sent.Message, ss.user.Name)
		}
	})
}

// dispatch puts a send's new replies on their way under the conversation's
// turn policy: acknowledge is called once they are queued (with where each
// waits, 0 for not waiting), before any of them starts, so the answer to the
// sender comes before stream_start.
func (s *Sessions) dispatch(ctx context.Context, conversationID, policy, hold string, ids []string, acknowledge func(positions []int)) {
	d := s.d
	bg := context.WithoutCancel(ctx)
	if policy == ari.TurnInterrupt && len(ids) > 0 {
		// The first new reply starts as soon as the active one has ended:
		// it does not wait, whatever was queued; the others follow it.
		positions := make([]int, len(ids))
		for i := range positions {
			positions[i] = i
		}
		acknowledge(positions)
		start, err := d.Engine.Interrupt(bg, conversationID, ids)
		if err != nil {
			// Stored but not queued: the sweeper re-queues pending replies.
			d.Log.Error("relay interrupt", "conversation", conversationID, "err", err)
		}
		d.Engine.Start(bg, conversationID, start)
		return
	}
	start, positions, err := d.Engine.EnqueueHeld(ctx, conversationID, hold, ids)
	if err != nil {
		// Stored but not queued: the sweeper re-queues pending replies.
		d.Log.Error("relay enqueue", "conversation", conversationID, "err", err)
	}
	acknowledge(positions)
	d.Engine.Start(bg, conversationID, start)
}

// ackExisting answers a send whose clientMessageId the user has used
// before: with the stored message when it is the same conversation's (a
// retry), with client_message_id_in_use when it is another's (the id's
// scope is the user, so that is a different message; nothing is stored).
func (ss *session) ackExisting(ctx context.Context, f *protocol.SendMessage, prior store.UserSend) {
	if prior.Message.ConversationID != f.ConversationID {
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeClientIDInUse, Field: "clientMessageId", Ref: f.ClientMessageID,
			Message: "clientMessageId: already used for one of your messages in another conversation; nothing was stored, send it with a new id"})
		return
	}
	positions := make([]int, len(prior.Replies))
	for i, r := range prior.Replies {
		if r.Status == ari.StatusPending {
			positions[i] = ss.s.d.Engine.Position(ctx, prior.Message.ConversationID, r.ID)
		}
	}
	ss.c.SendFrame(newAck(f.ClientMessageID, prior, positions))
}

// newAck is the message_ack of a stored send whose replies wait at
// positions (0: not waiting); queued and position are about the first.
func newAck(clientID string, sent store.UserSend, positions []int) *protocol.MessageAck {
	ack := &protocol.MessageAck{ClientMessageID: clientID, Message: sent.Message}
	for i, r := range sent.Replies {
		e := protocol.AckReply{MessageID: r.ID}
		if r.SenderAgentID != nil {
			e.AgentID = *r.SenderAgentID
		}
		if i < len(positions) {
			e.Position = positions[i]
		}
		ack.Replies = append(ack.Replies, e)
	}
	if len(ack.Replies) > 0 && ack.Replies[0].Position > 0 {
		ack.Queued, ack.Position = true, ack.Replies[0].Position
	}
	return ack
}

// announce sends message_new to the other members and the sender's other
// sockets; members with no socket anywhere get it in pending.
func (ss *session) announce(ctx context.Context, m ari.Message) {
	d := ss.s.d
	users, err := d.DB.MemberUserIDs(ctx, m.ConversationID)
	if err != nil {
		d.Log.Error("relay announce", "err", err)
		return
	}
	ev, err := events.New(events.MessageNew, m.ConversationID, protocol.MessageNewData{Message: m})
	if err != nil {
		return
	}
	ss.publishEvent(ctx, users, ev)
}

func (ss *session) publishEvent(ctx context.Context, users []string, ev events.Event) {
	d := ss.s.d
	raw, err := encodeEvent(ev)
	if err != nil {
		return
	}
	if err := d.Hub.ToUsersOrQueue(ctx, d.Keys, users, raw, ss.name, raw); err != nil {
		d.Log.Error("relay publish event", "type", ev.Type, "err", err)
	}
}

func (ss *session) sync(ctx context.Context, f *protocol.Sync) {
	d := ss.s.d
	states, err := d.DB.ConversationStates(ctx, ss.user.ID)
	if err != nil {
		ss.internal(err, "")
		return
	}
	res := &protocol.SyncResult{Conversations: []protocol.ConversationState{}}
	for _, st := range states {
		if cur, ok := f.Cursors[st.ConversationID]; ok && st.LastSeq <= cur {
			continue
		}
		res.Conversations = append(res.Conversations, protocol.ConversationState{ConversationID: st.ConversationID,
			LastSeq: st.LastSeq, LastReadSeq: st.LastReadSeq, UnreadCount: st.UnreadCount})
	}
	channels, err := d.DB.ChannelStates(ctx, ss.user.ID, store.MaxSyncChannels)
	if err != nil {
		ss.internal(err, "")
		return
	}
	res.Channels = make([]protocol.ChannelState, len(channels))
	for i, c := range channels {
		res.Channels[i] = protocol.ChannelState{ChannelID: c.ChannelID, CommunityID: c.CommunityID,
			LastSeq: c.LastSeq, LastReadSeq: c.LastReadSeq, UnreadCount: c.UnreadCount, MentionCount: c.MentionCount, Muted: c.Muted}
	}
	if res.ActiveStreams, err = d.Engine.ActiveStreams(ctx, ss.user.ID); err != nil {
		ss.internal(err, "")
		return
	}
	if res.Agents, err = ss.agentsOnline(ctx); err != nil {
		ss.internal(err, "")
		return
	}
	if res.InputRequests, err = ss.openInputs(ctx); err != nil {
		ss.internal(err, "")
		return
	}
	if res.AppSessions, err = d.DB.OpenAppSessionsFor(ctx, ss.user.ID, store.MaxSyncAppSessions); err != nil {
		ss.internal(err, "")
		return
	}
	actions, err := ss.pendingAppActions(ctx)
	if err != nil {
		ss.internal(err, "")
		return
	}
	if res.Events, res.Dropped, err = d.Engine.TakePending(ctx, ss.user.ID); err != nil {
		ss.internal(err, "")
		return
	}
	ss.c.SendFrame(res)
	for _, a := range actions {
		ss.c.SendFrame(a)
	}
}
