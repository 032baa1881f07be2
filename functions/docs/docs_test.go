package docs

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ari-chat/ari-server/shared/platform"
)

func TestServesTheDocument(t *testing.T) {
	srv := httptest.NewServer(platform.Wrap(New(Deps{})))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%d %s %q", res.StatusCode, res.Header.Get("Content-Type"), doc.OpenAPI)
	}
	if _, ok := doc.Paths["/api/openapi.json"]["get"]; !ok {
		t.Fatal("the document does not describe itself")
	}
	res2, err := http.Post(srv.URL+"/api/openapi.json", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", res2.StatusCode)
	}
}
