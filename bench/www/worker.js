// One benchmark phase for one contender, in a dedicated worker. The job comes from page.js:
//
//   { phase, contender, dataUrl, rows, reps, chunkBytes }
//
// phase 'load'    imports and initialises the contender's library: { loadMs }
// phase 'memory'  loads, ingests once, drops the input and collects garbage, then asks the page
//                 to measure: { wasmBytes, jsBytes }
// phase 'time'    loads, ingests 1 + reps times into a fresh table each time, then runs each query
//                 1 + reps times on the last table:
//                 { ingestMs: [...], queries: { name: { ms, rows } }, extras: { name: { like, ms, rows } } }
//                 (the first sample of each list is the warm-up)
// phase 'stream'  reads dataUrl once without using it (the transport's own time), then streams it
//                 through the fetch body reader into the contender (never holding the whole
//                 file), runs the queries, and asks the page to measure.
//
// Contenders live in contenders/<name>.js and export load(), ingest(), drop(), wasmBytes(),
// `queries` and optionally `extraQueries`; see contenders/plain-js.js for the shapes.

import { QUERIES, canonical } from './normalize.js';

const post = (message) => self.postMessage(message);
const progress = (text) => post({ type: 'progress', text });

/** A full garbage collection (Chromium runs with --js-flags=--expose-gc). */
function collect() {
  if (typeof gc !== 'function') throw new Error('gc() is not exposed: start Chromium with --js-flags=--expose-gc');
  gc();
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Ingests `bytes` and checks that every line became a row. */
async function ingestChecked(contender, ctx, bytes, job) {
  const { table, rows } = await contender.ingest(ctx, bytes, job);
  if (rows !== job.rows) throw new Error(`stored ${rows} rows, expected ${job.rows}`);
  return table;
}

/** Runs `query` 1 + reps times, collecting garbage before each run. */
async function timeQuery(label, shape, query, ctx, table, reps) {
  try {
    const ms = [];
    let rows;
    for (let i = 0; i <= reps; i++) {
      collect();
      const t0 = performance.now();
      rows = await query(ctx, table);
      ms.push(performance.now() - t0);
    }
    progress(`${label}: ${ms.map((x) => x.toFixed(1)).join(', ')} ms`);
    return { ms, rows: canonical(shape, rows) };
  } catch (err) {
    progress(`${label}: ${err?.message ?? err}`);
    return { error: String(err?.message ?? err) };
  }
}

/**
 * Times every query, and the contender's `extraQueries` (variants answering in the shape of
 * the query named by their `like`); a query that throws is reported with its message.
 */
async function timeQueries(contender, ctx, table, reps) {
  const queries = {};
  for (const name of QUERIES) {
    const query = contender.queries[name];
    queries[name] = query
      ? await timeQuery(name, name, query, ctx, table, reps)
      : { error: 'not implemented by this contender' };
  }
  const extras = {};
  for (const [name, { like, run }] of Object.entries(contender.extraQueries ?? {})) {
    extras[name] = { like, ...(await timeQuery(name, like, run, ctx, table, reps)) };
  }
  return { queries, extras };
}

async function phaseLoad(contender) {
  const t0 = performance.now();
  await contender.load();
  return { loadMs: performance.now() - t0 };
}

async function phaseMemory(contender, job) {
  const ctx = await contender.load();
  let bytes = await fetchBytes(job.dataUrl);
  const table = await ingestChecked(contender, ctx, bytes, job);
  bytes = null;
  collect();
  // `table` stays alive until the page has measured.
  self.keepAlive = table;
  return { wasmBytes: contender.wasmBytes(ctx) };
}

/** Runs the contender's own warm-up, if it has one; its milliseconds, or null. */
async function warmUp(contender, ctx) {
  if (!contender.warmUp) return null;
  const t0 = performance.now();
  await contender.warmUp(ctx);
  return performance.now() - t0;
}

async function phaseTime(contender, job) {
  const ctx = await contender.load();
  const warmUpMs = await warmUp(contender, ctx);
  const bytes = await fetchBytes(job.dataUrl);
  const ingestMs = [];
  let table = null;
  for (let i = 0; i <= job.reps; i++) {
    if (table !== null) contender.drop(ctx, table);
    table = null;
    collect();
    const t0 = performance.now();
    table = await ingestChecked(contender, ctx, bytes, job);
    ingestMs.push(performance.now() - t0);
    progress(`ingest ${i === 0 ? 'warm-up' : i}: ${ingestMs[i].toFixed(0)} ms`);
  }
  const { queries, extras } = await timeQueries(contender, ctx, table, job.reps);
  contender.drop(ctx, table);
  return { ingestMs, queries, extras, warmUpMs };
}

/** A fetch body reader for `url`, checked for success. */
async function bodyReader(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.body.getReader();
}

/** Reads `url` to the end without using the bytes: the transport's own time and chunking. */
async function drain(url) {
  const reader = await bodyReader(url);
  const t0 = performance.now();
  let bytes = 0;
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.length;
    chunks++;
  }
  return { ms: performance.now() - t0, bytes, chunks };
}

async function phaseStream(contender, job) {
  if (!contender.ingestStream) throw new Error(`${job.contender} has no streaming ingest`);
  const transport = await drain(job.dataUrl);
  progress(`HTTP read alone: ${transport.ms.toFixed(0)} ms, ${transport.chunks} chunks`);
  const ctx = await contender.load();
  const warmUpMs = await warmUp(contender, ctx);
  const reader = await bodyReader(job.dataUrl);
  const t0 = performance.now();
  const outcome = await contender.ingestStream(ctx, reader, progress);
  const ingestMs = performance.now() - t0;
  const wasmBytes = contender.wasmBytes(ctx);
  const result = { ...outcome, ingestMs, wasmBytes, transport, warmUpMs };
  if (outcome.error === undefined) {
    if (outcome.rows !== job.rows) result.error = `stored ${outcome.rows} rows, expected ${job.rows}`;
    ({ queries: result.queries } = await timeQueries(contender, ctx, outcome.table, job.reps));
  }
  delete result.table;
  collect();
  self.keepAlive = outcome.table;
  return result;
}

self.onmessage = async ({ data: job }) => {
  try {
    const contender = await import(`./contenders/${job.contender}.js`);
    switch (job.phase) {
      case 'load':
        post({ type: 'done', result: await phaseLoad(contender) });
        break;
      case 'memory':
        post({ type: 'measure', result: await phaseMemory(contender, job) });
        break;
      case 'time':
        post({ type: 'done', result: await phaseTime(contender, job) });
        break;
      case 'stream':
        post({ type: 'measure', result: await phaseStream(contender, job) });
        break;
      default:
        throw new Error(`unknown phase '${job.phase}'`);
    }
  } catch (err) {
    post({ type: 'error', error: String(err?.message ?? err) });
  }
};
