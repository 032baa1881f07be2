package main

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// webCSP is the web app's Content-Security-Policy: its own scripts, styles
// and connections (REST and the WebSocket on this origin), nothing inline;
// frames only from appOrigins (WEB_APP_ORIGINS), where the apps its users
// open live, and those frames are sandboxed by the app (allow-scripts
// only: an opaque origin, no access to the page, its cookies or storage).
// index.html carries the same policy, with frames from any https origin and
// loopback, for hosts that set no header.
func webCSP(appOrigins []string) string {
	frames := "'none'"
	if len(appOrigins) > 0 {
		frames = strings.Join(appOrigins, " ")
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; frame-src " + frames + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// appCSP is the policy of the sample apps the shim serves under /apps/ (the
// notes app): their own scripts and styles, nothing inline, no connections
// (an app talks to the page that shows it through postMessage only), and
// framed only by the web app's origins.
func appCSP(ancestors []string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors " + strings.Join(ancestors, " ")
}

// webApp serves the built web app in dir (WEB_DIR, local/web/dist) in front
// of next: GET and HEAD of "/", of the files dir holds, and of its sample
// apps' folders ("/apps/notes/"). Everything else, and everything when dir
// is empty or holds no index.html, goes to next, so / answers as any
// unknown route then. The folder is read on each request: a rebuild shows
// on the next reload. appOrigins may be framed by the app; webOrigins (the
// public origin and the trusted ones) may frame the sample apps.
func webApp(dir string, appOrigins, webOrigins []string, next http.Handler) http.Handler {
	if dir == "" {
		return next
	}
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		slog.Warn("WEB_DIR holds no built web app; / is not served (npm run build in local/web)", "dir", dir, "err", err)
		return next
	}
	files := http.FileServer(http.Dir(dir))
	web, apps := webCSP(appOrigins), appCSP(origins(webOrigins))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !webFile(dir, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if strings.HasPrefix(r.URL.Path, "/apps/") {
			h.Set("Content-Security-Policy", apps)
		} else {
			h.Set("Content-Security-Policy", web)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// webFile reports whether p is the app's page ("/"), a regular file of dir
// outside the API's paths, or a folder of dir/apps holding an index.html.
func webFile(dir, p string) bool {
	if p == "/" {
		return true
	}
	if strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ws") || strings.HasPrefix(p, "/files/") {
		return false
	}
	name := filepath.Join(dir, filepath.FromSlash(path.Clean("/"+p)))
	if strings.HasPrefix(p, "/apps/") && strings.HasSuffix(p, "/") {
		name = filepath.Join(name, "index.html")
	}
	fi, err := os.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// origins reduces URLs to their origins (scheme://host[:port]), dropping
// the ones that are not absolute.
func origins(urls []string) []string {
	var out []string
	for _, s := range urls {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	if len(out) == 0 {
		return []string{"'none'"}
	}
	return out
}
