// Browser test of a crash of the engine: the page is served the test build of the package
// (tests/js/panic-pkg.mjs, where `SELECT test_panic()` panics), loads two files and a URL,
// runs the panicking query from the SQL view, and must come back with the same numbers, the
// files reloaded and a notice saying so.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropFiles, generateSample, openDashboard, screenshot, startHarness } from './harness.mjs';
import { PANIC_SQL, buildPanicPkg } from '../js/panic-pkg.mjs';

let harness;

before(async () => {
  const dir = buildPanicPkg();
  harness = await startHarness();
  // The page's worker imports ./pkg/: it gets the test build instead of pkg/.
  for (const [file, type] of [['llm_metrics.js', 'text/javascript; charset=utf-8'], ['llm_metrics_bg.wasm', 'application/wasm']]) {
    const bytes = readFileSync(join(dir, file));
    harness.routes.set(`/pkg/${file}`, (req, res) => {
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
      res.end(bytes);
    });
  }
});

after(async () => {
  await harness?.stop();
});

/**
 * The KPIs of llm_kpis recomputed from the NDJSON with JSON.parse: Float32 columns rounded per
 * value with Math.fround, as the store keeps them.
 */
function expectedKpis(files) {
  let requests = 0;
  let tokens = 0;
  let cost = 0;
  let latency = 0;
  let successes = 0;
  for (const bytes of files) {
    for (const line of new TextDecoder().decode(bytes).split('\n')) {
      if (line === '') continue;
      const e = JSON.parse(line);
      requests += 1;
      tokens += e.total_tokens;
      cost += Math.fround(e.cost);
      latency += Math.fround(e.latency);
      successes += e.success;
    }
  }
  return {
    requests,
    total_tokens: tokens,
    total_cost: cost,
    avg_latency: latency / requests,
    success_rate: successes / requests,
    errors: requests - successes,
  };
}

/** The exact values of the KPI cards (data-value), by key. */
function readKpis(page) {
  return page.evaluate(() => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    return Object.fromEntries([...root.querySelectorAll('.kpi')].map((card) =>
      [card.dataset.kpi, card.querySelector('.kpi-value').dataset.value]));
  });
}

function assertKpisNear(shown, expected, what) {
  assert.deepEqual(Object.keys(shown).sort(), Object.keys(expected).sort(), what);
  for (const [key, value] of Object.entries(expected)) {
    const got = Number(shown[key]);
    if (Number.isInteger(value) && key !== 'total_cost') {
      assert.equal(got, value, `${what}: ${key}`);
    } else {
      assert.ok(Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value)), `${what}: ${key} is ${got}, expected ${value}`);
    }
  }
}

/** Waits until the persistence notice says `rows` rows were saved in this browser. */
async function savedRows(page, rows) {
  await page.waitForFunction((n) => {
    const node = document.querySelector('llm-metrics-dashboard').shadowRoot.querySelector('.persist');
    return node.dataset.state === 'saved' && node.textContent.startsWith(`Saved ${n} rows`);
  }, rows, { timeout: 30_000 });
}

/** Waits until no load runs and a refresh after `count` has finished. */
async function settled(page, count) {
  await page.waitForFunction((n) => {
    const dash = document.querySelector('llm-metrics-dashboard');
    return dash.dataset.state === 'ready' && Number(dash.dataset.refresh) > n;
  }, count, { timeout: 60_000, polling: 50 });
}

