// Questions and approvals agents ask (input requests, PROTOCOL.md s.9):
// the open ones of the conversation on screen, above the composer, with the
// options as buttons (or a text field), or Approve / Decline. They come live
// (input_request) and from every sync (so a reload or another device shows
// them again); client-js closes one when anyone answers it, it expires or its
// reply ends.
import type { AriClient, InputRequest } from "../../../relay/client-js/src/index.js";
import { el } from "./api.js";

const ui = { list: el("inputs") };
let client: AriClient | null = null;
let conversation: () => string | null = () => null;

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

function answer(r: InputRequest, a: { answer?: string; approved?: boolean }, box: HTMLElement): void {
  for (const c of box.querySelectorAll("button, input")) (c as HTMLButtonElement | HTMLInputElement).disabled = true;
  const note = box.querySelector(".input-note");
  if (note) note.textContent = client?.answerInput(r.requestId, a) ? "Sent." : "Not connected; try again.";
  if (note?.textContent !== "Sent.") for (const c of box.querySelectorAll("button, input")) (c as HTMLButtonElement).disabled = false;
}

function card(r: InputRequest): HTMLElement {
  const box = document.createElement("section");
  box.className = "input-request";
  box.dataset.requestId = r.requestId;
  box.setAttribute("role", "group");
  const title = document.createElement("h3");
  title.id = `input-${r.requestId}`;
  title.textContent = r.kind === "approval" ? "The agent asks for your approval" : "The agent asks";
  box.setAttribute("aria-labelledby", title.id);
  const prompt = document.createElement("p");
  prompt.textContent = r.prompt;
  const actions = document.createElement("p");
  actions.className = "input-actions";
  if (r.kind === "approval") {
    actions.append(button("Approve", () => answer(r, { approved: true }, box)), button("Decline", () => answer(r, { approved: false }, box)));
  } else if (r.options && r.options.length > 0) {
    for (const o of r.options) actions.append(button(o, () => answer(r, { answer: o }, box)));
  } else {
    const f = document.createElement("input");
    f.type = "text";
    f.setAttribute("aria-label", "Your answer");
    actions.append(f, button("Answer", () => f.value.trim() !== "" && answer(r, { answer: f.value.trim() }, box)));
  }
  const note = document.createElement("p");
  note.className = "input-note";
  note.setAttribute("role", "status");
  box.append(title, prompt, actions, note);
  return box;
}

/** renderInputs shows the open requests of the conversation on screen. */
export function renderInputs(): void {
  const c = conversation();
  ui.list.replaceChildren(...[...(client?.inputs.values() ?? [])].filter((r) => r.conversationId === c).map(card));
  ui.list.hidden = ui.list.childElementCount === 0;
}

/**
 * setupInputs shows c's open input requests (client-js keeps them: from every
 * sync and live, until answered by anyone, expired or their reply ended);
 * current names the conversation on screen.
 */
export function setupInputs(c: AriClient, current: () => string | null): void {
  client = c;
  conversation = current;
  c.on("input", () => renderInputs());
  c.on("inputClosed", () => renderInputs());
  c.on("sync", () => renderInputs());
}
