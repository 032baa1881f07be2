package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
	"golang.org/x/oauth2"
)

// stateTTL is how long an OAuth state stays valid (Better Auth: 10 minutes);
// stateCookieAge is the state cookie's Max-Age (Better Auth: 300 s).
const (
	stateTTL       = 10 * time.Minute
	stateCookieAge = 5 * time.Minute
	stateIDPrefix  = "auth-state:"
)

// stateData is the verification row's value, field for field what Better
// Auth writes (and reads) for the "database" state strategy, so a flow begun
// on either server can finish on the other.
type stateData struct {
	CallbackURL   string `json:"callbackURL"`
	CodeVerifier  string `json:"codeVerifier"`
	ErrorURL      string `json:"errorURL,omitempty"`
	NewUserURL    string `json:"newUserURL,omitempty"`
	ExpiresAt     int64  `json:"expiresAt"`
	RequestSignUp *bool  `json:"requestSignUp,omitempty"`
	OAuthState    string `json:"oauthState,omitempty"`
	// Link makes the flow link-social's; LinkSession (ours: Better Auth
	// keeps the session token encrypted instead, and skips its check when
	// that is absent) is the id of the session that started it.
	Link        *stateLink `json:"link,omitempty"`
	LinkSession string     `json:"linkSession,omitempty"`
}