test('after a panic the dashboard restarts the engine, reloads its files and shows the same numbers', async () => {
  const a = generateSample(3000, 71);
  const b = generateSample(2000, 72);
  const c = generateSample(1000, 73);
  let fetches = 0;
  harness.routes.set('/data/c.ndjson', (req, res) => {
    fetches += 1;
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': c.length });
    res.end(c);
  });
  const expected = expectedKpis([a, b, c]);
  assert.equal(expected.requests, 6000);

  const { page, problems } = await openDashboard(harness);
  const dash = page.locator('llm-metrics-dashboard');
  try {
    let count = Number(await dash.getAttribute('data-refresh'));
    await dropFiles(page, [{ name: 'a.ndjson', bytes: a }, { name: 'b.ndjson', bytes: b }]);
    await settled(page, count);
    count = Number(await dash.getAttribute('data-refresh'));
    await page.getByLabel('NDJSON URL').fill(`${harness.baseUrl}data/c.ndjson`);
    await page.getByRole('button', { name: 'Load URL' }).click();
    await settled(page, count);
    const before = await readKpis(page);
    assertKpisNear(before, expected, 'KPIs before the crash');
    assert.equal(fetches, 1);
    await savedRows(page, '6,000');

    count = Number(await dash.getAttribute('data-refresh'));
    await page.getByLabel('A query on llm_events').fill(PANIC_SQL);
    await page.getByRole('button', { name: 'Run SQL' }).click();

    // The query that struck the panic names it.
    const sqlMessage = page.locator('llm-metrics-dashboard .sql-message.error');
    await sqlMessage.waitFor();
    assert.match(await sqlMessage.textContent(),
      /^llm-metrics panicked: index out of bounds: the len is 0 but the index is 19 at src\/wasm\.rs:\d+:\d+$/);

    // The engine restarts with the store saved in this browser (the page keeps it, `persist`):
    // the files and the URL, saved, are not loaded again, and the notice says so.
    const notice = page.locator('llm-metrics-dashboard .crash-notice');
    await page.locator('llm-metrics-dashboard .crash-notice', { hasText: 'reloaded' }).waitFor({ timeout: 60_000 });
    await settled(page, count);
    assert.ok(await notice.isVisible());
    assert.equal(await notice.getAttribute('role'), 'alert');
    assert.match(await notice.textContent(),
      /^The engine crashed: index out of bounds: the len is 0 but the index is 19 at src\/wasm\.rs:\d+:\d+; reopened the 6,000 rows saved in this browser and reloaded 0 files\.$/);
    assert.equal(fetches, 1, 'the URL is not fetched again');

    const after = await readKpis(page);
    assert.deepEqual(after, before, 'the KPI cards show what they showed before the crash');
    assertKpisNear(after, expected, 'KPIs after the crash');
    assert.match(await page.locator('llm-metrics-dashboard .store-summary').textContent(), /^6,000 events in memory/);

    // The new engine answers queries.
    await page.getByLabel('A query on llm_events').fill('SELECT count() AS n FROM llm_events');
    await page.getByRole('button', { name: 'Run SQL' }).click();
    await page.locator('llm-metrics-dashboard .sql-message', { hasText: 'row in' }).waitFor();
    assert.deepEqual(await page.locator('llm-metrics-dashboard section[data-view=sql] tbody td').allTextContents(), ['6,000']);

    await screenshot(page, 'crash.png');

    // Reopened after a reload, a file added, saved, and a crash: the recovery reopens the saved
    // store (the rows reopened at the start are not among the files the page loaded) and the
    // file saved after it keeps them all.
    const d = generateSample(500, 74);
    const all = expectedKpis([a, b, c, d]);
    await page.reload();
    await settled(page, 0);
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard')
      .shadowRoot.querySelector('.persist').dataset.state === 'reopened', null, { timeout: 30_000 });
    count = Number(await dash.getAttribute('data-refresh'));
    await dropFiles(page, [{ name: 'd.ndjson', bytes: d }]);
    await settled(page, count);
    await savedRows(page, '6,500');
    count = Number(await dash.getAttribute('data-refresh'));
    await page.getByLabel('A query on llm_events').fill(PANIC_SQL);
    await page.getByRole('button', { name: 'Run SQL' }).click();
    await page.locator('llm-metrics-dashboard .crash-notice', { hasText: 'reloaded' }).waitFor({ timeout: 60_000 });
    await settled(page, count);
    assert.match(await notice.textContent(), /; reopened the 6,500 rows saved in this browser and reloaded 0 files\.$/);
    assertKpisNear(await readKpis(page), all, 'KPIs after a crash following a reload');
    await page.reload();
    await settled(page, 0);
    assertKpisNear(await readKpis(page), all, 'KPIs reopened after the recovery');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});
