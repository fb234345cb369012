// Types for dashboard.js: the <llm-metrics-dashboard> element.

import type { LoadResult, MetricsStore, Params } from './store.js';

export type View =
  | 'inputs' | 'filters' | 'kpis' | 'usage' | 'performance' | 'cost' | 'timeseries'
  | 'latency' | 'errors' | 'quarantine' | 'sql';

export declare const VIEWS: View[];

export interface RefreshDetail {
  /** Milliseconds from the refresh's start to its last view drawn. */
  ms: number;
  /** Per view: when it was drawn (ms from the start) and how long drawing took. */
  views: Partial<Record<View, { at: number; draw: number }>>;
  params: Params;
}

/**
 * Attributes: `src` (a URL loaded at start), `sample` (rows of sample data loaded at start
 * when there is no `src`; bare: 100,000), `views` (the views shown, separated by spaces or
 * commas; default all), `persist` (keep the store in the Origin Private File System, reopen it
 * when the page opens again, and show Export and Forget). Sets `data-state` (starting, loading, recovering, ready, failed, closed)
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
  /** Store files (`.llmstore`, or starting with `LLMSTORE`) replace the data with their own. */
  loadFiles(files: Iterable<File>): Promise<LoadResult[]>;
  /** Replaces the data with a store file's. */
  openStoreFile(file: File | Blob): Promise<LoadResult>;
  /** Downloads the store file `llm-metrics.llmstore`; resolves with its Blob. */
  exportStore(): Promise<Blob>;
  /** Deletes the saved store from this browser and empties the store. */
  forget(): Promise<void>;
  /** `token` is sent only as an Authorization: Bearer header; null when `url` is not a URL. */
  load(url: string, options?: { token?: string }): Promise<LoadResult | null>;
  loadSample(rows?: number, seed?: number): Promise<LoadResult>;
  refresh(options?: { views?: View[]; data?: boolean }): Promise<void>;
  addEventListener(type: 'refresh', listener: (event: CustomEvent<RefreshDetail>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: 'closed', listener: (event: CustomEvent<void>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'llm-metrics-dashboard': LlmMetricsDashboard;
  }
}
