import { Asks } from "./ask.js";
import { Backoff, sleep, type BackoffOptions } from "./backoff.js";
import {
  AuthError,
  CancelledError,
  InvalidInputError,
  NotYourTaskError,
  PostError,
  ReplacedError,
  RevokedError,
  StoppedError,
  isFatal,
  relayEnded,
} from "./errors.js";
import {
  CloseCode,
  DEFAULT_URL,
  MAX_CONTENT_BYTES,
  PROTOCOL,
  decodeFromRelay,
  type AgentInfo,
  type AgentMessageAckFrame,
  type AgentMessageFrame,
  type AgentToRelay,
  type RelayToAgent,
  type Skill,
  type StatusState,
} from "./protocol.js";
import { OPEN, terminate, webSocketConstructor, type WebSocketConstructor, type WebSocketLike } from "./socket.js";
import { AGENT_STOPPING, HANDLER_FAILURE, Task } from "./task.js";
import { Calls } from "./tools.js";
import { utf8Length, validText } from "./text.js";

/** A logger with the console's shape; the SDK logs nothing without one. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentOptions {
  /** The relay's agent socket; DEFAULT_URL (`make local`'s) when absent. */
  url?: string;
  /** The agent's secret, "ari_" + 48 hex characters. */
  token: string;
  /** Declared after every authentication when given. */
  skills?: Skill[];
  backoff?: BackoffOptions;
  logger?: Logger;
  /** The WebSocket class; the runtime's own, else the `ws` package, when absent. */
  WebSocket?: WebSocketConstructor;
  /** How long stop() waits for tasks to end before failing them (3 s). */
  stopTimeoutMs?: number;
}

/** A handler writes the reply of one task; see Agent.serve. */
export type Handler = (task: Task) => Promise<void> | void;

/** The relay's answer to a stored agent message. */
export type Posted = Omit<AgentMessageAckFrame, "type">;

/** @internal one frame waiting for the socket, rendered only when written (see Agent.render). */
export type Item =
  | { kind: "delta" | "set" | "error"; task: Task; content: string; full: string }
  | { kind: "status"; task: Task; content: string; state: StatusState; full: string }
  | { kind: "complete"; task: Task; content: string; full: string; final: boolean }
  | { kind: "post"; frame: AgentMessageFrame }
  | { kind: "raw"; frame: AgentToRelay };

/** An authenticated socket and the frames that came right behind auth_ok. */
interface Dialed {
  ws: WebSocketLike;
  early: string[];
}

interface PostWaiter {
  frame: AgentMessageFrame;
  resolve: (p: Posted) => void;
  reject: (e: unknown) => void;
}

// Tuning, as the Go SDK (relay/agentsdk).
const QUEUE_SIZE = 256; // frames waiting while the socket is away or slow
const HIGH_WATER = 1 << 20; // bytes buffered in the socket before the queue holds frames
const AUTH_TIMEOUT_MS = 15_000;
const PING_EVERY_MS = 20_000;
const READ_TIMEOUT_MS = 50_000; // the relay pings every 20 s; pongs answer our pings
const REPLAY_WINDOW_MS = 10_000; // terminal frames this recent are sent again after a loss
const FLUSH_TIMEOUT_MS = 3_000;

/**
 * Agent is one agent's connection to the relay, kept up across network
 * losses: it reconnects with exponential backoff and jitter and
 * re-authenticates. Tasks belong to the agent, not to a socket, so a task
 * goes on across a reconnect: its frames wait in a bounded queue, and its
 * first text frame on the new socket is sent in accumulated mode with the
 * whole text, which re-aligns the relay even if the last frames before the
 * loss never arrived. Ends written shortly before a loss are sent again (the
 * relay drops repeats silently). A refused or revoked token, or a newer
 * connection of the same agent, stops the agent with AuthError,
 * RevokedError or ReplacedError instead of retrying.
 */
export class Agent {
  /** Resolves when the agent has stopped: on stop(), or rejects with the fatal error. */
  readonly done: Promise<void>;
  /** Aborted when the agent begins to stop. */
  readonly signal: AbortSignal;

