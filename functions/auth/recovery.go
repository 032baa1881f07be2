package auth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/store"
)

// Password reset and email verification, as Better Auth 1.7 does them
// (better-auth/dist/api/routes/password.mjs and email-verification.mjs):
// a reset token is generateId(24) kept in a verification row
// "reset-password:<token>" whose value is the user's id, for one hour, used
// once; an email verification token is an HS256 JWT signed with the secret,
// valid for one hour. A link minted here works on a stock Better Auth
// sharing the database and secret, and the other way round.

var (
	errResetDisabled        = baErr(400, "RESET_PASSWORD_DISABLED", "Reset password isn't enabled")
	errVerificationDisabled = baErr(400, "VERIFICATION_EMAIL_NOT_ENABLED", "Verification email isn't enabled")
	errInvalidRedirectURL   = baErr(403, "INVALID_REDIRECT_URL", "Invalid redirectURL")
	errInvalidTokenBody     = baErr(400, "INVALID_TOKEN", "Invalid token")
	errUserNotFound         = baErr(400, "USER_NOT_FOUND", "User not found")
	errEmailMismatch        = baErr(400, "EMAIL_MISMATCH", "Email mismatch")
	errEmailAlreadyVerified = baErr(400, "EMAIL_ALREADY_VERIFIED", "Email is already verified")
)

const resetPrefix = "reset-password:"

// requestPasswordReset mails a reset link when the email has a user, and
// answers the same either way.
func (h *handler) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	if h.mailer == nil {
		return errResetDisabled
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	email := b.str("email", true)
	redirectTo := b.str("redirectTo", false)
	if b.has("email") && !validEmail(email) {
		b.issue("email", "Invalid email address")
	}
	if err := b.err(); err != nil {
		return err
	}
	if redirectTo != "" && !h.origins.SafeRedirect(redirectTo) {
		return errInvalidRedirectURL
	}
	if err := h.mailIPLimit(r); err != nil {
		return err
	}
	ctx := r.Context()
	u, err := h.db.UserByEmail(ctx, strings.ToLower(email))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil {
		token := sa.GenerateID(24)
		t := now()
		if err := h.db.CreateVerification(ctx, ari.Verification{ID: sa.GenerateID(sa.IDLength), Identifier: resetPrefix + token,
			Value: u.ID, ExpiresAt: ari.T(t.Add(resetTokenTTL)), CreatedAt: ari.T(t), UpdatedAt: ari.T(t)}); err != nil {
			return err
		}
		link := h.authURL("/reset-password/"+token) + "?callbackURL=" + encodeURIComponent(redirectTo)
		h.sendMail(ctx, mailer.ResetPassword, u.Email, mailer.Data{Name: userNamed(u), URL: link, ExpiresIn: words(resetTokenTTL)})
	}
	return writeJSON(w, http.StatusOK, struct {
		Status  bool   `json:"status"`
		Message string `json:"message"`
	}{true, "If this email exists in our system, check your email for the reset link"})
}

