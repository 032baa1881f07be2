package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEverySandboxRouteAnswers501(t *testing.T) {
	h := New(Deps{})
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/sandbox/anything"}, {"POST", "/api/sandbox/run"}, {"GET", "/api/sandbox"}, {"DELETE", "/api/sandbox/a/b/c"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s: status %d", tc.method, tc.path, rec.Code)
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Code != "not_implemented" || body.Error.Message != "sandbox is temporarily unavailable" {
			t.Fatalf("body %s", rec.Body)
		}
	}
}
