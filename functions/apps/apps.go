// Package apps serves the app store: developer accounts, apps and their
// immutable published versions (manifests validated against the JSON Schema
// served at /api/apps/manifest.schema.json), the catalogue, and installs —
// a paid install debits the buyer and credits the developer in one
// transaction (shared/store.InstallApp) — and app sessions, an installed
// app open in a conversation (sessions.go). Apps run in the client; nothing
// here runs or fetches them (the sandbox stays 501).
package apps

import (
	"errors"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the apps function needs.
type Deps struct {
	DB     *store.DB
	Events *events.Publisher
	Auth   *auth.Authenticator
}

type handler struct{ Deps }

// New returns the apps router; everything but the manifest schema needs a
// session.
func New(d Deps) *httpx.Router {
	h := handler{d}
	r := httpx.NewRouter()
	r.HandleFunc("GET /api/apps/manifest.schema.json", h.schema)
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("GET /api/apps", h.catalogue)
	authed.HandleFunc("GET /api/apps/installed", h.installed)
	authed.HandleFunc("GET /api/apps/{id}", h.get)
	authed.HandleFunc("POST /api/apps/{id}/install", h.install)
	authed.HandleFunc("POST /api/conversations/{id}/app-sessions", h.openSession)
	authed.HandleFunc("GET /api/conversations/{id}/app-sessions", h.conversationSessions)
	authed.HandleFunc("GET /api/app-sessions/{id}", h.session)
	authed.HandleFunc("PUT /api/app-sessions/{id}/state", h.sessionState)
	authed.HandleFunc("POST /api/app-sessions/{id}/end", h.endSession)
	authed.HandleFunc("POST /api/developer", h.openDeveloper)
	authed.HandleFunc("GET /api/developer", h.developer)
	authed.HandleFunc("GET /api/developer/apps", h.developerApps)
	authed.HandleFunc("POST /api/developer/apps", h.createApp)
	authed.HandleFunc("GET /api/developer/apps/{id}", h.developerApp)
	authed.HandleFunc("PUT /api/developer/apps/{id}", h.updateApp)
	authed.HandleFunc("POST /api/developer/apps/{id}/publish", h.publish)
	authed.HandleFunc("POST /api/developer/apps/{id}/unpublish", h.unpublish)
	authed.HandleFunc("GET /api/developer/apps/{id}/versions", h.versions)
	authed.HandleFunc("POST /api/developer/apps/{id}/versions", h.publishVersion)
	return r
}

// CodeInvalidManifest is the error code of a refused manifest (400);
// fields name each problem by its path in the manifest.
const CodeInvalidManifest ari.Code = "invalid_manifest"

// CodeInsufficientCoins is the error code of an install the balance does
// not cover (402).
const CodeInsufficientCoins ari.Code = "insufficient_coins"

// storeErr maps the store's sentinels to what the client sees.
func storeErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("app")
	case errors.Is(err, store.ErrNotDeveloper):
		return ari.Errorf(ari.CodeForbidden, "open a developer account first (POST /api/developer)")
	case errors.Is(err, store.ErrDeveloperExists):
		return ari.Errorf(ari.CodeConflict, "you already have a developer account")
	case errors.Is(err, store.ErrSlugTaken):
		return &ari.Error{Code: ari.CodeConflict, Message: "slug: is taken by another app", Fields: map[string]string{"slug": "is taken by another app"}}
	case errors.Is(err, store.ErrVersionExists):
		return &ari.Error{Code: ari.CodeConflict, Message: "version: this app already has a version of that name (versions never change; publish a new one)",
			Fields: map[string]string{"version": "already published"}}
	case errors.Is(err, store.ErrNoVersion):
		return ari.Errorf(ari.CodeConflict, "publish a version first (POST /api/developer/apps/{id}/versions)")
	case errors.Is(err, store.ErrSuspended):
		return ari.Errorf(ari.CodeForbidden, "this app is suspended by the operator")
	case errors.Is(err, store.ErrAlreadyInstalled):
		return ari.Errorf(ari.CodeConflict, "you have already installed this app")
	case errors.Is(err, store.ErrKeyReused):
		return &ari.Error{Code: ari.CodeConflict, Message: "idempotencyKey: already used for another movement of your coins",
			Fields: map[string]string{"idempotencyKey": "already used for something else"}}
	case errors.Is(err, store.ErrInsufficientCoins):
		return &ari.Error{Code: CodeInsufficientCoins, Message: "your coin balance does not cover this app's price", Status: http.StatusPaymentRequired}
	}
	return err
}

// schema serves the manifest's JSON Schema (public; it changes only with
// the server, so caches may keep it for an hour).
func (h handler) schema(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/schema+json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, err := w.Write(appbridge.ManifestSchema)
	return err
}

