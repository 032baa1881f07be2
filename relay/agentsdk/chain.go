package agentsdk

import (
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
)

// Chain is where a task stands in an agent chain (Task.Chain): set when
// another agent's finished reply mentioned this agent, nil for a reply to a
// person. Task.Message is then that agent's reply.
type Chain = protocol.TaskChain

// ChainAgent names the agent whose reply mentioned this one.
type ChainAgent = protocol.ChainAgent

// Mention returns the text that addresses an agent in a group: "@" and its
// handle. A name is turned into its handle by the relay's rule ("Pong Bot"
// → "@pong-bot"). An agent member mentioned in a reply that completes gets
// a task of its own, within the conversation's chain budget
// (relay/PROTOCOL.md section 13); a mention of the replying agent itself
// sets nothing off.
func Mention(nameOrHandle string) string { return "@" + ari.AgentHandle(nameOrHandle) }

// MentionBack returns the mention of the agent whose reply this task
// answers, or "" when the task answers a person.
func MentionBack(t *Task) string {
	if t == nil || t.Chain == nil || t.Chain.MentionedBy.Handle == "" {
		return ""
	}
	return "@" + t.Chain.MentionedBy.Handle
}

// LastHop reports whether the task's chain has spent its hop budget: a
// mention in this reply starts nothing more (members get chain_limit).
func LastHop(t *Task) bool {
	return t != nil && t.Chain != nil && t.Chain.Hop >= t.Chain.MaxHops
}
