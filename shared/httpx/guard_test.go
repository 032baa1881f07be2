package httpx

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every route handled through Handle refuses ids that are not ids (404) and
// path or query text that is not valid UTF-8 without U+0000 (400 naming it),
// before its handler runs.
func TestCheckRequest(t *testing.T) {
	rt := NewRouter()
	ran := 0
	h := func(w http.ResponseWriter, r *http.Request) error {
		ran++
		return JSON(w, 200, map[string]bool{"ok": true})
	}
	rt.HandleFunc("GET /things/{id}", h)
	rt.HandleFunc("DELETE /things/{id}/members/{memberId}", h)
	rt.HandleFunc("DELETE /things/{id}/tags/{emoji}", h)
	cases := []struct {
		path   string
		status int
		field  string
	}{
		{"/things/abc-1_2", 200, ""},
		{"/things/%00", 404, ""},
		{"/things/%ff%fe", 404, ""},
		{"/things/%e2%82", 404, ""},
		{"/things/a.b", 404, ""},
		{"/things/" + strings.Repeat("a", 65), 404, ""},
		{"/things/abc?cursor=%00", 400, "cursor"},
		{"/things/abc?q=%ff", 400, "q"},
		{"/things/abc?q=ok%e2%82", 400, "q"},
		{"/things/abc?%00=1", 400, "query"},
		{"/things/abc?q=%C3%A9", 200, ""},
	}
	for _, c := range cases {
		for _, m := range []string{"GET"} {
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest(m, c.path, nil))
			if rec.Code != c.status {
				t.Errorf("%s: %d %s, want %d", c.path, rec.Code, rec.Body, c.status)
				continue
			}
			if c.status == 200 {
				continue
			}
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
				t.Errorf("%s: body %s", c.path, rec.Body)
			}
			if c.field != "" && body.Error.Fields[c.field] == "" {
				t.Errorf("%s: fields %v, want %s named", c.path, body.Error.Fields, c.field)
			}
		}
	}
	for path, want := range map[string]int{
		"/things/abc/members/%00":       404,
		"/things/abc/members/u1":        200,
		"/things/abc/tags/%F0%9F%91%8D": 200,
		"/things/abc/tags/%00":          400,
		"/things/abc/tags/%ff":          400,
	} {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, httptest.NewRequest("DELETE", path, nil))
		if rec.Code != want {
			t.Errorf("DELETE %s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
	}
	if ran != 4 {
		t.Errorf("handler ran %d times, want 4 (only for valid requests)", ran)
	}
}
