// createStore(): an EventStore in a Web Worker behind a small promise-based client, so that
// ingest and queries never block the page. This is the API for embedding without any UI:
//
//   import { createStore } from './store.js';
//   const store = await createStore();
//   await store.loadFile(file, { onProgress: (p) => console.log(p.rows) });
//   const kpis = await store.pipe('llm_kpis', { models: ['gpt-4o'] });
//
// Types: store.d.ts.

import { connectBackend } from './backends.js';

/**
 * Starts a worker with an empty store for the llm_events datasource and resolves with its
 * client once the engine is running. `options` is { maxBytes, maxLineBytes, maxResultRows,
 * maxResultBytes }, as for `new EventStore()`, and `persist`: true keeps the store in the
 * Origin Private File System (saved after each load, reopened here by the next createStore
 * with persist; see MetricsStore.persistence).
 */
export async function createStore(options = {}) {
  const persist = Boolean(options.persist);
  let client = new MetricsStore(startWorker(), pickOptions(options), persist);
  try {
    await client._open();
  } catch (err) {
    client._terminate();
    if (!persist) throw err;
    // The engine may have crashed reopening the saved store, which is then kept aside under
    // another name: a second start opens without it, and says so in persistence.error.
    client = new MetricsStore(startWorker(), pickOptions(options), persist);
    try {
      await client._open(true, true);
    } catch (again) {
      client._terminate();
      throw again;
    }
    client._reopenFailed(err.message);
  }
  return client;
}

function startWorker() {
  // Written out in one expression, as bundlers (Vite, webpack) recognise it: they then bundle
  // worker.js with the wasm module it imports and rewrite the URL.
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'llm-metrics' });
}

function pickOptions(options) {
  const picked = {};
  for (const key of ['maxBytes', 'maxLineBytes', 'maxResultRows', 'maxResultBytes']) {
    if (options[key] !== undefined) picked[key] = options[key];
  }
  return picked;
}

/** An Error for a query aborted through its signal, named like fetch's. */
function abortError() {
  return new DOMException('The query was aborted.', 'AbortError');
}

/**
 * The client of one worker-backed store. Loads run one after another in the order they were
 * asked; queries run between their chunks. Dispatches 'change' events ({ detail: { final,
 * stats } }) when the stored data changes: about once a second while rows stream in
 * (final: false) and when the last queued load ends (final: true).
 *
 * Should the engine ever crash (a panic: a bug), the request it struck rejects with an Error
 * naming the panic ("llm-metrics panicked: <message> at src/..."), every other pending or later
 * request rejects with "the store was lost after a crash: <message>; reload the data", the
 * worker is stopped, and a 'lost' event ({ detail: { message } }) is dispatched. recover()
 * then starts a fresh, empty engine in a new worker; the data must be loaded again.
 */
export class MetricsStore extends EventTarget {
  #worker;
  #options;
  #persist;
  #persistence = { enabled: false, available: false };
  #nextId = 1;
  #pending = new Map();
  #closed = false;
  /** The panic's message while the store is lost, else null. */
  #lost = null;

  constructor(worker, options = {}, persist = false) {
    super();
    this.#options = options;
    this.#persist = persist;
    this.#attach(worker);
  }

