// Types for backends.js: the ClickHouse and Tinybird backends.

import type { Endpoint } from './pkg/llm_metrics.js';
import type { Params, QueryOptions, StoreStats } from './store.js';

/**
 * What a backend's `push` reads: an EventStore of this package, or the worker store of
 * `createStore()` (whose calls return promises and whose row count comes from `stats()`).
 */
export interface PushSource {
  readonly datasourceName: string;
  readonly rowCount?: number;
  stats?(): Promise<StoreStats>;
  sql(query: string): Endpoint | Promise<Endpoint>;
  createTableSql(database: string): string | Promise<string>;
}

/** Renders pipes into the SQL ClickHouse runs: an EventStore or a `createStore()` store. */
export interface Planner {
  readonly datasourceName?: string;
  expand(name: string, params?: object): string | Promise<string>;
}

/** Reported after each chunk a push sends; `bytes` of NDJSON so far, `seconds` since its start. */
export type PushProgress = (progress: { sent: number; total: number; bytes: number; seconds: number }) => void;

/** Reported before each retry of a request that failed in a transient way (network, 429, 5xx). */
export type PushRetry = (retry: { attempt: number; error: string }) => void;

export interface PushOptions {
  /** Rows per request (ClickHouse: 50,000; Tinybird: 10,000). */
  chunkRows?: number;
  onProgress?: PushProgress;
  onRetry?: PushRetry;
  /** Aborting stops the push between requests; it then rejects with an AbortError. */
  signal?: AbortSignal;
}

/** The calls the in-tab store answers, answered by a server. */
export interface Backend {
  readonly kind: 'clickhouse' | 'tinybird';
  /** Where the data is read from, without credentials, e.g. "ClickHouse at URL, database D". */
  readonly label: string;
  /** The datasource's table on the server. */
  readonly table: string;
  pipe(name: string, params?: Params | Record<string, unknown>, options?: QueryOptions): Promise<Endpoint>;
  /** Plain SQL (no template). */
  sql(query: string, params?: undefined, options?: QueryOptions): Promise<Endpoint>;
  /** The `llm_dimensions` rows: models, request counts, first and last event times. */
  dimensions(options?: QueryOptions): Promise<Endpoint>;
  /** Rows from `llm_dimensions`; the quarantine's rows where the server has one, else null. */
  stats(options?: QueryOptions): Promise<{ rowCount: number; quarantinedCount: number | null; storeBytes: null }>;
  /** Resolves when the server answers with these credentials: whether the table exists yet. */
  check(options?: QueryOptions): Promise<{ tableExists: boolean }>;
}

/** A ClickHouse server over its HTTP interface. */
export interface ClickHouseBackend extends Backend {
  readonly kind: 'clickhouse';
  readonly url: string;
  readonly user: string;
  readonly database: string;
  /** Fails unless the table then holds exactly `sent` more rows. */
  push(source: PushSource, options?: PushOptions): Promise<{ sent: number; before: number; after: number; bytes: number }>;
}

/** Tinybird's published endpoints, Query API and Events API. */
export interface TinybirdBackend extends Backend {
  readonly kind: 'tinybird';
  readonly host: string;
  /** A page of `<datasource>_quarantine`, newest first (the token needs DATASOURCES:READ on it). */
  quarantine(page?: { offset?: number; limit?: number }, options?: QueryOptions): Promise<Endpoint>;
  /** Fails unless Tinybird's answers account for every row sent (accepted or quarantined). */
  push(source: PushSource, options?: PushOptions): Promise<{ sent: number; successful: number; quarantined: number; bytes: number }>;
}

/** A server to read from, with its credentials (kept only by the backend made from it). */
export type BackendConfig =
  | { kind: 'clickhouse'; url: string; user?: string; password?: string; database?: string }
  | { kind: 'tinybird'; host: string; token: string; appendToken?: string };

export function clickHouseBackend(options: {
  url: string;
  user?: string;
  password?: string;
  database?: string;
  /** Renders pipes into SQL: an EventStore or a `createStore()` store. */
  planner: Planner;
  /**
   * The table `check()` looks for (default: the planner's datasource when checked, else
   * llm_events). `push(source)` fills the table named after the source's datasource.
   */
  table?: string;
  fetch?: typeof fetch;
  retries?: number;
}): ClickHouseBackend;

export function tinybirdBackend(options: {
  host: string;
  /** Reads the endpoints: PIPES:READ (and DATASOURCES:READ for SQL and the quarantine). */
  token: string;
  /** Pushes through the Events API: DATASOURCES:APPEND (default: `token`). */
  appendToken?: string;
  /**
   * The datasource SQL and the quarantine are read from (default llm_events). `push(source)`
   * appends to the datasource named after the source's.
   */
  datasource?: string;
  fetch?: typeof fetch;
  retries?: number;
}): TinybirdBackend;

export function connectBackend(
  config: { kind: 'clickhouse'; url: string; user?: string; password?: string; database?: string },
  options: { planner: Planner; fetch?: typeof fetch; retries?: number },
): ClickHouseBackend;
export function connectBackend(
  config: { kind: 'tinybird'; host: string; token: string; appendToken?: string },
  options?: { planner?: Planner; fetch?: typeof fetch; retries?: number },
): TinybirdBackend;
export function connectBackend(config: BackendConfig, options?: { planner?: Planner; fetch?: typeof fetch; retries?: number }): ClickHouseBackend | TinybirdBackend;
