package main

import (
	"encoding/json"
	"testing"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/shared/appbridge"
)

// The sample manifest is one the apps route publishes, and in shared mode
// its add_note action is the tool echo's "/note" calls (clear is the
// user's alone).
func TestNotesManifest(t *testing.T) {
	if _, err := appbridge.ValidateManifest(notesManifest); err != nil {
		t.Fatal(err)
	}
	m, err := appbridge.ParseManifest(notesManifest)
	if err != nil {
		t.Fatal(err)
	}
	tools := appbridge.Tools(appbridge.Session{AppSlug: "notes", Mode: appbridge.ModeShared}, m)
	raw, err := json.Marshal(tools)
	if err != nil {
		t.Fatal(err)
	}
	task := &agentsdk.Task{Tools: raw}
	if len(tools) != 1 || tools[0].Name != "notes__add_note" || !addNote.Offered(task) {
		t.Fatalf("tools = %s", raw)
	}
	s := appbridge.Session{AppSlug: "notes", Mode: appbridge.ModeShared}
	if _, err := appbridge.ResolveCall(s, m, appbridge.ToolCall{ID: "c1", Name: "notes__add_note", Arguments: json.RawMessage(`{"text":"milk"}`)}, appbridge.ActorAgent); err != nil {
		t.Fatalf("a note: %v", err)
	}
	if _, err := appbridge.ResolveCall(s, m, appbridge.ToolCall{ID: "c2", Name: "notes__add_note", Arguments: json.RawMessage(`{"text":""}`)}, appbridge.ActorAgent); appbridge.ErrorCode(err) != appbridge.CodeInvalidArguments {
		t.Fatalf("an empty note: %v", err)
	}
}
