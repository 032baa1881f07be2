// Questions and approvals (relay/PROTOCOL.md section 9, agent_input_request):
// a handler asks the conversation's people something and waits until one of
// them answers, the request expires, or the task ends. The reply waits
// meanwhile without any silence timeout, across reconnects of the agent and
// restarts of the relay. The twin of the Go SDK's Stream.Ask / Approve.
import { InvalidInputError } from "./errors.js";
import {
  MAX_INPUT_OPTION_BYTES,
  MAX_INPUT_OPTIONS,
  MAX_INPUT_PROMPT_BYTES,
  MAX_INPUT_SCHEMA_BYTES,
  type AgentInputRequestFrame,
  type ErrorFrame,
  type InputResponseFrame,
} from "./protocol.js";
import { utf8Length, validText } from "./text.js";

/** What a member answered: `text` for a question (an approval's optional comment, else ""), `approved` for an approval, `userId` who answered. */
export interface Answer {
  requestId: string;
  text: string;
  approved: boolean;
  userId: string;
}

/** A question's choices (the answer is one of them) or JSON Schema (the answer is JSON text); requestId is chosen for you when absent. */
export interface AskOptions {
  options?: string[];
  schema?: Record<string, unknown>;
  requestId?: string;
  /** Stops waiting (rejects with its reason); the request stays open on the relay. */
  signal?: AbortSignal;
}

/** Nobody answered before the request expired (input_timeout). The task goes on; the handler decides what to write. */
export class InputTimeoutError extends Error {
  override readonly name = "InputTimeoutError";
  constructor(readonly requestId: string) {
    super("nobody answered the input request in time");
  }
}

/** The relay refused the input request: input_pending, request_id_in_use, invalid_frame, internal (asking again is safe). */
export class InputError extends Error {
  override readonly name = "InputError";
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(`the relay refused the input request: ${message} (${code})`);
  }
}

const REFUSALS = new Set(["input_pending", "request_id_in_use", "invalid_frame", "internal"]);

interface Pending {
  frame: AgentInputRequestFrame;
  resolve: (a: Answer) => void;
  reject: (e: unknown) => void;
}

/**
 * @internal Asks holds the requests waiting for their answer, one per task
 * (the relay allows one open request per reply). An answer or timeout is
 * handed to the waiting request only if it names that request; anything else
 * — an answer the agent already had, given again after a reconnect (the
 * relay's "exactly once" allows that after a crash) — is dropped, so a
 * handler sees each answer once.
 */
export class Asks {
  private readonly waiting = new Map<string, Pending>();

  /** wait registers frame's request for its task and settles when it is answered, refused, or signal aborts. */
  wait(frame: AgentInputRequestFrame, signals: AbortSignal[], send: (f: AgentInputRequestFrame) => Promise<void>): Promise<Answer> {
    if (this.waiting.has(frame.taskId)) return Promise.reject(new InvalidInputError("the task already waits for an answer"));
    for (const s of signals) if (s.aborted) return Promise.reject(s.reason);
    return new Promise<Answer>((resolve, reject) => {
      const onAbort = (ev: Event) => finish(() => reject((ev.target as AbortSignal).reason));
      const finish = (f: () => void) => {
        if (this.waiting.get(frame.taskId) === p) this.waiting.delete(frame.taskId);
        for (const s of signals) s.removeEventListener("abort", onAbort);
        f();
      };
      const p: Pending = { frame, resolve: (a) => finish(() => resolve(a)), reject: (e) => finish(() => reject(e)) };
      this.waiting.set(frame.taskId, p);
      for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
      send(frame).catch((e: unknown) => p.reject(e));
    });
  }

  /** answer settles the request an input_response or input_timeout names; repeats and strangers are dropped. */
  answer(f: InputResponseFrame | { type: "input_timeout"; taskId: string; requestId: string }): void {
    const p = this.waiting.get(f.taskId);
    if (!p || p.frame.requestId !== f.requestId) return;
    if (f.type === "input_timeout") p.reject(new InputTimeoutError(f.requestId));
    else p.resolve({ requestId: f.requestId, text: f.answer ?? "", approved: f.approved ?? false, userId: f.userId });
  }

  /** refuse hands an error frame whose ref is a waiting task to its request; false when it is not one. */
  refuse(f: ErrorFrame): boolean {
    const p = f.ref && REFUSALS.has(f.code) ? this.waiting.get(f.ref) : undefined;
    if (!p) return false;
    p.reject(new InputError(f.code, f.message, f.field));
    return true;
  }

  /** frames are the requests still waiting, to send again on a new socket (the relay keeps one request per id, so a repeat changes nothing). */
  frames(): AgentInputRequestFrame[] {
    return [...this.waiting.values()].map((p) => p.frame);
  }
}

/** checkRequest applies the protocol's bounds (section 9) before anything is sent. */
export function checkRequest(f: AgentInputRequestFrame): void {
  const text = (s: unknown, max: number) => typeof s === "string" && validText(s) && s.trim() !== "" && utf8Length(s) <= max;
  const bad = (why: string) => new InvalidInputError(`invalid input request: ${why}`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(f.requestId)) throw bad("requestId must be 1-64 characters of A-Z a-z 0-9 _ -");
  if (!text(f.prompt, MAX_INPUT_PROMPT_BYTES)) throw bad("prompt must be 1-4096 bytes of text, not blank");
  if (f.kind === "approval" && (f.options !== undefined || f.schema !== undefined)) throw bad("options and schema are for questions only");
  if (f.options !== undefined) {
    if (!Array.isArray(f.options) || f.options.length === 0 || f.options.length > MAX_INPUT_OPTIONS) throw bad("1 to 16 options");
    if (!f.options.every((o) => text(o, MAX_INPUT_OPTION_BYTES)) || new Set(f.options).size !== f.options.length) {
      throw bad("options must be 1-200 bytes of text each, without repeats");
    }
  }
  if (f.schema !== undefined) {
    const json = typeof f.schema === "object" && f.schema !== null && !Array.isArray(f.schema) ? JSON.stringify(f.schema) : undefined;
    if (json === undefined || utf8Length(json) > MAX_INPUT_SCHEMA_BYTES) throw bad("schema must be a JSON object of at most 8 KiB");
  }
}

/** newRequestId: a UUID where the runtime has one (Node ≥ 20, browsers, Deno, Bun). */
export function newRequestId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return c.randomUUID();
  return "q-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}
