// Drives the web app (local/web, served by the shim) in headless Chromium
// for TestWebApp: sign up, start a conversation with the test's echo agent,
// watch a reply stream in, reload in the middle of a reply, stop a reply,
// regenerate a reply, react to it, search and open a result, create an
// agent (token shown once, copied) and talk to it once the test runs it,
// send a file (presigned upload), change notification preferences.
// Usage: node webapp.mjs BASE AGENT_ID TEST_URL SHOTS_DIR TIMEOUT_MS
// TEST_URL/open opens the gate; TEST_URL/agent?cmd= runs an agent with the
// Go command the page showed.
// Prints one JSON line: {"result": …} or {"error": "…"}, with "logs".
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { chromium } = await import(process.env.ARI_PLAYWRIGHT);
const [base, agentId, testURL, shots, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 60000;
mkdirSync(shots, { recursive: true });
const logs = [];
const result = { screenshots: [] };
let browser;
let page;
let out;
// The page's last socket frames, kept for the report when a step fails.
const frames = [];
const keepFrame = (dir, data) => {
  frames.push(`${new Date().toISOString()} ${dir} ${String(data).slice(0, 300)}`);
  if (frames.length > 60) frames.shift();
};

// lastReply is the newest agent message's id, text and status, as painted.
const lastReply = (page) => page.evaluate(() => {
  const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
  return li ? { id: li.id, text: li.querySelector('.text').textContent, status: li.dataset.status } : null;
});
// watch records every distinct text the newest agent message shows.
const watch = (page) => page.evaluate(() => {
  window.__texts = [];
  new MutationObserver(() => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    const t = li?.querySelector('.text')?.textContent ?? '';
    if (t !== '' && window.__texts.at(-1) !== t) window.__texts.push(t);
  }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
});
// shown is a message's id, text and status, as painted.
const shown = (page, id) => page.evaluate((id) => {
  const li = document.getElementById(id);
  return { id, text: li.querySelector('.text').textContent, status: li.dataset.status };
}, id);
const shot = async (page, name) => {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
};
// stages are the page's performance marks of the last send, in ms after ari:send.
const stages = (page) => page.evaluate(() => {
  const t0 = performance.getEntriesByName('ari:send')[0]?.startTime ?? 0;
  return Object.fromEntries(performance.getEntriesByType('mark').filter((m) => m.name.startsWith('ari:')).map((m) => [m.name.slice(4), Math.round((m.startTime - t0) * 10) / 10]));
});
const send = async (page, text) => {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
};
// replyOther waits for a new agent message (other than prev) with text, and returns it.
const replyAfter = async (page, prevId, status) => {
  await page.waitForFunction(([prev, st]) => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return li && li.id !== prev && li.querySelector('.text').textContent !== '' && (!st || li.dataset.status === st);
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
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => keepFrame('sent', f.payload));
    ws.on('framereceived', (f) => keepFrame('got', f.payload));
    ws.on('close', () => keepFrame('closed', ws.url()));
  });
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
  await page.getByLabel('Name', { exact: true }).fill('Web Tester');
  await page.getByLabel('Email').fill(result.email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
  await shot(page, '1-signed-up');

  // Start a conversation with the echo agent and watch a reply stream in.
  await page.getByLabel('Agent id', { exact: true }).fill(agentId);
  await page.getByRole('button', { name: 'Start a conversation' }).click();
  await page.getByRole('heading', { name: 'Web Echo' }).waitFor();
  result.hash = await page.evaluate(() => location.hash);
  await watch(page);
  await send(page, 'hello from the web app, word by word');
  const first = await replyAfter(page, null, 'complete');
  result.first = first;
  result.streamedTexts = await page.evaluate(() => window.__texts);
  result.firstTextMs = await page.evaluate(() => performance.getEntriesByName('ari:send-to-first-text')[0]?.duration ?? -1);
  result.firstStages = await stages(page);
  result.userMessages = await page.locator('#messages li.user .text').allTextContents();
  await shot(page, '2-streamed');

  // Reload in the middle of a reply: the agent holds after its first words
  // until the gate opens; the page reloads as the rest streams.
  const words = Array.from({ length: 40 }, (_, i) => `w${i + 1}`).join(' ');
  await send(page, `resume ${words}`);
  const before = await replyAfter(page, first.id, 'streaming');
  result.beforeReload = before;
  await fetch(testURL + '/open');
  await page.reload();
  await page.waitForFunction((id) => document.querySelector(`#${id} .text`)?.textContent, before.id);
  result.afterReloadFirst = await page.evaluate((id) => document.querySelector(`#${id} .text`).textContent, before.id);
  await page.waitForFunction((id) => document.getElementById(id)?.dataset.status === 'complete', before.id);
  result.resumed = await shown(page, before.id);
  result.order = await page.evaluate(() => [...document.querySelectorAll('#messages li')].map((li) => Number(li.dataset.seq)));
  await shot(page, '3-resumed-after-reload');

  // Stop a reply: the agent writes a few words and waits to be cancelled.
  await send(page, 'stop me please');
  const stopping = await replyAfter(page, before.id, 'streaming');
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.waitForFunction((id) => document.getElementById(id)?.dataset.status === 'cancelled', stopping.id);
  result.stopped = await shown(page, stopping.id);
  result.stopDisabled = await page.getByRole('button', { name: 'Stop' }).isDisabled();
  await shot(page, '4-stopped');

  // Regenerate: a new version of the last reply streams where the old one stood.
  await send(page, 'again please');
  const answered = await replyAfter(page, stopping.id, 'complete');
  const index = (id) => page.evaluate((id) => [...document.querySelectorAll('#messages li')].findIndex((li) => li.id === id), id);
  result.regenIndexBefore = await index(answered.id);
  await watch(page);
  await page.locator(`#${answered.id}`).getByRole('button', { name: 'Regenerate' }).click();
  await page.waitForFunction((old) => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return li && li.id !== old && li.dataset.status === 'complete';
  }, answered.id);
  const again = await lastReply(page);
  result.regenerated = { before: answered, after: again, texts: await page.evaluate(() => window.__texts),
    version: await page.evaluate((id) => document.getElementById(id).dataset.version, again.id),
    indexAfter: await index(again.id), oldGone: await page.evaluate((id) => !document.getElementById(id), answered.id) };
  result.regenMs = await page.evaluate(() => performance.getEntriesByName('ari:send-to-first-text')[0]?.duration ?? -1);
  await shot(page, '5-regenerated');

  // Questions and approvals: the agent asks; the question is still there
  // after a reload (sync lists it); an option answers it, the agent goes on.
  await send(page, 'ask which colour');
  const asked = page.getByRole('group', { name: 'The agent asks', exact: true });
  await asked.waitFor();
  // The history after the reload comes late, after the answered reply has
  // ended on the socket: it must not paint its older state over the end
  // (it did, in CI, when the page's history request was slow).
  let historyRead;
  const historyReadYet = new Promise((r) => { historyRead = r; });
  await page.route((url) => url.pathname.startsWith('/api/conversations/') && url.pathname.endsWith('/messages'),
    async (route) => {
      const response = await route.fetch(); // read now, while the reply waits
      historyRead();
      await new Promise((r) => setTimeout(r, 1500));
      await route.fulfill({ response });
    }, { times: 1 });
  await page.reload();
  // The page asks for reactions only once it has painted the history.
  const historyPainted = page.waitForResponse((r) => r.url().includes('/reactions'));
  await historyReadYet;
  await asked.getByRole('button', { name: 'Blau' }).click();
  await asked.waitFor({ state: 'detached' });
  await historyPainted;
  const chose = await replyAfter(page, again.id, 'complete');
  await page.waitForFunction((id) => document.getElementById(id)?.querySelector('.text')?.textContent === 'Du wählst Blau.', chose.id);
  result.question = await lastReply(page);
  await send(page, 'approve delete everything');
  const approval = page.getByRole('group', { name: 'The agent asks for your approval', exact: true });
  result.approvalPrompt = await approval.locator('p').first().textContent();
  await shot(page, '5b-approval');
  await approval.getByRole('button', { name: 'Decline' }).click();
  await approval.waitFor({ state: 'detached' });
  await page.waitForFunction((id) => { const li = [...document.querySelectorAll('#messages li.agent')].at(-1); return li && li.id !== id && li.dataset.status === 'complete' && li.querySelector('.text').textContent === 'Abgelehnt.'; }, result.question.id);
  result.approval = await lastReply(page);

  // Reactions: add one through the picker, take it back, add another.
  const reply = page.locator(`#${again.id}`);
  await reply.getByRole('button', { name: 'React', exact: true }).click();
  await reply.getByRole('button', { name: 'React with 👍' }).click();
  await reply.getByRole('button', { name: /^👍 1/ }).waitFor();
  result.reactionPressed = await reply.getByRole('button', { name: /^👍 1/ }).getAttribute('aria-pressed');
  await reply.getByRole('button', { name: /^👍 1/ }).click();
  await reply.getByRole('button', { name: /^👍/ }).waitFor({ state: 'detached' });
  await reply.getByRole('button', { name: 'React', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await reply.getByRole('button', { name: /^🎉 1/ }).waitFor();
  result.reactions = await reply.locator('.reactions button').allTextContents();
  result.reactedId = again.id;
  await shot(page, '6-reacted');

  // Search, then open a result: its conversation at that message.
  await page.getByLabel('Search messages').fill('word');
  await page.getByLabel('Search messages').press('Enter');
  const hit = page.getByRole('list', { name: 'Search results' }).getByRole('button').filter({ hasText: 'hello from the web app' }).first();
  await hit.waitFor();
  result.searchMarks = await hit.locator('mark').allTextContents();
  await hit.click();
  await page.waitForFunction(() => document.activeElement?.classList.contains('found'));
  result.found = await page.evaluate(() => ({ id: document.activeElement.id, text: document.activeElement.querySelector('.text').textContent, hash: location.hash }));
  await shot(page, '7-search');

  // Create an agent: its token once, copied; the test runs it with the shown command.
  await page.getByText('Create an agent', { exact: true }).click();
  await page.getByLabel('Agent name').fill('My Test Agent');
  result.handlePreview = await page.locator('#agent-handle-preview').textContent();
  await page.getByLabel('Description', { exact: true }).fill('Made in the browser');
  await page.getByRole('button', { name: 'Create agent' }).click();
  const token = page.getByLabel('Token', { exact: true });
  await page.waitForFunction(() => document.getElementById('created-token').value !== '');
  result.token = await token.inputValue();
  result.tokenFocused = await page.evaluate(() => document.activeElement?.id);
  result.createdHandle = await page.locator('#created-handle').textContent();
  await page.getByRole('button', { name: 'Copy token' }).click();
  await page.getByText('Token copied.').waitFor();
  result.clipboard = await page.evaluate(() => navigator.clipboard.readText());
  result.goCommand = await page.getByLabel(/Go example agent/).inputValue();
  result.tsCommand = await page.getByLabel(/TypeScript example agent/).inputValue();
  await shot(page, '8-agent-created');
  const run = await fetch(testURL + '/agent?cmd=' + encodeURIComponent(result.goCommand));
  if (!run.ok) throw new Error(`the test could not run the agent: ${await run.text()}`);
  for (const end = Date.now() + timeout; ;) {
    const mine = await (await page.request.get(base + '/api/agents')).json();
    if (mine.items.some((a) => a.name === 'My Test Agent' && a.online)) break;
    if (Date.now() > end) throw new Error('the agent run with the Go command never came online');
    await new Promise((r) => setTimeout(r, 50));
  }
  await page.getByRole('button', { name: 'Start a conversation with it' }).click();
  await page.getByRole('heading', { name: 'My Test Agent' }).waitFor();
  result.tokenGone = await page.evaluate(() => document.getElementById('created-token').value === '' && document.getElementById('agent-created').hidden);
  await send(page, 'hi new agent');
  result.ownAgentReply = await replyAfter(page, null, 'complete');
  await shot(page, '9-own-agent');

  // A file through the presigned flow, on a message; its link downloads it.
  await page.getByLabel('Attach files').setInputFiles({ name: 'note.txt', mimeType: 'text/plain', buffer: Buffer.from('a note from the browser\n') });
  await send(page, 'with a file');
  const withFile = page.locator('#messages li.user').filter({ hasText: 'with a file' });
  const link = withFile.getByRole('list', { name: 'Attachments' }).getByRole('link');
  await link.waitFor();
  result.attachment = { text: await link.textContent(), href: await link.getAttribute('href') };
  result.attachmentBody = await (await page.request.get(new URL(result.attachment.href, base).href)).text();
  result.fileCleared = await page.getByLabel('Attach files').evaluate((i) => i.files.length === 0);
  await replyAfter(page, result.ownAgentReply.id, 'complete');
  await shot(page, '10-attachment');

  // Notification preferences: load, change, save.
  await page.getByText('Notifications', { exact: true }).click();
  await page.waitForFunction(() => document.getElementById('pref-enabled').checked);
  result.prefsLoaded = await page.evaluate(() => ['enabled', 'agent-replies', 'group-messages', 'mentions', 'preview', 'quiet'].map((k) => document.getElementById('pref-' + k).checked));
  await page.getByLabel('Mentions', { exact: true }).uncheck();
  await page.getByLabel('Keep quiet between').check();
  await page.getByLabel('From', { exact: true }).fill('21:30');
  await page.getByRole('button', { name: 'Save preferences' }).click();
  await page.getByText('Saved.').waitFor();
  result.prefsSaved = await (await page.request.get(base + '/api/notifications/preferences')).json();
  await shot(page, '11-preferences');

  // Send → first text painted, again, with a warm page, socket and agent.
  result.timings = [];
  let prev = (await lastReply(page)).id;
  for (let i = 1; i <= 5; i++) {
    await send(page, `timing ${i}`);
    const r = await replyAfter(page, prev, 'complete');
    prev = r.id;
    await page.waitForFunction(() => performance.getEntriesByName('ari:first-text-painted').length > 0);
    result.timings.push(await stages(page));
  }
  result.scripts = scripts;
  out = { result };
} catch (e) {
  out = { error: String(e && e.stack || e) };
  // What the page showed and said when the step failed, for the report.
  const state = page && await page.evaluate(() => ({
    messages: [...document.querySelectorAll('#messages li')].slice(-4)
      .map((li) => `${li.id} ${li.className} ${li.dataset.status ?? ''} ${JSON.stringify(li.querySelector('.text')?.textContent ?? '')}`),
    inputs: [...document.querySelectorAll('#inputs section')].map((s) => s.textContent),
  })).catch((err) => ({ unavailable: String(err) }));
  logs.push(`page state at the failure: ${JSON.stringify(state)}`, ...frames.map((f) => `frame ${f}`));
} finally {
  if (browser) await browser.close().catch(() => {});
}
out.logs = logs;
process.stdout.write(JSON.stringify(out) + '\n');
