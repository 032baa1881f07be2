// Creating an agent: the form, then its token shown once with a copy button
// and the exact commands that run the example agents (Go: local/echoagent;
// TypeScript: relay/agentsdk-ts/examples/echo.ts) against this server's
// agent socket, and a button that starts a conversation with it.
import { api, el, handleOf, type Agent } from "./api.js";

const ui = {
  form: el<HTMLFormElement>("agent-form"), name: el<HTMLInputElement>("agent-name"),
  handle: el("agent-handle-preview"), description: el<HTMLTextAreaElement>("agent-description"),
  public: el<HTMLInputElement>("agent-public"), error: el("agent-error"), myAgents: el("my-agents"),
  created: el("agent-created"), createdName: el("created-name"), createdHandle: el("created-handle"),
  token: el<HTMLInputElement>("created-token"), goCmd: el<HTMLTextAreaElement>("cmd-go"), tsCmd: el<HTMLTextAreaElement>("cmd-ts"),
  copyToken: el<HTMLButtonElement>("copy-token"), copyGo: el<HTMLButtonElement>("copy-go"), copyTs: el<HTMLButtonElement>("copy-ts"),
  copyStatus: el("copy-status"), talk: el<HTMLButtonElement>("talk-to-created"), close: el<HTMLButtonElement>("close-created"),
};

/** agentSocketURL is this server's agent socket (the shim passes /ws/agent to the relay). */
export function agentSocketURL(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`;
}

/** The commands that run the example agents with token against this server. */
export function commands(token: string): { go: string; ts: string } {
  const env = `ARI_AGENT_TOKEN=${token} ARI_RELAY_URL=${agentSocketURL()}`;
  return {
    go: `${env} go run ./local/echoagent`,
    ts: `cd relay/agentsdk-ts && npm ci && npm run build && ${env} node dist/examples/echo.js`,
  };
}

/** setupAgents wires the form; talk starts a conversation with a created agent. */
export function setupAgents(talk: (agentId: string) => Promise<void>): { refresh: () => Promise<void> } {
  let createdId = "";
  const refresh = async (): Promise<void> => {
    const page = await api<{ items: Agent[] }>("GET", "/api/agents?limit=50");
    ui.myAgents.textContent = page.items.length === 0 ? "none yet" : page.items.map((a) => `${a.name} (${a.id})`).join(", ");
  };
  ui.name.addEventListener("input", () => { ui.handle.textContent = ui.name.value ? `@${handleOf(ui.name.value)}` : ""; });
  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    ui.error.textContent = "";
    try {
      const res = await api<{ agent: Agent; token: string }>("POST", "/api/agents", {
        name: ui.name.value.trim(), description: ui.description.value.trim(),
        visibility: ui.public.checked ? "public" : "private",
      });
      ui.form.reset();
      ui.handle.textContent = "";
      createdId = res.agent.id;
      ui.createdName.textContent = res.agent.name;
      ui.createdHandle.textContent = `@${res.agent.handle} · ${res.agent.id}`;
      // The token lives only in these fields: leaving the panel clears it for good.
      const cmd = commands(res.token);
      ui.token.value = res.token;
      ui.goCmd.value = cmd.go;
      ui.tsCmd.value = cmd.ts;
      ui.copyStatus.textContent = "";
      ui.created.hidden = false;
      ui.token.focus();
      ui.token.select();
      void refresh();
    } catch (err) {
      ui.error.textContent = (err as Error).message;
    }
  });
  const copy = (from: HTMLInputElement | HTMLTextAreaElement, what: string) => async () => {
    try {
      await navigator.clipboard.writeText(from.value);
      ui.copyStatus.textContent = `${what} copied.`;
    } catch {
      from.focus();
      from.select();
      ui.copyStatus.textContent = `Could not copy: ${what.toLowerCase()} is selected, press Ctrl+C.`;
    }
  };
  ui.copyToken.addEventListener("click", copy(ui.token, "Token"));
  ui.copyGo.addEventListener("click", copy(ui.goCmd, "Go command"));
  ui.copyTs.addEventListener("click", copy(ui.tsCmd, "TypeScript command"));
  const hide = (): void => {
    ui.created.hidden = true;
    ui.token.value = ui.goCmd.value = ui.tsCmd.value = "";
  };
  ui.close.addEventListener("click", hide);
  ui.talk.addEventListener("click", () => {
    const id = createdId;
    hide();
    void talk(id);
  });
  return { refresh };
}
