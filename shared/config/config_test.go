package config

import (
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := FromMap(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3501 || c.DBMaxConns != 20 || c.DBMaxConnIdle != 30*time.Second || c.DBConnectTimeout != 10*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.S3Configured() {
		t.Fatal("S3 must not be configured by default")
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"PORT":                              {"PORT": "abc"},
		"DB_CONNECT_TIMEOUT":                {"DB_CONNECT_TIMEOUT": "soon"},
		"LOG_LEVEL":                         {"LOG_LEVEL": "loud"},
		"REDIS_URL":                         {"REDIS_URL": "http://x"},
		"BETTER_AUTH_SECRET":                {"BETTER_AUTH_SECRET": "short"},
		"AUTH_PASSWORD_ALGORITHM":           {"AUTH_PASSWORD_ALGORITHM": "md5"},
		"RELAY_PORT":                        {"RELAY_PORT": "70000"},
		"RATE_LIMIT_SEND_BURST":             {"RATE_LIMIT_SEND_BURST": "0"},
		"RELAY_MAX_SOCKETS_PER_USER":        {"RELAY_MAX_SOCKETS_PER_USER": "-1"},
		"RATE_LIMIT_GROUP_MEMBERS_PER_HOUR": {"RATE_LIMIT_GROUP_MEMBERS_PER_HOUR": "0"},
		"AUTH_REQUIRE_EMAIL_VERIFICATION":   {"AUTH_REQUIRE_EMAIL_VERIFICATION": "true"}, // without SMTP_URL
	}
	for name, environ := range cases {
		_, err := FromMap(environ)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: want an error naming it, got %v", name, err)
		}
	}
}

func TestProductionRefusesDevSecret(t *testing.T) {
	_, err := FromMap(map[string]string{"ARI_ENV": "production"})
	if err == nil || !strings.Contains(err.Error(), "BETTER_AUTH_SECRET") {
		t.Fatalf("want BETTER_AUTH_SECRET error, got %v", err)
	}
}

// Private networks for A2A are for local development only: production
// refuses to start with them, naming the variable.
func TestProductionRefusesA2APrivateNetworks(t *testing.T) {
	env := map[string]string{"ARI_ENV": "production", "BETTER_AUTH_SECRET": strings.Repeat("s", 40), "A2A_ALLOW_PRIVATE_NETWORKS": "true"}
	_, err := FromMap(env)
	if err == nil || !strings.Contains(err.Error(), "A2A_ALLOW_PRIVATE_NETWORKS") {
		t.Fatalf("want an A2A_ALLOW_PRIVATE_NETWORKS error, got %v", err)
	}
	env["A2A_ALLOW_PRIVATE_NETWORKS"] = "false"
	if _, err := FromMap(env); err != nil {
		t.Fatalf("production without private networks: %v", err)
	}
	if _, err := FromMap(map[string]string{"A2A_ALLOW_PRIVATE_NETWORKS": "true"}); err != nil {
		t.Fatalf("local with private networks: %v", err)
	}
}

func TestTrustedOriginsList(t *testing.T) {
	c, err := FromMap(map[string]string{"BETTER_AUTH_TRUSTED_ORIGINS": "https://a.example,https://b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedOrigins) != 2 || c.TrustedOrigins[1] != "https://b.example" {
		t.Fatalf("got %v", c.TrustedOrigins)
	}
}

// /metrics: on by default locally; in production only behind a token, which
// must be long enough to be a secret.
func TestMetricsServed(t *testing.T) {
	token := strings.Repeat("m", 32)
	prod := func(extra map[string]string) map[string]string {
		m := map[string]string{"ARI_ENV": "production", "BETTER_AUTH_SECRET": strings.Repeat("s", 40)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"local default", map[string]string{}, true},
		{"local off", map[string]string{"METRICS_ENABLED": "false"}, false},
		{"local with token", map[string]string{"METRICS_TOKEN": token}, true},
		{"production without token", prod(nil), false},
		{"production with token", prod(map[string]string{"METRICS_TOKEN": token}), true},
		{"production off with token", prod(map[string]string{"METRICS_TOKEN": token, "METRICS_ENABLED": "false"}), false},
	} {
		cfg, err := FromMap(c.env)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := cfg.MetricsServed(); got != c.want {
			t.Errorf("%s: MetricsServed() = %v, want %v", c.name, got, c.want)
		}
	}
	for _, bad := range []string{"short", strings.Repeat("m", 31), strings.Repeat("m", 31) + " x"} {
		if _, err := FromMap(map[string]string{"METRICS_TOKEN": bad}); err == nil || !strings.Contains(err.Error(), "METRICS_TOKEN") {
			t.Errorf("METRICS_TOKEN=%q: want an error naming it, got %v", bad, err)
		}
	}
}

// RELAY_PPROF_ADDR is off by default and, when set, a host:port.
func TestRelayPprofAddr(t *testing.T) {
	cfg, err := FromMap(map[string]string{})
	if err != nil || cfg.RelayPprofAddr != "" {
		t.Fatalf("default %q, %v", cfg.RelayPprofAddr, err)
	}
	if cfg, err := FromMap(map[string]string{"RELAY_PPROF_ADDR": "127.0.0.1:6060"}); err != nil || cfg.RelayPprofAddr != "127.0.0.1:6060" {
		t.Fatalf("127.0.0.1:6060: %q, %v", cfg.RelayPprofAddr, err)
	}
	for _, bad := range []string{"6060", "localhost", "127.0.0.1:"} {
		if _, err := FromMap(map[string]string{"RELAY_PPROF_ADDR": bad}); err == nil || !strings.Contains(err.Error(), "RELAY_PPROF_ADDR") {
			t.Errorf("RELAY_PPROF_ADDR=%q: want an error naming it, got %v", bad, err)
		}
	}
}
