// Drives the web app in headless Chromium for TestWebAppGroup: two people
// in two browser contexts. Ada signs up, Bea signs up and her user id is
// read off her page; Ada creates a group with both test agents and Bea,
// writes "@web-p…" and takes @web-parrot from the completion list by
// keyboard, sends; Bea sees the group appear, opens it and watches the
// parrot's reply stream in; Ada reacts to the reply and Bea sees the
// reaction appear live.
// Usage: node webgroup.mjs BASE ECHO_ID PARROT_ID SHOTS_DIR TIMEOUT_MS
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const { chromium } = await import(process.env.ARI_PLAYWRIGHT);
const [base, echoId, parrotId, shots, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 60000;
mkdirSync(shots, { recursive: true });
const logs = [];
const result = { screenshots: [] };
let browser;
let out;

const shot = async (page, name) => {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
};
const person = async (name) => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => logs.push(`${name} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`${name} pageerror: ${e.message}`));
  await page.goto(base + '/');
  await page.getByRole('button', { name: 'Create an account instead' }).click();
  const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor();
  return { page, email };
};

try {
  browser = await chromium.launch({
    executablePath: process.env.ARI_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ada = await person('Ada');
  const bea = await person('Bea');
  result.emails = [ada.email, bea.email];
  await bea.page.getByText('Create a group', { exact: true }).click();
  const beaId = (await bea.page.locator('#my-id').textContent()).trim();
  result.beaId = beaId;

  // Ada makes the group.
  const a = ada.page;
  await a.getByText('Create a group', { exact: true }).click();
  await a.getByLabel('Group name').fill('Team');
  await a.getByLabel('Agent ids').fill(`${echoId}, ${parrotId}`);
  await a.getByLabel("People's user ids").fill(beaId);
  await a.getByRole('button', { name: 'Create group' }).click();
  await a.getByRole('heading', { name: 'Team' }).waitFor();
  result.hash = await a.evaluate(() => location.hash);

  // Bea sees it appear (a live event) and opens it.
  const b = bea.page;
  await b.getByRole('button', { name: 'Team', exact: true }).click();
  await b.getByRole('heading', { name: 'Team' }).waitFor();
  await b.evaluate(() => {
    window.__texts = [];
    new MutationObserver(() => {
      const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
      const t = li?.querySelector('.text')?.textContent ?? '';
      if (t !== '' && window.__texts.at(-1) !== t) window.__texts.push(t);
    }).observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
  });

  // Ada mentions the parrot through the completion list, by keyboard only.
  const box = a.getByLabel('Message', { exact: true });
  await box.focus();
  await a.keyboard.type('@web');
  const list = a.getByRole('listbox', { name: 'Agents to mention' });
  await list.waitFor();
  result.options = await list.getByRole('option').allTextContents();
  result.expanded = await box.getAttribute('aria-expanded');
  const want = result.options.findIndex((o) => o.startsWith('@web-parrot'));
  for (let i = 0; i < want; i++) await a.keyboard.press('ArrowDown');
  result.selected = await list.getByRole('option', { selected: true }).textContent();
  await shot(a, '1-ada-mention-list');
  await a.keyboard.press('Enter');
  result.afterTake = await box.inputValue();
  result.closed = await list.isHidden();
  await a.keyboard.type('hello group');
  await a.keyboard.press('Enter');

  // Bea watches the parrot's reply stream in.
  await b.waitForFunction(() => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return li?.dataset.status === 'complete';
  });
  const reply = await b.evaluate(() => {
    const li = [...document.querySelectorAll('#messages li.agent')].at(-1);
    return { id: li.id, text: li.querySelector('.text').textContent, status: li.dataset.status };
  });
  result.beaReply = reply;
  result.beaTexts = await b.evaluate(() => window.__texts);
  result.beaUserMessages = await b.locator('#messages li.user .text').allTextContents();
  await shot(b, '2-bea-reply');

  // Ada reacts; Bea sees it live.
  const adaReply = a.locator(`#${reply.id}`);
  await a.waitForFunction((id) => document.getElementById(id)?.dataset.status === 'complete', reply.id);
  await adaReply.getByRole('button', { name: 'React', exact: true }).click();
  await adaReply.getByRole('button', { name: 'React with 🎉' }).click();
  const seen = b.locator(`#${reply.id}`).getByRole('button', { name: /^🎉 1/ });
  await seen.waitFor();
  result.beaReaction = { text: await seen.textContent(), pressed: await seen.getAttribute('aria-pressed') };
  await shot(b, '3-bea-sees-reaction');
  await shot(a, '4-ada');
  out = { result };
} catch (e) {
  out = { error: String(e && e.stack || e) };
} finally {
  if (browser) await browser.close().catch(() => {});
}
out.logs = logs;
process.stdout.write(JSON.stringify(out) + '\n');
