// The Ari web app: plain DOM. Better Auth's own client signs people up and
// in against /api/auth (a cookie session on this origin); REST lists and
// starts conversations and groups, creates agents, searches, reacts;
// relay/client-js holds the socket /ws: streamed replies (resumed exactly
// after a reload or a lost connection), stop, regenerate, agent status,
// unread counts, live reactions; files through the presigned upload flow;
// notification preferences; apps opened in a conversation (apps.ts).
import { createAuthClient } from "better-auth/client";
import { AriClient, type Message, type StreamState } from "../../../relay/client-js/src/index.js";
import { setupAgents } from "./agents.js";
import { renderApps, setupApps } from "./apps.js";
import { api, el, ids, type Conversation, type Page, type ReactionCount } from "./api.js";
import { mentionKey, setMentionable } from "./mentions.js";
import { renderInputs, setupInputs } from "./inputs.js";
import { setupPrefs } from "./prefs.js";
import { setupPush } from "./push.js";
import { setupSearch } from "./search.js";
import { attachmentList, upload, type Attachment } from "./uploads.js";

const auth = createAuthClient({ baseURL: location.origin });

const ui = {
  connection: el("connection"), who: el("who"), signOut: el<HTMLButtonElement>("sign-out"),
  authView: el("auth-view"), authForm: el<HTMLFormElement>("auth-form"), authTitle: el("auth-title"),
  nameField: el("name-field"), name: el<HTMLInputElement>("name"), email: el<HTMLInputElement>("email"),
  password: el<HTMLInputElement>("password"), authError: el("auth-error"),
  authSubmit: el<HTMLButtonElement>("auth-submit"), authSwitch: el<HTMLButtonElement>("auth-switch"),
  chatView: el("chat-view"), conversations: el<HTMLUListElement>("conversations"),
  newForm: el<HTMLFormElement>("new-conversation"), agentId: el<HTMLInputElement>("agent-id"), newError: el("new-error"),
  groupForm: el<HTMLFormElement>("group-form"), groupTitle: el<HTMLInputElement>("group-title"),
  groupAgents: el<HTMLInputElement>("group-agents"), groupPeople: el<HTMLInputElement>("group-people"),
  groupError: el("group-error"), myId: el("my-id"),
  chatTitle: el("chat-title"), agentStatus: el("agent-status"), messages: el<HTMLOListElement>("messages"),
  composer: el<HTMLFormElement>("composer"), message: el<HTMLTextAreaElement>("message"),
  stop: el<HTMLButtonElement>("stop"), sendError: el("send-error"), files: el<HTMLInputElement>("files"),
  send: el<HTMLButtonElement>("send"),
};

/** The reactions a message's bar offers. */
const EMOJI = ["👍", "❤️", "😂", "🎉", "👀"];

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
/**
 * The reply the last send asked for, until its first text is painted. Each
 * stage has a performance mark (ari:send, ari:send-written, ari:ack,
 * ari:stream-start, ari:first-chunk, ari:first-text-painted) and the whole
 * a measure, ari:send-to-first-text.
 */
let awaitingFirstText: string | null = null;
let streamStarted = false;

const agents = setupAgents(startWith);
setupSearch(openAt);
setupPrefs();
setupPush();

async function start(): Promise<void> {
  const { data } = await auth.getSession();
  if (!data) {
    setAuthMode(false);
    showAuth();
    return;
  }
  ui.who.textContent = data.user.email;
  ui.myId.textContent = data.user.id;
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.who.hidden = ui.signOut.hidden = false;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  client = new AriClient({ url: `${scheme}//${location.host}/ws` });
  client.on("state", ({ state }) => {
    ui.connection.textContent = state === "open" ? "Connected" : state === "closed" ? "Disconnected" : "Connecting…";
  });
  client.on("stream", onStream);
  setupInputs(client, () => current?.id ?? null);
  setupApps(client, () => current, data.user.id);
  client.on("event", (e) => {
    if (e.type === "message_new") {
      const m = e.data.message;
      if (current && m.conversationId === current.id) {
        render(m);
        markRead(m.seq);
      } else void refreshList();
    } else if (e.type === "reaction_added" || e.type === "reaction_removed") {
      if (shown.has(e.data.messageId)) void loadReactions(e.data.messageId);
    } else if (e.type === "conversation_created" || e.type === "conversation_updated" || e.type === "member_added") void refreshList();
  });
  client.on("sync", () => {
    void refreshList();
    if (current) void loadMessages(current.id);
  });
  client.connect();
  await refreshList();
  void agents.refresh();
  const m = /^#\/c\/([A-Za-z0-9_-]+)(?:\/m\/([A-Za-z0-9_-]+))?$/.exec(location.hash);
  const c = conversations.find((x) => x.id === m?.[1]);
  if (c) await open(c, m?.[2] ? { messageId: m[2] } : {});
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

/** startWith starts (or reopens) the direct conversation with an agent. */
async function startWith(agentId: string): Promise<void> {
  const c = await api<Conversation>("POST", "/api/conversations", { agentId });
  await refreshList();
  await open(conversations.find((x) => x.id === c.id) ?? c);
}

ui.newForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.newError.textContent = "";
  try {
    await startWith(ui.agentId.value.trim());
  } catch (err) {
    ui.newError.textContent = (err as Error).message;
  }
});

