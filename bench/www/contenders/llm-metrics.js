// llm-metrics, the wasm-pack package in the repository's pkg/: NDJSON bytes go into an EventStore
// through write() in chunks; the seed pipes answer the first two queries, store.sql() the others.
// The contender interface is described in plain-js.js.

import { LEVELS } from '../normalize.js';

const QUANTILES_SQL = `SELECT model_name, quantilesExact(${LEVELS.join(', ')})(latency) AS q FROM llm_events GROUP BY model_name`;
const HOURLY_SQL =
  'SELECT model_name, toStartOfHour(event_time) AS hour, count() AS requests FROM llm_events GROUP BY model_name, hour';

export async function load() {
  // The module's bytes are requested at once, beside its JavaScript, and compiled as they
  // arrive (init() takes the pending response to WebAssembly.instantiateStreaming).
  const response = fetch('/pkg/llm_metrics_bg.wasm');
  const pkg = await import('/pkg/llm_metrics.js');
  const wasm = await pkg.default({ module_or_path: response });
  return { pkg, wasm };
}

/**
 * The module's warmUp(): the decoder and every shipped pipe on a small generated sample, so the
 * browser's optimising compiler has compiled the hot paths before the timed runs (as the
 * dashboard's worker does before any data arrives). Timed apart and reported under the table.
 */
export function warmUp({ pkg }) {
  pkg.warmUp();
}

function checked(store, report) {
  if (report.quarantined !== 0) {
    store.free();
    throw new Error(`${report.quarantined} lines quarantined: ${report.errors.join('; ')}`);
  }
  return { table: store, rows: report.rows };
}

export function ingest({ pkg }, bytes, job) {
  const store = new pkg.EventStore();
  for (let off = 0; off < bytes.length; off += job.chunkBytes) {
    store.write(bytes.subarray(off, off + job.chunkBytes));
  }
  return checked(store, store.end());
}

/**
 * Feeds every chunk of a fetch body reader to a new store, never holding more than one chunk.
 * Resolves with { table, rows, bytes } or, when the store throws, with { error, rows, bytes }.
 */
export async function ingestStream({ pkg }, reader, progress) {
  const store = new pkg.EventStore();
  let bytes = 0;
  let next = 256 << 20;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      store.write(value);
      bytes += value.length;
      if (bytes >= next) {
        progress(`streamed ${(bytes / 1e6).toFixed(0)} MB, ${store.rowCount} rows`);
        next += 256 << 20;
      }
    }
    const report = store.end();
    return { table: store, rows: report.rows, quarantined: report.quarantined, bytes };
  } catch (err) {
    await reader.cancel().catch(() => {});
    let rows = null;
    try {
      rows = store.rowCount;
    } catch {
      // A trapped module cannot answer any more.
    }
    return { error: String(err?.message ?? err), rows, bytes };
  }
}

export function drop(_ctx, store) {
  store.free();
}

export function wasmBytes({ wasm }) {
  return wasm.memory.buffer.byteLength;
}

function sql(store, query) {
  if (typeof store.sql !== 'function') {
    throw new Error('store.sql() is not in this build of pkg/ (see pkg/llm_metrics.d.ts)');
  }
  const result = store.sql(query);
  return Array.isArray(result) ? result : result.data;
}

export const queries = {
  usage: (_ctx, store) => store.pipe('llm_usage_by_model').data,
  performance: (_ctx, store) => store.pipe('llm_performance').data,
  quantiles: (_ctx, store) => sql(store, QUANTILES_SQL),
  hourly: (_ctx, store) => sql(store, HOURLY_SQL),
};
