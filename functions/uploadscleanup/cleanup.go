// Package uploadscleanup removes orphaned uploads: files that were uploaded
// (or presigned and never completed) but never attached to a message, once
// they are older than ORPHAN_UPLOAD_TTL (default 24h). Attachments whose
// message row was removed outright become orphans too and go the same way.
//
// It has no HTTP routes. On AWS an EventBridge schedule in template.yaml
// invokes its Lambda every hour; locally `go run ./local/cleanup` runs it
// once (a cron entry can call that).
package uploadscleanup

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// MinAge is the shortest OlderThan Run accepts: anything shorter could
// remove a file between its upload and the message that attaches it.
const MinAge = time.Minute

// Deps is what a run needs.
type Deps struct {
	DB      *store.DB
	Storage storage.Store
	// OlderThan is ORPHAN_UPLOAD_TTL: how long an unattached upload is kept.
	OlderThan time.Duration
}

// DepsFrom builds Deps from the process's platform.
func DepsFrom(p *platform.Platform) (Deps, error) {
	st, err := storage.FromConfig(p.Config)
	if err != nil {
		return Deps{}, err
	}
	return Deps{DB: p.DB, Storage: st, OlderThan: p.Config.OrphanUploadTTL}, nil
}

// Run deletes every orphan older than d.OlderThan, row and object, and
// returns how many it removed. It is safe to run concurrently with uploads
// and sends (see store.CleanupOrphanAttachments) and to retry after a
// failure.
func Run(ctx context.Context, d Deps) (int, error) {
	if d.OlderThan < MinAge {
		return 0, fmt.Errorf("uploadscleanup: ORPHAN_UPLOAD_TTL %s is shorter than %s", d.OlderThan, MinAge)
	}
	return d.DB.CleanupOrphanAttachments(ctx, time.Now().Add(-d.OlderThan), d.Storage.Delete)
}

// Sweep is one scheduled run: Run, then a log line saying what it removed.
func (d Deps) Sweep(ctx context.Context) error {
	n, err := Run(ctx, d)
	slog.InfoContext(ctx, "orphaned uploads removed", "count", n, "olderThan", d.OlderThan.String(), "err", err)
	return err
}

// New returns an empty router: the function is invoked by its schedule, not
// over HTTP, and the shim mounts nothing for it.
func New() *httpx.Router { return httpx.NewRouter() }
