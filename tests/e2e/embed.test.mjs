// Browser test of embedding (www/embed.html): the custom element with some of its views inside
// another page, and createStore() on its own.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { KPIS, formatKpi } from '../../www/format.js';
import { assertKpis, nodeStore, openDashboard, readCharts, screenshot, startHarness, generateSample } from './harness.mjs';

let harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.stop();
});

test('embed.html: the element shows only the views asked for, and createStore() works without UI', async () => {
  const embedded = nodeStore([{ name: 'sample', bytes: generateSample(20000, 42) }]);
  const alone = nodeStore([{ name: 'sample', bytes: generateSample(5000, 7) }]);
  const { page, problems } = await openDashboard(harness, 'embed.html');
  try {
    await page.waitForFunction(() => {
      const dash = document.querySelector('llm-metrics-dashboard');
      const requests = dash.shadowRoot.querySelector('.kpi[data-kpi=requests] .kpi-value');
      return dash.dataset.state === 'ready' && requests.dataset.value === '20000' &&
        document.getElementById('store-summary').dataset.state === 'ready';
    }, null, { timeout: 60_000 });

    const visible = await page.evaluate(() => [...document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelectorAll('section[data-view]')].filter((s) => !s.hidden).map((s) => s.dataset.view));
    assert.deepEqual(visible, ['kpis', 'cost', 'latency']);
    const all = await page.evaluate(() => document.querySelector('llm-metrics-dashboard').shadowRoot
      .querySelectorAll('section[data-view]').length);
    assert.equal(all, 12);

    await assertKpis(page, embedded.pipe('llm_kpis'));
    const usage = embedded.pipe('llm_usage_by_model').data;
    const [cost] = await readCharts(page, 'cost');
    const byCost = [...usage].sort((a, b) => b.total_cost - a.total_cost);
    assert.deepEqual(cost.series[0].values, byCost.map((r) => r.total_cost));
    const latency = embedded.pipe('llm_latency_percentiles').data;
    const [percentiles] = await readCharts(page, 'latency');
    assert.deepEqual(percentiles.series[2].values, latency.map((r) => r.p99_latency));

    // The host page's colours reach into the element through its custom properties.
    const accent = await page.evaluate(() => getComputedStyle(document.querySelector('llm-metrics-dashboard')).getPropertyValue('--lm-accent').trim());
    assert.equal(accent, '#7a4b00');

    // createStore() alone: the host's own markup, filled with text.
    const kpis = alone.pipe('llm_kpis').data[0];
    const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
    assert.equal(await page.textContent('#store-summary'),
      `5,000 requests cost ${usd.format(kpis.total_cost)}; ${(kpis.success_rate * 100).toFixed(1)} % succeeded.`);
    const models = await page.$$eval('#store-models li', (items) => items.map((li) => [li.dataset.model, Number(li.dataset.cost)]));
    assert.deepEqual(models, [...alone.pipe('llm_usage_by_model').data]
      .sort((a, b) => b.total_cost - a.total_cost).map((r) => [r.model_name, r.total_cost]));

    await screenshot(page, 'embed.png');
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    embedded.free();
    alone.free();
  }
});

test('an element added by script loads its src (gzip over HTTP) and shows the views named', async () => {
  const bytes = generateSample(1500, 33);
  harness.routes.set('/data/events.ndjson.gz', (req, res) => {
    const body = gzipSync(bytes);
    res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Length': body.length });
    res.end(body);
  });
  const store = nodeStore([{ name: 'events', bytes }]);
  const { page, problems } = await openDashboard(harness, 'embed.html');
  try {
    const shown = await page.evaluate(async () => {
      const el = document.createElement('llm-metrics-dashboard');
      el.setAttribute('src', 'data/events.ndjson.gz');
      el.setAttribute('views', 'kpis, usage');
      document.body.append(el);
      await el.ready;
      await new Promise((resolve) => {
        const check = () => (el.dataset.state === 'ready' && el.shadowRoot.querySelector('li.load[data-status=done]')
          ? resolve() : setTimeout(check, 50));
        check();
      });
      const root = el.shadowRoot;
      return {
        views: [...root.querySelectorAll('section[data-view]')].filter((s) => !s.hidden).map((s) => s.dataset.view),
        load: root.querySelector('li.load .load-name').textContent,
        kpis: [...root.querySelectorAll('.kpi-value')].map((n) => n.textContent),
        usageRows: root.querySelectorAll('section[data-view=usage] tbody tr').length,
      };
    });
    assert.deepEqual(shown.views, ['kpis', 'usage']);
    assert.equal(shown.load, `${harness.baseUrl}data/events.ndjson.gz`);
    const kpis = store.pipe('llm_kpis').data[0];
    assert.deepEqual(shown.kpis, KPIS.map((k) => formatKpi(k, kpis[k.key])));
    assert.equal(shown.usageRows, store.pipe('llm_usage_by_model').rows);
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    harness.routes.delete('/data/events.ndjson.gz');
    store.free();
  }
});
