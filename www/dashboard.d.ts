// Types for dashboard.js: the <llm-metrics-dashboard> element.

import type { LoadResult, MetricsStore, Params } from './store.js';
import type { BackendConfig } from './backends.js';

export type View =
  | 'inputs' | 'source' | 'filters' | 'kpis' | 'usage' | 'performance' | 'cost' | 'timeseries'
  | 'latency' | 'errors' | 'quarantine' | 'sql';

export declare const VIEWS: View[];

export interface RefreshDetail {
  /** Milliseconds from the refresh's start to its last view drawn. */
  ms: number;
  /** Per view: when it was drawn (ms from the start) and how long drawing took. */
  views: Partial<Record<View, { at: number; draw: number }>>;
  params: Params;
}

/** The data source in use, without credentials. */
export type BackendInfo =
  | { kind: 'tab' }
  | { kind: 'clickhouse'; url: string; user: string; database: string }
  | { kind: 'tinybird'; host: string };

/** What a push from the page did (see `push()`). */
export interface PushResult {
  sent: number;
  bytes: number;
  seconds: number;
  retries: number;
  /** ClickHouse: the table's rows before and after. */
  before?: number;
  after?: number;
  /** Tinybird: rows it accepted and quarantined. */
  successful?: number;
  quarantined?: number;
}

/**
 * Attributes: `src` (a URL loaded at start), `sample` (rows of sample data loaded at start
 * when there is no `src`; bare: 100,000), `views` (the views shown, separated by spaces or
 * commas; default all), `persist` (keep the store in the Origin Private File System, reopen it
 * when the page opens again, and show Export and Forget), `backend` (`tab`, `clickhouse` or
 * `tinybird`) with `backend-url`
 * (the ClickHouse server or the Tinybird API host), `backend-user` and `backend-database`:
 * a ClickHouse server without a password is read at once; a password or token is given only
 * through `setBackend()`. Sets `data-source` (tab, clickhouse, tinybird) and
 * `data-source-state` (connecting, connected, failed). Sets `data-state` (starting, loading, recovering, ready, failed, closed)
 * and, after each refresh, `data-refresh` and `data-refresh-ms`; dispatches `refresh` events.
 *
 * Removed from the page (and not put back at once, as a move does), the element
 * ends its worker, which frees the store's memory, destroys its charts, sets
 * `data-state="closed"` and dispatches `closed`; added again, it starts afresh and empty.
 *
 * If the engine crashes, the element starts a fresh one (`data-state="recovering"`), loads its
 * files, URLs and sample again and shows a notice ("The engine crashed: <message>; reloaded N
 * files.").
 */
export declare class LlmMetricsDashboard extends HTMLElement {
  /** Resolves with the element's worker store once its engine runs. */
  readonly ready: Promise<MetricsStore>;
  /** The worker store, or null before it starts. */
  readonly store: MetricsStore | null;
  /** The pipe parameters of the current filters. */
  readonly params: Params;
  /** The time series bucket in use. */
  readonly bucket: 'minute' | 'hour' | 'day';
  /**
   * Store files (`.llmstore`, or starting with `LLMSTORE`) replace the data with their own.
   * `format` names the files' log format (from `store.formatNames()`), '' detects each line's;
   * default: the Format menu's choice.
   */
  loadFiles(files: Iterable<File>, options?: { format?: string }): Promise<LoadResult[]>;
  /** Replaces the data with a store file's. */
  openStoreFile(file: File | Blob): Promise<LoadResult>;
  /** Downloads the store file `llm-metrics.llmstore`; resolves with its Blob. */
  exportStore(): Promise<Blob>;
  /** Deletes the saved store from this browser and empties the store. */
  forget(): Promise<void>;
  /** `token` is sent only as an Authorization: Bearer header; null when `url` is not a URL. */
  load(url: string, options?: { token?: string; format?: string }): Promise<LoadResult | null>;
  loadSample(rows?: number, seed?: number): Promise<LoadResult>;
  /**
   * Recomputes the stored costs not taken from the logs under a price table (the text of a
   * genai-prices.json; default: the shipped one) and shows the cost per model before and after.
   */
  reprice(prices?: string | null): Promise<{
    repriced: number; unpriced: number; kept_from_log: number; source: string;
    comparison: { meta: { name: string; type: string }[]; data: { model_name: string; cost_before: number; cost_after: number }[]; rows: number };
  }>;
  refresh(options?: { views?: View[]; data?: boolean }): Promise<void>;
  /** The data source in use, without credentials. */
  readonly backend: BackendInfo;
  /**
   * Reads every view from another source: `{ kind: 'tab' }` (the default), a ClickHouse server
   * or Tinybird. The server is checked first: if it fails, its error shows in the page, the
   * previous source stays and the promise rejects. Credentials are kept in memory only.
   */
  setBackend(config: { kind: 'tab' } | BackendConfig): Promise<BackendInfo>;
  /**
   * Sends the events stored in the tab to the server in use, showing progress, retries and the
   * count check, then re-reads the views from it.
   */
  push(options?: { chunkRows?: number }): Promise<PushResult>;
  addEventListener(type: 'refresh', listener: (event: CustomEvent<RefreshDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'closed', listener: (event: CustomEvent<void>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'llm-metrics-dashboard': LlmMetricsDashboard;
  }
}
