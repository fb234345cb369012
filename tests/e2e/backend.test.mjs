// Browser test of the data source setting: the page loads a generated file, pushes it to a
// ClickHouse server (ClickHouse 26.9: chDB from PyPI behind ClickHouse's HTTP interface,
// tests/backends/clickhouse_http.py) through its Push button, switches the dashboard to that
// server and shows the same KPI cards as ClickHouse computes from the file itself; switched back
// to "In this tab", the cards are the same. The password never reaches storage, the URL, a
// request URL or the page's text; a wrong password, an unreachable server, transient failures
// and a server that loses rows show as messages in the page.
//
// The Tinybird setting runs against a small Tinybird stand-in over the same ClickHouse server:
// its endpoints answer each pipe as ClickHouse runs it, its Events API inserts the rows.
//
// Prints the push's throughput (rows/s, MB/s) for the file's size (PUSH_ROWS, default 100,000).
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSample, nodeStore, openDashboard, repo, report, screenshot, startHarness } from './harness.mjs';
import { clickHouseBackend } from '../../www/backends.js';

const PYTHON = join(repo, '.venv/bin/python');
const USER = 'metrics';
const PASSWORD = 'pw-Zq81/x?&secret';
const ROWS = Number(process.env.PUSH_ROWS || 100_000);
const SEED = 29;

let harness;
let chdb;
let chUrl;
let dataDir;
let file;
let bytes;

before(async () => {
  // The venv with chdb is installed by scripts/setup.sh --test; without it this fails, not skips.
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run bash scripts/setup.sh --test`);
  dataDir = mkdtempSync(join(tmpdir(), 'llm-metrics-page-ch-'));
  bytes = generateSample(ROWS, SEED);
  file = join(dataDir, 'events.ndjson');
  writeFileSync(file, bytes);
  chdb = spawn(PYTHON, [
    join(repo, 'tests/backends/clickhouse_http.py'),
    '--port', '0', '--data', join(dataDir, 'db'), '--user', USER, '--password', PASSWORD,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    chdb.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    chdb.on('exit', (code) => reject(new Error(`ClickHouse HTTP server exited (${code})`)));
  });
  chUrl = `http://127.0.0.1:${port}`;
  harness = await startHarness();
  harness.routes.set('/files/events.ndjson', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': bytes.length });
    res.end(bytes);
  });
});

