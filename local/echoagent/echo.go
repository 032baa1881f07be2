package main

import (
	"context"
	"fmt"
	"time"
	"unicode"

	"github.com/ari-chat/ari-server/relay/agentsdk"
)

const (
	modeDelta       = "delta"
	modeAccumulated = "accumulated"
)

type echo struct {
	mode  string
	delay time.Duration
}

// answer says it is writing (agent_status, shown to members as
// stream_status), then streams reply(task) one word at a time.
func (e echo) answer(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
	if err := s.SendStatus(agentsdk.StateWriting, "Echoing your message"); err != nil {
		return err
	}
	text := ""
	for i, piece := range words(reply(task)) {
		if i > 0 && e.delay > 0 {
			select {
			case <-time.After(e.delay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		text += piece
		var err error
		if e.mode == modeAccumulated {
			err = s.Set(text)
		} else {
			err = s.Write(piece)
		}
		if err != nil {
			return err
		}
	}
	return s.Complete()
}

// reply is what echo says; asked again (a regenerate), it says which take
// this is, so a newcomer sees the new version differ from the old one.
func reply(task *agentsdk.Task) string {
	text := "You said: " + task.Message.Content
	if task.Message.Content == "" {
		n := len(task.Message.Attachments)
		if n == 1 {
			text = "You sent 1 attachment."
		} else {
			text = fmt.Sprintf("You sent %d attachments.", n)
		}
	}
	if r := task.Regenerate; r != nil {
		text = fmt.Sprintf("(take %d) %s", r.Version, text)
	}
	return text
}

// words cuts s into pieces that each end after a run of spaces, so the
// pieces joined give s back exactly (newlines and double spaces included).
func words(s string) []string {
	var out []string
	start, inSpace := 0, false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if inSpace && !space {
			out = append(out, s[start:i])
			start = i
		}
		inSpace = space
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
