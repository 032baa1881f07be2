// Package textcheck is the one rule for text a client sends, applied where
// bytes are decoded (REST bodies, forms, query strings, path values, socket
// frames): every string is valid UTF-8 and holds no U+0000 (Postgres text
// cannot store it), and JSON carries no lone UTF-16 surrogate escape
// ("\ud800" without its pair), which encoding/json would otherwise turn into
// U+FFFD without a word, changing the text the sender meant.
package textcheck

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Problems, as shown after the field's name.
const (
	NotUTF8       = "is not valid UTF-8"
	HasNUL        = "contains U+0000"
	LoneSurrogate = "contains a lone UTF-16 surrogate escape"
)

// String returns what is wrong with s as client text, or "".
func String(s string) string {
	if !utf8.ValidString(s) {
		return NotUTF8
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return HasNUL
		}
	}
	return ""
}

// Issue is the first string in a JSON document that breaks the rule.
type Issue struct {
	// Field is the path of the value: "name", "skills[0].name",
	// "cursors.abc"; "" for the document itself (a bare string, or a key at
	// the top level, whose path is the object's).
	Field   string
	Problem string
}

// Message is the field and its problem in one line.
func (i *Issue) Message() string {
	if i.Field == "" {
		return "body " + i.Problem
	}
	return i.Field + ": " + i.Problem
}

// JSON checks every string (keys and values, at any depth) of raw, a JSON
// document, and returns the first that breaks the rule, or nil. Syntax is not
// its business: on malformed input it stops and returns nil, so the caller's
// decoder reports the syntax error.
func JSON(raw []byte) *Issue {
	s := scanner{b: raw}
	s.value("")
	return s.issue
}

type scanner struct {
	b     []byte
	i     int
	issue *Issue
	bad   bool // malformed input: stop quietly
}

func (s *scanner) done() bool { return s.issue != nil || s.bad || s.i >= len(s.b) }

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(path string) {
	s.ws()
	if s.done() {
		return
	}
	switch s.b[s.i] {
	case '{':
		s.object(path)
	case '[':
		s.array(path)
	case '"':
		s.str(path, false)
	default: // number, true, false, null: no strings inside
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', ']', '}', ' ', '\t', '\r', '\n':
				return
			}
			s.i++
		}
	}
}

func (s *scanner) object(path string) {
	s.i++ // {
	for {
		s.ws()
		if s.done() {
			return
		}
		if s.b[s.i] == '}' {
			s.i++
			return
		}
		if s.b[s.i] != '"' {
			s.bad = true
			return
		}
		key, ok := s.str(path, true)
		if !ok {
			return
		}
		s.ws()
		if s.done() || s.b[s.i] != ':' {
			s.bad = true
			return
		}
		s.i++
		child := key
		if path != "" {
			child = path + "." + key
		}
		s.value(child)
		if !s.more('}') {
			return
		}
	}
}

func (s *scanner) array(path string) {
	s.i++ // [
	for n := 0; ; n++ {
		s.ws()
		if s.done() {
			return
		}
		if s.b[s.i] == ']' {
			s.i++
			return
		}
		s.value(path + "[" + strconv.Itoa(n) + "]")
		if !s.more(']') {
			return
		}
	}
}

// more consumes what follows a member of an object or array: a comma (another
// member follows, true) or the closing byte (false); anything else is bad JSON.
func (s *scanner) more(closing byte) bool {
	s.ws()
	if s.done() {
		return false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		return true
	case closing:
		s.i++
	default:
		s.bad = true
	}
	return false
}

// str checks the string literal at s.i, reporting a problem under path, and
// returns its decoded text when key is set (a key names the path below it).
// A value's text is not decoded: every frame and body passes here, and its
// strings are checked as they stand (an escape that encoding/json would
// refuse is malformed input, as its decoding would find).
func (s *scanner) str(path string, key bool) (string, bool) {
	start := s.i
	// escaped: it holds an escape (a key is decoded by encoding/json);
	// malformed: a character encoding/json refuses, reported once the rest
	// of the literal is checked, as decoding it used to be.
	escaped, malformed := false, false
	s.i++ // opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			lit := s.b[start:s.i]
			if !utf8.Valid(lit) {
				s.issue = &Issue{Field: path, Problem: NotUTF8}
				return "", false
			}
			if malformed {
				s.bad = true
				return "", false
			}
			if !key {
				return "", true
			}
			if !escaped {
				return string(lit[1 : len(lit)-1]), true
			}
			var out string
			if json.Unmarshal(lit, &out) != nil {
				s.bad = true
				return "", false
			}
			return out, true
		case c == 0:
			s.issue = &Issue{Field: path, Problem: HasNUL}
			return "", false
		case c < 0x20: // a control character must be escaped in JSON
			malformed = true
			s.i++
		case c == '\\':
			escaped = true
			if s.i+1 >= len(s.b) {
				s.bad = true
				return "", false
			}
			if s.b[s.i+1] != 'u' {
				switch s.b[s.i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				default:
					malformed = true
				}
				s.i += 2
				continue
			}
			r, ok := s.hex4(s.i + 2)
			if !ok {
				s.bad = true
				return "", false
			}
			s.i += 6
			switch {
			case r == 0:
				s.issue = &Issue{Field: path, Problem: HasNUL}
				return "", false
			case r >= 0xDC00 && r <= 0xDFFF: // a low half with no high half before it
				s.issue = &Issue{Field: path, Problem: LoneSurrogate}
				return "", false
			case r >= 0xD800 && r <= 0xDBFF:
				low, ok := rune(0), false
				if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
					low, ok = s.hex4(s.i + 2)
				}
				if !ok || low < 0xDC00 || low > 0xDFFF {
					s.issue = &Issue{Field: path, Problem: LoneSurrogate}
					return "", false
				}
				s.i += 6
			}
		default:
			s.i++
		}
	}
	s.bad = true
	return "", false
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	var r rune
	for _, c := range s.b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
