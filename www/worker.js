// The store's thread: one EventStore in wasm memory, fed from files, URLs, streams or the sample
// generator chunk by chunk, and queried with pipes and SQL. The page talks to it through
// createStore() in store.js; every message is { id, op, ... } and every answer is
// { id, ok, value | error }, with { id, progress } while a load runs and { event: 'change' }
// when the stored data changes.

import init, { EventStore, generateSample, warmUp } from './pkg/llm_metrics.js';

/** Longest time between two progress messages of a running load. */
const PROGRESS_MS = 100;
/** Longest time between two 'change' events while rows stream in. */
const CHANGE_MS = 1000;
/** Chunk size for in-memory sources (the sample, transferred bytes). */
const MEMORY_CHUNK = 1 << 20;
/** A line still incomplete after this many bytes is written as it comes instead of held back. */
const MAX_CARRY = 1 << 20;

let store = null;
let opening = null;

/** Loads waiting for the one running before them, in order. */
const loadQueue = [];
/** id -> { cancelled, cancel() } for queued and running loads. */
const loads = new Map();
let loading = false;

/** Queries waiting to run; drained one per task so that aborts sent meanwhile are seen. */
const queryQueue = [];
const abortedQueries = new Set();
let draining = false;

self.onmessage = (event) => {
  const msg = event.data;
  switch (msg.op) {
    case 'open':
      opening = open(msg);
      break;
    case 'load':
      enqueueLoad(msg);
      break;
    case 'cancel':
      loads.get(msg.target)?.cancel();
      break;
    case 'abort':
      abortedQueries.add(msg.target);
      break;
    default:
      queryQueue.push(msg);
      scheduleDrain();
  }
};

async function open(msg) {
  try {
    await init();
    store = new EventStore(msg.options ?? undefined);
    reply(msg.id, statsOf());
  } catch (err) {
    fail(msg.id, err);
    return;
  }
  // The optimising compiler takes over a function only after it has run for a while: running
  // the pipes on a small sample now makes the first queries on real data run at full speed.
  try {
    warmUp();
  } catch (err) {
    console.warn(`llm-metrics: warm-up failed: ${messageOf(err)}`);
  }
}

function reply(id, value) {
  self.postMessage({ id, ok: true, value });
}

function fail(id, err) {
  self.postMessage({ id, ok: false, error: messageOf(err) });
}

function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

function statsOf() {
  return {
    rowCount: store.rowCount,
    quarantinedCount: store.quarantinedCount,
    storeBytes: store.storeBytes,
  };
}

function announceChange(final) {
  self.postMessage({ event: 'change', final, stats: statsOf() });
}

// ---- queries -------------------------------------------------------------------------------

function scheduleDrain() {
  if (draining) return;
  draining = true;
  setTimeout(drain, 0);
}

async function drain() {
  if (opening) await opening;
  const msg = queryQueue.shift();
  if (msg) {
    if (abortedQueries.delete(msg.id)) {
      self.postMessage({ id: msg.id, ok: false, error: 'The query was aborted.', aborted: true });
    } else {
      runQuery(msg);
    }
  }
  draining = false;
  if (queryQueue.length > 0) scheduleDrain();
  else abortedQueries.clear();
}

function runQuery(msg) {
  if (!store) {
    fail(msg.id, new Error('The store is not open.'));
    return;
  }
  try {
    switch (msg.op) {
      case 'pipe':
        reply(msg.id, store.pipe(msg.name, msg.params ?? undefined));
        break;
      case 'sql':
        reply(msg.id, store.sql(msg.query, msg.params ?? undefined));
        break;
      case 'addPipe':
        reply(msg.id, store.addPipe(msg.text));
        break;
      case 'quarantine':
        reply(msg.id, store.quarantine(msg.page ?? undefined));
        break;
      case 'pipeNames':
        reply(msg.id, store.pipeNames());
        break;
      case 'stats':
        reply(msg.id, statsOf());
        break;
      case 'close':
        for (const load of loads.values()) load.cancel();
        store.free();
        store = null;
        reply(msg.id, null);
        self.close();
        break;
      default:
        fail(msg.id, new Error(`Unknown operation '${msg.op}'.`));
    }
  } catch (err) {
    fail(msg.id, err);
  }
}

// ---- loads ---------------------------------------------------------------------------------

