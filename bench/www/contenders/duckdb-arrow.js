// DuckDB-WASM fed from JavaScript: ndjson.js's columns (TextDecoder + JSON.parse) become an
// Arrow table (apache-arrow) over the same typed arrays, with model names dictionary-encoded,
// inserted with insertArrowTable(). The contender interface is described in plain-js.js.

import { TABLE, count, drop, extraQueries, load, queries, wasmBytes } from '../duckdb.js';
import { readColumns } from '../ndjson.js';

export { drop, extraQueries, load, queries, wasmBytes };

/**
 * Strings as an Arrow Utf8 vector, encoded straight into one buffer (apache-arrow's
 * vectorFromArray builds it value by value, which takes seconds for a million strings).
 */
function utf8Vector(arrow, strings) {
  const n = strings.length;
  const offsets = new Int32Array(n + 1);
  const encoder = new TextEncoder();
  let data = new Uint8Array(1 << 16);
  let end = 0;
  for (let i = 0; i < n; i++) {
    const s = strings[i];
    if (s.length !== 0) {
      if (end + 3 * s.length > data.length) {
        const bigger = new Uint8Array(Math.max(2 * data.length, end + 3 * s.length));
        bigger.set(data.subarray(0, end));
        data = bigger;
      }
      end += encoder.encodeInto(s, data.subarray(end)).written;
    }
    offsets[i + 1] = end;
  }
  return arrow.makeVector(
    arrow.makeData({ type: new arrow.Utf8(), length: n, valueOffsets: offsets, data: data.subarray(0, end) }),
  );
}

/** The columns as an Arrow table: TIMESTAMP_S, dictionary-encoded VARCHAR, UINTEGER, FLOAT, UTINYINT. */
function arrowTable({ arrow }, c) {
  const n = c.n;
  // Arrow keeps second timestamps as 64-bit integers: the low words are the UInt32 seconds.
  const seconds = new BigInt64Array(n);
  const words = new Uint32Array(seconds.buffer);
  for (let i = 0; i < n; i++) words[2 * i] = c.event_time[i];
  const vector = (type, data) => arrow.makeVector(arrow.makeData({ type, length: n, data }));
  return new arrow.Table({
    event_time: vector(new arrow.TimestampSecond(), seconds),
    model_name: arrow.makeVector(
      arrow.makeData({
        type: new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()),
        length: n,
        data: new Int32Array(c.model.buffer, c.model.byteOffset, n),
        dictionary: utf8Vector(arrow, c.names),
      }),
    ),
    prompt_tokens: vector(new arrow.Uint32(), c.prompt_tokens),
    completion_tokens: vector(new arrow.Uint32(), c.completion_tokens),
    total_tokens: vector(new arrow.Uint32(), c.total_tokens),
    cost: vector(new arrow.Float32(), c.cost),
    latency: vector(new arrow.Float32(), c.latency),
    success: vector(new arrow.Uint8(), c.success),
    error_message: utf8Vector(arrow, c.error_message),
  });
}

export function ingest(ctx, bytes, job) {
  const table = arrowTable(ctx.duckdb, readColumns(bytes, job.chunkBytes));
  ctx.conn.insertArrowTable(table, { name: TABLE, create: true });
  return { table: TABLE, rows: count(ctx) };
}
