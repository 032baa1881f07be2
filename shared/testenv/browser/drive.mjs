// Opens one page in Debian's headless Chromium and prints what the page
// reports: the page sets window.__result (any JSON value) when it is done.
// Usage: node drive.mjs URL TIMEOUT_MS [CHROMIUM_PATH]
// Stdout gets one JSON line: {"result": …} or {"error": "…"}, plus the page's
// console lines and failed requests, so a failing Go test can show them.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, timeoutArg, exe] = process.argv.slice(2);
const timeout = Number(timeoutArg) || 30000;
const profile = mkdtempSync(join(tmpdir(), 'ari-chromium-'));
const logs = [];
let browser;
let out;
try {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: exe || '/usr/bin/chromium',
    headless: true,
    timeout,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  browser = context;
  const page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => logs.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(url, { timeout });
  await page.waitForFunction(() => window.__result !== undefined, null, { timeout });
  out = { result: await page.evaluate(() => window.__result) };
} catch (e) {
  out = { error: String(e && e.message || e) };
} finally {
  if (browser) await browser.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
out.logs = logs;
process.stdout.write(JSON.stringify(out) + '\n');
