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
  EventStore, andRefresh, assertKpis, dropFiles, openDashboard, repo, screenshot, startHarness,
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
