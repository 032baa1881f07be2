package client

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/ari-chat/ari-server/relay/conn"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/metrics"
)

// ServeTicket runs a client socket whose upgrade carried no session: a page
// on another site, whose cookie the browser keeps to itself. Its first frame
// must be auth with a socket ticket (auth.Tickets), within AuthTimeout; the
// ticket makes it a socket of the ticket's user and session, served exactly
// as Serve serves one (and closed like one when that session ends).
// Anything else first gets auth_error and close 4001; silence, 4009.
func (s *Sessions) ServeTicket(ctx context.Context, c *conn.Conn) {
	// state: 0 waiting for auth, 1 authenticating or authenticated, 2 refused.
	var state atomic.Int32
	var ss *session // only the reader goroutine touches it
	timer := time.AfterFunc(s.d.AuthTimeout, func() {
		if state.CompareAndSwap(0, 2) {
			c.SendFrame(&protocol.AuthError{Code: protocol.CodeAuthTimeout, Message: "no auth frame within the deadline"})
			c.Close(protocol.CloseAuthTimeout)
		}
	})
	c.Run(func(data []byte) {
		if ss != nil {
			ss.handle(ctx, data)
			return
		}
		if !state.CompareAndSwap(0, 1) {
			return // refused or timed out: the socket is closing
		}
		refuse := func(code, msg string) {
			state.Store(2)
			c.SendFrame(&protocol.AuthError{Code: code, Message: msg})
			c.Close(protocol.CloseUnauthorized)
		}
		f, err := protocol.DecodeClient(data)
		metrics.FrameIn(metrics.Client, f)
		a, ok := f.(*protocol.TicketAuth)
		if err != nil || !ok {
			refuse(protocol.CodeAuthRequired, "the first frame must be auth with a socket ticket")
			return
		}
		caller, err := s.d.Tickets.Redeem(ctx, s.d.DB, a.Ticket)
		if errors.Is(err, auth.ErrBadTicket) {
			refuse(protocol.CodeUnauthorized, "the ticket is unknown, used, expired or its session ended")
			return
		}
		if err != nil {
			s.d.Log.Error("relay socket ticket", "err", err)
			state.Store(2)
			c.Close(protocol.CloseInternal)
			return
		}
		if ss = s.open(ctx, c, caller); ss != nil {
			c.SendFrame(&protocol.AuthOK{User: &protocol.UserInfo{ID: caller.ID, Name: caller.Name}, Protocol: protocol.Version})
		}
	})
	timer.Stop()
	if ss != nil {
		s.finish(ctx, ss)
	}
}
