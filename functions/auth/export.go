package auth

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/account"
	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
)

// export is GET /api/account/export: the caller's data as one JSON
// document (account.Exporter), streamed as it is read, RATE_LIMIT_EXPORT_PER_HOUR
// times an hour per user. Errors before the first byte are ari's JSON
// errors; a failure after it aborts the response, so a client never takes a
// cut document for a whole one.
func (h *handler) export(w http.ResponseWriter, r *http.Request) error {
	c, err := sa.RequestCaller(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if d := h.limiter.Allow(ctx, h.limExport, c.ID); !d.Allowed {
		return &ari.Error{Code: ari.CodeRateLimited, Message: "too many exports; try again later", RetryAfter: d.RetryAfterSeconds()}
	}
	if h.storage == nil {
		return ari.Errorf(ari.CodeUnavailable, "file storage is unavailable")
	}
	u, err := h.db.UserByID(ctx, c.ID)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Disposition", `attachment; filename="ari-export-`+time.Now().UTC().Format("2006-01-02")+`.json"`)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	x := account.Exporter{DB: h.db, Storage: h.storage}
	if err := x.Write(ctx, w, account.Profile{ID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified,
		Image: u.Image, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}); err != nil {
		slog.ErrorContext(ctx, "account export cut short", "user", u.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
