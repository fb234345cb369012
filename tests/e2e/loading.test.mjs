// Browser tests of the ways data gets in: a URL behind a bearer token, gzip, several files
// appended, and a load cancelled mid-stream.
//
//   node --test tests/e2e/

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import {
  andRefresh, assertKpis, assertTable, dropFiles, nodeStore, openDashboard, screenshot,
  startHarness, generateSample,
} from './harness.mjs';
import { formatBytes } from '../../www/format.js';

let harness;

before(async () => {
  harness = await startHarness();
});

after(async () => {
  await harness?.stop();
});

/** The files a dashboard page may ask for: its own modules, styles, the wasm package. */
function isPageFile(path) {
  return /^\/(index\.html|embed\.html|[a-z-]+\.(js|css)|vendor\/(uPlot\.(esm\.js|min\.css)|genai-prices\.json)|pkg\/llm_metrics(\.js|_bg\.wasm))?$/.test(path);
}

async function loadUrl(page, url, token) {
  await page.getByLabel('NDJSON URL').fill(url);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Load URL' }).click();
}

test('a URL behind a bearer token: the token goes only into the Authorization header', async () => {
  const TOKEN = 'tok-7f3a9c1e-SECRET';
  const bytes = generateSample(4000, 17);
  harness.routes.set('/private/events.ndjson', (req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain' });
      res.end('unauthorized\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': bytes.length });
    res.end(bytes);
  });
  const url = `${harness.baseUrl}private/events.ndjson`;
  const store = nodeStore([{ name: url, bytes }]);
  const first = harness.requests.length;
  const { page, problems, urls } = await openDashboard(harness);
  try {
    // A wrong token, then none: both refused, nothing stored.
    await andRefresh(page, () => loadUrl(page, url, 'wrong-token'));
    await andRefresh(page, () => loadUrl(page, url, ''));
    const failed = page.locator('llm-metrics-dashboard li.load[data-status=failed]');
    assert.equal(await failed.count(), 2);
    for (const text of await failed.locator('.load-errors').allTextContents()) {
      assert.match(text, /401 Unauthorized \(check the token\)/);
    }
    assert.match(await page.locator('llm-metrics-dashboard .status').textContent(), /could not be loaded: .*401/);
    assert.equal(await page.locator('llm-metrics-dashboard .store-summary').textContent(), 'No events loaded yet.');

    // The right one.
    await andRefresh(page, () => loadUrl(page, url, TOKEN));
    const done = page.locator('llm-metrics-dashboard li.load[data-status=done]');
    assert.match(await done.locator('.load-stats').textContent(), /^4,000 lines: 4,000 rows stored, 0 quarantined/);
    await assertKpis(page, store.pipe('llm_kpis'));
    await assertTable(page, 'usage', store.pipe('llm_usage_by_model'));

    const seen = harness.requests.slice(first);
    const data = seen.filter((r) => r.url.startsWith('/private/'));
    assert.deepEqual(data.map((r) => [r.method, r.headers.authorization]),
      [['GET', 'Bearer wrong-token'], ['GET', undefined], ['GET', `Bearer ${TOKEN}`]]);
    for (const r of seen) {
      assert.ok(!r.url.includes(TOKEN) && !r.url.includes('wrong-token'), r.url);
      assert.ok(!JSON.stringify(r.headers.referer ?? '').includes(TOKEN));
      if (!r.url.startsWith('/private/')) assert.equal(r.headers.authorization, undefined, r.url);
    }
    // No request but the page's own files and the URL given.
    assert.deepEqual(seen.map((r) => r.url).filter((u) => !u.startsWith('/private/') && !isPageFile(u)), []);
    assert.deepEqual(urls.filter((u) => !u.startsWith(harness.baseUrl)), []);
    assert.ok(urls.every((u) => !u.includes(TOKEN)));

    // Not kept anywhere but the password field, and gone after a reload.
    const kept = await page.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      href: location.href,
      markup: document.documentElement.outerHTML + document.querySelector('llm-metrics-dashboard').shadowRoot.innerHTML,
    }));
    assert.deepEqual({ ...kept, markup: kept.markup.includes(TOKEN) },
      { local: 0, session: 0, cookie: '', href: harness.baseUrl, markup: false });
    await page.reload();
    await page.waitForFunction(() => document.querySelector('llm-metrics-dashboard')?.dataset.state === 'ready');
    assert.equal(await page.getByLabel('Bearer token').inputValue(), '');
    assert.equal(await page.getByLabel('Bearer token').getAttribute('type'), 'password');

    // The two refusals are logged by the browser, and their bodies left unread.
    const unexpected = problems.filter((p) => !/401 \(Unauthorized\)/.test(p) &&
      p !== `request failed: ${url} net::ERR_ABORTED`);
    assert.deepEqual(unexpected, []);
  } finally {
    await page.context().close();
    harness.routes.delete('/private/events.ndjson');
    store.free();
  }
});

