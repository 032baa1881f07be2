// Tool calls (relay/PROTOCOL.md section 15, "Tool calls on the sockets"):
// while an app is open for the agent in a conversation, its tasks list the
// app's actions as tools (task.tools). A handler calls one with task.call
// and waits until the app, running in the client of the member who opened
// it, answers; the answer is a value, or a ToolError with the code. The
// twin of the Go SDK's Stream.Call and Tool[A, R].
import { InvalidInputError } from "./errors.js";
import type { Tool, ToolCallFrame, ToolResultFrame } from "./protocol.js";
import { utf8Length } from "./text.js";

/** Bounds of a tool_call (section 15). */
export const MAX_TOOL_NAME_BYTES = 256;
export const MAX_TOOL_ARGUMENTS_BYTES = 32 * 1024;

/**
 * A tool_result with an error: a refusal of the bridge (unknown_app,
 * unknown_action, forbidden_by_mode, forbidden_by_manifest,
 * invalid_arguments, not_json …, nothing reached the app), of the relay
 * (timeout, call_id_in_use, app_unavailable, internal) or the app's own
 * code. A call the caller's timeoutMs ended is one too, with code
 * "timeout". `detail` is the tool_result's message as it came, meant for
 * the agent (or its model) to repair the call.
 */
export class ToolError extends Error {
  override readonly name = "ToolError";
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly callId: string,
  ) {
    super(`tool call failed: ${detail} (${code})`);
  }
}

export interface CallOptions {
  /** Stops waiting (rejects with its reason); the call stays pending on the relay and its result is dropped. */
  signal?: AbortSignal;
  /** Stops waiting after this long with ToolError "timeout" (the relay's own limit, APP_TOOL_TIMEOUT, is 30 s by default). */
  timeoutMs?: number;
  /** The call's id, 1-64 characters of A-Z a-z 0-9 _ -; a fresh one when absent. Unique within the app session. */
  callId?: string;
}

interface Pending {
  frame: ToolCallFrame;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * @internal Calls holds the tool calls waiting for their tool_result, by
 * callId. A result settles its call once: a result the relay hands over
 * again (after a reconnect, its "exactly once" allows that after a crash)
 * or for a call nobody waits for any more finds none and is dropped.
 */
export class Calls {
  private readonly waiting = new Map<string, Pending>();

  /** wait registers the call and settles on its tool_result, the timeout, or when a signal aborts. */
  wait(frame: ToolCallFrame, signals: AbortSignal[], timeoutMs: number | undefined, send: (f: ToolCallFrame) => Promise<void>): Promise<unknown> {
    if (this.waiting.has(frame.callId)) return Promise.reject(new InvalidInputError(`a call with callId ${frame.callId} is already waiting for its result`));
    for (const s of signals) if (s.aborted) return Promise.reject(s.reason);
    return new Promise<unknown>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (ev: Event) => finish(() => reject((ev.target as AbortSignal).reason));
      const finish = (f: () => void) => {
        if (this.waiting.get(frame.callId) === p) this.waiting.delete(frame.callId);
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener("abort", onAbort);
        f();
      };
      const p: Pending = { frame, resolve: (v) => finish(() => resolve(v)), reject: (e) => finish(() => reject(e)) };
      this.waiting.set(frame.callId, p);
      for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => p.reject(new ToolError("timeout", `no result within ${timeoutMs} ms; a later one is dropped`, frame.callId)), timeoutMs);
      }
      send(frame).catch((e: unknown) => p.reject(e));
    });
  }

  /** answer settles the call a tool_result names; repeats and strangers are dropped. */
  answer(f: ToolResultFrame): void {
    const p = this.waiting.get(f.callId);
    if (!p || p.frame.taskId !== f.taskId) return;
    if (f.error) p.reject(new ToolError(f.error.code, f.error.message ?? "", f.callId));
    else p.resolve(f.result);
  }

  /** frames are the calls still waiting, to send again on a new socket (the relay keeps one call per id: a repeat sends the app_action again, the result comes once). */
  frames(): ToolCallFrame[] {
    return [...this.waiting.values()].map((p) => p.frame);
  }

  /** rejectAll ends every wait (the agent stopped). */
  rejectAll(err: unknown): void {
    for (const p of [...this.waiting.values()]) p.reject(err);
  }
}

/** callFrame builds a tool_call, checking the protocol's bounds before anything is sent. */
export function callFrame(taskId: string, tool: string, args: Record<string, unknown> | undefined, callId: string): ToolCallFrame {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(callId)) throw new InvalidInputError("callId must be 1-64 characters of A-Z a-z 0-9 _ -");
  if (typeof tool !== "string" || tool === "" || utf8Length(tool) > MAX_TOOL_NAME_BYTES) throw new InvalidInputError("the tool's name must be 1-256 bytes");
  const f: ToolCallFrame = { type: "tool_call", taskId, callId, tool };
  if (args !== undefined) {
    if (typeof args !== "object" || args === null || Array.isArray(args)) throw new InvalidInputError("tool arguments must be an object");
    const json = JSON.stringify(args);
    if (utf8Length(json) > MAX_TOOL_ARGUMENTS_BYTES) throw new InvalidInputError("tool arguments exceed 32 KiB");
    f.arguments = args;
  }
  return f;
}

/** newCallId: "call_" and a random UUID's hex digits. */
export function newCallId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (c?.randomUUID) return "call_" + c.randomUUID().replaceAll("-", "");
  return "call_" + Date.now().toString(36) + Math.random().toString(36).slice(2, 14);
}

/**
 * findTool returns the task's tool named name, or the one whose action is
 * name (tools are named "<appSlug>__<action>"); undefined when the task
 * offers none.
 */
export function findTool(tools: readonly Tool[] | undefined, name: string): Tool | undefined {
  return tools?.find((t) => t.name === name) ?? tools?.find((t) => t.name.endsWith("__" + name));
}

/** What a typed tool needs of a task: its tools, and a way to call one. */
export interface Caller {
  readonly tools: Tool[] | undefined;
  call(tool: string, args?: Record<string, unknown>, opts?: CallOptions): Promise<unknown>;
}

/**
 * TypedTool is one app action with typed arguments A and result R: `name`
 * is the action ("add_note") or the whole tool name ("notes__add_note"),
 * resolved against each task's tools. The result is the app's value as it
 * sent it (typed, not checked: validate it if the app is not yours).
 */
export interface TypedTool<A extends Record<string, unknown>, R> {
  readonly name: string;
  /** Whether the task offers the tool (an app with it is open for this agent in the conversation). */
  offered(task: Caller): boolean;
  /** Calls it in task; rejects with a ToolError (refused, the app's error, timeout), or the task's or the signal's reason. */
  call(task: Caller, args: A, opts?: CallOptions): Promise<R>;
}

/** tool declares a typed tool: `const addNote = tool<{text: string}, {count: number}>("add_note")`. */
export function tool<A extends Record<string, unknown>, R>(name: string): TypedTool<A, R> {
  return {
    name,
    offered: (task) => findTool(task.tools, name) !== undefined,
    call: async (task, args, opts) => (await task.call(findTool(task.tools, name)?.name ?? name, args, opts)) as R,
  };
}
