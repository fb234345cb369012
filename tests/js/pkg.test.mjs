// Tests of the built package in pkg/ (wasm-pack build --release --target web), loaded in Node.js
// the way a page would load it, and checked against a plain-JavaScript recomputation over the
// same bytes.
//
//   node --test tests/js/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('../../pkg/', import.meta.url));
const { initSync, EventStore, StoreFileReader, formatNames, generateSample, warmUp } = await import(`${pkgDir}llm_metrics.js`);
initSync({ module: readFileSync(`${pkgDir}llm_metrics_bg.wasm`) });

const USAGE = 'llm_usage_by_model';
const PERFORMANCE = 'llm_performance';

/** A seeded PRNG (mulberry32), so random chunkings are reproducible. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits bytes into chunks of random sizes from 1 to max. */
function randomChunks(bytes, seed, max) {
  const next = rng(seed);
  const chunks = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * max);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function ingest(chunks, name = 'sample.ndjson') {
  const store = new EventStore();
  store.begin(name);
  for (const chunk of chunks) store.write(chunk);
  const report = store.end();
  return { store, report };
}

/** A pipe result without its elapsed time, the one field that varies between runs. */
function result(store, name, params) {
  const endpoint = store.pipe(name, params);
  delete endpoint.statistics.elapsed;
  return endpoint;
}

/** Per-model sums computed with JSON.parse; Float32 columns rounded per value with Math.fround. */
function recompute(bytes) {
  const byModel = new Map();
  for (const line of new TextDecoder().decode(bytes).split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line);
    let m = byModel.get(e.model_name);
    if (!m) {
      m = { n: 0, prompt: 0, completion: 0, total: 0, cost: 0, latency: 0, successes: 0 };
      byModel.set(e.model_name, m);
    }
    m.n += 1;
    m.prompt += e.prompt_tokens;
    m.completion += e.completion_tokens;
    m.total += e.total_tokens;
    m.cost += Math.fround(e.cost);
    m.latency += Math.fround(e.latency);
    m.successes += e.success;
  }
  return byModel;
}