test('a gzipped file and a plain one, picked together, are appended as two streams', async () => {
  const a = generateSample(3000, 3);
  const b = generateSample(2000, 4);
  const store = nodeStore([{ name: 'a.ndjson.gz', bytes: a }, { name: 'b.jsonl', bytes: b }]);
  const compressed = gzipSync(a);
  const { page, problems } = await openDashboard(harness);
  try {
    await andRefresh(page, () => page.locator('llm-metrics-dashboard input[type=file][multiple]').setInputFiles([
      { name: 'a.ndjson.gz', mimeType: 'application/gzip', buffer: compressed },
      { name: 'b.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(b) },
    ]));
    const items = page.locator('llm-metrics-dashboard li.load');
    assert.deepEqual(await items.locator('.load-name').allTextContents(), ['b.jsonl', 'a.ndjson.gz']);
    assert.deepEqual(await items.evaluateAll((list) => list.map((li) => li.dataset.status)), ['done', 'done']);
    const [statsB, statsA] = await items.locator('.load-stats').allTextContents();
    assert.ok(statsA.startsWith(`3,000 lines: 3,000 rows stored, 0 quarantined, 0 blank · ${formatBytes(a.length)} in `), statsA);
    assert.match(statsB, /^2,000 lines: 2,000 rows stored, 0 quarantined, 0 blank/);
    assert.ok(compressed.length < a.length / 2, 'the file really is compressed');
    assert.equal(await page.locator('llm-metrics-dashboard .store-summary').evaluate((n) => n.textContent.split(' in memory')[0]), '5,000 events');
    await assertKpis(page, store.pipe('llm_kpis'));
    await assertTable(page, 'usage', store.pipe('llm_usage_by_model'));
    await assertTable(page, 'performance', store.pipe('llm_performance'));
    assert.deepEqual(problems, []);
  } finally {
    await page.context().close();
    store.free();
  }
});

test('cancelling a stream mid-way keeps its whole lines and leaves a consistent, queryable store', async () => {
  const bytes = generateSample(5000, 21);
  let end = 0;
  for (let lines = 0; lines < 3000; end++) if (bytes[end] === 0x0a) lines++;
  const head = bytes.subarray(0, end + 40); // 3,000 lines and the start of the next
  let closed = false;
  harness.routes.set('/slow/events.ndjson', (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Content-Length': bytes.length });
    res.write(head);
    // The rest never comes: the page must cancel. The response ends when the page hangs up.
    const timer = setTimeout(() => res.destroy(), 60_000);
    res.on('close', () => {
      closed = true;
      clearTimeout(timer);
    });
  });
  const url = `${harness.baseUrl}slow/events.ndjson`;
  const more = generateSample(700, 22);
  const store = nodeStore([{ name: url, bytes: bytes.subarray(0, end) }, { name: 'more.ndjson', bytes: more }]);
  const { page, problems } = await openDashboard(harness);
  try {
    await loadUrl(page, url, '');
    const item = page.locator('llm-metrics-dashboard li.load').first();
    await item.locator('.load-stats', { hasText: /3,000 rows stored/ }).waitFor({ timeout: 15_000 });
    assert.ok((await item.locator('.load-stats').textContent())
      .startsWith(`${formatBytes(head.length)} of ${formatBytes(bytes.length)} · 3,000 rows stored · 0 quarantined · `));
    await andRefresh(page, () => item.getByRole('button', { name: `Cancel loading ${url}` }).click());
    assert.equal(await item.getAttribute('data-status'), 'cancelled');
    assert.match(await item.locator('.load-stats').textContent(), /^3,000 lines: 3,000 rows stored, 0 quarantined, 0 blank/);
    await screenshot(page, 'load-cancelled.png', 'llm-metrics-dashboard section[data-view=inputs]');
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, true, 'the request was aborted');

    // The store goes on: another file is appended to the 3,000 rows.
    await andRefresh(page, () => dropFiles(page, [{ name: 'more.ndjson', bytes: more }]));
    await assertKpis(page, store.pipe('llm_kpis'));
    await assertTable(page, 'usage', store.pipe('llm_usage_by_model'));
    await assertTable(page, 'performance', store.pipe('llm_performance'));
    assert.equal(await page.locator('llm-metrics-dashboard .pager-range').textContent(), 'No quarantined lines.');
    // The aborted fetch is the only failed request.
    assert.deepEqual(problems.filter((p) => !p.startsWith(`request failed: ${url}`)), []);
  } finally {
    await page.context().close();
    harness.routes.delete('/slow/events.ndjson');
    store.free();
  }
});
