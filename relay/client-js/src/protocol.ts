// The client socket's frames (relay/PROTOCOL.md, ari.v1, sections 2–8, 12),
// as TypeScript types. test/protocol.test.ts checks every client-socket
// example of PROTOCOL.md against them (type-checked as exact object literals
// and decoded), and the frame and event tables key by key, so the two
// cannot drift apart.

export const PROTOCOL = "ari.v1";

// ---- shared objects (section 8) ----

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  role: "user" | "agent" | "system";
  senderUserId: string | null;
  senderAgentId: string | null;
  content: string;
  status: "complete" | "pending" | "streaming" | "error" | "cancelled" | (string & {});
  error?: string;
  clientMessageId?: string;
  replyToId?: string;
  version?: number;
  superseded?: boolean;
  chainHop?: number;
  chainRootId?: string;
  versions?: string[];
  createdAt: string;
  updatedAt: string;
  firstChunkAt?: string;
  completedAt?: string;
  deletedAt?: string;
  deleted: boolean;
}
export interface Member {
  id: string;
  kind: "user" | "agent";
  name: string;
}
export interface Conversation {
  id: string;
  kind: "direct" | "group";
  title?: string;
  turnPolicy?: "queue" | "reject" | "interrupt";
  chainHops?: number;
  updatedAt: string;
}

// ---- client → relay (section 5) ----

export interface AuthTicketFrame {
  type: "auth";
  ticket: string;
}
export interface SendMessageFrame {
  type: "send_message";
  conversationId: string;
  content: string;
  clientMessageId: string;
  attachments?: string[];
}
export interface SyncFrame {
  type: "sync";
  cursors?: Record<string, number>;
}
export interface CancelStreamFrame {
  type: "cancel_stream";
  messageId: string;
}
export interface MarkReadFrame {
  type: "mark_read";
  conversationId: string;
  seq: number;
}
export interface RegenerateFrame {
  type: "regenerate";
  conversationId: string;
  messageId: string;
  agentId?: string;
}
export interface FocusFrame {
  type: "focus";
  conversationId: string | null;
  visible: boolean;
}
/** A member's answer to an agent's input request (section 5). */
export interface InputResponseFrame {
  type: "input_response";
  requestId: string;
  answer?: string;
  approved?: boolean;
}
/** The app's answer to an app_action (section 15): exactly one of result and error. */
export interface AppActionResultFrame {
  type: "app_action_result";
  sessionId: string;
  callId: string;
  result?: unknown;
  error?: { code: string; message: string };
}
/** A member's own action in the app (section 15), checked as actor user; answered with app_event_ack or an error with ref = id. */
export interface AppUserActionFrame {
  type: "app_user_action";
  sessionId: string;
  id: string;
  action: string;
  arguments?: Record<string, unknown>;
}
/** One of the app's declared events (section 15); answered with app_event_ack or an error with ref = id. */
export interface AppStateEventFrame {
  type: "app_state_event";
  sessionId: string;
  id: string;
  event: string;
  data?: unknown;
}
export interface PingFrame {
  type: "ping";
}

export type ClientToRelay =
  | AuthTicketFrame
  | SendMessageFrame
  | SyncFrame
  | CancelStreamFrame
  | MarkReadFrame
  | RegenerateFrame
  | FocusFrame
  | InputResponseFrame
  | AppActionResultFrame
  | AppUserActionFrame
  | AppStateEventFrame
  | ChannelSubscribeFrame
  | ChannelUnsubscribeFrame
  | ChannelSendFrame
  | PingFrame;

// ---- community channels (section 18) ----