after(async () => {
  await harness?.stop();
  chdb?.kill();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The KPIs ClickHouse computes from the file itself (chDB's file() table function). */
function oracleKpis() {
  const schema = 'event_time DateTime, model_name String, prompt_tokens UInt32, completion_tokens UInt32, ' +
    'total_tokens UInt32, cost Float32, latency Float32, success UInt8, error_message String';
  const sql = `SELECT count() AS requests, sum(total_tokens) AS total_tokens, sum(cost) AS total_cost,
      avg(latency) AS avg_latency, avg(success) AS success_rate, countIf(success = 0) AS errors
    FROM file('${file}', 'JSONEachRow', '${schema}')
    SETTINGS session_timezone = 'UTC', output_format_json_quote_64bit_integers = 0`;
  const out = execFileSync(PYTHON, ['-c', 'import sys, chdb; print(chdb.query(sys.argv[1], "JSONEachRow"))', sql]);
  return JSON.parse(out.toString().trim());
}

/** The KPI cards: label, text and exact value. */
function readCards(page) {
  return page.evaluate(() => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    return Object.fromEntries([...root.querySelectorAll('.kpi')].map((card) => [card.dataset.kpi, {
      text: card.querySelector('.kpi-value').textContent,
      value: card.querySelector('.kpi-value').dataset.value,
    }]));
  });
}

/**
 * Checks a card's text against a number by this test's own rule: the digits shown (grouping
 * commas, a currency sign and a unit dropped) equal the number to within half a unit of the last
 * digit shown; `scale` is 100 for a percentage.
 */
function assertShown(text, want, what, scale = 1) {
  const m = text.replace(/,/g, '').match(/-?\d+(\.(\d+))?/);
  assert.ok(m, `${what}: no number in "${text}"`);
  const decimals = m[2]?.length ?? 0;
  const shown = Number(m[0]);
  assert.ok(Math.abs(shown - want * scale) <= 0.5 * 10 ** -decimals + 1e-9 * Math.abs(want * scale),
    `${what}: "${text}" shows ${shown}, ClickHouse computes ${want * scale}`);
}

function assertCardsMatch(cards, want, what) {
  assertShown(cards.requests.text, want.requests, `${what} requests`);
  assert.equal(cards.requests.text.replace(/,/g, ''), String(want.requests), `${what}: requests in full`);
  assert.equal(cards.total_tokens.text.replace(/,/g, ''), String(want.total_tokens), `${what}: tokens in full`);
  assert.equal(cards.errors.text.replace(/,/g, ''), String(want.errors), `${what}: errors in full`);
  assert.match(cards.total_cost.text, /^\$/);
  assertShown(cards.total_cost.text, want.total_cost, `${what} cost`);
  assert.match(cards.avg_latency.text, / s$/);
  assertShown(cards.avg_latency.text, want.avg_latency, `${what} latency`);
  assert.match(cards.success_rate.text, / %$/);
  assertShown(cards.success_rate.text, want.success_rate, `${what} success rate`, 100);
  // The exact values behind the cards, to 1e-9 relative (sums of Float32 in another order).
  for (const key of ['total_cost', 'avg_latency', 'success_rate']) {
    const got = Number(cards[key].value);
    assert.ok(Math.abs(got - want[key]) <= 1e-9 * Math.abs(want[key]), `${what} ${key}: ${got} vs ${want[key]}`);
  }
}

const dashboard = (page) => page.locator('llm-metrics-dashboard');

/** Chooses a data source by the label of its button. */
function sourceKind(page, label) {
  return page.locator('llm-metrics-dashboard .source-kinds label', { hasText: new RegExp(`^${label}$`) }).click();
}

async function waitFor(page, predicate, arg, timeout = 120_000) {
  await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
}

/** Fills the ClickHouse settings and connects; waits until the views are read from it. */
async function connectClickHouse(page, { password = PASSWORD, database = 'analytics', url = chUrl } = {}) {
  const before = Number(await dashboard(page).getAttribute('data-refresh'));
  // The outcome of this attempt, not of an earlier one.
  await dashboard(page).evaluate((d) => delete d.dataset.sourceState);
  await sourceKind(page, 'ClickHouse');
  await page.getByLabel('Server URL').fill(url);
  await page.getByLabel('User', { exact: true }).fill(USER);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Database', { exact: true }).fill(database);
  await page.getByRole('button', { name: 'Connect' }).click();
  await waitFor(page, (n) => {
    const d = document.querySelector('llm-metrics-dashboard');
    return d.dataset.sourceState === 'failed' ||
      (d.dataset.sourceState === 'connected' && Number(d.dataset.refresh) > n && d.dataset.state === 'ready');
  }, before);
}

/** Everything of the page a secret must never reach: storage, URL, text, attributes. */
function exposed(page) {
  return page.evaluate(() => {
    const dash = document.querySelector('llm-metrics-dashboard');
    const attrs = (root) => [...root.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.value)).join('\n');
    return [
      JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }), location.href, document.cookie,
      document.body.innerText, dash.shadowRoot.textContent, attrs(document), attrs(dash.shadowRoot),
    ].join('\n');
  });
}