  private readonly opts: AgentOptions;
  private readonly url: string;
  private readonly log?: Logger;
  private readonly backoff: Backoff;
  private readonly stopper = new AbortController();
  private resolveDone!: () => void;
  private rejectDone!: (e: unknown) => void;

  private info_: AgentInfo | undefined;
  private ws: WebSocketLike | undefined;
  private epoch = 0;
  private readonly queue: Item[] = [];
  private head = 0;
  private spaceWaiters: (() => void)[] = [];
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private retry: Item | undefined;
  private recent: { it: Item; at: number }[] = [];
  private readonly tasks_ = new Map<string, Task>();
  private readonly posts = new Map<string, PostWaiter>();
  /** @internal the input requests waiting for their answer, one per task. */
  readonly _asks = new Asks();
  /** @internal the tool calls waiting for their tool_result, by callId. */
  readonly _calls = new Calls();
  private readonly incoming: Task[] = [];
  private taskWaiter: (() => void) | undefined;
  private halted = false;
  private stopping: Promise<void> | undefined;
  private lastRecv = 0;

  constructor(opts: AgentOptions) {
    if (!opts.token) throw new InvalidInputError("AgentOptions.token is required");
    this.opts = opts;
    this.url = opts.url || DEFAULT_URL;
    if (opts.logger) this.log = opts.logger;
    this.backoff = new Backoff(opts.backoff);
    this.signal = this.stopper.signal;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // a caller that never awaits done sees no unhandled rejection
  }

  /**
   * connect dials and authenticates once, rejecting with that first
   * attempt's refusal or network error, then keeps the agent connected in
   * the background until stop() or a fatal error (see done).
   */
  static async connect(opts: AgentOptions): Promise<Agent> {
    const a = new Agent(opts);
    const conn = await a.dial();
    void a.loop(conn);
    return a;
  }

  /** start connects in the background, retrying network failures with backoff. */
  start(): this {
    void this.loop(undefined);
    return this;
  }

  /** The agent as the relay announced it in the last auth_ok. */
  get info(): AgentInfo | undefined {
    return this.info_;
  }

  /**
   * tasks yields each task the relay gives the agent, until the agent
   * stops. Tasks are independent: handle each without waiting for the
   * previous one to end (serve does that for you). One consumer at a time.
   */
  async *tasks(): AsyncGenerator<Task, void, undefined> {
    for (;;) {
      const t = this.incoming.shift();
      if (t) {
        yield t;
        continue;
      }
      if (this.halted || this.signal.aborted) return;
      await new Promise<void>((resolve) => (this.taskWaiter = resolve));
    }
  }

  /**
   * serve calls handler for every task, each on its own (not one after the
   * other), until the agent stops; it resolves once every handler returned.
   * A handler that returns without ending the reply completes it; one that
   * throws fails it with a generic message (the error is only logged, since
   * users read what an agent sends). A handler must return once
   * task.signal aborts.
   */
  async serve(handler: Handler): Promise<void> {
    const running = new Set<Promise<void>>();
    for await (const task of this.tasks()) {
      const p = this.runHandler(task, handler).finally(() => running.delete(p));
      running.add(p);
    }
    await Promise.all(running);
  }

  private async runHandler(task: Task, handler: Handler): Promise<void> {
    let failed: unknown;
    try {
      await handler(task);
    } catch (err) {
      failed = err ?? new Error("handler failed");
    }
    if (task.done) return;
    const reason: unknown = task.signal.aborted ? task.signal.reason : undefined;
    if (relayEnded(reason)) {
      task.ended = true;
      this._taskOver(task);
    } else if (failed === undefined) {
      await task.complete().catch(() => {});
    } else if (reason instanceof StoppedError) {
      await task.fail(AGENT_STOPPING).catch(() => {});
    } else {
      this._log("error", "agent-sdk: handler failed", { task: task.id, err: String(failed) });
      await task.fail(HANDLER_FAILURE).catch(() => {});
    }
  }

