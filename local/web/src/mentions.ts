// @mention completion in the composer: typing "@" and the start of a handle
// in a group lists the group's agents whose handle or name starts so (a
// listbox the textarea controls, ARIA combobox style); ArrowUp/ArrowDown
// choose, Enter or Tab takes one, Escape closes, a click takes one too.
import { el, type ConversationAgent } from "./api.js";

const box = el<HTMLTextAreaElement>("message");
const list = el<HTMLUListElement>("mentions");
const hint = el("mention-hint");

let agents: ConversationAgent[] = [];
let matches: ConversationAgent[] = [];
let active = 0;

/** setMentionable sets the agents the composer completes (none outside groups). */
export function setMentionable(a: ConversationAgent[]): void {
  agents = a;
  hint.hidden = a.length === 0;
  close();
}

/** The "@prefix" just before the caret, if any. */
function token(): { start: number; prefix: string } | null {
  const upto = box.value.slice(0, box.selectionStart);
  const m = /(^|\s)@([a-z0-9_-]*)$/i.exec(upto);
  if (!m) return null;
  const prefix = (m[2] ?? "").toLowerCase();
  return { start: upto.length - prefix.length - 1, prefix };
}

function close(): void {
  matches = [];
  list.hidden = true;
  list.replaceChildren();
  box.setAttribute("aria-expanded", "false");
  box.removeAttribute("aria-activedescendant");
}

function show(): void {
  list.replaceChildren(...matches.map((a, i) => {
    const li = document.createElement("li");
    li.id = `mention-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === active));
    li.textContent = `@${a.handle} — ${a.name}`;
    li.addEventListener("mousedown", (e) => { e.preventDefault(); take(i); });
    return li;
  }));
  list.hidden = false;
  box.setAttribute("aria-expanded", "true");
  box.setAttribute("aria-activedescendant", `mention-${active}`);
}

function update(): void {
  const t = agents.length > 0 ? token() : null;
  matches = t ? agents.filter((a) => a.handle.startsWith(t.prefix) || a.name.toLowerCase().startsWith(t.prefix)) : [];
  if (matches.length === 0) return close();
  active = Math.min(active, matches.length - 1);
  show();
}

function take(i: number): void {
  const t = token();
  const a = matches[i];
  if (!t || !a) return close();
  const end = box.selectionStart;
  const ins = `@${a.handle} `;
  box.value = box.value.slice(0, t.start) + ins + box.value.slice(end);
  const caret = t.start + ins.length;
  box.setSelectionRange(caret, caret);
  close();
  box.focus();
}

box.addEventListener("input", () => { active = 0; update(); });
box.addEventListener("blur", close);
box.addEventListener("click", update);

/** mentionKey handles a composer key while the list is open; true when it used it. */
export function mentionKey(e: KeyboardEvent): boolean {
  if (list.hidden || matches.length === 0) return false;
  switch (e.key) {
    case "ArrowDown": active = (active + 1) % matches.length; show(); break;
    case "ArrowUp": active = (active + matches.length - 1) % matches.length; show(); break;
    case "Enter": case "Tab": take(active); break;
    case "Escape": close(); break;
    default: return false;
  }
  e.preventDefault();
  return true;
}
