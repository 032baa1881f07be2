// Drives the web app (local/web, served by the shim) in headless Chromium
// for TestWebAppNotes: sign up; through REST (with the page's session) open
// a developer account, create the notes app, publish its manifest (the
// test's, entryUrl pointing at this shim's /apps/notes/) and install it;
// start a conversation with the echo agent, open Notes in shared mode with
// it from the Apps panel, write "/note hello" and see the note appear in
// the app's frame and the agent's reply in the chat; pin a note from the
// frame while another save lands first (a version conflict the app
// resolves); end the app.
// Usage: node webnotes.mjs BASE AGENT_ID MANIFEST_JSON SHOTS_DIR TIMEOUT_MS
// Prints one JSON line: {"result": …} or {"error": "…"}, with "logs".
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { chromium } = await import(process.env.ARI_PLAYWRIGHT);
const [base, agentId, manifestJSON, shots, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 60000;
mkdirSync(shots, { recursive: true });
const logs = [];
const result = { screenshots: [] };
let browser;
let out;

// shot waits for the app's frame (another process) to paint, then takes the viewport
// (fullPage resizes the page for the shot, which the frame's last paint may not follow).
const shot = async (page, name) => {
  const path = join(shots, `${name}.png`);
  for (const f of page.frames()) await f.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))).catch(() => {});
  await page.screenshot({ path });
  result.screenshots.push(path);
};
// rest calls a route from the page (its cookie and Origin, as the app's own calls).
const rest = async (page, method, path, body) => {
  const { status, json } = await page.evaluate(async ([method, path, body]) => {
    const r = await fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: r.status, json: await r.json().catch(() => null) };
  }, [method, path, body]);
  if (status >= 300) throw new Error(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
  return json;
};

try {
  browser = await chromium.launch({
    executablePath: process.env.ARI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => logs.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));

  await page.goto(base + '/');
  await page.getByRole('button', { name: 'Create an account instead' }).click();
  result.email = `notes-${Date.now()}@example.com`;
  await page.getByLabel('Name', { exact: true }).fill('Nora Notes');
  await page.getByLabel('Email').fill(result.email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();

  // The app, through REST: developer account → app → version → install.
  await rest(page, 'POST', '/api/developer', { displayName: 'Nora Apps' });
  const app = await rest(page, 'POST', '/api/developer/apps', { slug: `notes-${Date.now().toString(36)}`, name: 'Notes' });
  await rest(page, 'POST', `/api/developer/apps/${app.id}/versions`, { version: '1.0.0', manifest: JSON.parse(manifestJSON) });
  await rest(page, 'POST', `/api/apps/${app.id}/install`, { idempotencyKey: 'install-notes' });
  result.appId = app.id;

  // A conversation with the echo agent; Notes opened in it, shared with Echo.
  await page.getByLabel('Agent id', { exact: true }).fill(agentId);
  await page.getByRole('button', { name: 'Start a conversation' }).click();
  await page.getByRole('heading', { name: 'Echo' }).waitFor();
  result.hash = await page.evaluate(() => location.hash);
  await page.getByText('Apps', { exact: true }).click();
  await page.getByLabel('App', { exact: true }).selectOption({ label: 'Notes' });
  await page.getByLabel('Who acts').selectOption('shared');
  await page.getByLabel('Agent', { exact: true }).selectOption(agentId);
  await page.getByRole('button', { name: 'Open app' }).click();
  const box = page.getByRole('region', { name: /^Notes \(shared with Echo\)/ });
  await box.waitFor();
  result.frame = await box.locator('iframe').evaluate((f) => ({ src: f.src, sandbox: f.getAttribute('sandbox'), title: f.title }));
  const notes = page.frameLocator('iframe[title="Notes"]');
  await notes.getByText('No notes yet.').waitFor();
  await shot(page, '1-notes-open');

  // The echo agent's tool call: "/note hello" → add_note → the app pins it.
  await page.getByLabel('Message', { exact: true }).fill('/note hello');
  await page.getByLabel('Message', { exact: true }).press('Enter');
  await notes.locator('#notes li').first().waitFor();
  await page.waitForFunction(() => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return li?.dataset.status === 'complete';
  });
  result.notesAfterCall = await notes.locator('#notes li').allTextContents();
  result.reply = await page.evaluate(() => [...document.querySelectorAll('#messages li.agent')].at(-1).querySelector('.text').textContent);
  await shot(page, '2-note-from-agent');

  // A note pinned in the frame while another save lands first: the app's
  // PUT meets version_conflict, takes the state saved meanwhile and saves again.
  let raced = false;
  await page.route('**/api/app-sessions/*/state', async (route) => {
    if (!raced) {
      raced = true;
      const body = route.request().postDataJSON();
      const session = route.request().url().split('/api/app-sessions/')[1].split('/')[0];
      result.conflictAt = body.version;
      await rest(page, 'PUT', `/api/app-sessions/${session}/state`,
        { version: body.version, state: { notes: [...body.state.notes.filter((n) => n.by === 'agent'), { id: 'bea-1', text: 'from Bea', by: 'user' }] } });
    }
    await route.continue();
  });
  await notes.getByLabel('New note').fill('from me');
  await notes.getByRole('button', { name: 'Pin' }).click();
  await notes.locator('#notes li', { hasText: 'from me' }).waitFor();
  await notes.getByText('3 notes.').waitFor();
  result.notesAfterConflict = await notes.locator('#notes li').allTextContents();
  result.raced = raced;
  await shot(page, '3-conflict-resolved');

  // End the app: its frame leaves.
  await box.getByRole('button', { name: 'End Notes' }).click();
  await box.waitFor({ state: 'detached' });
  result.framesLeft = await page.locator('#app-frames iframe').count();
  await shot(page, '4-ended');
  out = { result };
} catch (e) {
  out = { error: String(e && e.stack || e) };
} finally {
  if (browser) await browser.close().catch(() => {});
}
out.logs = logs;
process.stdout.write(JSON.stringify(out) + '\n');
