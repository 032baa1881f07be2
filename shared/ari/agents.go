package ari

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Agent visibilities, as stored in agents.visibility.
const (
	VisibilityPrivate = "private" // only its owner can talk to it
	VisibilityPublic  = "public"  // anyone signed in can talk to it
)

// Bounds of an agent's fields; the table's CHECK constraints agree.
const (
	MaxAgentName        = 100  // characters
	MaxAgentHandle      = 64   // bytes, [a-z0-9_-]
	MaxAgentDescription = 2000 // characters
	MaxURL              = 2048 // bytes, avatar and A2A endpoint
	MaxA2AAuthHeader    = 4096 // bytes

	// Skill bounds match the relay's `skills` frame (relay/PROTOCOL.md), so a
	// declaration accepted on the socket is also accepted over REST and back.
	MaxSkills           = 64
	MaxSkillName        = 64   // bytes
	MaxSkillDescription = 1024 // bytes
)

// Skill is one capability an agent declares, shown to users.
type Skill struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ValidateSkills checks a whole declaration and returns field -> problem.
func ValidateSkills(skills []Skill) map[string]string {
	bad := map[string]string{}
	if len(skills) > MaxSkills {
		bad["skills"] = fmt.Sprintf("at most %d skills", MaxSkills)
		return bad
	}
	seen := make(map[string]bool, len(skills))
	for i, s := range skills {
		field := fmt.Sprintf("skills[%d]", i)
		switch {
		case strings.TrimSpace(s.Name) == "":
			bad[field+".name"] = "is required"
		case len(s.Name) > MaxSkillName:
			bad[field+".name"] = fmt.Sprintf("at most %d bytes", MaxSkillName)
		case !utf8.ValidString(s.Name):
			bad[field+".name"] = "must be valid UTF-8"
		case seen[s.Name]:
			bad[field+".name"] = "duplicates an earlier skill"
		}
		seen[s.Name] = true
		if len(s.Description) > MaxSkillDescription {
			bad[field+".description"] = fmt.Sprintf("at most %d bytes", MaxSkillDescription)
		} else if !utf8.ValidString(s.Description) {
			bad[field+".description"] = "must be valid UTF-8"
		}
	}
	return bad
}

// Agent is a row of agents as its owner sees it. The token hash is never part
// of it; the A2A auth header is write-only (only whether one is set shows).
type Agent struct {
	ID          string  `json:"id"`
	OwnerID     string  `json:"ownerId"`
	Name        string  `json:"name"`
	Handle      string  `json:"handle"`
	Description string  `json:"description"`
	AvatarURL   *string `json:"avatarUrl"`
	Visibility  string  `json:"visibility"`
	Skills      []Skill `json:"skills"`
	// Owner-only fields; Public clears them.
	A2AEndpoint      *string `json:"a2aEndpoint,omitempty"`
	A2AAuthHeaderSet bool    `json:"a2aAuthHeaderSet,omitempty"`
	TokenHint        string  `json:"tokenHint,omitempty"`
	// A2AAuthHeader is what the relay sends to the agent's endpoint; never JSON.
	A2AAuthHeader string `json:"-"`
	LastSeenAt    *Time  `json:"lastSeenAt"`
	CreatedAt     Time   `json:"createdAt"`
	UpdatedAt     Time   `json:"updatedAt"`
}

// Public returns what a signed-in non-owner may see of a public agent.
func (a Agent) Public() Agent {
	a.A2AEndpoint = nil
	a.A2AAuthHeaderSet = false
	a.A2AAuthHeader = ""
	a.TokenHint = ""
	return a
}

// AgentHandle derives the @mention handle from a name: lowercase, every run of
// characters outside [a-z0-9_-] becomes one "-", trimmed of "-" at both ends,
// at most MaxAgentHandle bytes. It returns "" when nothing usable is left.
func AgentHandle(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > MaxAgentHandle {
		h = strings.TrimRight(h[:MaxAgentHandle], "-")
	}
	return h
}

// AgentTokenPrefix starts every agent secret token.
const AgentTokenPrefix = "ari_"

// agentTokenBytes random bytes give the 48 hex characters after the prefix.
const agentTokenBytes = 24

// NewAgentToken returns a fresh secret token, the hash to store and a short
// hint that lets the owner recognise the token without revealing it.
func NewAgentToken() (token string, hash []byte, hint string, err error) {
	b := make([]byte, agentTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, "", fmt.Errorf("agent token: %w", err)
	}
	token = AgentTokenPrefix + hex.EncodeToString(b)
	return token, HashAgentToken(token), AgentTokenPrefix + "…" + token[len(token)-4:], nil
}

// HashAgentToken is what agents.token_hash stores for token.
func HashAgentToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormedAgentToken reports whether s looks like a token NewAgentToken made,
// so garbage is refused without a database round trip.
func WellFormedAgentToken(s string) bool {
	if len(s) != len(AgentTokenPrefix)+2*agentTokenBytes || !strings.HasPrefix(s, AgentTokenPrefix) {
		return false
	}
	for _, c := range s[len(AgentTokenPrefix):] {
		if !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
			return false
		}
	}
	return true
}

// AgentStats summarises an agent's replies. Durations are milliseconds; they
// are nil while there is no reply to measure.
type AgentStats struct {
	AgentID       string        `json:"agentId"`
	Conversations int64         `json:"conversations"`
	Messages      int64         `json:"messages"`
	Replies       ReplyOutcomes `json:"replies"`
	FirstChunkMs  Percentiles   `json:"timeToFirstChunkMs"`
	CompletionMs  Percentiles   `json:"timeToCompletionMs"`
	LastSeenAt    *Time         `json:"lastSeenAt"`
	Online        bool          `json:"online"`
}

// ReplyOutcomes counts replies by terminal state; InFlight are still pending
// or streaming.
type ReplyOutcomes struct {
	Completed int64 `json:"completed"`
	Errored   int64 `json:"errored"`
	Cancelled int64 `json:"cancelled"`
	InFlight  int64 `json:"inFlight"`
}

// Percentiles of a duration in milliseconds.
type Percentiles struct {
	Median *float64 `json:"median"`
	P95    *float64 `json:"p95"`
}

// AgentTask is one reply an agent was asked to write, with its outcome.
type AgentTask struct {
	MessageID      string  `json:"messageId"`
	ConversationID string  `json:"conversationId"`
	Seq            int64   `json:"seq"`
	ReplyToID      *string `json:"replyToId"`
	Status         string  `json:"status"`
	Error          *string `json:"error"`
	CreatedAt      Time    `json:"createdAt"`
	FirstChunkAt   *Time   `json:"firstChunkAt"`
	CompletedAt    *Time   `json:"completedAt"`
	// FirstChunkMs and DurationMs are measured from CreatedAt.
	FirstChunkMs *float64 `json:"timeToFirstChunkMs"`
	DurationMs   *float64 `json:"durationMs"`
}
