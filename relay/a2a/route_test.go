package a2a

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestPickRoute(t *testing.T) {
	cardURL, _ := url.Parse("https://agent.example/base/.well-known/agent-card.json")
	for _, tc := range []struct {
		name, card string
		start      Dialect
		url        string
		v03        string
	}{
		{"v1.0 card", `{"supportedInterfaces":[{"url":"https://a.example/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]}`,
			V1, "https://a.example/rpc", "https://a.example/rpc"},
		{"v1.0 card, gRPC first", `{"supportedInterfaces":[{"url":"grpc.example:443","protocolBinding":"GRPC","protocolVersion":"1.0"},{"url":"/rpc","protocolBinding":"JSONRPC","protocolVersion":"1.0"},{"url":"/v03","protocolBinding":"JSONRPC","protocolVersion":"0.3"}]}`,
			V1, "https://agent.example/rpc", "https://agent.example/v03"},
		{"compat card with embedded v1 interfaces", `{"url":"https://a.example/old","protocolVersion":"0.3","preferredTransport":"JSONRPC","supportedInterfaces":[{"url":"https://a.example/new","protocolBinding":"JSONRPC","protocolVersion":"1.0"}]}`,
			V1, "https://a.example/new", "https://a.example/old"},
		{"v0.3 card", `{"url":"https://a.example/a2a","protocolVersion":"0.3.0","preferredTransport":"JSONRPC"}`,
			V03, "https://a.example/a2a", "https://a.example/a2a"},
		{"v0.3 card preferring REST", `{"url":"https://a.example/rest","protocolVersion":"0.3.0","preferredTransport":"HTTP+JSON","additionalInterfaces":[{"url":"https://a.example/jsonrpc","transport":"JSONRPC"}]}`,
			V03, "https://a.example/jsonrpc", "https://a.example/jsonrpc"},
		{"v0.1 card (no version)", `{"url":"https://a.example/v01","authentication":{"schemes":["bearer"]}}`,
			V03, "https://a.example/v01", "https://a.example/v01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c agentCard
			if err := json.Unmarshal([]byte(tc.card), &c); err != nil {
				t.Fatal(err)
			}
			r, err := pickRoute(c, cardURL)
			if err != nil {
				t.Fatal(err)
			}
			if r.start != tc.start || r.urlFor(r.start) != tc.url || r.urlFor(V03) != tc.v03 {
				t.Fatalf("route %+v", r)
			}
		})
	}
	if _, err := pickRoute(agentCard{}, cardURL); err == nil {
		t.Fatal("empty card accepted")
	}
}

func TestParseAuthHeader(t *testing.T) {
	for in, want := range map[string][2]string{
		"":                       {"", ""},
		"X-Api-Key: k1":          {"X-Api-Key", "k1"},
		"Authorization: Basic x": {"Authorization", "Basic x"},
		"tok123":                 {"Authorization", "Bearer tok123"},
		"Bearer a:b":             {"Authorization", "Bearer a:b"},
		"  Token abc  ":          {"Authorization", "Token abc"},
	} {
		n, v := parseAuthHeader(in)
		if n != want[0] || v != want[1] {
			t.Errorf("%q → %q %q, want %q", in, n, v, want)
		}
	}
}
