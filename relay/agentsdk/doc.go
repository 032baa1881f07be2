// Package agentsdk connects a Go program to an Ari relay as an agent: it dials
// the agent socket (/ws/agent), authenticates with the agent's secret token,
// declares skills, receives tasks and streams replies back chunk by chunk, as
// relay/PROTOCOL.md (ari.v1) describes.
//
// A Handler is called once per task, each in its own goroutine, with a Stream
// to write the reply:
//
//   - Stream.Write sends new text (agent_chunk, mode delta);
//   - Stream.Set sends the whole text so far (mode accumulated);
//   - Stream.Complete / Stream.CompleteWith end the reply;
//   - Stream.Fail ends it in error with a message users will read;
//   - Stream.SendStatus says what the agent is doing meanwhile (thinking,
//     running a tool, writing, waiting), shown to members beside the reply.
//
// A task whose Regenerate is set asks for a new version of an earlier answer
// to the same message (a member asked again): Regenerate carries the
// version, the previous reply's id and its text, so the agent can answer
// differently (the echo agent in local/echoagent prefixes its take).
//
// In a group, a reply that completes and @mentions other agent members gives
// each of them a task (an agent chain, relay/PROTOCOL.md section 13). Such a
// task's Chain says which hop it is, the budget (MaxHops) and which agent
// mentioned it (MentionedBy); its Message is that agent's reply. Mention
// writes a mention, MentionBack the mention of the agent that asked, and
// LastHop tells a reply whose mentions would set nothing off.
//
// While an app is open for the agent in the conversation, the task lists
// the app's actions as tools (Tools(task); relay/PROTOCOL.md section 15).
// Stream.Call invokes one and blocks until the app, running in the client
// of the member who opened it, answers; Tool[A, R] does the same with
// typed arguments and result, one value per action:
//
//	move := agentsdk.Tool[MoveArgs, MoveResult]{Name: "move"} // chess__move
//	res, err := move.Call(ctx, s, MoveArgs{From: "e2", To: "e4"})
//
// A refusal (the mode, the manifest, the arguments' schema), the app's own
// error and a timeout are a *ToolError with a stable code. A call is sent
// again on a new socket until answered and its result reaches the handler
// once. local/echoagent's "/note" uses the sample app in
// local/echoagent/notes.manifest.json.
//
// Agent.Post sends a message of the agent's own, outside any task
// (agent_message): a reminder, the result of a scheduled job. It returns the
// stored message's id and seq, or a *PostError; a post lost with the socket
// is sent again under the same clientMessageID, so it is stored once. A
// handler reaches the agent through Stream.Agent.
//
// A handler that returns nil without ending the reply completes it; one that
// returns an error fails it with a generic message (the error itself is only
// logged, since users read what an agent sends).
//
// When a member cancels the reply, the relay sends task_cancel and the task's
// context is cancelled; context.Cause(ctx) is then a *CancelError carrying the
// relay's reason.
//
// The connection is kept up: on network loss the SDK reconnects with
// exponential backoff and jitter and re-authenticates. Tasks belong to the
// agent, not to a socket, so handlers keep running across a reconnect; their
// frames wait in a bounded queue and the first chunk of each task after a
// reconnect is sent in accumulated mode, which re-aligns the relay's text even
// if the last frames before the loss never arrived. Terminal frames written
// shortly before a loss are sent again (the relay drops repeats silently).
// A refused or revoked token, or a newer connection of the same agent, stops
// the agent with a typed error instead of retrying (*AuthError, ErrRevoked,
// ErrReplaced).
//
// Cancelling the context passed to Run or Connect stops the agent: running
// tasks' contexts are cancelled (cause ErrStopped), the SDK waits for their
// handlers to return and sends their last frames, then closes the socket with
// 1000. Handlers must therefore return once their context is done.
package agentsdk
