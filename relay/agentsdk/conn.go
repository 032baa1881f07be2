package agentsdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

const (
	// readLimit follows PROTOCOL.md's advice to peers: the relay does not
	// bound what it sends (a task carries up to 16 KiB of history).
	readLimit = 16 << 20
	// readTimeout: the relay pings every 20 s, so a silence this long means
	// the socket is dead even if TCP has not noticed.
	readTimeout  = protocol.IdleTimeout + 5*time.Second
	writeTimeout = 10 * time.Second
	// replayWindow: terminal frames written this shortly before a socket
	// broke may not have reached the relay, so they are sent again.
	replayWindow = 10 * time.Second
	// flushTimeout bounds how long a stopping agent waits for its last frames.
	flushTimeout = 3 * time.Second
)

// dial opens a socket and authenticates: auth, then auth_ok (or auth_error),
// then the skills declaration.
func (a *Agent) dial(ctx context.Context) (*websocket.Conn, error) {
	d := a.cfg.Dialer
	if d == nil {
		d = &websocket.Dialer{HandshakeTimeout: 15 * time.Second}
	}
	dd := *d
	dd.Subprotocols = []string{protocol.Version}
	ws, resp, err := dd.DialContext(ctx, a.cfg.URL, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("agentsdk: dial %s: %w (HTTP %d)", a.cfg.URL, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("agentsdk: dial %s: %w", a.cfg.URL, err)
	}
	// Cancelling ctx during the handshake closes the socket, which ends the
	// blocking read below.
	stopWatch := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stopWatch()
	info, err := a.authenticate(ws)
	if err != nil {
		_ = ws.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	a.mu.Lock()
	a.info = info
	a.mu.Unlock()
	a.log.Info("agentsdk: connected", "agent", info.ID, "handle", info.Handle, "url", a.cfg.URL)
	return ws, nil
}

func (a *Agent) authenticate(ws *websocket.Conn) (Info, error) {
	ws.SetReadLimit(readLimit)
	if err := writeFrame(ws, &protocol.Auth{Token: a.cfg.Token}); err != nil {
		return Info{}, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(protocol.AuthTimeout + 5*time.Second))
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			return Info{}, closeCause(err)
		}
		if typ != websocket.TextMessage {
			continue
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue // a newer relay's frame; ignore it
		}
		switch f := f.(type) {
		case *protocol.AuthOK:
			if a.cfg.Skills != nil {
				if err := writeFrame(ws, &protocol.Skills{Skills: a.cfg.Skills}); err != nil {
					return Info{}, err
				}
			}
			return f.Agent, nil
		case *protocol.AuthError:
			return Info{}, &AuthError{Code: f.Code, Message: f.Message}
		}
	}
}

func writeFrame(ws *websocket.Conn, f protocol.Frame) error {
	data, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	return ws.WriteMessage(websocket.TextMessage, data)
}

// closeCause turns the relay's close codes into the package's errors.
func closeCause(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case protocol.CloseUnauthorized:
			return &AuthError{Code: protocol.CodeUnauthorized, Message: ce.Text}
		case protocol.CloseRevoked:
			return ErrRevoked
		case protocol.CloseReplaced:
			return ErrReplaced
		case protocol.CloseAuthTimeout:
			return &AuthError{Code: protocol.CodeAuthTimeout, Message: ce.Text}
		}
	}
	return err
}

// serve runs one authenticated socket with a reader and a writer goroutine
// until it breaks, or until ctx ends, when it stops the agent gracefully:
// handlers finish, their last frames are flushed, and the socket closes 1000.
func (a *Agent) serve(ctx context.Context, ws *websocket.Conn) error {
	a.epoch++
	readerDone := make(chan error, 1)
	writerDone := make(chan error, 1)
	writerStop := make(chan struct{})
	go func() { readerDone <- a.readLoop(ws) }()
	go func() { writerDone <- a.writeLoop(ws, writerStop) }()
	readerOut, writerOut := false, false
	var err error
	select {
	case err = <-readerDone:
		readerOut = true
	case err = <-writerDone:
		writerOut = true
	case <-ctx.Done():
		readerOut, writerOut = a.drain(ws, readerDone, writerDone)
	}
	close(writerStop)
	if !writerOut {
		if werr := <-writerDone; err == nil {
			err = werr
		}
	}
	if ctx.Err() != nil {
		msg := websocket.FormatCloseMessage(protocol.CloseNormal, protocol.CloseReason(protocol.CloseNormal))
		_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		if !readerOut { // give the relay a moment to answer the close
			select {
			case <-readerDone:
				readerOut = true
			case <-time.After(time.Second):
			}
		}
	}
	_ = ws.Close()
	if !readerOut {
		<-readerDone
	}
	a.socketLost()
	return closeCause(err)
}

// drain stops the agent while the socket is up: handlers are cancelled and
// waited for, and what they queued is written before the socket is closed.
// It reports which of the reader and writer have already ended.
func (a *Agent) drain(ws *websocket.Conn, readerDone, writerDone <-chan error) (readerOut, writerOut bool) {
	a.beginStop()
	timeout := time.NewTimer(flushTimeout)
	defer timeout.Stop()
	select {
	case <-a.handlersDone:
	case <-readerDone:
		return true, false
	case <-writerDone:
		return false, true
	}
	flushed := make(chan struct{})
	select {
	case a.out <- item{flushed: flushed}:
	case <-timeout.C:
		return false, false
	}
	select {
	case <-flushed:
	case <-readerDone:
		return true, false
	case <-writerDone:
		return false, true
	case <-timeout.C:
	}
	return false, false
}

