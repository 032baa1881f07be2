package sniff

import (
	"errors"
	"unicode/utf8"
)

// ErrNotText is returned by TextChecker for bytes that plain text may not hold.
var ErrNotText = errors.New("sniff: not plain UTF-8 text")

// TextChecker validates a stream as plain text chunk by chunk, so an upload
// detected as text/plain from its head can be checked to the last byte
// without holding the file in memory. Write fails on the first bad byte;
// Close reports a rune left unfinished at the end. The zero value is ready.
type TextChecker struct {
	carry [utf8.UTFMax]byte
	n     int
}

// Write checks p, carrying an incomplete trailing rune over to the next call.
func (c *TextChecker) Write(p []byte) (int, error) {
	total := len(p)
	if c.n > 0 {
		// Complete the carried rune with as few bytes of p as it needs.
		for c.n < utf8.UTFMax && len(p) > 0 && !utf8.FullRune(c.carry[:c.n]) {
			c.carry[c.n] = p[0]
			c.n++
			p = p[1:]
		}
		if !utf8.FullRune(c.carry[:c.n]) {
			return total, nil
		}
		r, size := utf8.DecodeRune(c.carry[:c.n])
		if !allowedRune(r, size) || size != c.n {
			return 0, ErrNotText
		}
		c.n = 0
	}
	for len(p) > 0 {
		if b := p[0]; b < utf8.RuneSelf {
			if !allowedRune(rune(b), 1) {
				return 0, ErrNotText
			}
			p = p[1:]
			continue
		}
		if !utf8.FullRune(p) {
			c.n = copy(c.carry[:], p)
			return total, nil
		}
		r, size := utf8.DecodeRune(p)
		if !allowedRune(r, size) {
			return 0, ErrNotText
		}
		p = p[size:]
	}
	return total, nil
}

// Close reports ErrNotText when the stream ended inside a multi-byte rune.
func (c *TextChecker) Close() error {
	if c.n > 0 {
		return ErrNotText
	}
	return nil
}

// allowedRune refuses invalid encodings, NUL and every C0/C1 control
// character except tab, LF and CR.
func allowedRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size <= 1:
		return false
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20 || r == 0x7F:
		return false
	case r >= 0x80 && r <= 0x9F:
		return false
	}
	return true
}