// resetPasswordCallback is the link in the mail: it sends the browser on to
// callbackURL with ?token=<token> while the token is valid, else with
// ?error=INVALID_TOKEN. It does not use the token up.
func (h *handler) resetPasswordCallback(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	callbackURL := r.URL.Query().Get("callbackURL")
	if !r.URL.Query().Has("callbackURL") {
		return validationError("[query.callbackURL] Invalid input: expected string, received undefined")
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	if callbackURL == "" {
		return redirect(w, withQuery(h.authURL("/error"), "error", "INVALID_TOKEN"))
	}
	target := h.absolute(callbackURL)
	if !tokenShaped(token) {
		return redirect(w, withQuery(target, "error", "INVALID_TOKEN"))
	}
	if _, err := h.db.Verification(r.Context(), resetPrefix+token, now()); errors.Is(err, store.ErrNotFound) {
		return redirect(w, withQuery(target, "error", "INVALID_TOKEN"))
	} else if err != nil {
		return err
	}
	return redirect(w, withQuery(target, "token", token))
}

// resetPassword sets a new password with a reset token, once, and ends every
// session of the user (Better Auth does that only with
// revokeSessionsOnPasswordReset; here always, since a reset means the old
// password may be known to someone else).
func (h *handler) resetPassword(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	newPw := b.str("newPassword", true)
	token := b.str("token", false)
	if err := b.err(); err != nil {
		return err
	}
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	if token == "" {
		return errInvalidTokenBody
	}
	if err := passwordLength(newPw); err != nil {
		return err
	}
	if !tokenShaped(token) {
		return errInvalidTokenBody
	}
	ctx := r.Context()
	if _, err := h.db.Verification(ctx, resetPrefix+token, now()); errors.Is(err, store.ErrNotFound) {
		return errInvalidTokenBody
	} else if err != nil {
		return err
	}
	hash, err := sa.HashPassword(newPw, h.alg)
	if err != nil {
		return err
	}
	userID, ended, err := h.db.ResetPassword(ctx, resetPrefix+token, now(), hash, sa.GenerateID(sa.IDLength))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errInvalidTokenBody
	case errors.Is(err, store.ErrUserGone):
		return errUserNotFound
	case err != nil:
		return err
	}
	h.revoked(ctx, userID, ended...)
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// sendVerificationEmail mails a verification link. Signed in, it is for the
// caller's own unverified address; signed out, it answers the same whether
// or not the address has an unverified user (and mails only if it has).
func (h *handler) sendVerificationEmail(w http.ResponseWriter, r *http.Request) error {
	if h.mailer == nil {
		return errVerificationDisabled
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	email := b.str("email", true)
	callbackURL := b.str("callbackURL", false)
	if b.has("email") && !validEmail(email) {
		b.issue("email", "Invalid email address")
	}
	if err := b.err(); err != nil {
		return err
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	if err := h.mailIPLimit(r); err != nil {
		return err
	}
	ctx := r.Context()
	_, su, _, err := h.session(r)
	if err == nil {
		if !strings.EqualFold(su.Email, email) {
			return errEmailMismatch
		}
		if su.EmailVerified {
			return errEmailAlreadyVerified
		}
		if err := h.mailVerification(r, su, callbackURL); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
	}
	if !errors.Is(err, errUnauthorized) {
		return err
	}
	u, err := h.db.UserByEmail(ctx, strings.ToLower(email))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && !u.EmailVerified {
		if err := h.mailVerification(r, u, callbackURL); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// mailVerification sends u the link that verifies their address.
func (h *handler) mailVerification(r *http.Request, u ari.User, callbackURL string) error {
	tok, err := h.emailToken(emailClaims{Email: u.Email, UserID: u.ID}, verifyTokenTTL)
	if err != nil {
		return err
	}
	if callbackURL == "" {
		callbackURL = "/"
	}
	link := h.authURL("/verify-email") + "?token=" + tok + "&callbackURL=" + encodeURIComponent(callbackURL)
	h.sendMail(r.Context(), mailer.VerifyEmail, u.Email, mailer.Data{Name: userNamed(u), URL: link, ExpiresIn: words(verifyTokenTTL)})
	return nil
}

// verifyEmail is the link in a verification mail: it marks the address
// verified (or, for an email change, moves the user to the new address) and
// sends the browser to callbackURL, or answers {status, user} without one.
// A bad or expired token goes to callbackURL?error=<code>, or is a 401.
func (h *handler) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	callbackURL := q.Get("callbackURL")
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	if !q.Has("token") {
		return validationError("[query.token] Invalid input: expected string, received undefined")
	}
	fail := func(e *apiError) error {
		if callbackURL != "" {
			return redirect(w, withQuery(callbackURL, "error", e.Code))
		}
		return baErr(http.StatusUnauthorized, e.Code, e.Message)
	}
	c, bad := h.parseEmailToken(q.Get("token"))
	if bad != nil {
		return fail(bad)
	}
	if c.UpdateTo != "" {
		return h.verifyEmailChange(w, r, c, callbackURL, fail)
	}
	ctx := r.Context()
	u, err := h.db.UserByEmail(ctx, c.Email)
	if errors.Is(err, store.ErrNotFound) {
		return fail(baErr(401, "USER_NOT_FOUND", "User not found"))
	}
	if err != nil {
		return err
	}
	if c.UserID != "" && c.UserID != u.ID {
		return fail(errTokenInvalid)
	}
	if !u.EmailVerified {
		if err := h.db.MarkEmailVerified(ctx, u.ID); err != nil {
			return err
		}
	}
	if callbackURL != "" {
		return redirect(w, callbackURL)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": true, "user": nil})
}

// absolute resolves a relative callback URL against the base URL, as Better
// Auth's new URL(callbackURL, baseURL) does.
func (h *handler) absolute(target string) string {
	base, err := url.Parse(h.authURL("/"))
	if err != nil {
		return target
	}
	ref, err := url.Parse(target)
	if err != nil {
		return target
	}
	return base.ResolveReference(ref).String()
}

// tokenShaped is what a reset token can be: Better Auth's generateId
// alphabet, a sane length. Anything else is invalid without a lookup.
func tokenShaped(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
