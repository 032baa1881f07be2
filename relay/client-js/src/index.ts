export { AriClient, RelayError, type AppActionOutcome, type ClientEvents, type ClientOptions, type ConnectionState, type InputClosed, type WebSocketConstructor, type WebSocketLike } from "./client.js";
export { applyChunk, applyResume, skipBytes, utf8Length, type Assembling, type ChannelStreamState, type ChunkResult, type StreamState, type StreamStatusName } from "./streams.js";
export * from "./protocol.js";
