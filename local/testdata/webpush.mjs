// Drives Web Push in the web app for TestWebPush, in headless Chromium:
// sign up, turn notifications on in the Notifications panel (the app
// registers /sw.js, subscribes with the server's VAPID key and posts the
// subscription), then a push message carrying the server's payload is
// delivered to the service worker through the DevTools protocol, and the
// notification it shows is read back; last, notifications are turned off.
// A browser's push service cannot run here: pushManager.subscribe is given
// the subscription the test's push receiver made (endpoint and keys), the
// way a browser hands its push service's subscription to the page.
// Usage: node webpush.mjs BASE SUBSCRIPTION_JSON PAYLOAD_JSON SHOTS_DIR TIMEOUT_MS
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { chromium } = await import(process.env.ARI_PLAYWRIGHT);
const [base, subJSON, payload, shots, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 60000;
mkdirSync(shots, { recursive: true });
const logs = [];
const result = { screenshots: [], requests: [] };
let browser;
let out;

const shot = async (page, name) => {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
};

try {
  browser = await chromium.launch({
    executablePath: process.env.ARI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(['notifications'], { origin: base });
  await context.addInitScript((s) => {
    // What the browser's push service would have made.
    const sub = JSON.parse(s);
    let current = null;
    const make = (options) => ({
      endpoint: sub.endpoint,
      expirationTime: null,
      options,
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }),
      unsubscribe: async () => { current = null; return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
      const key = new Uint8Array(options.applicationServerKey);
      window.__applicationServerKeyBytes = key.length;
      current = make(options);
      return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
  }, subJSON);
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('response', async (r) => {
    if (r.url().includes('/api/push/')) result.requests.push({ method: r.request().method(), path: new URL(r.url()).pathname, status: r.status(), body: r.request().postData() });
  });

  await page.goto(base + '/');
  await page.getByRole('button', { name: 'Create an account instead' }).click();
  result.email = `push-${Date.now()}@example.com`;
  await page.getByLabel('Name', { exact: true }).fill('Push Tester');
  await page.getByLabel('Email').fill(result.email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();

  await page.getByText('Notifications', { exact: true }).click();
  await page.getByRole('button', { name: 'Turn on notifications in this browser' }).click();
  await page.locator('#push-status').filter({ hasText: 'Notifications are on in this browser.' }).waitFor();
  result.keyBytes = await page.evaluate(() => window.__applicationServerKeyBytes);
  result.controller = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL ?? '');
  await shot(page, '1-notifications-on');

  // The push message, as the push service would deliver it after the
  // browser decrypted it: straight to the service worker.
  const cdp = await context.newCDPSession(page);
  const regs = new Map();
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => { for (const r of e.registrations) regs.set(r.scopeURL, r.registrationId); });
  await cdp.send('ServiceWorker.enable');
  const deadline = Date.now() + timeout;
  while (!regs.has(base + '/') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!regs.has(base + '/')) throw new Error(`no service worker registration for ${base}/: ${[...regs.keys()]}`);
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: base, registrationId: regs.get(base + '/'), data: payload });
  await page.waitForFunction(async () => (await (await navigator.serviceWorker.ready).getNotifications()).length > 0);
  result.notifications = await page.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));

  await page.getByRole('button', { name: 'Turn off notifications in this browser' }).click();
  await page.locator('#push-status').filter({ hasText: 'Notifications are off in this browser.' }).waitFor();
  await shot(page, '2-notifications-off');
  out = { result, logs };
} catch (err) {
  out = { error: String(err && err.stack || err), logs, result };
} finally {
  if (browser) await browser.close().catch(() => {});
}
console.log(JSON.stringify(out));
