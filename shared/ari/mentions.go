package ari

import "strings"

// Mentions returns the handles @mentioned in content, lower-cased, in order of
// first appearance, without repeats. A mention is "@" at the start or after a
// character that is not an ASCII letter or digit, "_", "-" or "." (so
// "a@b.com" is not one), followed by the longest run of [A-Za-z0-9_-].
// Agents are mentioned by their handle (AgentHandle of their name), and so are
// people, by the same rule applied to their display name.
func Mentions(content string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(content); i++ {
		if content[i] != '@' {
			continue
		}
		if i > 0 {
			p := toLowerASCII(content[i-1])
			if p == '.' || isHandleByte(p) {
				continue
			}
		}
		j := i + 1
		for j < len(content) && isHandleByte(toLowerASCII(content[j])) {
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

func isHandleByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func toLowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
