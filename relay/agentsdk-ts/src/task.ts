import type { Agent } from "./agent.js";
import { checkRequest, newRequestId, type Answer, type AskOptions } from "./ask.js";
import { InvalidInputError, StoppedError, TaskEndedError, relayEnded } from "./errors.js";
import {
  MAX_AGENT_ERROR_BYTES,
  MAX_REPLY_BYTES,
  MAX_STATUS_LABEL_BYTES,
  STATUS_STATES,
  type AgentInputRequestFrame,
  type AppEventEntry,
  type AppEventFrame,
  type Attachment,
  type HistoryEntry,
  type StatusState,
  type TaskChain,
  type TaskFrame,
  type TaskMessage,
  type TaskRegenerate,
  type Tool,
  type ToolCallFrame,
} from "./protocol.js";
import { clean, truncate, utf8Length, validText } from "./text.js";
import { callFrame, newCallId, type CallOptions } from "./tools.js";

/** What a handler's failure shows users; the error itself is only logged. */
export const HANDLER_FAILURE = "the agent could not answer";
export const AGENT_STOPPING = "the agent is shutting down";
const APP_EVENT_BUFFER = 64;

/**
 * Task is one reply the relay asks the agent to write, and the stream to
 * write it. Its methods may be called without awaiting each, in order: frames
 * go out in the order of the calls.
 *
 * `signal` aborts when the task is over for the agent: the relay cancelled
 * it (reason a CancelledError with the relay's reason, or NotYourTaskError)
 * or the agent is stopping (StoppedError). Pass it to whatever produces the
 * reply (fetch, an LLM client) so the work stops too.
 */
export class Task {
  readonly id: string;
  readonly conversationId: string;
  /** The reply being written (also its stream frames' messageId). */
  readonly messageId: string;
  /** The message to answer: a person's, or in a chain the mentioning agent's reply. */
  readonly message: TaskMessage;
  /** Earlier messages, oldest first (section 9). */
  readonly history: HistoryEntry[];
  /** Tools of apps bound to the conversation (section 15), when there are any. */
  readonly tools: Tool[] | undefined;
  /** Set when another agent's reply mentioned this agent (section 13). */
  readonly chain: TaskChain | undefined;
  /** Set when a member asked for a new answer (section 10). */
  readonly regenerate: TaskRegenerate | undefined;
  /** The task frame as received, unknown keys included. */
  readonly frame: TaskFrame;
  readonly signal: AbortSignal;

  /** @internal */ readonly controller = new AbortController();
  /** @internal the socket its last text frame went out on; 0 before any. */ epoch = 0;
  /** @internal */ ended = false;
  /** @internal */ settled!: () => void;
  /** @internal resolves once the task's end is queued (or the relay ended it). */
  readonly over: Promise<void>;

  private readonly events: AppEventFrame[] = [];
  private eventWaiter: (() => void) | undefined;
  private textSoFar = "";
  private bytes = 0;

  /** @internal */
  constructor(
    readonly agent: Agent,
    frame: TaskFrame,
  ) {
    this.frame = frame;
    this.id = frame.taskId;
    this.conversationId = frame.conversationId;
    this.messageId = frame.messageId;
    this.message = frame.message;
    this.history = frame.history;
    this.tools = frame.tools;
    this.chain = frame.chain;
    this.regenerate = frame.regenerate;
    this.signal = this.controller.signal;
    this.over = new Promise((resolve) => (this.settled = resolve));
  }

  /**
   * appEvents yields what happens in the conversation's apps open for this
   * agent while the task runs (app_event: a person's action in the app, or
   * an event the app reported), in the order the relay sent them, and ends
   * when the task is over. Events not taken wait, 64 at most (past that the
   * newest are dropped); every event is in the history of the next task
   * anyway (see historyAppEvents). One consumer at a time.
   */
  async *appEvents(): AsyncGenerator<AppEventFrame, void, undefined> {
    const wake = () => this.eventWaiter?.();
    this.signal.addEventListener("abort", wake, { once: true });
    void this.over.then(wake);
    try {
      for (;;) {
        const e = this.events.shift();
        if (e) {
          yield e;
          continue;
        }
        if (this.ended || this.signal.aborted) return;
        await new Promise<void>((resolve) => (this.eventWaiter = resolve));
        this.eventWaiter = undefined;
      }
    } finally {
      this.signal.removeEventListener("abort", wake);
    }
  }

  /** The app events among the task's history (section 15), oldest first: what happened in the apps before the task. */
  get historyAppEvents(): AppEventEntry[] {
    return this.history.filter((h): h is { type: "app_event" } & AppEventEntry => "type" in h && h.type === "app_event");
  }

  /** @internal hands an app_event to appEvents; dropped past 64 waiting. */
  _appEvent(f: AppEventFrame): void {
    if (this.ended || this.events.length >= APP_EVENT_BUFFER) {
      if (!this.ended) this.agent._log("warn", "agent-sdk: app event dropped (appEvents not read)", { task: this.id, app: f.app, name: f.name });
      return;
    }
    this.events.push(f);
    this.eventWaiter?.();
  }

