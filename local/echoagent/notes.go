package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"github.com/ari-chat/ari-server/relay/agentsdk"
)

// notesManifest is the sample app whose tool echo uses: publish it as a
// version of an app (POST /api/developer/apps/{id}/versions), install it,
// open it in a conversation with Echo in shared or agent_only mode, then
// write "/note <text>".
//
//go:embed notes.manifest.json
var notesManifest []byte

// addNote is the sample app's add_note action as a typed tool.
var addNote = agentsdk.Tool[noteArgs, noteResult]{Name: "add_note"}

type noteArgs struct {
	Text string `json:"text"`
}

// noteResult is what the app answers; apps choose their results, this one
// says how many notes the board holds.
type noteResult struct {
	Count int `json:"count"`
}

// note pins text with the open notes app's add_note tool and says what the
// app answered.
func (e echo) note(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream, text string) error {
	text = strings.TrimSpace(text)
	if !addNote.Offered(task) {
		return s.CompleteWith("No notes app is open for me here: open the sample app (local/echoagent/notes.manifest.json) in shared mode with me, then try again.")
	}
	if err := s.SendStatus(agentsdk.StateTool, "Pinning a note"); err != nil {
		return err
	}
	res, err := addNote.Call(ctx, s, noteArgs{Text: text})
	var te *agentsdk.ToolError
	switch {
	case errors.As(err, &te):
		return s.CompleteWith(fmt.Sprintf("The notes app said no: %s (%s).", te.Message, te.Code))
	case err != nil:
		return err
	}
	return s.CompleteWith(fmt.Sprintf("Pinned %q; the board holds %d notes.", text, res.Count))
}
