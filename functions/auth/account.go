package auth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/store"
)

// The signed-in user's own account: profile, email change, linked accounts
// (better-auth/dist/api/routes/update-user.mjs and account.mjs).

var (
	errEmailCannotBeUpdated = baErr(400, "EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated")
	// Better Auth sends these two with a message only; the codes are ours.
	errNoFieldsToUpdate = baErr(400, "NO_FIELDS_TO_UPDATE", "No fields to update")
	errEmailIsTheSame   = baErr(400, "EMAIL_IS_THE_SAME", "Email is the same")
	errLastAccount      = baErr(400, "FAILED_TO_UNLINK_LAST_ACCOUNT", "You can't unlink your last account")
	errAccountNotFound  = baErr(400, "ACCOUNT_NOT_FOUND", "Account not found")
	errSessionNotFresh  = baErr(403, "SESSION_EXPIRED", "Session expired. Re-authenticate to perform this action.")
	errInvalidUser      = baErr(401, "INVALID_USER", "Invalid user")
)

// freshAge is Better Auth's session.freshAge: sensitive changes need a
// session made within the last day.
const freshAge = 24 * time.Hour

// freshSession is the caller's session when it is fresh enough for a
// sensitive change (Better Auth's freshSessionMiddleware).
func (h *handler) freshSession(r *http.Request) (ari.Session, ari.User, error) {
	s, u, _, err := h.session(r)
	if err != nil {
		return s, u, err
	}
	if now().Sub(s.CreatedAt.Time) > freshAge {
		return s, u, errSessionNotFresh
	}
	return s, u, nil
}

// updateUser changes the caller's name and/or image (null clears it), under
// the same rules as sign-up. The email is changed only through change-email.
func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	_, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	if b.str("email", false) != "" {
		return errEmailCannotBeUpdated
	}
	var name, image *string
	if b.has("name") {
		n := b.str("name", false)
		if p := profileNameProblem(n); p != "" {
			b.issue("name", p)
		}
		name = &n
	}
	setImage := b.has("image")
	if setImage {
		if img := b.str("image", false); img != "" {
			if p := ari.WebURLProblem(img); p != "" {
				b.issue("image", "Invalid input: "+p)
			}
			image = &img
		}
	}
	if err := b.err(); err != nil {
		return err
	}
	if name == nil && !setImage {
		return errNoFieldsToUpdate
	}
	if _, err := h.db.UpdateProfile(r.Context(), u.ID, name, setImage, image, now()); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// changeEmail starts an email change: a verification link goes to the new
