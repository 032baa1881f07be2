// Web Push on this device: the service worker (sw.ts) registered, the
// browser's push subscription made with the server's VAPID key and handed
// to POST /api/push/subscribe; turning it off unsubscribes both ways.
import { api, el } from "./api.js";

const ui = {
  on: el<HTMLButtonElement>("push-on"),
  off: el<HTMLButtonElement>("push-off"),
  status: el("push-status"),
};

// urlBase64 decodes the server's VAPID public key (base64url, no padding).
function urlBase64(s: string): Uint8Array<ArrayBuffer> {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(b.length));
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

function supported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

async function registration(): Promise<ServiceWorkerRegistration> {
  await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  return navigator.serviceWorker.ready;
}

function shown(on: boolean, text: string): void {
  ui.on.hidden = on;
  ui.off.hidden = !on;
  ui.status.textContent = text;
}

async function turnOn(): Promise<void> {
  if ((await Notification.requestPermission()) !== "granted") {
    shown(false, "This browser does not allow notifications for this site.");
    return;
  }
  const { publicKey } = await api<{ publicKey: string }>("GET", "/api/push/vapid-public-key");
  const reg = await registration();
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlBase64(publicKey) });
  await api("POST", "/api/push/subscribe", sub.toJSON());
  shown(true, "Notifications are on in this browser.");
}

async function turnOff(): Promise<void> {
  const reg = await navigator.serviceWorker.getRegistration("/");
  const sub = await reg?.pushManager.getSubscription();
  if (sub) {
    await api("DELETE", "/api/push/subscribe", { endpoint: sub.endpoint }).catch(() => undefined);
    await sub.unsubscribe();
  }
  shown(false, "Notifications are off in this browser.");
}

/** setupPush wires the device's notification switch. */
export function setupPush(): void {
  if (!supported()) {
    ui.on.disabled = true;
    ui.status.textContent = "This browser cannot receive push notifications.";
    return;
  }
  void (async () => {
    const reg = await navigator.serviceWorker.getRegistration("/");
    const sub = await reg?.pushManager.getSubscription();
    shown(Boolean(sub), sub ? "Notifications are on in this browser." : "");
  })();
  const run = (f: () => Promise<void>) => async () => {
    ui.on.disabled = ui.off.disabled = true;
    try {
      await f();
    } catch (err) {
      ui.status.textContent = (err as Error).message;
    } finally {
      ui.on.disabled = ui.off.disabled = false;
    }
  };
  ui.on.addEventListener("click", run(turnOn));
  ui.off.addEventListener("click", run(turnOff));
}
