// Browser test of vendor log formats: one file per format dropped at once on the dashboard. The
// requests and token totals are the sums of the rows worked out by hand for each fixture
// (tests/formats_cases/mod.rs); the whole KPI row, costs included, equals a store in Node.js
// given the same files and the same vendored price table.
//
//   node --test tests/e2e/formats.test.mjs

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  EventStore, andRefresh, assertKpis, dropFiles, openDashboard, repo, report, screenshot,
  startHarness,
} from './harness.mjs';

let harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.stop();
});

// Per fixture: rows stored and the sum of their total_tokens, from the hand-worked rows.
const FIXTURES = {
  'openai_chat.jsonl': [5, 1500 + 70 + 0 + 8 + 975],
  'openai_responses.jsonl': [2, 123 + 0],
  'openai_batch.jsonl': [4, 24 + 0 + 0 + 50],
  'anthropic_message.jsonl': [2, 7350 + 0],
  'anthropic_batch.jsonl': [3, 47 + 0 + 0],
  'otlp.jsonl': [3, 30 + 5 + 7],
  'litellm.jsonl': [3, 30 + 0 + 150],
  'langfuse.jsonl': [2, 1661 + 0],
  'helicone.jsonl': [2, 155 + 0],
  'claude_code.jsonl': [2, 13714 + 13861],
  'ollama.jsonl': [3, 324 + 52 + 0],
  'gemini.jsonl': [3, 2898 + 390 + 1100],
  'bedrock.jsonl': [3, 52 + 2610 + 0],
};

test('one file per log format, dropped together, adds up on every KPI', async () => {
  const files = Object.keys(FIXTURES).map((name) => ({
    name,
    bytes: readFileSync(`${repo}tests/fixtures/formats/${name}`),
  }));
  const rows = Object.values(FIXTURES).reduce((n, [r]) => n + r, 0);
  const tokens = Object.values(FIXTURES).reduce((n, [, t]) => n + t, 0);

  const node = new EventStore();
  node.setPrices(readFileSync(`${repo}www/vendor/genai-prices.json`, 'utf8'));
  for (const { name, bytes } of files) {
    node.begin(name, { time: Date.UTC(2024, 11, 6, 12) });
    node.write(bytes);
    const report = node.end();
    assert.equal(report.rows, FIXTURES[name][0], name);
  }
  const kpis = node.pipe('llm_kpis');
  assert.equal(Number(kpis.data[0].requests), rows);
  assert.equal(Number(kpis.data[0].total_tokens), tokens);

  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, files));
    const done = page.locator('llm-metrics-dashboard li.load[data-status=done]');
    assert.equal(await done.count(), files.length);
    const ollama = done.filter({ hasText: 'ollama.jsonl' }).locator('.load-stats');
    assert.match(await ollama.textContent(), / · ollama; skipped: 2 a streaming chunk$/);
    await assertKpis(page, kpis);
    await screenshot(page, 'formats-mixed-drop.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
  node.free();
});

test('the Format menu chooses the format of the next files instead of detecting it', async () => {
  const ollama = { name: 'ollama.jsonl', bytes: readFileSync(`${repo}tests/fixtures/formats/ollama.jsonl`) };
  const lines = ollama.bytes.toString('utf8').trim().split('\n').length;
  const { page, problems } = await openDashboard(harness);
  try {
    const menu = page.locator('llm-metrics-dashboard select[id$="-format"]');
    assert.equal(await menu.inputValue(), '', 'detection is the default');
    const values = await menu.locator('option').evaluateAll((options) => options.map((o) => o.value));
    for (const name of ['', 'llm_events', 'openai_chat', 'anthropic_message', 'otlp', 'ollama', 'claude_code']) {
      assert.ok(values.includes(name), `the menu offers ${name || 'detection'}`);
    }
    const loads = page.locator('llm-metrics-dashboard li.load[data-status=done] .load-stats');

    // Forced to the wrong format: every line is quarantined as not of that shape.
    await menu.selectOption('anthropic_message');
    await andRefresh(page, () => dropFiles(page, [ollama]));
    assert.equal(await loads.count(), 1);
    assert.match(await loads.first().textContent(), new RegExp(`^${lines} lines: 0 rows stored, ${lines} quarantined, 0 blank`));
    const reasons = await page.evaluate(async () => {
      const store = document.querySelector('llm-metrics-dashboard').store;
      const q = await store.quarantine({ limit: 10 });
      return q.data.map((r) => r.c__error.join('; '));
    });
    assert.equal(reasons.length, lines);
    for (const reason of reasons) assert.match(reason, /not a anthropic_message record/);

    // Its own format: the three calls stored, the two chunks skipped (tests/formats_cases).
    await menu.selectOption('ollama');
    await andRefresh(page, () => dropFiles(page, [ollama]));
    assert.equal(await loads.count(), 2);
    assert.match(await loads.first().textContent(), /^5 lines: 3 rows stored, 0 quarantined, 0 blank · .* · ollama; skipped: 2 a streaming chunk$/);

    // The element's API takes a format too, over the menu's choice.
    const report = await page.evaluate(async (text) => {
      const dashboard = document.querySelector('llm-metrics-dashboard');
      const file = new File([text], 'again.jsonl');
      const [result] = await dashboard.loadFiles([file], { format: 'otlp' });
      return { rows: result.rows, quarantined: result.quarantined };
    }, ollama.bytes.toString('utf8'));
    assert.deepEqual(report, { rows: 0, quarantined: lines });
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});

/** The price table with every price doubled (tier thresholds and dates kept), as another version. */
function doubledPrices(text) {
  const table = JSON.parse(text);
  const double = (v) => {
    if (typeof v === 'number') return v * 2;
    if (Array.isArray(v)) return v.map(double);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'start' ? x : double(x)]));
    }
    return v;
  };
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'prices' ? double(x) : walk(x)]));
    }
    return v;
  };
  return JSON.stringify({ ...walk(table), version: `${table.version}-doubled` });
}