// signInSocial starts an OAuth flow: it stores the state and PKCE verifier,
// sets the signed state cookie and answers 200 {"url","redirect"} with the
// provider's authorization URL (never a 302, as Better Auth).
func (h *handler) signInSocial(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	providerID := b.str("provider", true)
	callbackURL := b.str("callbackURL", false)
	newUserURL := b.str("newUserCallbackURL", false)
	errorURL := b.str("errorCallbackURL", false)
	disableRedirect := b.boolean("disableRedirect")
	loginHint := b.str("loginHint", false)
	requestSignUp := b.boolean("requestSignUp")
	if err := b.err(); err != nil {
		return err
	}
	for _, c := range []struct {
		v   string
		err error
	}{{callbackURL, errInvalidCallbackURL}, {newUserURL, errInvalidNewUserCallback}, {errorURL, errInvalidErrorCallback}} {
		if c.v != "" && !h.origins.SafeRedirect(c.v) {
			return c.err
		}
	}
	if b.has("idToken") {
		// Signing in with a provider's id_token needs its signature checked
		// against the provider's keys, which this server does not do.
		return errIDTokenNotSupported
	}
	p := h.oauth[providerID]
	if p == nil {
		return errProviderNotFound
	}
	if callbackURL == "" {
		callbackURL = h.cfg.BaseURL
	}
	authURL, err := h.beginOAuth(w, r, p, stateData{CallbackURL: callbackURL, ErrorURL: errorURL, NewUserURL: newUserURL,
		RequestSignUp: requestSignUp}, loginHint)
	if err != nil {
		return err
	}
	redirect := disableRedirect == nil || !*disableRedirect
	if redirect {
		w.Header().Set("Location", authURL)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": authURL, "redirect": redirect})
}

// beginOAuth stores the state (sd plus a fresh state, PKCE verifier and
// expiry) as Better Auth does, sets the signed state cookie and returns the
// provider's authorization URL.
func (h *handler) beginOAuth(w http.ResponseWriter, r *http.Request, p *provider, sd stateData, loginHint string) (string, error) {
	state := sa.RandomString(32, sa.URLSafeAlphabet)
	verifier := sa.RandomString(128, sa.URLSafeAlphabet)
	t := now()
	sd.CodeVerifier, sd.ExpiresAt, sd.OAuthState = verifier, t.Add(stateTTL).UnixMilli(), state
	value, err := marshalState(sd)
	if err != nil {
		return "", err
	}
	if err := h.db.CreateVerification(r.Context(), ari.Verification{
		ID: sa.GenerateID(sa.IDLength), Identifier: stateIDPrefix + state, Value: value,
		ExpiresAt: ari.T(t.Add(stateTTL)), CreatedAt: ari.T(t), UpdatedAt: ari.T(t),
	}); err != nil {
		return "", err
	}
	http.SetCookie(w, h.cookies.Signed(sa.StateCookie, state, h.secret, stateCookieAge))
	return p.authURL(h.redirectURI(p.id), state, verifier, loginHint), nil
}

func (h *handler) redirectURI(providerID string) string {
	return strings.TrimRight(h.cfg.BaseURL, "/") + "/api/auth/callback/" + providerID
}

func (h *handler) defaultErrorURL() string {
	return strings.TrimRight(h.cfg.BaseURL, "/") + "/api/auth/error"
}

// callbackPost turns a form_post callback into the GET form, as Better Auth.
func (h *handler) callbackPost(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return validationError("[body] Invalid form body")
	}
	q := url.Values{}
	for _, k := range []string{"code", "error", "error_description", "state", "iss"} {
		if v := r.Form.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	http.Redirect(w, r, h.redirectURI(url.PathEscape(r.PathValue("provider")))+"?"+q.Encode(), http.StatusFound)
	return nil
}

// callback finishes an OAuth flow. Every failure redirects to the flow's
// error URL (or /api/auth/error) with a Better Auth error code in ?error=,
// never with error text from a provider or from us.
func (h *handler) callback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	errorURL := h.defaultErrorURL()
	fail := func(code string) error {
		redirectError(w, r, errorURL, code, "")
		return nil
	}
	state := q.Get("state")
	if state == "" {
		return fail("state_not_found")
	}
	// Taking the row deletes it, so a state is good for one callback only,
	// even when two arrive at once.
	v, err := h.db.TakeVerification(ctx, stateIDPrefix+state)
	if errors.Is(err, store.ErrNotFound) {
		return fail("state_mismatch")
	}
	if err != nil {
		slog.ErrorContext(ctx, "oauth state lookup failed", "err", err)
		return fail("internal_server_error")
	}
	http.SetCookie(w, h.cookies.Expire(sa.StateCookie))
	var sd stateData
	if err := json.Unmarshal([]byte(v.Value), &sd); err != nil || sd.CodeVerifier == "" || sd.CallbackURL == "" {
		return fail("state_mismatch")
	}
	if sd.ErrorURL != "" {
		errorURL = sd.ErrorURL
	}
	if sd.OAuthState != "" && sd.OAuthState != state {
		return fail("state_mismatch")
	}
	if ck, ok := h.cookies.ReadSigned(r, sa.StateCookie, h.secret); !ok || ck != state {
		return fail("state_mismatch")
	}
	if sd.ExpiresAt < time.Now().UnixMilli() || !v.ExpiresAt.After(time.Now()) {
		return fail("state_mismatch")
	}
	if e := q.Get("error"); e != "" {
		redirectError(w, r, errorURL, e, q.Get("error_description"))
		return nil
	}
	code := q.Get("code")
	if code == "" {
		return fail("no_code")
	}
	p := h.oauth[r.PathValue("provider")]
	if p == nil {
		return fail("oauth_provider_not_found")
	}
	pctx := context.WithValue(ctx, oauth2.HTTPClient, h.client)
	tok, err := p.config(h.redirectURI(p.id)).Exchange(pctx, code, oauth2.VerifierOption(sd.CodeVerifier))
	if err != nil {
		slog.WarnContext(ctx, "oauth code exchange failed", "provider", p.id, "err", err)
		return fail("invalid_code")
	}
	prof, err := p.profile(pctx, h.client, tok)
	if err != nil || prof.ID == "" {
		slog.WarnContext(ctx, "oauth profile fetch failed", "provider", p.id, "err", err)
		return fail("unable_to_get_user_info")
	}
	if sd.Link != nil {
		code, err := h.linkAccount(ctx, p.id, sd, prof, tok)
		if err != nil {
			slog.ErrorContext(ctx, "oauth link failed", "provider", p.id, "err", err)
			return fail("internal_server_error")
		}
		if code != "" {
			return fail(code)
		}
		return redirect(w, sd.CallbackURL)
	}
	if prof.Email == "" {
		return fail("email_not_found")
	}
	u, isNew, failCode, err := h.oauthUser(ctx, p.id, prof, tok)
	if err != nil {
		slog.ErrorContext(ctx, "oauth sign-in failed", "provider", p.id, "err", err)
		return fail("internal_server_error")
	}
	if failCode != "" {
		return fail(failCode)
	}
	if _, err := h.startSession(ctx, w, r, u, true); err != nil {
		slog.ErrorContext(ctx, "oauth session failed", "provider", p.id, "err", err)
		return fail("internal_server_error")
	}
	to := sd.CallbackURL
	if isNew && sd.NewUserURL != "" {
		to = sd.NewUserURL
	}
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
	return nil
}

