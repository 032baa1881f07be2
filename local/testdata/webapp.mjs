// Drives the web app (local/web, served by the shim) in headless Chromium
// for TestWebApp: sign up, start a conversation with the test's echo agent,
// watch a reply stream in, reload in the middle of a reply, stop a reply.
// Usage: node webapp.mjs BASE AGENT_ID GATE_URL SHOTS_DIR TIMEOUT_MS
// Prints one JSON line: {"result": …} or {"error": "…"}, with "logs".
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { chromium } = await import(process.env.ARI_PLAYWRIGHT);
const [base, agentId, gateURL, shots, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 60000;
mkdirSync(shots, { recursive: true });
const logs = [];
const result = { screenshots: [] };
let browser;
let out;

// lastReply is the newest agent message's id, text and status, as painted.
const lastReply = (page) => page.evaluate(() => {
  const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
  return li ? { id: li.id, text: li.textContent, status: li.dataset.status } : null;
});
// watch records every distinct text the newest agent message shows.
const watch = (page) => page.evaluate(() => {
  window.__texts = [];
  new MutationObserver(() => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    const t = li?.textContent ?? '';
    if (t !== '' && window.__texts.at(-1) !== t) window.__texts.push(t);
  }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
});
const shot = async (page, name) => {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
};
const send = async (page, text) => {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
};
// replyOther waits for a new agent message (other than prev) with text, and returns it.
const replyAfter = async (page, prevId, status) => {
  await page.waitForFunction(([prev, st]) => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return li && li.id !== prev && li.textContent !== '' && (!st || li.dataset.status === st);
  }, [prevId, status], { timeout });
  return lastReply(page);
};

try {
  browser = await chromium.launch({
    executablePath: process.env.ARI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => logs.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  const scripts = [];
  page.on('response', (r) => { if (r.request().resourceType() === 'script') scripts.push(r.url()); });

  // Sign up through the app's form (Better Auth's client against /api/auth).
  await page.goto(base + '/');
  result.csp = (await (await page.request.get(base + '/')).headers())['content-security-policy'] ?? '';
  await page.getByRole('button', { name: 'Create an account instead' }).click();
  result.email = `web-${Date.now()}@example.com`;
  await page.getByLabel('Name').fill('Web Tester');
  await page.getByLabel('Email').fill(result.email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
  await shot(page, '1-signed-up');

  // Start a conversation with the echo agent and watch a reply stream in.
  await page.getByLabel('Agent id').fill(agentId);
  await page.getByRole('button', { name: 'Start a conversation' }).click();
  await page.getByRole('heading', { name: 'Web Echo' }).waitFor();
  result.hash = await page.evaluate(() => location.hash);
  await watch(page);
  await send(page, 'hello from the web app, word by word');
  const first = await replyAfter(page, null, 'complete');
  result.first = first;
  result.streamedTexts = await page.evaluate(() => window.__texts);
  result.firstTextMs = await page.evaluate(() => performance.getEntriesByName('ari:send-to-first-text')[0]?.duration ?? -1);
  result.userMessages = await page.locator('#messages li.user').allTextContents();
  await shot(page, '2-streamed');

  // Reload in the middle of a reply: the agent holds after its first words
  // until the gate opens; the page reloads as the rest streams.
  const words = Array.from({ length: 40 }, (_, i) => `w${i + 1}`).join(' ');
  await send(page, `resume ${words}`);
  const before = await replyAfter(page, first.id, 'streaming');
  result.beforeReload = before;
  await fetch(gateURL);
  await page.reload();
  await page.waitForFunction((id) => document.getElementById(id)?.textContent, before.id);
  result.afterReloadFirst = await page.evaluate((id) => document.getElementById(id).textContent, before.id);
  await page.waitForFunction((id) => document.getElementById(id)?.dataset.status === 'complete', before.id);
  result.resumed = await page.evaluate((id) => { const li = document.getElementById(id); return { id, text: li.textContent, status: li.dataset.status }; }, before.id);
  result.order = await page.evaluate(() => [...document.querySelectorAll('#messages li')].map((li) => Number(li.dataset.seq)));
  await shot(page, '3-resumed-after-reload');

  // Stop a reply: the agent writes a few words and waits to be cancelled.
  await send(page, 'stop me please');
  const stopping = await replyAfter(page, before.id, 'streaming');
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.waitForFunction((id) => document.getElementById(id)?.dataset.status === 'cancelled', stopping.id);
  result.stopped = await page.evaluate((id) => { const li = document.getElementById(id); return { id, text: li.textContent, status: li.dataset.status }; }, stopping.id);
  result.stopDisabled = await page.getByRole('button', { name: 'Stop' }).isDisabled();
  await shot(page, '4-stopped');
  result.scripts = scripts;
  out = { result };
} catch (e) {
  out = { error: String(e && e.stack || e) };
} finally {
  if (browser) await browser.close().catch(() => {});
}
out.logs = logs;
process.stdout.write(JSON.stringify(out) + '\n');
