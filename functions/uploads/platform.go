package uploads

import (
	"log/slog"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/storage"
)

// DepsFrom builds Deps from the process's platform: the store the
// configuration selects (storage.FromConfig) and MAX_UPLOAD_BYTES.
func DepsFrom(p *platform.Platform) (Deps, error) {
	st, err := storage.FromConfig(p.Config)
	if err != nil {
		return Deps{}, err
	}
	return Deps{
		DB:             p.DB,
		Storage:        st,
		Auth:           p.Authenticator(),
		MaxUploadBytes: p.Config.MaxUploadBytes,
	}, nil
}

// ForPlatform is New(DepsFrom(p)) for the local shim, which mounts every
// function and must keep serving the others when storage cannot be opened
// (an unwritable UPLOAD_DIR): then every upload route answers 503 and the
// cause is logged once.
func ForPlatform(p *platform.Platform) *httpx.Router {
	deps, err := DepsFrom(p)
	if err == nil {
		return New(deps)
	}
	slog.Error("uploads: storage unavailable", "err", err)
	unavailable := func(http.Handler) http.Handler {
		return httpx.Handle(func(w http.ResponseWriter, r *http.Request) error {
			return ari.Errorf(ari.CodeUnavailable, "file storage is unavailable")
		})
	}
	r := httpx.NewRouter()
	(&handler{}).register(r.With(unavailable))
	return r
}
