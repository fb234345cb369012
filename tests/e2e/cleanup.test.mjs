// Browser test of cleanup on removal: store.close() ends its worker (whose wasm memory goes
// with it) and refuses later calls; a removed <llm-metrics-dashboard> ends its worker, one moved
// at once keeps it, one added again starts afresh, and one removed while its engine starts
// leaves no worker behind. Workers are followed through Chromium's own worker events.
//
//   node --test tests/e2e/cleanup.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './harness.mjs';

let harness;

before(async () => {
  harness = await startHarness();
  // A page with no script of its own: each test imports what it needs.
  harness.routes.set('/blank.html', (req, res) => {
    const body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>blank</title>' +
      '<link rel="icon" href="data:,"></head><body></body></html>';
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
});

after(async () => {
  await harness?.stop();
});

/** Opens the blank page, following every worker it starts: [{ closed }] in start order. */
async function openBlank() {
  const context = await harness.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  const workers = [];
  page.on('worker', (worker) => {
    const entry = { closed: false };
    workers.push(entry);
    worker.on('close', () => {
      entry.closed = true;
    });
  });
  await page.goto(`${harness.baseUrl}blank.html`);
  return { context, page, problems, workers };
}

async function until(what, condition, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('store.close() ends the worker, settles the load it cut short, and refuses later calls', async () => {
  const { context, page, problems, workers } = await openBlank();
  try {
    const result = await page.evaluate(async () => {
      const { createStore } = await import('./store.js');
      const store = await createStore();
      const first = await store.loadSample(2000, 5);
      const { data: [kpis] } = await store.pipe('llm_kpis');
      // A load still running when close() is asked for: a stream that never ends.
      const line = new TextEncoder().encode('{"event_time":"2024-05-01 10:00:00","model_name":"m","success":1}\n'.repeat(100));
      let cancelled = false;
      const endless = new ReadableStream({
        pull: (controller) => new Promise((resolve) => setTimeout(() => {
          if (!cancelled) controller.enqueue(line.slice());
          resolve();
        }, 5)),
        cancel: () => {
          cancelled = true;
        },
      });
      const running = store.loadStream(endless).then((r) => `resolved ${r.status}`, (e) => `rejected: ${e.message}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.close();
      const after = await store.pipe('llm_kpis').then(() => 'answered', (e) => e.message);
      return { rows: first.rows, requests: kpis.requests, running: await running, after };
    });
    assert.equal(result.rows, 2000);
    assert.equal(result.requests, 2000);
    assert.match(result.running, /^(resolved cancelled|rejected: The store is closed\.)$/);
    assert.equal(result.after, 'The store is closed.');
    assert.equal(workers.length, 1);
    await until('the worker to end', () => workers[0].closed);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a removed dashboard ends its worker; a moved one keeps it; one added again starts afresh', async () => {
  const { context, page, problems, workers } = await openBlank();
  try {
    await page.evaluate(async () => {
      await import('./dashboard.js');
      const el = document.createElement('llm-metrics-dashboard');
      el.id = 'dash';
      window.dash = el;
      el.setAttribute('sample', '1000');
      el.setAttribute('views', 'kpis');
      document.body.append(el);
    });
    await page.waitForFunction(() => document.getElementById('dash').shadowRoot
      .querySelector('.kpi[data-kpi=requests] .kpi-value')?.dataset.value === '1000', null, { timeout: 30_000 });
    assert.equal(workers.length, 1);

    // Moved (taken out and put back in one script): the same worker goes on.
    const moved = await page.evaluate(async () => {
      const el = document.getElementById('dash');
      const box = document.createElement('div');
      document.body.append(box);
      box.append(el);
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { state: el.dataset.state, store: el.store !== null, kpis: (await el.store.pipe('llm_kpis')).data[0].requests };
    });
    assert.deepEqual(moved, { state: 'ready', store: true, kpis: 1000 });
    assert.equal(workers[0].closed, false);

    // Removed: closed, its worker ended, its shadow root emptied.
    const removed = await page.evaluate(() => {
      const el = document.getElementById('dash');
      el.remove();
      return new Promise((resolve, reject) => {
        el.addEventListener('closed', () => resolve({
          state: el.dataset.state, store: el.store, children: el.shadowRoot.childElementCount,
        }), { once: true });
        setTimeout(() => reject(new Error('no closed event within 10 s of the removal')), 10_000);
      });
    });
    assert.deepEqual(removed, { state: 'closed', store: null, children: 0 });
    await until('the first worker to end', () => workers[0].closed);

    // Added again: a new worker, and the sample attribute loads again.
    await page.evaluate(() => document.body.append(window.dash));
    await page.waitForFunction(() => window.dash.dataset.state === 'ready' && window.dash.shadowRoot
      .querySelector('.kpi[data-kpi=requests] .kpi-value')?.dataset.value === '1000', null, { timeout: 30_000 });
    assert.equal(workers.length, 2);
    assert.equal(workers[1].closed, false);
    await page.evaluate(() => window.dash.remove());
    await until('the second worker to end', () => workers[1].closed);

    // Removed within a moment of being added: it never starts a worker.
    const early = await page.evaluate(async () => {
      const el = document.createElement('llm-metrics-dashboard');
      el.setAttribute('views', 'kpis');
      document.body.append(el);
      await new Promise((resolve) => setTimeout(resolve, 0));
      el.remove();
      await new Promise((resolve) => setTimeout(resolve, 500));
      return el.dataset.state;
    });
    assert.equal(early, 'closed');
    assert.equal(workers.length, 2);

    // Removed as soon as its worker exists, while its engine starts: that worker is ended too.
    await page.evaluate(() => {
      window.late = document.createElement('llm-metrics-dashboard');
      window.late.setAttribute('views', 'kpis');
      document.body.append(window.late);
    });
    await until('a third worker', () => workers.length === 3);
    await page.evaluate(() => window.late.remove());
    await until('the third worker to end', () => workers[2].closed);
    assert.equal(workers.length, 3);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
