// The ClickHouse and Tinybird backends (www/backends.js) against servers on 127.0.0.1:
//
// * ClickHouse: tests/backends/clickhouse_http.py, ClickHouse's HTTP interface in front of chDB
//   (ClickHouse 26.9 from PyPI, in the test venv), with a user and password. The in-tab store
//   pushes its rows there; every shipped pipe, with several parameter sets, must then give the
//   same rows through the backend as in the tab.
// * Tinybird: a local server that answers endpoint JSON recorded from the ClickHouse backend and
//   records each request, to check the exact URLs, parameter encoding and headers.
//
//   node --test tests/js/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkgDir = `${root}pkg/`;
const { initSync, EventStore, generateSample } = await import(`${pkgDir}llm_metrics.js`);
initSync({ module: readFileSync(`${pkgDir}llm_metrics_bg.wasm`) });
const { clickHouseBackend, tinybirdBackend } = await import(`${root}www/backends.js`);

const PYTHON = join(root, '.venv/bin/python');
const USER = 'metrics';
const PASSWORD = 'p@ss word';

let server;
let port;
let dataDir;
let logFile;
let store;

before(async () => {
  // The venv with chdb is installed by scripts/setup.sh --test; without it this fails, not skips.
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run bash scripts/setup.sh --test`);
  dataDir = mkdtempSync(join(tmpdir(), 'llm-metrics-ch-'));
  logFile = join(dataDir, 'requests.jsonl');
  server = spawn(PYTHON, [
    join(root, 'tests/backends/clickhouse_http.py'),
    '--port', '0', '--data', join(dataDir, 'db'),
    '--user', USER, '--password', PASSWORD, '--log', logFile,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (\d+)/);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`ClickHouse HTTP server exited (${code})`)));
  });
  store = new EventStore();
  store.begin('sample.ndjson');
  store.write(generateSample(20_000, 5));
  store.end();
});

after(() => {
  server?.kill();
  store?.free();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Parameter sets for every shipped pipe: none, a time window, a model list, a bucket and limit. */
function paramSets() {
  const models = store.pipe('llm_usage_by_model').data.map((r) => r.model_name);
  return [
    {},
    { start_date: '2024-09-05 00:00:00', end_date: '2024-09-20 12:00:00' },
    { models: models.slice(0, 2).join(',') },
    { models: models[0], bucket: 'hour', limit: 3 },
    { start_date: '2024-09-10 00:00:00', bucket: 'minute', limit: 50 },
  ];
}

/** A row's sort key: values in column order, floats to 9 significant digits. */
const rowKey = (r) => JSON.stringify(Object.values(r).map((v) => (typeof v === 'number' ? Number(v.toPrecision(9)) : v)));

/**
 * Rows equal as multisets (a pipe without ORDER BY, or with ties, may list rows in any order):
 * integers and strings exactly, floats to 1e-9 relative (summation order).
 */
function sameRows(gotRows, wantRows, label) {
  assert.equal(gotRows.length, wantRows.length, `${label}: row count`);
  const sort = (rows) => [...rows].sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : rowKey(a) > rowKey(b) ? 1 : 0));
  const got = sort(gotRows);
  const want = sort(wantRows);
  for (let i = 0; i < want.length; i++) {
    for (const [k, w] of Object.entries(want[i])) {
      const g = got[i][k];
      if (typeof w === 'number' && typeof g === 'number' && !Number.isInteger(w)) {
        assert.ok(Math.abs(g - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${label} row ${i} ${k}: ${g} vs ${w}`);
      } else {
        assert.deepEqual(g, w, `${label} row ${i} ${k}`);
      }
    }
  }
}

test('the store pushes its rows to ClickHouse, then every pipe answers the same there', async () => {
  const ch = clickHouseBackend({
    url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'analytics', planner: store,
  });
  const progress = [];
  const pushed = await ch.push(store, { chunkRows: 7_000, onProgress: (p) => progress.push([p.sent, p.bytes]) });
  const { bytes, ...counts } = pushed;
  assert.deepEqual(counts, { sent: 20_000, before: 0, after: 20_000 });
  assert.deepEqual(progress.map(([sent]) => sent), [7_000, 14_000, 20_000]);
  // The bytes reported are the NDJSON bodies' sizes, which the server's log records.
  const inserts = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.params.includes('query'));
  assert.equal(bytes, inserts.reduce((n, r) => n + r.bytes, 0));
  assert.equal(progress.at(-1)[1], bytes);
  let compared = 0;
  let refused = 0;
  for (const name of store.pipeNames()) {
    for (const params of paramSets()) {
      let local;
      try {
        local = store.pipe(name, params);
      } catch (e) {
        // A parameter set a pipe refuses is refused by the backend alike.
        await assert.rejects(ch.pipe(name, params));
        refused++;
        continue;
      }
      const remote = await ch.pipe(name, params);
      const label = `${name} ${JSON.stringify(params)}`;
      assert.deepEqual(remote.meta, local.meta, `${label}: meta`);
      sameRows(remote.data, local.data, label);
      assert.equal(remote.rows, local.rows);
      compared++;
    }
  }
  assert.ok(compared >= 25, `compared ${compared} pipe answers`);
  const { data: [{ v }] } = await ch.sql('SELECT version() AS v');
  console.log(`pipe differential: ${store.pipeNames().length} pipes × ${paramSets().length} parameter sets: ` +
    `${compared} answers equal through ClickHouse ${v} and in the tab, ${refused} refused by both`);
  // Plain SQL too, and a server error comes back as an Error with ClickHouse's message.
  const n = await ch.sql('SELECT count() AS n, uniqExact(model_name) AS m FROM llm_events');
  assert.deepEqual(n.data, store.sql('SELECT count() AS n, uniqExact(model_name) AS m FROM llm_events').data);
  await assert.rejects(ch.sql('SELECT nope FROM llm_events'), /Code: 47\./);
  // Credentials went in headers only.
  const log = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(log.length > 30);
  for (const r of log) {
    assert.ok(!r.params.includes('user') && !r.params.includes('password'), JSON.stringify(r));
    assert.ok(r.headers.includes('x-clickhouse-user') && r.headers.includes('x-clickhouse-key'));
  }
});

