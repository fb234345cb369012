// Types for store.js: createStore() and the worker-backed store it returns. Report and Endpoint
// are the wasm package's own types (pkg/llm_metrics.d.ts, emitted by wasm-bindgen).

import type { Endpoint, Report } from './pkg/llm_metrics.js';
import type { BackendConfig, ClickHouseBackend, TinybirdBackend } from './backends.js';

export type { Endpoint, Report };

/**
 * Options of `new EventStore()`: the store's memory budget and longest line, in bytes, and what
 * one query may return (ClickHouse's `max_result_rows` and `max_result_bytes`). What `maxBytes`
 * leaves free beside the stored rows also bounds what one query builds (JOINs, aggregate states,
 * arrays and `groupArray` values, counted by their bytes): a query past it is an `Error` naming
 * `maxBytes`.
 */
export interface StoreOptions {
  maxBytes?: number;
  maxLineBytes?: number;
  maxResultRows?: number;
  maxResultBytes?: number;
  /**
   * Keep the store in the Origin Private File System: saved after the loads queued have ended,
   * and reopened by the next `createStore({ persist: true })` of the same origin.
   */
  persist?: boolean;
}

/** A store file written to, or read from, the Origin Private File System. */
export interface SavedStore {
  rows: number;
  /** Bytes of the store file. */
  bytes: number;
  /** When it was written, epoch milliseconds. */
  savedAt: number;
  /** Seconds the save (or the reopening) took. */
  seconds: number;
}

/** What the store keeps in the Origin Private File System. */
export interface Persistence {
  /** `persist: true` was asked for. */
  enabled: boolean;
  /** The page can write OPFS files here; false without OPFS or in a private window refusing it. */
  available: boolean;
  /** Why it cannot, when `available` is false. */
  reason?: string;
  /** The saved store the store was reopened from as it opened. */
  reopened?: SavedStore & { quarantined: number };
  /**
   * Why a saved store could not be reopened (damaged, of another version, over `maxBytes`, or
   * the engine crashed reading it); the store is empty and the file was renamed
   * `store.llmstore.unreadable-<time>`, so that no save overwrites it.
   */
  error?: string;
  /**
   * Another tab of the origin saved its store since: this one no longer saves after loads (a
   * `persistence` event tells; `save()` saves it again).
   */
  stale?: boolean;
  /** The last save, or the file reopened. */
  saved?: SavedStore;
}

/** Pipe parameters, such as `{ start_date: '2024-10-01 00:00:00', models: ['gpt-4o'] }`. */
export type Params = Record<string, string | number | boolean | string[] | number[]>;

/** Sent about every 100 ms while a load runs. */
export interface LoadProgress {
  stream: string;
  /** Bytes read from the source so far (compressed bytes for a gzip file). */
  sourceBytes: number;
  /** The source's size in bytes, or null when unknown (a URL without Content-Length). */
  totalBytes: number | null;
  /** Rows of this stream stored so far. */
  rows: number;
  /** Lines of this stream quarantined so far. */
  quarantined: number;
  /** Seconds since the load started. */
  seconds: number;
}

/**
 * How a load ended: its stream's report plus the outcome. A cancelled or failed load keeps the
 * whole lines it stored before stopping; an incomplete last line is dropped.
 */
export interface LoadResult extends Report {
  status: 'done' | 'cancelled' | 'failed';
  /** Why a failed load failed. */
  error?: string;
  sourceBytes: number;
  totalBytes: number | null;
  seconds: number;
}

export interface LoadOptions {
  /** The stream's name in its report (default: the file name, the URL, or a sample label). */
  name?: string;
  /** The format of the stream's lines, a name from `formatNames()` (default: detected per line). */
  format?: string;
  /** Epoch milliseconds for records without a time (default: a file's `lastModified`, else now). */
  time?: number;
  /**
   * Threads that read a File or Blob (loadFile only): each reads a range of whole lines into a
   * store of its own, and the store appends them in order, so the result is exactly that of
   * one thread. Default: `navigator.hardwareConcurrency` (at most 4) for files of 64 MiB and
   * more, else 1. A file is read by one thread whatever this says when it is gzip, a JSON
   * document or CSV, the store holds another schema than the shipped one, or its lines are of
   * a format with state across lines (a vendor log format; only the canonical shape is read
   * apart): the first MiB decides, and each part's report confirms before it is appended.
   */
  workers?: number;
  /** Aborting cancels the load; its promise then resolves with status 'cancelled'. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgress) => void;
}

export interface QueryOptions {
  /** Aborting before the query runs rejects it with an AbortError. */
  signal?: AbortSignal;
}

export interface StoreStats {
  rowCount: number;
  quarantinedCount: number;
  storeBytes: number;
}

export interface ChangeDetail {
  /** True when the last queued load has ended; false while rows stream in. */
  final: boolean;
  stats: StoreStats;
}

export interface SaveFailedDetail {
  error: string;
}

export interface LostDetail {
  /** The panic's message and location, e.g. "index out of bounds: ... at src/...:12:5". */
  message: string;
}

/**
 * An EventStore living in a Web Worker. Loads run one after another, in the order asked;
 * queries run between their chunks. Dispatches `change` events (CustomEvent<ChangeDetail>).
 *
 * If the engine crashes (a panic, which is a bug), the request it struck rejects with an Error
 * "llm-metrics panicked: <message>", every other pending or later request rejects with "the
 * store was lost after a crash: <message>; reload the data", and a `lost` event
 * (CustomEvent<LostDetail>) is dispatched; `recover()` starts a fresh engine, empty or, with
 * `persist`, holding the saved store reopened.
 */
