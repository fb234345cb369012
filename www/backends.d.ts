// Types for backends.js: the ClickHouse and Tinybird backends.

import type { Endpoint } from './pkg/llm_metrics.js';
import type { Params } from './store.js';

/** What a backend's `push` reads: an EventStore of this package. */
export interface PushSource {
  readonly datasourceName: string;
  readonly rowCount: number;
  sql(query: string): Endpoint;
  createTableSql(database: string): string;
}

/** Called after each chunk a push sends. */
export type PushProgress = (progress: { sent: number; total: number }) => void;

/** The calls the in-tab store answers, answered by a server. */
export interface Backend {
  readonly kind: 'clickhouse' | 'tinybird';
  pipe(name: string, params?: Params | Record<string, unknown>): Promise<Endpoint>;
  sql(query: string): Promise<Endpoint>;
}

/** A ClickHouse server over its HTTP interface. */
export interface ClickHouseBackend extends Backend {
  readonly kind: 'clickhouse';
  readonly database: string;
  push(source: PushSource, options?: { chunkRows?: number; onProgress?: PushProgress }): Promise<{ sent: number; before: number; after: number }>;
}

/** Tinybird's published endpoints and Events API. */
export interface TinybirdBackend extends Backend {
  readonly kind: 'tinybird';
  push(source: PushSource, options?: { chunkRows?: number; onProgress?: PushProgress }): Promise<{ sent: number }>;
}

export function clickHouseBackend(options: {
  url: string;
  user?: string;
  password?: string;
  database?: string;
  /** Renders pipes into SQL: an EventStore (`expand(name, params)`). */
  planner: { expand(name: string, params?: object): string };
  fetch?: typeof fetch;
  retries?: number;
}): ClickHouseBackend;

export function tinybirdBackend(options: {
  host: string;
  token: string;
  fetch?: typeof fetch;
  retries?: number;
}): TinybirdBackend;
