package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// client is shared by every HTTP worker, with enough idle connections that
// each worker keeps its own.
var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512, IdleConnTimeout: time.Minute},
}

// httpWorker GETs the path next gives with the user's bearer token; any
// status but 200 is an error.
func httpWorker(base, token string, next func() string) worker {
	return func(ctx context.Context) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+next(), nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %s", req.URL.Path, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return took, nil
	}
}

// sender is one user's client socket sending into one conversation of two
// people and no agent, so a send is stored, acknowledged and fanned out to
// the other member, and starts no reply.
type sender struct {
	ws     *websocket.Conn
	conv   string
	prefix string // clientMessageIds are prefix-n: unique across runs
	n      int
}

func dialSender(ctx context.Context, base, token, conv string) (*sender, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.DialContext(ctx, base+protocol.ClientPath, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("relay dial: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("relay dial: %w", err)
	}
	return &sender{ws: ws, conv: conv, prefix: fmt.Sprintf("%s-%d", conv, time.Now().UnixNano())}, nil
}

func (s *sender) close() { _ = s.ws.Close() }

// send writes one send_message and reads until its message_ack; other
// frames (the relay's own events) are skipped. An error frame about it is
// an error.
func (s *sender) send(context.Context) (time.Duration, error) {
	s.n++
	cmid := fmt.Sprintf("%s-%d", s.prefix, s.n)
	b, err := protocol.Encode(&protocol.SendMessage{ConversationID: s.conv, Content: "bench send " + cmid, ClientMessageID: cmid})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_ = s.ws.SetWriteDeadline(start.Add(10 * time.Second))
	if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return 0, err
	}
	_ = s.ws.SetReadDeadline(start.Add(30 * time.Second))
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return 0, err
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue
		}
		switch f := f.(type) {
		case *protocol.MessageAck:
			if f.ClientMessageID == cmid {
				return time.Since(start), nil
			}
		case *protocol.ErrorFrame:
			return 0, fmt.Errorf("relay error %s: %s", f.Code, f.Message)
		}
	}
}