  /**
   * post sends a message of the agent's own, outside any task, to a
   * conversation it is a member of (agent_message), and resolves with the
   * stored message's id and seq, or rejects with a PostError. Members get
   * it as message_new; it starts no reply. clientMessageId must be unique
   * among all the agent's messages; the relay stores a message once per id,
   * so post sends it again under the same id when the connection is lost
   * before the answer, and a caller may retry with the same id after an error.
   */
  post(conversationId: string, content: string, clientMessageId: string, opts: { signal?: AbortSignal } = {}): Promise<Posted> {
    if (!validId(conversationId) || !validId(clientMessageId) || !validText(content) || content.trim() === "" || utf8Length(content) > MAX_CONTENT_BYTES) {
      return Promise.reject(new InvalidInputError("a post needs ids of 1-64 characters of A-Z a-z 0-9 _ - and 1-16384 bytes of non-blank text"));
    }
    if (this.halted || this.signal.aborted) return Promise.reject(new StoppedError());
    if (this.posts.has(clientMessageId)) {
      return Promise.reject(new InvalidInputError("a post with this clientMessageId is already waiting for its answer"));
    }
    const frame: AgentMessageFrame = { type: "agent_message", conversationId, content, clientMessageId };
    return new Promise<Posted>((resolve, reject) => {
      const onAbort = () => finish(() => reject(opts.signal?.reason));
      const finish = (f: () => void) => {
        this.posts.delete(clientMessageId);
        opts.signal?.removeEventListener("abort", onAbort);
        f();
      };
      this.posts.set(clientMessageId, {
        frame,
        resolve: (p) => finish(() => resolve(p)),
        reject: (e) => finish(() => reject(e)),
      });
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this._enqueue({ kind: "post", frame }).catch((e) => this.posts.get(clientMessageId)?.reject(e));
    });
  }

  /**
   * stop stops the agent: every task's signal aborts (reason StoppedError),
   * tasks get up to stopTimeoutMs to end (those still open then fail with
   * "the agent is shutting down"), their last frames are sent, and the
   * socket closes with 1000. Resolves when the agent has stopped.
   */
  stop(): Promise<void> {
    this.beginStop();
    return this.done.catch(() => {});
  }

  private beginStop(): void {
    if (this.stopping) return;
    // Set before the aborts: their listeners (serveSocket's) chain on it.
    this.stopping = Promise.resolve().then(() => this.drainTasks());
    this.stopper.abort(new StoppedError());
    for (const t of this.tasks_.values()) t.controller.abort(new StoppedError());
    this.wakeTasks();
  }

  // drainTasks waits for open tasks to end, fails the rest, and waits for the queue to empty.
  private async drainTasks(): Promise<void> {
    const all = Promise.all([...this.tasks_.values()].map((t) => t.over));
    await Promise.race([all, sleep(this.opts.stopTimeoutMs ?? FLUSH_TIMEOUT_MS)]);
    for (const t of [...this.tasks_.values()]) {
      if (!t.ended) await t.fail(AGENT_STOPPING).catch(() => {});
    }
    const deadline = Date.now() + FLUSH_TIMEOUT_MS;
    while (Date.now() < deadline && this.ws?.readyState === OPEN && (this.pending() > 0 || this.ws.bufferedAmount > 0)) {
      this.pump();
      await sleep(5);
    }
  }

  // ---- connection ----

  private async loop(first: Dialed | undefined): Promise<void> {
    let ws = first;
    let fatal: unknown;
    while (!this.signal.aborted) {
      if (!ws) {
        try {
          ws = await this.dial();
        } catch (err) {
          if (this.signal.aborted) break;
          if (isFatal(err)) {
            fatal = err;
            break;
          }
          const wait = this.backoff.next();
          this._log("warn", "agent-sdk: cannot connect to the relay", { err: String(err), retryInMs: Math.round(wait) });
          await sleep(wait, this.signal);
          continue;
        }
      }
      this.backoff.reset();
      const { err, code } = await this.serveSocket(ws);
      ws = undefined;
      if (this.signal.aborted) break;
      if (isFatal(err)) {
        fatal = err;
        this._log("error", "agent-sdk: relay ended the agent", { err: String(err) });
        break;
      }
      // 1001: the instance is shutting down; another one answers now.
      const wait = code === CloseCode.goingAway ? this.backoff.jitter(this.backoff.initialMs / 2) : this.backoff.next();
      this._log("warn", "agent-sdk: lost the relay", { err: String(err), code, retryInMs: Math.round(wait) });
      await sleep(wait, this.signal);
    }
    this.beginStop();
    await this.stopping;
    this.halt(fatal);
  }

