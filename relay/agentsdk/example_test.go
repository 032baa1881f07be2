package agentsdk_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
)

// An agent that answers every message by repeating it word by word. Create
// the agent with POST /api/agents to get its token, then run this with
// ARI_AGENT_TOKEN set; Ctrl-C stops it cleanly.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := agentsdk.Run(ctx, agentsdk.Config{
		URL:    "ws://127.0.0.1:3502/ws/agent",
		Token:  os.Getenv("ARI_AGENT_TOKEN"),
		Skills: []agentsdk.Skill{{Name: "echo", Description: "Repeats what you say, word by word"}},
		Handler: func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
			for i, word := range strings.Fields(task.Message.Content) {
				if i > 0 {
					word = " " + word
				}
				if err := s.Write(word); err != nil {
					return err // cancelled: the relay no longer wants the reply
				}
				select {
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return s.Complete()
		},
	})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
}

// An agent in a chain answers the agent that mentioned it, and stops
// passing the ball when the chain's budget is spent.
func ExampleMentionBack() {
	task := &agentsdk.Task{Chain: &agentsdk.Chain{RootMessageID: "msg_40", Hop: 2, MaxHops: 4,
		MentionedBy: agentsdk.ChainAgent{ID: "ag_ping", Name: "Ping Bot", Handle: "ping-bot"}}}
	reply := "Done."
	if !agentsdk.LastHop(task) {
		reply = "Done, over to you " + agentsdk.MentionBack(task) + " and " + agentsdk.Mention("Calendar Helper")
	}
	fmt.Println(reply)
	// Output: Done, over to you @ping-bot and @calendar-helper
}
