package ari

import (
	"strings"
	"testing"
)

func TestValidEmoji(t *testing.T) {
	for _, ok := range []string{
		"👍", "👍🏽", "❤️", "❤", "❤️‍🔥", "😀", "🫠", "🟢", "☕", "✅", "©️", "🇩🇪", "🇺🇸", "1️⃣", "#⃣", "*️⃣",
		"👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🏃‍♂️", "🧑🏿‍🚀", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "👩🏻‍❤️‍💋‍👨🏼", "👨🏻‍👩🏼‍👧🏽‍👦🏾",
	} {
		if !ValidEmoji(ok) {
			t.Errorf("%q (% x) refused", ok, []byte(ok))
		}
	}
	for _, bad := range []string{
		"", "a", "1", "#", "ok", "👍👍", "👍 ", " 👍", "🇩", "🇩🇪🇫🇷", "\u200d", "👍\u200d", "\u200d👍", "🏽", "\ufe0f",
		"👍a", "1⃣⃣", "12⃣", "<script>", "\x00", "\xff", "👍\ufe0f\ufe0f\ufe0f", "😀󠁧󠁿", strings.Repeat("👍\u200d", 9) + "👍", strings.Repeat("👨🏻\u200d", 9) + "👍",
	} {
		if ValidEmoji(bad) {
			t.Errorf("%q (% x) accepted", bad, []byte(bad))
		}
	}
}
