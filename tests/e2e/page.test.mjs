// Browser tests of the page in www/: serves it with scripts/serve.mjs on a free loopback port,
// drives Debian's Chromium with playwright-core, and checks that the tables show exactly what
// pipe() returns in Node.js for the same bytes. Screenshots go to artifacts/.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkgDir = join(repo, 'pkg');
const artifacts = join(repo, 'artifacts');
const { initSync, EventStore, generateSample } = await import(join(pkgDir, 'llm_metrics.js'));
initSync({ module: readFileSync(join(pkgDir, 'llm_metrics_bg.wasm')) });

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PIPES = [
  ['llm_usage_by_model', '#usage'],
  ['llm_performance', '#performance'],
];

let server;
let baseUrl;
let browser;
let workDir;

/** Starts scripts/serve.mjs on a free port and resolves with its URL. */
async function startServer() {
  const child = spawn(process.execPath, [join(repo, 'scripts/serve.mjs')], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 10_000);
    child.stdout.on('data', (data) => {
      output += data;
      const match = output.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  return { child, url };
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'llm-metrics-e2e-'));
  const started = await startServer();
  server = started.child;
  baseUrl = started.url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await once(server, 'exit');
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** What a table must show for an endpoint: header names and every cell as String(value). */
function expectedTable(endpoint) {
  return {
    headers: endpoint.meta.map((m) => m.name),
    rows: endpoint.data.map((row) => endpoint.meta.map((m) => String(row[m.name]))),
  };
}

async function readTable(page, selector) {
  return page.$eval(selector, (section) => ({
    headers: [...section.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: [...section.querySelectorAll('tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  }));
}

/** Opens the page and collects console errors, failed requests and uncaught exceptions. */
async function openPage() {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  await page.goto(baseUrl);
  await page.waitForSelector('#app[data-state="ready"]', { timeout: 30_000 });
  return { page, problems };
}

async function waitForReports(page, count) {
  await page.waitForFunction(
    (n) => document.querySelectorAll('#reports > li').length === n &&
      document.getElementById('app').dataset.state === 'ready',
    count,
    { timeout: 120_000 },
  );
}

test('a picked file is ingested and both tables show exactly what pipe() returns', async () => {
  // Generated events plus a blank and a malformed line, so the report shows every counter.
  const generated = generateSample(5000, 9);
  const extra = new TextEncoder().encode('\n{"model_name": broken}\n');
  const bytes = new Uint8Array(generated.length + extra.length);
  bytes.set(generated);
  bytes.set(extra, generated.length);
  const file = join(workDir, 'events.ndjson');
  writeFileSync(file, bytes);

  const store = new EventStore();
  store.begin('events.ndjson');
  store.write(bytes);
  const report = store.end();
  assert.equal(report.rows, 5000);
  assert.equal(report.quarantined, 1);
  assert.equal(report.blank, 1);

  const { page, problems } = await openPage();
  try {
    assert.equal(await page.locator('#usage').isHidden(), true);
    await page.setInputFiles('#files', file);
    await waitForReports(page, 1);

    const reportText = await page.textContent('#reports > li');
    assert.match(reportText, /^events\.ndjson: 5,002 lines, 5,000 rows stored, 1 quarantined, 1 blank/);
    assert.ok(reportText.includes(report.errors[0]), reportText);
    assert.equal(await page.textContent('#row-count'), '5,000 events in memory.');

    for (const [pipe, selector] of PIPES) {
      const endpoint = store.pipe(pipe);
      assert.ok(endpoint.data.length > 1, `${pipe} has rows`);
      assert.equal(await page.locator(selector).isVisible(), true, selector);
      assert.deepEqual(await readTable(page, selector), expectedTable(endpoint), pipe);
    }
    await page.screenshot({ path: join(artifacts, 'page-file.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    store.free();
  }
});

test('"Load sample data" adds a sample stream and updates both tables', async () => {
  const { page, problems } = await openPage();
  const store = new EventStore();
  try {
    const button = page.getByRole('button', { name: 'Load sample data' });
    await button.focus();
    await page.keyboard.press('Enter');
    await waitForReports(page, 1);

    const sample = generateSample(100000, 42);
    store.write(sample);
    const report = store.end();
    const reportText = await page.textContent('#reports > li');
    assert.match(reportText, /^sample \(100,000 events, seed 42\): /);
    assert.ok(reportText.includes(`${report.rows.toLocaleString('en-US')} rows stored`), reportText);
    for (const [pipe, selector] of PIPES) {
      assert.deepEqual(await readTable(page, selector), expectedTable(store.pipe(pipe)), pipe);
    }

    // A second load is a second stream; the tables cover both.
    await button.click();
    await waitForReports(page, 2);
    store.write(sample);
    store.end();
    assert.equal(await page.textContent('#row-count'), `${(2 * report.rows).toLocaleString('en-US')} events in memory.`);
    for (const [pipe, selector] of PIPES) {
      assert.deepEqual(await readTable(page, selector), expectedTable(store.pipe(pipe)), pipe);
    }
    await page.screenshot({ path: join(artifacts, 'page-sample.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
    store.free();
  }
});
