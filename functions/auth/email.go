package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
)

// signUpEmail creates a user with a credential account and signs them in
// (Better Auth's autoSignIn): 200 {"token","user"} and the session cookie.
func (h *handler) signUpEmail(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := h.credentialsBody(w, r, h.limSignUpIP)
	if err != nil {
		return err
	}
	name := b.str("name", true)
	email := b.str("email", true)
	password := b.str("password", true)
	image := b.str("image", false)
	callbackURL := b.str("callbackURL", false)
	rememberMe := b.boolean("rememberMe")
	if email != "" && !validEmail(email) {
		b.issue("email", "Invalid email address")
	}
	if b.has("name") {
		if p := profileNameProblem(name); p != "" {
			b.issue("name", p)
		}
	}
	if image != "" {
		if p := ari.WebURLProblem(image); p != "" {
			b.issue("image", "Invalid input: "+p)
		}
	}
	if err := b.err(); err != nil {
		return err
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	email = strings.ToLower(email)
	if err := h.limit(ctx, h.limSignUpEmail, ratelimit.Hash(email)); err != nil {
		return err
	}
	if err := passwordLength(password); err != nil {
		return err
	}
	t := ari.T(now())
	u := ari.User{ID: sa.GenerateID(sa.IDLength), Name: name, Email: email, CreatedAt: t, UpdatedAt: t}
	if b.has("image") && image != "" {
		u.Image = &image
	}
	// With verification required, a taken email gets the answer a new one
	// gets ({token: null, user} with a made-up id, after the same password
	// derivation), as Better Auth's generic duplicate response does.
	generic := h.cfg.RequireEmailVerification
	if _, err := h.db.UserByEmail(ctx, email); err == nil {
		if generic {
			_, _ = sa.HashPassword(password, h.alg)
			return writeJSON(w, http.StatusOK, map[string]any{"token": nil, "user": toUserJSON(u)})
		}
		return errUserExists
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash, err := sa.HashPassword(password, h.alg)
	if err != nil {
		return err
	}
	acc := ari.Account{ID: sa.GenerateID(sa.IDLength), AccountID: u.ID, ProviderID: store.CredentialProvider,
		UserID: u.ID, Password: &hash, CreatedAt: t, UpdatedAt: t}
	if err := h.db.CreateUser(ctx, u, acc); errors.Is(err, store.ErrEmailTaken) {
		if generic {
			return writeJSON(w, http.StatusOK, map[string]any{"token": nil, "user": toUserJSON(u)})
		}
		return errUserExists
	} else if err != nil {
		return err
	}
	if generic {
		// Better Auth's sendOnSignUp follows requireEmailVerification; no
		// session until the address is verified.
		if h.mailer != nil {
			if err := h.mailVerification(r, u, callbackURL); err != nil {
				return err
			}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"token": nil, "user": toUserJSON(u)})
	}
	s, err := h.startSession(ctx, w, r, u, rememberMe == nil || *rememberMe)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"token": s.Token, "user": toUserJSON(u)})
}

type signInResponse struct {
	Redirect bool     `json:"redirect"`
	Token    string   `json:"token"`
	URL      string   `json:"url,omitempty"`
	User     userJSON `json:"user"`
}

// signInEmail checks an email and password. An unknown email, a user without
// a password and a wrong password get the same 401, and each spends one
// password derivation, so neither the answer nor its time tells them apart.
func (h *handler) signInEmail(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	b, err := h.credentialsBody(w, r, h.limSignInIP)
	if err != nil {
		return err
	}
	email := b.str("email", true)
	password := b.str("password", true)
	callbackURL := b.str("callbackURL", false)
	rememberMe := b.boolean("rememberMe")
	if b.has("password") && password == "" && len(b.issues) == 0 {
		b.issue("password", "Too small: expected string to have >=1 characters")
	}
	if err := b.err(); err != nil {
		return err
	}
	if !validEmail(email) {
		return errInvalidEmail
	}
	if sa.CheckPasswordLength(password, 0, sa.MaxPasswordLength) != nil {
		return errPasswordTooLong
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	email = strings.ToLower(email)
	if err := h.limit(ctx, h.limSignInEmail, ratelimit.Hash(email)); err != nil {
		return err
	}
	u, err := h.db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		sa.DummyVerify(password, h.alg)
		return errInvalidEmailOrPassword
	}
	if err != nil {
		return err
	}
	stored, err := h.db.CredentialPassword(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		sa.DummyVerify(password, h.alg)
		return errInvalidEmailOrPassword
	}
	if err != nil {
		return err
	}
	ok, _, err := sa.VerifyPassword(password, stored)
	if err != nil {
		slog.WarnContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
	}
	if !ok {
		return errInvalidEmailOrPassword
	}
	if h.cfg.RequireEmailVerification && !u.EmailVerified {
		// Only after the password matched, as Better Auth checks it.
		return errEmailNotVerified
	}
	if sa.NeedsRehash(stored, h.alg) {
		// The plaintext is at hand only now: move the hash to the configured
		// algorithm. A failure leaves the old, still valid hash in place.
		if hash, err := sa.HashPassword(password, h.alg); err == nil {
			if err := h.db.SetPassword(ctx, u.ID, hash); err != nil {
				slog.WarnContext(ctx, "password rehash not saved", "user", u.ID, "err", err)
			}
		}
	}
	s, err := h.startSession(ctx, w, r, u, rememberMe == nil || *rememberMe)
	if err != nil {
		return err
	}
	if callbackURL != "" {
		w.Header().Set("Location", callbackURL)
	}
	return writeJSON(w, http.StatusOK, signInResponse{Redirect: callbackURL != "", Token: s.Token, URL: callbackURL, User: toUserJSON(u)})
}

// profileNameProblem is the rule for a user's name, which other users are
// shown: 1..ari.MaxUserName characters, not only spaces, no control
// characters (line breaks and escapes included).
func profileNameProblem(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return "Too small: expected string to have >=1 characters"
	case n > ari.MaxUserName:
		return fmt.Sprintf("Too big: expected string to have <=%d characters", ari.MaxUserName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "Invalid input: must not contain control characters"
	}
	return ""
}

// credentialsBody starts a sign-up or sign-in: a cross-site form post is
// refused, the client's address spends one try of rule, then the body is read.
func (h *handler) credentialsBody(w http.ResponseWriter, r *http.Request, rule ratelimit.Rule) (*body, error) {
	if p := h.origins.CheckFormCSRF(r); p != nil {
		return nil, baErr(http.StatusForbidden, p.Code, p.Message)
	}
	if err := h.limit(r.Context(), rule, h.clientIP(r)); err != nil {
		return nil, err
	}
	return readBody(w, r)
}
