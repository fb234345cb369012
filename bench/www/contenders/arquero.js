// Arquero (its own browser build, dist/arquero.min.js). Arquero reads no NDJSON, so ingest is
// ndjson.js's columns handed to aq.table(); queries are Arquero verbs. Arquero's quantile()
// interpolates, so the exact quantiles collect each model's latencies with op.array_agg and
// pick the ClickHouse quantileExact element. The contender interface is described in plain-js.js.

import { readColumns } from '../ndjson.js';
import { LEVELS } from '../normalize.js';

export async function load() {
  await import('/vendor/arquero.min.js');
  return { aq: globalThis.aq };
}

export function ingest({ aq }, bytes, job) {
  const c = readColumns(bytes, job.chunkBytes);
  const table = aq.table({
    event_time: c.event_time,
    model_name: Array.from(c.model, (code) => c.names[code]),
    prompt_tokens: c.prompt_tokens,
    completion_tokens: c.completion_tokens,
    total_tokens: c.total_tokens,
    cost: c.cost,
    latency: c.latency,
    success: c.success,
    error_message: c.error_message,
  });
  return { table, rows: table.numRows() };
}

export function drop() {}

export function wasmBytes() {
  return 0;
}

export const queries = {
  usage: ({ aq: { op } }, t) =>
    t
      .groupby('model_name')
      .rollup({
        total_prompt_tokens: op.sum('prompt_tokens'),
        total_completion_tokens: op.sum('completion_tokens'),
        total_tokens: op.sum('total_tokens'),
        total_cost: op.sum('cost'),
      })
      .objects(),

  performance: ({ aq: { op } }, t) =>
    t
      .groupby('model_name')
      .rollup({ avg_latency: op.mean('latency'), success_rate: op.mean('success') })
      .objects(),

  quantiles: ({ aq: { op } }, t) =>
    t
      .groupby('model_name')
      .rollup({ values: op.array_agg('latency') })
      .objects()
      .map(({ model_name, values }) => {
        const sorted = Float32Array.from(values).sort();
        const n = sorted.length;
        return { model_name, q: LEVELS.map((l) => sorted[l < 1 ? Math.floor(l * n) : n - 1]) };
      }),

  hourly: (_ctx, t) =>
    t
      .groupby('model_name', { hour: (d) => d.event_time - (d.event_time % 3600) })
      .count({ as: 'requests' })
      .objects(),
};