function assertClose(actual, expected, what) {
  assert.equal(typeof actual, 'number', what);
  const tolerance = 1e-9 * Math.max(Math.abs(expected), 1);
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: got ${actual}, expected ${expected}`);
}

function assertReport(report, bytes, stream) {
  assert.deepEqual(Object.keys(report).sort(), [
    'blank', 'bytes', 'cost_from_log', 'cost_from_table', 'errors', 'format', 'formats', 'lines',
    'not_kept', 'price_table', 'quarantined', 'records', 'rows', 'skipped', 'skipped_by', 'stream',
    'time_from_stream', 'unpriced',
  ]);
  assert.equal(report.stream, stream);
  for (const key of ['lines', 'records', 'rows', 'quarantined', 'skipped', 'blank', 'bytes', 'not_kept']) {
    assert.equal(typeof report[key], 'number', key);
    assert.ok(Number.isInteger(report[key]) && report[key] >= 0, key);
  }
  assert.equal(report.lines, report.rows + report.quarantined + report.blank);
  assert.equal(report.records, report.rows + report.quarantined + report.skipped);
  assert.equal(report.format, report.rows > 0 ? 'llm_events' : '');
  assert.equal(report.bytes, bytes.length);
  assert.ok(Array.isArray(report.errors));
}

const ROWS = 20000;
const sample = generateSample(ROWS, 42);
const expected = recompute(sample);

test('generateSample is deterministic NDJSON', () => {
  assert.ok(sample instanceof Uint8Array);
  assert.deepEqual(generateSample(ROWS, 42), sample);
  assert.notDeepEqual(generateSample(100, 43), generateSample(100, 42));
  assert.equal(generateSample(0, 1).length, 0);
  const lines = new TextDecoder().decode(sample).split('\n').filter((l) => l !== '');
  assert.equal(lines.length, ROWS);
  assert.ok(expected.size > 1, 'several models');
  assert.throws(() => generateSample(-1, 1), (e) => e instanceof Error && /rows/.test(e.message));
  assert.throws(() => generateSample(1.5, 1), (e) => e instanceof Error && /rows/.test(e.message));
  assert.throws(() => generateSample(10, NaN), (e) => e instanceof Error && /seed/.test(e.message));
});

test('report invariants hold and every generated line is stored', () => {
  const { store, report } = ingest(randomChunks(sample, 1, 4096));
  assertReport(report, sample, 'sample.ndjson');
  assert.equal(report.rows, ROWS);
  assert.equal(report.quarantined, 0);
  assert.deepEqual(report.errors, []);
  assert.equal(typeof store.rowCount, 'number');
  assert.equal(store.rowCount, ROWS);
  store.free();
});

test('pipe results do not depend on chunking', () => {
  const { store: whole } = ingest([sample]);
  const usage = result(whole, USAGE);
  const performance = result(whole, PERFORMANCE);
  whole.free();
  const chunkings = [
    ['1..16 bytes', randomChunks(sample.subarray(0, 200_000), 7, 16)],
    ['1..1000 bytes', randomChunks(sample, 8, 1000)],
    ['1..65536 bytes', randomChunks(sample, 9, 65536)],
    ['one line per chunk', splitAfterNewlines(sample)],
  ];
  for (const [label, chunks] of chunkings) {
    const bytes = concat(chunks);
    const { store, report } = ingest(chunks);
    assertReport(report, bytes, 'sample.ndjson');
    if (bytes.length === sample.length) {
      assert.deepEqual(result(store, USAGE), usage, label);
      assert.deepEqual(result(store, PERFORMANCE), performance, label);
    } else {
      const { store: reference } = ingest([bytes]);
      assert.deepEqual(result(store, USAGE), result(reference, USAGE), label);
      assert.deepEqual(result(store, PERFORMANCE), result(reference, PERFORMANCE), label);
      reference.free();
    }
    store.free();
  }
});

function splitAfterNewlines(bytes) {
  const chunks = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      chunks.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < bytes.length) chunks.push(bytes.subarray(start));
  return chunks;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function assertEndpointShape(endpoint, columns) {
  assert.deepEqual(Object.keys(endpoint).sort(), ['data', 'meta', 'rows', 'statistics']);
  assert.deepEqual(endpoint.meta, columns.map(([name, type]) => ({ name, type })));
  assert.ok(Array.isArray(endpoint.data));
  assert.equal(endpoint.rows, endpoint.data.length);
  for (const key of ['elapsed', 'rows_read', 'bytes_read']) {
    assert.equal(typeof endpoint.statistics[key], 'number', key);
  }
  for (const row of endpoint.data) {
    assert.deepEqual(Object.keys(row), columns.map(([name]) => name));
    for (const [name, type] of columns) {
      const want = type === 'String' ? 'string' : 'number';
      assert.equal(typeof row[name], want, `${name} ${type}`);
    }
  }
}

test('llm_usage_by_model: shape, types and sums match a JSON.parse recomputation', () => {
  const { store } = ingest(randomChunks(sample, 2, 8192));
  const endpoint = store.pipe(USAGE);
  assertEndpointShape(endpoint, [
    ['model_name', 'String'],
    ['total_prompt_tokens', 'UInt64'],
    ['total_completion_tokens', 'UInt64'],
    ['total_tokens', 'UInt64'],
    ['total_cost', 'Float64'],
  ]);
  assert.equal(endpoint.statistics.rows_read, ROWS);
  assert.deepEqual(endpoint.data.map((r) => r.model_name).sort(), [...expected.keys()].sort());
  for (const row of endpoint.data) {
    const m = expected.get(row.model_name);
    assert.equal(row.total_prompt_tokens, m.prompt, row.model_name);
    assert.equal(row.total_completion_tokens, m.completion, row.model_name);
    assert.equal(row.total_tokens, m.total, row.model_name);
    assertClose(row.total_cost, m.cost, `total_cost of ${row.model_name}`);
  }
  store.free();
});

test('llm_performance: shape, types and averages match a JSON.parse recomputation', () => {
  const { store } = ingest(randomChunks(sample, 3, 8192));
  const endpoint = store.pipe(PERFORMANCE);
  assertEndpointShape(endpoint, [
    ['model_name', 'String'],
    ['avg_latency', 'Float64'],
    ['success_rate', 'Float64'],
  ]);
  assert.deepEqual(endpoint.data.map((r) => r.model_name).sort(), [...expected.keys()].sort());
  for (const row of endpoint.data) {
    const m = expected.get(row.model_name);
    assertClose(row.avg_latency, m.latency / m.n, `avg_latency of ${row.model_name}`);
    assertClose(row.success_rate, m.successes / m.n, `success_rate of ${row.model_name}`);
    assert.ok(row.success_rate >= 0 && row.success_rate <= 1);
  }
  store.free();
});

test('streams accumulate; pipe params accept an object, undefined or null', () => {
  const store = new EventStore();
  const first = sample.subarray(0, sample.indexOf(0x0a, 100_000) + 1);
  const second = sample.subarray(first.length);
  store.write(first);
  const a = store.end();
  assert.equal(store.begin('second'), undefined, 'no stream was open');
  store.write(second);
  const b = store.end();
  assertReport(a, first, 'stream-1');
  assertReport(b, second, 'second');
  assert.equal(a.rows + b.rows, ROWS);
  assert.equal(store.rowCount, ROWS);
  const { store: whole } = ingest([sample]);
  assert.deepEqual(result(store, USAGE), result(whole, USAGE));
  assert.deepEqual(result(store, USAGE, {}), result(whole, USAGE));
  assert.deepEqual(result(store, USAGE, null), result(whole, USAGE));
  assert.deepEqual(result(store, USAGE, undefined), result(whole, USAGE));
  // begin() while a stream is open ends it and returns its report.
  store.write(new TextEncoder().encode('\n'));
  const open = store.begin('third');
  assert.equal(open.blank, 1);
  assert.equal(open.lines, 1);
  assert.deepEqual(store.end(), { ...open, stream: 'third', lines: 0, blank: 0, bytes: 0 });
  const names = store.pipeNames();
  assert.ok(Array.isArray(names) && names.every((n) => typeof n === 'string'));
  assert.ok(names.includes(USAGE) && names.includes(PERFORMANCE), names.join(','));
  store.free();
  whole.free();
});

test('bad lines are quarantined with a reason, blank lines counted', () => {
  const text = '{"model_name":"m","prompt_tokens":1,"completion_tokens":2,"total_tokens":3,' +
    '"cost":0.5,"latency":1.25,"success":1,"error_message":"","event_time":"2024-01-02 03:04:05"}\n' +
    '\n' +
    'not json at all\n';
  const bytes = new TextEncoder().encode(text);
  const { store, report } = ingest(randomChunks(bytes, 4, 5), 'bad.ndjson');
  assertReport(report, bytes, 'bad.ndjson');
  assert.equal(report.rows, 1);
  assert.equal(report.blank, 1);
  assert.equal(report.quarantined, 1);
  assert.equal(report.errors.length, 1);
  assert.equal(typeof report.errors[0], 'string');
  assert.match(report.errors[0], /3/, 'names the line');
  const usage = store.pipe(USAGE).data;
  assert.deepEqual(usage, [{
    model_name: 'm', total_prompt_tokens: 1, total_completion_tokens: 2, total_tokens: 3, total_cost: 0.5,
  }]);
  store.free();
});

test('misuse throws an Error with a clear message', () => {
  const store = new EventStore();
  assert.throws(
    () => store.pipe('no_such_pipe'),
    (e) => e instanceof Error && e.message.includes('no_such_pipe'),
  );
  assert.throws(() => store.pipe(USAGE, 'not an object'), Error);
  store.free();
  for (const misuse of [() => store.write(new Uint8Array([1])), () => store.pipe(USAGE), () => store.rowCount]) {
    assert.throws(misuse, (e) => e instanceof Error && /null pointer passed to rust/.test(e.message));
  }
});

test('fromDatasource builds a store for a custom schema', () => {
  const text = [
    'DESCRIPTION >',
    '    Page views',
    '',
    'SCHEMA >',
    '    `ts` DateTime `json:$.ts`,',
    '    `path` String `json:$.path`,',
    '    `ms` Float32 `json:$.ms`',
    '',
  ].join('\n');
  const store = EventStore.fromDatasource(text);
  store.begin('views');
  const lines = '{"ts":"2024-05-01 10:00:00","path":"/","ms":12.5}\n' +
    '{"ts":"2024-05-01 10:00:01","path":"/a","ms":3}\n';
  for (const chunk of randomChunks(new TextEncoder().encode(lines), 5, 3)) store.write(chunk);
  const report = store.end();
  assert.equal(report.rows, 2);
  assert.equal(report.quarantined, 0);
  assert.equal(store.rowCount, 2);
  assert.ok(Array.isArray(store.pipeNames()));
  store.free();
  assert.throws(
    () => EventStore.fromDatasource('SCHEMA >\n    `x` NoSuchType `json:$.x`\n'),
    (e) => e instanceof Error && /line \d+/.test(e.message),
  );
});

test('warmUp runs every shipped pipe on a sample and leaves no store behind', () => {
  const before = new EventStore();
  const names = before.pipeNames();
  before.free();
  assert.equal(warmUp(1), 2 * names.length);
  assert.equal(warmUp(), 10 * 2 * names.length);
  const store = new EventStore();
  assert.equal(store.rowCount, 0);
  store.write(generateSample(1000, 3));
  assert.equal(store.end().rows, 1000);
  assert.equal(store.pipe('llm_usage_by_model').data.reduce((n, r) => n + r.total_prompt_tokens, 0) > 0, true);
  store.free();
});

test('vendor log formats are detected per line, or chosen, and records without a time take the stream time', () => {
  const fixtures = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
  const names = formatNames();
  assert.equal(names[0], 'llm_events');
  // Rows worked out by hand from each fixture (tests/formats_cases has every column).
  const want = {
    'anthropic_batch.jsonl': { format: 'anthropic_batch', rows: 3, prompt: 11, fromStream: 3 },
    'claude_code.jsonl': { format: 'claude_code', rows: 2, prompt: 13504 + 13806, fromStream: 0 },
    'otlp.jsonl': { format: 'otlp', rows: 3, prompt: 10 + 5 + 7, fromStream: 0 },
  };
  for (const [file, w] of Object.entries(want)) {
    for (const format of [undefined, w.format]) {
      const store = new EventStore();
      // 2024-12-06 12:00:00 UTC.
      store.begin(file, { format, time: 1733486400000 });
      store.write(readFileSync(fixtures + file));
      const report = store.end();
      assert.equal(report.format, w.format, file);
      assert.equal(report.rows, w.rows, file);
      assert.equal(report.records, report.rows + report.quarantined + report.skipped, file);
      assert.equal(report.time_from_stream, w.fromStream, file);
      assert.ok(names.includes(report.format), file);
      const sums = store.sql(
        "SELECT sum(prompt_tokens) AS p, countIf(event_time = toDateTime('2024-12-06 12:00:00')) AS s FROM llm_events",
      );
      assert.equal(Number(sums.data[0].p), w.prompt, file);
      assert.equal(Number(sums.data[0].s), w.fromStream, file);
      store.free();
    }
  }
  const store = new EventStore();
  assert.throws(() => store.begin('x', { format: 'nope' }), /unknown format 'nope'/);
  assert.throws(() => store.begin('x', { time: 'yesterday' }), /option 'time' must be a number/);
  store.free();
});

test('setPrices costs vendor records that carry no cost, as the package calculates', () => {
  // Written by scripts/vendor.sh from the pinned @pydantic/genai-prices package.
  const text = readFileSync(fileURLToPath(new URL('../../www/vendor/genai-prices.json', import.meta.url)), 'utf8');
  const store = new EventStore();
  const loaded = store.setPrices(text);
  assert.match(loaded.source, /^@pydantic\/genai-prices \d+\.\d+\.\d+$/);
  assert.ok(loaded.models > 1000, String(loaded.models));
  // gpt-4o-mini: 176 uncached input tokens at $0.15/M, 1,024 cached at $0.075/M, 300 output at
  // $0.60/M: $0.0002832 (the package's calcPrice gives the same).
  const body = {
    object: 'chat.completion', created: 1733500800, model: 'gpt-4o-mini-2024-07-18',
    usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024 } },
  };
  store.begin('one.jsonl');
  store.write(new TextEncoder().encode(JSON.stringify(body) + '\n'));
  const report = store.end();
  assert.equal(report.cost_from_table, 1);
  assert.equal(report.price_table, loaded.source);
  const cost = store.sql('SELECT cost FROM llm_events').data[0].cost;
  assert.equal(cost, 0.0002832);
  assert.throws(() => store.setPrices('{"providers": 3}'), /providers is not an array/);
  store.free();
});

test('reprice recomputes the costs the log did not give, as the package calculates', () => {
  const text = readFileSync(fileURLToPath(new URL('../../www/vendor/genai-prices.json', import.meta.url)), 'utf8');
  const store = new EventStore();
  // Loaded without a price table: the body's row is unpriced (cost 0); the canonical line keeps
  // its own cost.
  const body = {
    object: 'chat.completion', created: 1733500800, model: 'gpt-4o-mini-2024-07-18',
    usage: { prompt_tokens: 1200, completion_tokens: 300, total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024 } },
  };
  const canonical = { event_time: '2024-12-06 12:00:00', model_name: 'gpt-4o-mini', prompt_tokens: 5, cost: 3 };
  store.begin('two.jsonl');
  store.write(new TextEncoder().encode(`${JSON.stringify(body)}\n${JSON.stringify(canonical)}\n`));
  store.end();
  const before = store.sql("SELECT cost, cost_source FROM llm_events WHERE source_format = 'openai_chat'").data[0];
  assert.deepEqual(before, { cost: 0, cost_source: 'unpriced' });
  const done = store.reprice(text);
  assert.match(done.source, /^genai-prices \d+\.\d+\.\d+$/);
  assert.deepEqual({ ...done, source: undefined },
    { repriced: 1, unpriced: 0, kept_from_log: 1, source: undefined });
  // As in the setPrices test: 176 uncached input tokens at $0.15/M, 1,024 cached at $0.075/M,
  // 300 output at $0.60/M: $0.0002832.
  const rows = store.sql('SELECT cost, cost_source FROM llm_events ORDER BY cost').data;
  assert.deepEqual(rows, [{ cost: 0.0002832, cost_source: done.source }, { cost: 3, cost_source: '' }]);
  assert.throws(() => store.reprice('{"providers": 3}'), /providers is not an array/);
  store.free();
});

test('fromProject loads every file it can and lists the others with their lines', () => {
  const enc = new TextEncoder();
  const store = EventStore.fromProject({
    'datasources/calls.datasource':
      'SCHEMA >\n    `t` DateTime `json:$.t`,\n    `team` String `json:$.team` DEFAULT \'none\'\n',
    'datasources/prices.datasource':
      'SCHEMA >\n    `model` String `json:$.model`,\n    `usd` Float64 `json:$.usd`\n',
    'datasources/turns.datasource': 'SCHEMA >\n    `t` DateTime,\n    `x` Map(String, UInt8)\n',
    'endpoints/per_team.pipe':
      "NODE n\nSQL >\n%\nSELECT team, count() AS calls FROM calls\n{% if defined(teams) and teams != [''] %}WHERE team IN {{ Array(teams, 'String', default='') }}{% end %}\nGROUP BY team ORDER BY team\n\nTYPE endpoint\n",
    'endpoints/dear.pipe': 'TOKEN reader READ\nNODE n\nSQL >\n    SELECT model FROM prices WHERE usd > 1\n',
  });
  assert.deepEqual(store.loadErrors, [
    {
      file: 'datasources/turns.datasource',
      line: 3,
      message: "not supported: Map(String, UInt8) columns (column 'x')",
    },
  ]);
  assert.deepEqual(store.loadNotes, [
    {
      file: 'endpoints/dear.pipe',
      line: 1,
      message: "TOKEN 'reader' is read but not used: the store has no access control",
    },
  ]);
  assert.deepEqual(store.datasourceNames(), ['calls', 'prices']);
  assert.deepEqual([...store.pipeNames()].sort(), ['dear', 'per_team']);
  store.begin('calls.ndjson', { datasource: 'calls' });
  store.write(enc.encode('{"t":"2024-01-01 00:00:00","team":"a"}\n{"t":"2024-01-01 00:00:01"}\n'));
  const ended = store.begin('prices.ndjson', { datasource: 'prices' });
  assert.equal(ended.rows, 2);
  store.write(enc.encode('{"model":"o1","usd":15}\n{"model":"mini","usd":0.15}\n'));
  assert.equal(store.end().rows, 2);
  // An empty list parameter filters nothing; the missing team took its DEFAULT.
  assert.deepEqual(store.pipe('per_team', { teams: '' }).data, [
    { team: 'a', calls: 1 },
    { team: 'none', calls: 1 },
  ]);
  assert.deepEqual(store.pipe('per_team', { teams: 'a' }).data, [{ team: 'a', calls: 1 }]);
  assert.deepEqual(store.pipe('dear').data, [{ model: 'o1' }]);
  assert.throws(() => store.begin('x', { datasource: 'nowhere' }), /no datasource named 'nowhere'/);
  store.free();
});

test('a StoreFileReader counts heldBytes (the store being replaced) against maxBytes', () => {
  const store = new EventStore();
  store.write(generateSample(5000, 9));
  store.end();
  const file = store.toStoreFile();
  const need = store.storeBytes;
  store.free();
  const maxBytes = Math.floor(need * 1.5);
  const alone = new StoreFileReader({ maxBytes });
  alone.write(file);
  const reopened = alone.finish();
  assert.equal(reopened.rowCount, 5000);
  assert.equal(reopened.storeBytes, need);
  reopened.free();
  const beside = new StoreFileReader({ maxBytes, heldBytes: need });
  assert.throws(() => beside.write(file), /maxBytes/);
  beside.free();
});