function enqueueLoad(msg) {
  const load = {
    cancelled: false,
    onCancel: null,
    cancel() {
      if (this.cancelled) return;
      this.cancelled = true;
      this.onCancel?.();
    },
  };
  loads.set(msg.id, load);
  loadQueue.push({ msg, load });
  if (!loading) runLoads();
}

async function runLoads() {
  loading = true;
  if (opening) await opening;
  while (loadQueue.length > 0) {
    const { msg, load } = loadQueue.shift();
    const result = await runLoad(msg, load);
    loads.delete(msg.id);
    // The change first: a client that sees it before the load's answer knows the load is its own.
    if (result.lines > 0) announceChange(loadQueue.length === 0);
    reply(msg.id, result);
  }
  loading = false;
}

/** An empty report for a load that stopped before its stream began. */
function emptyReport(name) {
  return { stream: name, lines: 0, rows: 0, quarantined: 0, blank: 0, bytes: 0, errors: [] };
}

/**
 * Runs one load to its end, cancellation or failure; never throws. The result is the stream's
 * report plus { status: 'done' | 'cancelled' | 'failed', error?, sourceBytes, totalBytes,
 * seconds }.
 */
async function runLoad(msg, load) {
  const started = performance.now();
  const source = msg.source;
  let name = msg.name ?? defaultName(source);
  let progress = { sourceBytes: 0, totalBytes: null };
  const finish = (report, status, err) => ({
    ...report,
    status,
    ...(err === undefined ? {} : { error: messageOf(err) }),
    sourceBytes: progress.sourceBytes,
    totalBytes: progress.totalBytes,
    seconds: (performance.now() - started) / 1000,
  });

  if (!store) return finish(emptyReport(name), 'failed', new Error('The store is not open.'));
  if (load.cancelled) return finish(emptyReport(name), 'cancelled');

  let opened;
  try {
    opened = await openSource(source, load);
  } catch (err) {
    return finish(emptyReport(name), load.cancelled ? 'cancelled' : 'failed', load.cancelled ? undefined : err);
  }
  progress.totalBytes = opened.totalBytes;
  if (load.cancelled) {
    await opened.stream.cancel().catch(() => {});
    return finish(emptyReport(name), 'cancelled');
  }

  const counted = countBytes(opened.stream, (n) => (progress.sourceBytes += n));
  let reader;
  try {
    reader = (await gunzipIfCompressed(counted)).getReader();
  } catch (err) {
    return finish(emptyReport(name), 'failed', err);
  }
  load.onCancel = () => reader.cancel().catch(() => {});
  if (load.cancelled) load.onCancel();

  const rowsBefore = store.rowCount;
  const quarantinedBefore = store.quarantinedCount;
  const lines = new LineAlignedWriter(store);
  let lastProgress = 0;
  let lastChange = performance.now();
  let progressTimer = null;
  const post = () => {
    clearTimeout(progressTimer);
    progressTimer = null;
    if (!store) return;
    lastProgress = performance.now();
    self.postMessage({
      id: msg.id,
      progress: {
        stream: name,
        sourceBytes: progress.sourceBytes,
        totalBytes: progress.totalBytes,
        rows: store.rowCount - rowsBefore,
        quarantined: store.quarantinedCount - quarantinedBefore,
        seconds: (performance.now() - started) / 1000,
      },
    });
  };

  store.begin(name);
  let failure;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || load.cancelled) break;
      lines.write(value);
      const now = performance.now();
      // At most one message per PROGRESS_MS, and the last state always within PROGRESS_MS,
      // even when the source pauses.
      if (now - lastProgress >= PROGRESS_MS) post();
      else progressTimer ??= setTimeout(post, PROGRESS_MS - (now - lastProgress));
      if (now - lastChange >= CHANGE_MS) {
        lastChange = now;
        announceChange(false);
      }
    }
  } catch (err) {
    if (!load.cancelled) failure = err;
  }
  if (load.cancelled || failure) {
    // The incomplete last line is dropped: the stream keeps whole lines only.
    lines.discard();
    await reader.cancel().catch(() => {});
    // close() freed the store meanwhile.
    if (!store) return finish(emptyReport(name), 'cancelled');
  } else {
    try {
      lines.flush();
    } catch (err) {
      failure = err;
    }
  }
  const report = store.end();
  post();
  if (failure) return finish(report, 'failed', failure);
  return finish(report, load.cancelled ? 'cancelled' : 'done');
}

