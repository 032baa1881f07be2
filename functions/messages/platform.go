package messages

import (
	"log/slog"

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
	return Deps{
		DB:     p.DB,
		Events: events.NewPublisher(p.Redis, p.Keys),
		Auth:   p.Authenticator(),
	}
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