export interface ChannelSubscribeFrame {
  type: "channel_subscribe";
  channelId: string;
}
export interface ChannelUnsubscribeFrame {
  type: "channel_unsubscribe";
  channelId: string;
}
/** Posts a message to a channel; answered by channel_message_ack (or an error with ref = clientMessageId). */
export interface ChannelSendFrame {
  type: "channel_send";
  channelId: string;
  content: string;
  clientMessageId: string;
  attachments?: string[];
}
export interface ChannelMessageAckFrame {
  type: "channel_message_ack";
  clientMessageId: string;
  message: ChannelMessage;
}
export interface ChannelSubscribedFrame {
  type: "channel_subscribed";
  channelId: string;
  communityId: string;
  lastSeq: number;
  lastReadSeq: number;
  /** The agent reply streaming in the channel when the subscription took effect. */
  stream?: ChannelStream;
}
/** An agent reply in flight in a channel: its text so far, offset bytes long. */
export interface ChannelStream {
  messageId: string;
  agentId: string;
  content: string;
  offset: number;
  status?: ReplyStatus;
  /** The question or approval the reply waits on, if any. */
  inputRequest?: ChannelInputRequest;
}
/** An agent's question or approval in a channel (section 18); answer with input_response. */
export interface ChannelInputRequest {
  channelId: string;
  requestId: string;
  messageId: string;
  agentId: string;
  kind: "question" | "approval";
  prompt: string;
  options?: string[];
  schema?: Record<string, unknown>;
  expiresAt: string;
}
export interface ChannelInputRequestFrame extends ChannelInputRequest {
  type: "channel_input_request";
}
export interface ChannelStreamStartFrame {
  type: "channel_stream_start";
  channelId: string;
  messageId: string;
  agentId: string;
  replyToId: string;
  chainHop?: number;
  chainRootId?: string;
}
export interface ChannelStreamChunkFrame {
  type: "channel_stream_chunk";
  channelId: string;
  messageId: string;
  delta: string;
  offset: number;
}
export interface ChannelStreamStatusFrame {
  type: "channel_stream_status";
  channelId: string;
  messageId: string;
  state: AgentState;
  label?: string;
}
export interface ChannelStreamEndFrame {
  type: "channel_stream_end";
  channelId: string;
  messageId: string;
  status: StreamEndStatus;
  content: string;
  /** The saved channel message's seq; 0 when nothing was saved. */
  seq: number;
  error?: { code: string; message: string };
}
export interface ChannelChainLimitFrame {
  type: "channel_chain_limit";
  channelId: string;
  messageId: string;
  hops: number;
}
/** The frames of agents' replies in a channel (section 18, "Agents in channels"). */
export type ChannelStreamFrame =
  | ChannelStreamStartFrame
  | ChannelStreamChunkFrame
  | ChannelStreamStatusFrame
  | ChannelStreamEndFrame
  | ChannelChainLimitFrame
  | ChannelInputRequestFrame;
export interface ChannelUnsubscribedFrame {
  type: "channel_unsubscribed";
  channelId: string;
  reason: "requested" | "removed" | "deleted" | "interrupted" | (string & {});
}
export interface ChannelMessage {
  id: string;
  channelId: string;
  seq: number;
  senderUserId: string | null;
  senderAgentId: string | null;
  content: string;
  clientMessageId?: string;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  deleted: boolean;
  attachments: unknown[];
}
export interface ChannelEventData {
  channel_message_new: { message: ChannelMessage };
  channel_message_deleted: { messageId: string };
  channel_reaction_added: { messageId: string; userId: string; emoji: string };
  channel_reaction_removed: { messageId: string; userId: string; emoji: string };
  /** The same data as a conversation's input_resolved. */
  channel_input_resolved: EventData["input_resolved"];
}
export type ChannelEventType = keyof ChannelEventData;
export const CHANNEL_EVENT_TYPES: readonly ChannelEventType[] = [
  "channel_message_new",
  "channel_message_deleted",
  "channel_reaction_added",
  "channel_reaction_removed",
  "channel_input_resolved",
];
/** One event of a subscribed channel; `id` is unique per event. */
export type ChannelEventFrame = {
  [T in ChannelEventType]: { type: T; id: string; channelId: string; at: string; data: ChannelEventData[T] };
}[ChannelEventType];

// ---- relay → client (section 6) ----

