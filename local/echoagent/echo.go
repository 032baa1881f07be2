package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// laterDelay is how long "/later <text>" waits before posting the text.
const laterDelay = 3 * time.Second

// answer says it is writing (agent_status, shown to members as
// stream_status), then streams reply(task) one word at a time. A message
// "/later <text>" is answered at once and its text posted again as a
// message of the agent's own (agent_message) a few seconds later.
func (e echo) answer(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
	if text, ok := strings.CutPrefix(task.Message.Content, "/later "); ok && strings.TrimSpace(text) != "" {
		return e.later(ctx, task, s, text)
	}
	if text, ok := strings.CutPrefix(task.Message.Content, "/ask"); ok {
		return e.ask(ctx, s, strings.TrimSpace(text))
	}
	if text, ok := strings.CutPrefix(task.Message.Content, "/note "); ok && strings.TrimSpace(text) != "" {
		return e.note(ctx, task, s, text)
	}
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

// ask shows a question waiting for a person: it asks for an approval to
// echo text (agent_input_request), waits however long that takes, and
// answers by what the member decided.
func (e echo) ask(ctx context.Context, s *agentsdk.Stream, text string) error {
	if text == "" {
		text = "nothing"
	}
	if err := s.Write("Let me check with you first. "); err != nil {
		return err
	}
	a, err := s.Approve(ctx, fmt.Sprintf("May I echo %q?", text))
	switch {
	case errors.Is(err, agentsdk.ErrInputTimeout):
		return s.Write("Nobody answered, so I keep it to myself.")
	case err != nil:
		return err
	case a.Approved:
		return s.Write("Approved: " + text)
	}
	return s.Write("Declined; I keep it to myself.")
}

// later completes the reply, waits, then posts text in the conversation; the
// reply's id makes the post's clientMessageId, so a retry is stored once.
func (e echo) later(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream, text string) error {
	if err := s.CompleteWith(fmt.Sprintf("I will post it in %s.", laterDelay)); err != nil {
		return err
	}
	select {
	case <-time.After(laterDelay):
	case <-ctx.Done():
		return nil // stopping: the reminder is lost with the agent
	}
	_, err := s.Agent().Post(ctx, task.ConversationID, "⏰ "+text, "later-"+task.MessageID)
	return err
}

// rallyWord marks a rally: two agents that hand a message back and forth,
// each reply mentioning the other, until the conversation's chain budget
// stops them (relay/PROTOCOL.md section 13).
const rallyWord = "/rally"

// reply is what echo says; asked again (a regenerate), it says which take
// this is, so a newcomer sees the new version differ from the old one. In a
// group it addresses another agent when asked: "/pass <agent> <text>"
// hands text to the agent, "/rally <agent>" starts a rally with it.
func reply(task *agentsdk.Task) string {
	if task.Chain != nil {
		return chainReply(task)
	}
	cmd := command(task.Message.Content)
	if f := strings.Fields(strings.TrimPrefix(cmd, rallyWord)); strings.HasPrefix(cmd, rallyWord+" ") && len(f) > 0 {
		return agentsdk.Mention(f[0]) + " " + rallyWord + " — your turn"
	}
	if rest, ok := strings.CutPrefix(cmd, "/pass "); ok {
		if name, text, ok := strings.Cut(strings.TrimSpace(rest), " "); ok && strings.TrimSpace(text) != "" {
			return agentsdk.Mention(name) + " " + strings.TrimSpace(text)
		}
	}
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

// chainReply answers another agent's reply that mentioned echo (an agent
// chain): in a rally it mentions that agent back, saying which hop this is
// and, at the chain's last hop, that its mention starts nothing more (the
// members then get chain_limit); otherwise it echoes, naming who asked.
func chainReply(task *agentsdk.Task) string {
	c := task.Chain
	where := fmt.Sprintf("hop %d of %d", c.Hop, c.MaxHops)
	if strings.Contains(task.Message.Content, rallyWord) {
		text := agentsdk.MentionBack(task) + " " + rallyWord + " — back to you (" + where + ")"
		if agentsdk.LastHop(task) {
			text += "; that was the chain's last hop, so this mention starts nothing"
		}
		return text
	}
	return fmt.Sprintf("(%s, %s asked me) You said: %s", where, c.MentionedBy.Name, task.Message.Content)
}

// command is a person's message without the @mentions it starts with
// ("@echo /rally parrot" → "/rally parrot").
func command(content string) string {
	rest := strings.TrimSpace(content)
	for strings.HasPrefix(rest, "@") {
		i := strings.IndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			return ""
		}
		rest = strings.TrimSpace(rest[i:])
	}
	return rest
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
