// <llm-metrics-dashboard>: the whole dashboard as a custom element, backed by a worker store
// from createStore(). Attributes:
//
//   src="URL"          loads the URL when the element starts (no token; use load() for one)
//   sample="ROWS"      loads ROWS generated events when the element starts (bare: 100,000)
//   views="kpis ..."   the views to show, in any order, separated by spaces or commas; default
//                      all of: inputs source filters kpis usage performance cost timeseries
//                      latency errors quarantine sql
//   backend="clickhouse" backend-url="URL" backend-user="U" backend-database="D"
//                      reads from a ClickHouse server (one without a password: a password or a
//                      token is given only through setBackend()); backend="tinybird"
//                      backend-url="HOST" fills in the Tinybird host and waits for the token
//   persist            keeps the store in the browser's Origin Private File System: saved after
//                      each load, reopened when the page opens again ("Reopened N rows saved
//                      on …"), with Export (download the store file) and Forget (delete it and
//                      empty the store). Store files (.llmstore) dropped or chosen are reopened.
//
// Every number on it comes from a pipe run with the current filters as parameters, on the
// data source in use: the store in this tab (the default), a ClickHouse server or Tinybird.
// Every string from the data is written as text. Passwords and tokens are kept in memory only
// and sent only in request headers.
//
// Should the engine crash (a panic: a bug), the element starts a fresh engine, loads again the
// files it still holds (File handles), the URLs (re-fetched; one loaded with a token is listed as
// needing a reload, since the token is not kept) and the sample, re-adds the pipes added through
// the SQL view, and says so in a notice: "The engine crashed: <message>; reloaded N files."

import { createStore } from './store.js';
import { DataTable, button } from './table.js';
import { BarChart, LineChart, MODEL_COLORS, warmUp } from './charts.js';
import { FILTERED_PERFORMANCE, FILTERED_USAGE } from './pipes.js';

/** What the Format menu calls each log format of `store.formatNames()`. */
const FORMAT_LABELS = {
  llm_events: 'llm_events lines',
  openai_chat: 'OpenAI Chat Completions bodies',
  openai_responses: 'OpenAI Responses',
  openai_batch: 'OpenAI Batch output',
  anthropic_message: 'Anthropic Messages bodies',
  anthropic_batch: 'Anthropic Message Batches results',
  otlp: 'OpenTelemetry OTLP/JSON traces',
  litellm: 'LiteLLM logs',
  langfuse: 'Langfuse observations',
  helicone: 'Helicone requests',
  claude_code: 'Claude Code sessions',
  ollama: 'Ollama responses',
  gemini: 'Gemini responses',
  bedrock: 'Bedrock invocation logs',
};
import {
  KPIS, formatBytes, formatCount, formatDateTime, formatKpi, formatNumber, formatSeconds,
  formatUsd, parseDateTime, plural,
} from './format.js';

export const VIEWS = [
  'inputs', 'source', 'filters', 'kpis', 'usage', 'performance', 'cost', 'timeseries', 'latency', 'errors',
  'quarantine', 'sql',
];

const DEFAULT_SAMPLE_ROWS = 100000;
const SAMPLE_SEED = 42;
const QUARANTINE_PAGE = 50;
/** Most buckets a time series may have; finer buckets are offered only below this. */
const MAX_BUCKETS = 5000;
const BUCKET_SECONDS = { minute: 60, hour: 3600, day: 86400 };

const RANGE_PRESETS = [
  { key: 'all', label: 'All', seconds: null },
  { key: '1h', label: 'Last hour', seconds: 3600 },
  { key: '24h', label: 'Last 24 h', seconds: 86400 },
  { key: '7d', label: 'Last 7 d', seconds: 7 * 86400 },
  { key: '30d', label: 'Last 30 d', seconds: 30 * 86400 },
  { key: 'custom', label: 'Custom', seconds: null },
];

const QUARANTINE_HINT = 'Lines kept out of the store, with the stream, line number and reason. ' +
  'Content is the raw line, or the fields read from it when the line was JSON.';

const SOURCE_KINDS = [
  { key: 'tab', label: 'In this tab' },
  { key: 'clickhouse', label: 'ClickHouse' },
  { key: 'tinybird', label: 'Tinybird' },
];

const SQL_EXAMPLE = `SELECT model_name, count() AS requests, round(avg(latency), 3) AS avg_latency
FROM llm_events
GROUP BY model_name
ORDER BY requests DESC`;

/** The bucket the timeseries pipe would choose for a span: its own rule, made explicit. */
export function autoBucket(spanSeconds) {
  if (spanSeconds <= 6 * 3600) return 'minute';
  if (spanSeconds <= 14 * 86400) return 'hour';
  return 'day';
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children);
  return node;
}

let instances = 0;

export class LlmMetricsDashboard extends HTMLElement {
  static observedAttributes = ['src', 'views', 'backend', 'backend-url', 'backend-user', 'backend-database'];

  #root;
  #ui = {};
  #store = null;
  #ready;
  #resolveReady;
  #started = false;
  #views = new Set(VIEWS);
  #uid = `lm${++instances}`;

  // Data and filters.
  #dimensions = [];
  #models = [];
  #selected = null; // null: every model
  #range = { preset: 'all', start: null, end: null };
  #bucket = 'auto';
  #quarantineOffset = 0;

  // Loads to redo after a crash: { kind: 'file', file } | { kind: 'url', url, token } |
  // { kind: 'sample', rows, seed }, each with its name and status (running, done, cancelled,
  // failed); and the texts of the pipes added through the SQL view.
  #sources = [];
  #addedPipes = [];
  #crashes = 0;
  #recovering = null;

  // Refreshes.
  #pendingLoads = 0;
  #generation = 0;
  #refreshController = null;
  #refreshes = 0;
  #dataStale = false;

