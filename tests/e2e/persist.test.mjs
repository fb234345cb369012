// Browser tests of the store kept in the Origin Private File System: a file loaded, the page
// reloaded, and the KPI cards show the same numbers without loading again; Export, Forget and
// the exported file dropped back give them again, and Forget leaves OPFS empty. The expected
// numbers are ClickHouse's (chDB) over the same file, with the SQL the llm_kpis pipe expands to.
// A page without OPFS keeps working, with a notice.
//
//   node --test tests/e2e/persist.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventStore, andRefresh, dropFiles, generateSample, openDashboard, repo, screenshot, startHarness,
} from './harness.mjs';

let harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.stop();
});

/** llm_kpis over the NDJSON file at `path`, run by ClickHouse (chDB) on the pipe's SQL. */
function chdbKpis(path) {
  const store = new EventStore();
  const sql = store.expand('llm_kpis');
  store.free();
  const script = [
    'import json, sys',
    `sys.path.insert(0, ${JSON.stringify(join(repo, 'tests/chdb'))})`,
    'import diff',
    'engine = diff.ChdbEngine(diff.read_schema())',
    `engine.load([${JSON.stringify(path)}])`,
    'print(json.dumps(engine.query(sys.stdin.read())["data"][0]))',
  ].join('\n');
  const run = spawnSync(join(repo, '.venv/bin/python'), ['-c', script], { input: sql, encoding: 'utf8' });
  assert.equal(run.status, 0, `chDB failed: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** The KPI cards' exact values, by key. */
function kpiValues(page) {
  return page.evaluate(() => {
    const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
    return Object.fromEntries([...root.querySelectorAll('.kpi')]
      .map((card) => [card.dataset.kpi, card.querySelector('.kpi-value').dataset.value]));
  });
}

/** The KPI cards the page shows, by the llm_kpis column each reads. */
const CARDS = ['requests', 'total_tokens', 'total_cost', 'avg_latency', 'success_rate', 'errors'];

/** Asserts the cards show ClickHouse's numbers: integers exactly, floats to 1e-9 relative. */
function assertKpis(shown, expected, what) {
  assert.deepEqual(Object.keys(shown).sort(), CARDS.toSorted(), `${what}: the cards`);
  for (const key of CARDS) {
    const ours = Number(shown[key]);
    const theirs = Number(expected[key]);
    if (Number.isInteger(theirs) && Number.isInteger(ours) && Math.abs(theirs) > 1) {
      assert.equal(ours, theirs, `${what}: ${key}`);
    } else {
      assert.ok(Math.abs(ours - theirs) <= 1e-9 * Math.max(1, Math.abs(theirs)),
        `${what}: ${key} shows ${shown[key]}, ClickHouse says ${expected[key]}`);
    }
  }
}

/** The persistence notice: { state, text }. */
function persistNotice(page) {
  return page.evaluate(() => {
    const node = document.querySelector('llm-metrics-dashboard').shadowRoot.querySelector('.persist');
    return { state: node.dataset.state, text: node.querySelector('.persist-text').textContent, hidden: node.hidden };
  });
}

function waitForPersist(page, state) {
  return page.waitForFunction((s) => document.querySelector('llm-metrics-dashboard')
    ?.shadowRoot.querySelector('.persist')?.dataset.state === s, state, { timeout: 30_000 });
}

/** Every file in the origin's OPFS, with its size, by path. */
function opfsFiles(page) {
  return page.evaluate(async () => {
    const out = [];
    const walk = async (dir, prefix) => {
      for await (const [name, handle] of dir.entries()) {
        if (handle.kind === 'directory') {
          out.push({ path: `${prefix}${name}/`, size: 0 });
          await walk(handle, `${prefix}${name}/`);
        } else {
          out.push({ path: `${prefix}${name}`, size: (await handle.getFile()).size });
        }
      }
    };
    await walk(await navigator.storage.getDirectory(), '');
    return out;
  });
}

async function reloadDashboard(page) {
  await page.reload();
  await page.waitForFunction(() => {
    const dash = document.querySelector('llm-metrics-dashboard');
    return dash?.dataset.state === 'ready' && Number(dash.dataset.refresh) >= 1;
  }, null, { timeout: 30_000 });
}

test('the store survives a reload; export, forget and import give the same numbers', async () => {
  const bytes = generateSample(20000, 31);
  const dir = mkdtempSync(join(tmpdir(), 'llm-metrics-persist-'));
  const path = join(dir, 'events.ndjson');
  writeFileSync(path, bytes);
  const expected = chdbKpis(path);
  assert.equal(Number(expected.requests), 20000);
  const { page, context, problems } = await openDashboard(harness);
  try {
    assert.deepEqual(await persistNotice(page),
      { state: 'empty', text: 'Loaded data is kept in this browser until you forget it.', hidden: false });
    await andRefresh(page, () => dropFiles(page, [{ name: 'events.ndjson', bytes }]));
    await waitForPersist(page, 'saved');
    assertKpis(await kpiValues(page), expected, 'after loading');
    const saved = await opfsFiles(page);
    assert.deepEqual(saved.map((f) => f.path), ['llm-metrics/', 'llm-metrics/store.llmstore']);
    const fileBytes = saved[1].size;
    assert.match((await persistNotice(page)).text, /^Saved 20,000 rows in this browser on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(/);

    // Reloaded: the same numbers, with no load run.
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    const notice = await persistNotice(page);
    assert.match(notice.text, /^Reopened 20,000 rows saved on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(/);
    assert.equal(await page.locator('llm-metrics-dashboard li.load').count(), 0);
    assertKpis(await kpiValues(page), expected, 'after a reload');
    await screenshot(page, 'persist-reopened.png', 'llm-metrics-dashboard .view-inputs');

    // Export downloads the store file.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export the store' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'llm-metrics.llmstore');
    const exported = readFileSync(await download.path());
    assert.equal(exported.subarray(0, 8).toString('latin1'), 'LLMSTORE');
    assert.equal(exported.length, fileBytes);

    // Forget: OPFS empty, the store empty.
    await andRefresh(page, () => page.getByRole('button', { name: 'Forget the saved store' }).click());
    assert.deepEqual(await opfsFiles(page), []);
    assert.equal((await kpiValues(page)).requests, '0');
    assert.equal((await persistNotice(page)).state, 'empty');
    await reloadDashboard(page);
    assert.equal((await kpiValues(page)).requests, '0');
    assert.equal((await persistNotice(page)).state, 'empty');

    // The exported file dropped back: the same numbers, saved again, reopened after a reload.
    await andRefresh(page, () => dropFiles(page, [{ name: 'llm-metrics.llmstore', bytes: exported }]));
    assertKpis(await kpiValues(page), expected, 'after importing the exported file');
    await waitForPersist(page, 'saved');
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    assertKpis(await kpiValues(page), expected, 'after importing and a reload');

    // A damaged store file is refused and the data kept.
    const damaged = Buffer.from(exported);
    damaged[damaged.length - 10] ^= 0xff;
    await andRefresh(page, () => dropFiles(page, [{ name: 'damaged.llmstore', bytes: damaged }]));
    const failed = page.locator('llm-metrics-dashboard li.load[data-status=failed] .load-errors');
    assert.match(await failed.textContent(), /store file, byte \d+: the section's checksum does not match/);
    assertKpis(await kpiValues(page), expected, 'after a damaged file');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without OPFS the page works as before and says the data is not kept', async () => {
  // The worker's global loses navigator.storage.getDirectory, as in browsers without OPFS.
  const original = readFileSync(join(repo, 'www/worker.js'), 'utf8');
  harness.routes.set('/worker.js', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/javascript' });
    res.end(`delete StorageManager.prototype.getDirectory;\n${original}`);
  });
  const bytes = generateSample(3000, 5);
  const { page, context, problems } = await openDashboard(harness);
  try {
    const notice = await persistNotice(page);
    assert.equal(notice.state, 'unavailable');
    assert.equal(notice.text,
      'This browser keeps no data for this page (this browser has no Origin Private File System): ' +
      'load the files again after a reload.');
    assert.equal(await page.getByRole('button', { name: 'Forget the saved store' }).isDisabled(), true);
    await andRefresh(page, () => dropFiles(page, [{ name: 'events.ndjson', bytes }]));
    assert.equal((await kpiValues(page)).requests, '3000');
    await reloadDashboard(page);
    assert.equal((await kpiValues(page)).requests, '0');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    harness.routes.delete('/worker.js');
  }
});

/** A store file of `rows` generated events, made in Node.js with the same package. */
function storeFileOf(rows, seed) {
  const store = new EventStore();
  store.write(generateSample(rows, seed));
  store.end();
  const file = store.toStoreFile();
  store.free();
  return Buffer.from(file);
}

/** Writes files into the origin's OPFS folder llm-metrics/: { name: bytes }. */
function putOpfsFiles(page, files) {
  return page.evaluate(async (entries) => {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('llm-metrics', { create: true });
    for (const [name, bytes] of entries) {
      const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await writable.write(new Uint8Array(bytes));
      await writable.close();
    }
  }, Object.entries(files).map(([name, bytes]) => [name, [...bytes]]));
}

test('a saved store that cannot be reopened is kept under another name, not saved over', async () => {
  const file = storeFileOf(500, 41);
  file[8] = 99; // the format version
  const bytes = generateSample(700, 42);
  const { page, context, problems } = await openDashboard(harness);
  try {
    await putOpfsFiles(page, { 'store.llmstore': file });
    await reloadDashboard(page);
    await waitForPersist(page, 'error');
    assert.match((await persistNotice(page)).text,
      /^The saved store could not be reopened: store file, byte 8: store file version 99; this build reads version 1; it was kept as llm-metrics\/store\.llmstore\.unreadable-[0-9TZ-]+\.$/);
    const files = await opfsFiles(page);
    const aside = files.find((f) => f.path.startsWith('llm-metrics/store.llmstore.unreadable-'));
    assert.equal(aside?.size, file.length);
    assert.deepEqual(files.map((f) => f.path).sort(), ['llm-metrics/', aside.path]);
    // A load saves a new store beside it.
    await andRefresh(page, () => dropFiles(page, [{ name: 'events.ndjson', bytes }]));
    await waitForPersist(page, 'saved');
    const after = await opfsFiles(page);
    assert.equal(after.find((f) => f.path === aside.path)?.size, file.length);
    assert.ok(after.some((f) => f.path === 'llm-metrics/store.llmstore'));
    assert.equal((await kpiValues(page)).requests, '700');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a crash while reopening the saved store does not stop the page from starting', async () => {
  // The engine traps as it reads the saved store, as on running out of memory.
  const original = readFileSync(join(repo, 'www/worker.js'), 'utf8');
  const reading = 'const reopened = await readStoreFile(id, file);';
  assert.ok(original.includes(reading));
  const crashing = original.replace(reading,
    "const reopened = engine(id, () => { throw new WebAssembly.RuntimeError('unreachable executed'); });");
  const file = storeFileOf(500, 43);
  const { page, context } = await openDashboard(harness);
  try {
    await putOpfsFiles(page, { 'store.llmstore': file });
    harness.routes.set('/worker.js', (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' });
      res.end(crashing);
    });
    await reloadDashboard(page);
    await waitForPersist(page, 'error');
    assert.match((await persistNotice(page)).text,
      /^The saved store could not be reopened: the engine stopped while reading it \(it crashed, or the tab was closed\); it was kept as llm-metrics\/store\.llmstore\.unreadable-[0-9TZ-]+\.$/);
    const files = await opfsFiles(page);
    assert.deepEqual(files.map((f) => f.path.replace(/unreadable-.*/, 'unreadable-')).sort(),
      ['llm-metrics/', 'llm-metrics/store.llmstore.unreadable-']);
    assert.equal(files.find((f) => f.path.includes('unreadable-')).size, file.length);
    assert.equal((await kpiValues(page)).requests, '0');

    // A reopen that never ended (the page was reloaded meanwhile): the next start reads the
    // file once more.
    harness.routes.delete('/worker.js');
    await putOpfsFiles(page, { 'store.llmstore': file, 'store.llmstore.reopening': Buffer.alloc(0) });
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    assert.equal((await kpiValues(page)).requests, '500');
    let paths = (await opfsFiles(page)).map((f) => f.path);
    assert.ok(paths.includes('llm-metrics/store.llmstore'));
    assert.ok(!paths.some((p) => p.includes('.reopening')), paths.join(', '));

    // Twice never ended: the next start moves the file aside.
    await putOpfsFiles(page, {
      'store.llmstore.reopening': Buffer.alloc(0), 'store.llmstore.reopening-again': Buffer.alloc(0),
    });
    await reloadDashboard(page);
    await waitForPersist(page, 'error');
    assert.match((await persistNotice(page)).text,
      /^The saved store could not be reopened: the engine stopped while reading it \(it crashed, or the tab was closed twice\); it was kept as llm-metrics\/store\.llmstore\.unreadable-[0-9TZ-]+\.$/);
    paths = (await opfsFiles(page)).map((f) => f.path);
    assert.ok(!paths.includes('llm-metrics/store.llmstore'));
    assert.ok(!paths.some((p) => p.includes('.reopening')), paths.join(', '));
  } finally {
    harness.routes.delete('/worker.js');
    await context.close();
  }
});

test('with persist, the src and sample attributes load once, not again on every reload', async () => {
  const index = readFileSync(join(repo, 'www/index.html'), 'utf8');
  harness.routes.set('/sample.html', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(index.replace('<llm-metrics-dashboard id="dashboard" persist>',
      '<llm-metrics-dashboard id="dashboard" persist sample="2000">'));
  });
  const { page, context, problems } = await openDashboard(harness, 'sample.html');
  try {
    await waitForPersist(page, 'saved');
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelector('.kpi[data-kpi=requests] .kpi-value')?.dataset.value === '2000', null, { timeout: 30_000 });
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    // Time for a load the attribute would start.
    await page.waitForTimeout(1000);
    assert.equal(await page.locator('llm-metrics-dashboard li.load').count(), 0);
    assert.equal((await kpiValues(page)).requests, '2000');
    assert.equal((await persistNotice(page)).state, 'reopened');
    assert.deepEqual(problems, []);
  } finally {
    harness.routes.delete('/sample.html');
    await context.close();
  }
});

test('a reload between the saved file removed and the new one moved in reopens the new one', async () => {
  // The state a save leaves when the move over the saved file failed, the saved file was removed
  // and the page went before the temporary file was moved in: only store.llmstore.tmp.
  const whole = storeFileOf(800, 44);
  const { page, context, problems } = await openDashboard(harness);
  try {
    await putOpfsFiles(page, { 'store.llmstore.tmp': whole });
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    assert.match((await persistNotice(page)).text, /^Reopened 800 rows saved on /);
    assert.equal((await kpiValues(page)).requests, '800');
    assert.deepEqual((await opfsFiles(page)).map((f) => f.path).sort(),
      ['llm-metrics/', 'llm-metrics/store.llmstore']);

    // A temporary file cut short is not taken: the page starts empty.
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry('llm-metrics', { recursive: true });
    });
    await putOpfsFiles(page, { 'store.llmstore.tmp': whole.subarray(0, whole.length - 20) });
    await reloadDashboard(page);
    assert.equal((await kpiValues(page)).requests, '0');
    assert.equal((await persistNotice(page)).state, 'empty');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a tab stops saving automatically once another tab of the page saved', async () => {
  const a = generateSample(1000, 51);
  const b = generateSample(500, 52);
  const c = generateSample(200, 53);
  const { page, context, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, [{ name: 'a.ndjson', bytes: a }]));
    await waitForPersist(page, 'saved');
    // A second tab reopens the saved store, loads more and saves it.
    const second = await context.newPage();
    await second.goto(harness.baseUrl);
    await second.waitForFunction(() => {
      const dash = document.querySelector('llm-metrics-dashboard');
      return dash?.dataset.state === 'ready' && Number(dash.dataset.refresh) >= 1;
    }, null, { timeout: 30_000 });
    await waitForPersist(second, 'reopened');
    await andRefresh(second, () => dropFiles(second, [{ name: 'b.ndjson', bytes: b }]));
    await waitForPersist(second, 'saved');
    assert.match((await persistNotice(second)).text, /^Saved 1,500 rows/);
    const savedBySecond = (await opfsFiles(page)).find((f) => f.path === 'llm-metrics/store.llmstore').size;
    // The first tab is told, and its next load does not overwrite the second tab's file.
    await waitForPersist(page, 'stale');
    assert.equal((await persistNotice(page)).text,
      'Another tab of this page saved its data in this browser since: this tab no longer saves ' +
      'automatically, so as not to overwrite it (reload to see the saved data).');
    await andRefresh(page, () => dropFiles(page, [{ name: 'c.ndjson', bytes: c }]));
    assert.equal((await kpiValues(page)).requests, '1200');
    await page.waitForTimeout(1000);
    assert.equal((await persistNotice(page)).state, 'stale');
    assert.equal((await opfsFiles(page)).find((f) => f.path === 'llm-metrics/store.llmstore').size, savedBySecond);
    await reloadDashboard(page);
    await waitForPersist(page, 'reopened');
    assert.equal((await kpiValues(page)).requests, '1500');
    await second.close();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("opening a project's store file and Forget update the datasource a push fills", async () => {
  const dir = join(repo, 'tests/fixtures/tinybird/project');
  const files = {};
  for (const sub of ['datasources', 'endpoints', 'materializations']) {
    for (const name of readdirSync(join(dir, sub))) files[`${sub}/${name}`] = readFileSync(join(dir, sub, name), 'utf8');
  }
  const project = EventStore.fromProject(files);
  const file = Buffer.from(project.toStoreFile());
  const name = project.datasourceName;
  project.free();
  assert.notEqual(name, 'llm_events');
  const { page, context, problems } = await openDashboard(harness);
  const datasource = () => page.evaluate(() => document.querySelector('llm-metrics-dashboard').store.datasourceName);
  try {
    assert.equal(await datasource(), 'llm_events');
    await andRefresh(page, () => dropFiles(page, [{ name: 'project.llmstore', bytes: file }]));
    assert.equal(await datasource(), name);
    await andRefresh(page, () => page.getByRole('button', { name: 'Forget the saved store' }).click());
    assert.equal(await datasource(), 'llm_events');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