  /** The reply text written so far. */
  get text(): string {
    return this.textSoFar;
  }

  /** Whether the reply has ended (complete, fail, or ended by the relay). */
  get done(): boolean {
    return this.ended;
  }

  /** The attachments of the message to answer (section 8); fetch them while working. */
  get attachments(): Attachment[] {
    return this.message.attachments;
  }

  /**
   * write appends delta to the reply (agent_chunk in delta mode). It waits
   * while the send queue is full and rejects once the task's signal aborted.
   * An empty delta tells the relay the agent is still working (keep-alive).
   */
  write(delta: string): Promise<void> {
    if (!validText(delta)) return Promise.reject(new InvalidInputError("text holds a lone surrogate or U+0000"));
    const err = this.unusable();
    if (err) return Promise.reject(err);
    const n = utf8Length(delta);
    if (this.bytes + n > MAX_REPLY_BYTES) return Promise.reject(new InvalidInputError("reply would exceed 256 KiB"));
    this.textSoFar += delta;
    this.bytes += n;
    return this.agent._enqueue({ kind: "delta", task: this, content: delta, full: this.textSoFar }, this.signal);
  }

  /**
   * set replaces the reply with text, which must begin with the text written
   * so far (agent_chunk in accumulated mode). To rewrite the reply, end it
   * with complete(final) instead.
   */
  set(text: string): Promise<void> {
    if (!validText(text)) return Promise.reject(new InvalidInputError("text holds a lone surrogate or U+0000"));
    const n = utf8Length(text);
    if (n > MAX_REPLY_BYTES) return Promise.reject(new InvalidInputError("reply would exceed 256 KiB"));
    const err = this.unusable();
    if (err) return Promise.reject(err);
    if (!text.startsWith(this.textSoFar)) {
      return Promise.reject(new InvalidInputError("set text does not extend the text sent so far"));
    }
    this.textSoFar = text;
    this.bytes = n;
    return this.agent._enqueue({ kind: "set", task: this, content: "", full: text }, this.signal);
  }

  /**
   * status tells the conversation's members what the agent is doing
   * (agent_status): thinking, tool, writing or waiting, with a short label
   * for people (at most 200 bytes). Members see the latest one until the
   * reply ends; it also counts as activity for the relay's silence timeouts.
   */
  status(state: StatusState, label = ""): Promise<void> {
    if (!STATUS_STATES.includes(state) || !validText(label) || utf8Length(label) > MAX_STATUS_LABEL_BYTES) {
      return Promise.reject(new InvalidInputError("status state must be thinking, tool, writing or waiting, with a label of at most 200 bytes"));
    }
    const err = this.unusable();
    if (err) return Promise.reject(err);
    return this.agent._enqueue({ kind: "status", task: this, content: label, state, full: "" }, this.signal);
  }

  /**
   * stream writes every delta of an iterable — an LLM client's stream, say —
   * then completes the reply. It stops when the task's signal aborts; a
   * failure of the iterable fails the reply with a generic message and
   * rejects with the failure.
   */
  async stream(deltas: AsyncIterable<string> | Iterable<string>, opts: { complete?: boolean } = {}): Promise<void> {
    try {
      for await (const d of deltas) {
        if (this.signal.aborted) throw this.signal.reason;
        if (d !== "") await this.write(d);
      }
    } catch (err) {
      if (!this.ended && !this.signal.aborted) {
        this.agent._log("error", "agent-sdk: stream failed", { task: this.id, err: String(err) });
        await this.fail(HANDLER_FAILURE).catch(() => {});
      }
      throw err;
    }
    if (opts.complete !== false) await this.complete();
  }

  /**
   * complete ends the reply with the text written so far, or with final as
   * its text whatever was streamed.
   */
  complete(final?: string): Promise<void> {
    if (final !== undefined) {
      if (!validText(final)) return Promise.reject(new InvalidInputError("text holds a lone surrogate or U+0000"));
      if (utf8Length(final) > MAX_REPLY_BYTES) return Promise.reject(new InvalidInputError("reply would exceed 256 KiB"));
    }
    return this.end("complete", final);
  }

  /**
   * fail ends the reply in error. message is shown to the conversation's
   * members, so it must not carry secrets; it is cut to 2 KiB.
   */
  fail(message: string = HANDLER_FAILURE): Promise<void> {
    const msg = truncate(clean(message || HANDLER_FAILURE), MAX_AGENT_ERROR_BYTES);
    return this.end("error", undefined, msg);
  }

