package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// allowed is an input every rule lets through; each case below changes it.
func allowed() DecisionInput {
	return DecisionInput{Prefs: ari.DefaultNotificationPreferences(), Kind: KindAgentReply, Now: utc("2025-01-15T12:00:00Z")}
}

func TestDecideEachRuleAlone(t *testing.T) {
	nightly := func(in *DecisionInput) {
		in.Prefs.QuietStart, in.Prefs.QuietEnd, in.Prefs.TimeZone = "22:00", "07:00", "Europe/Berlin"
		in.Now = utc("2025-01-15T23:30:00Z") // 00:30 in Berlin
	}
	cases := []struct {
		name   string
		mod    func(*DecisionInput)
		send   bool
		reason string
	}{
		{"nothing stops it", func(*DecisionInput) {}, true, ReasonSend},
		{"disabled", func(in *DecisionInput) { in.Prefs.Enabled = false }, false, ReasonDisabled},
		{"agent replies off", func(in *DecisionInput) { in.Prefs.AgentReplies = false }, false, ReasonKindOff},
		{"group messages off", func(in *DecisionInput) { in.Kind = KindGroupMessage; in.Prefs.GroupMessages = false }, false, ReasonKindOff},
		{"mentions off", func(in *DecisionInput) { in.Kind = KindMention; in.Prefs.Mentions = false }, false, ReasonKindOff},
		{"another kind off does not matter", func(in *DecisionInput) { in.Prefs.GroupMessages, in.Prefs.Mentions = false, false }, true, ReasonSend},
		{"group message on", func(in *DecisionInput) { in.Kind = KindGroupMessage }, true, ReasonSend},
		{"mention on", func(in *DecisionInput) { in.Kind = KindMention }, true, ReasonSend},
		{"unknown kind", func(in *DecisionInput) { in.Kind = "reaction" }, false, ReasonUnknownKind},
		{"muted", func(in *DecisionInput) { in.Muted = true }, false, ReasonMuted},
		{"focused", func(in *DecisionInput) { in.Focused = true }, false, ReasonFocused},
		{"dedup window", func(in *DecisionInput) { in.RecentlyNotified = true }, false, ReasonRecentlyNotified},
		{"quiet hours", nightly, false, ReasonQuietHours},
		{"preview off does not stop sending", func(in *DecisionInput) { in.Prefs.Preview = false }, true, ReasonSend},
		{"broken quiet hours still send", func(in *DecisionInput) {
			in.Prefs.QuietStart, in.Prefs.QuietEnd, in.Prefs.TimeZone = "22:00", "07:00", "Mars/Olympus_Mons"
		}, true, ReasonSendBadQuietHours},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := allowed()
			c.mod(&in)
			send, reason := Decide(in)
			if send != c.send || reason != c.reason {
				t.Errorf("Decide = %v, %q; want %v, %q", send, reason, c.send, c.reason)
			}
		})
	}
}

// Combined: every blocking rule says no on its own, so when several apply
// the answer is no and the reason is the first in the documented order.
func TestDecideCombinedRules(t *testing.T) {
	quiet := func(in *DecisionInput) {
		in.Prefs.QuietStart, in.Prefs.QuietEnd, in.Prefs.TimeZone = "22:00", "07:00", "Europe/Berlin"
		in.Now = utc("2025-01-15T23:30:00Z")
	}
	cases := []struct {
		name   string
		mods   []func(*DecisionInput)
		reason string
	}{
		{"everything at once", []func(*DecisionInput){
			func(in *DecisionInput) { in.Prefs.Enabled = false; in.Prefs.AgentReplies = false },
			func(in *DecisionInput) { in.Muted, in.Focused, in.RecentlyNotified = true, true, true },
			quiet,
		}, ReasonDisabled},
		{"kind off and muted", []func(*DecisionInput){
			func(in *DecisionInput) { in.Prefs.AgentReplies = false; in.Muted = true },
		}, ReasonKindOff},
		{"muted mention in quiet hours", []func(*DecisionInput){
			func(in *DecisionInput) { in.Kind = KindMention; in.Muted = true }, quiet,
		}, ReasonMuted},
		{"focused and deduped", []func(*DecisionInput){
			func(in *DecisionInput) { in.Focused, in.RecentlyNotified = true, true },
		}, ReasonFocused},
		{"deduped in quiet hours", []func(*DecisionInput){
			func(in *DecisionInput) { in.RecentlyNotified = true }, quiet,
		}, ReasonRecentlyNotified},
		{"quiet hours with preview off", []func(*DecisionInput){
			func(in *DecisionInput) { in.Prefs.Preview = false }, quiet,
		}, ReasonQuietHours},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := allowed()
			for _, m := range c.mods {
				m(&in)
			}
			if send, reason := Decide(in); send || reason != c.reason {
				t.Errorf("Decide = %v, %q; want false, %q", send, reason, c.reason)
			}
		})
	}
}

