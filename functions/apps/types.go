package apps

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// Limits on what a developer writes.
const (
	MaxDisplayName    = 100
	MaxAppName        = 100
	MaxAppDescription = 2000
	MaxPriceCoins     = 1_000_000
	MaxSearch         = 100
)

// versionRe is a version's name: "1.0.0", "2024-06-01", "1.2.0-beta.1+b7".
var versionRe = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$`)

// keyRe is an idempotency key: 1–100 printable ASCII characters, no spaces.
var keyRe = regexp.MustCompile(`^[\x21-\x7e]{1,100}$`)

// OpenDeveloperRequest is the body of POST /api/developer.
type OpenDeveloperRequest struct {
	DisplayName string  `json:"displayName"`
	Website     *string `json:"website"`
}

// Validate checks every field at once.
func (q *OpenDeveloperRequest) Validate() map[string]string {
	bad := map[string]string{}
	q.DisplayName = strings.TrimSpace(q.DisplayName)
	checkLine(bad, "displayName", q.DisplayName, MaxDisplayName, true)
	checkURL(bad, "website", q.Website)
	if q.Website != nil && *q.Website == "" {
		q.Website = nil
	}
	return bad
}

// CreateAppRequest is the body of POST /api/developer/apps.
type CreateAppRequest struct {
	Slug        string  `json:"slug"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	IconURL     *string `json:"iconUrl"`
	PriceCoins  int64   `json:"priceCoins"`
	Visibility  string  `json:"visibility"` // public (default) or unlisted
}

// Validate checks every field at once.
func (q *CreateAppRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !appbridge.ValidSlug(q.Slug) {
		bad["slug"] = "must match [a-z0-9][a-z0-9-]{0,62}"
	}
	q.Name = strings.TrimSpace(q.Name)
	checkLine(bad, "name", q.Name, MaxAppName, true)
	checkText(bad, "description", q.Description, MaxAppDescription)
	checkURL(bad, "iconUrl", q.IconURL)
	if q.IconURL != nil && *q.IconURL == "" {
		q.IconURL = nil
	}
	checkPrice(bad, q.PriceCoins)
	if q.Visibility == "" {
		q.Visibility = ari.AppPublic
	}
	checkVisibility(bad, q.Visibility)
	return bad
}

func (q *CreateAppRequest) newApp() store.NewApp {
	return store.NewApp{Slug: q.Slug, Name: q.Name, Description: q.Description, IconURL: q.IconURL,
		PriceCoins: q.PriceCoins, Visibility: q.Visibility}
}

// UpdateAppRequest is the body of PUT /api/developer/apps/{id}: absent
// fields stay; "" clears iconUrl. The slug never changes (tools are named
// after it).
type UpdateAppRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	IconURL     *string `json:"iconUrl"`
	PriceCoins  *int64  `json:"priceCoins"`
	Visibility  *string `json:"visibility"`
}

// Validate checks every present field at once.
func (q *UpdateAppRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Name == nil && q.Description == nil && q.IconURL == nil && q.PriceCoins == nil && q.Visibility == nil {
		bad["name"] = "give name, description, iconUrl, priceCoins or visibility (any of them)"
	}
	if q.Name != nil {
		n := strings.TrimSpace(*q.Name)
		q.Name = &n
		checkLine(bad, "name", n, MaxAppName, true)
	}
	if q.Description != nil {
		checkText(bad, "description", *q.Description, MaxAppDescription)
	}
	checkURL(bad, "iconUrl", q.IconURL)
	if q.PriceCoins != nil {
		checkPrice(bad, *q.PriceCoins)
	}
	if q.Visibility != nil {
		checkVisibility(bad, *q.Visibility)
	}
	return bad
}

func (q *UpdateAppRequest) change() store.AppChange {
	return store.AppChange{Name: q.Name, Description: q.Description, IconURL: q.IconURL, PriceCoins: q.PriceCoins, Visibility: q.Visibility}
}

// PublishVersionRequest is the body of POST /api/developer/apps/{id}/versions.
// The manifest is checked by appbridge.ValidateManifest in the handler,
// after these fields.
type PublishVersionRequest struct {
	Version  string          `json:"version"`
	Manifest json.RawMessage `json:"manifest"`
}

// Validate checks the version's name and that a manifest object is present.
func (q *PublishVersionRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !versionRe.MatchString(q.Version) {
		bad["version"] = "must match [0-9A-Za-z][0-9A-Za-z.+-]{0,31}"
	}
	if len(q.Manifest) == 0 || string(q.Manifest) == "null" {
		bad["manifest"] = "is required (an object; see GET /api/apps/manifest.schema.json)"
	}
	return bad
}

// InstallRequest is the body of POST /api/apps/{id}/install.
type InstallRequest struct {
	IdempotencyKey string `json:"idempotencyKey"`
}

// Validate checks the key.
func (q *InstallRequest) Validate() map[string]string {
	if !keyRe.MatchString(q.IdempotencyKey) {
		return map[string]string{"idempotencyKey": "must be 1-100 printable ASCII characters without spaces"}
	}
	return nil
}

// InstallResponse answers an install: the purchase row and the caller's
// balance after it.
type InstallResponse struct {
	Install      ari.AppPurchase `json:"install"`
	BalanceCoins int64           `json:"balanceCoins"`
}

func checkLine(bad map[string]string, field, s string, max int, required bool) {
	switch n := utf8.RuneCountInString(s); {
	case n == 0 && required:
		bad[field] = "is required"
	case n > max:
		bad[field] = fmt.Sprintf("at most %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl):
		bad[field] = "must not contain control characters"
	}
}

func checkText(bad map[string]string, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		bad[field] = fmt.Sprintf("at most %d characters", max)
	}
}

func checkURL(bad map[string]string, field string, s *string) {
	if s == nil || *s == "" {
		return
	}
	if p := ari.WebURLProblem(*s); p != "" {
		bad[field] = p
	}
}

func checkPrice(bad map[string]string, p int64) {
	if p < 0 || p > MaxPriceCoins {
		bad["priceCoins"] = fmt.Sprintf("must be an integer from 0 to %d", MaxPriceCoins)
	}
}

func checkVisibility(bad map[string]string, v string) {
	if v != ari.AppPublic && v != ari.AppUnlisted {
		bad["visibility"] = "must be public or unlisted"
	}
}