  /**
   * ask asks the conversation's people a question (agent_input_request,
   * kind question) and resolves with the first answer. The reply waits
   * meanwhile, with no silence timeout, however long that takes; the
   * request is sent again on every new socket until answered, and an answer
   * the relay hands over twice resolves once. It rejects with an
   * InputTimeoutError when the request expires unanswered (the task goes
   * on), an InputError when the relay refused it, an InvalidInputError when
   * it breaks the protocol's bounds or the task already waits for an answer
   * (nothing was sent), and the task's signal reason when the task ends
   * (cancelled, not this agent's, the agent stopping).
   */
  ask(prompt: string, opts: AskOptions = {}): Promise<Answer> {
    const f: AgentInputRequestFrame = { type: "agent_input_request", taskId: this.id, requestId: opts.requestId ?? newRequestId(), kind: "question", prompt };
    if (opts.options !== undefined) f.options = opts.options;
    if (opts.schema !== undefined) f.schema = opts.schema;
    return this.request(f, opts.signal);
  }

  /**
   * approve asks the conversation's people for an approval (kind approval)
   * and resolves with the first decision: `approved`, and `text` the
   * member's comment if any. See ask.
   */
  approve(prompt: string, opts: { requestId?: string; signal?: AbortSignal } = {}): Promise<Answer> {
    return this.request({ type: "agent_input_request", taskId: this.id, requestId: opts.requestId ?? newRequestId(), kind: "approval", prompt }, opts.signal);
  }

  private request(f: AgentInputRequestFrame, signal?: AbortSignal): Promise<Answer> {
    try {
      checkRequest(f);
    } catch (err) {
      return Promise.reject(err);
    }
    const err = this.unusable();
    if (err) return Promise.reject(err);
    const signals = signal ? [this.signal, signal] : [this.signal];
    return this.agent._asks.wait(f, signals, (frame) => this.agent._enqueue({ kind: "raw", frame }, this.signal));
  }

  /**
   * call invokes one of the task's tools (tool_call: a name from `tools`,
   * see findTool and the typed `tool()` helper) with args, a JSON object,
   * and resolves with the app's result once its tool_result arrives. It
   * rejects with a ToolError carrying the code when the bridge refused the
   * call, the app answered an error, or nobody answered in time (the
   * relay's timeout, or opts.timeoutMs); with an InvalidInputError when the
   * call breaks the protocol's bounds (nothing was sent); with the task's
   * signal reason when the task ends and the signal's when opts.signal
   * aborts. The call is sent again under the same callId on every new
   * socket until answered; the relay keeps one call per id and gives its
   * result once, and a result handed over twice settles once. Calls may
   * run side by side.
   */
  call(tool: string, args?: Record<string, unknown>, opts: CallOptions = {}): Promise<unknown> {
    let f: ToolCallFrame;
    try {
      f = callFrame(this.id, tool, args, opts.callId ?? newCallId());
    } catch (err) {
      return Promise.reject(err);
    }
    const err = this.unusable();
    if (err) return Promise.reject(err);
    const signals = opts.signal ? [this.signal, opts.signal] : [this.signal];
    return this.agent._calls.wait(f, signals, opts.timeoutMs, (frame) => this.agent._enqueue({ kind: "raw", frame }, this.signal));
  }

  /** mentionBack is the mention of the agent whose reply this task answers, or "" for a person's message. */
  mentionBack(): string {
    const h = this.chain?.mentionedBy.handle;
    return h ? "@" + h : "";
  }

  /** lastHop: the chain has spent its hop budget; a mention in this reply starts nothing more. */
  get lastHop(): boolean {
    return this.chain !== undefined && this.chain.hop >= this.chain.maxHops;
  }

  private end(kind: "complete" | "error", final?: string, message?: string): Promise<void> {
    if (this.ended) return Promise.reject(new TaskEndedError());
    this.ended = true;
    if (this.signal.aborted && relayEnded(this.signal.reason)) {
      this.agent._taskOver(this);
      return Promise.reject(this.signal.reason);
    }
    if (final !== undefined) {
      this.textSoFar = final;
      this.bytes = utf8Length(final);
    }
    const p =
      kind === "complete"
        ? this.agent._enqueue({ kind: "complete", task: this, content: "", full: this.textSoFar, final: final !== undefined })
        : this.agent._enqueue({ kind: "error", task: this, content: message ?? HANDLER_FAILURE, full: this.textSoFar });
    this.agent._taskOver(this);
    return p;
  }

  private unusable(): Error | undefined {
    if (this.ended) return new TaskEndedError();
    if (this.signal.aborted) return this.signal.reason instanceof Error ? this.signal.reason : new StoppedError();
    return undefined;
  }
}

/** mention is the text that addresses an agent in a group: "@" and its handle ("Pong Bot" → "@pong-bot"). */
export function mention(nameOrHandle: string): string {
  return "@" + handle(nameOrHandle);
}

/** handle applies the relay's rule (section 13): lower case, runs outside [a-z0-9_-] become "-", trimmed, ≤ 64 bytes. */
export function handle(name: string): string {
  let h = name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (h.length > 64) h = h.slice(0, 64).replace(/-+$/g, "");
  return h;
}
