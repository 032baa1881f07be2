// The agent socket's frames (relay/PROTOCOL.md, ari.v1, sections 3, 4 and 9),
// as TypeScript types. test/protocol.test.ts checks every agent-socket
// example of PROTOCOL.md against them, so the two cannot drift apart.

/** The protocol this SDK speaks; offered as the WebSocket subprotocol. */
export const PROTOCOL = "ari.v1";
/** The agent socket's path on the relay. */
export const AGENT_PATH = "/ws/agent";
/** Where `make local` runs the relay's agent socket. */
export const DEFAULT_URL = "ws://127.0.0.1:3502" + AGENT_PATH;

/** Limits of section 3 and 9, in UTF-8 bytes. */
export const MAX_REPLY_BYTES = 256 * 1024;
export const MAX_CONTENT_BYTES = 16384;
export const MAX_STATUS_LABEL_BYTES = 200;
export const MAX_AGENT_ERROR_BYTES = 2048;
export const MAX_SKILLS = 64;
/** Bounds of an agent_input_request (section 9). */
export const MAX_INPUT_PROMPT_BYTES = 4096;
export const MAX_INPUT_OPTIONS = 16;
export const MAX_INPUT_OPTION_BYTES = 200;
export const MAX_INPUT_SCHEMA_BYTES = 8192;

/** Close codes of section 3 that change what the SDK does. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unauthorized: 4001,
  revoked: 4003,
  replaced: 4004,
  slowConsumer: 4008,
  authTimeout: 4009,
} as const;

export type ChunkMode = "delta" | "accumulated";
export type StatusState = "thinking" | "tool" | "writing" | "waiting";
export const STATUS_STATES: readonly StatusState[] = ["thinking", "tool", "writing", "waiting"];

/** task_cancel reasons (section 9). Newer relays may send others. */
export type CancelReason =
  | "user_cancelled"
  | "timeout"
  | "invalid_chunk"
  | "reply_too_large"
  | "conversation_deleted"
  | "agent_removed"
  | "internal"
  | "interrupted"
  | (string & {});

export interface Skill {
  name: string;
  description?: string;
}

// ---- agent → relay ----

export interface AuthFrame {
  type: "auth";
  token: string;
}
export interface SkillsFrame {
  type: "skills";
  skills: Skill[];
}
export interface AgentChunkFrame {
  type: "agent_chunk";
  taskId: string;
  content: string;
  mode?: ChunkMode;
}
export interface AgentCompleteFrame {
  type: "agent_complete";
  taskId: string;
  content?: string | null;
}
export interface AgentErrorFrame {
  type: "agent_error";
  taskId: string;
  error: string;
}
export interface AgentStatusFrame {
  type: "agent_status";
  taskId: string;
  state: StatusState;
  label?: string;
}
export interface AgentMessageFrame {
  type: "agent_message";
  conversationId: string;
  content: string;
  clientMessageId: string;
}
/** Asks the conversation's people something; the reply waits for the answer (section 9). */
export interface AgentInputRequestFrame {
  type: "agent_input_request";
  taskId: string;
  requestId: string;
  kind: "question" | "approval";
  prompt: string;
  options?: string[];
  schema?: Record<string, unknown>;
}
export interface PingFrame {
  type: "ping";
}

/** Calls one of the task's tools (section 15); the answer is a tool_result. */
export interface ToolCallFrame {
  type: "tool_call";
  taskId: string;
  callId: string;
  tool: string;
  arguments?: Record<string, unknown>;
}
export type AgentToRelay =
  | AuthFrame
  | SkillsFrame
  | AgentChunkFrame
  | AgentCompleteFrame
  | AgentErrorFrame
  | AgentStatusFrame
  | AgentMessageFrame
  | AgentInputRequestFrame
  | ToolCallFrame
  | PingFrame;

// ---- relay → agent ----

/** The agent as the relay knows it. */
export interface AgentInfo {
  id: string;
  name: string;
  handle: string;
}
export interface AuthOkFrame {
  type: "auth_ok";
  agent: AgentInfo;
  protocol: string;
}
export interface AuthErrorFrame {
  type: "auth_error";
  code: string;
  message: string;
}

