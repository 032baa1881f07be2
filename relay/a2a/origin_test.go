package a2a

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// cardHost serves only an agent card whose url is rpcURL (and, when
// redirectTo is set, answers POST /rpc with a 307 there instead).
func cardHost(t *testing.T, rpcURL func(self string) string, redirectTo string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/agent.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"echo","url":"`+rpcURL(srv.URL)+`","version":"0.0.1","capabilities":{"streaming":true},"skills":[]}`)
	})
	if redirectTo != "" {
		mux.HandleFunc("POST /rpc", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, redirectTo, http.StatusTemporaryRedirect)
		})
	}
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func run(t *testing.T, a Agent) (Outcome, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return New(Options{IdleTimeout: 5 * time.Second}).Run(ctx, a, newTask("hello"), newCollector().emit)
}

func carries(hs []http.Header, name, value string) bool {
	for _, h := range hs {
		if strings.Contains(h.Get(name), value) {
			return true
		}
	}
	return false
}

// An agent card whose RPC URL is on another origin than the endpoint is
// refused when the owner set an auth header: the reply ends in error and
// nothing reaches the other origin. Without an auth header the card is
// followed.
func TestCardOnAnotherOriginIsRefusedWithAnAuthHeader(t *testing.T) {
	other, rec := newV01Agent(t, v01Stream)
	host := cardHost(t, func(string) string { return other.URL + "/rpc" }, "")
	for _, auth := range []string{"X-Api-Key: k1", "tok", "Authorization: Basic dXNlcjpwdw=="} {
		out, err := run(t, Agent{ID: "agent-foreign", Endpoint: host.URL, AuthHeader: auth})
		if !errors.Is(err, ErrForeignRPCOrigin) || out.Status != StatusError || !strings.Contains(out.Error, "origin") {
			t.Fatalf("%q: %+v %v", auth, out, err)
		}
	}
	if hs := rec.seenHeaders(); len(hs) != 0 {
		t.Fatalf("the other origin was called: %v", hs)
	}
	// A relative URL, or one spelling the endpoint's origin differently
	// (default port, capitals), is the same origin.
	own, ownRec := newV01Agent(t, v01Stream)
	for _, endpoint := range []string{own.URL, strings.Replace(own.URL, "http://", "HTTP://", 1)} {
		out, err := run(t, Agent{ID: "agent-own", Endpoint: endpoint, AuthHeader: "X-Api-Key: k1"})
		if err != nil || out.Status != StatusComplete {
			t.Fatalf("same origin %s: %+v %v", endpoint, out, err)
		}
	}
	if !carries(ownRec.seenHeaders(), "X-Api-Key", "k1") {
		t.Fatal("the endpoint's own origin did not get the auth header")
	}
	out, err := run(t, Agent{ID: "agent-foreign-open", Endpoint: host.URL})
	if err != nil || out.Status != StatusComplete {
		t.Fatalf("no auth header: %+v %v", out, err)
	}
	if len(rec.seenHeaders()) == 0 {
		t.Fatal("without an auth header the card's RPC URL was not called")
	}
}

// A redirect to another origin loses the owner's auth header, whatever its
// name — on the RPC call and on the card fetch. net/http alone would keep
// Authorization here (same host, other port) and any custom header always.
func TestRedirectToAnotherOriginDropsTheAuthHeader(t *testing.T) {
	for _, tc := range []struct{ auth, name, value string }{
		{"X-Api-Key: k1", "X-Api-Key", "k1"},
		{"tok", "Authorization", "Bearer tok"},
	} {
		other, rec := newV01Agent(t, v01Stream)
		host := cardHost(t, func(self string) string { return self + "/rpc" }, other.URL+"/rpc")
		out, err := run(t, Agent{ID: "agent-redirect", Endpoint: host.URL, AuthHeader: tc.auth})
		if err != nil || out.Status != StatusComplete {
			t.Fatalf("%q: %+v %v", tc.auth, out, err)
		}
		hs := rec.seenHeaders()
		if len(hs) == 0 {
			t.Fatalf("%q: the redirect was not followed", tc.auth)
		}
		if carries(hs, tc.name, tc.value) {
			t.Fatalf("%q: the other origin got the auth header: %v", tc.auth, hs)
		}
	}
	// The card itself redirected away: fetched without the header, and its
	// RPC URL (on the other origin) refused.
	other, rec := newV01Agent(t, v01Stream)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/agent.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/.well-known/agent.json", http.StatusFound)
	})
	host := httptest.NewServer(mux)
	t.Cleanup(host.Close)
	out, err := run(t, Agent{ID: "agent-card-redirect", Endpoint: host.URL, AuthHeader: "X-Api-Key: k1"})
	if !errors.Is(err, ErrForeignRPCOrigin) || out.Status != StatusError {
		t.Fatalf("card redirected away: %+v %v", out, err)
	}
	hs := rec.seenHeaders()
	if len(hs) != 1 || carries(hs, "X-Api-Key", "k1") {
		t.Fatalf("card fetch on the other origin: %v", hs)
	}
}
