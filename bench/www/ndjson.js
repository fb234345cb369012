// NDJSON to columns in plain JavaScript: TextDecoder over fixed-size chunks, split on '\n',
// JSON.parse per line. The JavaScript contenders (plain JS, Arquero, DuckDB-WASM via Arrow) all
// ingest through this reader.
//
// Columns follow the llm_events schema with ClickHouse storage types: event_time as UInt32 epoch
// seconds, model_name dictionary-encoded (codes into `names`), token counts as UInt32, cost and
// latency as Float32 (a Float32Array rounds like Math.fround), success as UInt8. Missing fields
// take the type's default (0 or '').

/** Epoch seconds of 'YYYY-MM-DD HH:MM:SS' (UTC); other forms go through Date.parse. */
function parseTime(s) {
  if (typeof s !== 'string') return 0;
  if (s.length === 19 && s.charCodeAt(10) === 32) {
    const d = (i) => s.charCodeAt(i) - 48;
    const ms = Date.UTC(
      d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3),
      d(5) * 10 + d(6) - 1,
      d(8) * 10 + d(9),
      d(11) * 10 + d(12),
      d(14) * 10 + d(15),
      d(17) * 10 + d(18),
    );
    if (ms === ms) return ms / 1000;
  }
  const ms = Date.parse(s.includes('T') ? s : `${s.replace(' ', 'T')}Z`);
  return ms === ms ? Math.floor(ms / 1000) : 0;
}

/** Copies `a` into a new typed array of the same kind with room for `size` elements. */
function grow(a, size) {
  const b = new a.constructor(size);
  b.set(a);
  return b;
}

/** Columns being filled; `finish()` trims them to the row count. */
class Columns {
  constructor(capacity) {
    this.n = 0;
    this.capacity = capacity;
    this.event_time = new Uint32Array(capacity);
    this.model = new Uint32Array(capacity);
    this.prompt_tokens = new Uint32Array(capacity);
    this.completion_tokens = new Uint32Array(capacity);
    this.total_tokens = new Uint32Array(capacity);
    this.cost = new Float32Array(capacity);
    this.latency = new Float32Array(capacity);
    this.success = new Uint8Array(capacity);
    this.error_message = [];
    this.names = [];
    this.codes = new Map();
  }

  push(o) {
    if (this.n === this.capacity) this.resize(this.capacity * 2);
    const i = this.n++;
    const name = typeof o.model_name === 'string' ? o.model_name : '';
    let code = this.codes.get(name);
    if (code === undefined) {
      code = this.names.length;
      this.codes.set(name, code);
      this.names.push(name);
    }
    this.event_time[i] = parseTime(o.event_time);
    this.model[i] = code;
    this.prompt_tokens[i] = o.prompt_tokens ?? 0;
    this.completion_tokens[i] = o.completion_tokens ?? 0;
    this.total_tokens[i] = o.total_tokens ?? 0;
    this.cost[i] = o.cost ?? 0;
    this.latency[i] = o.latency ?? 0;
    this.success[i] = o.success ?? 0;
    this.error_message.push(typeof o.error_message === 'string' ? o.error_message : '');
  }

  resize(size) {
    for (const k of ['event_time', 'model', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cost', 'latency', 'success']) {
      this[k] = size > this[k].length ? grow(this[k], size) : this[k].slice(0, size);
    }
    this.capacity = size;
  }

  finish() {
    if (this.capacity !== this.n) this.resize(this.n);
    const { n, event_time, model, names, prompt_tokens, completion_tokens, total_tokens, cost, latency, success, error_message } = this;
    return { n, event_time, model, names, prompt_tokens, completion_tokens, total_tokens, cost, latency, success, error_message };
  }
}

/**
 * Reads NDJSON `bytes` into columns, decoding `chunkBytes` at a time (lines and UTF-8
 * characters may cross chunk boundaries). Blank lines are skipped; a malformed line throws.
 */
export function readColumns(bytes, chunkBytes = 1 << 20) {
  const cols = new Columns(Math.max(1024, Math.ceil(bytes.length / 160)));
  const decoder = new TextDecoder();
  let rest = '';
  const take = (line) => {
    if (line.length !== 0) cols.push(JSON.parse(line));
  };
  for (let off = 0; off < bytes.length; off += chunkBytes) {
    const lines = (rest + decoder.decode(bytes.subarray(off, off + chunkBytes), { stream: true })).split('\n');
    rest = lines.pop();
    for (let i = 0; i < lines.length; i++) take(lines[i]);
  }
  take(rest + decoder.decode());
  return cols.finish();
}
