package notify

import (
	"errors"
	"fmt"
	"time"
	// Lambda's base image may ship without a zoneinfo database; embedding it
	// keeps users' quiet hours correct wherever the code runs.
	_ "time/tzdata"
)

// Kind is what happened that might be worth a notification.
type Kind string

const (
	// KindAgentReply: an agent finished a reply in the user's conversation.
	KindAgentReply Kind = "agent_reply"
	// KindGroupMessage: someone else wrote in a group conversation.
	KindGroupMessage Kind = "group_message"
	// KindMention: a message named the user. Callers pick the most specific
	// kind, so a group message that mentions the user is a mention.
	KindMention Kind = "mention"
)

// Prefs are a user's notification preferences (JSON as stored and served by
// the notifications function).
type Prefs struct {
	// Enabled is the master switch.
	Enabled bool `json:"enabled"`
	// QuietStart and QuietEnd ("HH:MM", 24-hour, wall clock in TimeZone)
	// bound a daily window with no notifications: start inclusive, end
	// exclusive. A window whose end is earlier than its start crosses
	// midnight (22:00–07:00). Equal values, or both empty, mean no quiet hours.
	QuietStart string `json:"quietStart"`
	QuietEnd   string `json:"quietEnd"`
	// TimeZone is an IANA name ("Europe/Berlin"); empty means UTC.
	TimeZone string `json:"timeZone"`

	AgentReplies  bool `json:"agentReplies"`
	GroupMessages bool `json:"groupMessages"`
	Mentions      bool `json:"mentions"`
	// Preview shows the message text; off sends a neutral "New message".
	Preview bool `json:"preview"`
}

// DefaultPrefs is what a user has before changing anything: notifications on,
// no quiet hours, told about agent replies, group messages and mentions, with
// message previews, in UTC.
func DefaultPrefs() Prefs {
	return Prefs{
		Enabled:       true,
		TimeZone:      "UTC",
		AgentReplies:  true,
		GroupMessages: true,
		Mentions:      true,
		Preview:       true,
	}
}

// Validate reports malformed quiet hours and unknown time zones, naming the
// field, so the preferences endpoint can refuse them before they are stored.
func (p Prefs) Validate() error {
	var errs []error
	if (p.QuietStart == "") != (p.QuietEnd == "") {
		errs = append(errs, errors.New("quietStart, quietEnd: give both or neither"))
	}
	if p.QuietStart != "" {
		if _, err := parseClock(p.QuietStart); err != nil {
			errs = append(errs, fmt.Errorf("quietStart: %w", err))
		}
	}
	if p.QuietEnd != "" {
		if _, err := parseClock(p.QuietEnd); err != nil {
			errs = append(errs, fmt.Errorf("quietEnd: %w", err))
		}
	}
	if _, err := p.location(); err != nil {
		errs = append(errs, fmt.Errorf("timeZone: unknown IANA time zone %q", p.TimeZone))
	}
	return errors.Join(errs...)
}

func (p Prefs) location() (*time.Location, error) {
	if p.TimeZone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(p.TimeZone)
}

// parseClock reads "HH:MM" (exactly two digits each) into minutes after
// midnight.
func parseClock(s string) (int, error) {
	digit := func(i int) (int, bool) {
		c := s[i]
		return int(c - '0'), c >= '0' && c <= '9'
	}
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New(`must be "HH:MM"`)
	}
	h1, ok1 := digit(0)
	h2, ok2 := digit(1)
	m1, ok3 := digit(3)
	m2, ok4 := digit(4)
	h, m := h1*10+h2, m1*10+m2
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || m > 59 {
		return 0, errors.New(`must be "HH:MM" between 00:00 and 23:59`)
	}
	return h*60 + m, nil
}

// InQuietHours reports whether now falls in p's quiet window, on the wall
// clock of p.TimeZone. Across a DST change the window follows the local
// clock: 22:00–07:00 stays 22:00–07:00 local, whatever the UTC offset.
func (p Prefs) InQuietHours(now time.Time) (bool, error) {
	if p.QuietStart == "" && p.QuietEnd == "" {
		return false, nil
	}
	if err := p.Validate(); err != nil {
		return false, err
	}
	start, _ := parseClock(p.QuietStart)
	end, _ := parseClock(p.QuietEnd)
	if start == end {
		return false, nil
	}
	loc, _ := p.location()
	local := now.In(loc)
	m := local.Hour()*60 + local.Minute()
	if start < end {
		return m >= start && m < end, nil
	}
	return m >= start || m < end, nil
}

// DecisionInput is everything Decide looks at. The caller gathers it: Prefs
// from Postgres, Muted from the membership, Focused from relay presence,
// RecentlyNotified from the 30 s dedup key in Redis.
type DecisionInput struct {
	Prefs Prefs
	Kind  Kind
	Now   time.Time
	// Muted: the user muted this conversation.
	Muted bool
	// Focused: the user has this conversation in the foreground right now.
	Focused bool
	// RecentlyNotified: already notified for this conversation within the
	// dedup window.
	RecentlyNotified bool
}

// Reasons Decide gives; stable strings, fit for logs and metrics.
const (
	ReasonSend             = "send"
	ReasonDisabled         = "disabled"
	ReasonUnknownKind      = "unknown_kind"
	ReasonKindOff          = "kind_off"
	ReasonMuted            = "muted"
	ReasonFocused          = "focused"
	ReasonRecentlyNotified = "recently_notified"
	ReasonQuietHours       = "quiet_hours"
	// ReasonSendBadQuietHours: sent although the stored quiet hours or time
	// zone are unreadable. Validate refuses such prefs on input, so this only
	// appears for rows that went bad later (e.g. a zone removed from tzdata);
	// losing a notification silently is the worse failure, so we send and
	// let the caller log this reason.
	ReasonSendBadQuietHours = "send_bad_quiet_hours"
)

// Decide says whether to push a notification, and why. It is pure: the same
// input always gives the same answer. Rules, first match wins: master switch
// off; unknown kind; kind switched off; conversation muted (mute silences
// mentions too); user looking at the conversation; notified within the dedup
// window; inside quiet hours. Otherwise send.
func Decide(in DecisionInput) (send bool, reason string) {
	p := in.Prefs
	if !p.Enabled {
		return false, ReasonDisabled
	}
	var on bool
	switch in.Kind {
	case KindAgentReply:
		on = p.AgentReplies
	case KindGroupMessage:
		on = p.GroupMessages
	case KindMention:
		on = p.Mentions
	default:
		return false, ReasonUnknownKind
	}
	switch {
	case !on:
		return false, ReasonKindOff
	case in.Muted:
		return false, ReasonMuted
	case in.Focused:
		return false, ReasonFocused
	case in.RecentlyNotified:
		return false, ReasonRecentlyNotified
	}
	quiet, err := p.InQuietHours(in.Now)
	if err != nil {
		return true, ReasonSendBadQuietHours
	}
	if quiet {
		return false, ReasonQuietHours
	}
	return true, ReasonSend
}
