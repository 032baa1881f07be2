import {
  PROTOCOL,
  decodeFromRelay,
  type ChannelEventData,
  type ChannelEventFrame,
  type ChannelInputRequest,
  type ChannelStreamFrame,
  type ChannelSubscribedFrame,
  type ChannelUnsubscribedFrame,
  type ChannelMessageAckFrame,
  type ChannelSendFrame,
  type ChannelStreamChunkFrame,
  type ClientToRelay,
  type ConversationState,
  type ErrorFrame,
  type EventData,
  type EventFrame,
  type InputRequest,
  type AppActionFrame,
  type AppActionResultFrame,
  type AppEventAckFrame,
  type AppStateEventFrame,
  type AppUserActionFrame,
  type AppSession,
  type MessageAckFrame,
  type RegenerateAckFrame,
  type RelayToClient,
  type SendMessageFrame,
  type SyncResultFrame,
} from "./protocol.js";
import { applyChunk, applyResume, utf8Length, type ChannelStreamState, type StreamState } from "./streams.js";

/** The part of the WHATWG WebSocket the client uses; browsers' and the `ws` package's both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
/** A WebSocket class. The third argument is the `ws` package's options (headers), ignored by browsers. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) => WebSocketLike;

export interface ClientOptions {
  /**
   * The relay's client socket (wss://host/ws). Several: tried in turn on
   * each reconnect (the instances behind a load balancer, or in tests).
   */
  url: string | string[];
  /**
   * A session token sent as `Authorization: Bearer` on the upgrade, for
   * clients outside browsers (needs a WebSocket that takes headers, such as
   * `ws`). Browsers on the relay's site send the session cookie instead.
   */
  token?: string;
  /**
   * Extra headers on the upgrade, outside browsers only (a WebSocket that
   * takes headers, such as `ws`): an `Origin` for a ticket socket, say.
   */
  headers?: Record<string, string>;
  /** Gets a fresh socket ticket (POST /api/auth/socket-ticket), for web apps on another site. */
  ticket?: () => Promise<string>;
  /** The WebSocket class; globalThis.WebSocket when absent. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff: initialMs (500) doubling to maxMs (30 s), each wait drawn from its upper half. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Follow document.visibilityState for focus.visible (default: true when there is a document). */
  trackVisibility?: boolean;
  /** The highest seq the app holds per conversation, sent as sync cursors; the client tracks them itself when absent. */
  cursors?: () => Record<string, number>;
}

export type ConnectionState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface ClientEvents {
  /** The connection's state; "closed" after close() or a refused session (4001). */
  state: { state: ConnectionState; code?: number; reason?: string };
  /** Each event of section 7, once per id (live, or from sync_result's pending events). */
  event: EventFrame;
  /** A reply changed: started, grew, got a status, ended, or ended while the socket was away. */
  stream: StreamState;
  /** sync_result: where each conversation stands (refetch over REST past your cursor; all of them when dropped). */
  sync: SyncResultFrame;
  /** An agent came online or went offline (sync_result.agents, agent_presence). */
  presence: { agentId: string; online: boolean; conversationId?: string };
  /** An error frame not answered through a promise (send and regenerate reject instead). */
  error: ErrorFrame;
  /**
   * An agent's question or approval opened (a live input_request, or one
   * sync_result lists that this client did not hold). It stays in
   * `inputs` until it closes; answer it with answerInput.
   */
  input: InputRequest;
  /** An open request closed: answered (by anyone), expired, or closed (its reply ended, or it closed while the socket was away). */
  inputClosed: InputClosed;
  /**
   * An agent calls an action of an app this user opened (app_action): once
   * per call, however often the relay sends it (after each sync while it
   * waits, and again when the agent re-sends it). The app performs it and
   * answers with answerAppAction; pendingAppActions lists the calls not
   * answered yet.
   */
  appAction: AppActionFrame;
  /**
   * An app session of the user's conversations opened, changed (a newer
   * state version) or ended (`ended`): from sync_result.appSessions on every
   * connect and the app_session_* events. `appSessions` holds the open ones.
   */
  appSession: { session: AppSession; ended: boolean };
  /**
   * A community channel this client follows (subscribeChannel): subscribed (fetch history up to lastSeq),
   * unsubscribed (and why), or one of its events.
   */
  channel: ChannelSubscribedFrame | ChannelUnsubscribedFrame | ChannelEventFrame | ChannelMessageAckFrame | ChannelStreamFrame;
  /**
   * An agent reply in a followed channel changed: started, grew (assembled
   * by byte offset, resumed from channel_subscribed.stream after a
   * reconnect), got a status, ended, or ended while the channel was not
   * followed (endedWhileAway). `channelStreams` holds them.
   */
  channelStream: ChannelStreamState;
  /**
   * An agent's question or approval in a followed channel opened (a live
   * channel_input_request, or the one channel_subscribed.stream shows). It
   * stays in `channelInputs` until it closes; answer it with answerInput.
   */
  channelInput: ChannelInputRequest;
  /** An open channel request closed: answered (by anyone), expired, or closed (its reply ended, or it was gone when the channel was subscribed again). */
  channelInputClosed: ChannelInputClosed;
}

/** Why a request left `channelInputs`. */
export interface ChannelInputClosed {
  request: ChannelInputRequest;
  state: "answered" | "expired" | "closed";
  /** The channel_input_resolved event's data, when that is what closed it. */
  resolved?: ChannelEventData["channel_input_resolved"];
}

