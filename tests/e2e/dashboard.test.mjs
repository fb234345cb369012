// Browser tests of the dashboard (www/index.html): dropped files, the views against pipe() in
// Node.js, filters, quarantine, XSS, SQL, export and the keyboard.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  andRefresh, assertKpis, assertTable, dropFiles, foundingPipes, nodeStore, openDashboard, pipe,
  readCharts, readTable, screenshot, startHarness, generateSample,
} from './harness.mjs';
import { toCsv, toJson } from '../../www/format.js';

let harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.stop();
});

const encoder = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC) <-> seconds, computed here rather than with the page's code. */
const toSeconds = (text) => new Date(`${text.replace(' ', 'T')}Z`).getTime() / 1000;
const toText = (seconds) => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);

/** Clicks a time range preset by its label. */
function preset(page, label) {
  return page.locator('llm-metrics-dashboard .segmented label').filter({ hasText: new RegExp(`^${label}$`) }).click();
}

/** The checkbox of a model in the filter. */
function modelBox(page, model) {
  return page.locator(`llm-metrics-dashboard .model-list input[type=checkbox][value="${model}"]`);
}

function dashboardState(page) {
  return page.evaluate(() => {
    const dash = document.querySelector('llm-metrics-dashboard');
    return { params: dash.params, bucket: dash.bucket };
  });
}

/** Checks every filtered view against the pipes run in Node.js with `params`. */
async function assertViews(page, store, params, bucket, what) {
  const state = await dashboardState(page);
  assert.deepEqual(state.params, params, `${what}: the page's parameters`);
  assert.equal(state.bucket, bucket, `${what}: bucket`);

  await assertKpis(page, pipe(store, 'llm_kpis', params), `${what}: KPIs`);
  const { usage: usagePipe, performance: performancePipe } = foundingPipes(params);
  const usage = pipe(store, usagePipe, params);
  await assertTable(page, 'usage', usage, `${what}: usage`);
  await assertTable(page, 'performance', pipe(store, performancePipe, params), `${what}: performance`);
  await assertTable(page, 'errors', pipe(store, 'llm_top_errors', params), `${what}: top errors`);

  assert.equal(await page.locator('llm-metrics-dashboard section[data-view=cost] .source').textContent(), usagePipe);
  assert.equal(await page.locator('llm-metrics-dashboard section[data-view=usage] .source').textContent(), usagePipe);
  // Cost and tokens: one bar per model, largest first, exactly the usage sums.
  const [cost, tokens] = await readCharts(page, 'cost');
  const byCost = [...usage.data].sort((a, b) => b.total_cost - a.total_cost);
  const byTokens = [...usage.data].sort((a, b) => b.total_tokens - a.total_tokens);
  assert.match(cost.caption, /^Cost by model \(USD, sum of cost\)$/);
  assert.deepEqual(cost.categories, byCost.map((r) => r.model_name), `${what}: cost bars`);
  assert.deepEqual(cost.series, [{ label: 'Cost (USD)', values: byCost.map((r) => r.total_cost) }]);
  assert.match(tokens.caption, /^Tokens by model \(sum of total_tokens\)$/);
  assert.deepEqual(tokens.categories, byTokens.map((r) => r.model_name));
  assert.deepEqual(tokens.series, [{ label: 'Total tokens', values: byTokens.map((r) => r.total_tokens) }]);

  // Latency: p50, p95 and p99 as three series side by side per model.
  const latency = pipe(store, 'llm_latency_percentiles', params);
  const [percentiles] = await readCharts(page, 'latency');
  assert.equal(percentiles.kind, 'bars');
  assert.deepEqual(percentiles.categories, latency.data.map((r) => r.model_name), `${what}: latency models`);
  assert.deepEqual(percentiles.series, ['p50', 'p95', 'p99'].map((p) => ({
    label: p, values: latency.data.map((r) => r[`${p}_latency`]),
  })), `${what}: latency percentiles`);

  // Time series: every bucket from the first to the last, zero where a model had no event.
  const series = pipe(store, 'llm_timeseries', { ...params, bucket });
  const charts = await readCharts(page, 'timeseries');
  const step = { minute: 60, hour: 3600, day: 86400 }[bucket];
  const times = [...new Set(series.data.map((r) => toSeconds(r.bucket)))].sort((a, b) => a - b);
  const expectedTimes = [];
  for (let t = times[0]; t <= times[times.length - 1]; t += step) expectedTimes.push(t);
  const columns = { requests: 'requests', cost: 'cost', errors: 'errors' };
  const titles = { requests: `Requests per ${bucket}, by model`, cost: `Cost per ${bucket}, by model (USD)`, errors: `Errors per ${bucket}, by model` };
  for (const [i, key] of Object.keys(columns).entries()) {
    const chart = charts[i];
    assert.equal(chart.caption, titles[key]);
    assert.deepEqual(chart.x, expectedTimes, `${what}: ${key} times`);
    const models = [...new Set(series.data.map((r) => r.model_name))].sort();
    assert.deepEqual(chart.series.map((s) => s.label), models, `${what}: ${key} models`);
    for (const s of chart.series) {
      const expected = expectedTimes.map(() => 0);
      for (const r of series.data) {
        if (r.model_name === s.label) expected[expectedTimes.indexOf(toSeconds(r.bucket))] = r[columns[key]];
      }
      assert.deepEqual(s.values, expected, `${what}: ${key} of ${s.label}`);
    }
  }
}

