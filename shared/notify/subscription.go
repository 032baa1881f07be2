package notify

import (
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ari-chat/ari-server/shared/netguard"
)

// Subscription is a browser's PushSubscription as the client hands it over:
// the endpoint URL plus keys.p256dh and keys.auth, both base64url.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// MaxEndpointLength bounds what we store and POST to; real push services use
// a few hundred characters.
const MaxEndpointLength = 2048

// SubscriptionRules says which subscriptions are acceptable. The zero value is
// the production rule set.
type SubscriptionRules struct {
	// AllowInsecureLoopback admits http:// and https:// endpoints on
	// 127.0.0.1, ::1 and localhost, so tests can run a push service on loopback.
	// Without it such endpoints are refused, because letting a user point the
	// server's POSTs at its own host would be a server-side request forgery.
	AllowInsecureLoopback bool
}

// ValidateSubscription checks s under the production rules: https endpoint on
// a public host, p256dh an uncompressed P-256 point (65 bytes), auth 16 bytes.
func ValidateSubscription(s Subscription) error {
	return SubscriptionRules{}.Validate(s)
}

// Validate checks s and reports every problem at once, each naming its field.
func (r SubscriptionRules) Validate(s Subscription) error {
	var errs []error
	if err := r.validateEndpoint(s.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if _, err := decodeP256dh(s.P256dh); err != nil {
		errs = append(errs, err)
	}
	if _, err := decodeAuth(s.Auth); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r SubscriptionRules) validateEndpoint(raw string) error {
	if raw == "" {
		return errors.New("endpoint: required")
	}
	if len(raw) > MaxEndpointLength {
		return fmt.Errorf("endpoint: longer than %d characters", MaxEndpointLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("endpoint: must be an absolute URL")
	}
	if u.User != nil {
		return errors.New("endpoint: must not carry user credentials")
	}
	if u.Fragment != "" {
		return errors.New("endpoint: must not have a fragment")
	}
	host := u.Hostname()
	loop := netguard.IsLocalName(host)
	switch {
	case loop && r.AllowInsecureLoopback:
		if u.Scheme != "https" && u.Scheme != "http" {
			return errors.New("endpoint: scheme must be https (or http on loopback)")
		}
		return nil
	case u.Scheme != "https":
		return errors.New("endpoint: scheme must be https")
	case loop:
		return errors.New("endpoint: must not point at a loopback host")
	}
	if err := netguard.CheckHost(host); err != nil {
		return errors.New("endpoint: must not point at a private or reserved address")
	}
	return nil
}

// decodeKey accepts base64url with or without padding, which is what
// browsers' PushSubscription.toJSON() and getKey() encoders produce.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawURLEncoding.DecodeString(s)
}

func decodeP256dh(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("p256dh: required")
	}
	b, err := decodeKey(s)
	if err != nil {
		return nil, errors.New("p256dh: not base64url")
	}
	if len(b) != 65 {
		return nil, fmt.Errorf("p256dh: must be 65 bytes (an uncompressed P-256 point), got %d", len(b))
	}
	// Also rejects points off the curve, which would make encryption fail
	// later on every single send.
	if _, err := ecdh.P256().NewPublicKey(b); err != nil {
		return nil, errors.New("p256dh: not a valid P-256 public key")
	}
	return b, nil
}

func decodeAuth(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("auth: required")
	}
	b, err := decodeKey(s)
	if err != nil {
		return nil, errors.New("auth: not base64url")
	}
	if len(b) != 16 {
		return nil, fmt.Errorf("auth: must be 16 bytes, got %d", len(b))
	}
	return b, nil
}
