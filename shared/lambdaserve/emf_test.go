package lambdaserve

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/httpx"
)

// One EMF line per request, shaped as CloudWatch's specification asks: an
// _aws block with a millisecond Timestamp and one directive naming the
// namespace, the dimension set and the metrics with units; every dimension
// and metric it names is a member of the root, dimensions as strings.
func TestEMFLinePerRequest(t *testing.T) {
	var out bytes.Buffer
	at := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	rt := httpx.NewRouter()
	rt.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusCreated)
		return nil
	})
	h := httpx.Chain(rt, httpx.RequestID, httpx.Observe(EMF(&out, "things", func() time.Time { return at })))
	req := httptest.NewRequest("GET", "/api/things/7", nil)
	req.Header.Set(httpx.RequestIDHeader, "req-1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nowhere", nil))

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out.String())
	}
	var doc struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	var root map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[0]), &root); err != nil {
		t.Fatal(err)
	}
	if doc.AWS.Timestamp != at.UnixMilli() || len(doc.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("_aws = %+v", doc.AWS)
	}
	d := doc.AWS.CloudWatchMetrics[0]
	if d.Namespace != EMFNamespace || len(d.Dimensions) != 1 || len(d.Metrics) != 2 {
		t.Fatalf("directive = %+v", d)
	}
	for _, dim := range d.Dimensions[0] {
		if _, ok := root[dim].(string); !ok {
			t.Errorf("dimension %s is not a string member of the root: %v", dim, root[dim])
		}
	}
	for _, m := range d.Metrics {
		if _, ok := root[m.Name].(float64); !ok || m.Unit == "" {
			t.Errorf("metric %+v has no number in the root: %v", m, root[m.Name])
		}
	}
	if root["Function"] != "things" || root["Route"] != "GET /api/things/{id}" || root["Status"] != "201" ||
		root["Requests"] != 1.0 || root["requestId"] != "req-1" {
		t.Fatalf("line = %s", lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &root); err != nil || root["Route"] != "unmatched" || root["Status"] != "404" {
		t.Fatalf("unmatched line = %s", lines[1])
	}
}
