#!/usr/bin/env node
// The TypeScript twin of local/echoagent: it answers every message with
// "You said: " and the message, streamed word by word. It calls nothing
// outside the relay. "/later <text>" shows a message the agent starts itself:
// the text comes back a few seconds later as an agent_message. "/ask <text>"
// shows a question waiting for a person: it asks for an approval first.
// "/note <text>" pins text on the sample notes app (a tool call): open the
// app (local/echoagent/notes.manifest.json, served at /apps/notes/ by
// `make local`) in the conversation in shared mode with this agent first.
//
//   ARI_AGENT_TOKEN  the agent's secret (required; `ari-local demo` prints one)
//   ARI_RELAY_URL    the relay's agent socket (default ws://127.0.0.1:3502/ws/agent)
//   ECHO_MODE        delta (default): each word is sent as new text;
//                    accumulated: each chunk is the whole reply so far
//   ECHO_DELAY       pause between words (default 60ms; e.g. 0, 5ms, 1s)
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULT_URL, InputTimeoutError, ToolError, run, tool, type Logger, type Task } from "../src/index.js";

const LATER_DELAY_MS = 3000;

/** The sample notes app's add_note action as a typed tool; the app answers how many notes the board holds. */
export const addNote = tool<{ text: string }, { count: number }>("add_note");

/** reply is what echo says; asked again (a regenerate), it says which take this is. */
export function reply(task: Pick<Task, "message" | "regenerate">): string {
  let text = "You said: " + task.message.content;
  if (task.message.content === "") {
    const n = task.message.attachments.length;
    text = n === 1 ? "You sent 1 attachment." : `You sent ${n} attachments.`;
  }
  if (task.regenerate) text = `(take ${task.regenerate.version}) ${text}`;
  return text;
}

/** words cuts s into pieces that each end after a run of spaces; joined, they give s back exactly. */
export function words(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inSpace = false;
  for (let i = 0; i < s.length; ) {
    const cp = s.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    const space = /\s/u.test(String.fromCodePoint(cp));
    if (inSpace && !space) {
      out.push(s.slice(start, i));
      start = i;
    }
    inSpace = space;
    i += len;
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

export function echo(mode: "delta" | "accumulated", delayMs: number) {
  return async (task: Task): Promise<void> => {
    const later = task.message.content.startsWith("/later ") ? task.message.content.slice("/later ".length) : "";
    if (later.trim() !== "") {
      await task.complete(`I will post it in ${LATER_DELAY_MS / 1000}s.`);
      if (!(await pause(LATER_DELAY_MS, task.agent.signal))) return; // stopping: the reminder is lost with the agent
      await task.agent.post(task.conversationId, "⏰ " + later, "later-" + task.messageId, { signal: task.agent.signal });
      return;
    }
    if (task.message.content.startsWith("/ask")) return ask(task, task.message.content.slice("/ask".length).trim() || "nothing");
    const note = task.message.content.startsWith("/note ") ? task.message.content.slice("/note ".length).trim() : "";
    if (note !== "") return pin(task, note);
    await task.status("writing", "Echoing your message");
    let text = "";
    for (const [i, piece] of words(reply(task)).entries()) {
      if (i > 0 && delayMs > 0 && !(await pause(delayMs, task.signal))) return;
      text += piece;
      await (mode === "accumulated" ? task.set(text) : task.write(piece));
    }
    await task.complete();
  };
}

/**
 * ask asks for an approval to echo text (agent_input_request), waits however
 * long that takes, and answers by what the member decided — as the Go echo
 * agent does.
 */
async function ask(task: Task, text: string): Promise<void> {
  await task.write("Let me check with you first. ");
  let approved: boolean;
  try {
    approved = (await task.approve(`May I echo ${JSON.stringify(text)}?`)).approved;
  } catch (err) {
    if (!(err instanceof InputTimeoutError)) throw err;
    await task.write("Nobody answered, so I keep it to myself.");
    return;
  }
  await task.write(approved ? "Approved: " + text : "Declined; I keep it to myself.");
}

/** pin pins text with the open notes app's add_note tool and says what the app answered — as the Go echo agent does. */
async function pin(task: Task, text: string): Promise<void> {
  if (!addNote.offered(task)) {
    await task.complete("No notes app is open for me here: open the sample app (local/echoagent/notes.manifest.json) in shared mode with me, then try again.");
    return;
  }
  await task.status("tool", "Pinning a note");
  try {
    const res = await addNote.call(task, { text });
    await task.complete(`Pinned ${JSON.stringify(text)}; the board holds ${res.count} notes.`);
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    await task.complete(`The notes app said no: ${err.detail} (${err.code}).`);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}

/** parseDuration reads Go-style durations as the Go echo agent does: "60ms", "1.5s", "0". */
export function parseDuration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? (n === 0 ? "ms" : undefined);
  if (unit === undefined) return undefined;
  return unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000;
}

const jsonLogger: Logger = {
  debug: () => {},
  info: (msg, f) => log("INFO", msg, f),
  warn: (msg, f) => log("WARN", msg, f),
  error: (msg, f) => log("ERROR", msg, f),
};

function log(level: string, msg: string, fields?: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }) + "\n");
}

async function main(): Promise<number> {
  const token = process.env.ARI_AGENT_TOKEN ?? "";
  if (!token) {
    log("ERROR", "ARI_AGENT_TOKEN is not set (create an agent with POST /api/agents, or run `ari-local demo`)");
    return 1;
  }
  const url = process.env.ARI_RELAY_URL || DEFAULT_URL;
  const mode = process.env.ECHO_MODE || "delta";
  if (mode !== "delta" && mode !== "accumulated") {
    log("ERROR", `ECHO_MODE "${mode}": want "delta" or "accumulated"`);
    return 1;
  }
  let delayMs = 60;
  if (process.env.ECHO_DELAY) {
    const d = parseDuration(process.env.ECHO_DELAY);
    if (d === undefined) {
      log("ERROR", `ECHO_DELAY "${process.env.ECHO_DELAY}": want a duration such as 60ms`);
      return 1;
    }
    delayMs = d;
  }
  const stop = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
  log("INFO", "echoagent starting", { relay: url, mode, delayMs });
  try {
    await run({
      url,
      token,
      skills: [{ name: "echo", description: "Repeats what you say, word by word" }],
      logger: jsonLogger,
      handler: echo(mode, delayMs),
      signal: stop.signal,
    });
  } catch (err) {
    log("ERROR", "echoagent stopped", { err: String(err) });
    return 1;
  }
  return 0;
}

// Run as a program (directly or through the package's bin link), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
