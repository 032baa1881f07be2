// Package a2a is the relay's client for agents that have no socket but an
// A2A endpoint (JSON-RPC + SSE). The relay's pipeline uses it the way it
// uses a socket agent: hand over a Task, receive text chunks through Emit,
// and get exactly one Outcome (complete, error, cancelled, input_required).
//
//	c := a2a.New(a2a.Options{IdleTimeout: 2 * time.Minute})
//	out, err := c.Run(ctx, agent, task, func(text string, accumulated bool) error {…})
//	err = c.Cancel(ctx, agent, remoteTaskID) // from Task.OnRemoteTask or Outcome
//
// An agent with neither a live socket nor an endpoint ends at once with
// Status error, Error "agent_offline: …" and ErrNoEndpoint, so the pipeline
// can settle the reply instead of waiting.
//
// # Dialects
//
// Three wire dialects exist (see shared/reference/a2a/FACTS.md): v1.0
// SendStreamingMessage (header A2A-Version: 1.0), v0.2/v0.3 message/stream,
// and v0.1 tasks/sendSubscribe. The agent card is fetched from
// {endpoint}/.well-known/agent-card.json, then agent.json, then both at the
// endpoint's origin root. A v1.0 JSON-RPC interface in supportedInterfaces
// picks v1.0; a 0.x interface or a card url picks v0.3. When the agent
// answers -32601 (method not found) or -32009 (version not supported)
// before streaming, the client steps down v1.0 → v0.3 → v0.1 and remembers,
// in memory, per agent id and endpoint, the dialect that worked.
//
// # Auth header
//
// Agent.AuthHeader comes from the agent row and is sent on the card fetch
// and on every call. "Name: value" (Name a valid header name, e.g.
// "X-Api-Key: k1" or "Authorization: Basic dXNlcjpwdw==") sends that
// header. Anything else is an Authorization value: a single word is a
// bearer token ("tok" sends "Authorization: Bearer tok"), text with a space
// is sent as is ("Bearer tok"). So write Basic credentials with the
// explicit "Authorization:" prefix, since "user:pw" would read as a header
// named user. A 401 or 403 returns ErrUnauthorized and is never retried.
// The header goes only to the endpoint's origin: with one set, a card whose
// JSON-RPC URL is on another origin is refused (ErrForeignRPCOrigin), and a
// redirect to another origin is followed without it (origin.go).
//
// # Text
//
// Artifact updates are the reply (chunks keyed by artifactId, or index in
// v0.1; append concatenates, otherwise it replaces). Without artifacts,
// status-message deltas are the reply; a single one is held back until a
// second arrives or the stream ends, because it is often a progress note.
// Then the final status message, then a lone Message. Emit gets deltas
// while the best text grows by appending and the whole text (accumulated)
// when it changes otherwise, so the caller always ends with FinalText.
//
// # Ending and timeouts
//
// A run ends on completed, failed, rejected, canceled, input-required or
// auth-required, or at end of stream; "final" flags are not trusted (v1.0
// has none). A stream that ends in a working state counts as complete when
// it produced text. There is no whole-request timeout: ctx bounds the run
// and Options.IdleTimeout the silence between bytes, the wait for the
// response headers included (SDK 1.3 sends none before the agent's first
// event). The relay ends silent agents through ctx, after the same
// first-chunk and idle timeouts as socket agents, and sets IdleTimeout
// beyond both as a backstop. Closing a stream does not stop an A2A agent,
// so a run cut short by idle timeout, ctx or an Emit error sends the
// dialect's cancel call (CancelTask / tasks/cancel) itself once the agent
// has named its task; a v0.1 agent works on the client's task id, so it
// is cancelled also when it never answered.
//
// # Questions (input-required)
//
// A task that ends input-required is Status input_required with
// Outcome.Input: the prompt (the state's status message text) and its data
// parts (a form, options) as the agent sent them; the task waits. The
// person's answer goes back into the same task by running a Task with
// RemoteTaskID and RemoteContextID from the Outcome, Text the answer and
// Data, optionally, a JSON value sent as a data part ({"approved": true}):
// v1.0 and v0.2/0.3 send message.taskId and message.contextId, v0.1 the
// same task id and sessionId. Task.Dialect (the Outcome's Dialect) makes
// the answer start in the task's own dialect, also in a process that has
// not learned the agent's yet (another relay instance, or after a
// restart), and CancelIn cancels a waiting task in it. The stream of an
// answer may open with the task as stored, still showing its question;
// that does not end the run. auth-required is an error: the relay has no
// credentials to give.
//
// Outcome.Error is fit to show: the agent's own words (a failed task's
// status message, a JSON-RPC error before or during the stream) cleaned of
// control characters and cut to MaxReasonBytes (reason.go), or what went
// wrong with the call itself.
//
// # History
//
// A2A has no field for earlier turns, so Task.History travels in the
// message metadata under "ari.history" as [{role, name?, text}]. The
// message itself is the user's text as one text part; attachments are not
// sent (relay/PROTOCOL.md §14 lists exactly what an agent receives).
package a2a
