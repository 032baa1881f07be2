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

func TestTrustedOriginsList(t *testing.T) {
	c, err := FromMap(map[string]string{"BETTER_AUTH_TRUSTED_ORIGINS": "https://a.example,https://b.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.TrustedOrigins) != 2 || c.TrustedOrigins[1] != "https://b.example" {
		t.Fatalf("got %v", c.TrustedOrigins)
	}
}