test('a wrong password is an error naming the authentication failure', async () => {
  const ch = clickHouseBackend({ url: `http://127.0.0.1:${port}`, user: USER, password: 'wrong', planner: store });
  await assert.rejects(ch.sql('SELECT 1'), /Code: 516\..*Authentication failed/);
  await assert.rejects(ch.check(), /Code: 516\./);
});

test('errors never quote the password; an abort ends a request at once', async () => {
  // A proxy that echoes the request's headers in its error page.
  const echo = async (url, init) => new Response(`bad gateway: ${JSON.stringify(init.headers)}`, { status: 400 });
  const ch = clickHouseBackend({ url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, planner: store, fetch: echo });
  await assert.rejects(ch.sql('SELECT 1'), (e) => {
    assert.ok(!e.message.includes(PASSWORD) && e.message.includes('"X-ClickHouse-Key":"***"'), e.message);
    return true;
  });
  assert.throws(() => clickHouseBackend({ url: `http://${USER}:secret@127.0.0.1:${port}`, planner: store }),
    (e) => !e.message.includes('secret') && /user and password in their own fields/.test(e.message));
  assert.throws(() => clickHouseBackend({ url: `http://127.0.0.1:${port}/?password=secret`, planner: store }),
    (e) => !e.message.includes('secret') && /user and password in their own fields/.test(e.message));
  // A server that never answers: the abort rejects with an AbortError, and no retry follows.
  let calls = 0;
  const hang = (url, init) => new Promise((_, reject) => {
    calls++;
    init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });
  const slow = clickHouseBackend({ url: `http://127.0.0.1:${port}`, planner: store, fetch: hang });
  const controller = new AbortController();
  const pending = slow.pipe('llm_kpis', {}, { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 1);
  controller.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.equal(calls, 1);
  // Aborted before it starts: no request at all.
  await assert.rejects(slow.sql('SELECT 1', undefined, { signal: controller.signal }), { name: 'AbortError' });
  assert.equal(calls, 1);
});

test('check() tells a server without the table from one with it', async () => {
  const fresh = clickHouseBackend({ url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'default', planner: store });
  assert.deepEqual(await fresh.check(), { tableExists: false });
  const filled = clickHouseBackend({ url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'analytics', planner: store });
  assert.deepEqual(await filled.check(), { tableExists: true });
  // stats() sums llm_dimensions' requests: ClickHouse's own count of the table.
  const n = (await filled.sql('SELECT count() AS n FROM llm_events')).data[0].n;
  assert.deepEqual(await filled.stats(), { rowCount: n, quarantinedCount: null, storeBytes: null });
});

test('transient failures are retried; a push that loses rows fails its count check', async () => {
  let calls = 0;
  const flaky = async (url, init) => {
    calls++;
    if (calls % 3 === 1) return new Response('upstream hiccup', { status: 503 });
    return fetch(url, init);
  };
  const ch = clickHouseBackend({
    url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'retry', planner: store, fetch: flaky,
  });
  const retried = [];
  const pushed = await ch.push(store, { chunkRows: 9_000, onRetry: (r) => retried.push(r) });
  assert.deepEqual({ ...pushed, bytes: undefined }, { sent: 20_000, before: 0, after: 20_000, bytes: undefined });
  assert.ok(calls > 8, `${calls} calls`);
  // One in three requests failed once: each was retried, and reported.
  assert.equal(retried.length, Math.ceil(calls / 3));
  assert.ok(retried.every((r) => r.attempt === 1 && r.error === 'HTTP 503: upstream hiccup'), JSON.stringify(retried[0]));
  // A proxy that acknowledges inserts without forwarding them.
  const lossy = async (url, init) => (String(url).includes('query=INSERT') ? new Response('') : fetch(url, init));
  const broken = clickHouseBackend({
    url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'lossy', planner: store, fetch: lossy,
  });
  await assert.rejects(broken.push(store), /sent 20000 rows but the server holds 0 more/);
});

test("the ClickHouse backend's table follows the planner's datasource, as a store file may change it", () => {
  const planner = { datasourceName: 'llm_events', expand: () => '' };
  const ch = clickHouseBackend({ url: `http://127.0.0.1:${port}`, planner });
  assert.equal(ch.table, 'llm_events');
  planner.datasourceName = 'gateway_flat';
  assert.equal(ch.table, 'gateway_flat');
  const fixed = clickHouseBackend({ url: `http://127.0.0.1:${port}`, planner, table: 'events' });
  assert.equal(fixed.table, 'events');
});

test('a push fails when the store changes while it is pushed', async () => {
  const changing = new EventStore();
  changing.write(generateSample(5_000, 61));
  changing.end();
  let inserts = 0;
  // Rows are loaded into the store while the first chunk is on its way.
  const loading = async (url, init) => {
    if (String(url).includes('query=INSERT') && ++inserts === 1) {
      changing.write(generateSample(100, 62));
      changing.end();
    }
    return fetch(url, init);
  };
  const ch = clickHouseBackend({
    url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'changing', planner: changing, fetch: loading,
  });
  await assert.rejects(ch.push(changing, { chunkRows: 1_000 }),
    /push: the store changed while it was pushed \(5000 rows at the start, 5100 at the end, 5000 sent\); push again/);
  changing.free();
});

test('the Tinybird backend calls the published endpoints as Tinybird encodes them', async () => {
  const ch = clickHouseBackend({
    url: `http://127.0.0.1:${port}`, user: USER, password: PASSWORD, database: 'analytics', planner: store,
  });
  const recorded = await ch.pipe('llm_kpis', { models: 'gpt-4o,claude-3-5-sonnet' });
  const requests = [];
  // The Events API answers each chunk with its rows accepted, all but one (quarantined).
  let lose = 0;
  const tb = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ url: req.url, headers: req.headers, method: req.method, body });
      res.setHeader('Content-Type', 'application/json');
      if (req.url.startsWith('/v0/events')) {
        const lines = body.split('\n').filter(Boolean).length;
        res.end(JSON.stringify({ successful_rows: lines - 1 - lose, quarantined_rows: 1 }));
      } else {
        res.end(JSON.stringify({ ...recorded, rows_before_limit_at_least: 1 }));
      }
    });
  });
  await new Promise((r) => tb.listen(0, '127.0.0.1', r));
  try {
    const token = 'p.eyJ1IjogInRlc3QifQ.secret';
    const backend = tinybirdBackend({ host: `http://127.0.0.1:${tb.address().port}/`, token });
    const got = await backend.pipe('llm_kpis', {
      models: ['gpt-4o', 'claude-3-5-sonnet'],
      start_date: new Date(Date.UTC(2024, 8, 5, 6, 7, 8)),
      limit: 5,
      skipped: undefined,
    });
    assert.deepEqual(got, recorded);
    assert.equal(requests.length, 1);
    assert.equal(requests[0].method, 'GET');
    assert.equal(
      requests[0].url,
      '/v0/pipes/llm_kpis.json?models=gpt-4o%2Cclaude-3-5-sonnet&start_date=2024-09-05+06%3A07%3A08&limit=5',
    );
    assert.equal(requests[0].headers.authorization, `Bearer ${token}`);
    assert.ok(!requests[0].url.includes('secret'));
    // The Events API: NDJSON chunks to /v0/events?name=<datasource>.
    requests.length = 0;
    const pushed = await backend.push(store, { chunkRows: 15_000 });
    const body = requests.map((r) => r.body).join('');
    assert.deepEqual(pushed, { sent: 20_000, successful: 19_998, quarantined: 2, bytes: Buffer.byteLength(body) });
    assert.equal(body.split('\n').filter(Boolean).length, 20_000);
    assert.deepEqual(requests.map((r) => [r.method, r.url, r.headers.authorization, r.headers['content-type']]), [
      ['POST', '/v0/events?name=llm_events', `Bearer ${token}`, 'application/x-ndjson'],
      ['POST', '/v0/events?name=llm_events', `Bearer ${token}`, 'application/x-ndjson'],
    ]);
    // An append token, when given, is the one the Events API gets; rows Tinybird does not
    // account for fail the count check.
    requests.length = 0;
    lose = 5;
    const appender = tinybirdBackend({ host: `http://127.0.0.1:${tb.address().port}`, token, appendToken: 'append-secret' });
    await assert.rejects(appender.push(store, { chunkRows: 15_000 }),
      /sent 20000 rows but Tinybird acknowledged 19988 and quarantined 2/);
    assert.deepEqual(requests.map((r) => r.headers.authorization), ['Bearer append-secret', 'Bearer append-secret']);
    // The quarantine through the Query API, newest first.
    requests.length = 0;
    await backend.quarantine({ offset: 50, limit: 25 });
    assert.equal(decodeURIComponent(requests[0].url.replace(/\+/g, ' ')),
      '/v0/sql?q=SELECT * FROM llm_events_quarantine ORDER BY insertion_date DESC LIMIT 25 OFFSET 50 FORMAT JSON');
    assert.equal(requests[0].headers.authorization, `Bearer ${token}`);
  } finally {
    tb.close();
  }
});
