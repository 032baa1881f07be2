package auth

import (
	"strings"
	"testing"
)

func TestGenerateID(t *testing.T) {
	seen := make(map[string]bool)
	counts := make(map[rune]int)
	for range 2000 {
		id := GenerateID(IDLength)
		if len(id) != 32 {
			t.Fatalf("GenerateID(32) = %q, length %d", id, len(id))
		}
		if seen[id] {
			t.Fatalf("GenerateID repeated %q", id)
		}
		seen[id] = true
		for _, r := range id {
			if !strings.ContainsRune(IDAlphabet, r) {
				t.Fatalf("GenerateID produced %q outside [a-zA-Z0-9]", r)
			}
			counts[r]++
		}
	}
	if got := len(GenerateID(0)); got != IDLength {
		t.Errorf("GenerateID(0) has length %d, want the default %d", got, IDLength)
	}
	// 64000 draws over 62 symbols: ~1032 each. Modulo folding without
	// rejection would give the first 8 symbols (256 mod 62) 5/4 the weight
	// of the rest, ~1250 vs ~1000; the band below catches that.
	if len(counts) != len(IDAlphabet) {
		t.Fatalf("only %d of %d symbols appeared", len(counts), len(IDAlphabet))
	}
	for r, n := range counts {
		if n < 850 || n > 1220 {
			t.Errorf("symbol %q appeared %d times, want about 1032", r, n)
		}
	}
}

func TestRandomStringAlphabet(t *testing.T) {
	s := RandomString(128, URLSafeAlphabet)
	if len(s) != 128 {
		t.Fatalf("length %d", len(s))
	}
	for _, r := range s {
		if !strings.ContainsRune(URLSafeAlphabet, r) {
			t.Fatalf("%q outside the URL-safe alphabet", r)
		}
	}
	if RandomString(0, IDAlphabet) != "" || RandomString(5, "") != "" {
		t.Error("degenerate input should give an empty string")
	}
}
