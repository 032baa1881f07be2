export { AriClient, RelayError, type ClientEvents, type ClientOptions, type ConnectionState, type InputClosed, type WebSocketConstructor, type WebSocketLike } from "./client.js";
export { applyChunk, applyResume, skipBytes, utf8Length, type ChunkResult, type StreamState, type StreamStatusName } from "./streams.js";
export * from "./protocol.js";
