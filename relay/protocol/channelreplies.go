package protocol

import (
	"encoding/json"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Agents in channels (PROTOCOL.md section 18, "Agents in channels"): a
// channel message that @mentions agents attached to the channel gives each
// a reply, run one at a time per channel. Every socket subscribed to the
// channel sees it stream with these frames (the channel's counterparts of
// stream_start, stream_chunk, stream_status and stream_end); the agent gets
// a task whose Channel says where it is.

// Frame types of channel replies (relay → client).
const (
	TypeChannelStreamStart  = "channel_stream_start"
	TypeChannelStreamChunk  = "channel_stream_chunk"
	TypeChannelStreamStatus = "channel_stream_status"
	TypeChannelStreamEnd    = "channel_stream_end"
	// TypeChannelChainLimit: a reply's mentions of other agents were not
	// followed, the chain's budget was spent (section 13's rule).
	TypeChannelChainLimit = "channel_chain_limit"
	// TypeChannelInputRequest: the agent writing the channel's reply asks
	// the channel's people (input_request's counterpart); the answer is
	// input_response, its end the event channel_input_resolved.
	TypeChannelInputRequest = "channel_input_request"
)

// ChannelInputRequest is an agent's question or approval in a channel, as
// every subscribed socket sees it.
type ChannelInputRequest struct {
	ChannelID string          `json:"channelId"`
	RequestID string          `json:"requestId"`
	MessageID string          `json:"messageId"`
	AgentID   string          `json:"agentId"`
	Kind      string          `json:"kind"`
	Prompt    string          `json:"prompt"`
	Options   []string        `json:"options,omitempty"`
	Schema    json.RawMessage `json:"schema,omitempty"`
	ExpiresAt ari.Time        `json:"expiresAt"`
}

// ChannelInputRequestOf is the frame for a stored channel request.
func ChannelInputRequestOf(r ari.InputRequest) *ChannelInputRequest {
	f := &ChannelInputRequest{ChannelID: r.ChannelID, RequestID: r.ID, MessageID: r.MessageID, Kind: r.Kind,
		Prompt: r.Prompt, Options: r.Options, Schema: r.Schema, ExpiresAt: r.ExpiresAt}
	if r.AgentID != nil {
		f.AgentID = *r.AgentID
	}
	return f
}

// ChannelStreamStart: an agent has started a reply in the channel.
// MessageID is the reply's id, which the channel message saved at its end
// takes; ReplyToID the message it answers.
type ChannelStreamStart struct {
	ChannelID string `json:"channelId"`
	MessageID string `json:"messageId"`
	AgentID   string `json:"agentId"`
	ReplyToID string `json:"replyToId"`
	// ChainHop and ChainRootID come with a reply another agent's mention
	// set off: its hop (1 for the first) and the person's message that
	// started the chain.
	ChainHop    int    `json:"chainHop,omitempty"`
	ChainRootID string `json:"chainRootId,omitempty"`
}

// ChannelStreamChunk is text of a reply: Delta goes at byte Offset of the
// reply's UTF-8 text.
type ChannelStreamChunk struct {
	ChannelID string `json:"channelId"`
	MessageID string `json:"messageId"`
	Delta     string `json:"delta"`
	Offset    int64  `json:"offset"`
}

// ChannelStreamStatus is what the agent writing a reply says it is doing.
type ChannelStreamStatus struct {
	ChannelID string `json:"channelId"`
	MessageID string `json:"messageId"`
	State     string `json:"state"`
	Label     string `json:"label,omitempty"`
}

// ChannelStreamEnd is a reply's terminal state (complete, error,
// cancelled) and final text. Seq is the channel message the text was saved
// as (its id is MessageID); 0 when the reply ended with no text, which
// saves no message.
type ChannelStreamEnd struct {
	ChannelID string       `json:"channelId"`
	MessageID string       `json:"messageId"`
	Status    string       `json:"status"`
	Content   string       `json:"content"`
	Seq       int64        `json:"seq"`
	Error     *StreamError `json:"error,omitempty"`
}

// ChannelStream is the reply streaming in a channel when a socket
// subscribes (channel_subscribed.stream): its text so far, Offset bytes
// long; later chunks continue from there.
type ChannelStream struct {
	MessageID string       `json:"messageId"`
	AgentID   string       `json:"agentId"`
	Content   string       `json:"content"`
	Offset    int64        `json:"offset"`
	Status    *ReplyStatus `json:"status,omitempty"`
	// InputRequest is the question or approval the reply waits on, if any.
	InputRequest *ChannelInputRequest `json:"inputRequest,omitempty"`
}

// ChannelChainLimit is channel_chain_limit: MessageID is the finished reply
// whose mentions were not followed, Hops the hops its chain had made.
type ChannelChainLimit struct {
	ChannelID string `json:"channelId"`
	MessageID string `json:"messageId"`
	Hops      int    `json:"hops"`
}

// TaskChannel is set on a task from a community channel: the agent answers
// in the channel, seen by all of its members. Its history is the channel's
// newest messages.
type TaskChannel struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	CommunityID   string `json:"communityId"`
	CommunityName string `json:"communityName"`
}

func (*ChannelStreamStart) FrameType() string  { return TypeChannelStreamStart }
func (*ChannelStreamChunk) FrameType() string  { return TypeChannelStreamChunk }
func (*ChannelStreamStatus) FrameType() string { return TypeChannelStreamStatus }
func (*ChannelStreamEnd) FrameType() string    { return TypeChannelStreamEnd }
func (*ChannelChainLimit) FrameType() string   { return TypeChannelChainLimit }
func (*ChannelInputRequest) FrameType() string { return TypeChannelInputRequest }

func init() {
	relayFrames[TypeChannelStreamStart] = func() Frame { return &ChannelStreamStart{} }
	relayFrames[TypeChannelStreamChunk] = func() Frame { return &ChannelStreamChunk{} }
	relayFrames[TypeChannelStreamStatus] = func() Frame { return &ChannelStreamStatus{} }
	relayFrames[TypeChannelStreamEnd] = func() Frame { return &ChannelStreamEnd{} }
	relayFrames[TypeChannelChainLimit] = func() Frame { return &ChannelChainLimit{} }
	relayFrames[TypeChannelInputRequest] = func() Frame { return &ChannelInputRequest{} }
}