export interface Sender {
  id: string;
  name: string;
}
export interface Attachment {
  id: string;
  url: string;
  contentType: string;
  size: number;
  name: string;
}
/** The message a task answers: a person's, or in a chain another agent's reply. */
export interface TaskMessage {
  id: string;
  seq: number;
  content: string;
  sender: Sender;
  attachments: Attachment[];
}
/** An earlier message of the task's history. */
export interface HistoryMessage {
  role: "user" | "agent";
  senderName: string;
  content: string;
  seq: number;
}
/** What happened in an app of the conversation (section 15, the bridge's structured entry). */
export interface AppEventEntry {
  app: string;
  kind: "action" | "state";
  name: string;
  actor?: "user" | "agent";
  data?: unknown;
  dataOmitted?: boolean;
  at?: string;
  text: string;
}
/** A history entry: a message, or (type "app_event") an app event among them by time. */
export type HistoryEntry = HistoryMessage | ({ type: "app_event" } & AppEventEntry);
/** An app action offered as a tool (section 15). */
export interface Tool {
  name: string;
  description: string;
  parameters?: Record<string, unknown>;
}
export interface ChainAgent {
  id: string;
  name: string;
  handle: string;
}
/** Where a task stands in an agent chain (section 13). */
export interface TaskChain {
  rootMessageId: string;
  hop: number;
  maxHops: number;
  mentionedBy: ChainAgent;
}
/** Present when a member asked for a new answer (section 10). */
export interface TaskRegenerate {
  version: number;
  previousReplyId: string;
  previousContent: string;
}
/** Set on a task from a community channel (section 18): conversationId is then "". */
export interface TaskChannel {
  id: string;
  name: string;
  communityId: string;
  communityName: string;
}
export interface TaskFrame {
  type: "task";
  taskId: string;
  conversationId: string;
  messageId: string;
  message: TaskMessage;
  history: HistoryEntry[];
  tools?: Tool[];
  chain?: TaskChain;
  regenerate?: TaskRegenerate;
  channel?: TaskChannel;
}
export interface TaskCancelFrame {
  type: "task_cancel";
  taskId: string;
  reason: CancelReason;
}
export interface AgentMessageAckFrame {
  type: "agent_message_ack";
  clientMessageId: string;
  messageId: string;
  seq: number;
}
/** A member's answer to the task's input request. */
export interface InputResponseFrame {
  type: "input_response";
  taskId: string;
  requestId: string;
  answer?: string;
  approved?: boolean;
  userId: string;
}
/** Nobody answered the task's input request in time. */
export interface InputTimeoutFrame {
  type: "input_timeout";
  taskId: string;
  requestId: string;
}
/** The outcome of a tool_call: the app's result, or an error {code, message} (refused, failed, timeout). */
export interface ToolResultFrame {
  type: "tool_result";
  taskId: string;
  callId: string;
  result?: unknown;
  error?: { code: string; message: string };
}
/** An app event while the agent works on taskId (section 15). */
export interface AppEventFrame extends AppEventEntry {
  type: "app_event";
  taskId: string;
  conversationId: string;
  sessionId: string;
  at: string;
}
export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
  field?: string;
  ref?: string;
  retryAfterMs?: number;
}
export interface PongFrame {
  type: "pong";
}

export type RelayToAgent =
  | AuthOkFrame
  | AuthErrorFrame
  | TaskFrame
  | TaskCancelFrame
  | AgentMessageAckFrame
  | InputResponseFrame
  | InputTimeoutFrame
  | ToolResultFrame
  | AppEventFrame
  | ErrorFrame
  | PongFrame;

const relayTypes = new Set<string>(["auth_ok", "auth_error", "task", "task_cancel", "agent_message_ack", "input_response", "input_timeout", "tool_result", "app_event", "error", "pong"]);

/**
 * decodeFromRelay parses one text frame from the relay. It returns undefined
 * for a frame this SDK does not know (newer relays may add some, section 17)
 * or one that lacks what the SDK needs; unknown keys are kept.
 */
export function decodeFromRelay(data: string): RelayToAgent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const f = v as Record<string, unknown>;
  if (typeof f.type !== "string" || !relayTypes.has(f.type)) return undefined;
  const str = (k: string) => typeof f[k] === "string";
  switch (f.type) {
    case "auth_ok":
      return isObject(f.agent) && typeof f.agent.id === "string" ? (f as unknown as AuthOkFrame) : undefined;
    case "auth_error":
      return str("code") ? (f as unknown as AuthErrorFrame) : undefined;
    case "task":
      return str("taskId") && str("conversationId") && str("messageId") && isObject(f.message)
        ? normalizeTask(f as unknown as TaskFrame)
        : undefined;
    case "task_cancel":
      return str("taskId") ? (f as unknown as TaskCancelFrame) : undefined;
    case "agent_message_ack":
      return str("clientMessageId") && str("messageId") ? (f as unknown as AgentMessageAckFrame) : undefined;
    case "input_response":
      return str("taskId") && str("requestId") ? (f as unknown as InputResponseFrame) : undefined;
    case "input_timeout":
      return str("taskId") && str("requestId") ? (f as unknown as InputTimeoutFrame) : undefined;
    case "tool_result":
      return str("taskId") && str("callId") ? (f as unknown as ToolResultFrame) : undefined;
    case "app_event":
      return str("taskId") && str("name") && str("text") ? (f as unknown as AppEventFrame) : undefined;
    case "error":
      return str("code") ? (f as unknown as ErrorFrame) : undefined;
    default:
      return f as unknown as PongFrame;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// normalizeTask makes the lists a handler iterates always present.
function normalizeTask(t: TaskFrame): TaskFrame {
  if (!Array.isArray(t.history)) t.history = [];
  if (!Array.isArray(t.message.attachments)) t.message.attachments = [];
  return t;
}
