// Backends beyond the tab: the same calls the in-tab store answers (`pipe`, `sql`, `dimensions`,
// `stats`, and `quarantine` where the server keeps one), answered by a ClickHouse server over its
// HTTP interface or by Tinybird's published endpoints, and the loaded rows pushed there. The
// dashboard's Data source setting and `store.connect()` make them with `connectBackend()`.
//
// Credentials (a ClickHouse password, a Tinybird token) travel only in request headers; they are
// never put in a URL, stored, or logged, and are redacted from the error messages that quote a
// server's answer.

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

const encoder = new TextEncoder();

/** Resolves after `ms`, or rejects with the signal's AbortError once it is aborted. */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An Error for a request aborted through its signal, named like fetch's. */
function abortError() {
  return new DOMException('The request was aborted.', 'AbortError');
}

/**
 * `text` with every secret (a password, a token) replaced by `***`: error messages quote what a
 * server or proxy answered, and some echo request headers back.
 */
function redact(text, secrets) {
  let out = String(text);
  for (const secret of secrets) {
    if (secret) out = out.split(secret).join('***');
  }
  return out;
}

/**
 * `fetch` with retries on transient failures (network errors, HTTP 429 and 5xx other than a
 * query error), waiting 200 ms, 400 ms, ... between tries; `onRetry({ attempt, error })` is
 * called before each retry. An abort through `init.signal` ends it at once with an AbortError;
 * anything else is thrown with the server's message, any of `secrets` in it redacted.
 */
async function request(fetchFn, url, init, { retries, onRetry, secrets = [] }) {
  const signal = init.signal;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortError();
    let res;
    let error;
    try {
      res = await fetchFn(url, init);
    } catch (e) {
      if (e?.name === 'AbortError' || signal?.aborted) throw abortError();
      error = redact(`request failed: ${e?.message ?? e} (is the server reachable, and does it allow this page's origin?)`, secrets);
    }
    if (res?.ok) return res;
    if (res) {
      const text = redact(await res.text(), secrets);
      // ClickHouse answers a failed query with HTTP 500 and "Code: N. DB::Exception": not transient.
      const queryError = /^Code: \d+\./.test(text);
      const transient = res.status === 429 || (res.status >= 500 && !queryError);
      error = `HTTP ${res.status}: ${text.trim().slice(0, 2000)}`;
      if (!transient) throw new Error(error);
    }
    if (attempt >= retries) throw new Error(error);
    onRetry?.({ attempt: attempt + 1, error });
    await sleep(200 * 2 ** attempt, signal);
  }
}

/**
 * The rows of `source` (an EventStore, or the worker store of `createStore()`, whose calls
 * return promises), `chunkRows` at a time in storage order, each handed to `send(body, rows)`
 * as NDJSON bytes. The next chunk is read and encoded while one is being sent, so at most two
 * are held. Resolves to the number of rows sent.
 */
async function pushRows(source, chunkRows, send, onProgress, signal) {
  const table = source.datasourceName;
  const total = typeof source.rowCount === 'number' ? source.rowCount : (await source.stats()).rowCount;
  const read = (offset) => {
    const chunk = Promise.resolve(source.sql(`SELECT * FROM \`${table}\` LIMIT ${chunkRows} OFFSET ${offset}`))
      .then((page) => ({ rows: page.data.length, body: encoder.encode(ndjson(page.data)) }));
    // Awaited on the next turn; a push that fails before then leaves it unobserved.
    chunk.catch(() => {});
    return chunk;
  };
  let sent = 0;
  let bytes = 0;
  const started = Date.now();
  let next = total > 0 ? read(0) : null;
  while (next !== null) {
    if (signal?.aborted) throw abortError();
    const { rows, body } = await next;
    if (rows === 0) break;
    next = sent + rows < total ? read(sent + rows) : null;
    await send(body, rows);
    sent += rows;
    bytes += body.byteLength;
    onProgress?.({ sent, total, bytes, seconds: (Date.now() - started) / 1000 });
  }
  // Rows read page by page against the count taken at the start: a store that changed
  // meanwhile (a load, a store file opened, Forget) was not pushed as it is.
  const end = typeof source.rowCount === 'number' ? source.rowCount : (await source.stats()).rowCount;
  if (sent !== total || end !== total) {
    throw new Error(`push: the store changed while it was pushed (${total} rows at the start, ${end} at the end, ` +
      `${sent} sent); push again`);
  }
  return sent;
}

