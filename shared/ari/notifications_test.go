package ari

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestQuietHoursOtherShapes(t *testing.T) {
	cases := []struct {
		start, end, zone, now string
		quiet                 bool
	}{
		{"13:00", "14:00", "America/New_York", "2025-07-01T17:30:00Z", true},  // 13:30 EDT
		{"13:00", "14:00", "America/New_York", "2025-07-01T13:30:00Z", false}, // 09:30 EDT; 13:30 only in UTC
		{"13:00", "14:00", "", "2025-07-01T13:30:00Z", true},                  // empty zone is UTC
		{"08:00", "08:00", "UTC", "2025-07-01T08:00:00Z", false},              // equal: no quiet hours
		{"", "", "Asia/Tokyo", "2025-07-01T15:00:00Z", false},                 // none set
		{"00:00", "23:59", "Asia/Tokyo", "2025-07-01T14:58:00Z", true},        // 23:58 JST
		{"00:00", "23:59", "Asia/Tokyo", "2025-07-01T14:59:00Z", false},       // 23:59 JST
		{"23:00", "01:00", "Asia/Kolkata", "2025-07-01T18:00:00Z", true},      // 23:30 IST, half-hour zone
		{"23:00", "01:00", "Asia/Kolkata", "2025-07-01T19:30:00Z", false},     // 01:00 IST
	}
	for _, c := range cases {
		p := NotificationPreferences{QuietStart: c.start, QuietEnd: c.end, TimeZone: c.zone}
		got, err := p.InQuietHours(utc(c.now))
		if err != nil || got != c.quiet {
			t.Errorf("%s–%s %s at %s: quiet=%v err=%v, want %v", c.start, c.end, c.zone, c.now, got, err, c.quiet)
		}
	}
}

func TestNotificationPreferencesValidate(t *testing.T) {
	if err := DefaultNotificationPreferences().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	for _, c := range []struct {
		p     NotificationPreferences
		field string
	}{
		{NotificationPreferences{QuietStart: "22:00"}, "give both"},
		{NotificationPreferences{QuietStart: "24:00", QuietEnd: "07:00"}, "quietStart"},
		{NotificationPreferences{QuietStart: "22:00", QuietEnd: "7:00"}, "quietEnd"},
		{NotificationPreferences{QuietStart: "22:60", QuietEnd: "07:00"}, "quietStart"},
		{NotificationPreferences{QuietStart: "+1:00", QuietEnd: "07:00"}, "quietStart"},
		{NotificationPreferences{QuietStart: "22.00", QuietEnd: "07:00"}, "quietStart"},
		{NotificationPreferences{TimeZone: "Europe/Atlantis"}, "timeZone"},
		{NotificationPreferences{TimeZone: "CEST"}, "timeZone"},
	} {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: err %v, want one naming %q", c.p, err, c.field)
		}
	}
}

func TestDefaultNotificationPreferences(t *testing.T) {
	want := NotificationPreferences{Enabled: true, TimeZone: "UTC", AgentReplies: true, GroupMessages: true, Mentions: true, Preview: true}
	if DefaultNotificationPreferences() != want {
		t.Errorf("DefaultNotificationPreferences() = %+v", DefaultNotificationPreferences())
	}
	b, _ := json.Marshal(DefaultNotificationPreferences())
	const js = `{"enabled":true,"quietStart":"","quietEnd":"","timeZone":"UTC","agentReplies":true,"groupMessages":true,"mentions":true,"preview":true}`
	if string(b) != js {
		t.Errorf("JSON %s\nwant %s", b, js)
	}
}
