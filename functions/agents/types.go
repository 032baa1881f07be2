package agents

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
)

// CreateAgentRequest is the body of POST /api/agents.
type CreateAgentRequest struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	AvatarURL   *string `json:"avatarUrl"`
	// A2AEndpoint is where the relay reaches an agent that has no socket open;
	// A2AAuthHeader, when set, is sent with every call there: "Name: value"
	// as that header, else as the Authorization value (a single word as a
	// bearer token). The OpenAPI document and README say it in full.
	A2AEndpoint   *string     `json:"a2aEndpoint"`
	A2AAuthHeader *string     `json:"a2aAuthHeader"`
	Visibility    string      `json:"visibility"` // private (default) or public
	Skills        []ari.Skill `json:"skills"`
}

// Validate checks every field at once.
func (q *CreateAgentRequest) Validate() map[string]string {
	bad := map[string]string{}
	q.Name = strings.TrimSpace(q.Name)
	checkName(bad, &q.Name)
	checkDescription(bad, q.Description)
	checkURL(bad, "avatarUrl", q.AvatarURL)
	checkURL(bad, "a2aEndpoint", q.A2AEndpoint)
	checkAuthHeader(bad, q.A2AAuthHeader)
	if q.Visibility != "" {
		checkVisibility(bad, q.Visibility)
	}
	for k, v := range ari.ValidateSkills(q.Skills) {
		bad[k] = v
	}
	return bad
}

// UpdateAgentRequest is the body of PUT /api/agents/{id}. Absent fields stay
// as they are; "" clears avatarUrl, a2aEndpoint and a2aAuthHeader. A new name
// also renames the handle.
type UpdateAgentRequest struct {
	Name          *string `json:"name"`
	Description   *string `json:"description"`
	AvatarURL     *string `json:"avatarUrl"`
	A2AEndpoint   *string `json:"a2aEndpoint"`
	A2AAuthHeader *string `json:"a2aAuthHeader"`
	Visibility    *string `json:"visibility"`
}

// Validate checks every present field at once.
func (q *UpdateAgentRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Name != nil {
		n := strings.TrimSpace(*q.Name)
		q.Name = &n
		checkName(bad, q.Name)
	}
	if q.Description != nil {
		checkDescription(bad, *q.Description)
	}
	checkURL(bad, "avatarUrl", q.AvatarURL)
	checkURL(bad, "a2aEndpoint", q.A2AEndpoint)
	checkAuthHeader(bad, q.A2AAuthHeader)
	if q.Visibility != nil {
		checkVisibility(bad, *q.Visibility)
	}
	return bad
}

// SkillsBody is the body of PUT and the answer of GET /api/agents/{id}/skills.
type SkillsBody struct {
	Skills []ari.Skill `json:"skills"`
}

// Validate checks the declaration (bounds shared with the relay's frame).
func (q *SkillsBody) Validate() map[string]string {
	if q.Skills == nil {
		return map[string]string{"skills": "is required"}
	}
	return ari.ValidateSkills(q.Skills)
}

// AgentResponse is an agent as the caller may see it: the owner sees every
// field; anyone else (public agents only) sees the public ones.
type AgentResponse struct {
	ari.Agent
	// Online: a relay holds the agent's socket right now.
	Online bool `json:"online"`
	// Mine: the caller owns the agent and may manage it.
	Mine bool `json:"mine"`
}

// AgentWithTokenResponse answers POST /api/agents and regenerate-token. The
// token is shown this once; only its hash is kept.
type AgentWithTokenResponse struct {
	Agent AgentResponse `json:"agent"`
	Token string        `json:"token"`
}

// AgentEventData is the payload of agent_token_revoked and agent_deleted,
// published to the agent's channel for the relay holding its socket.
type AgentEventData struct {
	AgentID string `json:"agentId"`
}

func checkName(bad map[string]string, name *string) {
	switch n := utf8.RuneCountInString(*name); {
	case n == 0:
		bad["name"] = "is required"
	case n > ari.MaxAgentName:
		bad["name"] = fmt.Sprintf("at most %d characters", ari.MaxAgentName)
	case ari.AgentHandle(*name) == "":
		bad["name"] = "must contain a letter, digit, _ or -"
	}
}

func checkDescription(bad map[string]string, d string) {
	if utf8.RuneCountInString(d) > ari.MaxAgentDescription {
		bad["description"] = fmt.Sprintf("at most %d characters", ari.MaxAgentDescription)
	}
}

func checkVisibility(bad map[string]string, v string) {
	if v != ari.VisibilityPrivate && v != ari.VisibilityPublic {
		bad["visibility"] = "must be private or public"
	}
}

// checkURL accepts absent, "" (clear) or an absolute http(s) URL.
func checkURL(bad map[string]string, field string, s *string) {
	if s == nil || *s == "" {
		return
	}
	if p := ari.WebURLProblem(*s); p != "" {
		bad[field] = p
	}
}

// checkAuthHeader refuses line breaks, which would let the value smuggle
// other headers into the relay's request.
func checkAuthHeader(bad map[string]string, s *string) {
	if s == nil {
		return
	}
	switch {
	case len(*s) > ari.MaxA2AAuthHeader:
		bad["a2aAuthHeader"] = fmt.Sprintf("at most %d bytes", ari.MaxA2AAuthHeader)
	case strings.ContainsAny(*s, "\r\n\x00"):
		bad["a2aAuthHeader"] = "must be a single line"
	}
}
