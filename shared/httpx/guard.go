package httpx

import (
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/textcheck"
)

// CheckRequest is the guard every route runs before its handler: a path
// value named like an id ("id", "memberId") must be a well-formed id, or the
// route answers 404 as for an id that names nothing; any other path value and
// every query parameter (name and value) must be text by the shared rule
// (valid UTF-8, no U+0000), or 400 naming it. Bodies are checked where they
// are decoded (Decode).
func CheckRequest(r *http.Request) *ari.Error {
	for _, name := range Wildcards(r.Pattern) {
		v := r.PathValue(name)
		if IsIDParam(name) {
			if !ari.ValidID(v) {
				return ari.Errorf(ari.CodeNotFound, "%s is not a valid id", name)
			}
			continue
		}
		if p := textcheck.String(v); p != "" {
			return ari.Invalid(map[string]string{name: p})
		}
	}
	for k, vs := range r.URL.Query() {
		if p := textcheck.String(k); p != "" {
			return ari.Invalid(map[string]string{"query": "a parameter name " + p})
		}
		for _, v := range vs {
			if p := textcheck.String(v); p != "" {
				return ari.Invalid(map[string]string{k: p})
			}
		}
	}
	return nil
}

// IsIDParam reports whether a path wildcard holds an id: "id" or a name
// ending in "Id".
func IsIDParam(name string) bool { return name == "id" || strings.HasSuffix(name, "Id") }

// Wildcards lists the wildcard names of a stdlib pattern such as
// "DELETE /api/groups/{id}/members/{memberId}" or "/x/{rest...}".
func Wildcards(pattern string) []string {
	var names []string
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(pattern[i:], '}')
		if j < 0 {
			return names
		}
		name := strings.TrimSuffix(pattern[i+1:i+j], "...")
		if name != "$" && name != "" {
			names = append(names, name)
		}
		pattern = pattern[i+j+1:]
	}
}