  // The data source: null for the store in this tab, else a backend of backends.js (which alone
  // holds the credentials); whether its table is still missing (nothing pushed yet); and the
  // switch in progress.
  #backend = null;
  #backendEmpty = false;
  #switches = 0;
  #pushController = null;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = { resolve, reject };
    });
    this.#ready.catch(() => {});
  }

  /** Resolves with the worker store (see store.d.ts) once the engine runs. */
  get ready() {
    return this.#ready;
  }

  /** The worker store, or null before it starts. */
  get store() {
    return this.#store;
  }

  /** The pipe parameters of the current filters: { start_date?, end_date?, models? }. */
  get params() {
    const params = {};
    const { start, end } = this.#effectiveRange();
    if (this.#range.preset !== 'all' && start !== null) {
      params.start_date = formatDateTime(start);
      params.end_date = formatDateTime(end);
    }
    if (this.#selected !== null) params.models = this.#models.filter((m) => this.#selected.has(m));
    return params;
  }

  /**
   * The data source in use, without credentials: `{ kind: 'tab' }`, `{ kind: 'clickhouse',
   * url, user, database }` or `{ kind: 'tinybird', host }`.
   */
  get backend() {
    const b = this.#backend;
    if (b === null) return { kind: 'tab' };
    return b.kind === 'clickhouse' ? { kind: b.kind, url: b.url, user: b.user, database: b.database } : { kind: b.kind, host: b.host };
  }

  /**
   * Switches the data source and re-renders every view from it: `{ kind: 'tab' }` (the store
   * in this tab), `{ kind: 'clickhouse', url, user?, password?, database? }` or
   * `{ kind: 'tinybird', host, token, appendToken? }`. Checks the server first; if it does not
   * answer (unreachable, refused credentials), the error is shown in the page, the previous
   * source stays in use and the promise rejects with that error. Resolves with `backend`.
   */
  async setBackend(config = { kind: 'tab' }) {
    await this.#ready;
    const switchId = ++this.#switches;
    const kind = config?.kind ?? 'tab';
    this.#showSourceError(null);
    if (kind === 'tab') {
      this.#backend = null;
      this.#backendEmpty = false;
    } else {
      let backend;
      try {
        backend = this.#store.connect(config);
        this.#showSourceStatus(`Connecting to ${backend.label}…`);
        this.dataset.sourceState = 'connecting';
        const { tableExists } = await backend.check();
        if (switchId !== this.#switches) return this.backend;
        this.#backend = backend;
        this.#backendEmpty = !tableExists;
      } catch (err) {
        if (switchId !== this.#switches) return this.backend;
        const where = backend?.label ?? (kind === 'tinybird' ? 'Tinybird' : 'ClickHouse');
        this.#showSourceError(`Could not use ${where}: ${err.message}`);
        this.dataset.sourceState = 'failed';
        throw err;
      }
    }
    this.dataset.source = kind;
    this.dataset.sourceState = 'connected';
    this.#syncSourceControls();
    this.#showSourceStatus(this.#backend === null ? 'Showing the events stored in this tab.' : `Showing ${this.#backend.label}.`);
    if (this.#backend !== null) {
      const ui = this.#ui.source;
      const b = this.backend;
      if (b.kind === 'clickhouse') {
        ui.chUrl.value = b.url;
        ui.chUser.value = b.user;
        ui.chDatabase.value = b.database;
      } else {
        ui.tbHost.value = b.host;
      }
    }
    this.#quarantineOffset = 0;
    await this.refresh({ data: true });
    return this.backend;
  }

  /**
   * Sends the events stored in this tab to the server in use (ClickHouse or Tinybird), with
   * progress, retries on transient failures and the final count check shown in the page;
   * then re-renders the views from the server. Resolves with the push's result (`sent`,
   * `seconds`, `retries`, `bytes`; for ClickHouse the table's rows `before` and `after`, for
   * Tinybird the rows it acknowledged and quarantined); rejects, after showing why, when it
   * fails or is cancelled.
   */
  async push({ chunkRows } = {}) {
    await this.#ready;
    const ui = this.#ui.source;
    const backend = this.#backend;
    if (backend === null) throw this.#pushFailed(new Error('Choose a ClickHouse or Tinybird data source first.'));
    if (this.#pendingLoads > 0) throw this.#pushFailed(new Error('Wait until the loads have finished.'));
    if (this.#pushController !== null) throw this.#pushFailed(new Error('A push is already running.'));
    const { rowCount } = await this.#store.stats();
    if (rowCount === 0) throw this.#pushFailed(new Error('No events are stored in this tab: load files first.'));
    const controller = new AbortController();
    this.#pushController = controller;
    let retries = 0;
    const started = performance.now();
    ui.push.dataset.status = 'running';
    ui.pushButton.disabled = true;
    // The rows pushed must not change meanwhile: no loads, store files or Forget until it ends.
    this.#setInputsEnabled(false);
    this.#ui.inputs.forget.disabled = true;
    ui.pushCancel.hidden = false;
    ui.pushBar.hidden = false;
    ui.pushBar.max = rowCount;
    ui.pushBar.value = 0;
    ui.pushResult.textContent = '';
    ui.pushResult.classList.remove('error');
    ui.pushStats.textContent = `Sending ${plural(rowCount, 'row')} to ${backend.label}…`;
    const rate = (sent, bytes, seconds) => (seconds > 0
      ? ` · ${formatCount(Math.round(sent / seconds))} rows/s, ${formatBytes(Math.round(bytes / seconds))}/s` : '');
    const retryText = () => (retries > 0 ? ` · ${plural(retries, 'retry', 'retries')}` : '');
    try {
      const result = await backend.push(this.#store, {
        chunkRows,
        signal: controller.signal,
        onProgress: ({ sent, total, bytes, seconds }) => {
          ui.pushBar.max = total;
          ui.pushBar.value = sent;
          ui.pushStats.textContent = `${formatCount(sent)} of ${plural(total, 'row')} sent · ${formatBytes(bytes)}` +
            `${rate(sent, bytes, seconds)}${retryText()}`;
        },
        onRetry: ({ attempt, error }) => {
          retries += 1;
          ui.pushStats.textContent = `Retrying (attempt ${attempt + 1}) after: ${error}`;
        },
      });
      const seconds = (performance.now() - started) / 1000;
      ui.pushStats.textContent = `${plural(result.sent, 'row')} sent · ${formatBytes(result.bytes)} in ` +
        `${formatSeconds(seconds)}${rate(result.sent, result.bytes, seconds)}${retryText()}`;
      ui.pushResult.textContent = backend.kind === 'clickhouse'
        ? `Count check passed: the table ${backend.database}.${this.#store.datasourceName} holds ` +
          `${formatCount(result.after)} rows (${formatCount(result.before)} before + ${formatCount(result.sent)} sent); ` +
          `this tab stores ${formatCount(rowCount)}.`
        : `Count check passed: Tinybird accepted ${formatCount(result.successful)} rows and quarantined ` +
          `${formatCount(result.quarantined)} of the ${formatCount(result.sent)} sent; this tab stores ${formatCount(rowCount)}.`;
      ui.pushBar.value = ui.pushBar.max;
      ui.push.dataset.status = 'done';
      Object.assign(ui.push.dataset, { sent: String(result.sent), rows: String(rowCount) });
      if (result.after !== undefined) ui.push.dataset.after = String(result.after);
      if (this.#backend === backend) {
        this.#backendEmpty = false;
        await this.refresh({ data: true });
      }
      return { ...result, seconds, retries };
    } catch (err) {
      const cancelled = err.name === 'AbortError';
      ui.push.dataset.status = cancelled ? 'cancelled' : 'failed';
      ui.pushResult.textContent = cancelled ? 'Push cancelled; rows sent before stay on the server.' : `Push failed: ${err.message}`;
      ui.pushResult.classList.toggle('error', !cancelled);
      if (this.#backend === backend) this.#backendEmpty = false;
      throw err;
    } finally {
      this.#pushController = null;
      ui.pushCancel.hidden = true;
      this.#setInputsEnabled(true);
      this.#drawPersistence();
      this.#syncSourceControls();
    }
  }

  #pushFailed(err) {
    const ui = this.#ui.source;
    ui.push.dataset.status = 'failed';
    ui.pushResult.textContent = `Push failed: ${err.message}`;
    ui.pushResult.classList.add('error');
    return err;
  }

  /** The time series bucket in use: minute, hour or day. */
  get bucket() {
    return this.#bucket === 'auto' ? this.#autoBucket() : this.#bucket;
  }

  connectedCallback() {
    if (this.#started) return;
    this.#started = true;
    this.#start();
  }

  /**
   * Removed from the page: unless it is put back at once, before any microtask runs (a move),
   * the element ends its worker, which frees the store's memory, destroys its charts and sets
   * `data-state="closed"`. Added again later, it starts afresh, empty (its `src` or `sample`
   * attribute loads again).
   */
  disconnectedCallback() {
    if (!this.#started) return;
    queueMicrotask(() => {
      if (!this.isConnected && this.#started) this.#close();
    });
  }

  #close() {
    this.#started = false;
    this.#generation++;
    this.#refreshController?.abort();
    this.#refreshController = null;
    for (const group of Object.values(this.#ui)) {
      for (const part of Object.values(group ?? {})) {
        for (const chart of part?.dispose ? [part] : Object.values(part ?? {})) chart?.dispose?.();
      }
    }
    const store = this.#store;
    this.#store = null;
    this.#root.replaceChildren();
    this.#sources = [];
    this.#addedPipes = [];
    this.#dataStale = false;
    this.#backend = null;
    this.#backendEmpty = false;
    this.#pushController?.abort();
    if (store === null) this.#resolveReady.reject(new Error('The element was removed before its engine started.'));
    this.#ready = new Promise((resolve, reject) => {
      this.#resolveReady = { resolve, reject };
    });
    this.#ready.catch(() => {});
    this.dataset.state = 'closed';
    this.dispatchEvent(new CustomEvent('closed'));
    store?.close().catch(() => {});
  }

  attributeChangedCallback(name, before, after) {
    if (!this.#started || before === after) return;
    if (name === 'views') {
      this.#applyViews();
      if (this.#store) this.refresh({ data: true });
    } else if (name === 'src' && after) {
      this.#ready.then(() => this.load(after));
    } else if (name.startsWith('backend')) {
      this.#ready.then(() => this.#applyBackendAttributes());
    }
  }

  async #start() {
    const run = this.#ready;
    this.#applyViewsAttribute();
    this.dataset.state = 'starting';
    await this.#build();
    if (this.#ready !== run) return;
    this.#applyViews();
    try {
      const store = await createStore({ persist: this.hasAttribute('persist') });
      // Removed while the engine started: the new store is ended at once.
      if (this.#ready !== run) {
        await store.close();
        return;
      }
      this.#store = store;
      const formats = this.#ui.inputs.format;
      for (const name of await store.formatNames()) {
        formats.append(el('option', { value: name, text: FORMAT_LABELS[name] ? `${FORMAT_LABELS[name]} (${name})` : name }));
      }
    } catch (err) {
      if (this.#ready !== run) return;
      this.dataset.state = 'failed';
      this.#setStatus(`The engine could not start: ${err.message}`, true);
      this.#resolveReady.reject(err);
      return;
    }
    this.#store.addEventListener('change', (event) => this.#onChange(event.detail));
    this.#store.addEventListener('lost', (event) => this.#onLost(event.detail.message));
    this.#store.addEventListener('saved', () => {
      // What is done now is in the saved file: a recovery that reopens it loads it not again.
      for (const s of this.#sources) if (s.status === 'done') s.saved = true;
      this.#drawPersistence();
    });
    this.#store.addEventListener('save-failed', (event) => this.#drawPersistence(event.detail.error));
    this.#store.addEventListener('persistence', () => this.#drawPersistence());
    this.#setInputsEnabled(true);
    this.#setStatus('Ready. Drop log files, choose them, load a URL or the sample data.');
    this.#drawPersistence();
    this.dataset.state = 'ready';
    this.dataset.source = 'tab';
    this.#resolveReady.resolve(this.#store);
    await this.refresh({ data: true });
    if (this.#ready !== run) return;
    this.#applyBackendAttributes();
    (globalThis.requestIdleCallback ?? setTimeout)(() => warmUp());

    // A store reopened from this browser already holds what src or sample loaded before.
    const src = this.#store.persistence.reopened ? null : this.getAttribute('src');
    if (src) this.load(src);
    else if (this.hasAttribute('sample') && !this.#store.persistence.reopened) {
      const rows = Number(this.getAttribute('sample') || DEFAULT_SAMPLE_ROWS);
      this.loadSample(Number.isInteger(rows) && rows >= 0 ? rows : DEFAULT_SAMPLE_ROWS);
    }
  }

  // ---- public loading API ------------------------------------------------------------------

  /**
   * Loads files (File objects) one after another; a store file (`.llmstore`, or starting with
   * its LLMSTORE magic) replaces the data with its own. `format` names the files' log format;
   * '' detects each line's; default: the Format menu's choice.
   */
  loadFiles(files, { format = this.#chosenFormat() } = {}) {
    // Recorded as loaded ('' for detection), so that a reload after a crash reads them the same way.
    const chosen = format || '';
    return Promise.all([...files].map(async (file) => {
      if (await isStoreFile(file)) return this.openStoreFile(file);
      return this.#track(file.name, file.size,
        (options) => this.#store.loadFile(file, { ...options, format: chosen || undefined }),
        { kind: 'file', file, format: chosen });
    }));
  }

  /** The format chosen in the Format menu, or '' to detect each line's. */
  #chosenFormat() {
    return this.#ui.inputs?.format?.value ?? '';
  }

  /** Replaces the data with a store file's (from Export, here or in another browser). */
  openStoreFile(file) {
    return this.#track(file.name, file.size, async () => {
      const started = performance.now();
      try {
        const value = await this.#store.openStoreFile(file);
        return {
          ...emptyResult(file.name), status: 'done', lines: value.rowCount + value.quarantinedCount,
          rows: value.rowCount, quarantined: value.quarantinedCount, bytes: file.size, seconds: value.seconds,
        };
      } catch (err) {
        return {
          ...emptyResult(file.name), status: 'failed', error: err.message,
          seconds: (performance.now() - started) / 1000,
        };
      }
    }, { kind: 'file', file });
  }

  /** Downloads the store file (llm-metrics.llmstore); resolves with its Blob. */
  async exportStore() {
    await this.#ready;
    const blob = await this.#store.exportStore();
    const url = URL.createObjectURL(blob);
    const link = el('a', { href: url, download: 'llm-metrics.llmstore', hidden: true });
    this.#root.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    this.#setStatus(`Exported the store: ${formatBytes(blob.size)}.`);
    return blob;
  }

  /** Deletes the saved store from this browser and empties the store. */
  async forget() {
    await this.#ready;
    await this.#store.forget();
    this.#sources = [];
    this.#ui.inputs.loads.replaceChildren();
    this.#setStatus('The saved store was deleted from this browser and the store emptied.');
    this.#drawPersistence();
    await this.refresh({ data: true });
  }

  /** Writes what the store keeps in this browser into the persistence notice. */
  #drawPersistence(saveError) {
    const ui = this.#ui.inputs;
    const p = this.#store?.persistence ?? { enabled: false };
    ui.persist.hidden = !p.enabled;
    if (!p.enabled) return;
    let state;
    let text;
    if (!p.available) {
      state = 'unavailable';
      text = `This browser keeps no data for this page (${p.reason}): load the files again after a reload.`;
    } else if (saveError) {
      state = 'error';
      text = `The store could not be saved in this browser: ${saveError}`;
    } else if (p.stale) {
      state = 'stale';
      text = 'Another tab of this page saved its data in this browser since: this tab no longer saves ' +
        'automatically, so as not to overwrite it (reload to see the saved data).';
    } else if (p.error && !p.saved) {
      state = 'error';
      text = p.error;
    } else if (p.reopened && p.saved && p.saved.savedAt === p.reopened.savedAt) {
      state = 'reopened';
      text = `Reopened ${plural(p.reopened.rows, 'row')} saved on ${formatSavedAt(p.reopened.savedAt)} ` +
        `(${formatBytes(p.reopened.bytes)} in ${formatSeconds(p.reopened.seconds)}).`;
    } else if (p.saved) {
      state = 'saved';
      text = `Saved ${plural(p.saved.rows, 'row')} in this browser on ${formatSavedAt(p.saved.savedAt)} ` +
        `(${formatBytes(p.saved.bytes)}).`;
    } else {
      state = 'empty';
      text = 'Loaded data is kept in this browser until you forget it.';
    }
    ui.persist.dataset.state = state;
    ui.persistText.textContent = text;
    ui.forget.disabled = !p.available;
  }

  /** Loads a URL; `token` is sent only as an Authorization: Bearer header. */
  load(url, { token, format = this.#chosenFormat() } = {}) {
    const chosen = format || '';
    let absolute;
    try {
      absolute = new URL(url, document.baseURI).href;
    } catch {
      this.#setStatus(`Not a URL: ${url}`, true);
      return Promise.resolve(null);
    }
    return this.#track(absolute, null,
      (options) => this.#store.loadUrl(absolute, { token, name: absolute, format: chosen || undefined, ...options }),
      { kind: 'url', url: absolute, token: Boolean(token), format: chosen });
  }

  /**
   * Recomputes the stored costs that did not come from the logs under a price table (the text of
   * a genai-prices.json; default: the shipped one), and shows the cost per model before and
   * after. Resolves with `{ repriced, unpriced, kept_from_log, source, comparison }`, where
   * `comparison` is an endpoint of model_name, cost_before, cost_after.
   */
  async reprice(prices = null) {
    await this.#ready;
    const ui = this.#ui.inputs;
    const costs = async () => {
      const r = await this.#store.sql('SELECT model_name, sum(cost) AS cost FROM llm_events GROUP BY model_name');
      return new Map(r.data.map((row) => [row.model_name, row.cost]));
    };
    try {
      const before = await costs();
      const result = await this.#store.reprice(prices);
      const after = await costs();
      const names = [...new Set([...before.keys(), ...after.keys()])].sort();
      const comparison = {
        meta: [
          { name: 'model_name', type: 'String' }, { name: 'cost_before', type: 'Float64' },
          { name: 'cost_after', type: 'Float64' },
        ],
        data: names.map((name) => ({ model_name: name, cost_before: before.get(name) ?? 0, cost_after: after.get(name) ?? 0 })),
        rows: names.length,
      };
      ui.repriceTable.element.hidden = false;
      ui.repriceTable.render(comparison);
      ui.repriceText.textContent = `Repriced ${plural(result.repriced, 'row')} under ${result.source}; ` +
        `${formatCount(result.unpriced)} without a price (cost 0), ${formatCount(result.kept_from_log)} kept from the logs.`;
      return { ...result, comparison };
    } catch (err) {
      ui.repriceText.textContent = `The costs could not be recomputed: ${err.message}`;
      throw err;
    }
  }

  /** Loads `rows` generated sample events. */
  loadSample(rows = DEFAULT_SAMPLE_ROWS, seed = SAMPLE_SEED) {
    const name = `sample (${formatCount(rows)} events, seed ${seed})`;
    return this.#track(name, null, (options) => this.#store.loadSample(rows, seed, { name, ...options }),
      { kind: 'sample', rows, seed });
  }

  /**
   * Runs one load with its progress item; resolves with its result. `source` says how to load
   * it again after a crash.
   */
  async #track(name, totalBytes, start, source) {
    await this.#ready;
    const store = this.#store;
    const entry = { ...source, name, status: 'running' };
    this.#sources.push(entry);
    const item = this.#addLoadItem(name, totalBytes);
    this.#pendingLoads += 1;
    this.dataset.state = 'loading';
    let result;
    try {
      result = await start({ signal: item.controller.signal, onProgress: (p) => item.progress(p) });
    } catch (err) {
      result = { stream: name, status: 'failed', error: err.message, lines: 0, rows: 0, quarantined: 0, blank: 0, bytes: 0, errors: [] };
    }
    item.finish(result);
    entry.status = result.status;
    this.#pendingLoads -= 1;
    // The element was removed meanwhile: nothing left to show it in.
    if (this.#store !== store) return result;
    // A crash: the recovery reloads this source and refreshes the views.
    if (this.#store.lost !== null) return result;
    if (result.status === 'failed') {
      this.#setStatus(`${name} could not be loaded: ${result.error}`, true);
    } else {
      const word = result.status === 'cancelled' ? 'Cancelled' : 'Loaded';
      this.#setStatus(`${word} ${name}: ${plural(result.rows, 'row')} stored, ${formatCount(result.quarantined)} quarantined.`);
    }
    if (this.#pendingLoads === 0) await this.refresh({ data: true });
    return result;
  }

  #onChange({ final }) {
    if (this.#pendingLoads > 0) {
      // Rows are streaming in: the headline numbers follow, the rest waits for the end.
      if (!final) this.#refreshKpisWhileLoading();
    } else if (final) {
      // A load started through element.store directly.
      this.refresh({ data: true });
    }
  }

  // ---- crashes -----------------------------------------------------------------------------

  /**
   * The engine crashed and its store is lost: starts a fresh one and reloads the sources that
   * were loaded or loading. A crash while doing so reloads nothing, since the data itself may
   * be what makes the engine crash.
   */
  #onLost(message) {
    const crash = ++this.#crashes;
    const again = this.#recovering !== null;
    // Loads that completed, and those the crash cut short; not those cancelled or failed.
    const replay = again ? [] : this.#sources.filter((s) => s.status === 'done' || s.status === 'running');
    this.#sources = [];
    this.#refreshController?.abort();
    this.dataset.state = 'recovering';
    this.#showNotice(again
      ? `The engine crashed again while reloading: ${message}; starting an empty engine…`
      : `The engine crashed: ${message}; reloading ${plural(replay.length, 'file')}…`);
    const recovery = this.#recover(crash, message, replay, again);
    this.#recovering = recovery;
    recovery.catch(() => {}).finally(() => {
      if (this.#recovering === recovery) this.#recovering = null;
    });
  }

  async #recover(crash, message, replay, again) {
    const current = () => crash === this.#crashes;
    try {
      await this.#store.recover();
      for (const text of this.#addedPipes) await this.#store.addPipe(text);
    } catch (err) {
      if (!current()) return;
      this.dataset.state = 'failed';
      this.#showNotice(`The engine crashed: ${message}; it could not be restarted (${err.message}). Reload the page.`);
      return;
    }
    if (!current()) return;
    // The saved store reopened holds the loads that were saved: only the others are loaded again.
    if (this.#store.persistence.reopened) replay = replay.filter((s) => !s.saved);
    this.#drawPersistence();
    if (again) {
      await this.refresh({ data: true });
      if (current()) {
        this.#showNotice(`The engine crashed again while reloading: ${message}. The data was not reloaded, ` +
          'since it may be what makes the engine crash; load it again to retry.');
      }
      return;
    }
    const needToken = replay.filter((s) => s.kind === 'url' && s.token);
    const loads = replay.filter((s) => !(s.kind === 'url' && s.token)).map((s) => {
      switch (s.kind) {
        case 'file':
          return this.loadFiles([s.file], { format: s.format }).then(([result]) => result);
        case 'url':
          return this.load(s.url, { format: s.format });
        default:
          return this.loadSample(s.rows, s.seed);
      }
    });
    if (loads.length === 0) await this.refresh({ data: true });
    const results = await Promise.all(loads);
    if (!current()) return;
    const failed = results.filter((r) => r && r.status !== 'done').map((r) => r.stream);
    const reopened = this.#store.persistence.reopened;
    const kept = reopened ? `reopened the ${plural(reopened.rows, 'row')} saved in this browser and ` : '';
    let text = `The engine crashed: ${message}; ${kept}reloaded ${plural(results.length - failed.length, 'file')}.`;
    if (failed.length > 0) text += ` Could not reload ${failed.join(', ')}.`;
    if (needToken.length > 0) {
      text += ` Load ${needToken.map((s) => s.name).join(', ')} again with its token (tokens are not kept).`;
    }
    this.#showNotice(text);
  }

  #showNotice(text) {
    this.#ui.notice.textContent = text;
    this.#ui.notice.hidden = false;
  }

  // ---- building the DOM --------------------------------------------------------------------

  async #build() {
    // Each URL written out as `new URL('literal', import.meta.url)`, so that bundlers copy the file.
    const sheets = [new URL('./vendor/uPlot.min.css', import.meta.url), new URL('./dashboard.css', import.meta.url)];
    const styles = sheets.map((url) => {
      const link = el('link', { rel: 'stylesheet', href: url.href });
      return new Promise((resolve) => {
        link.addEventListener('load', resolve, { once: true });
        link.addEventListener('error', resolve, { once: true });
        this.#root.append(link);
      });
    });
    const container = el('div', { className: 'lm', part: 'dashboard' });
    this.#ui.notice = el('p', { className: 'crash-notice error', role: 'alert', hidden: true });
    container.append(
      this.#ui.notice,
      this.#buildInputs(),
      this.#buildSource(),
      this.#buildFilters(),
      this.#buildKpis(),
      this.#buildTableView('usage', 'Usage by model', 'llm_usage_by_model',
        'Tokens and cost per model.'),
      this.#buildTableView('performance', 'Performance by model', 'llm_performance',
        'Average latency (seconds) and success rate (0 to 1) per model.'),
      this.#buildCost(),
      this.#buildTimeseries(),
      this.#buildLatency(),
      this.#buildTableView('errors', 'Top errors', 'llm_top_errors',
        'The most frequent error messages of failed requests, per model.', ['error_message']),
      this.#buildQuarantine(),
      this.#buildSql(),
    );
    await Promise.all(styles);
    this.#root.append(container);
    this.#ui.container = container;
    this.#setupDrop(container);
  }

  #section(view, title, sourceText) {
    const headingId = `${this.#uid}-${view}-h`;
    const section = el('section', {
      className: `panel view-${view}`, 'aria-labelledby': headingId, dataset: { view },
    });
    const header = el('div', { className: 'panel-head' }, el('h2', { id: headingId, text: title }));
    if (sourceText) header.append(el('p', { className: 'source', text: sourceText }));
    const error = el('p', { className: 'view-error error', role: 'alert', hidden: true });
    section.append(header, error);
    this.#ui[view] = { section, error, header };
    return section;
  }

  #buildInputs() {
    const section = this.#section('inputs', 'Load events');
    const ui = this.#ui.inputs;
    const fileInputId = `${this.#uid}-files`;
    ui.files = el('input', {
      id: fileInputId, type: 'file', multiple: true, className: 'visually-hidden', tabIndex: -1,
      accept: '.ndjson,.jsonl,.json,.csv,.txt,.gz,.llmstore,application/x-ndjson,application/json,text/csv,application/gzip,text/plain',
      disabled: true,
    });
    ui.files.addEventListener('change', () => {
      const files = [...(ui.files.files ?? [])];
      ui.files.value = '';
      if (files.length > 0) this.loadFiles(files);
    });
    const hintId = `${this.#uid}-drop-hint`;
    ui.drop = el('div', {
      className: 'dropzone', role: 'button', tabIndex: 0, 'aria-disabled': 'true',
      'aria-describedby': hintId, 'aria-label': 'Choose NDJSON files, or drop them here',
    },
    el('span', { className: 'drop-title', text: 'Drop log files here, or choose files' }),
    el('span', {
      className: 'drop-hint', id: hintId,
      text: 'llm_events lines or the logs of OpenAI, Anthropic, OpenTelemetry, LiteLLM, Langfuse, Helicone, ' +
        'Claude Code or Ollama: NDJSON (.ndjson, .jsonl), a JSON document (.json) or CSV (.csv), plain or ' +
        'gzip-compressed (.gz). Several files are appended. Files are read in this tab; nothing is uploaded ' +
        'unless you push it to a server. A store file (.llmstore, from Export) reopens the data it holds.',
    }));
    const openPicker = () => {
      if (!ui.files.disabled) ui.files.click();
    };
    ui.drop.addEventListener('click', openPicker);
    ui.drop.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        openPicker();
      }
    });
    const fileLabel = el('label', { className: 'visually-hidden', for: fileInputId, text: 'NDJSON files' });

    const urlId = `${this.#uid}-url`;
    const tokenId = `${this.#uid}-token`;
    ui.url = el('input', {
      id: urlId, type: 'url', required: true, placeholder: 'https://example.com/events.ndjson',
      autocomplete: 'off', spellcheck: 'false', disabled: true,
    });
    ui.token = el('input', {
      id: tokenId, type: 'password', autocomplete: 'off', spellcheck: 'false', disabled: true,
      placeholder: 'optional',
    });
    ui.urlButton = el('button', { type: 'submit', text: 'Load URL', disabled: true });
    ui.urlForm = el('form', { className: 'url-form', noValidate: false },
      el('div', { className: 'field grow' }, el('label', { for: urlId, text: 'NDJSON URL' }), ui.url),
      el('div', { className: 'field' }, el('label', { for: tokenId, text: 'Bearer token' }), ui.token),
      ui.urlButton);
    ui.urlForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const url = ui.url.value.trim();
      if (!url) return;
      this.load(url, { token: ui.token.value });
    });

    const formatId = `${this.#uid}-format`;
    ui.format = el('select', { id: formatId, disabled: true },
      el('option', { value: '', text: 'Detect each line’s format' }));
    const formatRow = el('div', { className: 'field format-field' },
      el('label', { for: formatId, text: 'Format of the next files and URLs' }), ui.format);

    ui.sample = button('Load sample data', null, () => {
      const rows = Number(this.getAttribute('sample') || DEFAULT_SAMPLE_ROWS);
      this.loadSample(Number.isInteger(rows) && rows > 0 ? rows : DEFAULT_SAMPLE_ROWS);
    });
    ui.sample.className = 'sample';
    ui.sample.disabled = true;

    ui.persistText = el('span', { className: 'persist-text', role: 'status', 'aria-live': 'polite' });
    ui.export = button('Export', 'Export the store', () => {
      this.exportStore().catch((err) => this.#setStatus(`The store could not be exported: ${err.message}`, true));
    });
    ui.export.className = 'secondary';
    ui.forget = button('Forget', 'Forget the saved store', () => {
      this.forget().catch((err) => this.#setStatus(`The saved store could not be deleted: ${err.message}`, true));
    });
    ui.forget.className = 'secondary';
    ui.persist = el('p', { className: 'persist', hidden: true }, ui.persistText, ' ', ui.export, ' ', ui.forget);

    // What the stored calls would have cost under another price table.
    const pricesId = `${this.#uid}-prices`;
    ui.pricesFile = el('input', {
      id: pricesId, type: 'file', accept: '.json,application/json', className: 'visually-hidden', tabIndex: -1,
    });
    ui.pricesFile.addEventListener('change', async () => {
      const file = ui.pricesFile.files?.[0];
      ui.pricesFile.value = '';
      if (file) this.reprice(await file.text()).catch(() => {});
    });
    ui.reprice = button('Reprice with a price table…',
      'Recompute the costs not taken from the logs under another genai-prices.json', () => ui.pricesFile.click());
    ui.reprice.className = 'secondary';
    ui.repriceShipped = button('Shipped prices', 'Recompute those costs under the shipped price table', () => {
      this.reprice().catch(() => {});
    });
    ui.repriceShipped.className = 'secondary';
    ui.repriceText = el('span', { className: 'reprice-text', role: 'status', 'aria-live': 'polite' });
    ui.repriceTable = new DataTable({ label: 'Cost by model before and after repricing', exportName: 'reprice' });
    ui.repriceTable.element.hidden = true;
    ui.prices = el('div', { className: 'prices' },
      el('p', { className: 'prices-row' },
        el('span', { className: 'hint', text: 'What would it have cost? ' }), ui.reprice, ' ', ui.repriceShipped, ' ',
        el('label', { className: 'visually-hidden', for: pricesId, text: 'Price table (genai-prices.json)' }),
        ui.pricesFile, ui.repriceText),
      ui.repriceTable.element);

    ui.status = el('p', { className: 'status', role: 'status', 'aria-live': 'polite', text: 'Starting the engine…' });
    ui.summary = el('p', { className: 'store-summary', text: 'No events loaded yet.' });
    ui.loads = el('ul', { className: 'loads', 'aria-label': 'Loads' });

    section.append(
      el('div', { className: 'input-grid' },
        el('div', { className: 'input-files' }, ui.drop, fileLabel, ui.files),
        el('div', { className: 'input-other' }, formatRow, ui.urlForm,
          el('div', { className: 'sample-row' }, ui.sample,
            el('span', { className: 'hint', text: 'Generated events, made in this tab.' })))),
      ui.status, ui.summary, ui.persist, ui.prices, ui.loads);
    return section;
  }

  #buildSource() {
    const section = this.#section('source', 'Data source');
    const ui = this.#ui.source;
    const name = `${this.#uid}-source`;
    ui.kinds = new Map();
    const kinds = el('div', { className: 'segmented' });
    for (const kind of SOURCE_KINDS) {
      const id = `${name}-${kind.key}`;
      const input = el('input', { type: 'radio', name, id, value: kind.key, checked: kind.key === 'tab' });
      input.addEventListener('change', () => {
        if (!input.checked) return;
        this.#showForm(kind.key);
        if (kind.key === 'tab') this.setBackend({ kind: 'tab' }).catch(() => {});
      });
      ui.kinds.set(kind.key, input);
      kinds.append(input, el('label', { for: id, text: kind.label }));
    }
    const field = (key, label, props) => {
      const id = `${this.#uid}-${key}`;
      const input = el('input', { id, autocomplete: 'off', spellcheck: 'false', ...props });
      ui[key] = input;
      return el('div', { className: `field${props.type === 'url' ? ' grow' : ''}` }, el('label', { for: id, text: label }), input);
    };
    const connect = (kind) => el('button', { type: 'submit', text: 'Connect', dataset: { kind } });
    ui.chForm = el('form', { className: 'url-form source-form', hidden: true, dataset: { kind: 'clickhouse' } },
      field('chUrl', 'Server URL', { type: 'url', required: true, placeholder: 'http://localhost:8123' }),
      field('chUser', 'User', { type: 'text', placeholder: 'default' }),
      field('chPassword', 'Password', { type: 'password', autocomplete: 'new-password', placeholder: 'none' }),
      field('chDatabase', 'Database', { type: 'text', placeholder: 'default' }),
      connect('clickhouse'));
    ui.tbForm = el('form', { className: 'url-form source-form', hidden: true, dataset: { kind: 'tinybird' } },
      field('tbHost', 'API host', { type: 'url', required: true, placeholder: 'https://api.tinybird.co' }),
      field('tbToken', 'Read token', { type: 'password', autocomplete: 'new-password', required: true, placeholder: 'PIPES:READ' }),
      field('tbAppendToken', 'Append token (to push)', { type: 'password', autocomplete: 'new-password', placeholder: 'DATASOURCES:APPEND' }),
      connect('tinybird'));
    ui.chForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.setBackend({
        kind: 'clickhouse', url: ui.chUrl.value.trim(), user: ui.chUser.value.trim(),
        password: ui.chPassword.value, database: ui.chDatabase.value.trim(),
      }).catch(() => {});
    });
    ui.tbForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.setBackend({
        kind: 'tinybird', host: ui.tbHost.value.trim(), token: ui.tbToken.value, appendToken: ui.tbAppendToken.value,
      }).catch(() => {});
    });
    ui.status = el('p', { className: 'source-status', role: 'status', 'aria-live': 'polite', text: 'Showing the events stored in this tab.' });
    ui.error.classList.add('source-error');
    ui.pushButton = el('button', { type: 'button', text: 'Push this tab’s events', disabled: true });
    ui.pushButton.addEventListener('click', () => this.push().catch(() => {}));
    ui.pushCancel = button('Cancel', 'Cancel the push', () => this.#pushController?.abort());
    ui.pushCancel.className = 'secondary cancel';
    ui.pushCancel.hidden = true;
    ui.pushBar = el('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Progress of the push' });
    ui.pushStats = el('p', { className: 'load-stats push-stats', role: 'status', 'aria-live': 'polite' });
    ui.pushResult = el('p', { className: 'push-result', role: 'status', 'aria-live': 'polite' });
    ui.push = el('div', { className: 'push', hidden: true },
      el('div', { className: 'toolbar' }, ui.pushButton, ui.pushCancel,
        el('span', { className: 'hint', text: 'Sends the events loaded in this tab to the server, then shows its numbers.' })),
      ui.pushBar, ui.pushStats, ui.pushResult);
    section.append(
      el('fieldset', { className: 'source-kinds' }, el('legend', { text: 'Read the views from' }), kinds),
      ui.chForm, ui.tbForm,
      el('p', { className: 'hint', text: 'Passwords and tokens stay in this tab’s memory and go only into request headers; ' +
        'they are never saved. The server must allow this page’s origin (CORS).' }),
      ui.status, ui.push);
    return section;
  }

  /** Shows the settings of a source kind (none for the tab). */
  #showForm(kind) {
    const ui = this.#ui.source;
    ui.chForm.hidden = kind !== 'clickhouse';
    ui.tbForm.hidden = kind !== 'tinybird';
  }

  /** Puts the source controls in line with the source in use. */
  #syncSourceControls() {
    const ui = this.#ui.source;
    const kind = this.#backend?.kind ?? 'tab';
    ui.kinds.get(kind).checked = true;
    this.#showForm(kind);
    ui.push.hidden = this.#backend === null;
    ui.pushButton.disabled = this.#backend === null || this.#pushController !== null;
    if (this.#backend !== null) {
      ui.pushButton.textContent = `Push this tab’s events to ${this.#backend.kind === 'clickhouse' ? 'ClickHouse' : 'Tinybird'}`;
    }
  }

  #showSourceStatus(text) {
    this.#ui.source.status.textContent = text;
  }

  /** Shows an error of the data source (null hides it). */
  #showSourceError(text) {
    const node = this.#ui.source.error;
    node.textContent = text ?? '';
    node.hidden = text === null;
  }

  /** Fills the source settings from the backend attributes; connects to a ClickHouse one. */
  #applyBackendAttributes() {
    const kind = this.getAttribute('backend');
    if (kind !== 'clickhouse' && kind !== 'tinybird') {
      if (kind === 'tab' && this.#backend !== null) this.setBackend({ kind: 'tab' }).catch(() => {});
      return;
    }
    const ui = this.#ui.source;
    const url = this.getAttribute('backend-url') ?? '';
    ui.kinds.get(kind).checked = true;
    this.#showForm(kind);
    if (kind === 'tinybird') {
      ui.tbHost.value = url;
      this.#showSourceStatus('Enter a read token to show the data on Tinybird.');
      return;
    }
    ui.chUrl.value = url;
    ui.chUser.value = this.getAttribute('backend-user') ?? '';
    ui.chDatabase.value = this.getAttribute('backend-database') ?? '';
    if (url) {
      this.setBackend({ kind, url, user: ui.chUser.value, database: ui.chDatabase.value }).catch(() => {});
    }
  }

  #setupDrop(container) {
    const zone = this.#ui.inputs.drop;
    let depth = 0;
    const accepts = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
    container.addEventListener('dragenter', (event) => {
      if (!accepts(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add('dragging');
    });
    container.addEventListener('dragover', (event) => {
      if (!accepts(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    container.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove('dragging');
    });
    container.addEventListener('drop', (event) => {
      event.preventDefault();
      depth = 0;
      zone.classList.remove('dragging');
      const files = [...(event.dataTransfer?.files ?? [])];
      if (files.length > 0 && this.#store) this.loadFiles(files);
    });
  }

  #setInputsEnabled(enabled) {
    const ui = this.#ui.inputs;
    for (const control of [ui.files, ui.url, ui.token, ui.urlButton, ui.sample, ui.format, ui.reprice, ui.repriceShipped]) {
      control.disabled = !enabled;
    }
    ui.drop.setAttribute('aria-disabled', String(!enabled));
  }

  #addLoadItem(name, totalBytes) {
    const controller = new AbortController();
    const title = el('strong', { className: 'load-name', text: name });
    const state = el('span', { className: 'load-state', text: 'waiting' });
    const cancel = button('Cancel', `Cancel loading ${name}`, () => controller.abort());
    cancel.className = 'secondary cancel';
    const bar = el('progress', { max: 1, 'aria-label': `Progress of ${name}` });
    const stats = el('p', { className: 'load-stats', text: totalBytes ? `0 B of ${formatBytes(totalBytes)}` : '' });
    const item = el('li', { className: 'load', dataset: { status: 'running' } },
      el('div', { className: 'load-head' }, title, state, cancel), bar, stats);
    this.#ui.inputs.loads.prepend(item);
    let lastRows = 0;
    let lastSeconds = 0;
    let rate = 0;
    return {
      controller,
      progress: (p) => {
        state.textContent = 'reading';
        if (p.totalBytes) {
          bar.max = p.totalBytes;
          bar.value = Math.min(p.sourceBytes, p.totalBytes);
        } else {
          bar.removeAttribute('value');
        }
        if (p.seconds - lastSeconds >= 0.25) {
          rate = (p.rows - lastRows) / (p.seconds - lastSeconds);
          lastRows = p.rows;
          lastSeconds = p.seconds;
        }
        const read = p.totalBytes ? `${formatBytes(p.sourceBytes)} of ${formatBytes(p.totalBytes)}` : `${formatBytes(p.sourceBytes)} read`;
        stats.textContent = `${read} · ${plural(p.rows, 'row')} stored · ${formatCount(p.quarantined)} quarantined · ` +
          `${formatCount(Math.round(rate))} rows/s`;
      },
      finish: (result) => {
        item.dataset.status = result.status;
        cancel.remove();
        const fraction = result.status === 'done' ? 1 : (bar.value || 0) / (bar.max || 1);
        bar.max = 1;
        bar.value = fraction;
        const word = { done: 'loaded', cancelled: 'cancelled', failed: 'failed' }[result.status];
        state.textContent = word;
        state.className = `load-state ${result.status}`;
        const seconds = result.seconds ?? 0;
        const rate = seconds > 0 ? ` (${formatCount(Math.round(result.rows / seconds))} rows/s)` : '';
        stats.textContent = `${plural(result.lines, 'line')}: ${plural(result.rows, 'row')} stored, ` +
          `${formatCount(result.quarantined)} quarantined, ${formatCount(result.blank)} blank · ` +
          `${formatBytes(result.bytes)} in ${formatSeconds(seconds)}${rate}`;
        // A vendor log format: its name, and records skipped with their reasons.
        if (result.format && result.format !== 'llm_events') {
          const skipped = Object.entries(result.skipped_by ?? {})
            .map(([why, n]) => `${formatCount(n)} ${why}`).join(', ');
          stats.textContent += ` · ${result.format}${skipped ? `; skipped: ${skipped}` : ''}`;
        }
        const details = [];
        if (result.error) details.push(el('li', { className: 'error', text: result.error }));
        for (const reason of result.errors ?? []) details.push(el('li', { text: reason }));
        if (details.length > 0) item.append(el('ul', { className: 'load-errors' }, ...details));
      },
    };
  }

  #buildFilters() {
    const section = this.#section('filters', 'Filters');
    const ui = this.#ui.filters;
    const name = `${this.#uid}-range`;
    ui.presets = new Map();
    const presets = el('div', { className: 'segmented' });
    for (const preset of RANGE_PRESETS) {
      const id = `${name}-${preset.key}`;
      const input = el('input', { type: 'radio', name, id, value: preset.key, checked: preset.key === 'all' });
      input.addEventListener('change', () => {
        if (input.checked) this.#setPreset(preset.key);
      });
      ui.presets.set(preset.key, input);
      presets.append(input, el('label', { for: id, text: preset.label }));
    }
    const fromId = `${this.#uid}-from`;
    const toId = `${this.#uid}-to`;
    ui.from = el('input', { type: 'datetime-local', id: fromId, step: 1 });
    ui.to = el('input', { type: 'datetime-local', id: toId, step: 1 });
    for (const input of [ui.from, ui.to]) input.addEventListener('change', () => this.#setCustomRange());
    ui.custom = el('div', { className: 'custom-range', hidden: true },
      el('div', { className: 'field' }, el('label', { for: fromId, text: 'From (UTC)' }), ui.from),
      el('div', { className: 'field' }, el('label', { for: toId, text: 'To (UTC)' }), ui.to));
    ui.rangeError = el('p', { className: 'error', role: 'alert', hidden: true });
    const range = el('fieldset', { className: 'range' },
      el('legend', { text: 'Time range (UTC), relative to the latest event' }), presets, ui.custom, ui.rangeError);

    ui.modelList = el('div', { className: 'model-list' });
    const all = button('All', 'Select all models', () => this.#selectModels(null));
    const none = button('None', 'Select no model', () => this.#selectModels(new Set()));
    all.className = none.className = 'secondary small';
    const models = el('fieldset', { className: 'models' },
      el('legend', { text: 'Models' }), el('div', { className: 'model-tools' }, all, none), ui.modelList);
    ui.summaryLine = el('p', { className: 'filter-summary', 'aria-live': 'polite' });
    section.append(el('div', { className: 'filter-grid' }, range, models), ui.summaryLine);
    return section;
  }

  #buildKpis() {
    const section = this.#section('kpis', 'Overview', 'llm_kpis');
    const ui = this.#ui.kpis;
    ui.cards = new Map();
    const grid = el('div', { className: 'kpi-grid' });
    for (const kpi of KPIS) {
      const value = el('span', { className: 'kpi-value', text: '–' });
      const card = el('div', { className: 'kpi', dataset: { kpi: kpi.key } },
        el('span', { className: 'kpi-label', text: kpi.label }), value);
      ui.cards.set(kpi.key, value);
      grid.append(card);
    }
    section.append(grid);
    return section;
  }

  #buildTableView(view, title, pipe, description, wide = []) {
    const section = this.#section(view, title, pipe);
    const table = new DataTable({ label: title, exportName: pipe, wide });
    this.#ui[view].table = table;
    this.#ui[view].source = section.querySelector('.source');
    section.append(el('p', { className: 'hint', text: description }), table.element);
    return section;
  }

  #buildCost() {
    const section = this.#section('cost', 'Cost and tokens by model', 'llm_usage_by_model');
    const ui = this.#ui.cost;
    ui.costChart = new BarChart({
      title: 'Cost by model (USD, sum of cost)',
      format: (v) => formatUsd(v),
      axisFormat: (v) => `$${compact(v)}`,
    });
    ui.tokenChart = new BarChart({
      title: 'Tokens by model (sum of total_tokens)',
      format: (v) => compact(v),
    });
    section.append(el('div', { className: 'chart-grid' }, ui.costChart.element, ui.tokenChart.element));
    return section;
  }

  #buildTimeseries() {
    const section = this.#section('timeseries', 'Over time', 'llm_timeseries');
    const ui = this.#ui.timeseries;
    const id = `${this.#uid}-bucket`;
    ui.bucket = el('select', { id });
    for (const key of ['auto', 'minute', 'hour', 'day']) ui.bucket.append(el('option', { value: key, text: key }));
    ui.bucket.addEventListener('change', () => {
      this.#bucket = ui.bucket.value;
      this.refresh({ views: ['timeseries'] });
    });
    const sync = `${this.#uid}-time`;
    const onSelect = (start, end) => this.#selectRange(start, end);
    ui.charts = {
      requests: new LineChart({ title: 'Requests', format: compact, sync, onSelect }),
      cost: new LineChart({ title: 'Cost', format: (v) => `$${compact(v)}`, sync, onSelect }),
      errors: new LineChart({ title: 'Errors', format: compact, sync, onSelect }),
    };
    section.append(
      el('div', { className: 'toolbar' },
        el('div', { className: 'field inline' }, el('label', { for: id, text: 'Bucket' }), ui.bucket),
        el('span', { className: 'hint', text: 'Drag across a chart to filter to that time range.' })),
      el('div', { className: 'chart-grid three' },
        ui.charts.requests.element, ui.charts.cost.element, ui.charts.errors.element));
    return section;
  }

  #buildLatency() {
    const section = this.#section('latency', 'Latency percentiles by model', 'llm_latency_percentiles');
    const ui = this.#ui.latency;
    ui.chart = new BarChart({
      title: 'Latency p50, p95 and p99 by model (seconds), side by side',
      format: (v) => `${formatNumber(round(v, 3))} s`,
    });
    section.append(ui.chart.element);
    return section;
  }

  #buildQuarantine() {
    const section = this.#section('quarantine', 'Quarantine');
    const ui = this.#ui.quarantine;
    ui.table = new DataTable({ label: 'Quarantined lines', exportName: 'quarantine', wide: ['reason', 'content'] });
    ui.prev = button('Previous', 'Previous page of quarantined lines', () => this.#pageQuarantine(-1));
    ui.next = button('Next', 'Next page of quarantined lines', () => this.#pageQuarantine(1));
    ui.prev.className = ui.next.className = 'secondary small';
    ui.range = el('span', { className: 'pager-range' });
    section.append(
      ui.hint = el('p', { className: 'hint', text: QUARANTINE_HINT }),
      ui.table.element,
      el('div', { className: 'pager' }, ui.prev, ui.range, ui.next));
    return section;
  }

  #buildSql() {
    const section = this.#section('sql', 'SQL');
    const ui = this.#ui.sql;
    const id = `${this.#uid}-sql`;
    ui.text = el('textarea', { id, rows: 6, spellcheck: 'false', className: 'code' });
    ui.text.value = SQL_EXAMPLE;
    ui.run = button('Run SQL', null, () => this.#runSql());
    ui.add = button('Add as pipe', 'Add the text as a pipe and run it', () => this.#addPipe());
    ui.add.className = 'secondary';
    ui.text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.#runSql();
      }
    });
    ui.message = el('p', { className: 'sql-message', role: 'status', 'aria-live': 'polite' });
    ui.table = new DataTable({ label: 'SQL result', exportName: 'query' });
    section.append(
      el('label', { for: id, text: 'A query on llm_events, or the text of a .pipe file' }),
      el('p', { className: 'hint', text: 'A query that starts with % is a template and gets the current filters ' +
        '(start_date, end_date, models) as parameters; so does an added pipe. Ctrl+Enter runs.' }),
      ui.text,
      el('div', { className: 'toolbar' }, ui.run, ui.add),
      ui.message,
      ui.table.element);
    return section;
  }

  // ---- views and filters -------------------------------------------------------------------

  #applyViewsAttribute() {
    const attr = this.getAttribute('views');
    if (!attr || !attr.trim()) {
      this.#views = new Set(VIEWS);
      return;
    }
    const wanted = attr.split(/[\s,]+/).filter(Boolean);
    this.#views = new Set(wanted.filter((v) => VIEWS.includes(v)));
  }

  #applyViews() {
    this.#applyViewsAttribute();
    for (const view of VIEWS) {
      const section = this.#ui[view]?.section;
      if (section) section.hidden = !this.#views.has(view);
    }
  }

  #shows(view) {
    return this.#views.has(view);
  }

  #effectiveRange() {
    const first = this.#dimensions.length > 0 ? Math.min(...this.#dimensions.map((d) => parseDateTime(d.first_seen))) : null;
    const last = this.#dimensions.length > 0 ? Math.max(...this.#dimensions.map((d) => parseDateTime(d.last_seen))) : null;
    const { preset } = this.#range;
    if (preset === 'custom') return { start: this.#range.start, end: this.#range.end, first, last };
    const seconds = RANGE_PRESETS.find((p) => p.key === preset)?.seconds;
    if (seconds && last !== null) return { start: last - seconds, end: last, first, last };
    return { start: first, end: last, first, last };
  }

  #autoBucket() {
    const { start, end } = this.#effectiveRange();
    return start === null ? 'hour' : autoBucket(end - start);
  }

  #setPreset(key) {
    const ui = this.#ui.filters;
    if (key === 'custom') {
      const { start, end } = this.#effectiveRange();
      this.#range = { preset: 'custom', start, end };
      ui.from.value = start === null ? '' : formatDateTime(start).replace(' ', 'T');
      ui.to.value = end === null ? '' : formatDateTime(end).replace(' ', 'T');
      ui.custom.hidden = false;
    } else {
      this.#range = { preset: key, start: null, end: null };
      ui.custom.hidden = true;
    }
    ui.rangeError.hidden = true;
    this.refresh();
  }

  #setCustomRange() {
    const ui = this.#ui.filters;
    const start = ui.from.value ? parseDateTime(ui.from.value.replace('T', ' ')) : NaN;
    const end = ui.to.value ? parseDateTime(ui.to.value.replace('T', ' ')) : NaN;
    if (!Number.isFinite(start) || !Number.isFinite(end) || start > end) {
      ui.rangeError.textContent = 'Enter a start and an end, the start not after the end.';
      ui.rangeError.hidden = false;
      return;
    }
    ui.rangeError.hidden = true;
    this.#range = { preset: 'custom', start, end };
    this.refresh();
  }

  /** Sets a custom range (seconds since the epoch, inclusive) and refreshes. */
  #selectRange(start, end) {
    const ui = this.#ui.filters;
    ui.presets.get('custom').checked = true;
    this.#range = { preset: 'custom', start, end };
    ui.from.value = formatDateTime(start).replace(' ', 'T');
    ui.to.value = formatDateTime(end).replace(' ', 'T');
    ui.custom.hidden = false;
    ui.rangeError.hidden = true;
    this.refresh();
  }

  #selectModels(selection) {
    this.#selected = selection === null || selection.size === this.#models.length ? null : selection;
    this.#renderModelList();
    this.refresh();
  }

  #renderModelList() {
    const ui = this.#ui.filters;
    const counts = new Map(this.#dimensions.map((d) => [d.model_name, d.requests]));
    const items = this.#models.map((model, i) => {
      const id = `${this.#uid}-model-${i}`;
      const box = el('input', {
        type: 'checkbox', id, value: model,
        checked: this.#selected === null || this.#selected.has(model),
      });
      box.addEventListener('change', () => {
        const next = new Set(this.#selected ?? this.#models);
        if (box.checked) next.add(model);
        else next.delete(model);
        this.#selectModels(next);
      });
      const swatch = el('span', { className: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = this.#colorOf(model);
      const requests = counts.get(model) ?? 0;
      const label = el('label', { for: id }, swatch, el('span', { className: 'model-name', text: model }), ' ',
        el('span', { className: 'model-count', text: formatCount(requests) },
          el('span', { className: 'visually-hidden', text: requests === 1 ? ' request' : ' requests' })));
      return el('div', { className: 'model-option' }, box, label);
    });
    if (items.length === 0) items.push(el('p', { className: 'hint', text: 'Models appear here once events are loaded.' }));
    ui.modelList.replaceChildren(...items);
  }

  #colorOf(model) {
    const i = this.#models.indexOf(model);
    return MODEL_COLORS[(i < 0 ? 0 : i) % MODEL_COLORS.length];
  }

  #dashOf(model) {
    const i = this.#models.indexOf(model);
    return i >= MODEL_COLORS.length ? [6, 3] : undefined;
  }

  #renderFilterSummary() {
    const ui = this.#ui.filters;
    const { start, end } = this.#effectiveRange();
    const modelText = this.#selected === null
      ? `all ${plural(this.#models.length, 'model')}`
      : `${this.#selected.size} of ${plural(this.#models.length, 'model')}`;
    ui.summaryLine.textContent = start === null
      ? 'No events yet.'
      : `Showing ${modelText}, ${formatDateTime(start)} to ${formatDateTime(end)} UTC.`;
    const bucketSelect = this.#ui.timeseries.bucket;
    const span = start === null ? 0 : end - start;
    for (const option of bucketSelect.options) {
      const key = option.value;
      if (key === 'auto') {
        option.textContent = `auto (${this.#autoBucket()})`;
        continue;
      }
      option.disabled = span / BUCKET_SECONDS[key] > MAX_BUCKETS;
    }
    if (this.#bucket !== 'auto' && bucketSelect.querySelector(`option[value="${this.#bucket}"]`).disabled) {
      this.#bucket = 'auto';
    }
    bucketSelect.value = this.#bucket;
  }

  #setStatus(text, isError = false) {
    const status = this.#ui.inputs.status;
    status.textContent = text;
    status.classList.toggle('error', isError);
  }

  // ---- refreshing --------------------------------------------------------------------------

  /**
   * Re-runs the pipes of the visible views (or of `views`) with the current filters, drawing
   * each view as its result arrives; with `data`, first reads the models and time span anew
   * and refreshes the quarantine too (the data changed, not only the filters). Resolves when
   * all are drawn; sets data-refresh (a counter) and data-refresh-ms (milliseconds from the
   * call to the last view drawn) on the element and dispatches a 'refresh' event.
   */
  async refresh({ views, data = false } = {}) {
    if (!this.#store) return;
    // A data refresh cut short by a newer one is owed by the newer one.
    data = data || this.#dataStale;
    if (data) this.#dataStale = true;
    const started = performance.now();
    const generation = ++this.#generation;
    this.#refreshController?.abort();
    const controller = new AbortController();
    this.#refreshController = controller;
    const signal = controller.signal;
    const only = views ? new Set(views) : null;
    const wants = (view) => this.#shows(view) && (!only || only.has(view));
    const current = () => generation === this.#generation;
    const timings = {};

    // The store in this tab, or the server chosen as the data source.
    const backend = this.#backend;
    const source = backend ?? this.#store;
    try {
      if (data) {
        // The model list and the data's time span come first: the filters depend on them.
        let dimensions = { data: [] };
        let stats;
        try {
          [stats, dimensions] = await Promise.all([
            this.#store.stats(),
            backend !== null && this.#backendEmpty ? dimensions : source.dimensions({ signal }),
          ]);
        } catch (err) {
          if (backend === null || err.name === 'AbortError' || !current()) throw err;
          // The server failed: its error in the page, and no numbers of another source left.
          this.#showSourceError(`${backend.label}: ${err.message}`);
          this.dataset.sourceState = 'failed';
          this.#setDimensions([], await this.#store.stats());
          this.#renderFilterSummary();
          this.#clearViews();
          throw err;
        }
        if (!current()) return;
        this.#setDimensions(dimensions.data, stats);
        if (backend !== null) {
          this.#showSourceError(null);
          this.dataset.sourceState = 'connected';
          const rows = dimensions.data.reduce((n, r) => n + Number(r.requests ?? 0), 0);
          this.#showSourceStatus(this.#backendEmpty
            ? `Showing ${backend.label}: it has no table ${backend.table} yet. Push the events of this tab to create it.`
            : `Showing ${backend.label}: ${plural(rows, 'event')}.`);
        }
      }
      if (backend !== null && this.#backendEmpty) {
        // Nothing on the server yet: empty views rather than errors about a missing table.
        this.#renderFilterSummary();
        this.#clearViews();
        throw Object.assign(new Error('empty'), { name: 'EmptySource' });
      }
      this.#renderFilterSummary();
      const params = this.params;
      const filtered = Object.keys(params).length > 0;
      const jobs = [];
      const job = (view, run, draw) => {
        if (!wants(view)) return;
        jobs.push(run().then((result) => {
          if (!current()) return;
          this.#ui[view].error.hidden = true;
          const drawStart = performance.now();
          const drawn = draw(result);
          const done = () => {
            const now = performance.now();
            timings[view] = { at: now - started, draw: now - drawStart };
          };
          return drawn instanceof Promise ? drawn.then(done) : done();
        }, (err) => {
          if (!current() || err.name === 'AbortError') return;
          this.#ui[view].error.textContent = err.message;
          this.#ui[view].error.hidden = false;
        }));
      };
      const pipe = (name, p = params) => () => source.pipe(name, p, { signal });

      // The worker runs these in order. The headline numbers come first; then the views whose
      // charts take longest to draw, so that drawing them overlaps the queries after them.
      job('kpis', pipe('llm_kpis'), (r) => this.#drawKpis(r));
      const bucket = this.bucket;
      job('timeseries', pipe('llm_timeseries', { ...params, bucket }), (r) => this.#drawTimeseries(r, bucket));
      let usage = null;
      const usagePipe = filtered ? FILTERED_USAGE : 'llm_usage_by_model';
      if (wants('usage') || wants('cost')) {
        usage = source.pipe(usagePipe, filtered ? params : undefined, { signal });
        usage.catch(() => {});
        job('cost', () => usage, (r) => {
          this.#ui.cost.header.querySelector('.source').textContent = usagePipe;
          return this.#drawCost(r);
        });
        job('usage', () => usage, (r) => this.#drawTable('usage', r, usagePipe));
      }
      job('latency', pipe('llm_latency_percentiles'), (r) => this.#drawLatency(r));
      const performancePipe = filtered ? FILTERED_PERFORMANCE : 'llm_performance';
      job('performance', pipe(performancePipe, filtered ? params : undefined),
        (r) => this.#drawTable('performance', r, performancePipe));
      job('errors', pipe('llm_top_errors'), (r) => this.#drawTable('errors', r, 'llm_top_errors'));
      if (data || only?.has('quarantine')) {
        // A server without a quarantine (ClickHouse): the lines this tab kept out, never pushed.
        const quarantined = source.quarantine ? source : this.#store;
        job('quarantine', () => quarantined.quarantine({ offset: this.#quarantineOffset, limit: QUARANTINE_PAGE }, { signal }),
          (r) => this.#drawQuarantine(r, quarantined));
      }
      await Promise.all(jobs);
    } catch (err) {
      if (err.name === 'AbortError' || !current()) return;
      if (err.name !== 'EmptySource' && backend === null) this.#setStatus(`The views could not be refreshed: ${err.message}`, true);
    }
    if (!current()) return;
    if (data) this.#dataStale = false;
    const ms = performance.now() - started;
    this.#refreshes += 1;
    this.dataset.refreshMs = ms.toFixed(1);
    this.dataset.refresh = String(this.#refreshes);
    if (this.#pendingLoads === 0) this.dataset.state = 'ready';
    this.dispatchEvent(new CustomEvent('refresh', { detail: { ms, views: timings, params: this.params } }));
  }

  async #refreshKpisWhileLoading() {
    if (!this.#shows('kpis') || this.#kpisInFlight || this.#backend !== null) return;
    this.#kpisInFlight = true;
    try {
      const [stats, kpis] = await Promise.all([this.#store.stats(), this.#store.pipe('llm_kpis', this.params)]);
      if (this.#pendingLoads > 0) {
        this.#drawKpis(kpis);
        this.#drawStoreSummary(stats);
      }
    } catch {
      // The next refresh shows the error.
    } finally {
      this.#kpisInFlight = false;
    }
  }

  #kpisInFlight = false;

  #setDimensions(dimensions, stats) {
    this.#dimensions = dimensions;
    const models = dimensions.map((d) => d.model_name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const changed = models.join('\u0000') !== this.#models.join('\u0000');
    this.#models = models;
    if (this.#selected !== null) {
      this.#selected = new Set(models.filter((m) => this.#selected.has(m)));
    }
    if (changed) this.#renderModelList();
    this.#drawStoreSummary(stats);
  }

  #drawStoreSummary(stats) {
    const text = stats.rowCount === 0 && stats.quarantinedCount === 0
      ? 'No events loaded yet.'
      : `${plural(stats.rowCount, 'event')} in memory (${formatBytes(stats.storeBytes)}), ` +
        `${plural(stats.quarantinedCount, 'quarantined line')}.`;
    this.#ui.inputs.summary.textContent = text;
  }

  /** Empties every view: a server with no data yet, or one that failed. */
  #clearViews() {
    this.#drawKpis({ data: [] });
    for (const view of ['usage', 'performance', 'errors']) this.#ui[view].table.setEmpty();
    this.#ui.cost.costChart.render([], []);
    this.#ui.cost.tokenChart.render([], []);
    this.#ui.latency.chart.render([], []);
    for (const chart of Object.values(this.#ui.timeseries.charts)) chart.render([], []);
    this.#ui.quarantine.table.setEmpty();
  }

  #drawKpis(endpoint) {
    const row = endpoint.data[0] ?? {};
    for (const kpi of KPIS) {
      const value = row[kpi.key];
      const node = this.#ui.kpis.cards.get(kpi.key);
      node.textContent = formatKpi(kpi, value);
      node.dataset.value = value === null || value === undefined ? 'null' : String(value);
      node.title = node.dataset.value;
    }
  }

  #drawTable(view, endpoint, pipeName) {
    this.#ui[view].table.render(endpoint);
    if (this.#ui[view].source) this.#ui[view].source.textContent = pipeName;
  }

  #drawCost(endpoint) {
    const ui = this.#ui.cost;
    const byCost = [...endpoint.data].sort((a, b) => b.total_cost - a.total_cost);
    const byTokens = [...endpoint.data].sort((a, b) => b.total_tokens - a.total_tokens);
    return Promise.all([
      ui.costChart.render(byCost.map((r) => r.model_name), [
        { label: 'Cost (USD)', color: '#4e79a7', values: byCost.map((r) => r.total_cost) },
      ]),
      ui.tokenChart.render(byTokens.map((r) => r.model_name), [
        { label: 'Total tokens', color: '#59a14f', values: byTokens.map((r) => r.total_tokens) },
      ]),
    ]);
  }

  #drawLatency(endpoint) {
    const data = endpoint.data;
    return this.#ui.latency.chart.render(data.map((r) => r.model_name), [
      { label: 'p50', color: '#9ecae1', values: data.map((r) => r.p50_latency) },
      { label: 'p95', color: '#4292c6', values: data.map((r) => r.p95_latency) },
      { label: 'p99', color: '#2b6cb0', values: data.map((r) => r.p99_latency) },
    ]);
  }

  #drawTimeseries(endpoint, bucket) {
    const step = BUCKET_SECONDS[bucket];
    const rows = endpoint.data;
    const present = [...new Set(rows.map((r) => parseDateTime(r.bucket)))].sort((a, b) => a - b);
    let times = present;
    if (present.length > 1) {
      const first = present[0];
      const last = present[present.length - 1];
      const count = Math.round((last - first) / step) + 1;
      // Buckets without events are zero; day buckets are whole UTC days, so the step is exact.
      if (count <= MAX_BUCKETS * 2) times = Array.from({ length: count }, (_, i) => first + i * step);
    }
    const index = new Map(times.map((t, i) => [t, i]));
    const models = this.#models.filter((m) => rows.some((r) => r.model_name === m));
    for (const r of rows) if (!models.includes(r.model_name)) models.push(r.model_name);
    const series = { requests: new Map(), cost: new Map(), errors: new Map() };
    for (const model of models) {
      for (const map of Object.values(series)) map.set(model, new Array(times.length).fill(0));
    }
    for (const r of rows) {
      const i = index.get(parseDateTime(r.bucket));
      series.requests.get(r.model_name)[i] = r.requests;
      series.cost.get(r.model_name)[i] = r.cost;
      series.errors.get(r.model_name)[i] = r.errors;
    }
    const per = `per ${bucket}`;
    const titles = {
      requests: [`Requests ${per}, by model`, 'count of events'],
      cost: [`Cost ${per}, by model (USD)`, 'sum of cost'],
      errors: [`Errors ${per}, by model`, 'count of events with success = 0'],
    };
    return Promise.all(Object.entries(this.#ui.timeseries.charts).map(([key, chart]) => {
      chart.setTitle(titles[key][0], `${titles[key][0]}: ${titles[key][1]}, one line per model`);
      return chart.render(times, models.map((model) => ({
        label: model,
        color: this.#colorOf(model),
        dash: this.#dashOf(model),
        values: series[key].get(model),
      })));
    }));
  }

  /** Draws a page of quarantined lines from `from` (the tab's store, or Tinybird's quarantine). */
  #drawQuarantine(endpoint, from = this.#store) {
    const ui = this.#ui.quarantine;
    if (from !== this.#store) {
      ui.hint.textContent = 'Rows the server’s datasource quarantined (llm_events_quarantine), newest first, ' +
        'with the import, the columns and the reasons.';
    } else if (this.#backend !== null) {
      ui.hint.textContent = `${QUARANTINE_HINT} These are the lines this tab kept out while loading: ` +
        'they were never pushed, and ClickHouse keeps no quarantine.';
    } else {
      ui.hint.textContent = QUARANTINE_HINT;
    }
    const schema = endpoint.meta.map((m) => m.name).filter((n) => !n.startsWith('c__') && n !== 'insertion_date');
    const data = endpoint.data.map((r) => ({
      // Tinybird's quarantine names the import, not a stream and line.
      source: r.c__source ?? r.c__import_id ?? '',
      line: r.c__line ?? null,
      column: r.c__error_column,
      reason: r.c__error,
      content: r.c__raw ? r.c__raw
        : schema.filter((n) => r[n] !== '' && r[n] !== null && r[n] !== undefined).map((n) => `${n}: ${r[n]}`).join(', '),
    }));
    ui.table.render({
      meta: [
        { name: 'source', type: 'String' },
        { name: 'line', type: 'UInt64' },
        { name: 'column', type: 'Array(String)' },
        { name: 'reason', type: 'Array(String)' },
        { name: 'content', type: 'String' },
      ],
      data,
      rows: data.length,
      statistics: null,
    });
    from.stats().then((stats) => {
      const total = stats.quarantinedCount ?? this.#quarantineOffset + data.length;
      const from = total === 0 ? 0 : this.#quarantineOffset + 1;
      const to = this.#quarantineOffset + data.length;
      ui.range.textContent = total === 0 ? 'No quarantined lines.' : `Lines ${formatCount(from)}–${formatCount(to)} of ${formatCount(total)}`;
      ui.prev.disabled = this.#quarantineOffset === 0;
      ui.next.disabled = to >= total;
    }, () => {});
  }

  #pageQuarantine(direction) {
    this.#quarantineOffset = Math.max(0, this.#quarantineOffset + direction * QUARANTINE_PAGE);
    this.refresh({ views: ['quarantine'] });
  }

  async #runSql() {
    const ui = this.#ui.sql;
    const query = ui.text.value.trim();
    if (!query || !this.#store) return;
    ui.message.classList.remove('error');
    ui.message.textContent = 'Running…';
    try {
      const source = this.#backend ?? this.#store;
      const result = await source.sql(query, query.startsWith('%') ? this.params : undefined);
      ui.table.render(result);
      ui.message.textContent = `${plural(result.rows, 'row')} in ${(result.statistics.elapsed * 1000).toFixed(1)} ms.`;
    } catch (err) {
      ui.table.setEmpty();
      ui.message.textContent = err.message;
      ui.message.classList.add('error');
    }
  }

  async #addPipe() {
    const ui = this.#ui.sql;
    const text = ui.text.value;
    if (!text.trim() || !this.#store) return;
    ui.message.classList.remove('error');
    try {
      const name = await this.#store.addPipe(text);
      this.#addedPipes.push(text);
      const result = await (this.#backend ?? this.#store).pipe(name, this.params);
      ui.table.render(result);
      ui.message.textContent = `Added pipe ${name}; it returned ${plural(result.rows, 'row')} ` +
        `with the current filters in ${(result.statistics.elapsed * 1000).toFixed(1)} ms.`;
    } catch (err) {
      ui.table.setEmpty();
      ui.message.textContent = err.message;
      ui.message.classList.add('error');
    }
  }
}

/** An empty load result named `stream`, for loads that are not streams of lines. */
function emptyResult(stream) {
  return { stream, status: 'done', lines: 0, rows: 0, quarantined: 0, blank: 0, bytes: 0, errors: [] };
}

/** True for a store file: named .llmstore, or starting with the LLMSTORE magic. */
async function isStoreFile(file) {
  if (/\.llmstore$/i.test(file.name ?? '')) return true;
  if (file.size < 8) return false;
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  return String.fromCharCode(...head) === 'LLMSTORE';
}

/** A save time (epoch ms) as the page's UTC date and time. */
function formatSavedAt(ms) {
  return `${formatDateTime(Math.floor(ms / 1000))} UTC`;
}

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

const compactFormat = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 });

/** 1234567 as 1.23M: for axis labels; legends and tables keep more digits. */
function compact(value) {
  return Math.abs(value) < 1000 ? formatNumber(round(value, 3)) : compactFormat.format(value);
}

if (!customElements.get('llm-metrics-dashboard')) {
  customElements.define('llm-metrics-dashboard', LlmMetricsDashboard);
}
