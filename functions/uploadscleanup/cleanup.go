// Package uploadscleanup removes orphaned uploads: files that were uploaded
// (or presigned and never completed) but never attached to a message, once
// they are older than ORPHAN_UPLOAD_TTL (default 24h). Attachments whose
// message row was removed outright become orphans too and go the same way.
// It also removes stray incoming/ objects, which no attachment row names
// (a PUT to a presigned link after its upload was completed or refused), once
// they were last written longer ago than a presigned link lives: after that
// no one can write them again. An incoming/ object of an upload still
// pending stays until its row goes (ORPHAN_UPLOAD_TTL).
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
	// PresignTTL is how long presigned upload links live (default
	// storage.DefaultPresignTTL): stray incoming/ objects older than this go.
	PresignTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Removed is what one run removed.
type Removed struct {
	Attachments int // rows, each with its object
	Strays      int // incoming/ objects no row named
}

// incomingPrefix is where presigned uploads land (functions/uploads).
const incomingPrefix = "incoming/"

// DepsFrom builds Deps from the process's platform.
func DepsFrom(p *platform.Platform) (Deps, error) {
	st, err := storage.FromConfig(p.Config)
	if err != nil {
		return Deps{}, err
	}
	return Deps{DB: p.DB, Storage: st, OlderThan: p.Config.OrphanUploadTTL}, nil
}

// Run deletes every orphan older than d.OlderThan, row and object, then every
// stray incoming/ object older than d.PresignTTL, and says how many of each
// it removed. It is safe to run concurrently with uploads and sends (see
// store.CleanupOrphanAttachments) and to retry after a failure.
func Run(ctx context.Context, d Deps) (Removed, error) {
	if d.OlderThan < MinAge {
		return Removed{}, fmt.Errorf("uploadscleanup: ORPHAN_UPLOAD_TTL %s is shorter than %s", d.OlderThan, MinAge)
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	ttl := d.PresignTTL
	if ttl <= 0 {
		ttl = storage.DefaultPresignTTL
	}
	var out Removed
	var err error
	out.Attachments, err = d.DB.CleanupOrphanAttachments(ctx, now().Add(-d.OlderThan), d.Storage.Delete)
	if err != nil {
		return out, err
	}
	out.Strays, err = removeStrays(ctx, d, now().Add(-ttl))
	return out, err
}

// removeStrays deletes the incoming/ objects last written before cutoff that
// no attachment row names. A row is made before its link is handed out, so an
// object without one is no upload in progress.
func removeStrays(ctx context.Context, d Deps, cutoff time.Time) (int, error) {
	keys, err := d.Storage.List(ctx, incomingPrefix, cutoff)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	named, err := d.DB.AttachmentKeys(ctx, keys)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		if named[k] {
			continue
		}
		if err := d.Storage.Delete(ctx, k); err != nil {
			return n, fmt.Errorf("uploadscleanup: delete stray %q: %w", k, err)
		}
		n++
	}
	return n, nil
}

// Sweep is one scheduled run: Run, then a log line saying what it removed.
func (d Deps) Sweep(ctx context.Context) error {
	n, err := Run(ctx, d)
	slog.InfoContext(ctx, "orphaned uploads removed", "count", n.Attachments, "strays", n.Strays,
		"olderThan", d.OlderThan.String(), "err", err)
	return err
}
