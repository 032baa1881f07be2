package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/store"
)

// Account deletion as Better Auth 1.7 does it (update-user.mjs deleteUser
// and deleteUserCallback, with deleteUser.enabled): the caller proves it is
// them with their password or a session made within a day, or, when
// AUTH_DELETE_ACCOUNT_CONFIRMATION is on, by opening a mailed link whose
// token is a verification row "delete-account-<token>" holding their id
// (32 characters of [0-9a-z], valid a day, single use) — so a link minted by
// either side works on the other. What goes with the account is
// account.Eraser's to say.

const (
	deletePrefix   = "delete-account-"
	deleteTokenTTL = 24 * time.Hour
)

var (
	// Better Auth checks freshness here itself and answers 400, not the
	// 403 of its fresh-session middleware.
	errDeleteNotFresh    = baErr(400, "SESSION_EXPIRED", "Session expired. Re-authenticate to perform this action.")
	errDeleteTokenBad    = baErr(404, "INVALID_TOKEN", "Invalid token")
	errDeleteNoUserInfo  = baErr(404, "FAILED_TO_GET_USER_INFO", "Failed to get user info")
	errDeleteUnavailable = baErr(500, "FAILED_TO_DELETE_USER", "Failed to delete user")
)

type deleteAnswer struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	s, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	callbackURL := b.str("callbackURL", false)
	password := b.str("password", false)
	token := b.str("token", false)
	b.onlyKnown("callbackURL", "password", "token")
	if err := b.err(); err != nil {
		return err
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	ctx := r.Context()
	if password != "" {
		if sa.CheckPasswordLength(password, 0, sa.MaxPasswordLength) != nil {
			return errPasswordTooLong
		}
		stored, err := h.db.CredentialPassword(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			return errNoCredentialAccount
		} else if err != nil {
			return err
		}
		ok, _, err := sa.VerifyPassword(password, stored)
		if err != nil {
			slog.WarnContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
		}
		if !ok {
			return errInvalidPassword
		}
	}
	if token != "" {
		return h.deleteWithToken(w, r, u, token, "")
	}
	if h.cfg.DeleteAccountConfirmation {
		if h.mailer == nil {
			return errDeleteUnavailable
		}
		tok := sa.RandomString(32, "0123456789abcdefghijklmnopqrstuvwxyz")
		t := now()
		if err := h.db.CreateVerification(ctx, ari.Verification{ID: sa.GenerateID(sa.IDLength), Identifier: deletePrefix + tok,
			Value: u.ID, ExpiresAt: ari.T(t.Add(deleteTokenTTL)), CreatedAt: ari.T(t), UpdatedAt: ari.T(t)}); err != nil {
			return err
		}
		cb := callbackURL
		if cb == "" {
			cb = "/"
		}
		link := h.authURL("/delete-user/callback") + "?token=" + tok + "&callbackURL=" + encodeURIComponent(cb)
		h.sendMail(ctx, mailer.DeleteAccount, u.Email, mailer.Data{Name: userNamed(u), URL: link, ExpiresIn: words(deleteTokenTTL)})
		return writeJSON(w, http.StatusOK, deleteAnswer{true, "Verification email sent"})
	}
	if password == "" && now().Sub(s.CreatedAt.Time) >= freshAge {
		return errDeleteNotFresh
	}
	return h.erase(w, r, u, "")
}

// deleteUserCallback is the link in the confirmation mail, opened signed in.
func (h *handler) deleteUserCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	callbackURL := q.Get("callbackURL")
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	if !q.Has("token") {
		return validationError("[query.token] Invalid input: expected string, received undefined")
	}
	_, u, _, err := h.session(r)
	if errors.Is(err, errUnauthorized) {
		return errDeleteNoUserInfo
	} else if err != nil {
		return err
	}
	return h.deleteWithToken(w, r, u, q.Get("token"), callbackURL)
}

// deleteWithToken spends a delete-account token of u's and erases u.
func (h *handler) deleteWithToken(w http.ResponseWriter, r *http.Request, u ari.User, token, callbackURL string) error {
	if !tokenShaped(token) {
		return errDeleteTokenBad
	}
	v, err := h.db.TakeVerification(r.Context(), deletePrefix+token)
	if errors.Is(err, store.ErrNotFound) {
		return errDeleteTokenBad
	} else if err != nil {
		return err
	}
	if v.Value != u.ID || !v.ExpiresAt.After(time.Now()) {
		return errDeleteTokenBad
	}
	return h.erase(w, r, u, callbackURL)
}

// erase deletes u with everything of theirs and expires the caller's
// session cookies.
func (h *handler) erase(w http.ResponseWriter, r *http.Request, u ari.User, callbackURL string) error {
	if h.eraser.Storage == nil {
		slog.ErrorContext(r.Context(), "delete-user refused: file storage unavailable", "user", u.ID)
		return errDeleteUnavailable
	}
	if err := h.eraser.Erase(r.Context(), u.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, c := range h.cookies.ExpireSession() {
		http.SetCookie(w, c)
	}
	if callbackURL != "" {
		return redirect(w, callbackURL)
	}
	return writeJSON(w, http.StatusOK, deleteAnswer{true, "User deleted"})
}
