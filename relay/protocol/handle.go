package protocol

import "strings"

// Handle is how an agent is @mentioned in a group: its name in lower case with
// every character outside [a-z0-9_-] replaced by "-". "Ari Bot" → "ari-bot",
// "Café" → "caf-". Nothing is trimmed or collapsed, so the rule stays easy to
// reproduce in any client.
func Handle(name string) string {
	return strings.Map(func(r rune) rune {
		if isHandleByte(r) {
			return r
		}
		return '-'
	}, strings.ToLower(name))
}

func isHandleByte(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// Mentions returns the handles @mentioned in content, lower-cased, in order of
// first appearance, without repeats. A mention is "@" at the start or after a
// character that is not an ASCII letter or digit, "_", "-" or "." (so
// "a@b.com" is not one), followed by the longest run of [A-Za-z0-9_-].
func Mentions(content string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(content); i++ {
		if content[i] != '@' {
			continue
		}
		if i > 0 {
			p := content[i-1]
			if p == '.' || isHandleByte(rune(toLowerASCII(p))) {
				continue
			}
		}
		j := i + 1
		for j < len(content) && isHandleByte(rune(toLowerASCII(content[j]))) {
			j++
		}
		if j == i+1 {
			continue
		}
		h := strings.ToLower(content[i+1 : j])
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
		i = j - 1
	}
	return out
}

func toLowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
