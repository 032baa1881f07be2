package main

import (
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// webCSP is the web app's Content-Security-Policy: its own scripts, styles
// and connections (REST and the WebSocket on this origin), nothing inline,
// no frames. index.html carries the same policy for hosts that set no header.
const webCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// webApp serves the built web app in dir (WEB_DIR, local/web/dist) in front
// of next: GET and HEAD of "/" and of the files dir holds. Everything else,
// and everything when dir is empty or holds no index.html, goes to next, so
// / answers as any unknown route then. The folder is read on each request:
// a rebuild shows on the next reload.
func webApp(dir string, next http.Handler) http.Handler {
	if dir == "" {
		return next
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		slog.Warn("WEB_DIR holds no built web app; / is not served (npm run build in local/web)", "dir", dir, "err", err)
		return next
	}
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !webFile(dir, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", webCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// webFile reports whether p is the app's page ("/") or a regular file of
// dir outside the API's paths.
func webFile(dir, p string) bool {
	if p == "/" {
		return true
	}
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ws") || strings.HasPrefix(p, "/files/") {
		return false
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p))))
	return err == nil && fi.Mode().IsRegular()
}