ui.groupForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  ui.groupError.textContent = "";
  try {
    const c = await api<Conversation>("POST", "/api/groups", {
      title: ui.groupTitle.value.trim(), agentIds: ids(ui.groupAgents.value), userIds: ids(ui.groupPeople.value),
    });
    ui.groupForm.reset();
    await refreshList();
    await open(conversations.find((x) => x.id === c.id) ?? c);
  } catch (err) {
    ui.groupError.textContent = (err as Error).message;
  }
});

/** openAt opens a conversation at one of its messages (a search result). */
async function openAt(conversationId: string, messageId: string, seq: number): Promise<void> {
  let c = conversations.find((x) => x.id === conversationId);
  if (!c) {
    await refreshList();
    c = conversations.find((x) => x.id === conversationId);
  }
  if (c) await open(c, { messageId, seq });
}

async function open(c: Conversation, at: { messageId?: string; seq?: number } = {}): Promise<void> {
  current = c;
  renderInputs();
  renderApps();
  history.replaceState(null, "", `#/c/${c.id}${at.messageId ? `/m/${at.messageId}` : ""}`);
  ui.chatTitle.textContent = title(c);
  ui.composer.hidden = false;
  ui.messages.replaceChildren();
  shown.clear();
  setMentionable(c.kind === "group" ? c.agents : []);
  client?.focus(c.id);
  await loadMessages(c.id, at.seq);
  void refreshList();
  const found = at.messageId ? shown.get(at.messageId) : undefined;
  if (found) {
    found.classList.add("found");
    found.tabIndex = -1;
    found.scrollIntoView({ block: "center" });
    found.focus();
  } else ui.message.focus();
}

async function loadMessages(id: string, around?: number): Promise<void> {
  const q = around ? `around=${around}&limit=50` : "limit=100";
  const page = await api<Page<Message>>("GET", `/api/conversations/${id}/messages?${q}`);
  if (current?.id !== id) return;
  for (const m of page.items) render(m);
  const last = page.items.at(-1);
  if (last) markRead(last.seq);
  updateRegenerate();
  // Counts for the newest messages shown; later changes arrive as events.
  await Promise.all(page.items.filter((m) => !m.deleted).slice(-30).map((m) => loadReactions(m.id)));
}

function markRead(seq: number): void {
  if (current && document.visibilityState === "visible") client?.markRead(current.id, seq);
}

// --- messages --------------------------------------------------------------

/** A message's list item: its text, its reactions, the buttons that act on it. */
function makeItem(id: string, role: string): HTMLLIElement {
  const li = document.createElement("li");
  li.id = `m-${id}`;
  li.className = role;
  li.dataset.messageId = id;
  const text = document.createElement("p");
  text.className = "text";
  const meta = document.createElement("div");
  meta.className = "meta";
  const reactions = document.createElement("span");
  reactions.className = "reactions";
  reactions.setAttribute("role", "group");
  reactions.setAttribute("aria-label", "Reactions");
  const react = document.createElement("button");
  react.type = "button";
  react.className = "react";
  react.textContent = "React";
  react.setAttribute("aria-expanded", "false");
  const picker = document.createElement("span");
  picker.className = "picker";
  picker.setAttribute("role", "group");
  picker.setAttribute("aria-label", "Pick a reaction");
  picker.hidden = true;
  for (const emoji of EMOJI) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = emoji;
    b.setAttribute("aria-label", `React with ${emoji}`);
    b.addEventListener("click", () => {
      picker.hidden = true;
      react.setAttribute("aria-expanded", "false");
      react.focus();
      void toggleReaction(li.dataset.messageId ?? id, emoji);
    });
    picker.append(b);
  }
  react.addEventListener("click", () => {
    picker.hidden = !picker.hidden;
    react.setAttribute("aria-expanded", String(!picker.hidden));
    if (!picker.hidden) (picker.firstElementChild as HTMLElement | null)?.focus();
  });
  picker.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      picker.hidden = true;
      react.setAttribute("aria-expanded", "false");
      react.focus();
    }
  });
  meta.append(reactions, react, picker);
  if (role === "agent") {
    const regen = document.createElement("button");
    regen.type = "button";
    regen.className = "regen";
    regen.textContent = "Regenerate";
    regen.hidden = true;
    regen.addEventListener("click", () => void regenerate(li.dataset.messageId ?? id));
    meta.append(regen);
  }
  li.append(text, meta);
  return li;
}

