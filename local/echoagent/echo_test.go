package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/relay/protocol"
)

func TestWordsKeepEveryByte(t *testing.T) {
	for _, s := range []string{"", "a", "Hallo Welt", "  lead", "trail  ", "Wie spät\nist es in 東京? 🙂  ok"} {
		got := words(s)
		if strings.Join(got, "") != s {
			t.Fatalf("words(%q) joined = %q", s, strings.Join(got, ""))
		}
	}
	if got, want := words("You said: hi  there"), []string{"You ", "said: ", "hi  ", "there"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("words = %q, want %q", got, want)
	}
}

func TestReply(t *testing.T) {
	if got := reply(&agentsdk.Task{Message: protocol.TaskMessage{Content: "hi"}}); got != "You said: hi" {
		t.Fatalf("reply = %q", got)
	}
	att := []protocol.Attachment{{ID: "a"}, {ID: "b"}}
	if got := reply(&agentsdk.Task{Message: protocol.TaskMessage{Attachments: att}}); got != "You sent 2 attachments." {
		t.Fatalf("reply = %q", got)
	}
	again := &agentsdk.Task{Message: protocol.TaskMessage{Content: "hi"},
		Regenerate: &protocol.TaskRegenerate{Version: 2, PreviousReplyID: "r1", PreviousContent: "You said: hi"}}
	if got := reply(again); got != "(take 2) You said: hi" {
		t.Fatalf("reply to a regenerate = %q", got)
	}
}

// In a group echo addresses other agents when asked (agent chains): /pass
// hands text on, /rally mentions an agent, and a chain task is answered
// with the hop, mentioning back in a rally and saying so at the last hop.
func TestReplyInAgentChains(t *testing.T) {
	person := func(content string) *agentsdk.Task {
		return &agentsdk.Task{Message: protocol.TaskMessage{Content: content}}
	}
	if got := reply(person("@echo /pass Parrot Wie spät ist es?")); got != "@parrot Wie spät ist es?" {
		t.Fatalf("/pass = %q", got)
	}
	if got := reply(person("@echo /rally @parrot")); got != "@parrot /rally — your turn" {
		t.Fatalf("/rally = %q", got)
	}
	if got := reply(person("@echo /rally")); got != "You said: @echo /rally" {
		t.Fatalf("/rally without an agent = %q", got)
	}
	hop := func(content string, hop, max int) *agentsdk.Task {
		return &agentsdk.Task{Message: protocol.TaskMessage{Content: content}, Chain: &agentsdk.Chain{RootMessageID: "m1", Hop: hop, MaxHops: max,
			MentionedBy: agentsdk.ChainAgent{ID: "ag_echo", Name: "Echo", Handle: "echo"}}}
	}
	if got := reply(hop("@parrot /rally — your turn", 1, 4)); got != "@echo /rally — back to you (hop 1 of 4)" {
		t.Fatalf("rally hop 1 = %q", got)
	}
	if got := reply(hop("@parrot /rally — back to you (hop 3 of 4)", 4, 4)); !strings.HasPrefix(got, "@echo /rally — back to you (hop 4 of 4); that was the chain's last hop") {
		t.Fatalf("rally at the last hop = %q", got)
	}
	if got := reply(hop("@parrot Wie spät ist es?", 1, 4)); got != "(hop 1 of 4, Echo asked me) You said: @parrot Wie spät ist es?" {
		t.Fatalf("a passed message = %q", got)
	}
}