// oauthUser finds or creates the user for a provider profile by Better
// Auth's rules: a known (provider, account id) signs in its user and updates
// the tokens; an unknown one with an email already registered is linked to
// that user only if the provider vouches for the email (or is configured as
// trusted) and the local user's email is verified — otherwise
// "account_not_linked"; else a new user is created.
func (h *handler) oauthUser(ctx context.Context, providerID string, prof profile, tok *oauth2.Token) (ari.User, bool, string, error) {
	t := ari.T(now())
	acc := accountFromToken(tok)
	acc.ProviderID, acc.AccountID, acc.CreatedAt, acc.UpdatedAt = providerID, prof.ID, t, t
	acc.ID = sa.GenerateID(sa.IDLength)

	existing, u, err := h.db.AccountByProvider(ctx, providerID, prof.ID)
	switch {
	case err == nil:
		acc.ID = existing.ID
		return u, false, "", h.db.UpdateAccountTokens(ctx, acc)
	case !errors.Is(err, store.ErrNotFound):
		return u, false, "", err
	}
	email := strings.ToLower(prof.Email)
	u, err = h.db.UserByEmail(ctx, email)
	switch {
	case err == nil:
		trusted := slices.Contains(h.cfg.TrustedProviders, providerID)
		if (!trusted && !prof.EmailVerified) || !u.EmailVerified {
			return u, false, "account_not_linked", nil
		}
		acc.UserID = u.ID
		if err := h.db.LinkAccount(ctx, acc); err != nil {
			return u, false, "", err
		}
		return u, false, "", nil
	case !errors.Is(err, store.ErrNotFound):
		return u, false, "", err
	}
	u = ari.User{ID: sa.GenerateID(sa.IDLength), Name: prof.Name, Email: email, EmailVerified: prof.EmailVerified,
		CreatedAt: t, UpdatedAt: t}
	if prof.Image != "" {
		img := prof.Image
		u.Image = &img
	}
	acc.UserID = u.ID
	if err := h.db.CreateUser(ctx, u, acc); errors.Is(err, store.ErrEmailTaken) {
		// Someone registered the email in the meantime: treat it as the
		// existing-user case, which this flow did not check for.
		return u, false, "account_not_linked", nil
	} else if err != nil {
		return u, false, "", err
	}
	return u, true, "", nil
}

// accountFromToken keeps the tokens as Better Auth does: in plain text, the
// access token's expiry, and the scopes joined with ",".
func accountFromToken(tok *oauth2.Token) ari.Account {
	var a ari.Account
	if tok.AccessToken != "" {
		a.AccessToken = &tok.AccessToken
	}
	if tok.RefreshToken != "" {
		a.RefreshToken = &tok.RefreshToken
	}
	if id, ok := tok.Extra("id_token").(string); ok && id != "" {
		a.IDToken = &id
	}
	if !tok.Expiry.IsZero() {
		e := ari.T(tok.Expiry.UTC().Truncate(time.Millisecond))
		a.AccessTokenExpiresAt = &e
	}
	if secs, ok := tok.Extra("refresh_token_expires_in").(float64); ok && secs > 0 {
		e := ari.T(now().Add(time.Duration(secs) * time.Second))
		a.RefreshTokenExpiresAt = &e
	}
	scope, _ := tok.Extra("scope").(string)
	joined := strings.Join(strings.Fields(scope), ",")
	a.Scope = &joined
	return a
}

// redirectError sends the browser to errorURL with ?error=code (and
// error_description), appended as Better Auth's appendQueryParams does.
func redirectError(w http.ResponseWriter, r *http.Request, errorURL, code, description string) {
	q := url.Values{"error": {code}}
	if description != "" {
		q.Set("error_description", description)
	}
	sep := "?"
	if strings.Contains(errorURL, "?") {
		sep = "&"
	}
	w.Header().Set("Location", errorURL+sep+q.Encode())
	w.WriteHeader(http.StatusFound)
}

// errorPage is where failed OAuth flows land when the app gave no
// errorCallbackURL: a minimal page naming the error code.
func (h *handler) errorPage(w http.ResponseWriter, r *http.Request) error {
	code := r.URL.Query().Get("error")
	if code == "" {
		code = "unknown_error"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := fmt.Fprintf(w, "<!doctype html><title>Sign-in failed</title><h1>Sign-in failed</h1><p>Error: <code>%s</code></p>",
		html.EscapeString(code))
	return err
}
