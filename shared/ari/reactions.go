package ari

import "unicode/utf8"

// MaxEmojiBytes bounds a reaction. 32 would refuse real emoji: a kissing
// couple with two skin tones is 35 bytes, a family with four is 41. (The
// table's CHECK counts characters, at most 32; these are 10 to 11.)
const MaxEmojiBytes = 64

// MaxReactionsPerUser bounds the different reactions one user puts on one message.
const MaxReactionsPerUser = 20

// ReactionCount is how many members reacted to a message with Emoji, and
// whether the caller is one of them.
type ReactionCount struct {
	Emoji string `json:"emoji"`
	Count int64  `json:"count"`
	Me    bool   `json:"me"`
}

// ValidEmoji reports whether s is exactly one emoji: a pictograph with an
// optional presentation selector or skin tone, several of them joined by
// ZWJ (U+200D), a flag (two regional indicators), a subdivision flag (black
// flag plus tag characters), or a keycap. It is a compact grammar over the
// emoji blocks of Unicode 15, not the full UTS #51 list: it refuses text,
// stray modifiers and sequences of several emoji, which is what matters here.
func ValidEmoji(s string) bool {
	if s == "" || len(s) > MaxEmojiBytes || !utf8.ValidString(s) {
		return false
	}
	rs := []rune(s)
	if len(rs) == 2 && isRegional(rs[0]) && isRegional(rs[1]) {
		return true
	}
	if isKeycapBase(rs[0]) {
		rest := rs[1:]
		if len(rest) > 0 && rest[0] == 0xFE0F {
			rest = rest[1:]
		}
		return len(rest) == 1 && rest[0] == 0x20E3
	}
	for i := 0; ; {
		if i >= len(rs) || !isPictograph(rs[i]) {
			return false
		}
		i++
		for n := 0; n < 2 && i < len(rs) && (rs[i] == 0xFE0F || isSkinTone(rs[i])); n++ {
			i++
		}
		if i < len(rs) && isTag(rs[i]) {
			if rs[i-1] != 0x1F3F4 {
				return false
			}
			for i < len(rs) && isTag(rs[i]) {
				i++
			}
			if i >= len(rs) || rs[i] != 0xE007F {
				return false
			}
			i++
		}
		if i == len(rs) {
			return true
		}
		if rs[i] != 0x200D {
			return false
		}
		i++
	}
}

func isRegional(r rune) bool   { return r >= 0x1F1E6 && r <= 0x1F1FF }
func isSkinTone(r rune) bool   { return r >= 0x1F3FB && r <= 0x1F3FF }
func isTag(r rune) bool        { return r >= 0xE0020 && r <= 0xE007E }
func isKeycapBase(r rune) bool { return r == '#' || r == '*' || (r >= '0' && r <= '9') }

// pictographs are the code points that are emoji on their own.
var pictographs = [][2]rune{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049}, {0x2122, 0x2122},
	{0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA}, {0x231A, 0x231B}, {0x2328, 0x2328},
	{0x23CF, 0x23CF}, {0x23E9, 0x23F3}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2}, {0x25AA, 0x25AB},
	{0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FE}, {0x2600, 0x27BF}, {0x2934, 0x2935},
	{0x2B05, 0x2B07}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x3030, 0x3030},
	{0x303D, 0x303D}, {0x3297, 0x3297}, {0x3299, 0x3299}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
	{0x1F170, 0x1F171}, {0x1F17E, 0x1F17F}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
	{0x1F201, 0x1F202}, {0x1F21A, 0x1F21A}, {0x1F22F, 0x1F22F}, {0x1F232, 0x1F23A},
	{0x1F250, 0x1F251}, {0x1F300, 0x1F3FA}, {0x1F400, 0x1F64F}, {0x1F680, 0x1F6FF},
	{0x1F7E0, 0x1F7FF}, {0x1F900, 0x1F9FF}, {0x1FA70, 0x1FAFF},
}

func isPictograph(r rune) bool {
	for _, p := range pictographs {
		if r < p[0] {
			return false
		}
		if r <= p[1] {
			return true
		}
	}
	return false
}
