package client

import (
	"context"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/presence"
)

// Heartbeat refreshes the presence (and the socket-cap entry) of every local
// socket and closes those whose session is gone (4001): the fallback for a
// sessions_revoked notice that never arrived.
func (s *Sessions) Heartbeat(ctx context.Context) {
	s.mu.Lock()
	list := make([]*session, 0, len(s.all))
	for _, ss := range s.all {
		list = append(list, ss)
	}
	s.mu.Unlock()
	s.refreshSockets(ctx, list)
	ids := make([]string, 0, len(list))
	for _, ss := range list {
		ss.savePresence(ctx)
		ss.refreshWatch(ctx)
		ids = append(ids, ss.user.SessionID)
	}
	// A session signed out or expired since the upgrade ends its sockets.
	live, err := s.d.DB.LiveSessions(ctx, ids)
	if err != nil {
		s.d.Log.Warn("relay session check", "err", err)
		return
	}
	for _, ss := range list {
		if !live[ss.user.SessionID] {
			ss.c.Close(protocol.CloseUnauthorized)
		}
	}
}

// savePresence writes this socket's entry of presence:user:{id}, with the
// channels it follows (the push trigger leaves their mentions to the screen).
func (ss *session) savePresence(ctx context.Context) {
	ss.mu.Lock()
	e := presence.Entry{Instance: ss.s.d.InstanceID, ConversationID: ss.focus, Visible: ss.active}
	var channels []string
	for id, sub := range ss.channels {
		if sub.live && !sub.ended {
			channels = append(channels, id)
		}
	}
	ss.mu.Unlock()
	if err := presence.SetWithChannels(ctx, ss.s.d.Redis, ss.s.d.Keys, ss.user.ID, ss.name, e, channels); err != nil {
		ss.s.d.Log.Warn("relay presence", "user", ss.user.ID, "err", err)
	}
}
