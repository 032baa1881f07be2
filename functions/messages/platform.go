package messages

import (
	"log/slog"
	"time"

	"github.com/ari-chat/ari-server/shared/agentpost"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/relayjob"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
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
	pub := events.NewPublisher(p.Redis, p.Keys)
	return Deps{
		DB:     p.DB,
		Events: pub,
		Auth:   p.Authenticator(),
		Poster: &agentpost.Poster{DB: p.DB, Events: pub, Limiter: ratelimit.New(p.Redis, p.Keys),
			Rule: agentpost.Rule(p.Config), Push: agentPush(p), Log: p.Log},
		Jobs: &relayjob.Client{Redis: p.Redis, Keys: p.Keys},
	}
}

// agentPush notifies of agents' messages before the request is answered: a
// Lambda may be frozen as soon as it has answered, so work left on a
// goroutine might never run. The wait is bounded; bad VAPID keys turn push
// off rather than the function.
func agentPush(p *platform.Platform) agentpost.Notifier {
	trig, err := pushtrigger.New(p.Config, p.DB, p.Redis, p.Keys, p.Log)
	if err != nil {
		slog.Error("messages: push notifications off", "err", err)
		return nil
	}
	trig.Timeout = 5 * time.Second
	return pushtrigger.Inline{N: trig}
}

// ForPlatform is New(DepsFrom(p)) for the local shim, which must keep serving
// history when file storage cannot be opened: attachments then keep the links
// stored at upload, and a deleted message's objects stay behind as strays.
func ForPlatform(p *platform.Platform) *httpx.Router {
	d, err := DepsFrom(p)
	if err != nil {
		slog.Error("messages: file storage unavailable; attachment links are not refreshed", "err", err)
		d = depsWithoutFiles(p)
	}
	return New(d)
}
