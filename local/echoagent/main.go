// Command echoagent is the example agent of `make local`: it answers every
// message with "You said: " and the message, streamed word by word through
// relay/agentsdk. It calls nothing outside the relay. "/later <text>" shows
// a message the agent starts itself: the text comes back a few seconds later
// as an agent_message; "/ask <text>" asks for an approval first
// (agent_input_request) and echoes the text only if a member approves. In
// a group it addresses other agents when asked (an agent chain, with the
// SDK's Mention, MentionBack and LastHop): "/pass <agent> <text>" hands text
// to another agent, "/rally <agent>" starts two agents mentioning each other
// until the conversation's chain budget stops them. "/note <text>" uses a
// tool: with the sample notes app (notes.manifest.json) open for it in the
// conversation, it calls the app's add_note action (tool_call, the SDK's
// typed Tool) and says what the app answered. `make local` runs it
// twice, as Echo and as Parrot, in a demo group.
//
//	ARI_AGENT_TOKEN  the agent's secret (required; `ari-local demo` prints one)
//	ARI_RELAY_URL    the relay's agent socket (default ws://127.0.0.1:3502/ws/agent)
//	ECHO_MODE        delta (default): each word is sent as new text;
//	                 accumulated: each chunk is the whole reply so far
//	ECHO_DELAY       pause between words (default 60ms)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(ctx, log); err != nil {
		log.Error("echoagent stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	token := os.Getenv("ARI_AGENT_TOKEN")
	if token == "" {
		return errors.New("ARI_AGENT_TOKEN is not set (create an agent with POST /api/agents, or run `ari-local demo`)")
	}
	url := os.Getenv("ARI_RELAY_URL")
	if url == "" {
		url = agentsdk.DefaultURL
	}
	e := echo{mode: os.Getenv("ECHO_MODE"), delay: 60 * time.Millisecond}
	if e.mode == "" {
		e.mode = modeDelta
	}
	if e.mode != modeDelta && e.mode != modeAccumulated {
		return fmt.Errorf("ECHO_MODE %q: want %q or %q", e.mode, modeDelta, modeAccumulated)
	}
	if v := os.Getenv("ECHO_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("ECHO_DELAY %q: want a duration such as 60ms", v)
		}
		e.delay = d
	}
	log.Info("echoagent starting", "relay", url, "mode", e.mode, "delay", e.delay.String())
	return agentsdk.Run(ctx, agentsdk.Config{
		URL:     url,
		Token:   token,
		Skills:  []agentsdk.Skill{{Name: "echo", Description: "Repeats what you say, word by word"}},
		Handler: e.answer,
		Logger:  log,
	})
}
