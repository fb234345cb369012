// Backends beyond the tab: the same calls the in-tab store answers (`pipe`, `sql`), answered by a
// ClickHouse server over its HTTP interface or by Tinybird's published endpoints, and the loaded
// rows pushed there.
//
// Credentials (a ClickHouse password, a Tinybird token) travel only in request headers; they are
// never put in a URL, stored, or logged.

/** The endpoint shape every backend answers: `{ meta, data, rows, statistics }`. */
function endpoint(json) {
  const data = Array.isArray(json.data) ? json.data : [];
  return {
    meta: Array.isArray(json.meta) ? json.meta.map((m) => ({ name: m.name, type: m.type })) : [],
    data,
    rows: typeof json.rows === 'number' ? json.rows : data.length,
    statistics: {
      elapsed: json.statistics?.elapsed ?? 0,
      rows_read: json.statistics?.rows_read ?? 0,
      bytes_read: json.statistics?.bytes_read ?? 0,
    },
  };
}

/** NDJSON of endpoint rows; NaN and infinities as the strings ClickHouse reads back as floats. */
function ndjson(rows) {
  const finite = (_, v) =>
    typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : v;
  let out = '';
  for (const r of rows) out += JSON.stringify(r, finite) + '\n';
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `fetch` with retries on transient failures (network errors, HTTP 429 and 5xx other than a
 * query error), waiting 200 ms, 400 ms, ... between tries. Anything else is thrown with the
 * server's message.
 */
async function request(fetchFn, url, init, retries) {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetchFn(url, init);
    } catch (e) {
      if (attempt >= retries) throw new Error(`request failed: ${e?.message ?? e}`);
      await sleep(200 * 2 ** attempt);
      continue;
    }
    if (res.ok) return res;
    const text = await res.text();
    // ClickHouse answers a failed query with HTTP 500 and "Code: N. DB::Exception": not transient.
    const queryError = /^Code: \d+\./.test(text);
    const transient = res.status === 429 || (res.status >= 500 && !queryError);
    if (!transient || attempt >= retries) {
      throw new Error(`HTTP ${res.status}: ${text.trim().slice(0, 2000)}`);
    }
    await sleep(200 * 2 ** attempt);
  }
}

/**
 * A ClickHouse server over its HTTP interface.
 *
 * `planner` renders pipes: an `EventStore` of this package (its `expand(name, params)` gives
 * the SQL ClickHouse runs, templates rendered in wasm with each parameter a literal checked
 * against its type; its `createTableSql` and `datasourceName` describe the table `push` fills).
 *
 * @param {{ url: string, user?: string, password?: string, database?: string,
 *   planner: { expand(name: string, params?: object): string }, fetch?: typeof fetch,
 *   retries?: number }} options
 */
