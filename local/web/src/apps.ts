// Apps in a conversation (PROTOCOL.md section 15): open an installed app
// with a mode and an agent (POST /api/conversations/{id}/app-sessions), show
// the conversation's open sessions (client-js keeps them: sync_result.appSessions
// and app_session_* events), each in a sandboxed frame of its manifest's
// entryUrl, and end one. The frame has `sandbox="allow-scripts"` only: an
// opaque origin, so the app cannot reach this page, its cookies or storage,
// nor navigate it; the CSP's frame-src (WEB_APP_ORIGINS) says where apps may
// come from. The page and the app talk through postMessage (the bridge):
//
//   page → app  ari:init {sessionId, mode, state, version}   after the app's ari:ready
//               ari:action {callId, action, arguments}       an agent's call (app_action), once
//               ari:state {state, version}                   a newer state (someone saved)
//               ari:saved {state, version}                   the app's save went through
//               ari:conflict {state, version}                it did not: the state changed meanwhile
//   app → page  ari:ready
//               ari:save {state, version}                    PUT /api/app-sessions/{id}/state
//               ari:result {callId, result} | {callId, error: {code, message}}   app_action_result
//               ari:report {id, kind: "action", name, arguments?}   app_user_action: the person did it in the app
//               ari:report {id, kind: "event", name, data?}         app_state_event: an event the manifest declares
//
// Messages are taken only from the frame's own window. The page sends with
// target origin "*" (a sandboxed frame's origin is opaque): what it sends is
// the session's own state and calls, nothing of the page.
import type { AppActionFrame, AppSession, AriClient } from "../../../relay/client-js/src/index.js";
import { ApiError, api, el, type Conversation, type Page } from "./api.js";

interface InstalledApp {
  appId: string;
  app: { id: string; name: string; slug: string };
}

/** One app on screen: its frame, and whether the app said it is listening. */
interface Shown {
  session: AppSession;
  box: HTMLElement;
  frame: HTMLIFrameElement;
  ready: boolean;
  /** The calls given to this frame, so a frame reloaded by the page gets the open ones again. */
  given: Set<string>;
}

const MODES: Record<AppSession["mode"], string> = { shared: "shared with", agent_only: "run by", user_only: "just you, beside" };

const ui = {
  panel: el<HTMLDetailsElement>("apps-panel"), form: el<HTMLFormElement>("app-form"),
  app: el<HTMLSelectElement>("app-choice"), mode: el<HTMLSelectElement>("app-mode"),
  agent: el<HTMLSelectElement>("app-agent"), error: el("app-error"), frames: el("app-frames"),
};

let client: AriClient | null = null;
let current: () => Conversation | null = () => null;
let userId = "";
const shown = new Map<string, Shown>();

/**
 * setupApps wires the apps of the conversation on screen (current) to
 * client c; me is the signed-in user's id (app_action calls come only for
 * the sessions they opened).
 */
export function setupApps(c: AriClient, conversation: () => Conversation | null, me: string): void {
  client = c;
  current = conversation;
  userId = me;
  c.on("appSession", ({ session, ended }) => {
    const s = shown.get(session.id);
    if (ended) {
      if (s) remove(s);
      renderApps();
      return;
    }
    if (s) {
      s.session = session;
      post(s, { type: "ari:state", state: session.state, version: session.version });
    } else renderApps();
  });
  c.on("appAction", (a) => {
    const s = shown.get(a.sessionId);
    if (s?.ready) give(s, a);
  });
  window.addEventListener("message", onMessage);
}

/** renderApps shows the open sessions of the conversation on screen and refreshes the form's choices. */
export function renderApps(): void {
  const conv = current();
  ui.panel.hidden = !conv;
  const open = [...(client?.appSessions.values() ?? [])].filter((s) => s.conversationId === conv?.id);
  for (const s of [...shown.values()]) if (!open.some((o) => o.id === s.session.id)) remove(s);
  for (const s of open) if (!shown.has(s.id)) mount(s);
  ui.frames.hidden = shown.size === 0;
  if (!conv) return;
  ui.agent.replaceChildren(...conv.agents.map((a) => new Option(a.name, a.id)));
  void loadInstalled();
}

async function loadInstalled(): Promise<void> {
  const page = await api<Page<InstalledApp>>("GET", "/api/apps/installed?limit=50").catch(() => null);
  if (!page) return;
  const chosen = ui.app.value;
  ui.app.replaceChildren(...page.items.map((i) => new Option(i.app.name, i.appId)));
  if (page.items.some((i) => i.appId === chosen)) ui.app.value = chosen;
  ui.form.querySelector<HTMLButtonElement>("button[type=submit]")!.disabled = page.items.length === 0;
  if (page.items.length === 0) ui.error.textContent = "No apps installed yet.";
  else if (ui.error.textContent === "No apps installed yet.") ui.error.textContent = "";
}

ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const conv = current();
  if (!conv) return;
  ui.error.textContent = "";
  const mode = ui.mode.value as AppSession["mode"];
  const body: Record<string, string> = { appId: ui.app.value, mode };
  if (mode !== "user_only" || ui.agent.value) body.agentId = ui.agent.value;
  try {
    const s = await api<AppSession>("POST", `/api/conversations/${conv.id}/app-sessions`, body);
    // The app_session_started event brings it to client-js too; show it now.
    if (!client?.appSessions.has(s.id)) client?.appSessions.set(s.id, s);
    renderApps();
    ui.panel.open = false;
    shown.get(s.id)?.frame.focus();
  } catch (err) {
    ui.error.textContent = (err as Error).message;
  }
});