  private halt(fatal: unknown): void {
    this.halted = true;
    if (this.ws) {
      if (this.ws.readyState === OPEN) this.ws.close(CloseCode.normal, "normal");
      this.ws = undefined;
    }
    for (const w of this.spaceWaiters) w();
    this.spaceWaiters = [];
    for (const p of [...this.posts.values()]) p.reject(new StoppedError());
    this._calls.rejectAll(new StoppedError());
    this.wakeTasks();
    if (fatal) this.rejectDone(fatal);
    else this.resolveDone();
  }

  /** dial opens a socket and authenticates: auth, then auth_ok (or auth_error), then skills. */
  private async dial(): Promise<Dialed> {
    const { WS, source } = await webSocketConstructor(this.opts.WebSocket);
    const ws = new WS(this.url, PROTOCOL);
    // Frames that arrive right behind auth_ok (a task) wait here for serveSocket.
    const early: string[] = [];
    const info = await new Promise<AgentInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        terminate(ws);
        reject(new Error("agent-sdk: no auth_ok within 15 s"));
      }, AUTH_TIMEOUT_MS);
      const onAbort = () => {
        terminate(ws);
        reject(new StoppedError());
      };
      this.signal.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        this.signal.removeEventListener("abort", onAbort);
        ws.onopen = ws.onerror = ws.onclose = null;
        ws.onmessage = (ev) => typeof ev.data === "string" && early.push(ev.data);
      };
      let failure: unknown;
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.opts.token }));
      ws.onerror = (ev) => {
        failure ??= new Error(`agent-sdk: dial ${this.url}: ${errorText(ev)}`);
      };
      ws.onclose = (ev) => {
        done();
        reject(closeCause(ev.code, ev.reason) ?? failure ?? new Error(`agent-sdk: dial ${this.url}: closed ${ev.code}`));
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== "string") return;
        const f = decodeFromRelay(ev.data);
        if (f?.type === "auth_ok") {
          done();
          resolve(f.agent);
        } else if (f?.type === "auth_error") {
          done();
          terminate(ws);
          reject(new AuthError(f.code, f.message));
        }
      };
    });
    if (this.opts.skills) ws.send(JSON.stringify({ type: "skills", skills: this.opts.skills }));
    this.info_ = info;
    this._log("info", "agent-sdk: connected", { agent: info.id, handle: info.handle, url: this.url, websocket: source });
    return { ws, early };
  }

  /** serveSocket runs one authenticated socket until it closes. */
  private serveSocket({ ws, early }: Dialed): Promise<{ err: unknown; code: number }> {
    this.ws = ws;
    this.epoch++;
    this.lastRecv = Date.now();
    return new Promise((resolve) => {
      const ticker = setInterval(() => {
        if (Date.now() - this.lastRecv > READ_TIMEOUT_MS) {
          terminate(ws); // silent past the relay's pings: the socket is dead even if TCP has not noticed
          return;
        }
        if (ws.readyState === OPEN) ws.send('{"type":"ping"}');
      }, PING_EVERY_MS);
      (ticker as { unref?: () => void }).unref?.();
      const onPing = () => (this.lastRecv = Date.now());
      (ws as { on?: (ev: string, f: () => void) => void }).on?.("ping", onPing);
      ws.onmessage = (ev) => {
        this.lastRecv = Date.now();
        if (typeof ev.data === "string") this.receive(ev.data);
      };
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        clearInterval(ticker);
        ws.onmessage = ws.onclose = null;
        if (this.ws === ws) this.ws = undefined;
        this.socketLost();
        resolve({ err: closeCause(ev.code, ev.reason) ?? new Error(`connection closed (${ev.code} ${ev.reason})`), code: ev.code });
      };
      // Stopping with the socket up: its last frames go out, then 1000 (and
      // the socket is dropped if the relay does not answer the close).
      const onStop = () => {
        void this.stopping?.then(() => {
          if (ws.readyState !== OPEN) return;
          ws.close(CloseCode.normal, "normal");
          setTimeout(() => terminate(ws), 1000).unref?.();
        });
      };
      this.signal.addEventListener("abort", onStop, { once: true });
      const closed = ws.onclose;
      ws.onclose = (ev) => {
        this.signal.removeEventListener("abort", onStop);
        closed?.(ev);
      };
      this.replay();
      this.pump();
      for (const data of early) this.receive(data);
      if (this.signal.aborted) onStop();
    });
  }

  private receive(data: string): void {
    const f: RelayToAgent | undefined = decodeFromRelay(data);
    if (!f) {
      this._log("debug", "agent-sdk: ignored a frame");
      return;
    }
    switch (f.type) {
      case "task": {
        if (this.signal.aborted || this.tasks_.has(f.taskId)) return;
        const t = new Task(this, f);
        this.tasks_.set(f.taskId, t);
        this.incoming.push(t);
        this.wakeTasks();
        return;
      }
      case "task_cancel":
        this.tasks_.get(f.taskId)?.controller.abort(new CancelledError(f.reason));
        return;
      case "input_response":
      case "input_timeout":
        this._asks.answer(f);
        return;
      case "tool_result":
        this._calls.answer(f);
        return;
      case "app_event":
        this.tasks_.get(f.taskId)?._appEvent(f);
        return;
      case "agent_message_ack":
        this.posts.get(f.clientMessageId)?.resolve({ clientMessageId: f.clientMessageId, messageId: f.messageId, seq: f.seq });
        return;
      case "error": {
        if (this._asks.refuse(f)) return;
        if (f.code === "not_your_task" && f.ref) {
          this.tasks_.get(f.ref)?.controller.abort(new NotYourTaskError());
          return;
        }
        const p = f.ref ? this.posts.get(f.ref) : undefined;
        if (p) {
          p.reject(new PostError(f.code, f.message, f.field, f.retryAfterMs));
          return;
        }
        this._log("warn", "agent-sdk: relay reported an error", { code: f.code, message: f.message, field: f.field, ref: f.ref });
        return;
      }
      default:
        return;
    }
  }

  private wakeTasks(): void {
    const w = this.taskWaiter;
    this.taskWaiter = undefined;
    w?.();
  }

  // socketLost sends the posts, input requests and tool calls waiting for an answer
  // again, on the next socket (the relay keeps one of each per id).
  private socketLost(): void {
    for (const p of this.posts.values()) this.queue.push({ kind: "post", frame: p.frame });
    for (const f of this._asks.frames()) this.queue.push({ kind: "raw", frame: f });
    for (const f of this._calls.frames()) this.queue.push({ kind: "raw", frame: f });
  }

  /** @internal the task's end is queued: it no longer needs the agent. */
  _taskOver(t: Task): void {
    if (this.tasks_.get(t.id) === t) this.tasks_.delete(t.id);
    t.settled();
  }

  // ---- the send queue ----

  private pending(): number {
    return this.queue.length - this.head;
  }

  /**
   * @internal _enqueue hands an item to the writer, waiting while the queue
   * is full; signal (a task's) bounds the wait, the agent's halt always does.
   */
  async _enqueue(it: Item, signal?: AbortSignal): Promise<void> {
    while (this.pending() >= QUEUE_SIZE) {
      if (this.halted) throw new StoppedError();
      if (signal?.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.spaceWaiters.push(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    if (this.halted) throw new StoppedError();
    if (signal?.aborted) throw signal.reason;
    this.queue.push(it);
    this.pump();
  }

  // pump writes queued frames while the socket takes them.
  private pump(): void {
    const ws = this.ws;
    while (ws && ws.readyState === OPEN && this.head < this.queue.length) {
      if (ws.bufferedAmount > HIGH_WATER) {
        this.pumpTimer ??= setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, 2);
        break;
      }
      const it = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Item;
      if (!this.write(ws, it)) {
        this.retry = it;
        break;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.spaceWaiters.length > 0 && this.pending() < QUEUE_SIZE) {
      const ws2 = this.spaceWaiters;
      this.spaceWaiters = [];
      for (const w of ws2) w();
    }
  }

  // replay sends again what may have been lost with the previous socket.
  private replay(): void {
    const now = Date.now();
    const again: Item[] = [];
    if (this.retry) again.push(this.retry);
    this.retry = undefined;
    for (const r of this.recent) if (now - r.at < REPLAY_WINDOW_MS && !again.includes(r.it)) again.push(r.it);
    this.recent = [];
    if (again.length > 0) {
      this.queue.splice(this.head, 0, ...again);
    }
  }

  /**
   * write renders one queued item for the current socket. A task that sent
   * frames on an earlier socket is re-aligned: its chunk goes out in
   * accumulated mode with the whole text, and its completion carries the
   * text, so whatever the relay missed at the loss is filled in.
   */
  private write(ws: WebSocketLike, it: Item): boolean {
    let f: AgentToRelay;
    switch (it.kind) {
      case "post":
      case "raw":
        f = it.frame;
        break;
      case "status":
        // Carries no text: the task's next text frame still re-aligns.
        f = it.content === "" ? { type: "agent_status", taskId: it.task.id, state: it.state } : { type: "agent_status", taskId: it.task.id, state: it.state, label: it.content };
        break;
      default: {
        const t = it.task;
        const resync = t.epoch !== 0 && t.epoch !== this.epoch;
        t.epoch = this.epoch;
        if (it.kind === "delta") {
          f = resync
            ? { type: "agent_chunk", taskId: t.id, content: it.full, mode: "accumulated" }
            : { type: "agent_chunk", taskId: t.id, content: it.content, mode: "delta" };
        } else if (it.kind === "set") {
          f = { type: "agent_chunk", taskId: t.id, content: it.full, mode: "accumulated" };
        } else if (it.kind === "complete") {
          f = it.final || resync ? { type: "agent_complete", taskId: t.id, content: it.full } : { type: "agent_complete", taskId: t.id };
        } else {
          f = { type: "agent_error", taskId: t.id, error: it.content };
        }
      }
    }
    try {
      ws.send(JSON.stringify(f));
    } catch (err) {
      this._log("debug", "agent-sdk: write failed", { err: String(err) });
      return false;
    }
    if (it.kind === "complete" || it.kind === "error") {
      const now = Date.now();
      this.recent = this.recent.filter((r) => now - r.at < REPLAY_WINDOW_MS);
      this.recent.push({ it, at: now });
    }
    return true;
  }

  /** @internal */
  _log(level: keyof Logger, msg: string, fields?: Record<string, unknown>): void {
    this.log?.[level](msg, fields);
  }
}

/**
 * run connects an agent (retrying network failures), serves every task
 * with handler, and resolves when signal aborts and the agent has stopped;
 * it rejects with AuthError, RevokedError or ReplacedError when the relay
 * ends the agent.
 */
export async function run(opts: AgentOptions & { handler: Handler; signal?: AbortSignal }): Promise<void> {
  const agent = new Agent(opts).start();
  const onAbort = () => void agent.stop();
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await Promise.all([agent.serve(opts.handler), agent.done]);
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** closeCause turns the relay's close codes into the SDK's errors. */
function closeCause(code: number, reason: string): Error | undefined {
  switch (code) {
    case CloseCode.unauthorized:
      return new AuthError("unauthorized", reason || "unauthorized");
    case CloseCode.revoked:
      return new RevokedError();
    case CloseCode.replaced:
      return new ReplacedError();
    case CloseCode.authTimeout:
      return new AuthError("auth_timeout", reason || "auth timeout");
    default:
      return undefined;
  }
}

function errorText(ev: unknown): string {
  const e = ev as { message?: unknown; error?: unknown };
  if (typeof e?.message === "string" && e.message) return e.message;
  if (e?.error instanceof Error) return e.error.message;
  return "connection failed";
}

/** validId: 1–64 characters of [A-Za-z0-9_-] (PROTOCOL.md section 1). */
export function validId(s: string): boolean {
  return typeof s === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(s);
}
