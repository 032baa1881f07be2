package communities

import (
	"log/slog"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/relayjob"
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
	d := Deps{DB: p.DB, Auth: p.Authenticator(), Limiter: ratelimit.New(p.Redis, p.Keys), Events: events.NewPublisher(p.Redis, p.Keys),
		SendRule: ratelimit.Send(p.Config.RateLimitSend, p.Config.RateLimitSendBurst), Jobs: &relayjob.Client{Redis: p.Redis, Keys: p.Keys}}
	if push := mentionPush(p); push != nil {
		d.Push = push
	}
	return d
}

// mentionPush notifies of mentions before the request is answered: a Lambda
// may be frozen as soon as it has answered, so work left on a goroutine
// might never run. The wait is bounded; bad VAPID keys turn push off rather
// than the function.
func mentionPush(p *platform.Platform) *pushtrigger.Inline {
	trig, err := pushtrigger.New(p.Config, p.DB, p.Redis, p.Keys, p.Log)
	if err != nil {
		slog.Error("communities: push notifications off", "err", err)
		return nil
	}
	if trig.Sender == nil {
		return nil
	}
	trig.Timeout = 5 * time.Second
	return &pushtrigger.Inline{N: trig}
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