/** `name` quoted as a ClickHouse identifier. */
function ident(name) {
  return `\`${String(name).replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/**
 * Endpoint stats of a server: `{ rowCount, quarantinedCount, storeBytes }` as the in-tab store
 * answers them, from the `llm_dimensions` rows (requests per model); the server's storage is
 * not this page's memory, so `storeBytes` is null.
 */
function statsFrom(dimensions, quarantinedCount = null) {
  const rowCount = dimensions.data.reduce((n, r) => n + Number(r.requests ?? 0), 0);
  return { rowCount, quarantinedCount, storeBytes: null };
}

/**
 * A ClickHouse server over its HTTP interface.
 *
 * `planner` renders pipes: an `EventStore` of this package, or the worker store of
 * `createStore()` (its `expand(name, params)` gives the SQL ClickHouse runs, templates rendered
 * in wasm with each parameter a literal checked against its type; its `datasourceName` names
 * the table, and `createTableSql` describes the table `push` fills).
 *
 * @param {{ url: string, user?: string, password?: string, database?: string,
 *   planner: { expand(name: string, params?: object): string | Promise<string> },
 *   table?: string, fetch?: typeof fetch, retries?: number }} options
 */
export function clickHouseBackend(options) {
  const { url, user, password, planner } = options;
  const database = options.database || 'default';
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = options.retries ?? 3;
  if (!url) throw new Error('clickHouseBackend needs a server url');
  if (!planner) throw new Error('clickHouseBackend needs a planner (an EventStore) to render pipes');
  let base;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password || parsed.searchParams.has('user') || parsed.searchParams.has('password')) {
      throw new Error('put the user and password in their own fields, not in the URL');
    }
    if (parsed.search || parsed.hash) throw new Error('the URL must have no query string or fragment: settings go in their own fields');
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('the URL must start with http:// or https://');
    base = parsed.href.replace(/\/+$/, '');
  } catch (e) {
    throw new Error(`Not a ClickHouse URL: ${redact(e.message, [password])}`);
  }
  const headers = {};
  if (user) headers['X-ClickHouse-User'] = user;
  if (password) headers['X-ClickHouse-Key'] = password;
  const secrets = [password];

  /** Runs `sql` in `database`; `format` JSON answers in endpoint shape. */
  async function run(sql, { body, format = 'JSON', db = database, signal, onRetry } = {}) {
    const params = new URLSearchParams({ database: db });
    if (format) {
      params.set('default_format', format);
      // As the in-tab store writes them: 64-bit integers as numbers, non-finite floats as null.
      params.set('output_format_json_quote_64bit_integers', '0');
      params.set('output_format_json_quote_denormals', '0');
    }
    let init;
    if (body === undefined) {
      init = { method: 'POST', headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }, body: sql, signal };
    } else {
      params.set('query', sql);
      init = { method: 'POST', headers: { ...headers, 'Content-Type': 'application/x-ndjson' }, body, signal };
    }
    const res = await request(fetchFn, `${base}/?${params}`, init, { retries, onRetry, secrets });
    return format === 'JSON' ? endpoint(await res.json()) : res.text();
  }

  const backend = {
    kind: 'clickhouse',
    /** The server's URL, the user (without the password) and the database. */
    url: base,
    user: user || 'default',
    database,
    /**
     * The table check() looks for: the `table` option, else the planner's datasource as it is
     * now (a store file opened since may have changed it).
     */
    get table() {
      return options.table ?? planner.datasourceName ?? 'llm_events';
    },
    /** Where the data is read from, without credentials: "URL, database D". */
    label: `ClickHouse at ${base}, database ${database}`,
    /** Runs one SQL query (no templates) on the server, answering in endpoint shape. */
    async sql(query, params, { signal } = {}) {
      if (query.trimStart().startsWith('%')) {
        throw new Error('templated SQL runs in pipes; send plain SQL to a ClickHouse backend');
      }
      return run(query, { signal });
    },
    /** Runs a pipe: the SQL its endpoint node expands to, with `params` as checked literals. */
    async pipe(name, params = {}, { signal } = {}) {
      return run(await planner.expand(name, params ?? {}), { signal });
    },
    /** The models with their request counts and time spans (the `llm_dimensions` pipe). */
    dimensions({ signal } = {}) {
      return backend.pipe('llm_dimensions', {}, { signal });
    },
    /** `{ rowCount, quarantinedCount: null, storeBytes: null }`: ClickHouse has no quarantine. */
    async stats({ signal } = {}) {
      return statsFrom(await backend.dimensions({ signal }));
    },
    /**
     * Checks that the server answers with these credentials; resolves to `{ tableExists }`
     * (false until a push creates the table). Rejects with the server's message.
     */
    async check({ signal } = {}) {
      // In the default database: the one named may not exist before the first push.
      const r = await run(`EXISTS TABLE ${ident(database)}.${ident(backend.table)}`, { signal, db: 'default' });
      const value = r.data[0] ? Object.values(r.data[0])[0] : 0;
      return { tableExists: Number(value) === 1 };
    },
    /**
     * Sends the rows of `source` (an EventStore or a `createStore()` store) to the server:
     * creates the database and the table from the datasource when they do not exist, inserts
     * `chunkRows` rows per request (`INSERT ... FORMAT JSONEachRow`, retried on transient
     * failures, each retry reported to `onRetry({ attempt, error })`), reports progress with
     * `onProgress({ sent, total, bytes, seconds })`, and checks at the end that the server
     * holds as many more rows as were sent. Resolves to `{ sent, before, after, bytes }`.
     */
    async push(source, { chunkRows = 50_000, onProgress, onRetry, signal } = {}) {
      const name = source.datasourceName;
      await run(`CREATE DATABASE IF NOT EXISTS ${ident(database)}`, { format: null, db: 'default', signal, onRetry });
      await run(await source.createTableSql(database), { format: null, signal, onRetry });
      const count = async () => Number((await run(`SELECT count() AS n FROM ${ident(name)}`, { signal, onRetry })).data[0]?.n ?? 0);
      const before = await count();
      let bytes = 0;
      const sent = await pushRows(source, chunkRows, async (body) => {
        await run(`INSERT INTO ${ident(name)} FORMAT JSONEachRow`, { body, format: null, signal, onRetry });
        bytes += body.byteLength;
      }, onProgress, signal);
      const after = await count();
      if (after - before !== sent) {
        throw new Error(`push: sent ${sent} rows but the server holds ${after - before} more (${before} → ${after})`);
      }
      return { sent, before, after, bytes };
    },
  };
  return backend;
}

/** A parameter as Tinybird's endpoints read it from a URL. */
function tinybirdValue(v) {
  if (Array.isArray(v)) return v.map(tinybirdValue).join(',');
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return String(v);
}

/**
 * Tinybird's published endpoints (`GET /v0/pipes/<name>.json`) with a read token, its Query API
 * for SQL and the quarantine, and its Events API for `push` (with `appendToken` when given: a
 * token with append rights to the datasource).
 *
 * Parameters are encoded as Tinybird reads them: arrays comma-separated, `Date` values as
 * `YYYY-MM-DD HH:MM:SS` (UTC), everything else as text.
 *
 * @param {{ host: string, token: string, appendToken?: string, datasource?: string,
 *   fetch?: typeof fetch, retries?: number }} options
 */
export function tinybirdBackend(options) {
  const { host, token } = options;
  const appendToken = options.appendToken || token;
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = options.retries ?? 3;
  if (!host) throw new Error('tinybirdBackend needs an API host');
  if (!token) throw new Error('tinybirdBackend needs a token');
  let base;
  try {
    const parsed = new URL(host);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('the host must start with http:// or https://');
    base = parsed.href.replace(/\/+$/, '');
  } catch (e) {
    throw new Error(`Not a Tinybird API host: ${redact(e.message, [token, appendToken])}`);
  }
  const table = options.datasource ?? 'llm_events';
  const secrets = [token, appendToken];
  const auth = { Authorization: `Bearer ${token}` };
  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params ?? {})) {
      if (v !== undefined && v !== null) q.set(k, tinybirdValue(v));
    }
    const s = q.toString();
    return s ? `?${s}` : '';
  };
  const get = async (path, params, signal) => {
    const res = await request(fetchFn, `${base}${path}${query(params)}`, { headers: auth, signal }, { retries, secrets });
    return endpoint(await res.json());
  };
  const backend = {
    kind: 'tinybird',
    /** The API host (the token is not exposed). */
    host: base,
    table,
    /** Where the data is read from, without the token. */
    label: `Tinybird at ${base}`,
    /** Calls the published endpoint of pipe `name`. */
    pipe(name, params = {}, { signal } = {}) {
      return get(`/v0/pipes/${encodeURIComponent(name)}.json`, params, signal);
    },
    /** Runs SQL through Tinybird's Query API (`GET /v0/sql`). */
    sql(sql, params, { signal } = {}) {
      if (sql.trimStart().startsWith('%')) {
        return Promise.reject(new Error('templated SQL runs in pipes; publish it as a Tinybird pipe'));
      }
      return get('/v0/sql', { q: `${sql} FORMAT JSON` }, signal);
    },
    /** The models with their request counts and time spans (the `llm_dimensions` endpoint). */
    dimensions({ signal } = {}) {
      return backend.pipe('llm_dimensions', {}, { signal });
    },
    /**
     * `{ rowCount, quarantinedCount, storeBytes: null }`: rows from `llm_dimensions`, and the
     * rows of the datasource's quarantine when the token may read it (else null).
     */
    async stats({ signal } = {}) {
      const [dimensions, quarantined] = await Promise.all([
        backend.dimensions({ signal }),
        backend.sql(`SELECT count() AS n FROM ${table}_quarantine`, undefined, { signal })
          .then((r) => Number(r.data[0]?.n ?? 0), () => null),
      ]);
      return statsFrom(dimensions, quarantined);
    },
    /**
     * A page of the datasource's quarantine (`<datasource>_quarantine`, through the Query API;
     * the token needs `DATASOURCES:READ` on it), newest first: `{ offset, limit }`, defaults 0
     * and 100.
     */
    quarantine(page = {}, { signal } = {}) {
      const limit = Math.max(0, Math.min(10_000, Math.trunc(page.limit ?? 100)));
      const offset = Math.max(0, Math.trunc(page.offset ?? 0));
      return backend.sql(`SELECT * FROM ${table}_quarantine ORDER BY insertion_date DESC LIMIT ${limit} OFFSET ${offset}`,
        undefined, { signal });
    },
    /** Checks that the host answers the `llm_dimensions` endpoint with this token. */
    async check({ signal } = {}) {
      await backend.dimensions({ signal });
      return { tableExists: true };
    },
    /**
     * Sends the rows of `source` to the datasource of the same name through the Events API
     * (`POST /v0/events?name=<datasource>`, NDJSON, `chunkRows` rows per request, retried on
     * transient failures). Resolves to `{ sent, successful, quarantined, bytes }`, the last two
     * summed from Tinybird's answers (`successful_rows`, `quarantined_rows`); fails unless they
     * account for every row sent.
     */
    async push(source, { chunkRows = 10_000, onProgress, onRetry, signal } = {}) {
      const name = source.datasourceName;
      let successful = 0;
      let quarantined = 0;
      let bytes = 0;
      const sent = await pushRows(source, chunkRows, async (body, rows) => {
        const res = await request(fetchFn, `${base}/v0/events${query({ name })}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${appendToken}`, 'Content-Type': 'application/x-ndjson' },
          body,
          signal,
        }, { retries, onRetry, secrets });
        const answer = await res.json().catch(() => ({}));
        successful += Number(answer.successful_rows ?? rows);
        quarantined += Number(answer.quarantined_rows ?? 0);
        bytes += body.byteLength;
      }, onProgress, signal);
      if (successful + quarantined !== sent) {
        throw new Error(`push: sent ${sent} rows but Tinybird acknowledged ${successful} and quarantined ${quarantined}`);
      }
      return { sent, successful, quarantined, bytes };
    },
  };
  return backend;
}

/**
 * A backend from a setting: `{ kind: 'clickhouse', url, user?, password?, database? }` or
 * `{ kind: 'tinybird', host, token, appendToken? }`. `planner` renders pipes for ClickHouse
 * (an EventStore or a `createStore()` store).
 */
export function connectBackend(config, { planner, fetch, retries } = {}) {
  const extra = {};
  if (fetch) extra.fetch = fetch;
  if (retries !== undefined) extra.retries = retries;
  switch (config?.kind) {
    case 'clickhouse':
      return clickHouseBackend({
        url: config.url, user: config.user, password: config.password, database: config.database, planner, ...extra,
      });
    case 'tinybird':
      return tinybirdBackend({ host: config.host, token: config.token, appendToken: config.appendToken, ...extra });
    default:
      throw new Error(`Unknown backend kind '${config?.kind}': use 'clickhouse' or 'tinybird'`);
  }
}
