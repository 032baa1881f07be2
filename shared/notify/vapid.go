package notify

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// VAPID identifies this server to push services (RFC 8292).
type VAPID struct {
	// PublicKey is the uncompressed P-256 point, base64url (65 bytes). The
	// client passes it to pushManager.subscribe as applicationServerKey.
	PublicKey string
	// PrivateKey is the P-256 scalar, base64url (32 bytes). Secret.
	PrivateKey string
	// Subject is how a push service operator can reach us: "mailto:ops@…" or
	// an "https://…" URL. A bare e-mail address is taken as mailto:.
	Subject string
}

// GenerateVAPIDKeys makes a fresh VAPID key pair, both base64url without
// padding, in the form VAPID expects. `make local` uses it when no keys are
// configured.
func GenerateVAPIDKeys() (public, private string, err error) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate VAPID key: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(k.PublicKey().Bytes()), enc.EncodeToString(k.Bytes()), nil
}

// Validate checks that the keys decode, have the right sizes and belong
// together (a swapped or mismatched pair is the usual configuration slip and
// would make every push service answer 401/403), and that Subject is usable.
func (v VAPID) Validate() error {
	var errs []error
	pub, err := decodeKey(v.PublicKey)
	switch {
	case v.PublicKey == "":
		errs = append(errs, errors.New("VAPID public key: required"))
	case err != nil:
		errs = append(errs, errors.New("VAPID public key: not base64url"))
	case len(pub) != 65:
		errs = append(errs, fmt.Errorf("VAPID public key: must be 65 bytes, got %d", len(pub)))
	}
	priv, err := decodeKey(v.PrivateKey)
	switch {
	case v.PrivateKey == "":
		errs = append(errs, errors.New("VAPID private key: required"))
	case err != nil:
		errs = append(errs, errors.New("VAPID private key: not base64url"))
	case len(priv) != 32:
		errs = append(errs, fmt.Errorf("VAPID private key: must be 32 bytes, got %d", len(priv)))
	}
	if len(errs) == 0 {
		k, err := ecdh.P256().NewPrivateKey(priv)
		if err != nil {
			errs = append(errs, errors.New("VAPID private key: not a valid P-256 key"))
		} else if !bytes.Equal(k.PublicKey().Bytes(), pub) {
			errs = append(errs, errors.New("VAPID keys: public key does not belong to the private key"))
		}
	}
	if _, err := v.subscriber(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// subscriber turns Subject into what webpush-go wants: it prepends "mailto:"
// to anything that is not an https URL, so a configured "mailto:" must be
// stripped or the JWT would say "mailto:mailto:…".
func (v VAPID) subscriber() (string, error) {
	s := strings.TrimSpace(v.Subject)
	switch {
	case s == "":
		return "", errors.New("VAPID subject: required (mailto:address or https URL)")
	case strings.HasPrefix(s, "https://"):
		return s, nil
	case strings.HasPrefix(s, "http:"):
		return "", errors.New("VAPID subject: URL must be https")
	}
	addr := strings.TrimPrefix(s, "mailto:")
	if !strings.Contains(addr, "@") || strings.ContainsAny(addr, " \t\r\n") {
		return "", errors.New("VAPID subject: not an e-mail address or https URL")
	}
	return addr, nil
}
