package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/textcheck"
)

// DefaultMaxBody bounds JSON request bodies unless a handler says otherwise.
const DefaultMaxBody = 1 << 20

// Validator is implemented by request structs that check themselves after decoding.
// It returns field -> problem; an empty map means valid.
type Validator interface {
	Validate() map[string]string
}

// Decode reads one JSON object from r's body into dst (at most maxBytes; 0 means
// DefaultMaxBody), rejecting other content types, unknown fields, trailing data,
// and then runs dst's Validate when it has one, reporting every problem at once.
func Decode(w http.ResponseWriter, r *http.Request, dst any, maxBytes int64) error {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return ari.Errorf(ari.CodeUnsupportedMedia, "content type must be application/json")
		}
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	if err != nil {
		return decodeError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if is := textcheck.JSON(raw); is != nil {
			return textIssue(is)
		}
		return decodeError(err)
	}
	// A JSON null decodes into a struct as nothing at all; it is no object.
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return ari.Errorf(ari.CodeInvalid, "body must be a JSON object")
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return ari.Errorf(ari.CodeInvalid, "body must hold a single JSON object")
	}
	// Every string, at any depth (jsonb included), before anything sees it.
	if is := textcheck.JSON(raw); is != nil {
		return textIssue(is)
	}
	if v, ok := dst.(Validator); ok {
		if fields := v.Validate(); len(fields) > 0 {
			return ari.Invalid(fields)
		}
	}
	return nil
}

func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return ari.Errorf(ari.CodeTooLarge, "body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return ari.Errorf(ari.CodeInvalid, "body must not be empty")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF):
		return ari.Errorf(ari.CodeInvalid, "body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return ari.Errorf(ari.CodeInvalid, "body must be a JSON object")
		}
		return ari.Invalid(map[string]string{field: fmt.Sprintf("must be %s", jsonKind(typ.Type.Kind().String()))})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return ari.Invalid(map[string]string{name: "unknown field"})
	default:
		return ari.Errorf(ari.CodeInvalid, "body is not valid JSON")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}

// textIssue reports a string that breaks the text rule as a 400 naming it.
func textIssue(is *textcheck.Issue) error {
	field := is.Field
	if field == "" {
		field = "body"
	}
	return ari.Invalid(map[string]string{field: is.Problem})
}
