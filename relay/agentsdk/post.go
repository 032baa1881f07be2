package agentsdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
)

// Posted is the relay's answer to a stored agent message: its id and seq.
type Posted = protocol.AgentMessageAck

// Errors of Post before anything is sent.
var (
	ErrInvalidPost = errors.New("agentsdk: a post needs ids of 1-64 characters of A-Z a-z 0-9 _ - and 1-16384 bytes of non-blank UTF-8 text without U+0000")
	// ErrPostInFlight: a Post with the same clientMessageID is still waiting.
	ErrPostInFlight = errors.New("agentsdk: a post with this clientMessageID is already waiting for its answer")
)

// PostError is the relay's refusal of an agent message (an error frame
// whose ref is the post's clientMessageID): not_found (not a member),
// client_message_id_in_use, rate_limited (RetryAfter says how long to
// wait; then Post again with the same id), invalid_frame, internal (a
// retry with the same id is safe).
type PostError struct {
	Code       string
	Message    string
	Field      string
	RetryAfter time.Duration
}

func (e *PostError) Error() string {
	return fmt.Sprintf("agentsdk: the relay refused the post: %s (%s)", e.Message, e.Code)
}

type postResult struct {
	ack Posted
	err error
}

// Post sends a message of the agent's own, outside any task, to a
// conversation it is a member of (agent_message) and waits for the relay's
// answer: the stored message's id and seq, or a *PostError. Members get it
// as message_new; it starts no reply. clientMessageID must be unique among
// all the agent's messages; the relay stores a message once per id, so Post
// sends it again, with the same id, when the connection is lost before the
// answer, and a caller may retry with the same id after an error.
func (a *Agent) Post(ctx context.Context, conversationID, content, clientMessageID string) (Posted, error) {
	if !ari.ValidID(conversationID) || !ari.ValidID(clientMessageID) || len(content) > protocol.MaxContentBytes ||
		!utf8.ValidString(content) || strings.ContainsRune(content, 0) || strings.TrimSpace(content) == "" {
		return Posted{}, ErrInvalidPost
	}
	ch := make(chan postResult, 1)
	a.mu.Lock()
	if a.stopping {
		a.mu.Unlock()
		return Posted{}, ErrStopped
	}
	if _, dup := a.posts[clientMessageID]; dup {
		a.mu.Unlock()
		return Posted{}, ErrPostInFlight
	}
	a.posts[clientMessageID] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.posts, clientMessageID)
		a.mu.Unlock()
	}()
	f := &protocol.AgentMessage{ConversationID: conversationID, Content: content, ClientMessageID: clientMessageID}
	for {
		a.mu.Lock()
		lost := a.lost
		a.mu.Unlock()
		if err := a.enqueue(ctx, item{kind: kindPost, post: f}); err != nil {
			return Posted{}, err
		}
		select {
		case r := <-ch:
			return r.ack, r.err
		case <-lost: // sent again on the next socket, under the same id
		case <-ctx.Done():
			return Posted{}, context.Cause(ctx)
		case <-a.halt:
			return Posted{}, ErrStopped
		}
	}
}

// answerPost hands the relay's answer to the waiting Post, if any.
func (a *Agent) answerPost(clientMessageID string, r postResult) bool {
	a.mu.Lock()
	ch, ok := a.posts[clientMessageID]
	a.mu.Unlock()
	if ok {
		select {
		case ch <- r:
		default: // answered already (a repeat after a reconnect)
		}
	}
	return ok
}

// socketLost wakes the Posts waiting on the socket that just closed.
func (a *Agent) socketLost() {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.lost)
	a.lost = make(chan struct{})
}