export declare class MetricsStore extends EventTarget {
  /** The panic's message while the store is lost (until `recover()`), else null. */
  readonly lost: string | null;
  /** What the store keeps in the Origin Private File System (a copy). */
  readonly persistence: Persistence;
  /** The store as a store file, to download and reopen elsewhere with `openStoreFile()`. */
  exportStore(): Promise<Blob>;
  /**
   * Replaces the data with a store file's, in turn with the loads; the pipes added stay.
   * Rejects, keeping the data, for a damaged file or one that does not fit in `maxBytes`
   * beside the data in use (both are held while the file is read).
   */
  openStoreFile(file: File | Blob): Promise<StoreStats & { seconds: number }>;
  /** Saves to the Origin Private File System now (with `persist: true`). */
  save(): Promise<Persistence>;
  /** Deletes the saved store from the Origin Private File System and empties the store. */
  forget(): Promise<StoreStats & { persistence: Persistence }>;
  /**
   * Starts a fresh engine in a new worker after a crash and resolves once it runs; the store
   * is then empty (with `persist`, the saved store reopened), with the shipped pipes only.
   * Resolves at once when the store is not lost.
   */
  recover(): Promise<void>;
  /** Streams a File or Blob; gzip is recognised by its first two bytes. */
  loadFile(file: File | Blob, options?: LoadOptions): Promise<LoadResult>;
  /** Fetches a URL and streams its body; `token` goes only into an Authorization: Bearer header. */
  loadUrl(url: string | URL, options?: LoadOptions & { token?: string }): Promise<LoadResult>;
  /** Streams `generateSample(rows, seed)` events (defaults 100,000 and 42). */
  loadSample(rows?: number, seed?: number, options?: LoadOptions): Promise<LoadResult>;
  /** Streams a ReadableStream of bytes; the stream is transferred to the worker. */
  loadStream(stream: ReadableStream<Uint8Array>, options?: LoadOptions & { totalBytes?: number }): Promise<LoadResult>;
  /** Streams bytes already in memory (copied to the worker). */
  loadBytes(bytes: Uint8Array, options?: LoadOptions): Promise<LoadResult>;
  pipe(name: string, params?: Params, options?: QueryOptions): Promise<Endpoint>;
  /** One SQL query; templated with `params` when it starts with `%`. */
  sql(query: string, params?: Params, options?: QueryOptions): Promise<Endpoint>;
  /** Adds or replaces a pipe from the text of a .pipe file; resolves with its name. */
  addPipe(text: string): Promise<string>;
  /** A page of the quarantine table (defaults: offset 0, limit 100). */
  quarantine(page?: { offset?: number; limit?: number }, options?: QueryOptions): Promise<Endpoint>;
  pipeNames(): Promise<string[]>;
  /** The names of the log formats a load's `format` option takes (`llm_events`, `openai_chat`, ...). */
  formatNames(): Promise<string[]>;
  stats(): Promise<StoreStats>;
  /** The datasource the store holds (the table its SQL reads and a push fills): llm_events. */
  readonly datasourceName: string;
  /** The models with their request counts, first and last event times (`llm_dimensions`). */
  dimensions(options?: QueryOptions): Promise<Endpoint>;
  /** The SQL ClickHouse runs for a pipe: templates rendered, parameters as checked literals. */
  expand(name: string, params?: Params): Promise<string>;
  /** `CREATE TABLE IF NOT EXISTS database.<datasource>` for ClickHouse. */
  createTableSql(database: string): Promise<string>;
  /**
   * Recomputes the stored rows' costs under a price table (the text of a `genai-prices.json`;
   * by default the one loads are costed with): rows whose `cost_source` is neither `log` nor
   * empty get the table's cost (`cost_source` `genai-prices <version>`), or 0 and `unpriced`.
   */
  reprice(prices?: string | null): Promise<{ repriced: number; unpriced: number; kept_from_log: number; source: string }>;
  /**
   * A server answering the same calls (`pipe`, `sql`, `dimensions`, `stats`; `quarantine` on
   * Tinybird), with this store rendering ClickHouse's pipes; `push(store)` sends this store's
   * rows there. Credentials stay in the returned object and go only into request headers.
   */
  connect(config: { kind: 'clickhouse'; url: string; user?: string; password?: string; database?: string }, options?: { fetch?: typeof fetch; retries?: number }): ClickHouseBackend;
  connect(config: { kind: 'tinybird'; host: string; token: string; appendToken?: string }, options?: { fetch?: typeof fetch; retries?: number }): TinybirdBackend;
  connect(config: BackendConfig, options?: { fetch?: typeof fetch; retries?: number }): ClickHouseBackend | TinybirdBackend;
  /**
   * Cancels running loads, frees the store's memory and stops the worker. Requests still
   * waiting, and every later one, reject with "The store is closed.".
   */
  close(): Promise<void>;
  addEventListener(type: 'change', listener: (event: CustomEvent<ChangeDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'lost', listener: (event: CustomEvent<LostDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  /** After each save to the Origin Private File System. */
  addEventListener(type: 'saved', listener: (event: CustomEvent<SavedStore>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'save-failed', listener: (event: CustomEvent<SaveFailedDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

/** Starts a worker with an empty llm_events store; resolves once its engine runs. */
export declare function createStore(options?: StoreOptions): Promise<MetricsStore>;
