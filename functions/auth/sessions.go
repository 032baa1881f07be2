package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
)

// startSession creates a session row for u and sets Better Auth's cookies:
// a persistent cookie for the session's lifetime, or, when the user asked
// not to be remembered, a one-day row, a browser-session cookie and the
// signed dont_remember cookie that stops refreshes.
func (h *handler) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u ari.User, rememberMe bool) (ari.Session, error) {
	t := now()
	ip, ua := h.clientIP(r), r.UserAgent()
	s := ari.Session{
		ID: sa.GenerateID(sa.IDLength), Token: sa.GenerateID(sa.IDLength), UserID: u.ID,
		ExpiresAt: ari.T(t.Add(h.policy.Lifetime(rememberMe))), CreatedAt: ari.T(t), UpdatedAt: ari.T(t),
		IPAddress: &ip, UserAgent: &ua,
	}
	if err := h.db.CreateSession(ctx, s); err != nil {
		return s, err
	}
	if rememberMe {
		http.SetCookie(w, h.cookies.Session(s.Token, h.secret, h.policy.ExpiresIn))
	} else {
		http.SetCookie(w, h.cookies.Session(s.Token, h.secret, 0))
		http.SetCookie(w, h.cookies.DontRemember(h.secret))
	}
	return s, nil
}

// tokenSource says where a request's session token came from.
type tokenSource int

const (
	noToken    tokenSource = iota
	badCookie              // a session cookie whose signature does not verify
	fromCookie             // a verified session cookie
	fromBearer             // Authorization: Bearer (signed or bare)
)

func (h *handler) token(r *http.Request) (string, tokenSource) {
	if tok, ok := h.cookies.SessionTokenFrom(r, h.secret); ok {
		return tok, fromCookie
	}
	if _, err := r.Cookie(h.cookies.SessionToken()); err == nil {
		return "", badCookie
	}
	if tok, ok := h.authn.Token(r); ok {
		return tok, fromBearer
	}
	return "", noToken
}

// session returns the request's valid session, or errUnauthorized.
func (h *handler) session(r *http.Request) (ari.Session, ari.User, string, error) {
	tok, src := h.token(r)
	if src == noToken || src == badCookie {
		return ari.Session{}, ari.User{}, "", errUnauthorized
	}
	s, u, err := h.db.SessionByToken(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		return s, u, "", errUnauthorized
	}
	return s, u, tok, err
}

// getSession answers 200 {"session","user"}, or 200 null when signed out,
// refreshing the session once per UpdateAge of use as Better Auth does.
func (h *handler) getSession(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	tok, src := h.token(r)
	if src == noToken || src == badCookie {
		// A bad signature is treated as no cookie at all: no Set-Cookie.
		return writeJSON(w, http.StatusOK, nil)
	}
	s, u, err := h.db.SessionByToken(r.Context(), tok) // deletes an expired row
	if errors.Is(err, store.ErrNotFound) {
		if src == fromCookie {
			for _, c := range h.cookies.ExpireSession() {
				http.SetCookie(w, c)
			}
		}
		return writeJSON(w, http.StatusOK, nil)
	}
	if err != nil {
		return err
	}
	_, dontRemember := h.cookies.ReadSigned(r, sa.DontRememberCookie, h.secret)
	if !dontRemember && r.URL.Query().Get("disableRefresh") != "true" && h.policy.NeedsRefresh(s.ExpiresAt.Time, now()) {
		t := now()
		exp := t.Add(h.policy.ExpiresIn)
		if err := h.db.ExtendSession(r.Context(), s.ID, exp, t); err != nil {
			return err
		}
		s.ExpiresAt, s.UpdatedAt = ari.T(exp), ari.T(t)
		if src == fromCookie {
			http.SetCookie(w, h.cookies.Session(s.Token, h.secret, h.policy.ExpiresIn))
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"session": toSessionJSON(s), "user": toUserJSON(u)})
}

