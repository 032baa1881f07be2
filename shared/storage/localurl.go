package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// urlSigner makes and checks the local store's link signatures:
// HMAC-SHA256 over the method, key and expiry, plus for uploads the exact
// Content-Length and Content-Type, the same things S3 binds for us.
type urlSigner struct {
	key []byte
}

func newURLSigner(secret []byte) urlSigner {
	// Derive a purpose-bound key so a secret shared with other features
	// (sessions, cookies) never signs these links directly.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("ari-server storage local URL v1"))
	return urlSigner{key: m.Sum(nil)}
}

func (s urlSigner) sign(method, key string, exp int64, size int64, contentType string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%s\n%d", method, key, exp)
	if method == http.MethodPut {
		fmt.Fprintf(m, "\n%d\n%s", size, contentType)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var (
	errBadSignature = errors.New("storage: bad signature")
	errExpired      = errors.New("storage: link expired")
)

// verify checks a link's exp and sig query values against what the request
// actually carries.
func (s urlSigner) verify(now time.Time, method, key, expParam, sig string, size int64, contentType string) error {
	exp, err := strconv.ParseInt(expParam, 10, 64)
	if err != nil || sig == "" {
		return errBadSignature
	}
	want := s.sign(method, key, exp, size, contentType)
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return errBadSignature
	}
	// Checked after the signature so an unsigned exp reveals nothing.
	if now.Unix() >= exp {
		return errExpired
	}
	return nil
}

func (l *Local) link(key string, exp int64, sig string) string {
	return l.baseURL + "/files/" + key + "?exp=" + strconv.FormatInt(exp, 10) + "&sig=" + sig
}

// URL returns a signed GET link valid for the configured lifetime.
func (l *Local) URL(ctx context.Context, key string) (string, time.Time, error) {
	if err := ValidKey(key); err != nil {
		return "", time.Time{}, err
	}
	exp := l.now().Add(l.urlTTL).Unix()
	return l.link(key, exp, l.signer.sign(http.MethodGet, key, exp, 0, "")), time.Unix(exp, 0), nil
}

// PresignPut returns a signed PUT link for LocalHandler; the client must
// send the returned Content-Length and Content-Type unchanged.
func (l *Local) PresignPut(ctx context.Context, key string, size int64, contentType string, ttl time.Duration) (PresignedRequest, error) {
	if err := checkPut(key, size, contentType); err != nil {
		return PresignedRequest{}, err
	}
	if ttl <= 0 || ttl > maxPresignTTL {
		return PresignedRequest{}, fmt.Errorf("storage: presign lifetime %s out of range", ttl)
	}
	if err := l.markOpen(key); err != nil {
		return PresignedRequest{}, err
	}
	exp := l.now().Add(ttl).Unix()
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	return PresignedRequest{
		Method:  http.MethodPut,
		URL:     l.link(key, exp, l.signer.sign(http.MethodPut, key, exp, size, contentType)),
		Headers: h,
		Expires: time.Unix(exp, 0),
	}, nil
}