test('repricing under another price table shows the cost per model before and after', async () => {
  const shipped = readFileSync(`${repo}www/vendor/genai-prices.json`, 'utf8');
  const doubled = doubledPrices(shipped);
  // openai_chat: costs from the price table; litellm: costs from the log (tests/formats_cases).
  const files = ['openai_chat.jsonl', 'litellm.jsonl'].map((name) => ({
    name, bytes: readFileSync(`${repo}tests/fixtures/formats/${name}`),
  }));
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, files));
    const fromLog = await page.evaluate(async () => {
      const store = document.querySelector('llm-metrics-dashboard').store;
      const r = await store.sql("SELECT DISTINCT model_name FROM llm_events WHERE cost_source = 'log'");
      return r.data.map((row) => row.model_name);
    });
    assert.ok(fromLog.length > 0);
    const savedAt = () => page.evaluate(() => document.querySelector('llm-metrics-dashboard').store.persistence.saved?.savedAt);
    const firstSave = await savedAt();
    assert.ok(firstSave > 0, 'the loads were saved in this browser');
    await andRefresh(page, () => page.evaluate((text) =>
      document.querySelector('llm-metrics-dashboard').reprice(text), doubled));
    const shown = await page.evaluate(() => {
      const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
      return [...root.querySelectorAll('.prices tbody tr')].map((tr) => [...tr.querySelectorAll('td')]
        .map((td) => td.dataset.value ?? td.textContent));
    });
    assert.ok(shown.length >= 2, JSON.stringify(shown));
    let doubledModels = 0;
    for (const [model, before, after] of shown) {
      if (fromLog.includes(model)) {
        assert.equal(Number(after), Number(before), `${model}: a cost from the log is kept`);
      } else {
        // Every price doubled: a cost from the table doubles exactly (also in Float32).
        assert.equal(Number(after), 2 * Number(before), `${model}: ${before} -> ${after}`);
        if (Number(before) > 0) doubledModels += 1;
      }
    }
    assert.ok(doubledModels > 0);
    await screenshot(page, 'formats-reprice.png');
    assert.match(await page.locator('llm-metrics-dashboard .reprice-text').textContent(),
      /^Repriced \d+ rows? under genai-prices 0\.1\.8-doubled; \d+ without a price \(cost 0\), \d+ kept from the logs\.$/);

    // The repriced store is saved like a load: a reload reopens the new costs.
    for (let waited = 0; (await savedAt()) === firstSave && waited < 30_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.notEqual(await savedAt(), firstSave, 'saved after the reprice');
    await page.reload();
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard')?.dataset.state === 'ready', null, { timeout: 60_000 });
    const reopened = await page.evaluate(async () => {
      const r = await document.querySelector('llm-metrics-dashboard').store
        .sql('SELECT model_name, sum(cost) AS cost FROM llm_events GROUP BY model_name');
      return Object.fromEntries(r.data.map((row) => [row.model_name, row.cost]));
    });
    for (const [model, , after] of shown) assert.equal(reopened[model], Number(after), `${model} after a reload`);

    // The shipped table gives back the costs of the load.
    const again = await page.evaluate(() => document.querySelector('llm-metrics-dashboard').reprice());
    for (const row of again.comparison.data) {
      const [, before, after] = shown.find(([m]) => m === row.model_name);
      assert.equal(row.cost_before, Number(after));
      assert.equal(row.cost_after, Number(before));
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});

test('ingest figures per log format in Chromium (printed, not asserted)', async () => {
  const MB = 8;
  for (const name of Object.keys(FIXTURES)) {
    let text = readFileSync(`${repo}tests/fixtures/formats/${name}`, 'utf8');
    const copies = Math.ceil((MB * 1e6) / text.length);
    const parts = [];
    // Claude Code message ids renumbered per copy, so that copies are new messages.
    for (let i = 0; i < copies; i++) parts.push(name.startsWith('claude_code') ? text.replaceAll('"msg_0', `"msg_${i}_0`) : text);
    text = null;
    const body = Buffer.from(parts.join(''));
    harness.routes.set(`/bench/${name}`, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': body.length });
      res.end(body);
    });
  }
  const { page, problems } = await openDashboard(harness, 'embed.html');
  try {
    const results = await page.evaluate(async (names) => {
      const { createStore } = await import('./store.js');
      const store = await createStore();
      const out = [];
      // A sample warms the decoder first (a second load of a Claude Code file would only
      // repeat messages already counted).
      await store.loadSample(50000, 1);
      for (const name of names) {
        const r = await store.loadUrl(`bench/${name}`, { name });
        out.push({ name, status: r.status, bytes: r.bytes, seconds: r.seconds, records: r.records, rows: r.rows, format: r.format });
      }
      return out;
    }, Object.keys(FIXTURES));
    for (const r of results) {
      assert.equal(r.status, 'done', r.name);
      assert.ok(r.rows > 0, r.name);
      report(`chromium ingest ${r.format.padEnd(18)} ${(r.bytes / 1e6).toFixed(1)} MB: ` +
        `${(r.bytes / 1e6 / r.seconds).toFixed(1)} MB/s, ${Math.round(r.records / r.seconds)} records/s`);
    }
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    for (const name of Object.keys(FIXTURES)) harness.routes.delete(`/bench/${name}`);
  }
});
