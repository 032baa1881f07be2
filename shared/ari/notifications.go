package ari

import (
	"errors"
	"fmt"
	"time"
	// Lambda's base image may ship without a zoneinfo database; embedding it
	// keeps users' quiet hours correct wherever the code runs.
	_ "time/tzdata"
)

// NotificationPreferences is a user's notification preferences, the Go type of
// notification_preferences (the row's user_id is the caller it is read for).
// Quiet hours and the time zone are checked here, with no sender attached, so
// the store and the preferences endpoint share the rules with push decisions.
type NotificationPreferences struct {
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

// DefaultNotificationPreferences is what a user has before changing anything: notifications on,
// no quiet hours, told about agent replies, group messages and mentions, with
// message previews, in UTC.
func DefaultNotificationPreferences() NotificationPreferences {
	return NotificationPreferences{
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
func (p NotificationPreferences) Validate() error {
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

func (p NotificationPreferences) location() (*time.Location, error) {
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
func (p NotificationPreferences) InQuietHours(now time.Time) (bool, error) {
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
