// Browser test of the npm package as embedders use it (examples/): each example app installs
// the packed tarball (target/npm/llm-metrics.tgz, from bash scripts/package.sh), passes
// `tsc --noEmit`, is built by its bundler (none, Vite with React, webpack), served on 127.0.0.1
// and opened in Chromium. There a file of three events is loaded into the dashboard element and
// into a store of the page's own from createStore(); the KPI cards must show what the page's
// `pipe('llm_kpis')` answers, and both must match the totals worked out by hand below. Removing
// the element must end its worker. The Vite app is also opened from Vite's dev server. Prints
// each app's bundle size.
//
//   bash scripts/package.sh && node --test tests/e2e/examples.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import { staticHandler } from '../../scripts/serve.mjs';
import { assertKpis, report, repo, screenshot } from './harness.mjs';

const TARBALL = join(repo, 'target/npm/llm-metrics.tgz');
const PACKAGE = join(repo, 'target/npm/llm-metrics');

// Three events; their totals, by hand: 3 requests, 150 + 250 + 80 = 480 tokens,
// $0.5 + $0.25 + $0.125 = $0.875 (each exact in Float32), one failure.
const EVENTS = [
  { event_time: '2024-05-01 10:00:00', model_name: 'gpt-4o', prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, cost: 0.5, latency: 1.5, success: 1, error_message: '' },
  { event_time: '2024-05-01 10:05:00', model_name: 'gpt-4o-mini', prompt_tokens: 200, completion_tokens: 50, total_tokens: 250, cost: 0.25, latency: 0.5, success: 1, error_message: '' },
  { event_time: '2024-05-01 11:00:00', model_name: 'gpt-4o', prompt_tokens: 80, completion_tokens: 0, total_tokens: 80, cost: 0.125, latency: 4, success: 0, error_message: 'timeout' },
];
const FILE = {
  name: 'events.ndjson',
  mimeType: 'application/x-ndjson',
  buffer: Buffer.from(EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n'),
};
const BY_HAND = { requests: 3, total_tokens: 480, total_cost: 0.875, errors: 1 };

const EXAMPLES = [
  { name: 'plain', root: '', build: false },
  { name: 'vite-react', root: 'dist', build: true },
  { name: 'webpack', root: '', build: true },
];

let browser;

before(async () => {
  assert.ok(existsSync(TARBALL), `${TARBALL} is missing: run bash scripts/package.sh first`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
});

after(async () => {
  await browser?.close();
});

/** Runs a command in an example's folder; its output is shown only when it fails. */
function run(dir, command, args) {
  try {
    return execFileSync(command, args, { cwd: dir, encoding: 'utf8', stdio: 'pipe', env: { ...process.env, CI: 'true' } });
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed in ${dir}:\n${err.stdout}\n${err.stderr}`);
  }
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Bytes of the built app's JavaScript, raw and gzipped, and of its wasm. */
function bundleSize(dir) {
  let js = 0;
  let gz = 0;
  let wasm = 0;
  for (const file of filesUnder(dir)) {
    if (file.endsWith('.js')) {
      const bytes = readFileSync(file);
      js += bytes.length;
      gz += gzipSync(bytes, { level: 9 }).length;
    } else if (file.endsWith('.wasm')) {
      wasm += statSync(file).size;
    }
  }
  return { js, gz, wasm };
}

async function serve(root) {
  const server = createServer(staticHandler([{ prefix: '/', dir: root }], { csp: false }));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Opens an example app at `url`: loads FILE into the dashboard element and into the page's own
 * createStore(), checks both against pipe() and the totals by hand, then removes the element
 * and checks that every worker ended.
 */
async function checkPage(name, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') problems.push(`console ${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  const workers = [];
  page.on('worker', (worker) => {
    const entry = { url: worker.url(), closed: false };
    workers.push(entry);
    worker.on('close', () => {
      entry.closed = true;
    });
  });
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard')?.dataset.state === 'ready',
      null, { timeout: 30_000 });

    // The dashboard element: its file input, then its KPI cards against the page's own pipe().
    await page.setInputFiles('llm-metrics-dashboard input[type=file][multiple]', FILE);
    await page.waitForFunction(() => {
      const dash = document.querySelector('llm-metrics-dashboard');
      const requests = dash.shadowRoot.querySelector('.kpi[data-kpi=requests] .kpi-value');
      return dash.dataset.state === 'ready' && requests?.dataset.value === '3';
    }, null, { timeout: 30_000 });
    const endpoint = await page.evaluate(() => document.querySelector('llm-metrics-dashboard').store.pipe('llm_kpis'));
    const [row] = endpoint.data;
    for (const [key, value] of Object.entries(BY_HAND)) assert.equal(row[key], value, `llm_kpis.${key}`);
    await assertKpis(page, endpoint, `${name}: KPI cards`);
    // Its stylesheets came through the bundler: the cards are laid out by dashboard.css.
    const display = await page.evaluate(() => getComputedStyle(document.querySelector('llm-metrics-dashboard')
      .shadowRoot.querySelector('.kpi')).display);
    assert.notEqual(display, 'inline', `${name}: dashboard.css did not apply`);

    // createStore() on the page's own input.
    await page.setInputFiles('#file', FILE);
    await page.waitForSelector('#summary[data-state=ready]', { timeout: 30_000 });
    const summary = await page.$eval('#summary', (p) => ({ requests: p.dataset.requests, tokens: p.dataset.tokens }));
    assert.deepEqual(summary, { requests: String(BY_HAND.requests), tokens: String(BY_HAND.total_tokens) });
    await screenshot(page, `example-${name.replace(/[^a-z0-9]+/gi, "-")}.png`);

    // The page's store was closed after its answer, and removing the element ends its worker.
    assert.equal(workers.length, 2, `${name}: workers started: ${JSON.stringify(workers)}`);
    await page.evaluate(() => document.querySelector('llm-metrics-dashboard').remove());
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard') === null);
    const deadline = Date.now() + 10_000;
    while (workers.some((w) => !w.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(workers.map((w) => w.closed), [true, true], `${name}: every worker ended`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}

for (const example of EXAMPLES) {
  test(`examples/${example.name}: installed from the tarball, type-checked, built, and its KPIs match pipe() and the totals by hand`, async () => {
    const dir = join(repo, 'examples', example.name);
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
    // A lock holding the tarball's hash would refuse every rebuilt tarball.
    assert.equal(lock.packages['node_modules/llm-metrics']?.integrity, undefined,
      `${example.name}/package-lock.json must not pin the integrity of the local llm-metrics tarball`);
    run(dir, 'npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
    // The package installed is the one just packed.
    for (const file of ['pkg/llm_metrics_bg.wasm', 'store.js', 'dashboard.js']) {
      assert.ok(readFileSync(join(dir, 'node_modules/llm-metrics', file)).equals(readFileSync(join(PACKAGE, file))),
        `${example.name}: node_modules/llm-metrics/${file} is not the packed one`);
    }
    run(dir, 'npm', ['run', '--silent', 'typecheck']);
    if (example.build) run(dir, 'npm', ['run', '--silent', 'build']);
    if (example.build) {
      const size = bundleSize(join(dir, 'dist'));
      report(`${example.name} bundle: ${size.js} bytes of JavaScript (${size.gz} gzip -9), ${size.wasm} bytes of wasm`);
    }

    const server = await serve(join(dir, example.root));
    try {
      await checkPage(example.name, server.url);
    } finally {
      await server.close();
    }
  });
}

test('examples/vite-react from Vite\'s dev server: the same page works unbundled, with no setting', async () => {
  const dir = join(repo, 'examples', 'vite-react');
  assert.ok(existsSync(join(dir, 'node_modules/.bin/vite')), 'the vite-react test above installs the app first');
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  const vite = spawn(join(dir, 'node_modules/.bin/vite'), ['--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
  let output = '';
  vite.stdout.on('data', (chunk) => (output += chunk));
  vite.stderr.on('data', (chunk) => (output += chunk));
  try {
    const deadline = Date.now() + 30_000;
    // Vite colours its banner, even into a pipe.
    while (!output.replace(/\x1b\[[0-9;]*m/g, "").includes(`127.0.0.1:${port}`)) {
      assert.ok(Date.now() < deadline && vite.exitCode === null, `vite did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await checkPage('vite-react (dev server)', `http://127.0.0.1:${port}/`);
  } finally {
    vite.kill();
  }
});
