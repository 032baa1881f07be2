package protocol

// Agent chains (PROTOCOL.md section 13): an agent's finished reply in a
// group that @mentions another agent member gives that agent a task whose
// message is the mentioning reply.

// TypeChainLimit is the event members get when a chain's budget stops it.
const TypeChainLimit = "chain_limit"

// TaskChain is set on a task whose reply another agent's mention caused.
type TaskChain struct {
	// RootMessageID is the person's message that started the chain.
	RootMessageID string `json:"rootMessageId"`
	// Hop is this reply's agent-to-agent hop: 1 for the first.
	Hop int `json:"hop"`
	// MaxHops is the conversation's hop budget: a reply at hop MaxHops
	// that mentions an agent sets nothing off (chain_limit instead).
	MaxHops int `json:"maxHops"`
	// MentionedBy is the agent whose reply (the task's message) mentioned
	// this one.
	MentionedBy ChainAgent `json:"mentionedBy"`
}

// ChainAgent names an agent in a chain; Handle is what to write after @.
type ChainAgent struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Handle string `json:"handle"`
}

// ChainLimitData is the payload of the chain_limit event: MessageID is the
// finished reply whose mentions were not followed, Hops the agent-to-agent
// hops its chain had made.
type ChainLimitData struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Hops           int    `json:"hops"`
}
