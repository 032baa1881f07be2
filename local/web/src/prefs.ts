// Notification preferences (GET/PUT /api/notifications/preferences): what
// push notifications a person gets (push.ts turns Web Push on in this browser).
import { api, el } from "./api.js";

interface Preferences {
  enabled: boolean;
  quietHours: { start: string; end: string; timeZone: string } | null;
  agentReplies: boolean;
  groupMessages: boolean;
  mentions: boolean;
  preview: boolean;
}

const ui = {
  panel: el<HTMLDetailsElement>("prefs-panel"), form: el<HTMLFormElement>("prefs-form"),
  enabled: el<HTMLInputElement>("pref-enabled"), agentReplies: el<HTMLInputElement>("pref-agent-replies"),
  groupMessages: el<HTMLInputElement>("pref-group-messages"), mentions: el<HTMLInputElement>("pref-mentions"),
  preview: el<HTMLInputElement>("pref-preview"), quiet: el<HTMLInputElement>("pref-quiet"),
  start: el<HTMLInputElement>("pref-quiet-start"), end: el<HTMLInputElement>("pref-quiet-end"),
  status: el("prefs-status"),
};

function show(p: Preferences): void {
  ui.enabled.checked = p.enabled;
  ui.agentReplies.checked = p.agentReplies;
  ui.groupMessages.checked = p.groupMessages;
  ui.mentions.checked = p.mentions;
  ui.preview.checked = p.preview;
  ui.quiet.checked = p.quietHours !== null;
  ui.start.value = p.quietHours?.start ?? "22:00";
  ui.end.value = p.quietHours?.end ?? "07:00";
}

/** setupPrefs loads the preferences when the panel opens and saves the form. */
export function setupPrefs(): void {
  ui.panel.addEventListener("toggle", async () => {
    if (!ui.panel.open) return;
    ui.status.textContent = "";
    try {
      show(await api<Preferences>("GET", "/api/notifications/preferences"));
    } catch (err) {
      ui.status.textContent = (err as Error).message;
    }
  });
  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const p: Preferences = {
      enabled: ui.enabled.checked, agentReplies: ui.agentReplies.checked, groupMessages: ui.groupMessages.checked,
      mentions: ui.mentions.checked, preview: ui.preview.checked,
      quietHours: ui.quiet.checked ? { start: ui.start.value, end: ui.end.value, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } : null,
    };
    try {
      show(await api<Preferences>("PUT", "/api/notifications/preferences", p));
      ui.status.textContent = "Saved.";
    } catch (err) {
      ui.status.textContent = (err as Error).message;
    }
  });
}
