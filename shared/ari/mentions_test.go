package ari

import (
	"reflect"
	"testing"
)

func TestMentions(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"@echo hi", []string{"echo"}},
		{"hi @Ari-Bot, and @echo!", []string{"ari-bot", "echo"}},
		{"mail a@b.com or x.@y", nil},
		{"@echo @ECHO @echo", []string{"echo"}},
		{"(@caf) 你好@bot", []string{"caf", "bot"}},
		{"@ alone and @", nil},
		{"line\n@next_line", []string{"next_line"}},
	}
	for _, tc := range cases {
		if got := Mentions(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Mentions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A mention typed from AgentHandle's output finds the name again.
func TestMentionFindsHandle(t *testing.T) {
	for _, name := range []string{"Ari Bot", "Café", "R2-D2", "x_y", "GPT 4.1 (fast)", "Ada Lovelace"} {
		h := AgentHandle(name)
		got := Mentions("hey @" + h + " ?")
		if len(got) != 1 || got[0] != h {
			t.Errorf("name %q handle %q: mentions %q", name, h, got)
		}
	}
}
