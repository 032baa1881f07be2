// The Ari web app: plain DOM. Better Auth's own client signs people up and
// in against /api/auth (a cookie session on this origin); REST lists and
// starts conversations; relay/client-js holds the socket /ws: streamed
// replies (resumed exactly after a reload or a lost connection), stop,
// agent status, unread counts.
import { createAuthClient } from "better-auth/client";
import { AriClient, type Message, type StreamState } from "../../../relay/client-js/src/index.js";

interface ConversationAgent { id: string; name: string; handle: string }
interface Conversation {
  id: string;
  kind: "direct" | "group";
  title: string;
  lastSeq: number;
  unreadCount: number;
  agents: ConversationAgent[];
}
interface Page<T> { items: T[]; nextCursor: string | null; prevCursor: string | null }

const auth = createAuthClient({ baseURL: location.origin });

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
}

const ui = {
  connection: el("connection"), who: el("who"), signOut: el<HTMLButtonElement>("sign-out"),
  authView: el("auth-view"), authForm: el<HTMLFormElement>("auth-form"), authTitle: el("auth-title"),
  nameField: el("name-field"), name: el<HTMLInputElement>("name"), email: el<HTMLInputElement>("email"),
  password: el<HTMLInputElement>("password"), authError: el("auth-error"),
  authSubmit: el<HTMLButtonElement>("auth-submit"), authSwitch: el<HTMLButtonElement>("auth-switch"),
  chatView: el("chat-view"), conversations: el<HTMLUListElement>("conversations"),
  newForm: el<HTMLFormElement>("new-conversation"), agentId: el<HTMLInputElement>("agent-id"), newError: el("new-error"),
  chatTitle: el("chat-title"), agentStatus: el("agent-status"), messages: el<HTMLOListElement>("messages"),
  composer: el<HTMLFormElement>("composer"), message: el<HTMLTextAreaElement>("message"),
  stop: el<HTMLButtonElement>("stop"), sendError: el("send-error"),
};

/** REST against this origin with the session cookie; errors carry the server's message. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { accept: "application/json", "content-type": "application/json" };
  }
  const r = await fetch(path, init);
  const data: unknown = r.status === 204 ? null : await r.json().catch(() => null);
  if (!r.ok) {
    const msg = (data as { error?: { message?: string } } | null)?.error?.message;
    throw new Error(msg ?? `${method} ${path}: ${r.status}`);
  }
  return data as T;
}

// --- sign-up and sign-in ---------------------------------------------------

let signingUp = false;

function showAuth(): void {
  ui.authView.hidden = false;
  ui.chatView.hidden = true;
  ui.who.hidden = ui.signOut.hidden = true;
  ui.connection.textContent = "";
  ui.email.focus();
}

function setAuthMode(up: boolean): void {
  signingUp = up;
  ui.authTitle.textContent = up ? "Create an account" : "Sign in";
  ui.authSubmit.textContent = up ? "Create account" : "Sign in";
  ui.authSwitch.textContent = up ? "Sign in instead" : "Create an account instead";
  ui.nameField.hidden = !up;
  ui.name.required = up;
  ui.password.autocomplete = up ? "new-password" : "current-password";
  ui.authError.textContent = "";
}

ui.authSwitch.addEventListener("click", () => setAuthMode(!signingUp));
ui.authForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.authError.textContent = "";
  ui.authSubmit.disabled = true;
  try {
    const email = ui.email.value.trim(), password = ui.password.value;
    const res = signingUp
      ? await auth.signUp.email({ email, password, name: ui.name.value.trim() || email })
      : await auth.signIn.email({ email, password });
    if (res.error) {
      ui.authError.textContent = res.error.message ?? "That did not work.";
      return;
    }
    ui.password.value = "";
    await start();
  } finally {
    ui.authSubmit.disabled = false;
  }
});

ui.signOut.addEventListener("click", async () => {
  client?.close();
  client = null;
  await auth.signOut();
  showAuth();
});

// --- the signed-in app -----------------------------------------------------

let client: AriClient | null = null;
let current: Conversation | null = null;
let conversations: Conversation[] = [];
/** The message ids shown in the open conversation, each with its list item. */
const shown = new Map<string, HTMLLIElement>();
/** The reply the last send asked for, until its first text is painted (the performance mark). */
let awaitingFirstText: string | null = null;

async function start(): Promise<void> {
  const { data } = await auth.getSession();
  if (!data) {
    setAuthMode(false);
    showAuth();
    return;
  }
  ui.who.textContent = data.user.email;
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.who.hidden = ui.signOut.hidden = false;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  client = new AriClient({ url: `${scheme}//${location.host}/ws` });
  client.on("state", ({ state }) => {
    ui.connection.textContent = state === "open" ? "Connected" : state === "closed" ? "Disconnected" : "Connecting…";
  });
  client.on("stream", onStream);
  client.on("event", (e) => {
    if (e.type === "message_new") {
      const m = e.data.message;
      if (current && m.conversationId === current.id) {
        render(m);
        markRead(m.seq);
      } else void refreshList();
    } else if (e.type === "conversation_created" || e.type === "conversation_updated") void refreshList();
  });
  client.on("sync", () => {
    void refreshList();
    if (current) void loadMessages(current.id);
  });
  client.connect();
  await refreshList();
  const id = /^#\/c\/([A-Za-z0-9_-]+)$/.exec(location.hash)?.[1];
  const c = conversations.find((x) => x.id === id);
  if (c) await open(c);
}

