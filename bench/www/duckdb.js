// What the two DuckDB-WASM contenders share: loading the eh module into this worker through
// DuckDB-WASM's synchronous API (no second worker, no message passing), the queries, and the
// conversion of Arrow results to plain rows. Latency and cost are FLOAT columns, like the
// Float32 columns of llm-metrics.

import { LEVELS } from './normalize.js';

export const TABLE = 'llm_events';

export async function load() {
  const duckdb = await import('/vendor/duckdb.mjs');
  const wasm = new URL('/vendor/duckdb-eh.wasm', self.location.href).href;
  const bundle = { mainModule: wasm, mainWorker: null, pthreadWorker: null };
  const db = await duckdb.createDuckDB({ mvp: bundle, eh: bundle }, new duckdb.VoidLogger(), duckdb.BROWSER_RUNTIME);
  await db.instantiate();
  if ((db.getFeatureFlags() & duckdb.DuckDBFeature.WASM_EXCEPTIONS) === 0) {
    throw new Error('DuckDB-WASM did not start its eh (wasm exceptions) build');
  }
  db.open({});
  const conn = db.connect();
  return { duckdb, db, conn };
}

export function count({ conn }) {
  return Number(conn.query(`SELECT count(*) AS n FROM ${TABLE}`).get(0).n);
}

export function drop({ conn }) {
  conn.query(`DROP TABLE IF EXISTS ${TABLE}`);
}

export function wasmBytes({ db }) {
  return db.mod.HEAPU8.buffer.byteLength;
}

/** Arrow's type id of timestamps, which apache-arrow reads as epoch milliseconds. */
const TIMESTAMP = 10;

/** Arrow result rows as plain objects: lists become arrays, timestamps Dates. */
function rows(table) {
  const out = new Array(table.numRows);
  const fields = table.schema.fields;
  const columns = fields.map((f) => table.getChild(f.name));
  for (let i = 0; i < table.numRows; i++) {
    const row = {};
    for (let c = 0; c < fields.length; c++) {
      let v = columns[c].get(i);
      if (v !== null && typeof v === 'object' && typeof v.toArray === 'function') v = Array.from(v.toArray());
      else if (fields[c].typeId === TIMESTAMP) v = new Date(Number(v));
      row[fields[c].name] = v;
    }
    out[i] = row;
  }
  return out;
}

// ClickHouse quantileExact picks the element at floor(level * n) of the sorted values (level
// times n in double precision); DuckDB's quantile_disc is SQL's PERCENTILE_DISC, the element at
// ceil(level * n) - 1, which is a different one whenever level * n is a whole number. So the
// compared query sorts each model's latencies and picks ClickHouse's element, and quantile_disc
// is timed beside it (`extraQueries`).
const pick = (level) => `s[CAST(floor(CAST(${level} AS DOUBLE) * len(s)) AS BIGINT) + 1]`;

const SQL = {
  usage: `SELECT model_name, sum(prompt_tokens) AS total_prompt_tokens, sum(completion_tokens) AS total_completion_tokens,
            sum(total_tokens) AS total_tokens, sum(cost) AS total_cost FROM ${TABLE} GROUP BY model_name`,
  performance: `SELECT model_name, avg(latency) AS avg_latency, avg(success) AS success_rate FROM ${TABLE} GROUP BY model_name`,
  quantiles: `SELECT model_name, [${LEVELS.map(pick).join(', ')}] AS q
            FROM (SELECT model_name, list_sort(list(latency)) AS s FROM ${TABLE} GROUP BY model_name)`,
  hourly: `SELECT model_name, date_trunc('hour', event_time) AS hour, count(*) AS requests FROM ${TABLE} GROUP BY ALL`,
};

const EXTRA_SQL = {
  // SQL PERCENTILE_DISC semantics, see above.
  quantile_disc: `SELECT model_name, quantile_disc(latency, [${LEVELS.join(', ')}]) AS q FROM ${TABLE} GROUP BY model_name`,
};

const run = (sql) => ({ conn }) => rows(conn.query(sql));

export const queries = Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, run(sql)]));

/** Timed and reported beside `queries`; `like` names the query whose shape they answer in. */
export const extraQueries = Object.fromEntries(
  Object.entries(EXTRA_SQL).map(([name, sql]) => [name, { like: 'quantiles', run: run(sql) }]),
);
