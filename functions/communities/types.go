package communities

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// Bounds of what clients send.
const (
	MaxName        = 100  // characters of a community's or a channel's name
	MaxDescription = 2000 // characters
	MaxTopic       = 500  // characters of a channel's topic
	MaxBanReason   = 500  // characters
	MaxQuery       = 200  // characters of a directory search
	// MaxInviteSeconds bounds an invite's lifetime (30 days); MaxInviteUses its uses.
	MaxInviteSeconds = 30 * 24 * 3600
	MaxInviteUses    = 100000
)

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// checkName trims *s and checks it is 1..MaxName characters.
func checkName(bad map[string]string, field string, s *string) {
	*s = strings.TrimSpace(*s)
	if n := utf8.RuneCountInString(*s); n == 0 || n > MaxName {
		bad[field] = fmt.Sprintf("must be 1 to %d characters", MaxName)
	}
}

func checkLen(bad map[string]string, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		bad[field] = fmt.Sprintf("at most %d characters", max)
	}
}

func checkSlug(bad map[string]string, s string) {
	if !slugPattern.MatchString(s) {
		bad["slug"] = "must be 1 to 64 of a-z, 0-9 and -, starting and ending with a letter or digit"
	}
}

func checkVisibility(bad map[string]string, s string) {
	if s != store.VisibilityPublic && s != store.VisibilityPrivate {
		bad["visibility"] = "must be public or private"
	}
}

// CreateCommunityRequest is the body of POST /api/communities.
type CreateCommunityRequest struct {
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Description string `json:"description"`
	// Visibility is public (the default) or private.
	Visibility string `json:"visibility"`
}

// Validate checks every field at once.
func (q *CreateCommunityRequest) Validate() map[string]string {
	bad := map[string]string{}
	checkName(bad, "name", &q.Name)
	checkSlug(bad, q.Slug)
	q.Description = strings.TrimSpace(q.Description)
	checkLen(bad, "description", q.Description, MaxDescription)
	if q.Visibility == "" {
		q.Visibility = store.VisibilityPublic
	}
	checkVisibility(bad, q.Visibility)
	return bad
}

// UpdateCommunityRequest is the body of PUT /api/communities/{id}: absent
// fields stay as they are.
type UpdateCommunityRequest struct {
	Name        *string `json:"name"`
	Slug        *string `json:"slug"`
	Description *string `json:"description"`
	Visibility  *string `json:"visibility"`
}

// Validate checks the given fields and that there is one.
func (q *UpdateCommunityRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Name == nil && q.Slug == nil && q.Description == nil && q.Visibility == nil {
		bad["name"] = "give name, slug, description or visibility (any of them)"
	}
	if q.Name != nil {
		checkName(bad, "name", q.Name)
	}
	if q.Slug != nil {
		checkSlug(bad, *q.Slug)
	}
	if q.Description != nil {
		d := strings.TrimSpace(*q.Description)
		q.Description = &d
		checkLen(bad, "description", d, MaxDescription)
	}
	if q.Visibility != nil {
		checkVisibility(bad, *q.Visibility)
	}
	return bad
}

// RoleRequest is the body of PUT /api/communities/{id}/members/{memberId}.
type RoleRequest struct {
	Role string `json:"role"`
}

// Validate checks the role is one of the three.
func (q *RoleRequest) Validate() map[string]string {
	switch q.Role {
	case store.RoleOwner, store.RoleAdmin, store.RoleMember:
		return nil
	}
	return map[string]string{"role": "must be owner, admin or member"}
}

// BanRequest is the body of POST /api/communities/{id}/bans.
type BanRequest struct {
	UserID string `json:"userId"`
	Reason string `json:"reason"`
}

// Validate checks the id and the reason's length.
func (q *BanRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !ari.ValidID(q.UserID) {
		bad["userId"] = "must be a user id"
	}
	q.Reason = strings.TrimSpace(q.Reason)
	checkLen(bad, "reason", q.Reason, MaxBanReason)
	return bad
}

// CreateInviteRequest is the body of POST /api/communities/{id}/invites:
// both fields optional (no expiry, no use limit).
type CreateInviteRequest struct {
	ExpiresInSeconds *int `json:"expiresInSeconds"`
	MaxUses          *int `json:"maxUses"`
}

// Validate checks the bounds.
func (q *CreateInviteRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.ExpiresInSeconds != nil && (*q.ExpiresInSeconds < 60 || *q.ExpiresInSeconds > MaxInviteSeconds) {
		bad["expiresInSeconds"] = fmt.Sprintf("must be an integer from 60 to %d", MaxInviteSeconds)
	}
	if q.MaxUses != nil && (*q.MaxUses < 1 || *q.MaxUses > MaxInviteUses) {
		bad["maxUses"] = fmt.Sprintf("must be an integer from 1 to %d", MaxInviteUses)
	}
	return bad
}

// AgentRequest names an agent to add (to a community or a channel).
type AgentRequest struct {
	AgentID string `json:"agentId"`
}

// Validate checks the id.
func (q *AgentRequest) Validate() map[string]string {
	if !ari.ValidID(q.AgentID) {
		return map[string]string{"agentId": "must be an agent id"}
	}
	return nil
}

// searchText reads the optional ?q= of the directory.
func searchText(r *http.Request) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > MaxQuery {
		return "", ari.Invalid(map[string]string{"q": fmt.Sprintf("at most %d characters", MaxQuery)})
	}
	return q, nil
}
