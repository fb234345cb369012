// DuckDB-WASM's built-in JSON reader: insertJSONFromPath() on a registered file buffer, with
// explicit Arrow column types (no inference). That reader takes a JSON array of rows, not NDJSON,
// so the bytes are first rewritten into one in JavaScript: '[' + lines joined by ',' + ']'
// (a single copy; the data has no blank lines). The contender interface is described in
// plain-js.js.

import { TABLE, count, drop, extraQueries, load, queries, wasmBytes } from '../duckdb.js';

export { drop, extraQueries, load, queries, wasmBytes };

const FILE = 'events.json';
const NEWLINE = 0x0a;

/** NDJSON bytes as the bytes of a JSON array of the same rows. */
function jsonArray(bytes) {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === NEWLINE || bytes[end - 1] === 0x0d)) end--;
  const out = new Uint8Array(end + 2);
  out[0] = 0x5b; // [
  out.set(bytes.subarray(0, end), 1);
  for (let i = bytes.indexOf(NEWLINE); i !== -1 && i < end; i = bytes.indexOf(NEWLINE, i + 1)) out[i + 1] = 0x2c; // ,
  out[end + 1] = 0x5d; // ]
  return out;
}

export function ingest(ctx, bytes) {
  const { arrow } = ctx.duckdb;
  ctx.db.registerFileBuffer(FILE, jsonArray(bytes));
  try {
    ctx.conn.insertJSONFromPath(FILE, {
      name: TABLE,
      shape: 'row-array',
      columns: {
        event_time: new arrow.TimestampSecond(),
        model_name: new arrow.Utf8(),
        prompt_tokens: new arrow.Uint32(),
        completion_tokens: new arrow.Uint32(),
        total_tokens: new arrow.Uint32(),
        cost: new arrow.Float32(),
        latency: new arrow.Float32(),
        success: new arrow.Uint8(),
        error_message: new arrow.Utf8(),
      },
    });
  } finally {
    ctx.db.dropFile(FILE);
  }
  return { table: TABLE, rows: count(ctx) };
}
