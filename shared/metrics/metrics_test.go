package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type frameOf string

func (f frameOf) FrameType() string { return string(f) }

func TestFramesCountedByTypeWithoutAllocating(t *testing.T) {
	chunk := []byte(`{"type":"stream_chunk","messageId":"m","delta":"x","offset":1}`)
	out := framesOut.WithLabelValues(Client, "stream_chunk")
	before := testutil.ToFloat64(out)
	ClientFrameOut(chunk)
	if got := testutil.ToFloat64(out) - before; got != 1 {
		t.Fatalf("stream_chunk out moved by %v, want 1", got)
	}
	if n := testing.AllocsPerRun(1000, func() { ClientFrameOut(chunk) }); n != 0 {
		t.Fatalf("ClientFrameOut allocates %v times per call", n)
	}
	var f Typed = frameOf("agent_chunk")
	AgentFrameOut([]byte(`{"type":"task"}`))
	FrameIn(Agent, f)
	if n := testing.AllocsPerRun(1000, func() { FrameIn(Agent, f) }); n != 0 {
		t.Fatalf("FrameIn allocates %v times per call", n)
	}
	invalid := framesIn.WithLabelValues(Client, TypeInvalid)
	before = testutil.ToFloat64(invalid)
	FrameIn(Client, nil)
	if got := testutil.ToFloat64(invalid) - before; got != 1 {
		t.Fatalf("invalid in moved by %v, want 1", got)
	}
}

// Outgoing types are read from the frame; what does not look like a type,
// and types past the cap, are counted as "other", so labels stay bounded.
func TestFrameTypeLabelsBounded(t *testing.T) {
	other := framesOut.WithLabelValues(Agent, TypeOther)
	before := testutil.ToFloat64(other)
	for _, f := range []string{`[1,2]`, `{"id":"x","type":"task"}`, `{"type":"Has Space"}`, `{"type":"` + strings.Repeat("a", 60) + `"}`} {
		AgentFrameOut([]byte(f))
	}
	if got := testutil.ToFloat64(other) - before; got != 4 {
		t.Fatalf("other moved by %v, want 4", got)
	}
	tc := typeCounters(framesOut, "test")
	for i := 0; i < 3*maxTypes; i++ {
		tc.get("type_" + strings.Repeat("x", i%40)).Inc()
		tc.get("t" + string(rune('a'+i%26)) + string(rune('a'+i/26))).Inc()
	}
	if tc.labels > maxTypes || len(*tc.m.Load()) > 2*maxTypes {
		t.Fatalf("%d labels, %d cached types: unbounded", tc.labels, len(*tc.m.Load()))
	}
}

func TestSocketsOpenByKind(t *testing.T) {
	before := testutil.ToFloat64(agentSockets)
	SocketOpened(Agent)
	SocketOpened(Agent)
	SocketClosed(Agent)
	if got := testutil.ToFloat64(agentSockets) - before; got != 1 {
		t.Fatalf("agent sockets moved by %v, want 1", got)
	}
	SocketClosed(Agent)
}

func TestEndpointGate(t *testing.T) {
	token := strings.Repeat("k", 32)
	cfg := func(env map[string]string) config.Config {
		c, err := config.FromMap(env)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, ok := Endpoint(cfg(map[string]string{"METRICS_ENABLED": "false"})); ok {
		t.Fatal("served with METRICS_ENABLED=false")
	}
	if _, ok := Endpoint(cfg(map[string]string{"ARI_ENV": "production", "BETTER_AUTH_SECRET": strings.Repeat("s", 40)})); ok {
		t.Fatal("served in production without a token")
	}
	h, ok := Endpoint(cfg(map[string]string{"METRICS_TOKEN": token}))
	if !ok {
		t.Fatal("not served with a token")
	}
	HTTPRequest("GET /x/{id}", 204, 0)
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer wrong", 401}, {token, 401}, {"Bearer " + token, 200}} {
		req := httptest.NewRequest("GET", Path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Fatalf("Authorization %q: %d, want %d", c.auth, rec.Code, c.want)
		}
		if c.want == 401 && !strings.Contains(rec.Body.String(), `"code":"unauthorized"`) {
			t.Fatalf("401 body %s", rec.Body)
		}
		if c.want == 200 && !strings.Contains(rec.Body.String(), `ari_http_request_duration_seconds_count{route="GET /x/{id}",status="204"} `) {
			t.Fatalf("exposition lacks the request:\n%s", rec.Body)
		}
	}
}
