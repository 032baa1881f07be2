package protocol

import (
	"reflect"
	"testing"
)

func TestHandle(t *testing.T) {
	cases := map[string]string{
		"Echo":           "echo",
		"Ari Bot":        "ari-bot",
		"my_agent-2":     "my_agent-2",
		"Café":           "caf-",
		"GPT 4.1 (fast)": "gpt-4-1--fast-",
		"🤖":              "-",
		"":               "",
	}
	for name, want := range cases {
		if got := Handle(name); got != want {
			t.Errorf("Handle(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestMentions(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"@echo hi", []string{"echo"}},
		{"hi @Ari-Bot, and @echo!", []string{"ari-bot", "echo"}},
		{"mail a@b.com or x.@y", nil},
		{"@echo @ECHO @echo", []string{"echo"}},
		{"(@caf-) 你好@bot", []string{"caf-", "bot"}},
		{"@ alone and @", nil},
		{"line\n@next_line", []string{"next_line"}},
	}
	for _, tc := range cases {
		if got := Mentions(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Mentions(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A mention typed from Handle's output finds the agent again.
func TestMentionFindsHandle(t *testing.T) {
	for _, name := range []string{"Ari Bot", "Café", "R2-D2", "x_y"} {
		h := Handle(name)
		got := Mentions("hey @" + h + " ?")
		if len(got) != 1 || got[0] != h {
			t.Errorf("name %q handle %q: mentions %q", name, h, got)
		}
	}
}