// signOut deletes the session the request names (cookie or bearer) and
// expires the cookies. It succeeds when there is no session too, as Better
// Auth's does.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) error {
	if tok, src := h.token(r); src == fromCookie || src == fromBearer {
		userID, id, err := h.db.DeleteSessionByToken(r.Context(), tok)
		if err != nil {
			return err
		}
		h.revoked(r.Context(), userID, id)
	}
	for _, c := range h.cookies.ExpireSession() {
		http.SetCookie(w, c)
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *handler) listSessions(w http.ResponseWriter, r *http.Request) error {
	_, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	list, err := h.db.SessionsOf(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := make([]sessionJSON, 0, len(list))
	for _, s := range list {
		out = append(out, toSessionJSON(s))
	}
	return writeJSON(w, http.StatusOK, out)
}

// revokeSession ends one of the caller's sessions by token. A token that is
// not the caller's changes nothing and answers the same, so the endpoint
// cannot be used to probe for other users' tokens.
func (h *handler) revokeSession(w http.ResponseWriter, r *http.Request) error {
	_, u, current, err := h.session(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	tok := b.str("token", true)
	if err := b.err(); err != nil {
		return err
	}
	id, err := h.db.DeleteUserSession(r.Context(), u.ID, tok)
	if err != nil {
		return err
	}
	h.revoked(r.Context(), u.ID, id)
	if tok == current {
		for _, c := range h.cookies.ExpireSession() {
			http.SetCookie(w, c)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

func (h *handler) revokeOtherSessions(w http.ResponseWriter, r *http.Request) error {
	_, u, current, err := h.session(r)
	if err != nil {
		return err
	}
	ids, err := h.db.DeleteOtherSessions(r.Context(), u.ID, current)
	if err != nil {
		return err
	}
	h.revoked(r.Context(), u.ID, ids...)
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// changePassword checks the current password, stores the new one and ends
// every other session of the user: whoever knew the old password is signed
// out everywhere. With revokeOtherSessions:true it also replaces the current
// session by a new one (new token and cookie), as Better Auth does; otherwise
// the current session stays and the answer's token is null.
func (h *handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	_, u, current, err := h.session(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	newPw := b.str("newPassword", true)
	curPw := b.str("currentPassword", true)
	revoke := b.boolean("revokeOtherSessions")
	if err := b.err(); err != nil {
		return err
	}
	if err := passwordLength(newPw); err != nil {
		return err
	}
	if sa.CheckPasswordLength(curPw, 0, sa.MaxPasswordLength) != nil {
		return errPasswordTooLong
	}
	ctx := r.Context()
	stored, err := h.db.CredentialPassword(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errNoCredentialAccount
	}
	if err != nil {
		return err
	}
	ok, _, err := sa.VerifyPassword(curPw, stored)
	if err != nil {
		slog.WarnContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
	}
	if !ok {
		return errInvalidPassword
	}
	hash, err := sa.HashPassword(newPw, h.alg)
	if err != nil {
		return err
	}
	if err := h.db.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	ended, err := h.db.DeleteOtherSessions(ctx, u.ID, current)
	if err != nil {
		return err
	}
	h.revoked(ctx, u.ID, ended...)
	var token *string
	if revoke != nil && *revoke {
		_, id, err := h.db.DeleteSessionByToken(ctx, current)
		if err != nil {
			return err
		}
		h.revoked(ctx, u.ID, id)
		_, remember := h.cookies.ReadSigned(r, sa.DontRememberCookie, h.secret)
		ns, err := h.startSession(ctx, w, r, u, !remember)
		if err != nil {
			return err
		}
		token = &ns.Token
	}
	return writeJSON(w, http.StatusOK, map[string]any{"token": token, "user": toUserJSON(u)})
}

// revoked tells the relays to close, on every instance, the sockets of
// sessions that just ended. A failed notice is logged, not answered: the
// sessions are gone already, and each relay's periodic session check
// closes their sockets within its heartbeat anyway.
func (h *handler) revoked(ctx context.Context, userID string, sessionIDs ...string) {
	ids := sessionIDs[:0:0]
	for _, id := range sessionIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if h.events == nil || userID == "" || len(ids) == 0 {
		return
	}
	if err := h.events.SessionsRevoked(ctx, userID, ids); err != nil {
		slog.WarnContext(ctx, "session revocation notice failed; relays close the sockets at their next check",
			"user", userID, "err", err)
	}
}

// passwordLength applies Better Auth's length rules to a new password.
func passwordLength(pw string) error {
	switch sa.CheckPasswordLength(pw, sa.MinPasswordLength, sa.MaxPasswordLength) {
	case sa.ErrPasswordTooShort:
		return errPasswordTooShort
	case sa.ErrPasswordTooLong:
		return errPasswordTooLong
	}
	return nil
}

// socketTicket answers 200 {"ticket","expiresAt"}: a ticket for the
// caller's session that opens one client socket, presented in the socket's
// first frame (relay/PROTOCOL.md §2). It is how a web app on another site,
// whose cookie the browser keeps to itself, authenticates its socket without
// putting a secret in a URL. Not a Better Auth endpoint; it answers in Better
// Auth's shapes like its neighbours.
func (h *handler) socketTicket(w http.ResponseWriter, r *http.Request) error {
	s, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	ticket, expires, err := h.tickets.Issue(r.Context(), sa.Caller{ID: u.ID, Email: u.Email, Name: u.Name, SessionID: s.ID})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, map[string]any{"ticket": ticket, "expiresAt": ari.T(expires)})
}
