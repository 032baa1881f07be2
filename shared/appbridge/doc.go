// Package appbridge connects apps to agents without doing any I/O.
//
// An app version's manifest declares actions (each with a JSON Schema for its
// parameters) and the events the app emits. An AppSession binds one app version
// to one conversation with a ControlMode that says who may drive the app. From
// those two pieces the bridge:
//
//   - lists the actions the agent may use as tool definitions for its task
//     frame (Tools),
//   - turns an agent's tool call, or a user's click, back into a validated
//     action or a typed rejection with a stable code (ResolveCall,
//     ResolveAction),
//   - renders what happened in the app as one compact line of text and as a
//     structured history entry for the agent's context (FormatEvent,
//     EventEntry).
//
// Everything here is a pure function of its inputs so that the relay, the
// functions and tests can share it; loading rows and sending frames is the
// caller's business. relay/PROTOCOL.md ("Apps and tools") is the wire
// description of the formats produced here.
package appbridge
