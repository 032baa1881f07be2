package a2a

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxReasonBytes bounds an agent's own words shown to users as the reason a
// reply failed: the same bound a socket agent's agent_error has.
const MaxReasonBytes = 2048

// reason makes text the agent chose (a JSON-RPC error message, a failed
// task's status message) fit to show: valid UTF-8, control characters gone
// (line breaks and tabs become spaces, so a message cannot fake lines of its
// own), trimmed, and cut at a character boundary to MaxReasonBytes, an
// ellipsis marking the cut.
func reason(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) <= MaxReasonBytes {
		return s
	}
	const ellipsis = "…"
	cut := MaxReasonBytes - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + ellipsis
}

// rpcReason is what users read when the agent answered with a JSON-RPC
// error, before or during its stream.
func rpcReason(e *RPCError) string {
	if msg := reason(e.Message); msg != "" {
		return "the agent reported an error: " + msg
	}
	return fmt.Sprintf("the agent reported an error (code %d)", e.Code)
}
