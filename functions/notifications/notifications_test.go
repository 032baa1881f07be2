package notifications

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

type fixture struct {
	db  *store.DB
	srv *apitest.Server
}

func setup(t *testing.T) *fixture {
	t.Helper()
	db := testenv.DB(t)
	h := New(Deps{DB: db, Auth: &auth.Authenticator{DB: db, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")}})
	return &fixture{db: db, srv: apitest.Serve(t, h)}
}

func (f *fixture) call(t *testing.T, token, method string, body any) (int, []byte) {
	t.Helper()
	return f.srv.Call(t, token, method, "/api/notifications/preferences", body)
}

func valid() map[string]any {
	return map[string]any{"enabled": true, "agentReplies": true, "groupMessages": false, "mentions": true, "preview": false,
		"quietHours": map[string]any{"start": "22:00", "end": "07:30", "timeZone": "America/New_York"}}
}

func TestDefaultsThenPutAndGet(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.db, "prefs")
	status, raw := f.call(t, u.Token, "GET", nil)
	want := `{"enabled":true,"quietHours":null,"agentReplies":true,"groupMessages":true,"mentions":true,"preview":true}`
	if status != 200 || strings.TrimSpace(string(raw)) != want {
		t.Fatalf("defaults: %d %s\nwant %s", status, raw, want)
	}

	status, raw = f.call(t, u.Token, "PUT", valid())
	if status != 200 {
		t.Fatalf("put: %d %s", status, raw)
	}
	want = `{"enabled":true,"quietHours":{"start":"22:00","end":"07:30","timeZone":"America/New_York"},"agentReplies":true,"groupMessages":false,"mentions":true,"preview":false}`
	if strings.TrimSpace(string(raw)) != want {
		t.Fatalf("put answered %s\nwant %s", raw, want)
	}
	if _, raw = f.call(t, u.Token, "GET", nil); strings.TrimSpace(string(raw)) != want {
		t.Fatalf("get after put: %s", raw)
	}
	// What the trigger reads is what was saved.
	p, err := f.db.NotificationPrefs(context.Background(), u.ID)
	if err != nil || p.QuietStart != "22:00" || p.QuietEnd != "07:30" || p.TimeZone != "America/New_York" || p.Preview || p.GroupMessages {
		t.Fatalf("stored %+v %v", p, err)
	}

	// Quiet hours off again.
	b := valid()
	b["quietHours"] = nil
	if status, raw = f.call(t, u.Token, "PUT", b); status != 200 || !strings.Contains(string(raw), `"quietHours":null`) {
		t.Fatalf("clearing quiet hours: %d %s", status, raw)
	}

	// Another user still has the defaults.
	other := testenv.NewUser(t, f.db, "other")
	if _, raw = f.call(t, other.Token, "GET", nil); !strings.Contains(string(raw), `"preview":true`) {
		t.Fatalf("another user's view: %s", raw)
	}
}

func TestPutRefusesBadInputAtOnce(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.db, "bad-prefs")
	if status, _ := f.call(t, u.Token, "PUT", valid()); status != 200 {
		t.Fatal("setup put failed")
	}
	before, err := f.db.NotificationPrefs(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	quiet := func(start, end, zone any) map[string]any {
		b := valid()
		b["quietHours"] = map[string]any{"start": start, "end": end, "timeZone": zone}
		return b
	}
	missing := valid()
	delete(missing, "preview")
	delete(missing, "enabled")
	cases := []struct {
		name   string
		body   any
		fields []string
	}{
		{"bad zone", quiet("22:00", "07:00", "Mars/Olympus"), []string{"quietHours.timeZone"}},
		{"server's local zone", quiet("22:00", "07:00", "Local"), []string{"quietHours.timeZone"}},
		{"no zone", quiet("22:00", "07:00", ""), []string{"quietHours.timeZone"}},
		{"bad times and zone together", quiet("24:00", "7:00", "Nowhere/City"), []string{"quietHours.start", "quietHours.end", "quietHours.timeZone"}},
		{"minutes out of range", quiet("22:60", "07:00", "UTC"), []string{"quietHours.start"}},
		{"missing end", quiet("22:00", "", "UTC"), []string{"quietHours.end"}},
		{"equal start and end", quiet("08:00", "08:00", "UTC"), []string{"quietHours.end"}},
		{"missing switches", missing, []string{"enabled", "preview"}},
		{"switch not a boolean", map[string]any{"enabled": "yes"}, nil},
		{"unknown field", func() map[string]any { b := valid(); b["sound"] = true; return b }(), nil},
		{"not JSON", "{", nil},
	}
	for _, c := range cases {
		status, raw := f.call(t, u.Token, "PUT", c.body)
		var e struct {
			Error struct {
				Code   string            `json:"code"`
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		if status != 400 || json.Unmarshal(raw, &e) != nil || e.Error.Code != "invalid_request" {
			t.Errorf("%s: %d %s, want a 400 JSON error", c.name, status, raw)
			continue
		}
		for _, field := range c.fields {
			if e.Error.Fields[field] == "" {
				t.Errorf("%s: no problem named for %s: %s", c.name, field, raw)
			}
		}
	}
	after, err := f.db.NotificationPrefs(context.Background(), u.ID)
	if err != nil || after != before {
		t.Fatalf("bad input changed the preferences: %+v -> %+v", before, after)
	}
}

func TestPreferencesNeedSignIn(t *testing.T) {
	f := setup(t)
	for _, m := range []string{"GET", "PUT"} {
		var body any
		if m == "PUT" {
			body = valid()
		}
		if status, raw := f.call(t, "", m, body); status != http.StatusUnauthorized || !strings.Contains(string(raw), `"unauthorized"`) {
			t.Errorf("%s without a session: %d %s", m, status, raw)
		}
	}
}
