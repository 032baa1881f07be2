package a2a

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReason(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  model overloaded\r\n", "model overloaded"},
		{"a\x00b\x1b[1mc\u0085d\u2028e\tf", "ab[1mcde f"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"\x07\x08", ""},
		{strings.Repeat("é", MaxReasonBytes/2), strings.Repeat("é", MaxReasonBytes/2)}, // exactly the bound
	} {
		if got := reason(tc.in); got != tc.want {
			t.Errorf("reason(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Over the bound: cut at a character boundary, ellipsis included in the bound.
	got := reason("x" + strings.Repeat("日本", MaxReasonBytes))
	if len(got) > MaxReasonBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, "本…") && !strings.HasSuffix(got, "日…") {
		t.Fatalf("cut to %d bytes, ends %q", len(got), got[len(got)-12:])
	}
	if got := rpcReason(&RPCError{Code: -32000, Message: "\x00"}); got != "the agent reported an error (code -32000)" {
		t.Fatalf("empty message: %q", got)
	}
}