export interface AuthOkFrame {
  type: "auth_ok";
  user: { id: string; name: string };
  protocol: string;
}
export interface AuthErrorFrame {
  type: "auth_error";
  code: string;
  message: string;
}
export interface AckReply {
  messageId: string;
  agentId: string;
  position?: number;
}
export interface MessageAckFrame {
  type: "message_ack";
  clientMessageId: string;
  message: Message;
  queued: boolean;
  position?: number;
  replies?: AckReply[];
}
export interface RegenerateAckFrame {
  type: "regenerate_ack";
  conversationId: string;
  messageId: string;
  replyToId: string;
  reply: AckReply;
  version: number;
  previousId: string;
  queued: boolean;
}
export interface StreamStartFrame {
  type: "stream_start";
  conversationId: string;
  messageId: string;
  agentId: string;
  seq: number;
  replyToId?: string;
  version?: number;
  previousId?: string;
  chainHop?: number;
  chainRootId?: string;
}
export interface StreamChunkFrame {
  type: "stream_chunk";
  messageId: string;
  conversationId: string;
  delta: string;
  offset: number;
}
export type StreamEndStatus = "complete" | "error" | "cancelled";
export interface StreamEndFrame {
  type: "stream_end";
  messageId: string;
  conversationId: string;
  status: StreamEndStatus;
  content: string;
  error?: { code: string; message: string };
}
export type AgentState = "thinking" | "tool" | "writing" | "waiting";
export interface ReplyStatus {
  state: AgentState;
  label?: string;
}
export interface StreamStatusFrame {
  type: "stream_status";
  messageId: string;
  conversationId: string;
  state: AgentState;
  label?: string;
}
export interface AgentPresenceFrame {
  type: "agent_presence";
  conversationId: string;
  agentId: string;
  online: boolean;
}
export interface ConversationState {
  conversationId: string;
  lastSeq: number;
  lastReadSeq: number;
  unreadCount: number;
}
/** A community channel's read state in sync_result.channels (section 18): unreadCount = lastSeq − lastReadSeq; mentionCount = the messages after lastReadSeq that @mention you; muted: you muted the channel or its community. */
export interface ChannelState {
  channelId: string;
  communityId: string;
  lastSeq: number;
  lastReadSeq: number;
  unreadCount: number;
  mentionCount: number;
  muted: boolean;
}
export interface ActiveStream {
  messageId: string;
  conversationId: string;
  agentId: string;
  content: string;
  offset: number;
  status?: ReplyStatus;
}
/** An agent's open question or approval (section 6); also an entry of sync_result.inputRequests. */
export interface InputRequest {
  requestId: string;
  messageId: string;
  conversationId: string;
  kind: "question" | "approval";
  prompt: string;
  options?: string[];
  schema?: Record<string, unknown>;
  expiresAt: string;
}
export interface InputRequestFrame extends InputRequest {
  type: "input_request";
}
/** An agent's call of an app action, to the client running the app (section 15); answer with app_action_result. */
export interface AppActionFrame {
  type: "app_action";
  sessionId: string;
  callId: string;
  action: string;
  arguments: Record<string, unknown>;
}
/** An app_user_action or app_state_event was recorded (section 15). */
export interface AppEventAckFrame {
  type: "app_event_ack";
  sessionId: string;
  id: string;
  at: string;
}
/** An app open in a conversation (sections 8 and 15): in app_session_* events and sync_result.appSessions. */
export interface AppSession {
  id: string;
  conversationId: string;
  appId: string;
  appVersionId: string;
  openedBy: string | null;
  agentId: string | null;
  mode: "user_only" | "agent_only" | "shared";
  /** The app's state document; apply a newer one only if its version is greater. */
  state: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  endedBy: string | null;
  appSlug: string;
  appName: string;
  appVersion: string;
  entryUrl: string;
}
export interface SyncResultFrame {
  type: "sync_result";
  conversations: ConversationState[];
  channels: ChannelState[];
  activeStreams: ActiveStream[];
  agents: { agentId: string; online: boolean }[];
  inputRequests: InputRequest[];
  appSessions: AppSession[];
  events: EventFrame[];
  dropped: boolean;
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
/** The relay may have failed to deliver frames to this socket: send sync (section 6). */
export interface SyncNeededFrame {
  type: "sync_needed";
}

// ---- events (section 7) ----

export interface EventData {
  message_new: { message: Message };
  message_deleted: { messageId: string; seq: number };
  reaction_added: { messageId: string; userId: string; emoji: string };
  reaction_removed: { messageId: string; userId: string; emoji: string };
  read_updated: { userId: string; seq: number };
  member_added: { member: Member };
  member_removed: { memberId: string; kind: "user" | "agent" };
  conversation_created: { conversation: Conversation };
  conversation_updated: { conversation: Conversation };
  conversation_deleted: { conversationId: string };
  chain_limit: { conversationId: string; messageId: string; hops: number };
  input_resolved: {
    requestId: string;
    messageId: string;
    state: "answered" | "expired";
    answer?: string;
    approved?: boolean;
    answeredBy?: string;
    answeredAt?: string;
  };
  app_session_started: { session: AppSession };
  app_session_updated: { session: AppSession };
  app_session_ended: { session: AppSession };
}
export type EventType = keyof EventData;
export const EVENT_TYPES: readonly EventType[] = [
  "message_new",
  "message_deleted",
  "reaction_added",
  "reaction_removed",
  "read_updated",
  "member_added",
  "member_removed",
  "conversation_created",
  "conversation_updated",
  "conversation_deleted",
  "chain_limit",
  "input_resolved",
  "app_session_started",
  "app_session_updated",
  "app_session_ended",
];

/** One event frame; `id` is unique per event: apply each once. */
export type EventFrame = {
  [T in EventType]: { type: T; id: string; conversationId?: string; at: string; data: EventData[T] };
}[EventType];

export type RelayToClient =
  | AuthOkFrame
  | AuthErrorFrame
  | MessageAckFrame
  | RegenerateAckFrame
  | StreamStartFrame
  | StreamChunkFrame
  | StreamEndFrame
  | StreamStatusFrame
  | InputRequestFrame
  | AppActionFrame
  | AppEventAckFrame
  | AgentPresenceFrame
  | SyncResultFrame
  | ErrorFrame
  | PongFrame
  | SyncNeededFrame
  | ChannelSubscribedFrame
  | ChannelUnsubscribedFrame
  | ChannelMessageAckFrame
  | ChannelStreamFrame
  | ChannelEventFrame
  | EventFrame;

const eventTypes = new Set<string>(EVENT_TYPES);

// What each frame needs for the client to use it: key → JSON type.
const required: Record<string, Record<string, "string" | "number" | "boolean" | "object" | "array">> = {
  auth_ok: { user: "object" },
  auth_error: { code: "string" },
  message_ack: { clientMessageId: "string", message: "object", queued: "boolean" },
  regenerate_ack: { conversationId: "string", messageId: "string", reply: "object" },
  stream_start: { conversationId: "string", messageId: "string", agentId: "string", seq: "number" },
  stream_chunk: { messageId: "string", conversationId: "string", delta: "string", offset: "number" },
  stream_end: { messageId: "string", conversationId: "string", status: "string", content: "string" },
  stream_status: { messageId: "string", conversationId: "string", state: "string" },
  agent_presence: { conversationId: "string", agentId: "string", online: "boolean" },
  input_request: { requestId: "string", messageId: "string", conversationId: "string", kind: "string", prompt: "string" },
  app_action: { sessionId: "string", callId: "string", action: "string", arguments: "object" },
  app_event_ack: { sessionId: "string", id: "string", at: "string" },
  sync_result: { conversations: "array", activeStreams: "array", agents: "array", events: "array" },
  error: { code: "string", message: "string" },
  pong: {},
  sync_needed: {},
  channel_subscribed: { channelId: "string", communityId: "string", lastSeq: "number", lastReadSeq: "number" },
  channel_unsubscribed: { channelId: "string", reason: "string" },
  channel_message_ack: { clientMessageId: "string", message: "object" },
  channel_stream_start: { channelId: "string", messageId: "string", agentId: "string", replyToId: "string" },
  channel_stream_chunk: { channelId: "string", messageId: "string", delta: "string", offset: "number" },
  channel_stream_status: { channelId: "string", messageId: "string", state: "string" },
  channel_stream_end: { channelId: "string", messageId: "string", status: "string", content: "string", seq: "number" },
  channel_chain_limit: { channelId: "string", messageId: "string", hops: "number" },
  channel_input_request: {
    channelId: "string",
    requestId: "string",
    messageId: "string",
    agentId: "string",
    kind: "string",
    prompt: "string",
    expiresAt: "string",
  },
};
const channelEventTypes = new Set<string>(CHANNEL_EVENT_TYPES);

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v;
}

