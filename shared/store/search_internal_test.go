package store

import "testing"

func TestSplitPrefix(t *testing.T) {
	for q, want := range map[string][2]string{
		"lisb":             {"", "lisb"},
		"trip lisb  ":      {"trip ", "lisb"},
		"trip -lisb":       {"trip -lisb", ""},
		"a-lisb":           {"a-", "lisb"},
		`"the trip`:        {`"the trip`, ""},
		`"the trip" lis`:   {`"the trip" `, "lis"},
		"trip!":            {"trip!", ""},
		"&|!:*":            {"&|!:*", ""},
		"straße":           {"", "straße"},
		"naïve café":       {"naïve ", "café"},
		"x 東京":             {"x ", "東京"},
		"'; drop table --": {"'; drop table --", ""},
		"abc123":           {"", "abc123"},
	} {
		rest, last := splitPrefix(q)
		if rest != want[0] || last != want[1] {
			t.Errorf("splitPrefix(%q) = %q, %q; want %q, %q", q, rest, last, want[0], want[1])
		}
	}
}

func TestHighlight(t *testing.T) {
	for in, want := range map[string]string{
		"a \x02b\x03 c":            "a <mark>b</mark> c",
		"<script>\x02x\x03":        "&lt;script&gt;<mark>x</mark>",
		"\x03stray\x02open":        "stray<mark>open</mark>",
		"\x02a\x02b\x03\x03 & 'q'": "<mark>ab</mark> &amp; &#39;q&#39;",
	} {
		if got := highlight(in); got != want {
			t.Errorf("highlight(%q) = %q, want %q", in, got, want)
		}
	}
}
