// Browser tests of loads read on several threads (loadFile's `workers`): a file read in parts
// by helper threads and appended in order answers exactly as the same file read by one thread,
// with the quarantined lines numbered in the whole file; a file whose later part holds a
// format with state across lines is read on alone, with the same exact result.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSample, repo, startHarness } from './harness.mjs';

let harness;

before(async () => {
  harness = await startHarness();
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

/** Serves `bytes` at `path`. */
function serve(path, bytes) {
  harness.routes.set(path, (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': bytes.length });
    res.end(bytes);
  });
}

/**
 * Generated events with lines planted that are quarantined, at the 0-based line indices
 * returned: the first line, lines around the middle of the file (where two parts meet), and
 * the last line.
 */
function plantedFile(rows, seed) {
  const lines = Buffer.from(generateSample(rows, seed)).toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const middle = Math.floor(lines.length / 2);
  const planted = [0, middle - 3, middle - 1, middle, middle + 1, middle + 2, middle + 500, lines.length + 6];
  for (const at of planted) {
    lines.splice(at, 0, at % 2 === 0 ? 'not json at all' : '{"event_time":"2024-05-01 10:00:00","latency":"n/a"}');
  }
  return { bytes: Buffer.from(`${lines.join('\n')}\n`), planted };
}

/** Loads the file at `path` with `workers` threads; every answer the store gives. */
async function loadAndAsk(page, path, workers) {
  return page.evaluate(async ({ path, workers }) => {
    const { createStore } = await import('./store.js');
    const blob = await (await fetch(path)).blob();
    const file = new File([blob], 'events.ndjson', { lastModified: 1717243200000 });
    const store = await createStore();
    try {
      const report = await store.loadFile(file, { workers });
      const answers = {};
      for (const name of await store.pipeNames()) answers[name] = (await store.pipe(name)).data;
      // No ORDER BY: the rows as stored.
      answers.rows = (await store.sql('SELECT * FROM llm_events LIMIT 300')).data;
      answers.last = (await store.sql('SELECT * FROM llm_events LIMIT 50 OFFSET 20000')).data;
      const quarantine = (await store.quarantine({ offset: 0, limit: 1000 })).data;
      return { report, answers, quarantine, stats: await store.stats() };
    } finally {
      await store.close();
    }
  }, { path, workers });
}

async function openBlank() {
  const context = await harness.browser.newContext();
  const page = await context.newPage();
  const problems = [];
  const workers = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('worker', (worker) => {
    workers.push(worker.url());
    worker.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`worker console: ${msg.text()}`);
    });
  });
  await page.goto(`${harness.baseUrl}blank.html`);
  return { context, page, problems, workers };
}

/** The fields of a load's report that do not depend on timing. */
function counts(report) {
  const { seconds, sourceBytes, totalBytes, ...rest } = report;
  return rest;
}

test('a file read by two threads gives exactly what one thread gives', async () => {
  const { bytes, planted } = plantedFile(60_000, 23);
  serve('/shard/events.ndjson', bytes);
  const { context, page, problems, workers } = await openBlank();
  try {
    const one = await loadAndAsk(page, '/shard/events.ndjson', 1);
    assert.equal(workers.filter((u) => u.endsWith('/shard-worker.js')).length, 0);
    const two = await loadAndAsk(page, '/shard/events.ndjson', 2);
    assert.equal(workers.filter((u) => u.endsWith('/shard-worker.js')).length, 1, workers.join(', '));

    // Hand-derived: the planted lines, numbered from 1 in the whole file.
    const expected = planted.map((i) => i + 1);
    assert.deepEqual(one.quarantine.map((r) => r.c__line), expected);
    assert.equal(one.report.lines, 60_000 + planted.length);
    assert.equal(one.report.rows, 60_000);

    assert.deepEqual(two.quarantine.map((r) => r.c__line), expected);
    assert.deepEqual(two.quarantine.map(({ insertion_date, ...r }) => r), one.quarantine.map(({ insertion_date, ...r }) => r));
    assert.deepEqual(counts(two.report), counts(one.report));
    assert.deepEqual(two.stats.rowCount, one.stats.rowCount);
    assert.deepEqual(two.stats.quarantinedCount, one.stats.quarantinedCount);
    for (const name of Object.keys(one.answers)) {
      assert.deepEqual(two.answers[name], one.answers[name], name);
    }
    assert.equal(two.answers.rows.length, 300);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('a later part in a format with state across lines is read on alone, exactly', async () => {
  const canonical = plantedFile(20_000, 5).bytes;
  const claude = readFileSync(join(repo, 'tests/fixtures/formats/claude_code.jsonl'));
  // The first MiB is canonical, so the load starts in parts; the second part's report shows
  // Claude Code records, and the store reads it again itself.
  const bytes = Buffer.concat([canonical, claude, canonical]);
  serve('/shard/mixed.ndjson', bytes);
  const { context, page, problems, workers } = await openBlank();
  try {
    const one = await loadAndAsk(page, '/shard/mixed.ndjson', 1);
    const two = await loadAndAsk(page, '/shard/mixed.ndjson', 2);
    assert.equal(workers.filter((u) => u.endsWith('/shard-worker.js')).length, 1, workers.join(', '));
    assert.ok(one.report.formats.claude_code > 0, JSON.stringify(one.report.formats));
    assert.deepEqual(counts(two.report), counts(one.report));
    assert.deepEqual(two.quarantine.map(({ insertion_date, ...r }) => r), one.quarantine.map(({ insertion_date, ...r }) => r));
    for (const name of Object.keys(one.answers)) {
      assert.deepEqual(two.answers[name], one.answers[name], name);
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
