package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookie name parts as Better Auth 1.7 builds them (cookies/index.mjs
// createCookieGetter): "<prefix>.<suffix>", with "__Secure-" in front when the
// deployment is served over https.
const (
	DefaultCookiePrefix = "better-auth"
	SecureCookiePrefix  = "__Secure-"

	SessionTokenCookie = "session_token"
	SessionDataCookie  = "session_data"
	DontRememberCookie = "dont_remember"
	StateCookie        = "state"
)

// signatureLen is the length of a base64 (padded) HMAC-SHA256: 32 bytes → 44.
const signatureLen = 44

// SignValue returns value + "." + base64std(HMAC-SHA256(secret, value)),
// before URL encoding. The key is the secret's UTF-8 bytes with no KDF, as in
// better-call's signCookieValue.
func SignValue(value, secret string) string {
	return value + "." + signature(value, secret)
}

// SignCookieValue returns the cookie value Better Auth sets for token: the
// signed value URL-encoded as encodeURIComponent would ("+" → %2B, "/" → %2F,
// "=" → %3D). QueryEscape gives the same bytes for this alphabet because
// neither the token nor base64 contain a space.
func SignCookieValue(token, secret string) string {
	return url.QueryEscape(SignValue(token, secret))
}

// VerifySignedValue checks a signed cookie (or bearer) value and returns the
// value that was signed. It accepts the URL-encoded form and the raw form,
// and applies better-call's getSignedCookie rules: split at the last ".",
// the signature must be exactly 44 characters ending in "=", then HMAC
// compared in constant time.
func VerifySignedValue(raw, secret string) (string, bool) {
	v := raw
	if strings.Contains(v, "%") {
		// decodeURIComponent keeps "+" as "+", like PathUnescape and unlike
		// QueryUnescape. A malformed escape leaves the value as it was, as
		// better-call's tryDecode does.
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
	}
	dot := strings.LastIndexByte(v, '.')
	if dot < 1 {
		return "", false
	}
	value, sig := v[:dot], v[dot+1:]
	if len(sig) != signatureLen || !strings.HasSuffix(sig, "=") {
		return "", false
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return "", false
	}
	if !hmac.Equal(got, mac(value, secret)) {
		return "", false
	}
	return value, true
}

func mac(value, secret string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(value))
	return h.Sum(nil)
}

func signature(value, secret string) string {
	return base64.StdEncoding.EncodeToString(mac(value, secret))
}

// Cookies builds and reads Better Auth's cookies for one deployment.
type Cookies struct {
	// Prefix is advanced.cookiePrefix; empty means DefaultCookiePrefix.
	Prefix string
	// Secure adds the "__Secure-" name prefix and the Secure attribute.
	Secure bool
}

// NewCookies returns the cookie settings Better Auth derives from its base
// URL: secure exactly when the URL starts with "https://".
func NewCookies(baseURL string) Cookies {
	return Cookies{Prefix: DefaultCookiePrefix, Secure: strings.HasPrefix(baseURL, "https://")}
}

// Name returns the full cookie name for a suffix such as SessionTokenCookie.
// Better Auth reads only this exact name: with a secure base URL the
// unprefixed cookie is ignored.
func (c Cookies) Name(suffix string) string {
	prefix := c.Prefix
	if prefix == "" {
		prefix = DefaultCookiePrefix
	}
	name := prefix + "." + suffix
	if c.Secure {
		name = SecureCookiePrefix + name
	}
	return name
}

// SessionToken is the name of the session cookie.
func (c Cookies) SessionToken() string { return c.Name(SessionTokenCookie) }

// Signed returns a Set-Cookie for a signed value with Better Auth's
// attributes (Path=/, HttpOnly, SameSite=Lax, Secure when secure, no Domain,
// no Expires). maxAge <= 0 leaves Max-Age out, making a browser-session
// cookie; Max-Age is written in whole seconds.
func (c Cookies) Signed(suffix, value, secret string, maxAge time.Duration) *http.Cookie {
	ck := c.base(suffix)
	ck.Value = url.QueryEscape(SignValue(value, secret))
	if maxAge > 0 {
		ck.MaxAge = int(maxAge / time.Second)
	}
	return ck
}

// Session returns the session cookie for token. maxAge is the session
// lifetime (Better Auth's expiresIn); pass 0 when rememberMe is false, which
// makes a browser-session cookie and must go with DontRemember.
func (c Cookies) Session(token, secret string, maxAge time.Duration) *http.Cookie {
	return c.Signed(SessionTokenCookie, token, secret, maxAge)
}

// DontRemember returns the signed "dont_remember=true" browser-session cookie
// Better Auth sets beside a rememberMe:false session; while it is present the
// session is not refreshed.
func (c Cookies) DontRemember(secret string) *http.Cookie {
	return c.Signed(DontRememberCookie, "true", secret, 0)
}

// Expire returns a Set-Cookie that deletes the cookie with this suffix
// (empty value, Max-Age=0, the same Path/HttpOnly/SameSite/Secure).
func (c Cookies) Expire(suffix string) *http.Cookie {
	ck := c.base(suffix)
	ck.MaxAge = -1 // net/http writes MaxAge<0 as "Max-Age=0"
	return ck
}

// ExpireSession returns the three expiring cookies Better Auth sends on
// sign-out and when a signed session cookie names an unknown or expired
// session: session_token, session_data and dont_remember, in that order.
func (c Cookies) ExpireSession() []*http.Cookie {
	return []*http.Cookie{
		c.Expire(SessionTokenCookie),
		c.Expire(SessionDataCookie),
		c.Expire(DontRememberCookie),
	}
}

// ReadSigned returns the verified value of the signed cookie with this suffix
// in r. Like better-call, it looks only at the first cookie with that name; a
// missing cookie and a bad signature both answer ok=false.
func (c Cookies) ReadSigned(r *http.Request, suffix, secret string) (string, bool) {
	ck, err := r.Cookie(c.Name(suffix))
	if err != nil {
		return "", false
	}
	return VerifySignedValue(ck.Value, secret)
}

// SessionTokenFrom returns the verified session token from r's cookie.
func (c Cookies) SessionTokenFrom(r *http.Request, secret string) (string, bool) {
	return c.ReadSigned(r, SessionTokenCookie, secret)
}

func (c Cookies) base(suffix string) *http.Cookie {
	return &http.Cookie{
		Name:     c.Name(suffix),
		Path:     "/",
		HttpOnly: true,
		Secure:   c.Secure,
		SameSite: http.SameSiteLaxMode,
	}
}
