package auth

import (
	"log/slog"

	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/storage"
)

// DepsFrom builds Deps from the process's platform; the lambda main and the
// local shim both call it. File storage that cannot be opened leaves
// Storage nil (logged): everything but delete-user keeps working.
func DepsFrom(p *platform.Platform) Deps {
	st, err := storage.FromConfig(p.Config)
	if err != nil {
		slog.Error("auth: file storage unavailable; delete-user is refused", "err", err)
		st = nil
	}
	return Deps{Config: p.Config, DB: p.DB, Limiter: ratelimit.New(p.Redis, p.Keys),
		Events: events.NewPublisher(p.Redis, p.Keys), Tickets: sa.Tickets{Redis: p.Redis, Keys: p.Keys},
		Mailer: p.Mailer, Redis: p.Redis, Keys: p.Keys, Storage: st}
}