function defaultName(source) {
  switch (source.kind) {
    case 'file':
      return source.file.name;
    case 'url':
      return source.url;
    case 'sample':
      return `sample (${source.rows.toLocaleString('en-US')} events, seed ${source.seed})`;
    default:
      return 'stream';
  }
}

/** Opens a source as a ReadableStream of bytes, with its size in bytes when known. */
async function openSource(source, load) {
  switch (source.kind) {
    case 'file':
      return { stream: source.file.stream(), totalBytes: source.file.size };
    case 'url':
      return openUrl(source, load);
    case 'sample': {
      const bytes = generateSample(source.rows, source.seed);
      return { stream: memoryStream(bytes), totalBytes: bytes.length };
    }
    case 'bytes':
      return { stream: memoryStream(source.bytes), totalBytes: source.bytes.length };
    case 'stream':
      return { stream: source.stream, totalBytes: source.totalBytes ?? null };
    default:
      throw new Error(`Unknown source kind '${source.kind}'.`);
  }
}

/**
 * Fetches a URL for its body stream. A token is sent only as an Authorization header; the
 * request carries no cookies or referrer and is kept out of the HTTP cache.
 */
async function openUrl(source, load) {
  const controller = new AbortController();
  load.onCancel = () => controller.abort();
  const headers = new Headers();
  if (source.token) headers.set('Authorization', `Bearer ${source.token}`);
  let response;
  try {
    response = await fetch(source.url, {
      headers,
      signal: controller.signal,
      credentials: 'omit',
      cache: 'no-store',
      referrerPolicy: 'no-referrer',
      redirect: 'follow',
    });
  } catch (err) {
    if (load.cancelled) throw err;
    throw new Error(`Could not fetch the URL: ${messageOf(err)}`);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const reason = response.status === 401 || response.status === 403
      ? ' (check the token)' : '';
    throw new Error(`The server answered ${response.status} ${response.statusText}${reason}.`);
  }
  if (!response.body) throw new Error('The response has no body.');
  // With a Content-Encoding the body is decoded on the way and Content-Length no longer
  // counts the bytes read.
  const length = Number(response.headers.get('Content-Length'));
  const encoded = response.headers.has('Content-Encoding');
  return {
    stream: response.body,
    totalBytes: !encoded && Number.isFinite(length) && length > 0 ? length : null,
  };
}

/** A stream over bytes already in memory, in chunks of MEMORY_CHUNK. */
function memoryStream(bytes) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      const end = Math.min(at + MEMORY_CHUNK, bytes.length);
      controller.enqueue(bytes.subarray(at, end));
      at = end;
    },
  });
}

/** Passes a stream through unchanged, counting its bytes. */
function countBytes(stream, onBytes) {
  return stream.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      onBytes(chunk.byteLength);
      controller.enqueue(chunk);
    },
  }));
}

/** Decompresses a stream that starts with the gzip magic bytes; passes others through. */
async function gunzipIfCompressed(stream) {
  const reader = stream.getReader();
  let head = new Uint8Array(0);
  let done = false;
  // Two bytes decide; a first chunk of one byte needs a second read.
  while (head.length < 2 && !done) {
    const next = await reader.read();
    done = next.done;
    if (next.value) head = concat(head, next.value);
  }
  const rest = new ReadableStream({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
      if (done) controller.close();
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return gzip ? rest.pipeThrough(new DecompressionStream('gzip')) : rest;
}

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Writes chunks to the store up to their last newline and holds back the incomplete line, so a
 * cancelled stream ends on a whole line. A line longer than MAX_CARRY is written as it comes.
 */
class LineAlignedWriter {
  constructor(target) {
    this.target = target;
    this.carry = null;
  }

  write(chunk) {
    const newline = chunk.lastIndexOf(0x0a);
    if (newline < 0) {
      this.carry = this.carry ? concat(this.carry, chunk) : chunk;
      if (this.carry.length > MAX_CARRY) {
        this.target.write(this.carry);
        this.carry = null;
      }
      return;
    }
    if (this.carry) {
      this.target.write(this.carry);
      this.carry = null;
    }
    this.target.write(newline + 1 === chunk.length ? chunk : chunk.subarray(0, newline + 1));
    if (newline + 1 < chunk.length) this.carry = chunk.subarray(newline + 1);
  }

  flush() {
    if (this.carry) this.target.write(this.carry);
    this.carry = null;
  }

  discard() {
    this.carry = null;
  }
}