func (h handler) catalogue(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := httpx.PageRequest[store.AppCursor](r, 30, 100)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len([]rune(q)) > MaxSearch {
		return ari.Invalid(map[string]string{"q": "at most 100 characters"})
	}
	apps, err := h.DB.Catalogue(r.Context(), q, after, limit+1)
	if err != nil {
		return err
	}
	return writePage(w, apps, limit, func(a store.CatalogueApp) store.AppCursor {
		return store.AppCursor{CreatedAt: a.CreatedAt.Time, ID: a.ID}
	})
}

// writePage answers one page of a list fetched with limit+1 rows.
func writePage[T, C any](w http.ResponseWriter, items []T, limit int, cursor func(T) C) error {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	page := httpx.NewPage(items)
	if more {
		page.NextCursor = httpx.CursorPtr(cursor(items[len(items)-1]))
	}
	return httpx.JSON(w, http.StatusOK, page)
}

func (h handler) get(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	d, err := h.DB.AppFor(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, d)
}

func (h handler) install(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req InstallRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	p, replay, err := h.DB.InstallApp(r.Context(), caller.ID, r.PathValue("id"), req.IdempotencyKey)
	if err != nil {
		return storeErr(err)
	}
	bal, err := h.DB.CoinBalance(r.Context(), caller.ID)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	return httpx.JSON(w, status, InstallResponse{Install: p, BalanceCoins: bal})
}

func (h handler) installed(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.LedgerCursor](r, 30, 100)
	if err != nil {
		return err
	}
	list, err := h.DB.Installs(r.Context(), caller.ID, after, limit+1)
	if err != nil {
		return err
	}
	return writePage(w, list, limit, func(i store.Install) store.LedgerCursor {
		return store.LedgerCursor{CreatedAt: i.CreatedAt.Time, ID: i.ID}
	})
}

func (h handler) openDeveloper(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req OpenDeveloperRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	d, err := h.DB.OpenDeveloperAccount(r.Context(), caller.ID, req.DisplayName, req.Website)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, d)
}

func (h handler) developer(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	d, err := h.DB.DeveloperFor(r.Context(), caller.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("developer account")
	}
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, d)
}

func (h handler) developerApps(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.AppCursor](r, 30, 100)
	if err != nil {
		return err
	}
	apps, err := h.DB.DeveloperApps(r.Context(), caller.ID, after, limit+1)
	if err != nil {
		return err
	}
	return writePage(w, apps, limit, func(a store.DeveloperApp) store.AppCursor {
		return store.AppCursor{CreatedAt: a.CreatedAt.Time, ID: a.ID}
	})
}

func (h handler) createApp(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req CreateAppRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	a, err := h.DB.CreateApp(r.Context(), caller.ID, req.newApp())
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, a)
}

func (h handler) developerApp(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.DB.DeveloperAppFor(r.Context(), caller.ID, r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, a)
}

func (h handler) updateApp(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	// Ownership first, so a stranger gets 404 whatever the body holds.
	if _, err := h.DB.DeveloperAppFor(r.Context(), caller.ID, id); err != nil {
		return storeErr(err)
	}
	var req UpdateAppRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	a, err := h.DB.UpdateApp(r.Context(), caller.ID, id, req.change())
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, a)
}

func (h handler) publish(w http.ResponseWriter, r *http.Request) error {
	return h.setListed(w, r, true)
}

func (h handler) unpublish(w http.ResponseWriter, r *http.Request) error {
	return h.setListed(w, r, false)
}

func (h handler) setListed(w http.ResponseWriter, r *http.Request, listed bool) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.DB.SetAppListed(r.Context(), caller.ID, r.PathValue("id"), listed)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusOK, a)
}

func (h handler) versions(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.AppCursor](r, 30, 100)
	if err != nil {
		return err
	}
	list, err := h.DB.AppVersions(r.Context(), caller.ID, r.PathValue("id"), after, limit+1)
	if err != nil {
		return storeErr(err)
	}
	return writePage(w, list, limit, func(v ari.AppVersion) store.AppCursor {
		return store.AppCursor{CreatedAt: v.CreatedAt.Time, ID: v.ID}
	})
}

func (h handler) publishVersion(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := h.DB.DeveloperAppFor(r.Context(), caller.ID, id); err != nil {
		return storeErr(err)
	}
	var req PublishVersionRequest
	if err := httpx.Decode(w, r, &req, appbridge.MaxManifestBytes+4096); err != nil {
		return err
	}
	m, err := appbridge.ValidateManifest(req.Manifest)
	var bad *appbridge.ManifestError
	if errors.As(err, &bad) {
		fields := map[string]string{}
		for _, p := range bad.Problems {
			key := "manifest"
			if p.Path != "" {
				key += "." + p.Path
			}
			if fields[key] == "" {
				fields[key] = p.Message
			}
		}
		return &ari.Error{Code: CodeInvalidManifest, Message: bad.Error(), Fields: fields, Status: http.StatusBadRequest}
	}
	if err != nil {
		return err
	}
	v, err := h.DB.PublishVersion(r.Context(), caller.ID, id, req.Version, m.Canonical)
	if err != nil {
		return storeErr(err)
	}
	return httpx.JSON(w, http.StatusCreated, v)
}
