package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/ari-chat/ari-server/shared/textcheck"
)

// maxBody bounds every request body under /api/auth; the largest legitimate
// one (sign-up with a 128-character password and an image URL) is far smaller.
const maxBody = 64 << 10

// body is a decoded request body read field by field, collecting the
// problems as Better Auth's validator (zod behind better-call) reports them:
// "[body.<field>] <message>", joined with "; ".
type body struct {
	json   map[string]json.RawMessage
	form   url.Values
	issues []string
}

// readBody reads r's body as Better Auth accepts it: JSON or a form, at most
// maxBody bytes. An empty body is an empty object, so missing fields are
// reported by name.
func readBody(w http.ResponseWriter, r *http.Request) (*body, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errBodyTooLarge
		}
		return nil, err
	}
	b := &body{json: map[string]json.RawMessage{}}
	if len(bytes.TrimSpace(raw)) == 0 {
		return b, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		if !json.Valid(raw) {
			return nil, errInvalidJSON
		}
		trimmed := bytes.TrimSpace(raw)
		if trimmed[0] != '{' {
			return nil, errBodyNotObject
		}
		if err := json.Unmarshal(trimmed, &b.json); err != nil {
			return nil, errInvalidJSON
		}
		if is := textcheck.JSON(trimmed); is != nil {
			return nil, validationError("[body." + is.Field + "] " + is.Problem)
		}
	case mt == "application/x-www-form-urlencoded":
		v, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, validationError("[body] Invalid form body")
		}
		for k, vs := range v {
			if p := textcheck.String(k); p != "" {
				return nil, validationError("[body] a field name " + p)
			}
			for _, s := range vs {
				if p := textcheck.String(s); p != "" {
					return nil, validationError("[body." + k + "] " + p)
				}
			}
		}
		b.form = v
	case ct == "":
		return nil, baErr(415, "UNSUPPORTED_MEDIA_TYPE",
			"Content-Type is required. Allowed types: application/json, application/x-www-form-urlencoded")
	default:
		return nil, baErr(415, "UNSUPPORTED_MEDIA_TYPE",
			fmt.Sprintf("Content-Type %q is not allowed. Allowed types: application/json, application/x-www-form-urlencoded", ct))
	}
	return b, nil
}

// onlyKnown reports every key of a JSON body that is not one of fields.
// Better Auth's validator drops such keys; an endpoint that must not act on
// a misspelled field (delete-user) refuses them instead.
func (b *body) onlyKnown(fields ...string) {
	var unknown []string
	for k := range b.json {
		if !slices.Contains(fields, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		b.issue(k, "Unrecognized key")
	}
}

func (b *body) issue(field, msg string) {
	b.issues = append(b.issues, "[body."+field+"] "+msg)
}

// str reads a string field. A missing required field and a value of another
// type are issues; a missing optional one is "".
func (b *body) str(field string, required bool) string {
	if b.form != nil {
		if vs, ok := b.form[field]; ok {
			return vs[0]
		}
	} else if raw, ok := b.json[field]; ok && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			b.issue(field, "Invalid input: expected string, received "+jsonKind(raw))
		}
		return s
	}
	if required {
		b.issue(field, "Invalid input: expected string, received undefined")
	}
	return ""
}

// boolean reads an optional boolean field; absent is nil.
func (b *body) boolean(field string) *bool {
	var v bool
	if b.form != nil {
		s, ok := b.form[field]
		if !ok {
			return nil
		}
		switch s[0] {
		case "true":
			v = true
		case "false":
		default:
			b.issue(field, "Invalid input: expected boolean, received string")
			return nil
		}
		return &v
	}
	raw, ok := b.json[field]
	if !ok || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		b.issue(field, "Invalid input: expected boolean, received "+jsonKind(raw))
		return nil
	}
	return &v
}

// has reports whether the field is present at all.
func (b *body) has(field string) bool {
	if b.form != nil {
		_, ok := b.form[field]
		return ok
	}
	_, ok := b.json[field]
	return ok
}

// err returns the collected issues as one VALIDATION_ERROR, or nil.
func (b *body) err() error {
	if len(b.issues) == 0 {
		return nil
	}
	return validationError(strings.Join(b.issues, "; "))
}

func jsonKind(raw json.RawMessage) string {
	switch t := bytes.TrimSpace(raw); {
	case len(t) == 0:
		return "undefined"
	case t[0] == '"':
		return "string"
	case t[0] == '{':
		return "object"
	case t[0] == '[':
		return "array"
	case t[0] == 't' || t[0] == 'f':
		return "boolean"
	default:
		return "number"
	}
}

// emailPattern is zod 4's z.email() pattern, which Better Auth uses to decide
// what an email address is; the same inputs pass and fail on both servers.
var emailPattern = regexp.MustCompile(`^[A-Za-z0-9_'+\-]+(?:\.[A-Za-z0-9_'+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$`)

func validEmail(s string) bool { return len(s) <= 254 && emailPattern.MatchString(s) }
