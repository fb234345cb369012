// DuckDB-WASM's SQL JSON reader: the bytes are registered as a file buffer and loaded with
// read_json and explicit column types. read_json belongs to DuckDB's json extension, which the
// npm package does not ship: DuckDB-WASM downloads it from DuckDB's extension repository on
// first use, so offline this contender reports that download's failure. The contender
// interface is described in plain-js.js.

import { TABLE, count, drop, extraQueries, load, queries, wasmBytes } from '../duckdb.js';

export { drop, extraQueries, load, queries, wasmBytes };

const FILE = 'events.ndjson';
const COLUMNS = `{
  event_time: 'TIMESTAMP', model_name: 'VARCHAR', prompt_tokens: 'UINTEGER', completion_tokens: 'UINTEGER',
  total_tokens: 'UINTEGER', cost: 'FLOAT', latency: 'FLOAT', success: 'UTINYINT', error_message: 'VARCHAR'
}`;

export function ingest(ctx, bytes) {
  ctx.db.registerFileBuffer(FILE, bytes);
  try {
    ctx.conn.query(
      `CREATE TABLE ${TABLE} AS SELECT * FROM read_json('${FILE}', format = 'newline_delimited', columns = ${COLUMNS})`,
    );
  } finally {
    ctx.db.dropFile(FILE);
  }
  return { table: TABLE, rows: count(ctx) };
}
