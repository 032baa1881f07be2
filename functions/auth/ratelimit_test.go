package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func assertTooMany(t *testing.T, res *response) {
	t.Helper()
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("want 429, got %d %s", res.Status, res.Body)
	}
	e := res.err(t)
	if e.Message != "Too many requests. Please try again later." || e.Code != "TOO_MANY_REQUESTS" {
		t.Fatalf("429 body %s", res.Body)
	}
	ra, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 60 || res.Header.Get("X-Retry-After") != res.Header.Get("Retry-After") {
		t.Fatalf("Retry-After %q X-Retry-After %q", res.Header.Get("Retry-After"), res.Header.Get("X-Retry-After"))
	}
}

// The limit tests allow one attempt a minute (n = 1), so the limit does not
// refill between attempts however slow the password hash is: under -race on
// a loaded 2-core machine one scrypt took 9 s, and at 3 a minute a token came
// back between the third and the fourth attempt (CI saw 401 for 429).

// TestSignInLimitAcrossInstances: two instances, each with its own handler
// and limiter, share the counters in Redis, so the N+1th sign-in within the
// window is refused whichever instance gets it.
func TestSignInLimitAcrossInstances(t *testing.T) {
	const n = 1
	a := newServer(t, func(c *config.Config) { c.RateLimitAuth = n })
	// The second instance: same configuration (and Redis prefix), a
	// separately built handler on its own listener.
	b := startInstance(t, httptest.NewUnstartedServer(nil), a.cfg)
	email := uniqueEmail("limited")
	signUp(t, a.client(t), email, "limit password") // one sign-up from this IP; sign-in has its own bucket
	ca, cb := a.client(t), b.client(t)
	ca.origin, cb.origin = a.cfg.BaseURL, a.cfg.BaseURL
	before := a.counts(t)
	for i := range n {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		if res := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "wrong password"}); res.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	// Even the right password is refused now, on either instance.
	assertTooMany(t, cb.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "limit password"}))
	assertTooMany(t, ca.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "limit password"}))
	if after := a.counts(t); after != before {
		t.Fatalf("refused sign-ins changed rows: %+v -> %+v", before, after)
	}
}

// TestSignInLimitPerEmail: spreading attempts on one email over many IPs
// does not escape the per-email limit.
func TestSignInLimitPerEmail(t *testing.T) {
	const n = 1
	s := newServer(t, func(c *config.Config) { c.RateLimitAuth = n; c.TrustProxyHeaders = true })
	email := uniqueEmail("spread")
	c := s.client(t)
	for i := range n {
		res := c.do("POST", "/api/auth/sign-in/email", jsonBody(map[string]any{"email": email, "password": "wrong password"}),
			map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113." + strconv.Itoa(i+1)})
		if res.Status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	assertTooMany(t, c.do("POST", "/api/auth/sign-in/email", jsonBody(map[string]any{"email": email, "password": "wrong password"}),
		map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.99"}))
	// Another email from a fresh IP is unaffected.
	res := c.do("POST", "/api/auth/sign-in/email", jsonBody(map[string]any{"email": uniqueEmail("other"), "password": "wrong password"}),
		map[string]string{"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.100"})
	if res.Status != 401 {
		t.Fatalf("other email: %d %s", res.Status, res.Body)
	}
}

func TestSignUpLimitPerIP(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimitAuth = 1 })
	c := s.client(t)
	signUp(t, c, uniqueEmail("su1"), "sign-up password")
	before := s.counts(t)
	assertTooMany(t, c.post("/api/auth/sign-up/email", map[string]any{"name": "n", "email": uniqueEmail("su2"), "password": "sign-up password"}))
	if s.counts(t) != before {
		t.Fatal("a refused sign-up created rows")
	}
}

// TestGeneralLimitAndCORS exercises p.Wrap: the general per-caller limit
// (Better Auth's shape under /api/auth, ours elsewhere), CORS and the origin
// check outside /api/auth.
func TestGeneralLimitAndCORS(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimitAPI = 3; c.TrustedOrigins = []string{appOrigin} })
	c := s.client(t)
	for range 3 {
		c.get("/api/auth/get-session")
	}
	assertTooMany(t, c.get("/api/auth/get-session"))

	// Preflight from a trusted origin: allowed with credentials, cached.
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/auth/sign-in/email", nil)
	req.Header.Set("Origin", appOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != appOrigin || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d %v", res.StatusCode, h)
	}
	req.Header.Set("Origin", "http://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("untrusted origin allowed: %v", res.Header)
	}

	// Outside /api/auth: our error shape.
	cfg := s.cfg
	cfg.RateLimitAPI = 1
	rdb, keys := testenv.Redis(t)
	p := &platform.Platform{Config: cfg, DB: s.db, Redis: rdb, Keys: keys}
	api := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })))
	t.Cleanup(api.Close)
	post := func(origin string) (*http.Response, map[string]map[string]any) {
		req, _ := http.NewRequest("POST", api.URL+"/api/things", nil)
		req.Header.Set("Cookie", "better-auth.session_token=x")
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]map[string]any
		_ = json.NewDecoder(res.Body).Decode(&body)
		return res, body
	}
	if res, body := post("http://evil.example"); res.StatusCode != 403 || body["error"]["code"] != "forbidden" {
		t.Fatalf("cross-origin API write: %d %v", res.StatusCode, body)
	}
	if res, _ := post(appOrigin); res.StatusCode != 204 {
		t.Fatalf("trusted API write: %d", res.StatusCode)
	}
	res2, body := post(appOrigin)
	if res2.StatusCode != 429 || body["error"]["code"] != "rate_limited" || res2.Header.Get("Retry-After") == "" {
		t.Fatalf("API limit: %d %v %v", res2.StatusCode, res2.Header, body)
	}
}