func TestQuietHoursAcrossMidnightInBerlinAcrossDST(t *testing.T) {
	p := ari.DefaultNotificationPreferences()
	p.QuietStart, p.QuietEnd, p.TimeZone = "22:00", "07:00", "Europe/Berlin"
	for _, c := range []struct {
		now   string
		quiet bool
		why   string
	}{
		// Winter, CET = UTC+1.
		{"2025-01-15T20:59:00Z", false, "21:59 local, just before"},
		{"2025-01-15T21:00:00Z", true, "22:00 local, start is inclusive"},
		{"2025-01-15T22:59:00Z", true, "23:59 local"},
		{"2025-01-15T23:00:00Z", true, "00:00 local, next day"},
		{"2025-01-16T05:59:00Z", true, "06:59 local"},
		{"2025-01-16T06:00:00Z", false, "07:00 local, end is exclusive"},
		{"2025-01-16T12:00:00Z", false, "13:00 local"},
		// Spring forward on 2025-03-30 at 01:00 UTC (02:00 → 03:00 local).
		{"2025-03-29T05:30:00Z", true, "06:30 CET the day before"},
		{"2025-03-30T00:59:00Z", true, "01:59 CET"},
		{"2025-03-30T01:00:00Z", true, "03:00 CEST, a minute later"},
		{"2025-03-30T05:30:00Z", false, "07:30 CEST: same UTC time as above, now outside"},
		{"2025-03-30T20:00:00Z", true, "22:00 CEST"},
		{"2025-03-30T19:59:00Z", false, "21:59 CEST; 20:59 in UTC+1 would also be outside"},
		// Fall back on 2025-10-26 at 01:00 UTC (03:00 → 02:00 local).
		{"2025-10-25T05:30:00Z", false, "07:30 CEST"},
		{"2025-10-26T00:30:00Z", true, "02:30 CEST, first time"},
		{"2025-10-26T01:30:00Z", true, "02:30 CET, second time"},
		{"2025-10-26T05:30:00Z", true, "06:30 CET: same UTC time as the day before, now inside"},
		{"2025-10-26T06:00:00Z", false, "07:00 CET"},
	} {
		got, err := p.InQuietHours(utc(c.now))
		if err != nil || got != c.quiet {
			t.Errorf("%s (%s): quiet=%v err=%v, want %v", c.now, c.why, got, err, c.quiet)
		}
		in := allowed()
		in.Prefs, in.Now = p, utc(c.now)
		if send, _ := Decide(in); send == c.quiet {
			t.Errorf("%s (%s): Decide send=%v disagrees with quiet=%v", c.now, c.why, send, c.quiet)
		}
	}
}

func TestBuildPayload(t *testing.T) {
	m := Message{
		Kind: KindGroupMessage, ConversationID: "c/1 x", MessageID: "m1",
		ConversationTitle: "Trip planning", SenderName: "Ada", Text: "  the secret plan  ",
	}
	on := BuildPayload(ari.DefaultNotificationPreferences(), m)
	want := Payload{
		Title: "Ada in Trip planning", Body: "the secret plan", Kind: KindGroupMessage,
		ConversationID: "c/1 x", MessageID: "m1", URL: "/conversations/c%2F1%20x", Tag: "conversation:c/1 x",
	}
	if on != want {
		t.Errorf("preview on:\n got %+v\nwant %+v", on, want)
	}

	prefs := ari.DefaultNotificationPreferences()
	prefs.Preview = false
	off := BuildPayload(prefs, m)
	b, _ := json.Marshal(off)
	if off.Body != NeutralBody || strings.Contains(string(b), "secret") {
		t.Errorf("preview off leaks text: %s", b)
	}
	const js = `{"title":"Ada in Trip planning","body":"New message","kind":"group_message","conversationId":"c/1 x","messageId":"m1","url":"/conversations/c%2F1%20x","tag":"conversation:c/1 x"}`
	if string(b) != js {
		t.Errorf("wire format changed:\n got %s\nwant %s", b, js)
	}

	for _, c := range []struct {
		m     Message
		title string
	}{
		{Message{Kind: KindAgentReply, SenderName: "Helper"}, "Helper"},
		{Message{Kind: KindMention, SenderName: "Bo", ConversationTitle: "Team"}, "Bo mentioned you in Team"},
		{Message{Kind: KindMention, SenderName: "Bo"}, "Bo mentioned you"},
		{Message{Kind: KindGroupMessage}, "Someone"},
	} {
		if got := BuildPayload(ari.DefaultNotificationPreferences(), c.m).Title; got != c.title {
			t.Errorf("title %q, want %q", got, c.title)
		}
	}

	if p := BuildPayload(ari.DefaultNotificationPreferences(), Message{Kind: KindAgentReply, Text: "   "}); p.Body != NeutralBody {
		t.Errorf("blank text gave body %q", p.Body)
	}
	if p := BuildPayload(ari.DefaultNotificationPreferences(), Message{URL: "/custom"}); p.URL != "/custom" {
		t.Errorf("caller's URL replaced: %q", p.URL)
	}

	long := BuildPayload(ari.DefaultNotificationPreferences(), Message{SenderName: strings.Repeat("名", 300), Text: strings.Repeat("ü", 1000)})
	if n := utf8.RuneCountInString(long.Body); n != maxBodyRunes || !strings.HasSuffix(long.Body, "…") {
		t.Errorf("body %d runes, suffix %q", n, long.Body[len(long.Body)-3:])
	}
	if n := utf8.RuneCountInString(long.Title); n != maxTitleRunes {
		t.Errorf("title %d runes", n)
	}
	if b, _ := json.Marshal(long); len(b) > MaxPayloadBytes {
		t.Errorf("worst-case payload %d bytes exceeds %d", len(b), MaxPayloadBytes)
	}
}

func TestTopic(t *testing.T) {
	a, b := Topic("conv-1"), Topic("conv-2")
	if a == b || a != Topic("conv-1") {
		t.Errorf("topics must be stable and distinct: %q %q", a, b)
	}
	for _, id := range []string{"", "conv-1", strings.Repeat("long id ", 100), "ünïcødé/?#"} {
		if tp := Topic(id); !topicAlphabet.MatchString(tp) || len(tp) != 32 {
			t.Errorf("Topic(%q) = %q", id, tp)
		}
	}
}
