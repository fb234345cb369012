// Shared set-up of the browser tests: serves www/ and pkg/ with scripts/serve.mjs's handler on a
// free loopback port (plus routes a test adds, such as a URL behind a bearer token), drives
// Debian's Chromium with playwright-core, and computes what the page must show with the same
// wasm package in Node.js. Screenshots go to artifacts/.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import { serveStatic } from '../../scripts/serve.mjs';
import { KPIS, exactText, formatCell, formatKpi } from '../../www/format.js';
import { FILTERED_PERFORMANCE, FILTERED_USAGE } from '../../www/pipes.js';

export const repo = fileURLToPath(new URL('../../', import.meta.url));
export const artifacts = join(repo, 'artifacts');
const pkgDir = join(repo, 'pkg');
const wasm = await import(join(pkgDir, 'llm_metrics.js'));
wasm.initSync({ module: readFileSync(join(pkgDir, 'llm_metrics_bg.wasm')) });
export const { EventStore, generateSample } = wasm;

/**
 * Starts the server and the browser. `routes` maps a path to a handler (req, res) that answers
 * before the static files; every request is logged in `requests` as { method, url, headers }.
 */
export async function startHarness() {
  mkdirSync(artifacts, { recursive: true });
  const routes = new Map();
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    const route = routes.get(path);
    if (route) route(req, res);
    else serveStatic(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    baseUrl,
    browser,
    routes,
    requests,
    async stop() {
      await browser.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Opens a page with the dashboard and waits for its engine. Collects console errors, page
 * errors and failed requests in `problems`, and every URL requested in `urls`.
 */
export async function openDashboard(harness, path = '') {
  const context = await harness.browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const urls = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  context.on('request', (req) => urls.push(req.url()));
  context.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('worker', (worker) => {
    worker.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`worker console: ${msg.text()}`);
    });
  });
  await page.goto(harness.baseUrl + path);
  await page.waitForFunction(() => {
    const dash = document.querySelector('llm-metrics-dashboard');
    return dash?.dataset.state === 'ready' && Number(dash.dataset.refresh) >= 1;
  }, null, { timeout: 30_000 });
  return { page, context, problems, urls };
}

/** The dashboard's refresh counter. */
export function refreshCount(page) {
  return page.evaluate(() => Number(document.querySelector('llm-metrics-dashboard').dataset.refresh));
}

/** Waits until a refresh after `count` has finished and no load is running. */
export async function waitForRefresh(page, count, timeout = 60_000) {
  await page.waitForFunction((n) => {
    const dash = document.querySelector('llm-metrics-dashboard');
    return Number(dash.dataset.refresh) > n && dash.dataset.state === 'ready';
  }, count, { timeout, polling: 50 });
}

/** Runs `action` (which changes a filter or loads data) and waits for the refresh it causes. */
export async function andRefresh(page, action, timeout) {
  const before = await refreshCount(page);
  await action();
  await waitForRefresh(page, before, timeout);
}

/** Drops files on the drop zone with a synthetic DataTransfer: [{ name, bytes }]. */
export async function dropFiles(page, files) {
  const payload = files.map((f) => ({ name: f.name, base64: Buffer.from(f.bytes).toString('base64') }));
  await page.evaluate((list) => {
    const dt = new DataTransfer();
    for (const { name, base64 } of list) {
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      dt.items.add(new File([bytes], name));
    }
    const zone = document.querySelector('llm-metrics-dashboard').shadowRoot.querySelector('.dropzone');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, composed: true, cancelable: true }));
    }
  }, payload);
}

/** A store in Node.js with the same streams the page loaded. */
export function nodeStore(streams) {
  const store = new EventStore();
  for (const { name, bytes } of streams) {
    store.begin(name);
    store.write(bytes);
    store.end();
  }
  return store;
}

/** The pipes the founding tables run: the founding pipes, or their filtered copies. */
export function foundingPipes(params) {
  const filtered = Object.keys(params ?? {}).length > 0;
  return {
    usage: filtered ? FILTERED_USAGE : 'llm_usage_by_model',
    performance: filtered ? FILTERED_PERFORMANCE : 'llm_performance',
  };
}

export function pipe(store, name, params) {
  return store.pipe(name, params && Object.keys(params).length > 0 ? params : undefined);
}

/** Reads a table of a dashboard view: column names, cell texts and exact values. */
export function readTable(page, view) {
  return page.evaluate((v) => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    const table = root.querySelector(`section[data-view="${v}"] table`);
    return {
      headers: [...table.querySelectorAll('thead .col-name')].map((n) => n.textContent),
      text: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent)),
      values: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => td.dataset.value)),
    };
  }, view);
}

/** Asserts that a view's table shows exactly an endpoint's rows, in its order. */
export async function assertTable(page, view, endpoint, what = view) {
  const shown = await readTable(page, view);
  assert.deepEqual(shown.headers, endpoint.meta.map((m) => m.name), `${what}: columns`);
  assert.deepEqual(shown.values,
    endpoint.data.map((row) => endpoint.meta.map((m) => exactText(row[m.name]))), `${what}: values`);
  assert.deepEqual(shown.text,
    endpoint.data.map((row) => endpoint.meta.map((m) => formatCell(row[m.name], m.type))), `${what}: text`);
}

/** Asserts that the KPI cards show exactly llm_kpis's row. */
export async function assertKpis(page, endpoint, what = 'KPIs') {
  const cards = await page.evaluate(() => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    return [...root.querySelectorAll('.kpi')].map((card) => ({
      key: card.dataset.kpi,
      label: card.querySelector('.kpi-label').textContent,
      value: card.querySelector('.kpi-value').dataset.value,
      text: card.querySelector('.kpi-value').textContent,
    }));
  });
  const row = endpoint.data[0];
  assert.deepEqual(cards, KPIS.map((kpi) => ({
    key: kpi.key,
    label: kpi.label,
    value: row[kpi.key] === null ? 'null' : String(row[kpi.key]),
    text: formatKpi(kpi, row[kpi.key]),
  })), what);
}

/** What a chart draws (figure.chart), by the chart's caption. */
export function readCharts(page, view) {
  return page.evaluate((v) => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    return [...root.querySelectorAll(`section[data-view="${v}"] figure.chart`)].map((figure) => ({
      caption: figure.querySelector('figcaption').textContent,
      ...figure.chart,
    }));
  }, view);
}

/** The figures a benchmark-style line reports, e.g. "frame gap: 40.1 ms". */
export function report(line) {
  console.log(line);
}

export async function screenshot(page, name, locator) {
  const path = join(artifacts, name);
  if (locator) await page.locator(locator).screenshot({ path });
  else await page.screenshot({ path, fullPage: true });
  return path;
}
