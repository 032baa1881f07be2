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
