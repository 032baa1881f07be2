package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
	"golang.org/x/oauth2"
)

// Linking a Google or GitHub account to the signed-in user, as Better Auth
// 1.7's link-social does (account.mjs linkSocialAccount, callback.mjs and
// oauth2/link-account.mjs linkOAuthAccount): the OAuth state carries
// link {userId, email}, so a flow started on either server finishes on the
// other; the callback links instead of signing in, and redirects to
// callbackURL without starting a session.

// stateLink is the state's "link" object, as Better Auth writes it.
type stateLink struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
}

var errLinkIDTokenNotSupported = baErr(404, "ID_TOKEN_NOT_SUPPORTED", "id_token not supported")

// linkSocial starts a link flow: 200 {url, redirect} as sign-in/social.
func (h *handler) linkSocial(w http.ResponseWriter, r *http.Request) error {
	s, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	providerID := b.str("provider", true)
	callbackURL := b.str("callbackURL", false)
	errorURL := b.str("errorCallbackURL", false)
	disableRedirect := b.boolean("disableRedirect")
	loginHint := b.str("loginHint", false)
	if err := b.err(); err != nil {
		return err
	}
	for _, c := range []struct {
		v   string
		err error
	}{{callbackURL, errInvalidCallbackURL}, {errorURL, errInvalidErrorCallback}} {
		if c.v != "" && !h.origins.SafeRedirect(c.v) {
			return c.err
		}
	}
	p := h.oauth[providerID]
	if p == nil {
		return errProviderNotFound
	}
	if b.has("idToken") {
		return errLinkIDTokenNotSupported
	}
	if callbackURL == "" {
		callbackURL = h.cfg.BaseURL
	}
	authURL, err := h.beginOAuth(w, r, p, stateData{CallbackURL: callbackURL, ErrorURL: errorURL,
		Link: &stateLink{UserID: u.ID, Email: u.Email}, LinkSession: s.ID}, loginHint)
	if err != nil {
		return err
	}
	redirect := disableRedirect == nil || !*disableRedirect
	if redirect {
		w.Header().Set("Location", authURL)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": authURL, "redirect": redirect})
}

// linkAccount finishes a link flow for the state's user; it answers a
// Better Auth callback error code, or "" when the account is linked (or
// was already this user's, whose tokens are then refreshed).
func (h *handler) linkAccount(ctx context.Context, providerID string, sd stateData, prof profile, tok *oauth2.Token) (string, error) {
	link := sd.Link
	if sd.LinkSession != "" {
		// The session that started the link must still be live.
		list, err := h.db.SessionsOf(ctx, link.UserID)
		if err != nil {
			return "", err
		}
		if !slices.ContainsFunc(list, func(s ari.Session) bool { return s.ID == sd.LinkSession }) {
			return "unable_to_link_account", nil
		}
	}
	if !slices.Contains(h.cfg.TrustedProviders, providerID) && !prof.EmailVerified {
		return "unable_to_link_account", nil
	}
	if !strings.EqualFold(prof.Email, link.Email) {
		return "email_does_not_match", nil
	}
	t := ari.T(now())
	acc := accountFromToken(tok)
	acc.ProviderID, acc.AccountID, acc.UserID, acc.CreatedAt, acc.UpdatedAt = providerID, prof.ID, link.UserID, t, t
	existing, _, err := h.db.AccountByProvider(ctx, providerID, prof.ID)
	switch {
	case err == nil && existing.UserID != link.UserID:
		return "account_already_linked_to_different_user", nil
	case err == nil:
		acc.ID = existing.ID
		return "", h.db.UpdateAccountTokens(ctx, acc)
	case !errors.Is(err, store.ErrNotFound):
		return "", err
	}
	if _, err := h.db.UserByID(ctx, link.UserID); errors.Is(err, store.ErrNotFound) {
		return "unable_to_link_account", nil
	} else if err != nil {
		return "", err
	}
	acc.ID = sa.GenerateID(sa.IDLength)
	if err := h.db.LinkAccount(ctx, acc); err != nil {
		return "", err
	}
	return "", nil
}

// marshalState is the verification row's value.
func marshalState(sd stateData) (string, error) {
	b, err := json.Marshal(sd)
	return string(b), err
}