/** Why an input request left `inputs`. */
export interface InputClosed {
  request: InputRequest;
  state: "answered" | "expired" | "closed";
  /** The input_resolved event's data, when that is what closed it. */
  resolved?: EventData["input_resolved"];
}

type Listener<T> = (v: T) => void;

interface Outgoing {
  frame: SendMessageFrame | ChannelSendFrame;
  resolve: (a: MessageAckFrame | ChannelMessageAckFrame) => void;
  reject: (e: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** A send or regenerate the relay refused; `code` is the relay's (section 4). */
export class RelayError extends Error {
  override readonly name = "RelayError";
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${message} (${code})`);
  }
}

const OPEN = 1;
const PING_EVERY_MS = 20_000;
const READ_TIMEOUT_MS = 50_000;
const SEEN_EVENTS = 10_000;
const ENDED_STREAMS = 1000;
const CLOSED_INPUTS = 1000; // closed request ids kept, so a sync_result taken before the close cannot reopen one // ended replies kept in streams; older ones are dropped (the app holds the messages)
const TOO_MANY_SOCKETS_WAIT_MS = 30_000;
const ANSWERED_ACTIONS = 1000; // answered app_action calls remembered, to answer a repeat the same way

/**
 * AriClient holds one client socket to the relay and keeps it up: after
 * every (re)connect it sends sync and resumes replies exactly where they
 * stand (chunks that arrive before sync_result wait for it, then everything
 * is applied by byte offset), applies each event once by id, re-sends
 * messages not yet acknowledged under the same clientMessageId, and tells
 * the relay the focused conversation and the page's visibility.
 */
export class AriClient {
  /** Replies seen on this client, by messageId. */
  readonly streams = new Map<string, StreamState>();
  /** The latest sync_result's view of each conversation, kept current by acks and events. */
  readonly conversations = new Map<string, ConversationState>();
  /** Whether each agent can be reached now. */
  readonly agents = new Map<string, boolean>();
  /**
   * The agents' open questions and approvals in the user's conversations,
   * by requestId, oldest first: from sync_result.inputRequests on every
   * connect (so they are back after a reconnect or a reload), live
   * input_request frames, and removed when input_resolved or the reply's
   * stream_end closes them.
   */
  readonly inputs = new Map<string, InputRequest>();
  /**
   * The agents' open questions and approvals in the channels this client
   * follows, by requestId: from channel_input_request frames and
   * channel_subscribed.stream.inputRequest (on every subscribe, so they are
   * back after a reconnect), removed when channel_input_resolved or the
   * reply's channel_stream_end closes them.
   */
  readonly channelInputs = new Map<string, ChannelInputRequest>();
  /**
   * The open app sessions of the user's conversations, by id (sections 8
   * and 15): from sync_result.appSessions on every connect, kept current by
   * app_session_started / _updated / _ended; a session's state is replaced
   * only by a greater version.
   */
  readonly appSessions = new Map<string, AppSession>();
  /** Agent replies in the channels this client follows, by messageId (section 18, "Agents in channels"). */
  readonly channelStreams = new Map<string, ChannelStreamState>();

  private readonly opts: ClientOptions;
  private readonly urls: string[];
  private urlIndex = 0;
  private ws: WebSocketLike | undefined;
  private state_: ConnectionState = "idle";
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>();
  private readonly seen = new Set<string>();
  private readonly ended: string[] = [];
  private readonly closedInputs = new Set<string>();
  // app_action calls handed to the app and not answered yet, and the answers
  // given (sent again if the relay sends the call again: the first answer wins)
  private readonly actionsOpen = new Map<string, AppActionFrame>();
  private readonly actionsDone = new Map<string, AppActionResultFrame>();
  // app_user_action / app_state_event reports waiting for their app_event_ack, by id
  private readonly reports = new Map<string, Report>();
  private readonly outbox = new Map<string, Outgoing>();
  private readonly regenerates = new Map<string, { resolve: (a: RegenerateAckFrame) => void; reject: (e: unknown) => void }>();
  private readonly cancels = new Set<string>();
  // community channels followed (section 18), subscribed again on every connect
  private readonly channels = new Set<string>();
  // channels whose channel_subscribed came on this socket; chunks of a
  // channel that is not live yet wait for it (they may come just before it)
  private readonly channelsLive = new Set<string>();
  private readonly channelChunks = new Map<string, ChannelStreamChunkFrame[]>();
  private readonly channelEnded: string[] = [];
  private readonly readMarks = new Map<string, number>();
  private readonly cursors = new Map<string, number>();
  private focused: string | null = null;
  private visible = true;
  private syncing = false;
  private buffered: RelayToClient[] = [];
  private streamingBefore = new Set<string>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private lastRecv = 0;
  private minWaitMs = 0;
  private readonly onVisibility = () => this.setVisible(documentVisible());

  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.urls = Array.isArray(opts.url) ? [...opts.url] : [opts.url];
    if (this.urls.length === 0) throw new Error("ClientOptions.url is required");
    const track = opts.trackVisibility ?? typeof document !== "undefined";
    if (track && typeof document !== "undefined") {
      this.visible = documentVisible();
      document.addEventListener("visibilitychange", this.onVisibility);
    }
  }

  get state(): ConnectionState {
    return this.state_;
  }

  /** on subscribes to one kind of news; it returns the unsubscribe. */
  on<K extends keyof ClientEvents>(kind: K, fn: Listener<ClientEvents[K]>): () => void {
    let set = this.listeners.get(kind);
    if (!set) this.listeners.set(kind, (set = new Set()));
    set.add(fn as Listener<never>);
    return () => set.delete(fn as Listener<never>);
  }

  private emit<K extends keyof ClientEvents>(kind: K, v: ClientEvents[K]): void {
    for (const fn of this.listeners.get(kind) ?? []) (fn as Listener<ClientEvents[K]>)(v);
  }

  /** connect opens the socket (and keeps it open until close()). */
  connect(): this {
    if (this.state_ === "idle" || this.state_ === "closed") void this.open();
    return this;
  }

  /** close closes the socket for good; unacknowledged sends reject. */
  close(): void {
    this.setState("closed");
    clearTimeout(this.timer);
    clearInterval(this.ticker);
    if (typeof document !== "undefined") document.removeEventListener("visibilitychange", this.onVisibility);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onerror = null;
      ws.close(1000, "normal");
    }
    for (const o of this.outbox.values()) {
      clearTimeout(o.timer);
      o.reject(new Error("client closed"));
    }
    this.outbox.clear();
    for (const r of this.regenerates.values()) r.reject(new Error("client closed"));
    this.regenerates.clear();
    for (const r of this.reports.values()) {
      clearTimeout(r.timer);
      r.reject(new Error("client closed"));
    }
    this.reports.clear();
  }

  /**
   * send posts a message and resolves with its message_ack. The message is
   * re-sent under the same clientMessageId after a reconnect and after
   * rate_limited (once retryAfterMs passed) or internal, so it is stored
   * once; other refusals reject with a RelayError.
   */
  send(conversationId: string, content: string, opts: { attachments?: string[]; clientMessageId?: string } = {}): Promise<MessageAckFrame> {
    const frame: SendMessageFrame = { type: "send_message", conversationId, content, clientMessageId: opts.clientMessageId ?? newId() };
    if (opts.attachments && opts.attachments.length > 0) frame.attachments = opts.attachments;
    return this.post(frame) as Promise<MessageAckFrame>;
  }

  /**
   * sendChannel posts a message to a community channel (channel_send,
   * section 18) and resolves with its channel_message_ack; retried like
   * send, under the same clientMessageId, so it is stored once. A message
   * that @mentions agents of the channel starts their replies
   * (`channelStream` news, for a channel this client follows).
   */
  sendChannel(channelId: string, content: string, opts: { attachments?: string[]; clientMessageId?: string } = {}): Promise<ChannelMessageAckFrame> {
    const frame: ChannelSendFrame = { type: "channel_send", channelId, content, clientMessageId: opts.clientMessageId ?? newId() };
    if (opts.attachments && opts.attachments.length > 0) frame.attachments = opts.attachments;
    return this.post(frame) as Promise<ChannelMessageAckFrame>;
  }

  // post sends a message frame and keeps it until its ack (re-sent after a reconnect).
  private post(frame: SendMessageFrame | ChannelSendFrame): Promise<MessageAckFrame | ChannelMessageAckFrame> {
    const existing = this.outbox.get(frame.clientMessageId);
    if (existing) return new Promise((resolve, reject) => {
      const prev = existing.resolve;
      const prevReject = existing.reject;
      existing.resolve = (a) => (prev(a), resolve(a));
      existing.reject = (e) => (prevReject(e), reject(e));
    });
    return new Promise((resolve, reject) => {
      this.outbox.set(frame.clientMessageId, { frame, resolve, reject });
      this.write(frame);
    });
  }

  /** cancel stops a reply (streaming or queued); the stream's end says cancelled. Sent again after a reconnect until it is open. */
  cancel(messageId: string): void {
    if (!this.write({ type: "cancel_stream", messageId })) this.cancels.add(messageId);
  }

  /**
   * answerInput answers an agent's question (answer) or approval (approved).
   * The first answer of any member wins: the input_resolved event confirms
   * it (and `inputClosed` follows); a later one gets an error frame
   * already_answered (`error` news, ref the requestId). False when the
   * socket is not open: an answer is not queued, since by the next connect
   * someone else may have answered; `inputs` says after sync whether the
   * request still waits.
   */
  answerInput(requestId: string, a: { answer?: string; approved?: boolean }): boolean {
    const frame: ClientToRelay = { type: "input_response", requestId };
    if (a.answer !== undefined) frame.answer = a.answer;
    if (a.approved !== undefined) frame.approved = a.approved;
    return this.write(frame);
  }

  /**
   * answerAppAction answers an app_action with the app's result (any JSON
   * value but null) or an error {code, message} (code matching
   * [a-z][a-z0-9_]{0,63}, message at most 512 bytes; both reach the agent as
   * they are). The first answer of a call wins on the relay. True when it
   * was sent now; false when the socket is not open: the answer is kept and
   * given when the relay sends the call again after the next sync (if the
   * call still waits). Answering a call twice sends nothing the second time.
   */
  answerAppAction(a: Pick<AppActionFrame, "sessionId" | "callId">, outcome: AppActionOutcome): boolean {
    const key = actionKey(a);
    if (this.actionsDone.has(key)) return false;
    const frame: AppActionResultFrame =
      "error" in outcome
        ? { type: "app_action_result", sessionId: a.sessionId, callId: a.callId, error: { code: outcome.error.code, message: outcome.error.message } }
        : { type: "app_action_result", sessionId: a.sessionId, callId: a.callId, result: outcome.result };
    this.actionsOpen.delete(key);
    this.actionsDone.set(key, frame);
    if (this.actionsDone.size > ANSWERED_ACTIONS) this.actionsDone.delete(this.actionsDone.keys().next().value as string);
    return this.write(frame);
  }

  /**
   * reportAppAction tells the session's agent that this member did action
   * in the app (app_user_action; the app already did it): checked as the
   * user's by the bridge (mode, the action's actors, its arguments), then
   * recorded and given to the agent. reportAppEvent reports one of the
   * events the app's manifest declares (app_state_event), with data (any
   * JSON). Both resolve with the relay's app_event_ack ({sessionId, id,
   * at}) and reject with a RelayError (the bridge's code, unknown_event,
   * invalid_data, app_session_ended, not_found …). A report is sent again
   * under its id after a reconnect until acknowledged (the relay records an
   * id once), and after internal; opts.id is yours to choose, else a fresh one.
   */
  reportAppAction(sessionId: string, action: string, args?: Record<string, unknown>, opts: { id?: string } = {}): Promise<AppEventAckFrame> {
    const f: AppUserActionFrame = { type: "app_user_action", sessionId, id: opts.id ?? newId(), action };
    if (args !== undefined) f.arguments = args;
    return this.report(f);
  }

  reportAppEvent(sessionId: string, event: string, data?: unknown, opts: { id?: string } = {}): Promise<AppEventAckFrame> {
    const f: AppStateEventFrame = { type: "app_state_event", sessionId, id: opts.id ?? newId(), event };
    if (data !== undefined && data !== null) f.data = data;
    return this.report(f);
  }

  private report(frame: AppUserActionFrame | AppStateEventFrame): Promise<AppEventAckFrame> {
    const held = this.reports.get(frame.id);
    if (held) return Promise.reject(new Error(`a report with id ${frame.id} is already waiting for its answer`));
    return new Promise((resolve, reject) => {
      this.reports.set(frame.id, { frame, resolve, reject });
      this.write(frame);
    });
  }

  /** pendingAppActions lists the app_action calls handed out and not answered yet, of one session or all, oldest first. */
  pendingAppActions(sessionId?: string): AppActionFrame[] {
    return [...this.actionsOpen.values()].filter((a) => sessionId === undefined || a.sessionId === sessionId);
  }

  /** markRead moves the read mark (it never moves back); sent when the socket is open. */
  markRead(conversationId: string, seq: number): void {
    const c = this.conversations.get(conversationId);
    if (c && seq > c.lastReadSeq) {
      c.lastReadSeq = seq;
      c.unreadCount = 0;
    }
    if (!this.write({ type: "mark_read", conversationId, seq })) {
      this.readMarks.set(conversationId, Math.max(seq, this.readMarks.get(conversationId) ?? 0));
    }
  }

  /** regenerate asks for a new answer to the latest message from a person; not retried (it is not idempotent). */
  regenerate(conversationId: string, messageId: string, agentId?: string): Promise<RegenerateAckFrame> {
    return new Promise((resolve, reject) => {
      this.regenerates.set(messageId, { resolve, reject });
      const f: ClientToRelay = agentId ? { type: "regenerate", conversationId, messageId, agentId } : { type: "regenerate", conversationId, messageId };
      if (!this.write(f)) {
        this.regenerates.delete(messageId);
        reject(new Error("not connected"));
      }
    });
  }

  /**
   * subscribeChannel follows a community channel's live traffic (section 18), also after every reconnect,
   * until unsubscribeChannel or the relay ends it (channel_unsubscribed with reason removed or deleted).
   */
  subscribeChannel(channelId: string): void {
    this.channels.add(channelId);
    this.write({ type: "channel_subscribe", channelId });
  }

  unsubscribeChannel(channelId: string): void {
    this.channels.delete(channelId);
    this.channelsLive.delete(channelId);
    this.channelChunks.delete(channelId);
    this.write({ type: "channel_unsubscribe", channelId });
  }

  /** focus names the conversation in the foreground (null: none), for push notifications. */
  focus(conversationId: string | null): void {
    this.focused = conversationId;
    this.sendFocus();
  }

  /** setVisible says whether the page is visible (done for you from document.visibilityState). */
  setVisible(visible: boolean): void {
    if (visible === this.visible) return;
    this.visible = visible;
    this.sendFocus();
  }

  private sendFocus(): void {
    this.write({ type: "focus", conversationId: this.focused, visible: this.visible });
  }

  // ---- the socket ----

  private setState(state: ConnectionState, code?: number, reason?: string): void {
    if (this.state_ === state && code === undefined) return;
    this.state_ = state;
    const ev: ClientEvents["state"] = { state };
    if (code !== undefined) ev.code = code;
    if (reason !== undefined) ev.reason = reason;
    this.emit("state", ev);
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    const WS = this.opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new Error("no WebSocket: pass ClientOptions.WebSocket");
    let ticket: string | undefined;
    if (this.opts.ticket) {
      try {
        ticket = await this.opts.ticket();
      } catch {
        return this.retryLater();
      }
      if (this.state_ === "closed") return;
    }
    const url = this.urls[this.urlIndex % this.urls.length]!;
    const headers: Record<string, string> = { ...this.opts.headers };
    if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
    const ws = Object.keys(headers).length > 0 ? new WS(url, PROTOCOL, { headers }) : new WS(url, PROTOCOL);
    this.ws = ws;
    let authed = ticket === undefined;
    ws.onopen = () => {
      this.lastRecv = Date.now();
      if (ticket !== undefined) ws.send(JSON.stringify({ type: "auth", ticket }));
      else this.ready(ws);
    };
    ws.onerror = () => {};
    ws.onmessage = (ev) => {
      this.lastRecv = Date.now();
      if (typeof ev.data !== "string") return;
      const f = decodeFromRelay(ev.data);
      if (!f) return;
      if (!authed) {
        if (f.type === "auth_ok") {
          authed = true;
          this.ready(ws);
        }
        return;
      }
      this.receive(f);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      clearInterval(this.ticker);
      this.lost(ev.code, ev.reason);
    };
  }

  // ready: an authenticated socket; sync, then what waited for a socket.
  private ready(ws: WebSocketLike): void {
    this.ticker = setInterval(() => {
      if (Date.now() - this.lastRecv > READ_TIMEOUT_MS) {
        const t = (ws as { terminate?: () => void }).terminate;
        if (t) t.call(ws);
        else ws.close();
        return;
      }
      this.write({ type: "ping" });
    }, PING_EVERY_MS);
    (this.ticker as { unref?: () => void }).unref?.();
    this.setState("open");
    this.streamingBefore = new Set([...this.streams.values()].filter((s) => s.status === "streaming").map((s) => s.messageId));
    this.startSync();
    this.sendFocus();
    for (const o of this.outbox.values()) this.write(o.frame);
    for (const r of this.reports.values()) this.write(r.frame);
    for (const id of this.cancels) this.write({ type: "cancel_stream", messageId: id });
    this.cancels.clear();
    for (const [conversationId, seq] of this.readMarks) this.write({ type: "mark_read", conversationId, seq });
    this.readMarks.clear();
    this.channelsLive.clear();
    this.channelChunks.clear();
    for (const channelId of this.channels) this.write({ type: "channel_subscribe", channelId });
  }

  private startSync(): void {
    this.syncing = true;
    this.buffered = [];
    const cursors = this.opts.cursors ? this.opts.cursors() : Object.fromEntries(this.cursors);
    this.write(Object.keys(cursors).length > 0 ? { type: "sync", cursors } : { type: "sync" });
  }

  private lost(code: number, reason: string): void {
    for (const [id, r] of this.regenerates) {
      r.reject(new Error("connection lost before the relay answered; check the conversation before asking again"));
      this.regenerates.delete(id);
    }
    if (this.state_ === "closed") return;
    if (code === 4001) {
      // The session ended: reconnecting with it is pointless.
      this.setState("closed", code, reason);
      for (const o of this.outbox.values()) o.reject(new RelayError("unauthorized", "the session ended"));
      this.outbox.clear();
      for (const r of this.reports.values()) r.reject(new RelayError("unauthorized", "the session ended"));
      this.reports.clear();
      return;
    }
    this.urlIndex++;
    if (code === 4029) this.minWaitMs = TOO_MANY_SOCKETS_WAIT_MS;
    this.setState("reconnecting", code, reason);
    this.retryLater(code === 1001 ? 0 : undefined);
  }

  private retryLater(waitMs?: number): void {
    const initial = this.opts.backoff?.initialMs ?? 500;
    const max = Math.max(this.opts.backoff?.maxMs ?? 30_000, initial);
    const d = waitMs ?? Math.min(initial * 2 ** this.attempt, max);
    this.attempt++;
    const wait = Math.max(d / 2 + Math.random() * (d / 2), this.minWaitMs);
    this.minWaitMs = 0;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.state_ !== "closed") void this.open();
    }, wait);
  }

  // write sends a frame when the socket is open, reporting whether it did.
  private write(f: ClientToRelay): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.state_ !== "open") return false;
    try {
      ws.send(JSON.stringify(f));
      return true;
    } catch {
      return false;
    }
  }

  // ---- frames from the relay ----

  private receive(f: RelayToClient): void {
    if (this.syncing && f.type === "stream_chunk") {
      this.buffered.push(f);
      return;
    }
    switch (f.type) {
      case "sync_result":
        return this.synced(f);
      case "message_ack": {
        this.seq(f.message.conversationId, f.message.seq);
        const o = this.outbox.get(f.clientMessageId);
        if (o) {
          clearTimeout(o.timer);
          this.outbox.delete(f.clientMessageId);
          o.resolve(f);
        }
        return;
      }
      case "regenerate_ack": {
        const r = this.regenerates.get(f.messageId);
        this.regenerates.delete(f.messageId);
        r?.resolve(f);
        return;
      }
      case "stream_start": {
        this.seq(f.conversationId, f.seq);
        const s = this.stream(f.messageId, f.conversationId);
        s.agentId = f.agentId;
        s.seq = f.seq;
        if (f.replyToId !== undefined) s.replyToId = f.replyToId;
        if (f.version !== undefined) s.version = f.version;
        if (f.previousId !== undefined) s.previousId = f.previousId;
        this.emit("stream", s);
        return;
      }
      case "stream_chunk": {
        const s = this.stream(f.messageId, f.conversationId);
        const r = applyChunk(s, f.offset, f.delta);
        if (r === "applied") this.emit("stream", s);
        else if (r === "gap") this.startSync();
        return;
      }
      case "stream_status": {
        const s = this.stream(f.messageId, f.conversationId);
        if (s.status !== "streaming") return;
        s.agentStatus = f.label === undefined ? { state: f.state } : { state: f.state, label: f.label };
        this.emit("stream", s);
        return;
      }
      case "stream_end": {
        const s = this.stream(f.messageId, f.conversationId);
        if (s.status !== "streaming") return;
        s.status = f.status;
        s.content = f.content; // authoritative, whatever was assembled
        s.bytes = utf8Length(f.content);
        delete s.agentStatus;
        if (f.error) s.error = f.error;
        this.emit("stream", s);
        this.endedStream(s.messageId);
        // A request whose reply ends unanswered gets no input_resolved: the end closes it.
        for (const r of [...this.inputs.values()]) if (r.messageId === f.messageId) this.closeInput(r.requestId, "closed");
        return;
      }
      case "input_request": {
        const { type: _, ...r } = f;
        this.openInput(r);
        return;
      }
      case "app_action":
        return this.appAction(f);
      case "app_event_ack": {
        const r = this.reports.get(f.id);
        if (r && r.frame.sessionId === f.sessionId) {
          clearTimeout(r.timer);
          this.reports.delete(f.id);
          r.resolve(f);
        }
        return;
      }
      case "agent_presence":
        this.agents.set(f.agentId, f.online);
        this.emit("presence", { agentId: f.agentId, online: f.online, conversationId: f.conversationId });
        return;
      case "error":
        return this.refused(f);
      case "channel_unsubscribed":
        // removed or deleted: gone for good; interrupted: subscribe again (history past lastSeq fills the gap).
        this.channelsLive.delete(f.channelId);
        this.channelChunks.delete(f.channelId);
        if (f.reason === "interrupted" && this.channels.has(f.channelId)) this.write({ type: "channel_subscribe", channelId: f.channelId });
        else if (f.reason !== "requested") this.channels.delete(f.channelId);
        if (f.reason === "removed" || f.reason === "deleted")
          for (const r of [...this.channelInputs.values()]) if (r.channelId === f.channelId) this.closeChannelInput(r.requestId, "closed");
        this.emit("channel", f);
        return;
      case "channel_subscribed":
        this.channelSubscribed(f);
        this.emit("channel", f);
        return;
      case "channel_message_ack": {
        // the answer to a channel_send
        const o = this.outbox.get(f.clientMessageId);
        if (o) {
          clearTimeout(o.timer);
          this.outbox.delete(f.clientMessageId);
          o.resolve(f);
        }
        this.emit("channel", f);
        return;
      }
      case "channel_stream_start": {
        const s = this.channelStream(f.messageId, f.channelId);
        s.agentId = f.agentId;
        s.replyToId = f.replyToId;
        if (f.chainHop !== undefined) s.chainHop = f.chainHop;
        if (f.chainRootId !== undefined) s.chainRootId = f.chainRootId;
        this.emit("channelStream", s);
        this.emit("channel", f);
        return;
      }
      case "channel_stream_chunk":
        this.channelChunk(f);
        this.emit("channel", f);
        return;
      case "channel_stream_status": {
        const s = this.channelStream(f.messageId, f.channelId);
        if (s.status === "streaming") {
          s.agentStatus = f.label === undefined ? { state: f.state } : { state: f.state, label: f.label };
          this.emit("channelStream", s);
        }
        this.emit("channel", f);
        return;
      }
      case "channel_stream_end": {
        const s = this.channelStream(f.messageId, f.channelId);
        if (s.status === "streaming") {
          s.status = f.status;
          s.content = f.content; // authoritative, whatever was assembled
          s.bytes = utf8Length(f.content);
          s.seq = f.seq;
          delete s.agentStatus;
          if (f.error) s.error = f.error;
          this.emit("channelStream", s);
          this.endedChannelStream(s.messageId);
        }
        // A request whose reply ends unanswered gets no channel_input_resolved: the end closes it.
        for (const r of [...this.channelInputs.values()]) if (r.messageId === f.messageId) this.closeChannelInput(r.requestId, "closed");
        this.emit("channel", f);
        return;
      }
      case "channel_input_request": {
        const { type: _, ...r } = f;
        this.openChannelInput(r);
        this.emit("channel", f);
        return;
      }
      case "channel_input_resolved":
        this.closeChannelInput(f.data.requestId, f.data.state, f.data);
        this.emit("channel", f);
        return;
      case "channel_chain_limit":
      case "channel_message_new":
      case "channel_message_deleted":
      case "channel_reaction_added":
      case "channel_reaction_removed":
        this.emit("channel", f);
        return;
      case "sync_needed":
        // Frames for this socket may have been lost: what sync returns
        // repairs streams (by offset) and events (once by id).
        this.startSync();
        return;
      case "auth_ok":
      case "auth_error":
      case "pong":
        return;
      default:
        return this.event(f);
    }
  }

  private synced(f: SyncResultFrame): void {
    this.attempt = 0; // a working socket: the next loss starts the backoff afresh
    for (const c of f.conversations) {
      this.conversations.set(c.conversationId, { ...c });
      this.seq(c.conversationId, c.lastSeq);
    }
    const active = new Set<string>();
    for (const a of f.activeStreams) {
      active.add(a.messageId);
      const s = this.stream(a.messageId, a.conversationId);
      s.agentId = a.agentId;
      applyResume(s, a.content, a.offset);
      if (a.status) s.agentStatus = a.status;
      this.emit("stream", s);
    }
    for (const id of this.streamingBefore) {
      const s = this.streams.get(id);
      if (s && s.status === "streaming" && !active.has(id)) {
        s.endedWhileAway = true;
        this.emit("stream", s);
      }
    }
    this.streamingBefore.clear();
    for (const a of f.agents) {
      this.agents.set(a.agentId, a.online);
      this.emit("presence", { agentId: a.agentId, online: a.online });
    }
    // The open requests as the relay lists them now: those held but no
    // longer listed closed while the socket was away.
    // (A relay older than input requests sends no list.)
    const listed = (f.inputRequests as InputRequest[] | undefined) ?? [];
    const open = new Set(listed.map((r) => r.requestId));
    for (const id of [...this.inputs.keys()]) if (!open.has(id)) this.closeInput(id, "closed");
    for (const r of listed) this.openInput(r);
    // Open app sessions likewise (a relay older than app sessions sends no list).
    if (Array.isArray(f.appSessions)) {
      const live = new Set(f.appSessions.map((a) => a.id));
      for (const [id, s] of [...this.appSessions]) {
        if (live.has(id)) continue;
        this.appSessions.delete(id);
        this.emit("appSession", { session: s, ended: true });
      }
      for (const a of f.appSessions) this.appSessionSeen(a, false);
    }
    this.syncing = false;
    const buffered = this.buffered;
    this.buffered = [];
    for (const b of buffered) this.receive(b);
    for (const e of f.events) this.event(e);
    this.emit("sync", f);
  }

  private event(e: EventFrame): void {
    if (this.seen.has(e.id)) return;
    this.seen.add(e.id);
    if (this.seen.size > SEEN_EVENTS) this.seen.delete(this.seen.values().next().value as string);
    if (e.type === "message_new") {
      const m = e.data.message;
      this.seq(m.conversationId, m.seq);
      // A reply that ended while this user had no socket arrives as message_new.
      const s = this.streams.get(m.id);
      if (s && s.status === "streaming" && m.status !== "streaming" && m.status !== "pending") {
        s.status = m.status as StreamState["status"];
        s.content = m.content;
        s.bytes = utf8Length(m.content);
        this.emit("stream", s);
        this.endedStream(s.messageId);
      }
    } else if (e.type === "input_resolved") {
      this.closeInput(e.data.requestId, e.data.state, e.data);
    } else if (e.type === "app_session_started" || e.type === "app_session_updated") {
      this.appSessionSeen(e.data.session, false);
    } else if (e.type === "app_session_ended") {
      this.appSessionSeen(e.data.session, true);
    } else if (e.type === "read_updated") {
      const c = e.conversationId ? this.conversations.get(e.conversationId) : undefined;
      if (c && e.data.seq > c.lastReadSeq) {
        c.lastReadSeq = e.data.seq;
        c.unreadCount = 0;
      }
    }
    this.emit("event", e);
  }

  private refused(f: ErrorFrame): void {
    // An answer given again (the call came again while the first answer was on its way): the first one counted.
    if (f.code === "already_answered" && f.ref && [...this.actionsDone.values()].some((a) => a.callId === f.ref)) return;
    const o = f.ref ? this.outbox.get(f.ref) : undefined;
    if (o) {
      if (f.code === "rate_limited" || f.code === "internal") {
        clearTimeout(o.timer);
        o.timer = setTimeout(() => this.write(o.frame), f.retryAfterMs ?? 1000);
        return;
      }
      this.outbox.delete(f.ref!);
      o.reject(new RelayError(f.code, f.message, f.field, f.retryAfterMs));
      return;
    }
    const rep = f.ref ? this.reports.get(f.ref) : undefined;
    if (rep) {
      if (f.code === "rate_limited" || f.code === "internal") {
        clearTimeout(rep.timer);
        rep.timer = setTimeout(() => this.write(rep.frame), f.retryAfterMs ?? 1000);
        return;
      }
      this.reports.delete(f.ref!);
      rep.reject(new RelayError(f.code, f.message, f.field, f.retryAfterMs));
      return;
    }
    const r = f.ref ? this.regenerates.get(f.ref) : undefined;
    if (r) {
      this.regenerates.delete(f.ref!);
      r.reject(new RelayError(f.code, f.message, f.field, f.retryAfterMs));
      return;
    }
    this.emit("error", f);
  }

  // appAction hands a call to the app once; a call it already answered is answered again from what it said.
  private appAction(f: AppActionFrame): void {
    const key = actionKey(f);
    const done = this.actionsDone.get(key);
    if (done) {
      this.write(done);
      return;
    }
    if (this.actionsOpen.has(key)) return;
    this.actionsOpen.set(key, f);
    this.emit("appAction", f);
  }

  // appSessionSeen applies a session as sync or an event gives it: ended, new, or a greater version.
  private appSessionSeen(s: AppSession, ended: boolean): void {
    const held = this.appSessions.get(s.id);
    if (ended || s.endedAt) {
      if (!held) return;
      this.appSessions.delete(s.id);
      for (const [k, a] of [...this.actionsOpen]) if (a.sessionId === s.id) this.actionsOpen.delete(k);
      this.emit("appSession", { session: s, ended: true });
      return;
    }
    if (held && held.version >= s.version) return;
    this.appSessions.set(s.id, s);
    this.emit("appSession", { session: s, ended: false });
  }

  private openInput(r: InputRequest): void {
    if (this.closedInputs.has(r.requestId) || this.inputs.has(r.requestId)) return;
    const copy = { ...r };
    this.inputs.set(r.requestId, copy);
    this.emit("input", copy);
  }

  private openChannelInput(r: ChannelInputRequest): void {
    if (this.closedInputs.has(r.requestId) || this.channelInputs.has(r.requestId)) return;
    const copy = { ...r };
    this.channelInputs.set(r.requestId, copy);
    this.emit("channelInput", copy);
  }

  private closeChannelInput(requestId: string, state: ChannelInputClosed["state"], resolved?: ChannelInputClosed["resolved"]): void {
    this.closedInputs.add(requestId);
    if (this.closedInputs.size > CLOSED_INPUTS) this.closedInputs.delete(this.closedInputs.values().next().value as string);
    const request = this.channelInputs.get(requestId);
    if (!request) return;
    this.channelInputs.delete(requestId);
    this.emit("channelInputClosed", resolved ? { request, state, resolved } : { request, state });
  }

  private closeInput(requestId: string, state: InputClosed["state"], resolved?: EventData["input_resolved"]): void {
    this.closedInputs.add(requestId);
    if (this.closedInputs.size > CLOSED_INPUTS) this.closedInputs.delete(this.closedInputs.values().next().value as string);
    const request = this.inputs.get(requestId);
    if (!request) return;
    this.inputs.delete(requestId);
    this.emit("inputClosed", resolved ? { request, state, resolved } : { request, state });
  }

  // channelSubscribed: the channel is live on this socket. Its reply in
  // flight (stream) is resumed, replies held as streaming that it no longer
  // shows ended meanwhile, and chunks that came before it are applied.
  private channelSubscribed(f: ChannelSubscribedFrame): void {
    this.channelsLive.add(f.channelId);
    // The channel's open request is the one its stream shows; any other
    // held for the channel closed while this socket was not following it.
    const open = f.stream?.inputRequest;
    for (const r of [...this.channelInputs.values()])
      if (r.channelId === f.channelId && r.requestId !== open?.requestId) this.closeChannelInput(r.requestId, "closed");
    if (open) this.openChannelInput(open);
    if (f.stream) {
      const s = this.channelStream(f.stream.messageId, f.channelId);
      s.agentId = f.stream.agentId;
      applyResume(s, f.stream.content, f.stream.offset);
      if (f.stream.status) s.agentStatus = f.stream.status;
      this.emit("channelStream", s);
    }
    for (const s of this.channelStreams.values()) {
      if (s.channelId === f.channelId && s.status === "streaming" && !s.endedWhileAway && s.messageId !== f.stream?.messageId) {
        // As for a conversation's reply (StreamState.endedWhileAway): its
        // end is in the channel's history, past the lastSeq held.
        s.endedWhileAway = true;
        delete s.agentStatus;
        this.emit("channelStream", s);
        this.endedChannelStream(s.messageId);
      }
    }
    const held = this.channelChunks.get(f.channelId) ?? [];
    this.channelChunks.delete(f.channelId);
    for (const c of held) this.channelChunk(c);
  }

  // channelChunk applies a chunk by offset; before the channel is live, or
  // past a gap, it waits for channel_subscribed (a gap subscribes again).
  private channelChunk(f: ChannelStreamChunkFrame): void {
    if (!this.channelsLive.has(f.channelId)) {
      const held = this.channelChunks.get(f.channelId) ?? [];
      held.push(f);
      this.channelChunks.set(f.channelId, held);
      return;
    }
    const s = this.channelStream(f.messageId, f.channelId);
    const r = applyChunk(s, f.offset, f.delta);
    if (r === "applied") this.emit("channelStream", s);
    else if (r === "gap" && this.channels.has(f.channelId)) {
      this.channelsLive.delete(f.channelId);
      this.channelChunks.set(f.channelId, [f]);
      this.write({ type: "channel_subscribe", channelId: f.channelId });
    }
  }

  private channelStream(messageId: string, channelId: string): ChannelStreamState {
    let s = this.channelStreams.get(messageId);
    if (!s) {
      s = { messageId, channelId, content: "", bytes: 0, status: "streaming" };
      this.channelStreams.set(messageId, s);
    }
    return s;
  }

  private endedChannelStream(messageId: string): void {
    this.channelEnded.push(messageId);
    while (this.channelEnded.length > ENDED_STREAMS) this.channelStreams.delete(this.channelEnded.shift()!);
  }

  // endedStream bounds what a long-lived page keeps: the newest ended replies stay
  // (a late chunk of one is still recognised as late), older ones are dropped.
  private endedStream(messageId: string): void {
    this.ended.push(messageId);
    while (this.ended.length > ENDED_STREAMS) this.streams.delete(this.ended.shift()!);
  }

  private stream(messageId: string, conversationId: string): StreamState {
    let s = this.streams.get(messageId);
    if (!s) {
      s = { messageId, conversationId, content: "", bytes: 0, status: "streaming" };
      this.streams.set(messageId, s);
    }
    return s;
  }

  private seq(conversationId: string, seq: number): void {
    if (seq > (this.cursors.get(conversationId) ?? 0)) this.cursors.set(conversationId, seq);
  }
}

interface Report {
  frame: AppUserActionFrame | AppStateEventFrame;
  resolve: (a: AppEventAckFrame) => void;
  reject: (e: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/** The app's answer to an app_action: its result, or an error of its own. */
export type AppActionOutcome = { result: unknown } | { error: { code: string; message: string } };

function actionKey(a: { sessionId: string; callId: string }): string {
  return a.sessionId + "/" + a.callId;
}

function documentVisible(): boolean {
  return typeof document === "undefined" || document.visibilityState === "visible";
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}