export function clickHouseBackend(options) {
  const { url, user, password, planner } = options;
  const database = options.database ?? 'default';
  const fetchFn = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 3;
  if (!url) throw new Error('clickHouseBackend needs a server url');
  if (!planner) throw new Error('clickHouseBackend needs a planner (an EventStore) to render pipes');
  const base = url.replace(/\/+$/, '');
  const headers = {};
  if (user) headers['X-ClickHouse-User'] = user;
  if (password) headers['X-ClickHouse-Key'] = password;

  /** Runs `sql` in `database`; `format` JSON answers in endpoint shape. */
  async function run(sql, { body, format = 'JSON', db = database } = {}) {
    const params = new URLSearchParams({ database: db });
    if (format) {
      params.set('default_format', format);
      // As the in-tab store writes them: 64-bit integers as numbers, non-finite floats as null.
      params.set('output_format_json_quote_64bit_integers', '0');
      params.set('output_format_json_quote_denormals', '0');
    }
    let init;
    if (body === undefined) {
      init = { method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: sql };
    } else {
      params.set('query', sql);
      init = { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-ndjson' }, body };
    }
    const res = await request(fetchFn, `${base}/?${params}`, init, retries);
    return format === 'JSON' ? endpoint(await res.json()) : res.text();
  }

  return {
    kind: 'clickhouse',
    database,
    /** Runs one SQL query (no templates) on the server, answering in endpoint shape. */
    async sql(query) {
      if (query.trimStart().startsWith('%')) {
        throw new Error('templated SQL runs in pipes; send plain SQL to a ClickHouse backend');
      }
      return run(query);
    },
    /** Runs a pipe: the SQL its endpoint node expands to, with `params` as checked literals. */
    async pipe(name, params = {}) {
      return run(planner.expand(name, params));
    },
    /**
     * Sends the rows of `source` (an EventStore) to the server: creates the database and the
     * table from the datasource when they do not exist, inserts `chunkRows` rows per request
     * (`INSERT ... FORMAT JSONEachRow`, retried on transient failures), reports progress with
     * `onProgress({ sent, total })`, and checks at the end that the server holds as many more
     * rows as were sent. Resolves to `{ sent, before, after }`.
     */
    async push(source, { chunkRows = 50_000, onProgress } = {}) {
      const table = source.datasourceName;
      await run(`CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '\\`')}\``, { format: null, db: 'default' });
      await run(source.createTableSql(database), { format: null });
      const count = async () => Number((await run(`SELECT count() AS n FROM \`${table}\``)).data[0]?.n ?? 0);
      const before = await count();
      const total = source.rowCount;
      let sent = 0;
      while (sent < total) {
        const page = source.sql(`SELECT * FROM \`${table}\` LIMIT ${chunkRows} OFFSET ${sent}`);
        if (page.data.length === 0) break;
        await run(`INSERT INTO \`${table}\` FORMAT JSONEachRow`, { body: ndjson(page.data), format: null });
        sent += page.data.length;
        onProgress?.({ sent, total });
      }
      const after = await count();
      if (after - before !== sent) {
        throw new Error(`push: sent ${sent} rows but the server holds ${after - before} more (${before} → ${after})`);
      }
      return { sent, before, after };
    },
  };
}

/** A parameter as Tinybird's endpoints read it from a URL. */
function tinybirdValue(v) {
  if (Array.isArray(v)) return v.map(tinybirdValue).join(',');
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return String(v);
}

/**
 * Tinybird's published endpoints (`GET /v0/pipes/<name>.json`) with a read token, and its
 * Events API for `push` (a token with append rights to the datasource).
 *
 * Parameters are encoded as Tinybird reads them: arrays comma-separated, `Date` values as
 * `YYYY-MM-DD HH:MM:SS` (UTC), everything else as text.
 *
 * @param {{ host: string, token: string, fetch?: typeof fetch, retries?: number }} options
 */
export function tinybirdBackend(options) {
  const { host, token } = options;
  const fetchFn = options.fetch ?? globalThis.fetch;
  const retries = options.retries ?? 3;
  if (!host) throw new Error('tinybirdBackend needs an API host');
  if (!token) throw new Error('tinybirdBackend needs a token');
  const base = host.replace(/\/+$/, '');
  const auth = { Authorization: `Bearer ${token}` };
  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) {
      if (v !== undefined && v !== null) q.set(k, tinybirdValue(v));
    }
    const s = q.toString();
    return s ? `?${s}` : '';
  };
  return {
    kind: 'tinybird',
    /** Calls the published endpoint of pipe `name`. */
    async pipe(name, params = {}) {
      const res = await request(fetchFn, `${base}/v0/pipes/${encodeURIComponent(name)}.json${query(params)}`, { headers: auth }, retries);
      return endpoint(await res.json());
    },
    /** Runs SQL through Tinybird's Query API (`GET /v0/sql`). */
    async sql(sql) {
      const res = await request(fetchFn, `${base}/v0/sql${query({ q: `${sql} FORMAT JSON` })}`, { headers: auth }, retries);
      return endpoint(await res.json());
    },
    /**
     * Sends the rows of `source` to the datasource of the same name through the Events API
     * (`POST /v0/events?name=<datasource>`, NDJSON, `chunkRows` rows per request, retried on
     * transient failures). Resolves to `{ sent }`: the Events API acknowledges rows it queued.
     */
    async push(source, { chunkRows = 10_000, onProgress } = {}) {
      const table = source.datasourceName;
      const total = source.rowCount;
      let sent = 0;
      while (sent < total) {
        const page = source.sql(`SELECT * FROM \`${table}\` LIMIT ${chunkRows} OFFSET ${sent}`);
        if (page.data.length === 0) break;
        await request(fetchFn, `${base}/v0/events${query({ name: table })}`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
          body: ndjson(page.data),
        }, retries);
        sent += page.data.length;
        onProgress?.({ sent, total });
      }
      return { sent };
    },
  };
}
