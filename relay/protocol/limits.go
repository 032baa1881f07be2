// Package protocol is the relay's wire format: the frames exchanged on the client
// socket (/ws) and the agent socket (/ws/agent), their limits, error and close
// codes, and the pure rules both ends share (chunk merging, @mention handles).
// It does no I/O; relay/PROTOCOL.md is the prose version of the same contract.
package protocol

import (
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Version is the protocol name, also offered as the WebSocket subprotocol.
const Version = "ari.v1"

// Paths of the two sockets.
const (
	ClientPath = "/ws"
	AgentPath  = "/ws/agent"
)

// Size limits. Bytes are UTF-8 bytes of the decoded string, not characters.
const (
	// MaxClientFrameBytes is the read limit on /ws; a larger frame closes the
	// socket with CloseMessageTooBig.
	MaxClientFrameBytes = 32 << 10
	// MaxAgentFrameBytes is the read limit on /ws/agent. It is larger than the
	// client's because an agent in accumulated mode resends the whole reply.
	MaxAgentFrameBytes = 512 << 10
	// MaxContentBytes bounds a user message (and a message an agent starts),
	// leaving room in a 32 KiB frame for JSON escaping and the other fields.
	MaxContentBytes = ari.MaxMessageBytes
	// MaxReplyBytes bounds the text of one agent reply.
	MaxReplyBytes = 256 << 10
	// MaxIDBytes bounds every id, clientMessageId included (shared/ari's
	// rule, the same one REST applies to path ids).
	MaxIDBytes = ari.MaxIDBytes
	// MaxAttachments bounds send_message.attachments.
	MaxAttachments = 10
	// MaxCursors bounds sync.cursors.
	MaxCursors = 1000
	// MaxTokenBytes bounds auth.token (real tokens are 52 bytes).
	MaxTokenBytes = 256
	// MaxSkills, MaxSkillNameBytes and MaxSkillDescriptionBytes bound skills.
	MaxSkills                = 64
	MaxSkillNameBytes        = 64
	MaxSkillDescriptionBytes = 1024
	// MaxAgentErrorBytes bounds agent_error.error, which users get to read.
	MaxAgentErrorBytes = 2048
	// MaxStatusLabelBytes bounds agent_status.label.
	MaxStatusLabelBytes = 200
	// HistoryEntries and HistoryBytes bound task.history.
	HistoryEntries = 20
	HistoryBytes   = 16 << 10
	// HistoryAppEvents and HistoryAppEventBytes (text and data) bound the
	// app events among task.history.
	HistoryAppEvents     = 50
	HistoryAppEventBytes = 32 << 10
	// MaxSeq is the largest seq a client may send: the largest integer a
	// JavaScript number holds exactly.
	MaxSeq = 1<<53 - 1
)

// Timing defaults. The relay may override the agent timeouts through
// RELAY_AGENT_IDLE_TIMEOUT and RELAY_AGENT_FIRST_CHUNK_TIMEOUT. Redis TTLs
// (stream buffers, pending events) live with the keys in shared/kv.
const (
	IdleTimeout                   = 45 * time.Second
	PingInterval                  = 20 * time.Second
	AuthTimeout                   = 10 * time.Second
	DefaultAgentIdleTimeout       = 60 * time.Second
	DefaultAgentFirstChunkTimeout = 5 * time.Minute
	// MaxQueuedReplies is how many replies may wait behind the active one in a
	// conversation before send_message is refused with conversation_busy.
	MaxQueuedReplies = 20
)