/**
 * decodeFromRelay parses one text frame from the relay. It returns undefined
 * for a frame this library does not know (newer relays may add some, section
 * 17) or one that lacks what the library needs; unknown keys are kept.
 */
export function decodeFromRelay(data: string): RelayToClient | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  return decodeValue(v);
}

export function decodeValue(v: unknown): RelayToClient | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const f = v as Record<string, unknown>;
  if (typeof f.type !== "string") return undefined;
  if (channelEventTypes.has(f.type)) {
    if (typeof f.id !== "string" || typeof f.at !== "string" || typeof f.channelId !== "string") return undefined;
    if (jsonType(f.data) !== "object") return undefined;
    return f as unknown as ChannelEventFrame;
  }
  if (eventTypes.has(f.type)) {
    if (typeof f.id !== "string" || typeof f.at !== "string") return undefined;
    if (f.data !== undefined && jsonType(f.data) !== "object") return undefined;
    return f as unknown as EventFrame;
  }
  const need = required[f.type];
  if (!need) return undefined;
  for (const [k, t] of Object.entries(need)) if (jsonType(f[k]) !== t) return undefined;
  if (f.type === "sync_result") {
    const events = (f.events as unknown[]).map(decodeValue).filter((e): e is EventFrame => e !== undefined && "id" in e);
    return { ...(f as unknown as SyncResultFrame), events };
  }
  return f as unknown as RelayToClient;
}
