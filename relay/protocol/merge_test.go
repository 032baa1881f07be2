package protocol

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMerge(t *testing.T) {
	cases := []struct {
		name, text, chunk, mode string
		delta, newText          string
		err                     error
	}{
		{"delta appends", "Hel", "lo", ModeDelta, "lo", "Hello", nil},
		{"delta first", "", "Hi", ModeDelta, "Hi", "Hi", nil},
		{"delta repeating prefix", "ha", "haha", ModeDelta, "haha", "hahaha", nil},
		{"delta empty", "Hi", "", ModeDelta, "", "Hi", nil},
		{"accumulated extends", "Hel", "Hello", ModeAccumulated, "lo", "Hello", nil},
		{"accumulated first", "", "Hello", ModeAccumulated, "Hello", "Hello", nil},
		{"accumulated unchanged", "Hello", "Hello", ModeAccumulated, "", "Hello", nil},
		{"accumulated rewrites", "Hello", "Help", ModeAccumulated, "", "Hello", ErrNotExtending},
		{"accumulated shorter", "Hello", "Hell", ModeAccumulated, "", "Hello", ErrNotExtending},
		{"accumulated empty after text is a keep-alive", "Hi", "", ModeAccumulated, "", "Hi", nil},
		{"detect first chunk is delta", "", "Hello", "", "Hello", "Hello", nil},
		{"detect empty chunk", "Hi", "", "", "", "Hi", nil},
		{"detect empty on empty", "", "", "", "", "", nil},
		{"detect accumulated", "Hel", "Hello", "", "lo", "Hello", nil},
		{"detect unrelated is delta", "Hel", "lo", "", "lo", "Hello", nil},
		{"detect equal is delta", "Hi", "Hi", "", "Hi", "HiHi", nil},
		// The documented misreading: a delta that repeats the whole text so far.
		{"detect repeated-prefix delta misread", "ha", "haha", "", "ha", "haha", nil},
		{"multibyte delta", "Grüß", " 你好", ModeDelta, " 你好", "Grüß 你好", nil},
		{"multibyte accumulated", "Grü", "Grüß 🙂", ModeAccumulated, "ß 🙂", "Grüß 🙂", nil},
		{"multibyte detected", "你", "你好", "", "好", "你好", nil},
		// "é" as e+combining accent extends "e"; bytes decide, not characters.
		{"combining mark", "e", "e\u0301", "", "\u0301", "e\u0301", nil},
		{"bad mode", "a", "b", "Delta", "", "a", ErrUnknownMode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			delta, newText, err := Merge(tc.text, tc.chunk, tc.mode)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if delta != tc.delta || newText != tc.newText {
				t.Fatalf("Merge(%q, %q, %q) = (%q, %q), want (%q, %q)", tc.text, tc.chunk, tc.mode, delta, newText, tc.delta, tc.newText)
			}
			if err == nil && newText != tc.text+delta {
				t.Fatalf("newText %q is not text+delta", newText)
			}
		})
	}
}

func TestMergeTooLarge(t *testing.T) {
	text := strings.Repeat("a", MaxReplyBytes-1)
	if _, got, err := Merge(text, "b", ModeDelta); err != nil || len(got) != MaxReplyBytes {
		t.Fatalf("at limit: %v", err)
	}
	if _, got, err := Merge(text, "€", ModeDelta); !errors.Is(err, ErrReplyTooLarge) || got != text {
		t.Fatalf("over limit: err=%v len=%d", err, len(got))
	}
	if _, _, err := Merge(text, text+"bc", ""); !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("detected accumulated over limit: %v", err)
	}
}

// A client that appends stream_chunk deltas at their offsets rebuilds the
// agent's text byte for byte, in either mode, with multi-byte characters.
func TestMergeAssemblesStream(t *testing.T) {
	words := strings.Fields("Grüße aus Köln — 你好世界 🙂👋🏽 done. ")
	var sent strings.Builder
	for _, mode := range []string{ModeDelta, ModeAccumulated, ""} {
		sent.Reset()
		text, client := "", ""
		for i := 0; i < 200; i++ {
			w := words[i%len(words)] + " "
			sent.WriteString(w)
			chunk := w
			if mode == ModeAccumulated {
				chunk = sent.String()
			}
			offset := len(text)
			delta, next, err := Merge(text, chunk, mode)
			if err != nil {
				t.Fatalf("mode %q chunk %d: %v", mode, i, err)
			}
			if offset != len(client) {
				t.Fatalf("mode %q: offset %d, client holds %d", mode, offset, len(client))
			}
			if !utf8.ValidString(delta) {
				t.Fatalf("mode %q: delta %q splits a character", mode, delta)
			}
			client += delta
			text = next
		}
		if client != sent.String() || text != sent.String() {
			t.Fatalf("mode %q: assembled text differs", mode)
		}
	}
}