function mount(s: AppSession): void {
  const conv = current();
  const agent = conv?.agents.find((a) => a.id === s.agentId)?.name ?? "the agent";
  const box = document.createElement("section");
  box.className = "app";
  box.dataset.sessionId = s.id;
  const title = document.createElement("h3");
  title.id = `app-title-${s.id}`;
  title.textContent = s.mode === "user_only" ? `${s.appName} (just you)` : `${s.appName} (${MODES[s.mode]} ${agent})`;
  box.setAttribute("aria-labelledby", title.id);
  const end = document.createElement("button");
  end.type = "button";
  end.textContent = `End ${s.appName}`;
  end.addEventListener("click", async () => {
    end.disabled = true;
    try {
      const ended = await api<AppSession>("POST", `/api/app-sessions/${s.id}/end`);
      client?.appSessions.delete(ended.id);
      renderApps();
    } catch (err) {
      end.disabled = false;
      ui.error.textContent = (err as Error).message;
    }
  });
  const head = document.createElement("div");
  head.className = "app-head";
  head.append(title, end);
  const frame = document.createElement("iframe");
  frame.title = s.appName;
  frame.setAttribute("sandbox", "allow-scripts");
  frame.referrerPolicy = "no-referrer";
  frame.src = s.entryUrl;
  box.append(head, frame);
  ui.frames.append(box);
  shown.set(s.id, { session: s, box, frame, ready: false, given: new Set() });
}

function remove(s: Shown): void {
  s.box.remove();
  shown.delete(s.session.id);
}

function post(s: Shown, m: Record<string, unknown>): void {
  if (s.ready) s.frame.contentWindow?.postMessage(m, "*");
}

function give(s: Shown, a: AppActionFrame): void {
  s.given.add(a.callId);
  post(s, { type: "ari:action", callId: a.callId, action: a.action, arguments: a.arguments });
}

function onMessage(ev: MessageEvent): void {
  const s = [...shown.values()].find((x) => x.frame.contentWindow === ev.source);
  const m = ev.data as { type?: string; [k: string]: unknown } | null;
  if (!s || !m || typeof m.type !== "string") return;
  switch (m.type) {
    case "ari:ready": {
      // (Again after the frame reloaded itself: it starts over.)
      s.ready = true;
      const held = client?.appSessions.get(s.session.id) ?? s.session;
      post(s, { type: "ari:init", sessionId: held.id, mode: held.mode, state: held.state, version: held.version });
      s.given.clear();
      if (held.openedBy === userId) for (const a of client?.pendingAppActions(held.id) ?? []) give(s, a);
      return;
    }
    case "ari:save":
      void save(s, m.state, Number(m.version));
      return;
    case "ari:report": {
      // What the session's agent learns (an app_event); a refusal only shows here.
      const id = typeof m.id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(m.id) ? { id: m.id } : {};
      const name = String(m.name ?? "");
      const sent = m.kind === "action"
        ? client?.reportAppAction(s.session.id, name, (m.arguments ?? undefined) as Record<string, unknown> | undefined, id)
        : client?.reportAppEvent(s.session.id, name, m.data, id);
      sent?.catch((err: Error) => (ui.error.textContent = `${s.session.appName}: ${err.message}`));
      return;
    }
    case "ari:result": {
      const callId = String(m.callId ?? "");
      if (!s.given.has(callId)) return; // not a call this frame was given
      s.given.delete(callId);
      const err = m.error as { code?: unknown; message?: unknown } | undefined;
      const outcome = err
        ? { error: { code: String(err.code ?? "failed"), message: String(err.message ?? "") } }
        : { result: m.result === undefined || m.result === null ? {} : m.result };
      client?.answerAppAction({ sessionId: s.session.id, callId }, outcome);
      return;
    }
  }
}

/**
 * save writes the app's state at the version it read (PUT .../state). On
 * version_conflict the app gets the state saved meanwhile and applies its
 * change again.
 */
async function save(s: Shown, state: unknown, version: number): Promise<void> {
  const id = s.session.id;
  try {
    const v = await api<AppSession>("PUT", `/api/app-sessions/${id}/state`, { version, state });
    take(v);
    post(s, { type: "ari:saved", state: v.state, version: v.version });
  } catch (err) {
    if (err instanceof ApiError && err.code === "version_conflict") {
      const v = await api<AppSession>("GET", `/api/app-sessions/${id}`).catch(() => null);
      if (v) {
        take(v);
        post(s, { type: "ari:conflict", state: v.state, version: v.version });
        return;
      }
    }
    ui.error.textContent = `${s.session.appName}: ${(err as Error).message}`;
    const held = client?.appSessions.get(id) ?? s.session;
    post(s, { type: "ari:conflict", state: held.state, version: held.version });
  }
}

// take keeps a session the REST answer gave, if it is newer than the one held.
function take(v: AppSession): void {
  const held = client?.appSessions.get(v.id);
  if (client && (!held || held.version < v.version) && !v.endedAt) client.appSessions.set(v.id, v);
  const s = shown.get(v.id);
  if (s && s.session.version < v.version) s.session = v;
}