/**
 * item returns the list item of a message, made if new. Items stand in seq
 * order; one whose seq is not known yet (a reply resumed from the socket
 * before REST listed it) goes last and moves into place once it is.
 */
function item(id: string, role: string, seq: number | undefined): HTMLLIElement {
  let li = shown.get(id);
  const fresh = !li;
  if (!li) {
    li = makeItem(id, role);
    shown.set(id, li);
  } else if (seq === undefined || li.dataset.seq !== undefined) return li;
  // A new message at the end keeps a list that was scrolled to its end there.
  const m = ui.messages;
  const atEnd = fresh && m.scrollHeight - m.scrollTop - m.clientHeight < 48;
  let next: Element | undefined;
  if (seq !== undefined) {
    li.dataset.seq = String(seq);
    next = [...m.children].find((o) => o !== li && o instanceof HTMLElement &&
      (o.dataset.seq === undefined || Number(o.dataset.seq) > seq));
  }
  m.insertBefore(li, next ?? null);
  if (atEnd && !next) m.scrollTop = m.scrollHeight;
  return li;
}

/**
 * supersede hands the item of a reply's older version to its new version, so
 * a regenerated answer streams where the old one stood.
 */
function supersede(previousId: string, id: string, seq: number | undefined): void {
  const li = shown.get(previousId);
  if (!li || shown.has(id)) return;
  shown.delete(previousId);
  shown.set(id, li);
  li.id = `m-${id}`;
  li.dataset.messageId = id;
  if (seq !== undefined) li.dataset.seq = String(seq);
  else delete li.dataset.seq;
  setText(li, "");
  li.dataset.status = "pending";
  paintReactions(li, []);
}

function setText(li: HTMLLIElement, text: string): void {
  const p = li.querySelector(".text");
  if (p) p.textContent = text;
}

function render(m: Message): void {
  if (m.superseded) return;
  if (m.role === "agent" && m.version && m.version > 1 && !shown.has(m.id)) {
    for (const v of m.versions ?? []) if (v !== m.id && shown.has(v)) supersede(v, m.id, m.seq);
  }
  // A reply the socket knows shows the socket's text and state while either
  // side has it open: the socket's is never older than REST's. (A page of
  // history fetched before a reply ended can arrive after its stream_end:
  // REST's waiting_input and empty text must not paint over the end.)
  const li = item(m.id, m.role, m.seq);
  if (m.version) li.dataset.version = String(m.version);
  const live = client?.streams.get(m.id);
  const open = m.status === "streaming" || m.status === "waiting_input" || m.status === "pending";
  if (live && (live.status === "streaming" || open)) return onStream(live);
  setText(li, m.deleted ? "(deleted)" : m.content);
  li.querySelector(".attachments")?.remove();
  const files = attachmentList(m.deleted ? [] : (m as Message & { attachments?: Attachment[] }).attachments ?? []);
  if (files) li.querySelector(".text")?.after(files);
  li.dataset.status = m.status;
  li.setAttribute("aria-busy", "false");
  updateRegenerate();
}