// readLoop receives frames until the socket fails.
func (a *Agent) readLoop(ws *websocket.Conn) error {
	extend := func() { _ = ws.SetReadDeadline(time.Now().Add(readTimeout)) }
	ws.SetPingHandler(func(data string) error {
		extend()
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		extend()
		typ, data, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		if typ != websocket.TextMessage {
			continue
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			a.log.Debug("agentsdk: ignored a frame", "err", err)
			continue
		}
		switch f := f.(type) {
		case *protocol.Task:
			a.startTask(f)
		case *protocol.TaskCancel:
			a.cancelTask(f.TaskID, &CancelError{Reason: f.Reason})
		case *protocol.AgentMessageAck:
			a.answerPost(f.ClientMessageID, postResult{ack: *f})
		case *protocol.InputResponse:
			ans := Answer{RequestID: f.RequestID, UserID: f.UserID}
			if f.Answer != nil {
				ans.Text = *f.Answer
			}
			if f.Approved != nil {
				ans.Approved = *f.Approved
			}
			a.answerAsk(f.TaskID, f.RequestID, askResult{answer: ans})
		case *protocol.InputTimeout:
			a.answerAsk(f.TaskID, f.RequestID, askResult{err: ErrInputTimeout})
		case *protocol.ToolResult:
			a.answerCall(f)
		case *protocol.AppEvent:
			a.appEvent(f)
		case *protocol.ErrorFrame:
			if f.Ref != "" && inputRefusal(f.Code) && a.refuseAsk(f) {
				continue
			}
			if f.Code != protocol.CodeNotYourTask && f.Ref != "" && a.answerPost(f.Ref, postResult{err: &PostError{
				Code: f.Code, Message: f.Message, Field: f.Field, RetryAfter: time.Duration(f.RetryAfterMs) * time.Millisecond}}) {
				continue
			}
			if f.Code == protocol.CodeNotYourTask && f.Ref != "" {
				a.cancelTask(f.Ref, ErrNotYourTask)
			} else {
				a.log.Warn("agentsdk: relay reported an error", "code", f.Code, "message", f.Message, "field", f.Field, "ref", f.Ref)
			}
		}
	}
}

// writeLoop sends queued frames until stop is closed or a write fails; the
// failed frame is kept for the next socket.
func (a *Agent) writeLoop(ws *websocket.Conn, stop <-chan struct{}) error {
	var replay []item
	if a.retry != nil {
		replay = append(replay, *a.retry)
		a.retry = nil
	}
	for _, s := range a.recent {
		if time.Since(s.at) < replayWindow {
			replay = append(replay, s.it)
		}
	}
	a.recent = a.recent[:0]
	for i, it := range replay {
		if err := a.write(ws, it); err != nil {
			a.retry = &replay[i]
			return err
		}
	}
	for {
		select {
		case <-stop:
			return nil
		case it := <-a.out:
			if it.flushed != nil {
				close(it.flushed)
				continue
			}
			if err := a.write(ws, it); err != nil {
				a.retry = &it
				return err
			}
		}
	}
}

// write renders one queued item for this socket. A task that already sent
// frames on an earlier socket is re-aligned: its chunk goes out in
// accumulated mode with the whole text, and its completion carries the text,
// so whatever the relay missed at the loss is filled in.
func (a *Agent) write(ws *websocket.Conn, it item) error {
	if it.kind == kindPost {
		return writeFrame(ws, it.post)
	}
	if it.kind == kindInput {
		return writeFrame(ws, it.input)
	}
	if it.kind == kindToolCall {
		return writeFrame(ws, it.call)
	}
	t := it.task
	if it.kind == kindStatus {
		// Carries no text: the task's next text frame still re-aligns.
		return writeFrame(ws, &protocol.AgentStatus{TaskID: t.id, State: it.state, Label: it.content})
	}
	resync := t.epoch != 0 && t.epoch != a.epoch
	t.epoch = a.epoch
	var f protocol.Frame
	switch it.kind {
	case kindDelta:
		if resync {
			f = &protocol.AgentChunk{TaskID: t.id, Content: it.full, Mode: protocol.ModeAccumulated}
		} else {
			f = &protocol.AgentChunk{TaskID: t.id, Content: it.content, Mode: protocol.ModeDelta}
		}
	case kindSet:
		f = &protocol.AgentChunk{TaskID: t.id, Content: it.full, Mode: protocol.ModeAccumulated}
	case kindComplete:
		c := &protocol.AgentComplete{TaskID: t.id}
		if it.final || resync {
			full := it.full
			c.Content = &full
		}
		f = c
	case kindError:
		f = &protocol.AgentError{TaskID: t.id, Error: it.content}
	}
	if err := writeFrame(ws, f); err != nil {
		return err
	}
	if it.kind == kindComplete || it.kind == kindError {
		now := time.Now()
		keep := a.recent[:0]
		for _, s := range a.recent {
			if now.Sub(s.at) < replayWindow {
				keep = append(keep, s)
			}
		}
		a.recent = append(keep, sentFrame{it: it, at: now})
	}
	return nil
}

// inputRefusal: codes the relay answers a refused agent_input_request with
// (ref: its task).
func inputRefusal(code string) bool {
	switch code {
	case protocol.CodeInputPending, protocol.CodeRequestIDInUse, protocol.CodeInvalidFrame, protocol.CodeInternal:
		return true
	}
	return false
}
