// The sample notes app (local/echoagent/notes.manifest.json): a board of
// notes shared by a conversation. It runs in the web app's sandboxed frame
// (an opaque origin: no cookies, no storage, no network) and talks to the
// page only through the bridge's messages (local/web/src/apps.ts):
//
//   page → app  ari:init {sessionId, mode, state, version}
//               ari:action {callId, action, arguments}   an agent's call
//               ari:state {state, version}               someone else saved
//               ari:saved {state, version} | ari:conflict {state, version}
//   app → page  ari:ready, ari:save {state, version}, ari:result {callId, result | error},
//               ari:report {id, kind: "action" | "event", name, arguments? | data?}
//
// Its state is {notes: [{id, text, by, callId?}]}; an agent's note keeps
// its callId, so a call that comes twice pins one note. Actions: add_note
// {text} (agents and people), clear (people only). What the person does here
// is reported to the agent (an action), and so is every saved change (the
// event notes_changed {count}).
interface Note {
  id: string;
  text: string;
  by: "user" | "agent";
  callId?: string;
}
interface State {
  notes: Note[];
}
type Change = (s: State) => State;

const MAX_NOTES = 100;
const list = document.getElementById("notes") as HTMLUListElement;
const status = document.getElementById("notes-status") as HTMLParagraphElement;
const input = document.getElementById("note-text") as HTMLInputElement;
const pinButton = document.getElementById("pin") as HTMLButtonElement;
const clear = document.getElementById("clear") as HTMLButtonElement;

let state: State = { notes: [] };
let version = 0;
let readOnly = false;
let saving: Promise<void> = Promise.resolve();
let answer: ((m: { type: string; state: unknown; version: number }) => void) | undefined;

function post(m: Record<string, unknown>): void {
  window.parent.postMessage(m, "*"); // the page's origin is not ours to know; nothing here is secret
}

function asState(v: unknown): State {
  const notes = (v as { notes?: unknown } | null)?.notes;
  if (!Array.isArray(notes)) return { notes: [] };
  return { notes: notes.filter((n): n is Note => typeof n?.id === "string" && typeof n?.text === "string") };
}

function render(): void {
  list.replaceChildren(...state.notes.map((n) => {
    const li = document.createElement("li");
    li.textContent = n.text;
    const by = document.createElement("small");
    by.textContent = n.by === "agent" ? "agent" : "person";
    li.append(by);
    return li;
  }));
  status.textContent = state.notes.length === 0 ? "No notes yet." : `${state.notes.length} note${state.notes.length === 1 ? "" : "s"}.`;
  for (const c of [input, pinButton, clear]) c.disabled = readOnly;
}

/**
 * change applies f to the session's state and saves it (PUT through the
 * page, at the version it was read at); on a version conflict it applies f
 * again to the state saved meanwhile. Changes go one after the other.
 */
function change(f: Change): Promise<State> {
  const done = saving.then(async () => {
    for (let i = 0; i < 5; i++) {
      const next = f(state);
      const reply = await new Promise<{ type: string; state: unknown; version: number }>((resolve) => {
        answer = resolve;
        post({ type: "ari:save", state: next, version });
      });
      state = asState(reply.state);
      version = reply.version;
      render();
      if (reply.type === "ari:saved") {
        post({ type: "ari:report", id: newId(), kind: "event", name: "notes_changed", data: { count: state.notes.length } });
        return state;
      }
    }
    throw new Error("the board kept changing; try again");
  });
  saving = done.then(() => undefined, () => undefined);
  return done;
}

function newId(): string {
  return "n" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
}

async function perform(callId: string, action: string, args: Record<string, unknown>): Promise<void> {
  try {
    if (action !== "add_note") throw Object.assign(new Error(`no action ${action}`), { code: "unknown_action" });
    const text = typeof args.text === "string" ? args.text.trim() : "";
    if (text === "") throw Object.assign(new Error("a note needs text"), { code: "empty_note" });
    const s = await change((s) => {
      if (s.notes.some((n) => n.callId === callId)) return s; // performed already
      if (s.notes.length >= MAX_NOTES) throw Object.assign(new Error(`the board holds ${MAX_NOTES} notes at most`), { code: "board_full" });
      return { notes: [...s.notes, { id: newId(), text, by: "agent", callId }] };
    });
    post({ type: "ari:result", callId, result: { count: s.notes.length } });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    post({ type: "ari:result", callId, error: { code: err.code ?? "failed", message: String(err.message ?? e).slice(0, 500) } });
  }
}

window.addEventListener("message", (ev) => {
  if (ev.source !== window.parent) return;
  const m = ev.data as { type?: string; [k: string]: unknown };
  switch (m?.type) {
    case "ari:init":
      readOnly = m.mode === "agent_only";
      state = asState(m.state);
      version = Number(m.version);
      render();
      return;
    case "ari:state":
      if (Number(m.version) > version) {
        state = asState(m.state);
        version = Number(m.version);
        render();
      }
      return;
    case "ari:saved":
    case "ari:conflict": {
      const a = answer;
      answer = undefined;
      a?.({ type: m.type, state: m.state, version: Number(m.version) });
      return;
    }
    case "ari:action":
      void perform(String(m.callId), String(m.action), (m.arguments ?? {}) as Record<string, unknown>);
      return;
  }
});

// No <form>: the sandbox (allow-scripts only) blocks form submission.
function pin(): void {
  const text = input.value.trim();
  if (text === "") return;
  input.value = "";
  change((s) => ({ notes: [...s.notes, { id: newId(), text, by: "user" }] }))
    .then(() => post({ type: "ari:report", id: newId(), kind: "action", name: "add_note", arguments: { text } }))
    .catch((err: Error) => (status.textContent = err.message));
}
pinButton.addEventListener("click", pin);
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.isComposing) pin();
});
clear.addEventListener("click", () => {
  change(() => ({ notes: [] }))
    .then(() => post({ type: "ari:report", id: newId(), kind: "action", name: "clear" }))
    .catch((err: Error) => (status.textContent = err.message));
});

render();
post({ type: "ari:ready" });
export {};
