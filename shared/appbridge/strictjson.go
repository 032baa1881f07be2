package appbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// errSyntax marks input that is not JSON at all, as opposed to JSON whose
// shape we refuse (duplicate keys, too deep). Callers map the two to
// different codes.
var errSyntax = errors.New("not JSON")

// decodeStrict parses exactly one JSON value into the generic form the
// schema validator expects (json.Number for numbers, so no precision is lost).
//
// Duplicate object keys are refused: encoding/json keeps the last one while
// other parsers (an app, an LLM reading a schema) may keep the first, and the
// value we validate must be the value everyone else sees.
func decodeStrict(data []byte, maxDepth int) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readValue(dec, 0, maxDepth)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the value", errSyntax)
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth, maxDepth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) && depth == 0 {
			return nil, fmt.Errorf("%w: empty input", errSyntax)
		}
		return nil, syntaxError(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	switch delim {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return nil, syntaxError(err)
			}
			key, ok := ktok.(string)
			if !ok {
				return nil, fmt.Errorf("%w: object key is not a string", errSyntax)
			}
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("duplicate key %s", quoteBounded(key, 64))
			}
			val, err := readValue(dec, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			obj[key] = val
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			val, err := readValue(dec, depth+1, maxDepth)
			if err != nil {
				return nil, err
			}
			arr = append(arr, val)
		}
		if _, err := dec.Token(); err != nil {
			return nil, syntaxError(err)
		}
		return arr, nil
	}
	return nil, fmt.Errorf("%w: unexpected %q", errSyntax, delim)
}

func syntaxError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: unexpected end of input", errSyntax)
	}
	return fmt.Errorf("%w: %s", errSyntax, err.Error())
}

// encodeCanonical writes v compactly with object keys sorted (encoding/json
// sorts map keys), so equal values always produce equal bytes. HTML escaping
// is off because the output is read by programs and models, not browsers.
func encodeCanonical(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// truncate cuts s to at most max bytes without splitting a UTF-8 sequence,
// marking the cut with an ellipsis so a reader knows text is missing.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "…"
	cut := max - len(mark)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// quoteBounded renders untrusted text as a short JSON string, so it can never
// break the line or the message it is embedded in.
func quoteBounded(s string, max int) string {
	b, err := json.Marshal(truncate(s, max))
	if err != nil {
		return `""`
	}
	return string(b)
}