  #attach(worker) {
    this.#worker = worker;
    worker.onmessage = (event) => this.#receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new Error(`The store's worker failed: ${event.message || 'could not start'}`));
    };
  }

  /**
   * Opens the engine of the current worker; with persist, reopens the saved store unless
   * `reopen` is false. `afterCrash`: the engine crashed in the last start, so a saved store
   * whose reopen never ended is moved aside instead of read again.
   */
  async _open(reopen = true, afterCrash = false) {
    const value = await this._request({
      op: 'open', options: this.#options, persist: this.#persist, reopen, afterCrash,
    });
    this.#persistence = value.persistence;
    this.#datasourceName = value.datasourceName;
    return value;
  }

  /** Says in persistence.error that the first start failed (`message`) reopening the saved store. */
  _reopenFailed(message) {
    const p = this.#persistence;
    if (p.available && !p.reopened && !p.error) {
      p.error = `The saved store could not be reopened: ${message}; it was kept as ` +
        'llm-metrics/store.llmstore.unreadable-<time>.';
    }
  }

  /**
   * What the store keeps in the Origin Private File System: { enabled, available, reason?,
   * reopened?, error?, saved? }. `available` is false where the page has no OPFS (or a private
   * window refuses it), with the `reason`; `reopened` is { rows, quarantined, bytes, savedAt,
   * seconds } when the store was reopened from a saved file as it opened, `error` says why a
   * saved file could not be; `saved` is { rows, bytes, savedAt, seconds } of the last save.
   */
  get persistence() {
    return structuredClone(this.#persistence);
  }

  #datasourceName = 'llm_events';

  /** The name of the datasource the store holds: the table its SQL reads and a push fills. */
  get datasourceName() {
    return this.#datasourceName;
  }

  _terminate() {
    this.#worker.terminate();
  }

  /** The panic's message when the engine crashed and recover() has not run since, else null. */
  get lost() {
    return this.#lost;
  }

  /**
   * After a crash: starts a fresh engine in a new worker, with the options the store was
   * created with, and resolves once it runs. The new store has only the shipped pipes; it is
   * empty, or with persist holds the saved store reopened (persistence.reopened), so that the
   * saved file is not replaced by what is loaded again. Resolves at once when the store is not
   * lost.
   */
  async recover() {
    if (this.#lost === null || this.#closed) return;
    if (!this.#recovering) {
      this.#attach(startWorker());
      // With persist the saved store is reopened (unless it is what crashed the engine: it was
      // then moved aside); the caller loads again only what was not saved.
      this.#recovering = this._open(!this.#persistence.stale).then(() => {
        this.#lost = null;
      }).finally(() => {
        this.#recovering = null;
      });
    }
    await this.#recovering;
  }

  #recovering = null;

  #lostError() {
    return new Error(`the store was lost after a crash: ${this.#lost}; reload the data`);
  }

  #onLost({ id, message, error }) {
    this.#lost = message;
    this.#worker.terminate();
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [pendingId, p] of pending) {
      p.cleanup?.();
      p.reject(pendingId === id ? new Error(error) : this.#lostError());
    }
    this.dispatchEvent(new CustomEvent('lost', { detail: { message } }));
  }

  #receive(msg) {
    if (msg.event === 'lost') {
      this.#onLost(msg);
      return;
    }
    if (msg.event === 'saved') {
      this.#persistence = msg.persistence;
      this.dispatchEvent(new CustomEvent('saved', { detail: msg.persistence.saved }));
      return;
    }
    if (msg.event === 'persistence') {
      this.#persistence = msg.persistence;
      this.dispatchEvent(new CustomEvent('persistence', { detail: msg.persistence }));
      return;
    }
    if (msg.event === 'save-failed') {
      this.dispatchEvent(new CustomEvent('save-failed', { detail: { error: msg.error } }));
      return;
    }
    if (msg.event === 'change') {
      this.dispatchEvent(new CustomEvent('change', { detail: { final: msg.final, stats: msg.stats } }));
      return;
    }
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    if (msg.progress) {
      pending.onProgress?.(msg.progress);
      return;
    }
    this.#pending.delete(msg.id);
    pending.cleanup?.();
    if (msg.ok) pending.resolve(msg.value);
    else pending.reject(msg.aborted ? abortError() : new Error(msg.error));
  }

  #failAll(err) {
    this.#closed = true;
    for (const pending of this.#pending.values()) {
      pending.cleanup?.();
      pending.reject(err);
    }
    this.#pending.clear();
  }

  /** Sends one request and resolves with its answer. */
  _request(message, { signal, onProgress, cancelOp = 'abort', transfer = [] } = {}) {
    if (this.#closed) return Promise.reject(new Error('The store is closed.'));
    if (this.#lost !== null && message.op !== 'open') return Promise.reject(this.#lostError());
    if (signal?.aborted && cancelOp === 'abort') return Promise.reject(abortError());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const pending = { resolve, reject, onProgress };
      if (signal) {
        const onAbort = () => this.#worker.postMessage({ op: cancelOp, target: id });
        signal.addEventListener('abort', onAbort, { once: true });
        pending.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#pending.set(id, pending);
      this.#worker.postMessage({ ...message, id }, transfer);
      if (signal?.aborted) this.#worker.postMessage({ op: cancelOp, target: id });
    });
  }

  #load(source, { name, format, time, workers, signal, onProgress } = {}, transfer = []) {
    return this._request({ op: 'load', source, name, format, time, workers }, { signal, onProgress, cancelOp: 'cancel', transfer });
  }

  /**
   * Streams a File (or Blob with `name`) into the store; gzip is recognised by its magic bytes.
   * `workers` (default: the cores, at most 4, for files of 64 MiB and more) reads a large file
   * on several threads, with exactly the result of one (see LoadOptions.workers).
   */
  loadFile(file, options = {}) {
    return this.#load({ kind: 'file', file }, { name: file.name, ...options });
  }

  /**
   * Fetches a URL and streams its body into the store. `token`, when given, is sent only as an
   * `Authorization: Bearer` header.
   */
  loadUrl(url, { token, ...options } = {}) {
    const absolute = new URL(url, globalThis.document?.baseURI ?? globalThis.location.href).href;
    return this.#load({ kind: 'url', url: absolute, token: token || undefined }, options);
  }

  /** Streams `generateSample(rows, seed)` events into the store. */
  loadSample(rows = 100000, seed = 42, options = {}) {
    return this.#load({ kind: 'sample', rows, seed }, options);
  }

  /** Streams a ReadableStream of bytes into the store; the stream is transferred. */
  loadStream(stream, { totalBytes, ...options } = {}) {
    return this.#load({ kind: 'stream', stream, totalBytes }, options, [stream]);
  }

  /** Streams bytes already in memory into the store; the buffer is copied. */
  loadBytes(bytes, options = {}) {
    return this.#load({ kind: 'bytes', bytes }, options);
  }

  /** Runs a pipe with optional parameters. */
  pipe(name, params, { signal } = {}) {
    return this._request({ op: 'pipe', name, params }, { signal });
  }

  /** Runs one SQL query (templated with `params` when it starts with `%`). */
  sql(query, params, { signal } = {}) {
    return this._request({ op: 'sql', query, params }, { signal });
  }

  /** Adds or replaces a pipe from the text of a .pipe file; resolves with its name. */
  addPipe(text) {
    return this._request({ op: 'addPipe', text });
  }

  /** A page of the quarantine table: { offset, limit }, defaults 0 and 100. */
  quarantine(page, { signal } = {}) {
    return this._request({ op: 'quarantine', page }, { signal });
  }

  /** The names of the pipes the store can run. */
  pipeNames() {
    return this._request({ op: 'pipeNames' });
  }

  /** The names of the log formats a load's `format` option takes (`formatNames()` of the engine). */
  formatNames() {
    return this._request({ op: 'formatNames' });
  }

  /** The models with their request counts, first and last event times (`llm_dimensions`). */
  dimensions({ signal } = {}) {
    return this.pipe('llm_dimensions', undefined, { signal });
  }

  /**
   * The SQL ClickHouse runs for a pipe: templates rendered with each parameter a literal
   * checked against its type, earlier nodes as `WITH` clauses.
   */
  expand(name, params) {
    return this._request({ op: 'expand', name, params });
  }

  /** `CREATE TABLE IF NOT EXISTS database.<datasource>` for ClickHouse, from the datasource. */
  createTableSql(database) {
    return this._request({ op: 'createTableSql', database });
  }

  /**
   * Recomputes the stored rows' costs under a price table (the text of a `genai-prices.json`;
   * by default the one the store costs loads with): rows whose `cost_source` is neither `log`
   * nor empty get the table's cost, or 0 and `unpriced`. Resolves with
   * `{ repriced, unpriced, kept_from_log, source }`.
   */
  reprice(prices = null) {
    return this._request({ op: 'reprice', prices });
  }

  /**
   * A backend on a server that answers the same calls as this store (`pipe`, `sql`,
   * `dimensions`, `stats`, and `quarantine` on Tinybird) and pushes this store's rows there:
   * `{ kind: 'clickhouse', url, user?, password?, database? }` or `{ kind: 'tinybird', host,
   * token, appendToken? }`. ClickHouse pipes are rendered by this store. Credentials are kept
   * only by the returned object and sent only in request headers.
   */
  connect(config, options = {}) {
    return connectBackend(config, { ...options, planner: this });
  }

  /** { rowCount, quarantinedCount, storeBytes }. */
  stats() {
    return this._request({ op: 'stats' });
  }

  /**
   * The store as a store file (a Blob), to download and reopen elsewhere with openStoreFile().
   */
  exportStore() {
    return this._request({ op: 'exportStore' });
  }

  /**
   * Replaces the store's data with a store file's (a File or Blob from exportStore()), in turn
   * with the loads; the pipes added stay. Resolves with { rowCount, quarantinedCount,
   * storeBytes, seconds }; rejects, keeping the data, for a damaged file or one over maxBytes.
   * With persist, the store is then saved.
   */
  async openStoreFile(file) {
    const value = await this._request({ op: 'openStoreFile', file });
    if (value.datasourceName) this.#datasourceName = value.datasourceName;
    return value;
  }

  /** Saves the store to the Origin Private File System now; resolves with `persistence`. */
  async save() {
    this.#persistence = await this._request({ op: 'save' });
    return this.persistence;
  }

  /**
   * Deletes the saved store from the Origin Private File System and empties the store (the
   * pipes added stay). Resolves with { rowCount, quarantinedCount, storeBytes, persistence }.
   */
  async forget() {
    const value = await this._request({ op: 'forget' });
    this.#persistence = value.persistence;
    if (value.datasourceName) this.#datasourceName = value.datasourceName;
    return value;
  }

  /** Cancels running loads, frees the store's memory and stops the worker. */
  async close() {
    if (this.#closed) return;
    if (this.#lost !== null) {
      // Nothing left to free: the crashed worker is gone; a new one starting is stopped.
      this.#closed = true;
      this.#worker.terminate();
      return;
    }
    try {
      await this._request({ op: 'close' });
    } finally {
      this.#worker.terminate();
      // Requests still waiting (a load cancelled by the close) get no answer from a stopped worker.
      this.#failAll(new Error('The store is closed.'));
    }
  }
}