test('push from the page to ClickHouse, read the dashboard from it, and back to the tab', async () => {
  const want = oracleKpis();
  assert.equal(want.requests, ROWS);
  const { page, problems, urls } = await openDashboard(harness);
  const consoleText = [];
  page.on('console', (msg) => consoleText.push(msg.text()));
  try {
    // The file, loaded into the tab through the URL field.
    await page.getByLabel('NDJSON URL').fill(`${harness.baseUrl}files/events.ndjson`);
    await page.getByRole('button', { name: 'Load URL' }).click();
    await waitFor(page, () => document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelector('li.load[data-status=done]') !== null && document.querySelector('llm-metrics-dashboard').dataset.state === 'ready');
    const inTab = await readCards(page);
    assertCardsMatch(inTab, want, 'in this tab');

    // A wrong password: a clear message, and the tab stays the source.
    await connectClickHouse(page, { password: 'not-the-password' });
    assert.equal(await dashboard(page).getAttribute('data-source'), 'tab');
    const error = page.locator('llm-metrics-dashboard .source-error');
    assert.match(await error.textContent(), /^Could not use ClickHouse at http:\/\/127\.0\.0\.1:\d+, database analytics: HTTP 403: Code: 516\. .*Authentication failed/);
    assert.deepEqual(await readCards(page), inTab);

    // An unreachable server (a port nobody listens on).
    const closed = await new Promise((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
    await connectClickHouse(page, { url: `http://127.0.0.1:${closed}` });
    assert.match(await error.textContent(), /^Could not use ClickHouse at http:\/\/127\.0\.0\.1:\d+, database analytics: request failed: .*is the server reachable/);
    assert.equal(await dashboard(page).getAttribute('data-source'), 'tab');

    // The right password: the server answers, but has no table until the push.
    await connectClickHouse(page);
    assert.equal(await dashboard(page).getAttribute('data-source'), 'clickhouse');
    assert.equal(await error.isVisible(), false);
    assert.match(await page.locator('llm-metrics-dashboard .source-status').textContent(), /has no table llm_events yet/);
    assert.equal((await readCards(page)).requests.text, '–');
    assert.deepEqual(await dashboard(page).evaluate((d) => d.backend),
      { kind: 'clickhouse', url: chUrl, user: USER, database: 'analytics' });

    // Push through the page; the count check and the throughput are shown.
    const pushButton = page.getByRole('button', { name: 'Push this tab’s events to ClickHouse' });
    const started = Date.now();
    await pushButton.click();
    await waitFor(page, () => ['done', 'failed'].includes(document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelector('.push').dataset.status));
    const seconds = (Date.now() - started) / 1000;
    const push = page.locator('llm-metrics-dashboard .push');
    const result = await push.locator('.push-result').textContent();
    assert.equal(await push.getAttribute('data-status'), 'done', result);
    assert.equal(result, `Count check passed: the table analytics.llm_events holds ${ROWS.toLocaleString('en-US')} rows ` +
      `(0 before + ${ROWS.toLocaleString('en-US')} sent); this tab stores ${ROWS.toLocaleString('en-US')}.`);
    assert.match(await push.locator('.push-stats').textContent(), /^[\d,]+ rows sent · [\d.]+ MiB in [\d.]+ s · [\d,]+ rows\/s, [\d.]+ MiB\/s$/);
    await waitFor(page, () => {
      const d = document.querySelector('llm-metrics-dashboard');
      return d.dataset.state === 'ready' && d.shadowRoot.querySelector('.kpi[data-kpi=requests] .kpi-value').textContent !== '–';
    });
    report(`push from the page to ClickHouse (chDB HTTP): ${ROWS} rows, ${(bytes.length / 1e6).toFixed(1)} MB of NDJSON ` +
      `in ${seconds.toFixed(2)} s: ${Math.round(ROWS / seconds)} rows/s, ${(bytes.length / 1e6 / seconds).toFixed(1)} MB/s ` +
      `(page: ${await push.locator('.push-stats').textContent()})`);

    // The cards, now read from ClickHouse, show what ClickHouse computes from the file.
    const onServer = await readCards(page);
    assertCardsMatch(onServer, want, 'on ClickHouse');
    assert.match(await page.locator('llm-metrics-dashboard .source-status').textContent(),
      new RegExp(`^Showing ClickHouse at ${chUrl.replace(/\./g, '\\.')}, database analytics: ${ROWS.toLocaleString('en-US')} events\\.$`));
    // The model filter applies on the server as well.
    const model = await page.locator('llm-metrics-dashboard .model-name').first().textContent();
    await screenshot(page, 'source-clickhouse.png', 'llm-metrics-dashboard section[data-view=source]');

    // Back to the tab: the same cards.
    const before = Number(await dashboard(page).getAttribute('data-refresh'));
    await sourceKind(page, 'In this tab');
    await waitFor(page, (n) => {
      const d = document.querySelector('llm-metrics-dashboard');
      return d.dataset.source === 'tab' && Number(d.dataset.refresh) > n && d.dataset.state === 'ready';
    }, before);
    assert.deepEqual(await readCards(page), onServer);
    assert.ok(model.length > 0);

    // The password reached no storage, URL, request URL, page text, attribute or console line.
    const seen = await exposed(page);
    assert.ok(!seen.includes(PASSWORD), 'the password is exposed in the page');
    assert.ok(!urls.some((u) => u.includes(PASSWORD) || u.includes(encodeURIComponent(PASSWORD))), 'a request URL holds the password');
    assert.ok(!consoleText.some((t) => t.includes(PASSWORD)));
    assert.deepEqual(problems.filter((p) => !/Failed to load resource|ERR_CONNECTION_REFUSED|status of 403/.test(p)), []);
  } finally {
    await page.context().close();
  }
});

test('transient failures are retried and shown; a server that loses rows fails the count check', async () => {
  const { page } = await openDashboard(harness);
  try {
    await page.evaluate(() => document.querySelector('llm-metrics-dashboard').loadSample(12_000, 3));
    await connectClickHouse(page, { database: 'flaky' });
    assert.equal(await dashboard(page).getAttribute('data-source'), 'clickhouse');
    // Every second INSERT answers 503 once.
    await fetch(`${chUrl}/_faults?flaky=2`, { method: 'POST' });
    const pushed = await dashboard(page).evaluate((d) => d.push({ chunkRows: 5_000 }));
    // Three chunks: the 2nd and 4th INSERT requests fail, so two retries.
    assert.equal(pushed.retries, 2);
    assert.deepEqual([pushed.sent, pushed.before, pushed.after], [12_000, 0, 12_000]);
    const push = page.locator('llm-metrics-dashboard .push');
    assert.match(await push.locator('.push-stats').textContent(), / · 2 retries$/);
    assert.match(await push.locator('.push-result').textContent(), /^Count check passed: the table flaky\.llm_events holds 12,000 rows/);

    // A server that stalls on inserts: Cancel stops the push.
    await fetch(`${chUrl}/_faults?hang=60`, { method: 'POST' });
    const cancelled = dashboard(page).evaluate((d) => d.push().then(() => 'pushed', (e) => e.name));
    // While it runs, the store cannot change under it: no loads, no store files, no Forget.
    await page.locator('llm-metrics-dashboard .push[data-status=running]').waitFor();
    const forget = page.getByRole('button', { name: 'Forget the saved store' });
    const loadUrl = page.getByRole('button', { name: 'Load URL' });
    assert.equal(await forget.isDisabled(), true);
    assert.equal(await loadUrl.isDisabled(), true);
    await page.getByRole('button', { name: 'Cancel the push' }).click();
    assert.equal(await cancelled, 'AbortError');
    assert.equal(await forget.isDisabled(), false);
    assert.equal(await loadUrl.isDisabled(), false);
    assert.equal(await push.getAttribute('data-status'), 'cancelled');
    assert.equal(await push.locator('.push-result').textContent(), 'Push cancelled; rows sent before stay on the server.');
    assert.equal(await page.getByRole('button', { name: 'Cancel the push' }).isVisible(), false);

    // A proxy that acknowledges inserts without storing them: the count check fails, visibly.
    await fetch(`${chUrl}/_faults?drop=1`, { method: 'POST' });
    const failure = await dashboard(page).evaluate((d) => d.push().then(() => 'pushed', (e) => e.message));
    assert.equal(failure, 'push: sent 12000 rows but the server holds 0 more (12000 → 12000)');
    assert.equal(await push.getAttribute('data-status'), 'failed');
    assert.equal(await push.locator('.push-result').textContent(), `Push failed: ${failure}`);
    await fetch(`${chUrl}/_faults`, { method: 'POST' });
    // The dashboard still works: the cards show the 12,000 rows on the server.
    assert.equal((await readCards(page)).requests.text, '12,000');
  } finally {
    await fetch(`${chUrl}/_faults`, { method: 'POST' }).catch(() => {});
    await page.context().close();
  }
});

test('a SQL error of the server shows in its view; the element connects from attributes', async () => {
  const { page } = await openDashboard(harness);
  try {
    // The element API with a password, then SQL the server refuses.
    await dashboard(page).evaluate((d, [url, user, password]) =>
      d.setBackend({ kind: 'clickhouse', url, user, password, database: 'analytics' }), [chUrl, USER, PASSWORD]);
    assert.equal((await readCards(page)).requests.text, ROWS.toLocaleString('en-US'));
    await page.getByLabel('A query on llm_events, or the text of a .pipe file').fill('SELECT no_such_column FROM llm_events');
    await page.getByRole('button', { name: 'Run SQL' }).click();
    const message = page.locator('llm-metrics-dashboard .sql-message.error');
    await message.waitFor();
    assert.match(await message.textContent(), /^HTTP 500: Code: 47\. DB::Exception: .*no_such_column/);
  } finally {
    await page.context().close();
  }
  // An element that reads a password-less server from its attributes, refused here: the error
  // is shown in the page and the tab stays the source.
  const { page: other } = await openDashboard(harness);
  try {
    await other.evaluate((url) => {
      const d = document.querySelector('llm-metrics-dashboard');
      d.setAttribute('backend-url', url);
      d.setAttribute('backend-database', 'analytics');
      d.setAttribute('backend', 'clickhouse');
    }, chUrl);
    await waitFor(other, () => document.querySelector('llm-metrics-dashboard').dataset.sourceState === 'failed');
    assert.match(await other.locator('llm-metrics-dashboard .source-error').textContent(), /Code: 516\./);
    assert.equal(await other.getByLabel('Server URL').inputValue(), chUrl);
  } finally {
    await other.context().close();
  }
});

/**
 * A Tinybird stand-in on 127.0.0.1: `GET /v0/pipes/<name>.json` runs the pipe on the ClickHouse
 * server (rendered by a store in Node.js with the shipped pipes, parameters as Tinybird
 * passes them), `GET /v0/sql` runs the query there, `POST /v0/events?name=` inserts NDJSON; every
 * request needs `Authorization: Bearer <token>` (or the append token, for events). Records each
 * request's URL and headers.
 */
async function tinybirdStandIn(token, appendToken, database) {
  const planner = nodeStore([]);
  const ch = clickHouseBackend({ url: chUrl, user: USER, password: PASSWORD, database, planner });
  // The workspace's datasource exists, empty, as after `tb push datasources/llm_events.datasource`.
  for (const [db, sql] of [['default', `CREATE DATABASE IF NOT EXISTS ${database}`], [database, planner.createTableSql(database)]]) {
    const res = await fetch(`${chUrl}/?database=${db}`, {
      method: 'POST', body: sql, headers: { 'X-ClickHouse-User': USER, 'X-ClickHouse-Key': PASSWORD },
    });
    assert.ok(res.ok, await res.text());
  }
  const requests = [];
  const server = createHttpServer(async (req, res) => {
    const cors = {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type',
      'Content-Type': 'application/json',
    };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors).end();
      return;
    }
    requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    const url = new URL(req.url, 'http://127.0.0.1');
    const events = url.pathname === '/v0/events';
    if (req.headers.authorization !== `Bearer ${events ? appendToken : token}`) {
      res.writeHead(403, cors).end(JSON.stringify({ error: 'Invalid token' }));
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      let answer;
      const pipe = url.pathname.match(/^\/v0\/pipes\/(\w+)\.json$/);
      if (pipe) {
        answer = await ch.pipe(pipe[1], Object.fromEntries(url.searchParams));
      } else if (url.pathname === '/v0/sql') {
        answer = await ch.sql(url.searchParams.get('q').replace(/ FORMAT JSON$/, ''));
      } else if (events) {
        const lines = body.split('\n').filter(Boolean);
        await ch.push({
          datasourceName: url.searchParams.get('name'),
          rowCount: lines.length,
          createTableSql: (db) => planner.createTableSql(db),
          sql: () => ({ data: lines.map((l) => JSON.parse(l)) }),
        }, { chunkRows: 1e9 }).catch((e) => {
          // The count check of a stand-in push: only the rows matter here.
          if (!/server holds/.test(e.message)) throw e;
        });
        answer = { successful_rows: body.split('\n').filter(Boolean).length, quarantined_rows: 0 };
      } else {
        res.writeHead(404, cors).end(JSON.stringify({ error: 'Not found' }));
        return;
      }
      res.writeHead(200, cors).end(JSON.stringify(answer));
    } catch (e) {
      res.writeHead(400, cors).end(JSON.stringify({ error: e.message }));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close(), planner };
}

test('Tinybird: the page pushes through the Events API and reads the published endpoints', async () => {
  const TOKEN = 'p.read-TOKEN-91f2';
  const APPEND = 'p.append-TOKEN-5c3d';
  const tb = await tinybirdStandIn(TOKEN, APPEND, 'tinybird');
  const { page, urls } = await openDashboard(harness);
  try {
    await page.evaluate(() => document.querySelector('llm-metrics-dashboard').loadSample(9_000, 8));
    const inTab = await readCards(page);
    // A wrong token: refused, shown, the tab stays.
    await sourceKind(page, 'Tinybird');
    await page.getByLabel('API host').fill(tb.host);
    await page.getByLabel('Read token').fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    await waitFor(page, () => document.querySelector('llm-metrics-dashboard').dataset.sourceState === 'failed');
    assert.match(await page.locator('llm-metrics-dashboard .source-error').textContent(),
      /^Could not use Tinybird at http:\/\/127\.0\.0\.1:\d+: HTTP 403: \{"error":"Invalid token"\}$/);
    assert.equal(await dashboard(page).getAttribute('data-source'), 'tab');

    assert.deepEqual(tb.requests.map((r) => [r.url, r.authorization]), [['/v0/pipes/llm_dimensions.json', 'Bearer wrong']]);
    tb.requests.length = 0;
    const before = Number(await dashboard(page).getAttribute('data-refresh'));
    await page.getByLabel('Read token').fill(TOKEN);
    await page.getByLabel('Append token (to push)').fill(APPEND);
    await page.getByRole('button', { name: 'Connect' }).click();
    await waitFor(page, (n) => {
      const d = document.querySelector('llm-metrics-dashboard');
      return d.dataset.source === 'tinybird' && Number(d.dataset.refresh) > n && d.dataset.state === 'ready';
    }, before);
    // The datasource is still empty: no requests there.
    assert.equal((await readCards(page)).requests.text, '0');

    await page.getByRole('button', { name: 'Push this tab’s events to Tinybird' }).click();
    await waitFor(page, () => ['done', 'failed'].includes(document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelector('.push').dataset.status));
    assert.equal(await page.locator('llm-metrics-dashboard .push-result').textContent(),
      'Count check passed: Tinybird accepted 9,000 rows and quarantined 0 of the 9,000 sent; this tab stores 9,000.');
    await waitFor(page, () => document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelector('.kpi[data-kpi=requests] .kpi-value').textContent === '9,000');
    // Read from the endpoints, the cards equal the tab's.
    assert.deepEqual(await readCards(page), inTab);
    // A model filter goes to the endpoints as Tinybird encodes arrays: comma-separated.
    const models = await page.locator('llm-metrics-dashboard .model-name').allTextContents();
    const refreshed = Number(await dashboard(page).getAttribute('data-refresh'));
    await page.locator('llm-metrics-dashboard .model-option input').first().uncheck();
    await waitFor(page, (n) => Number(document.querySelector('llm-metrics-dashboard').dataset.refresh) > n, refreshed);
    const kept = models.slice(1);
    // A refresh already under way when the box was unchecked may end first: wait for the one
    // that reads the filter.
    const kpisModels = () => tb.requests.filter((r) => r.url.startsWith('/v0/pipes/llm_kpis.json?'))
      .map((r) => new URL(r.url, 'http://x').searchParams.get('models'));
    for (let waited = 0; !kpisModels().includes(kept.join(',')) && waited < 30_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(kpisModels().at(-1), kept.join(','));
    // The filtered views read the filtered pipes shipped in pipes/, published with the rest.
    for (const name of ['llm_usage_by_model_filtered', 'llm_performance_filtered']) {
      const asked = tb.requests.filter((r) => r.url.startsWith(`/v0/pipes/${name}.json?`))
        .map((r) => new URL(r.url, 'http://x').searchParams.get('models'));
      assert.ok(asked.includes(kept.join(',')), `${name}: ${asked.join(' | ')}`);
    }

    // Every request carried its token in the header, none in the URL; the page exposes neither.
    assert.ok(tb.requests.length > 10);
    for (const r of tb.requests) {
      assert.ok(!r.url.includes('TOKEN'), r.url);
      assert.equal(r.authorization, `Bearer ${r.url.startsWith('/v0/events') ? APPEND : TOKEN}`, r.url);
    }
    assert.deepEqual(tb.requests.filter((r) => r.url.startsWith('/v0/events')).map((r) => r.url), ['/v0/events?name=llm_events']);
    const seen = await exposed(page);
    assert.ok(!seen.includes(TOKEN) && !seen.includes(APPEND));
    assert.ok(!urls.some((u) => u.includes('TOKEN')));
  } finally {
    tb.close();
    tb.planner.free();
    await page.context().close();
  }
});
