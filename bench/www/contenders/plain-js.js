// Hand-written JavaScript: ndjson.js's columns, and Map aggregations over them.
//
// The contender interface (worker.js), which every file in contenders/ implements:
//   load()                      -> ctx, after fetching, compiling and initialising the library
//   ingest(ctx, bytes, job)     -> { table, rows }; job.chunkBytes is the chunk size to feed
//   drop(ctx, table)            releases a table
//   wasmBytes(ctx)              -> size of the contender's WebAssembly memory (0 if none)
//   queries[name](ctx, table)   -> rows as described in normalize.js
// and optionally:
//   extraQueries[name]          -> { like, run(ctx, table) }: a variant timed beside query `like`
//   ingestStream(ctx, reader, progress) -> { table, rows, bytes } or { error, rows, bytes }
//   warmUp(ctx)                 the library's own warm-up, run after load() and timed apart

import { readColumns } from '../ndjson.js';
import { LEVELS } from '../normalize.js';

export async function load() {
  return {};
}

export function ingest(_ctx, bytes, job) {
  const table = readColumns(bytes, job.chunkBytes);
  return { table, rows: table.n };
}

export function drop() {}

export function wasmBytes() {
  return 0;
}

/** One accumulator per model, created on first sight. */
function byModel(t, init) {
  const groups = new Map();
  for (let i = 0; i < t.n; i++) {
    const code = t.model[i];
    let g = groups.get(code);
    if (g === undefined) groups.set(code, (g = init()));
    g.count++;
  }
  return groups;
}

export const queries = {
  usage(_ctx, t) {
    const groups = new Map();
    for (let i = 0; i < t.n; i++) {
      const code = t.model[i];
      let g = groups.get(code);
      if (g === undefined) groups.set(code, (g = { p: 0, c: 0, t: 0, cost: 0 }));
      g.p += t.prompt_tokens[i];
      g.c += t.completion_tokens[i];
      g.t += t.total_tokens[i];
      g.cost += t.cost[i];
    }
    return Array.from(groups, ([code, g]) => ({
      model_name: t.names[code],
      total_prompt_tokens: g.p,
      total_completion_tokens: g.c,
      total_tokens: g.t,
      total_cost: g.cost,
    }));
  },

  performance(_ctx, t) {
    const groups = new Map();
    for (let i = 0; i < t.n; i++) {
      const code = t.model[i];
      let g = groups.get(code);
      if (g === undefined) groups.set(code, (g = { n: 0, latency: 0, success: 0 }));
      g.n++;
      g.latency += t.latency[i];
      g.success += t.success[i];
    }
    return Array.from(groups, ([code, g]) => ({
      model_name: t.names[code],
      avg_latency: g.latency / g.n,
      success_rate: g.success / g.n,
    }));
  },

  // ClickHouse quantileExact: the element at index floor(level * n) of the sorted values
  // (n - 1 for level 1).
  quantiles(_ctx, t) {
    const groups = byModel(t, () => ({ count: 0, values: null, len: 0 }));
    for (const g of groups.values()) g.values = new Float32Array(g.count);
    for (let i = 0; i < t.n; i++) {
      const g = groups.get(t.model[i]);
      g.values[g.len++] = t.latency[i];
    }
    return Array.from(groups, ([code, g]) => {
      g.values.sort();
      const n = g.values.length;
      return { model_name: t.names[code], q: LEVELS.map((l) => g.values[l < 1 ? Math.floor(l * n) : n - 1]) };
    });
  },

  hourly(_ctx, t) {
    const models = t.names.length;
    const counts = new Map();
    for (let i = 0; i < t.n; i++) {
      const key = Math.floor(t.event_time[i] / 3600) * models + t.model[i];
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return Array.from(counts, ([key, requests]) => ({
      model_name: t.names[key % models],
      hour: Math.floor(key / models) * 3600,
      requests,
    }));
  },
};