// address, and the change happens when it is opened. Whether the new address
// is taken is not revealed: the answer is the same and no mail is sent.
func (h *handler) changeEmail(w http.ResponseWriter, r *http.Request) error {
	_, u, err := h.freshSession(r)
	if err != nil {
		return err
	}
	if h.mailer == nil {
		return errVerificationDisabled
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	newEmail := b.str("newEmail", true)
	callbackURL := b.str("callbackURL", false)
	if b.has("newEmail") && !validEmail(newEmail) {
		b.issue("newEmail", "Invalid email address")
	}
	if err := b.err(); err != nil {
		return err
	}
	if callbackURL != "" && !h.origins.SafeRedirect(callbackURL) {
		return errInvalidCallbackURL
	}
	newEmail = strings.ToLower(newEmail)
	if newEmail == u.Email {
		return errEmailIsTheSame
	}
	if err := h.mailIPLimit(r); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := h.db.UserByEmail(ctx, newEmail); err == nil {
		return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	tok, err := h.emailToken(emailClaims{Email: u.Email, UpdateTo: newEmail, RequestType: "change-email-verification", UserID: u.ID}, verifyTokenTTL)
	if err != nil {
		return err
	}
	if callbackURL == "" {
		callbackURL = "/"
	}
	link := h.authURL("/verify-email") + "?token=" + tok + "&callbackURL=" + encodeURIComponent(callbackURL)
	h.sendMail(ctx, mailer.VerifyEmail, newEmail, mailer.Data{Name: userNamed(u), URL: link, ExpiresIn: words(verifyTokenTTL)})
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}

// verifyEmailChange is verify-email for a token with updateTo, in Better
// Auth's three kinds: change-email-confirmation (approved from the old
// address: a verification goes to the new one), change-email-verification
// (opened at the new address: the email changes, emailVerified as it was)
// and the legacy kind without requestType (the email changes unverified and
// a verification goes to the new address).
func (h *handler) verifyEmailChange(w http.ResponseWriter, r *http.Request, c emailClaims, callbackURL string, fail func(*apiError) error) error {
	if c.UserID == "" {
		return fail(errTokenInvalid)
	}
	ctx := r.Context()
	bound, err := h.db.UserByID(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return fail(baErr(401, "USER_NOT_FOUND", "User not found"))
	}
	if err != nil {
		return err
	}
	if strings.ToLower(bound.Email) != c.Email {
		return fail(errTokenInvalid)
	}
	if _, su, _, err := h.session(r); err == nil && su.ID != bound.ID {
		return fail(errInvalidUser)
	}
	done := func(u *ari.User) error {
		if callbackURL != "" {
			return redirect(w, callbackURL)
		}
		if u == nil {
			return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
		}
		return writeJSON(w, http.StatusOK, map[string]any{"status": true, "user": toUserJSON(*u)})
	}
	cb := callbackURL
	if cb == "" {
		cb = "/"
	}
	switch c.RequestType {
	case "change-email-confirmation":
		tok, err := h.emailToken(emailClaims{Email: c.Email, UpdateTo: c.UpdateTo, RequestType: "change-email-verification", UserID: bound.ID}, verifyTokenTTL)
		if err != nil {
			return err
		}
		link := h.authURL("/verify-email") + "?token=" + tok + "&callbackURL=" + encodeURIComponent(cb)
		h.sendMail(ctx, mailer.VerifyEmail, c.UpdateTo, mailer.Data{Name: userNamed(bound), URL: link, ExpiresIn: words(verifyTokenTTL)})
		return done(nil)
	case "change-email-verification":
		u, err := h.db.ChangeEmail(ctx, bound.ID, c.Email, c.UpdateTo, bound.EmailVerified, now())
		if err != nil {
			return h.changeFailed(err, fail)
		}
		return done(&u)
	default:
		u, err := h.db.ChangeEmail(ctx, bound.ID, c.Email, c.UpdateTo, false, now())
		if err != nil {
			return h.changeFailed(err, fail)
		}
		tok, err := h.emailToken(emailClaims{Email: c.UpdateTo, UserID: bound.ID}, verifyTokenTTL)
		if err != nil {
			return err
		}
		link := h.authURL("/verify-email") + "?token=" + tok + "&callbackURL=" + encodeURIComponent(cb)
		h.sendMail(ctx, mailer.VerifyEmail, c.UpdateTo, mailer.Data{Name: userNamed(u), URL: link, ExpiresIn: words(verifyTokenTTL)})
		return done(&u)
	}
}

func (h *handler) changeFailed(err error, fail func(*apiError) error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail(errTokenInvalid)
	case errors.Is(err, store.ErrEmailTaken):
		return fail(baErr(422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email."))
	}
	return err
}

// accountJSON is list-accounts' item: the row without tokens or password,
// its scope split into scopes.
type accountJSON struct {
	ID         string   `json:"id"`
	AccountID  string   `json:"accountId"`
	ProviderID string   `json:"providerId"`
	UserID     string   `json:"userId"`
	CreatedAt  ari.Time `json:"createdAt"`
	UpdatedAt  ari.Time `json:"updatedAt"`
	Scopes     []string `json:"scopes"`
}

func (h *handler) listAccounts(w http.ResponseWriter, r *http.Request) error {
	_, u, _, err := h.session(r)
	if err != nil {
		return err
	}
	list, err := h.db.AccountsOf(r.Context(), u.ID)
	if err != nil {
		return err
	}
	out := make([]accountJSON, 0, len(list))
	for _, a := range list {
		scopes := []string{}
		if a.Scope != nil {
			scopes = append(scopes, strings.FieldsFunc(*a.Scope, func(r rune) bool { return r == ',' || r == ' ' })...)
		}
		out = append(out, accountJSON{ID: a.ID, AccountID: a.AccountID, ProviderID: a.ProviderID, UserID: a.UserID,
			CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Scopes: scopes})
	}
	return writeJSON(w, http.StatusOK, out)
}

// unlinkAccount removes one of the caller's accounts by its row id (as
// list-accounts shows it), never the last one.
func (h *handler) unlinkAccount(w http.ResponseWriter, r *http.Request) error {
	_, u, err := h.freshSession(r)
	if err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	id := b.str("accountId", true)
	if err := b.err(); err != nil {
		return err
	}
	switch err := h.db.UnlinkAccount(r.Context(), u.ID, id); {
	case errors.Is(err, store.ErrLastAccount):
		return errLastAccount
	case errors.Is(err, store.ErrNotFound):
		return errAccountNotFound
	case err != nil:
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"status": true})
}
