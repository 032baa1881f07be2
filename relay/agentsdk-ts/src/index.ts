export { Agent, run, validId, type AgentOptions, type Handler, type Logger, type Posted } from "./agent.js";
export { InputError, InputTimeoutError, type Answer, type AskOptions } from "./ask.js";
export { ToolError, tool, findTool, MAX_TOOL_NAME_BYTES, MAX_TOOL_ARGUMENTS_BYTES, type CallOptions, type Caller, type TypedTool } from "./tools.js";
export { Task, mention, handle, HANDLER_FAILURE, AGENT_STOPPING } from "./task.js";
export {
  AuthError,
  CancelledError,
  InvalidInputError,
  NotYourTaskError,
  PostError,
  ReplacedError,
  RevokedError,
  StoppedError,
  TaskEndedError,
} from "./errors.js";
export { Backoff, type BackoffOptions } from "./backoff.js";
export type { WebSocketConstructor, WebSocketLike } from "./socket.js";
export { utf8Length } from "./text.js";
export * from "./protocol.js";