test('a dropped file fills the KPI cards and both founding tables with exactly what pipe() returns', async () => {
  const bytes = concat(generateSample(5000, 9), encoder.encode('\n{"model_name": broken}\n'));
  const store = nodeStore([{ name: 'events.ndjson', bytes }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await screenshot(page, 'dashboard-empty.png');
    await andRefresh(page, () => dropFiles(page, [{ name: 'events.ndjson', bytes }]));

    const item = page.locator('llm-metrics-dashboard li.load');
    assert.equal(await item.getAttribute('data-status'), 'done');
    assert.match(await item.locator('.load-stats').textContent(),
      /^5,002 lines: 5,000 rows stored, 1 quarantined, 1 blank · /);
    assert.equal(await page.locator('llm-metrics-dashboard .store-summary').textContent(),
      `5,000 events in memory (${formatMiB(store.storeBytes)}), 1 quarantined line.`);

    await assertKpis(page, store.pipe('llm_kpis'));
    await assertTable(page, 'usage', store.pipe('llm_usage_by_model'));
    await assertTable(page, 'performance', store.pipe('llm_performance'));
    assert.equal(await page.locator('llm-metrics-dashboard section[data-view=usage] .source').textContent(), 'llm_usage_by_model');
    await screenshot(page, 'dashboard-loaded.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

function formatMiB(n) {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

test('the sample data, then time ranges, models, custom ranges and buckets: every view matches its pipe', async () => {
  const sample = generateSample(100000, 42);
  const store = nodeStore([{ name: 'sample', bytes: sample }]);
  const { page, problems } = await openDashboard(harness);
  try {
    const sampleButton = page.getByRole('button', { name: 'Load sample data' });
    await andRefresh(page, async () => {
      await sampleButton.focus();
      await page.keyboard.press('Enter');
    });
    assert.match(await page.locator('llm-metrics-dashboard li.load .load-name').textContent(), /^sample \(100,000 events, seed 42\)$/);
    await assertViews(page, store, {}, 'day', 'all');

    const dims = store.pipe('llm_dimensions').data;
    const latest = Math.max(...dims.map((d) => toSeconds(d.last_seen)));
    const models = dims.map((d) => d.model_name).sort();

    await andRefresh(page, () => preset(page, 'Last 7 d'));
    const week = { start_date: toText(latest - 7 * 86400), end_date: toText(latest) };
    await assertViews(page, store, week, 'hour', 'last 7 days');

    await andRefresh(page, () => modelBox(page, models[0]).uncheck());
    await andRefresh(page, () => modelBox(page, models[3]).uncheck());
    const some = models.filter((_, i) => i !== 0 && i !== 3);
    await assertViews(page, store, { ...week, models: some }, 'hour', 'last 7 days, six models');
    await screenshot(page, 'dashboard-filtered.png');

    await andRefresh(page, () => preset(page, 'Last 24 h'));
    const day = { start_date: toText(latest - 86400), end_date: toText(latest), models: some };
    await assertViews(page, store, day, 'hour', 'last 24 hours');

    // A bucket of one's own, then back to automatic.
    await andRefresh(page, () => page.getByLabel('Bucket').selectOption('minute'));
    await assertViews(page, store, day, 'minute', 'last 24 hours by minute');
    assert.equal(await page.getByLabel('Bucket').locator('option[value=minute]').isDisabled(), false);

    // Custom: from/to typed in UTC. A range too long for minutes falls back to automatic.
    await andRefresh(page, () => preset(page, 'Custom'));
    await andRefresh(page, () => page.getByLabel('From (UTC)').fill('2024-09-10T06:00:00'));
    assert.equal(await page.getByLabel('Bucket').inputValue(), 'auto');
    await andRefresh(page, () => page.getByLabel('To (UTC)').fill('2024-09-12T18:30:00'));
    const custom = { start_date: '2024-09-10 06:00:00', end_date: '2024-09-12 18:30:00', models: some };
    await assertViews(page, store, custom, 'hour', 'custom range');
    await andRefresh(page, () => page.getByLabel('Bucket').selectOption('minute'));
    await assertViews(page, store, custom, 'minute', 'custom range by minute');
    await andRefresh(page, () => page.getByLabel('Bucket').selectOption('auto'));

    // All models again, all time: the founding pipes themselves.
    await andRefresh(page, () => page.getByRole('button', { name: 'Select all models' }).click());
    await andRefresh(page, () => preset(page, 'All'));
    await assertViews(page, store, {}, 'day', 'all again');
    // Over a whole month the minute bucket would be too fine to offer.
    assert.equal(await page.getByLabel('Bucket').locator('option[value=minute]').isDisabled(), true);

    // No model at all: empty views, not errors.
    await andRefresh(page, () => page.getByRole('button', { name: 'Select no model' }).click());
    await assertKpis(page, store.pipe('llm_kpis', { models: [] }), 'no model');
    assert.deepEqual((await readTable(page, 'usage')).values, []);
    assert.equal(await page.locator('llm-metrics-dashboard section[data-view=latency] .chart-empty').isVisible(), true);
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('bad lines show in the quarantine view with their stream, line number and reason', async () => {
  const good = (time, model) => JSON.stringify({
    event_time: time, model_name: model, prompt_tokens: 10, completion_tokens: 5, total_tokens: 15,
    cost: 0.25, latency: 1.5, success: 1, error_message: '',
  });
  const text = [
    good('2024-05-01 10:00:00', 'gpt-4o'),
    '{"event_time": "2024-05-01 10:00:01", "model_name": ',
    good('2024-05-01 10:00:02', 'gpt-4o'),
    '{"model_name": "no-time", "prompt_tokens": 1}',
    'not json',
    good('2024-05-01 10:00:03', 'claude-3-haiku'),
    '',
  ].join('\n');
  const bytes = encoder.encode(text);
  const store = nodeStore([{ name: 'bad.jsonl', bytes }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, [{ name: 'bad.jsonl', bytes }]));
    const quarantine = store.quarantine().data;
    assert.deepEqual(quarantine.map((r) => r.c__line), [2, 4, 5]);
    const shown = await readTable(page, 'quarantine');
    assert.deepEqual(shown.headers, ['source', 'line', 'column', 'reason', 'content']);
    assert.deepEqual(shown.text.map((row) => row.slice(0, 2)), [['bad.jsonl', '2'], ['bad.jsonl', '4'], ['bad.jsonl', '5']]);
    assert.deepEqual(shown.text.map((row) => row[3]), quarantine.map((r) => r.c__error.join('; ')));
    assert.equal(shown.text[0][4], '{"event_time": "2024-05-01 10:00:01", "model_name": ');
    assert.equal(shown.text[2][4], 'not json');
    assert.match(shown.text[1][4], /model_name: no-time/);
    assert.match(await page.locator('llm-metrics-dashboard .pager-range').textContent(), /^Lines 1–3 of 3$/);
    assert.match(await page.locator('llm-metrics-dashboard li.load .load-stats').textContent(), /^6 lines: 3 rows stored, 3 quarantined, 0 blank/);
    // The report's reasons name the lines too.
    const reasons = await page.locator('llm-metrics-dashboard li.load .load-errors li').allTextContents();
    assert.deepEqual(reasons.map((r) => r.match(/^line (\d+)/)?.[1]), ['2', '4', '5']);
    await assertKpis(page, store.pipe('llm_kpis'));
    await screenshot(page, 'quarantine.png', 'llm-metrics-dashboard section[data-view=quarantine]');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('model names and error messages with markup are shown as text and run nothing', async () => {
  const evil = [
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload="window.__xss=2">',
    '<script>window.__xss=3</script>',
  ];
  const lines = evil.map((name, i) => JSON.stringify({
    event_time: `2024-06-01 12:0${i}:00`, model_name: name, prompt_tokens: 1, completion_tokens: 1,
    total_tokens: 2, cost: 0.5, latency: 0.5, success: 0, error_message: evil[(i + 1) % evil.length],
  }));
  lines.push(`{"model_name": "${evil[0].replaceAll('"', '\\"')}"}`);
  lines.push(`<b onmouseover="window.__xss=4">not json</b>`);
  const bytes = encoder.encode(`${lines.join('\n')}\n`);
  const store = nodeStore([{ name: '<i>x</i>.ndjson', bytes }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, [{ name: '<i>x</i>.ndjson', bytes }]));
    await assertTable(page, 'usage', store.pipe('llm_usage_by_model'));
    await assertTable(page, 'errors', store.pipe('llm_top_errors'));
    const labels = await page.locator('llm-metrics-dashboard .model-name').allTextContents();
    assert.deepEqual(labels, [...evil].sort());
    assert.equal(await page.locator('llm-metrics-dashboard li.load .load-name').textContent(), '<i>x</i>.ndjson');
    const quarantine = await readTable(page, 'quarantine');
    assert.equal(quarantine.text[1][4], '<b onmouseover="window.__xss=4">not json</b>');

    // The SQL box too.
    await page.getByLabel('A query on llm_events').fill('SELECT model_name, error_message FROM llm_events ORDER BY model_name');
    await page.getByRole('button', { name: 'Run SQL' }).click();
    await page.locator('llm-metrics-dashboard section[data-view=sql] tbody tr').first().waitFor();

    // Nothing ran, and nothing from the data became an element.
    const found = await page.evaluate(() => {
      const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
      return {
        xss: window.__xss ?? null,
        elements: root.querySelectorAll('img, svg, script, b, i').length + document.querySelectorAll('img, svg, b, i').length,
      };
    });
    assert.deepEqual(found, { xss: null, elements: 0 });
    await screenshot(page, 'xss-as-text.png', 'llm-metrics-dashboard section[data-view=usage]');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('the SQL box runs a query and adds a pipe that takes the filters; errors are shown', async () => {
  const bytes = generateSample(3000, 5);
  const store = nodeStore([{ name: 's.ndjson', bytes }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, [{ name: 's.ndjson', bytes }]));
    const box = page.getByLabel('A query on llm_events');
    const query = 'SELECT model_name, count() AS requests, sum(cost) AS cost FROM llm_events GROUP BY model_name ORDER BY requests DESC';
    await box.fill(query);
    await page.getByRole('button', { name: 'Run SQL' }).click();
    await page.locator('llm-metrics-dashboard .sql-message', { hasText: 'rows in' }).waitFor();
    await assertTable(page, 'sql', store.sql(query), 'sql');

    const pipeText = [
      'NODE requests_by_hour',
      'SQL >',
      '    %',
      '    SELECT toHour(event_time) AS hour, count() AS requests FROM llm_events',
      "    WHERE 1 {% if defined(models) %} AND model_name IN {{Array(models, 'String')}} {% end %}",
      '    GROUP BY hour ORDER BY hour',
      '',
    ].join('\n');
    const models = store.pipe('llm_dimensions').data.map((d) => d.model_name).sort();
    await andRefresh(page, () => modelBox(page, models[1]).uncheck());
    await box.fill(pipeText);
    await page.getByRole('button', { name: 'Add the text as a pipe and run it' }).click();
    await page.locator('llm-metrics-dashboard .sql-message', { hasText: 'Added pipe requests_by_hour' }).waitFor();
    assert.equal(store.addPipe(pipeText), 'requests_by_hour');
    await assertTable(page, 'sql', store.pipe('requests_by_hour', { models: models.filter((_, i) => i !== 1) }), 'added pipe');

    await box.fill('SELEC nothing');
    await box.press('Control+Enter');
    await page.locator('llm-metrics-dashboard .sql-message.error').waitFor();
    assert.match(await page.locator('llm-metrics-dashboard .sql-message').textContent(), /SELEC/);
    await screenshot(page, 'sql.png', 'llm-metrics-dashboard section[data-view=sql]');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('tables sort by any column and export as CSV and JSON', async () => {
  const bytes = generateSample(2000, 11);
  const store = nodeStore([{ name: 'e.ndjson', bytes }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => dropFiles(page, [{ name: 'e.ndjson', bytes }]));
    const usage = store.pipe('llm_usage_by_model');
    const sortButton = page.locator('llm-metrics-dashboard section[data-view=usage] th button', { hasText: 'total_cost' });
    await sortButton.click();
    await sortButton.click();
    const descending = [...usage.data].sort((a, b) => b.total_cost - a.total_cost);
    await assertTable(page, 'usage', { ...usage, data: descending }, 'sorted by cost, descending');
    assert.equal(await page.locator('llm-metrics-dashboard section[data-view=usage] th[aria-sort=descending] .col-name').textContent(), 'total_cost');

    const section = page.locator('llm-metrics-dashboard section[data-view=usage]');
    const [csv] = await Promise.all([page.waitForEvent('download'), section.locator('button[data-export=csv]').click()]);
    assert.equal(csv.suggestedFilename(), 'llm_usage_by_model.csv');
    assert.equal(readFileSync(await csv.path(), 'utf8'), toCsv(usage.meta, descending));
    assert.match(readFileSync(await csv.path(), 'utf8'), /^model_name,total_prompt_tokens,total_completion_tokens,total_tokens,total_cost\r\n/);
    const [json] = await Promise.all([page.waitForEvent('download'), section.locator('button[data-export=json]').click()]);
    assert.equal(json.suggestedFilename(), 'llm_usage_by_model.json');
    assert.deepEqual(JSON.parse(readFileSync(await json.path(), 'utf8')), { meta: usage.meta, data: descending, rows: descending.length });
    assert.equal(readFileSync(await json.path(), 'utf8'), toJson(usage.meta, descending));
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('the drop zone and the controls work from the keyboard and have labels', async () => {
  const { page, problems } = await openDashboard(harness);
  try {
    const zone = page.getByRole('button', { name: 'Choose NDJSON files, or drop them here' });
    await zone.focus();
    // Enter (and Space) on the drop zone opens the file input's chooser.
    await page.evaluate(() => {
      const input = document.querySelector('llm-metrics-dashboard').shadowRoot.querySelector('input[type=file][multiple]');
      window.__pickerClicks = 0;
      input.addEventListener('click', () => { window.__pickerClicks += 1; });
    });
    // A listener held for the whole test turns Playwright's chooser interception on; the round
    // trip after it makes sure the browser has it before a key is pressed (else a chooser can
    // open natively and no event comes). One key at a time.
    const choosers = [];
    page.on('filechooser', (c) => choosers.push(c));
    await page.evaluate(() => 0);
    const chooserCount = async (want) => {
      for (let waited = 0; choosers.length < want && waited < 30_000; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(choosers.length, want, 'file choosers opened');
    };
    await page.keyboard.press(' ');
    await chooserCount(1);
    await page.keyboard.press('Enter');
    await chooserCount(2);
    const opened = choosers[1];
    assert.equal(await page.evaluate(() => window.__pickerClicks), 2);
    assert.equal(opened.isMultiple(), true);
    const bytes = generateSample(500, 1);
    const store = nodeStore([{ name: 'keyboard.ndjson', bytes }]);
    await andRefresh(page, () => opened.setFiles({ name: 'keyboard.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(bytes) }));
    await assertKpis(page, store.pipe('llm_kpis'));
    store.free();

    // Tab reaches the URL field, the token, the buttons and the range presets.
    for (const label of ['NDJSON URL', 'Bearer token']) assert.equal(await page.getByLabel(label, { exact: true }).count(), 1, label);
    await page.getByLabel('NDJSON URL').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.querySelector('llm-metrics-dashboard').shadowRoot.activeElement.id.endsWith('-token')), true);
    await preset(page, 'All');
    await page.keyboard.press('ArrowRight');
    const checked = await page.evaluate(() => document.querySelector('llm-metrics-dashboard').shadowRoot.querySelector('fieldset.range input[type=radio]:checked').value);
    assert.equal(checked, '1h');
    // Every form control has a label.
    const unlabelled = await page.evaluate(() => {
      const root = document.querySelector('llm-metrics-dashboard').shadowRoot;
      return [...root.querySelectorAll('input, select, textarea')]
        .filter((c) => c.labels.length === 0 && !c.getAttribute('aria-label')).map((c) => c.outerHTML);
    });
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
  }
});
