package protocol

import (
	"errors"
	"fmt"
)

// Error codes carried by error frames (and auth_error). They are stable.
const (
	CodeInvalidJSON      = "invalid_json"
	CodeUnknownType      = "unknown_type"
	CodeInvalidFrame     = "invalid_frame"
	CodeFrameTooLarge    = "frame_too_large"
	CodeNotFound         = "not_found"
	CodeForbidden        = "forbidden"
	CodeRateLimited      = "rate_limited"
	CodeNotYourTask      = "not_your_task"
	CodeConversationBusy = "conversation_busy"
	// CodeClientIDInUse refuses a send_message whose clientMessageId the
	// user already used for a message in another conversation.
	CodeClientIDInUse = "client_message_id_in_use"
	CodeAgentOffline  = "agent_offline"
	CodeInternal      = "internal"
	// CodeUnauthorized is used by auth_error and the HTTP 401 before upgrade.
	CodeUnauthorized = "unauthorized"
	// CodeAuthRequired answers an agent whose first frame is not auth.
	CodeAuthRequired = "auth_required"
	// CodeAuthTimeout answers an agent that sent no auth frame in time.
	CodeAuthTimeout = "auth_timeout"
)

// Codes in stream_end.error: why a reply ended in status error.
const (
	StreamErrAgentError    = "agent_error"     // the agent sent agent_error
	StreamErrAgentTimeout  = "agent_timeout"   // the agent went silent past a timeout
	StreamErrAgentOffline  = "agent_offline"   // no socket and no A2A endpoint
	StreamErrReplyTooLarge = "reply_too_large" // the text grew past MaxReplyBytes
	StreamErrInvalidChunk  = "invalid_chunk"   // an accumulated chunk did not extend the text
	StreamErrInterrupted   = "interrupted"     // the relay holding the reply died
	StreamErrInternal      = "internal"
)

// WebSocket close codes. 1000-1011 are RFC 6455's; 4000-4999 are ours.
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001 // relay shutting down: reconnect
	CloseUnsupportedData = 1003 // a binary frame
	CloseMessageTooBig   = 1009 // a frame over the read limit
	CloseInternal        = 1011

	CloseUnauthorized = 4001 // bad token, or session expired or revoked
	CloseRevoked      = 4003 // agent token regenerated or agent deleted
	CloseReplaced     = 4004 // a newer socket of the same agent took over
	CloseSlowConsumer = 4008 // the send queue filled up
	CloseAuthTimeout  = 4009 // no auth frame within AuthTimeout
	// CloseTooManySockets refuses a client socket that would take its user
	// past RELAY_MAX_SOCKETS_PER_USER open sockets over every instance.
	CloseTooManySockets = 4029
)

// CloseReason is the reason text sent with one of the close codes above.
func CloseReason(code int) string {
	switch code {
	case CloseNormal:
		return "normal"
	case CloseGoingAway:
		return "going away"
	case CloseUnsupportedData:
		return "binary frames are not supported"
	case CloseMessageTooBig:
		return CodeFrameTooLarge
	case CloseInternal:
		return CodeInternal
	case CloseUnauthorized:
		return CodeUnauthorized
	case CloseRevoked:
		return "token revoked"
	case CloseReplaced:
		return "replaced by a newer connection"
	case CloseSlowConsumer:
		return "slow consumer"
	case CloseAuthTimeout:
		return "auth timeout"
	case CloseTooManySockets:
		return "too many sockets"
	}
	return ""
}

// Error is why a frame was refused. Field names the offending JSON key when
// there is one; Ref is the id the frame was about (clientMessageId, messageId,
// conversationId or taskId) when it could be read, so a client can match the
// error to what it sent.
type Error struct {
	Code    string
	Message string
	Field   string
	Ref     string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Frame returns the error frame that reports e.
func (e *Error) Frame() *ErrorFrame {
	return &ErrorFrame{Code: e.Code, Message: e.Message, Field: e.Field, Ref: e.Ref}
}

// FrameFor is the error frame that answers a decode error, or nil when err
// is not a protocol *Error (then the frame is dropped without an answer).
func FrameFor(err error) *ErrorFrame {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Frame()
	}
	return nil
}
