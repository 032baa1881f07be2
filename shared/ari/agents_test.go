package ari

import (
	"regexp"
	"strings"
	"testing"
)

func TestAgentHandle(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9_-]{1,64}$`) // agents.handle's CHECK
	for name, want := range map[string]string{
		"Echo Bot":                     "echo-bot",
		"  --Weather!!  Now--":         "weather-now",
		"snake_case-ok":                "snake_case-ok",
		"Café Ünïcode":                 "caf-n-code",
		"!!!":                          "",
		"日本":                           "",
		strings.Repeat("a", 63) + " b": strings.Repeat("a", 63),
		strings.Repeat("x", 80):        strings.Repeat("x", 64),
	} {
		got := AgentHandle(name)
		if got != want {
			t.Errorf("AgentHandle(%q) = %q, want %q", name, got, want)
		}
		if got != "" && !valid.MatchString(got) {
			t.Errorf("AgentHandle(%q) = %q breaks the table's check", name, got)
		}
	}
}

func TestAgentToken(t *testing.T) {
	tok, hash, hint, err := NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ari_[0-9a-f]{48}$`).MatchString(tok) || !WellFormedAgentToken(tok) {
		t.Fatalf("token %q", tok)
	}
	if len(hash) != 32 || string(hash) != string(HashAgentToken(tok)) {
		t.Fatal("hash is not sha256 of the token")
	}
	if strings.Contains(hint, tok[4:40]) || !strings.HasSuffix(hint, tok[len(tok)-4:]) {
		t.Fatalf("hint %q reveals too much or too little", hint)
	}
	other, _, _, _ := NewAgentToken()
	if other == tok {
		t.Fatal("two tokens are equal")
	}
	for _, bad := range []string{"", tok[:51], tok + "a", "ari_" + strings.Repeat("A", 48), "ari-" + tok[4:]} {
		if WellFormedAgentToken(bad) {
			t.Errorf("WellFormedAgentToken(%q) = true", bad)
		}
	}
}

func TestValidateSkills(t *testing.T) {
	if bad := ValidateSkills([]Skill{{Name: "a"}, {Name: "b", Description: "x"}}); len(bad) != 0 {
		t.Fatalf("valid skills refused: %v", bad)
	}
	bad := ValidateSkills([]Skill{{Name: "a"}, {Name: "a"}, {Name: " "}, {Name: strings.Repeat("n", 65)},
		{Name: "d", Description: strings.Repeat("d", 1025)}, {Name: "\xff"}})
	for _, f := range []string{"skills[1].name", "skills[2].name", "skills[3].name", "skills[4].description", "skills[5].name"} {
		if bad[f] == "" {
			t.Errorf("%s not reported (got %v)", f, bad)
		}
	}
	if _, ok := bad["skills[0].name"]; ok {
		t.Error("the first of two duplicates is fine")
	}
	many := make([]Skill, MaxSkills+1)
	for i := range many {
		many[i].Name = strings.Repeat("s", i%60+1) + string(rune('a'+i%26))
	}
	if ValidateSkills(many)["skills"] == "" {
		t.Error("too many skills accepted")
	}
}