async function refreshList(): Promise<void> {
  const page = await api<Page<Conversation>>("GET", "/api/conversations?limit=50");
  conversations = page.items;
  ui.conversations.replaceChildren(...conversations.map((c) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    const name = document.createElement("span");
    name.textContent = title(c);
    b.append(name);
    const unread = c.id === current?.id ? 0 : c.unreadCount;
    if (unread > 0) {
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.textContent = String(unread);
      badge.setAttribute("aria-label", `${unread} unread`);
      b.append(badge);
    }
    if (c.id === current?.id) b.setAttribute("aria-current", "true");
    b.addEventListener("click", () => void open(c));
    li.append(b);
    return li;
  }));
}

function title(c: Conversation): string {
  return c.title || c.agents.map((a) => a.name).join(", ") || "Conversation";
}

ui.newForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.newError.textContent = "";
  try {
    const c = await api<Conversation>("POST", "/api/conversations", { agentId: ui.agentId.value.trim() });
    await refreshList();
    await open(conversations.find((x) => x.id === c.id) ?? c);
  } catch (err) {
    ui.newError.textContent = (err as Error).message;
  }
});

async function open(c: Conversation): Promise<void> {
  current = c;
  history.replaceState(null, "", `#/c/${c.id}`);
  ui.chatTitle.textContent = title(c);
  ui.composer.hidden = false;
  ui.messages.replaceChildren();
  shown.clear();
  client?.focus(c.id);
  await loadMessages(c.id);
  void refreshList();
  ui.message.focus();
}

async function loadMessages(id: string): Promise<void> {
  const page = await api<Page<Message>>("GET", `/api/conversations/${id}/messages?limit=100`);
  if (current?.id !== id) return;
  for (const m of page.items) render(m);
  const last = page.items.at(-1);
  if (last) markRead(last.seq);
}

function markRead(seq: number): void {
  if (current && document.visibilityState === "visible") client?.markRead(current.id, seq);
}

/**
 * item returns the list item of a message, made if new. Items stand in seq
 * order; one whose seq is not known yet (a reply resumed from the socket
 * before REST listed it) goes last and moves into place once it is.
 */
function item(id: string, role: string, seq: number | undefined): HTMLLIElement {
  let li = shown.get(id);
  if (!li) {
    li = document.createElement("li");
    li.id = `m-${id}`;
    li.className = role;
    shown.set(id, li);
  } else if (seq === undefined || li.dataset.seq !== undefined) return li;
  if (seq === undefined) {
    ui.messages.append(li);
    return li;
  }
  li.dataset.seq = String(seq);
  const next = [...ui.messages.children].find((o) => o !== li && o instanceof HTMLElement &&
    (o.dataset.seq === undefined || Number(o.dataset.seq) > seq));
  ui.messages.insertBefore(li, next ?? null);
  return li;
}

function render(m: Message): void {
  // A reply the socket is streaming shows the socket's text: it is never older than REST's.
  const li = item(m.id, m.role, m.seq);
  const live = client?.streams.get(m.id);
  if (live && (live.status === "streaming" || m.status === "streaming")) return onStream(live);
  li.textContent = m.content;
  li.dataset.status = m.status;
  li.setAttribute("aria-busy", "false");
}

function onStream(s: StreamState): void {
  if (!current || s.conversationId !== current.id) return;
  const li = item(s.messageId, "agent", s.seq);
  li.textContent = s.content;
  li.dataset.status = s.status;
  li.setAttribute("aria-busy", String(s.status === "streaming"));
  if (awaitingFirstText === s.messageId && s.content !== "") {
    awaitingFirstText = null;
    // The frame that paints this text: after the next animation frame's paint.
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("ari:first-text-painted");
      performance.measure("ari:send-to-first-text", "ari:send", "ari:first-text-painted");
    }));
  }
  updateStatus();
}

/** The open conversation's replies still streaming. */
function streaming(): StreamState[] {
  if (!client || !current) return [];
  const id = current.id;
  return [...client.streams.values()].filter((s) => s.conversationId === id && s.status === "streaming");
}

function updateStatus(): void {
  const active = streaming();
  ui.stop.disabled = active.length === 0;
  const st = active.at(-1)?.agentStatus;
  ui.agentStatus.textContent = active.length === 0 ? "" : st?.label ? `${st.state}: ${st.label}` : st?.state ?? "streaming";
}

ui.composer.addEventListener("submit", async (e) => {
  e.preventDefault();
  const c = current;
  const text = ui.message.value;
  if (!c || !client || text.trim() === "") return;
  ui.sendError.textContent = "";
  ui.message.value = "";
  performance.clearMarks();
  performance.clearMeasures();
  performance.mark("ari:send");
  try {
    const ack = await client.send(c.id, text);
    render(ack.message);
    awaitingFirstText = ack.replies?.[0]?.messageId ?? null;
    const early = awaitingFirstText ? client.streams.get(awaitingFirstText) : undefined;
    if (early) onStream(early);
  } catch (err) {
    ui.sendError.textContent = (err as Error).message;
    ui.message.value = text;
  }
});
ui.message.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener("click", () => {
  for (const s of streaming()) client?.cancel(s.messageId);
});
document.addEventListener("visibilitychange", () => {
  const last = [...shown.values()].at(-1)?.dataset.seq;
  if (last) markRead(Number(last));
});

void start().catch((err: unknown) => {
  ui.connection.textContent = `Could not start: ${(err as Error).message}`;
});
