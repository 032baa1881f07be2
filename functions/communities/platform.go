package communities

import (
	"log/slog"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/storage"
)

// DepsFrom builds Deps from the process's platform, with the file store the
// configuration selects.
func DepsFrom(p *platform.Platform) (Deps, error) {
	files, err := storage.FromConfig(p.Config)
	if err != nil {
		return Deps{}, err
	}
	d := depsWithoutFiles(p)
	d.Files = files
	return d, nil
}

func depsWithoutFiles(p *platform.Platform) Deps {
	return Deps{DB: p.DB, Auth: p.Authenticator(), Limiter: ratelimit.New(p.Redis, p.Keys), Events: events.NewPublisher(p.Redis, p.Keys),
		SendRule: ratelimit.Send(p.Config.RateLimitSend, p.Config.RateLimitSendBurst)}
}

// ForPlatform is New(DepsFrom(p)) for the local shim, which keeps serving
// when file storage cannot be opened (deleted messages' objects then stay
// behind as strays).
func ForPlatform(p *platform.Platform) *httpx.Router {
	d, err := DepsFrom(p)
	if err != nil {
		slog.Error("communities: file storage unavailable; attachment objects are not removed", "err", err)
		d = depsWithoutFiles(p)
	}
	return New(d)
}
