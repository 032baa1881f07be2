// Package notifications serves a user's notification preferences: whether to
// be notified at all, quiet hours in their own time zone, which events to be
// told about, and whether notifications show the message text.
//
// A user who never saved preferences has ari.DefaultNotificationPreferences:
// enabled, no quiet hours, agent replies, group messages and mentions on,
// previews on.
package notifications

import (
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the handlers use.
type Deps struct {
	DB   *store.DB
	Auth *auth.Authenticator
}

// New returns the handler; every route needs a signed-in caller.
func New(d Deps) *httpx.Router {
	h := &handler{Deps: d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("GET /api/notifications/preferences", h.get)
	authed.HandleFunc("PUT /api/notifications/preferences", h.put)
	return r
}

type handler struct{ Deps }

// QuietHours is a daily window without notifications, on the wall clock of
// TimeZone. End before start crosses midnight (22:00–07:00).
type QuietHours struct {
	Start    string `json:"start"`
	End      string `json:"end"`
	TimeZone string `json:"timeZone"`
}

// Preferences is the wire form, both ways. QuietHours is null for none.
type Preferences struct {
	Enabled       bool        `json:"enabled"`
	QuietHours    *QuietHours `json:"quietHours"`
	AgentReplies  bool        `json:"agentReplies"`
	GroupMessages bool        `json:"groupMessages"`
	Mentions      bool        `json:"mentions"`
	Preview       bool        `json:"preview"`
}

func fromPrefs(p ari.NotificationPreferences) Preferences {
	out := Preferences{Enabled: p.Enabled, AgentReplies: p.AgentReplies, GroupMessages: p.GroupMessages,
		Mentions: p.Mentions, Preview: p.Preview}
	if p.QuietStart != "" {
		out.QuietHours = &QuietHours{Start: p.QuietStart, End: p.QuietEnd, TimeZone: p.TimeZone}
	}
	return out
}

// PutRequest replaces the preferences whole, so every switch must be given
// (a missing one is an error, not a silent false).
type PutRequest struct {
	Enabled       *bool       `json:"enabled"`
	QuietHours    *QuietHours `json:"quietHours"`
	AgentReplies  *bool       `json:"agentReplies"`
	GroupMessages *bool       `json:"groupMessages"`
	Mentions      *bool       `json:"mentions"`
	Preview       *bool       `json:"preview"`

	prefs ari.NotificationPreferences
}

// Validate checks everything at once and leaves the result in r.prefs.
func (r *PutRequest) Validate() map[string]string {
	f := map[string]string{}
	flag := func(name string, v *bool) bool {
		if v == nil {
			f[name] = "required (true or false)"
			return false
		}
		return *v
	}
	p := ari.NotificationPreferences{
		Enabled:       flag("enabled", r.Enabled),
		AgentReplies:  flag("agentReplies", r.AgentReplies),
		GroupMessages: flag("groupMessages", r.GroupMessages),
		Mentions:      flag("mentions", r.Mentions),
		Preview:       flag("preview", r.Preview),
		TimeZone:      "UTC",
	}
	if q := r.QuietHours; q != nil {
		p.QuietStart, p.QuietEnd, p.TimeZone = q.Start, q.End, q.TimeZone
		if q.Start == "" {
			f["quietHours.start"] = `required ("HH:MM")`
		}
		if q.End == "" {
			f["quietHours.end"] = `required ("HH:MM")`
		}
		switch {
		case q.TimeZone == "":
			f["quietHours.timeZone"] = `required (an IANA name such as "Europe/Berlin")`
		case q.TimeZone == "Local" || len(q.TimeZone) > 64:
			// "Local" would be the server's zone, not the user's.
			f["quietHours.timeZone"] = "unknown IANA time zone"
		}
		if q.Start != "" && q.Start == q.End {
			f["quietHours.end"] = "must differ from start (send null for no quiet hours)"
		}
		names := map[string]string{"quietStart": "quietHours.start", "quietEnd": "quietHours.end", "timeZone": "quietHours.timeZone"}
		if err := p.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				name, problem, _ := strings.Cut(line, ": ")
				field, ok := names[name]
				if !ok {
					continue // "give both or neither": already said above
				}
				if _, said := f[field]; !said {
					f[field] = problem
				}
			}
		}
	}
	r.prefs = p
	return f
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	p, err := h.DB.NotificationPrefs(r.Context(), c.ID)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, fromPrefs(p))
}

func (h *handler) put(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req PutRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		return err
	}
	if err := h.DB.PutNotificationPrefs(r.Context(), c.ID, req.prefs); err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, fromPrefs(req.prefs))
}
