package a2a

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// PROTOCOL.md §14's example call is what the client sends for that task.
func TestSpecExampleCall(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "### What an A2A agent receives")
	if !ok {
		t.Fatal("PROTOCOL.md has no \"What an A2A agent receives\"")
	}
	_, rest, ok = strings.Cut(rest, "```jsonc\n")
	if !ok {
		t.Fatal("no example call")
	}
	example, _, _ := strings.Cut(rest, "```")
	var call struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal([]byte(example), &call); err != nil {
		t.Fatalf("example is not JSON: %v", err)
	}
	task := Task{TaskID: "r_42", MessageID: "r_42", ConversationID: "c_01", Text: "Wie spät ist es in 東京?",
		History: []Turn{{Role: "user", Name: "Ada", Text: "Hallo!"}, {Role: "agent", Name: "Echo Bot", Text: "Hallo!"}}}
	ours, err := json.Marshal(V1.streamParams(task, ""))
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	_ = json.Unmarshal(call.Params, &want)
	_ = json.Unmarshal(ours, &got)
	if call.Method != V1.streamMethod() || !reflect.DeepEqual(want, got) {
		t.Fatalf("PROTOCOL.md shows %s %s\nthe client sends %s %s", call.Method, call.Params, V1.streamMethod(), ours)
	}
}