function onStream(s: StreamState): void {
  if (!current || s.conversationId !== current.id) return;
  if (s.previousId) supersede(s.previousId, s.messageId, s.seq);
  const li = item(s.messageId, "agent", s.seq);
  if (s.version) li.dataset.version = String(s.version);
  setText(li, s.content);
  li.dataset.status = s.status;
  li.setAttribute("aria-busy", String(s.status === "streaming"));
  if (awaitingFirstText === s.messageId && !streamStarted) {
    streamStarted = true;
    performance.mark("ari:stream-start");
  }
  if (awaitingFirstText === s.messageId && s.content !== "") {
    awaitingFirstText = null;
    performance.mark("ari:first-chunk");
    // The frame that paints this text: after the next animation frame's paint.
    requestAnimationFrame(() => setTimeout(() => {
      performance.mark("ari:first-text-painted");
      performance.measure("ari:send-to-first-text", "ari:send", "ari:first-text-painted");
    }));
  }
  updateStatus();
  updateRegenerate();
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

/**
 * updateRegenerate offers Regenerate on the newest agent reply when it has
 * ended and no person wrote after it (the relay answers again only the
 * latest message from a person).
 */
function updateRegenerate(): void {
  const items = [...ui.messages.children] as HTMLLIElement[];
  let last: HTMLLIElement | undefined;
  for (const li of items) {
    if (li.classList.contains("user")) last = undefined;
    else if (li.classList.contains("agent")) last = li;
  }
  for (const li of items) {
    const b = li.querySelector<HTMLButtonElement>(".regen");
    if (b) b.hidden = li !== last || !["complete", "error", "cancelled"].includes(li.dataset.status ?? "");
  }
}

async function regenerate(messageId: string): Promise<void> {
  const c = current;
  if (!c || !client) return;
  ui.sendError.textContent = "";
  performance.clearMarks();
  performance.clearMeasures();
  performance.mark("ari:send");
  try {
    const pending = client.regenerate(c.id, messageId);
    performance.mark("ari:send-written");
    const ack = await pending;
    performance.mark("ari:ack");
    supersede(ack.previousId, ack.reply.messageId, undefined);
    streamStarted = false;
    awaitingFirstText = ack.reply.messageId;
    const early = client.streams.get(ack.reply.messageId);
    if (early) onStream(early);
    updateRegenerate();
  } catch (err) {
    ui.sendError.textContent = (err as Error).message;
  }
}

// --- reactions -------------------------------------------------------------

const reactionsOf = new Map<string, ReactionCount[]>();

async function loadReactions(messageId: string): Promise<void> {
  const page = await api<Page<ReactionCount>>("GET", `/api/messages/${messageId}/reactions`).catch(() => null);
  const li = shown.get(messageId);
  if (page && li) paintReactions(li, page.items);
}

function paintReactions(li: HTMLLIElement, counts: ReactionCount[]): void {
  const id = li.dataset.messageId ?? "";
  reactionsOf.set(id, counts);
  const bar = li.querySelector(".reactions");
  bar?.replaceChildren(...counts.filter((r) => r.count > 0).map((r) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "reaction";
    b.textContent = `${r.emoji} ${r.count}`;
    b.dataset.emoji = r.emoji;
    b.setAttribute("aria-pressed", String(r.me));
    b.setAttribute("aria-label", `${r.emoji} ${r.count}${r.me ? ", yours: press to take it back" : ": press to add yours"}`);
    b.addEventListener("click", () => void toggleReaction(id, r.emoji));
    return b;
  }));
}

async function toggleReaction(messageId: string, emoji: string): Promise<void> {
  const mine = reactionsOf.get(messageId)?.find((r) => r.emoji === emoji)?.me ?? false;
  try {
    if (mine) await api("DELETE", `/api/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`);
    else await api("POST", `/api/messages/${messageId}/reactions`, { emoji });
  } catch (err) {
    ui.sendError.textContent = (err as Error).message;
  }
  await loadReactions(messageId);
}

// --- the composer ----------------------------------------------------------

ui.composer.addEventListener("submit", async (e) => {
  e.preventDefault();
  const c = current;
  const text = ui.message.value;
  const files = [...(ui.files.files ?? [])];
  if (!c || !client || (text.trim() === "" && files.length === 0)) return;
  ui.sendError.textContent = "";
  ui.send.disabled = true;
  try {
    // Files first (presign, PUT, complete), so the send carries ready ids.
    const uploaded: Attachment[] = [];
    for (const f of files) uploaded.push(await upload(f));
    const attachments = uploaded.map((a) => a.id);
    ui.message.value = "";
    ui.files.value = "";
    performance.clearMarks();
    performance.clearMeasures();
    performance.mark("ari:send");
    const pending = client.send(c.id, text, attachments.length > 0 ? { attachments } : {});
    performance.mark("ari:send-written");
    const ack = await pending;
    performance.mark("ari:ack");
    streamStarted = false;
    awaitingFirstText = ack.replies?.[0]?.messageId ?? null;
    // The ack's Message does not list attachments (PROTOCOL.md section 5): these are its files.
    render(uploaded.length > 0 ? { ...ack.message, attachments: uploaded } as Message : ack.message);
    const early = awaitingFirstText ? client.streams.get(awaitingFirstText) : undefined;
    if (early) onStream(early);
  } catch (err) {
    ui.sendError.textContent = (err as Error).message;
    ui.message.value = text;
  } finally {
    ui.send.disabled = false;
  }
});
ui.message.addEventListener("keydown", (e) => {
  if (mentionKey(e)) return;
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
