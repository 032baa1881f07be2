// The web app's service worker: it shows the server's Web Push messages
// (shared/notify.Payload: title, body, kind, conversationId, messageId,
// url, tag) as notifications, and a click on one opens the conversation in
// a window of the app (focusing one that is open already).
/// <reference lib="webworker" />
export {};
declare const self: ServiceWorkerGlobalScope;

interface Payload {
  title?: string;
  body?: string;
  kind?: string;
  conversationId?: string;
  messageId?: string;
  url?: string;
  tag?: string;
}

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

// appURL is where the app shows the conversation (its hash routes), on this
// origin only: a payload cannot send the user elsewhere.
function appURL(p: Payload): string {
  const c = p.conversationId ?? "";
  const m = p.messageId ?? "";
  if (!idPattern.test(c)) return "/";
  return idPattern.test(m) ? `/#/c/${c}/m/${m}` : `/#/c/${c}`;
}

self.addEventListener("install", () => void self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("push", (e) => {
  let p: Payload = {};
  try {
    p = (e.data?.json() ?? {}) as Payload;
  } catch {
    p = { body: e.data?.text() ?? "" };
  }
  const options: NotificationOptions = { body: p.body ?? "New message", data: { url: appURL(p), kind: p.kind ?? "" } };
  if (p.tag) options.tag = p.tag;
  e.waitUntil(self.registration.showNotification(p.title || "Ari", options));
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const url = new URL((e.notification.data as { url?: string } | null)?.url ?? "/", self.location.origin).href;
  e.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const w of windows) {
        if (new URL(w.url).origin === self.location.origin) {
          await w.focus();
          return void (await w.navigate(url));
        }
      }
      await self.clients.openWindow(url);
    })(),
  );
});
