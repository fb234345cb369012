// The store's thread: one EventStore in wasm memory, fed from files, URLs, streams or the sample
// generator chunk by chunk, and queried with pipes and SQL. The page talks to it through
// createStore() in store.js; every message is { id, op, ... } and every answer is
// { id, ok, value | error }, with { id, progress } while a load runs and { event: 'change' }
// when the stored data changes.
//
// A panic in the engine (a bug) poisons its wasm instance: the worker then posts
// { event: 'lost', id, message, error } once, where `id` is the request the panic struck,
// `message` the panic's message and location, and `error` the Error text for that request; every
// later request fails with "the store was lost after a crash: ...". createStore() then
// replaces this worker with a fresh one (MetricsStore.recover()); the data has to be loaded anew.
//
// Opened with { persist: true }, the store keeps itself in the Origin Private File System: after
// the loads queued have ended it writes its store file (a few sections at a time, so queries run
// in between) to llm-metrics/store.llmstore, and when it opens it reopens that file. It posts
// { event: 'saved', saved } after each save; 'forget' deletes the folder and empties the store,
// 'exportStore' answers with the store file as a Blob, and 'openStoreFile' replaces the store
// with one read from a store file.

import init, {
  EventStore, StoreFileReader, formatNames, generateSample, lastPanic, warmUp,
} from './pkg/llm_metrics.js';

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
/** The options the store was opened with, for the stores that replace it. */
let storeOptions = {};
/** The price table's text, for the stores that replace the first. */
let priceText = null;
/** Texts given to addPipe, replayed on a store that replaces the current one. */
const addedPipes = new Map();

/** The OPFS folder and file names of the saved store. */
const SAVE_DIR = 'llm-metrics';
const SAVE_FILE = 'store.llmstore';
const SAVE_TEMP = 'store.llmstore.tmp';
/**
 * Present while the saved store is being reopened. Found at the next start, it means the reopen
 * never ended: the page was reloaded or closed meanwhile, or the engine crashed. The next start
 * then reads the file once more under REOPEN_AGAIN; found with that one too, or right after a
 * crash in the same page, the file is moved aside instead of read again.
 */
const REOPEN_MARK = 'store.llmstore.reopening';
/** Present while the saved store is read a second time after a reopen that never ended. */
const REOPEN_AGAIN = 'store.llmstore.reopening-again';
/** Prefix of the name a saved store that could not be reopened is moved aside to. */
const UNREADABLE_PREFIX = 'store.llmstore.unreadable-';
/**
 * The Web Lock held while the saved store is written or reopened, and the channel on which a
 * tab says it saved: tabs of the origin share one file.
 */
const SAVE_LOCK = 'llm-metrics-store';
const tabId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
const saveChannel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(SAVE_LOCK);
if (saveChannel) {
  saveChannel.onmessage = (event) => {
    // Another tab saved its own store: saving this one automatically would overwrite it.
    if (event.data?.saved && event.data.saved !== tabId && persistence.available && !persistence.stale) {
      persistence.stale = true;
      self.postMessage({ event: 'persistence', persistence });
    }
  };
}

/** Runs `fn` holding the save lock, where the browser has Web Locks. */
function withSaveLock(fn) {
  return globalThis.navigator?.locks ? navigator.locks.request(SAVE_LOCK, fn) : fn();
}
/** Store file sections written between two chances for queries to run (about 8 MiB of rows). */
const SAVE_PARTS = 32;
/**
 * What persistence can do here: { enabled, available, reason?, reopened?, error?, saved? }.
 * `saved` is { rows, bytes, savedAt, seconds } of the last save or of the file reopened.
 */
let persistence = { enabled: false, available: false };
/** The stored data changed since the last save. */
let unsaved = false;
/** The panic's message once the engine crashed, else null. */
let lost = null;

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
    case 'openStoreFile':
    case 'save':
    case 'forget':
    case 'reprice':
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
    storeOptions = msg.options ?? {};
    if (msg.persist) {
      persistence = await openPersistence(msg.id, msg.reopen !== false, msg.afterCrash === true);
    }
    if (!store) store = new GuardedStore(engine(msg.id, () => new EventStore(storeOptions)));
    await loadPrices(msg.id);
    reply(msg.id, { ...statsOf(), datasourceName: store.datasourceName, persistence });
  } catch (err) {
    fail(msg.id, err);
    return;
  }
  // The optimising compiler takes over a function only after it has run for a while: running
  // the pipes on a small sample now makes the first queries on real data run at full speed.
  try {
    engine(null, () => warmUp());
  } catch (err) {
    if (lost === null) console.warn(`llm-metrics: warm-up failed: ${messageOf(err)}`);
  }
}

/**
 * Gives the store the genai-prices table (www/vendor/, written by scripts/vendor.sh), which
 * costs records of vendor log formats that carry no cost. Without it they cost 0.
 */
async function loadPrices(id) {
  try {
    const response = await fetch(new URL('./vendor/genai-prices.json', import.meta.url));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    priceText = text;
    engine(id, () => store.inner.setPrices(text));
  } catch (err) {
    if (lost === null) console.warn(`llm-metrics: no price table (${messageOf(err)}); logs without costs count 0`);
  }
}

// ---- persistence ---------------------------------------------------------------------------

/** The OPFS folder of the saved store; throws where the page has no OPFS. */
async function saveDir(create = true) {
  if (!globalThis.navigator?.storage?.getDirectory) {
    throw new Error('this browser has no Origin Private File System');
  }
  if (typeof FileSystemFileHandle === 'undefined' ||
    !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) {
    throw new Error('this browser cannot write files of the Origin Private File System from a worker');
  }
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(SAVE_DIR, { create });
}

/**
 * Finds out whether the store can be kept here, and reopens the saved store when there is one
 * (and `reopen`). Never throws: what went wrong is in the answer.
 */
async function openPersistence(id, reopen, afterCrash) {
  let dir;
  try {
    dir = await saveDir();
    // Private windows may give a folder yet refuse to write in it: try before relying on it.
    // A name of its own: a worker of the page before a reload may still hold the others.
    const name = `probe-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const probe = await dir.getFileHandle(name, { create: true });
    const handle = await probe.createSyncAccessHandle();
    handle.close();
    await dir.removeEntry(name);
  } catch (err) {
    return { enabled: true, available: false, reason: messageOf(err) };
  }
  const state = { enabled: true, available: true };
  if (!reopen) return state;
  return withSaveLock(() => reopenSaved(id, dir, state, afterCrash));
}

/**
 * Reopens the saved store in `dir` into `state` (see openPersistence); `afterCrash`: the
 * engine of this page crashed in its last start.
 */
async function reopenSaved(id, dir, state, afterCrash) {
  let file;
  /** Reopening the temporary file a save left when the saved one went before its move. */
  let fromTemp = false;
  try {
    file = await (await dir.getFileHandle(SAVE_FILE)).getFile();
  } catch {
    try {
      file = await (await dir.getFileHandle(SAVE_TEMP)).getFile();
      fromTemp = true;
    } catch {
      return state;
    }
  }
  if (file.size === 0) return state;
  if (fromTemp) {
    // Only a whole file (its END section read) is taken; a save cut short is left to be
    // overwritten by the next one, as is one whose reading never ended.
    if (await exists(dir, REOPEN_MARK)) {
      await clearReopenMarks(dir);
      return state;
    }
    await dir.getFileHandle(REOPEN_MARK, { create: true });
    const started = performance.now();
    try {
      store = new GuardedStore(await readStoreFile(id, file));
    } catch (err) {
      if (lost !== null) throw err;
      await clearReopenMarks(dir);
      return state;
    }
    await dir.removeEntry(REOPEN_MARK).catch(() => {});
    await (await dir.getFileHandle(SAVE_TEMP)).move(SAVE_FILE).catch(() => {});
    state.reopened = {
      rows: store.rowCount, quarantined: store.quarantinedCount, bytes: file.size,
      savedAt: file.lastModified, seconds: (performance.now() - started) / 1000,
    };
    state.saved = { rows: store.rowCount, bytes: file.size, savedAt: file.lastModified, seconds: 0 };
    return state;
  }
  if (await exists(dir, REOPEN_MARK)) {
    if (afterCrash || await exists(dir, REOPEN_AGAIN)) {
      // The reopen crashed in this page, or never ended twice: reading it again would end
      // the same way.
      const aside = await moveAside(dir).catch(() => null);
      await clearReopenMarks(dir);
      state.error = 'The saved store could not be reopened: the engine stopped while reading it (it ' +
        'crashed, or the tab was closed' + (afterCrash ? '' : ' twice') + ')' +
        (aside ? `; it was kept as ${SAVE_DIR}/${aside}.` : '.');
      return state;
    }
    // The last reopen never ended (a reload or a closed tab, most often): once more.
    await dir.getFileHandle(REOPEN_AGAIN, { create: true });
  } else {
    await dir.getFileHandle(REOPEN_MARK, { create: true });
  }
  const started = performance.now();
  try {
    const reopened = await readStoreFile(id, file);
    store = new GuardedStore(reopened);
    const seconds = (performance.now() - started) / 1000;
    state.reopened = {
      rows: store.rowCount, quarantined: store.quarantinedCount, bytes: file.size,
      savedAt: file.lastModified, seconds,
    };
    state.saved = { rows: store.rowCount, bytes: file.size, savedAt: file.lastModified, seconds: 0 };
  } catch (err) {
    // A crash stops this worker: the mark left tells the next start to move the file aside.
    if (lost !== null) throw err;
    // A file that cannot be reopened is kept under another name, so that the next save does
    // not overwrite it and the next start does not read it again.
    const aside = await moveAside(dir).catch(() => null);
    await clearReopenMarks(dir);
    state.error = `The saved store could not be reopened: ${messageOf(err)}` +
      (aside ? `; it was kept as ${SAVE_DIR}/${aside}.` : '');
    return state;
  }
  await clearReopenMarks(dir);
  return state;
}

/** Removes the marks of a reopen under way (REOPEN_MARK, REOPEN_AGAIN). */
async function clearReopenMarks(dir) {
  await dir.removeEntry(REOPEN_AGAIN).catch(() => {});
  await dir.removeEntry(REOPEN_MARK).catch(() => {});
}

/** Whether `dir` holds a file named `name`. */
async function exists(dir, name) {
  try {
    await dir.getFileHandle(name);
    return true;
  } catch {
    return false;
  }
}

/** Renames the saved store to store.llmstore.unreadable-<time>; resolves with the new name. */
async function moveAside(dir) {
  const name = `${UNREADABLE_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await (await dir.getFileHandle(SAVE_FILE)).move(name);
  return name;
}

/**
 * Reads a store file (a File or Blob) into a new wasm store, section by section; `heldBytes`
 * of the budget are held meanwhile by the store it is to replace.
 */
async function readStoreFile(id, blob, heldBytes = 0) {
  const reader = engine(id, () => new StoreFileReader({ ...storeOptions, heldBytes }));
  try {
    const chunks = blob.stream().getReader();
    for (;;) {
      const { done, value } = await chunks.read();
      if (done) break;
      engine(id, () => reader.write(value));
    }
    return engine(id, () => reader.finish());
  } finally {
    try {
      reader.free();
    } catch {
      // Already taken by finish(), or the engine is lost.
    }
  }
}

/** Puts `inner` in place of the current store, with the price table and the pipes added. */
function replaceStore(id, inner) {
  const old = store;
  store = new GuardedStore(inner);
  if (priceText !== null) engine(id, () => inner.setPrices(priceText));
  for (const text of addedPipes.values()) {
    try {
      engine(id, () => inner.addPipe(text));
    } catch (err) {
      if (lost !== null) throw err;
    }
  }
  try {
    old?.free();
  } catch (err) {
    if (lost !== null) throw err;
  }
}

/**
 * Writes the store file to OPFS: into a temporary file, a few sections at a time with a pause
 * for queries between, then moved over the saved one. Resolves with { rows, bytes, savedAt,
 * seconds }; throws when the store went away meanwhile or the file system refused.
 */
function saveStore(id) {
  return withSaveLock(async () => {
    const done = await writeSavedStore(id);
    saveChannel?.postMessage({ saved: tabId });
    delete persistence.stale;
    return done;
  });
}

async function writeSavedStore(id) {
  const started = performance.now();
  const dir = await saveDir();
  const temp = await dir.getFileHandle(SAVE_TEMP, { create: true });
  const handle = await temp.createSyncAccessHandle();
  let at = 0;
  let rows;
  try {
    handle.truncate(0);
    const calls = store.for(id);
    rows = calls.rowCount;
    const parts = engine(id, () => store.inner.storeFileParts());
    for (let start = 0; start < parts; start += SAVE_PARTS) {
      if (!store || store.inner !== calls.inner) throw new Error('the store was replaced while it was being saved');
      engine(id, () => calls.inner.writeStoreFile((part) => {
        at += handle.write(part, { at });
      }, start, start + SAVE_PARTS));
      // Queries waiting run now.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    handle.flush();
  } finally {
    handle.close();
  }
  try {
    await temp.move(SAVE_FILE);
  } catch {
    await dir.removeEntry(SAVE_FILE).catch(() => {});
    await temp.move(SAVE_FILE);
  }
  const file = await (await dir.getFileHandle(SAVE_FILE)).getFile();
  return { rows, bytes: at, savedAt: file.lastModified, seconds: (performance.now() - started) / 1000 };
}

/** Saves when persistence is on and the data changed; posts 'saved' or 'save-failed'. */
async function saveIfChanged(id) {
  if (!persistence.available || persistence.stale || !unsaved || !store) return;
  unsaved = false;
  try {
    persistence.saved = await saveStore(id);
    self.postMessage({ event: 'saved', persistence });
  } catch (err) {
    if (lost !== null) return;
    unsaved = true;
    self.postMessage({ event: 'save-failed', error: messageOf(err) });
  }
}

/** Deletes the saved store from OPFS and empties the store. */
async function forget(id) {
  if (persistence.enabled) {
    try {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry(SAVE_DIR, { recursive: true });
    } catch (err) {
      if (err?.name !== 'NotFoundError' && persistence.available) throw err;
    }
  }
  if (store) replaceStore(id, engine(id, () => new EventStore(storeOptions)));
  unsaved = false;
  delete persistence.saved;
  delete persistence.reopened;
  delete persistence.error;
  return { ...statsOf(), datasourceName: store?.datasourceName, persistence };
}

// ---- crashes -------------------------------------------------------------------------------

/**
 * Runs one call into wasm for request `id`. Once the engine has crashed it throws the lost
 * Error without calling in; when the call itself crashes it announces the loss and throws an
 * Error naming the panic.
 */
function engine(id, call) {
  if (lost !== null) throw lostError();
  try {
    return call();
  } catch (err) {
    const crash = crashOf(err);
    if (crash === null) throw err;
    lost = crash.message;
    store = null;
    self.postMessage({ event: 'lost', id, message: crash.message, error: crash.error });
    throw new Error(crash.error);
  }
}

/**
 * { message, error } when `err` comes from a crash of the engine, else null. A panic has left
 * its message (lastPanic()); a trap without one (out of memory, the call stack exhausted) is a
 * RuntimeError or a RangeError, and its own message has to do.
 */
function crashOf(err) {
  let message;
  try {
    message = lastPanic();
  } catch {
    // The instance is past answering even that.
  }
  if (typeof message === 'string') return { message, error: `llm-metrics panicked: ${message}` };
  if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
    return { message: messageOf(err), error: `llm-metrics crashed: ${messageOf(err)}` };
  }
  return null;
}

function lostError() {
  return new Error(`the store was lost after a crash: ${lost}; reload the data`);
}

/**
 * The wasm store with every call made through engine(); `id` is the request the calls serve
 * (null for none), as for(id) gives.
 */
class GuardedStore {
  constructor(inner, id = null) {
    this.inner = inner;
    this.id = id;
  }

  for(id) {
    return new GuardedStore(this.inner, id);
  }

  get rowCount() {
    return engine(this.id, () => this.inner.rowCount);
  }

  get quarantinedCount() {
    return engine(this.id, () => this.inner.quarantinedCount);
  }

  get storeBytes() {
    return engine(this.id, () => this.inner.storeBytes);
  }

  begin(name, options) {
    return engine(this.id, () => this.inner.begin(name, options));
  }

  write(chunk) {
    return engine(this.id, () => this.inner.write(chunk));
  }

  end() {
    return engine(this.id, () => this.inner.end());
  }

  pipe(name, params) {
    return engine(this.id, () => this.inner.pipe(name, params));
  }

  sql(query, params) {
    return engine(this.id, () => this.inner.sql(query, params));
  }

  addPipe(text) {
    return engine(this.id, () => this.inner.addPipe(text));
  }

  quarantine(page) {
    return engine(this.id, () => this.inner.quarantine(page));
  }

  pipeNames() {
    return engine(this.id, () => this.inner.pipeNames());
  }

  expand(name, params) {
    return engine(this.id, () => this.inner.expand(name, params));
  }

  get datasourceName() {
    return engine(this.id, () => this.inner.datasourceName);
  }

  createTableSql(database) {
    return engine(this.id, () => this.inner.createTableSql(database));
  }

  reprice(text) {
    return engine(this.id, () => this.inner.reprice(text));
  }

  free() {
    return engine(this.id, () => this.inner.free());
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

function statsOf(calls = store) {
  return {
    rowCount: calls.rowCount,
    quarantinedCount: calls.quarantinedCount,
    storeBytes: calls.storeBytes,
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
    fail(msg.id, lost === null ? new Error('The store is not open.') : lostError());
    return;
  }
  const calls = store.for(msg.id);
  try {
    switch (msg.op) {
      case 'pipe':
        reply(msg.id, calls.pipe(msg.name, msg.params ?? undefined));
        break;
      case 'sql':
        reply(msg.id, calls.sql(msg.query, msg.params ?? undefined));
        break;
      case 'addPipe': {
        const name = calls.addPipe(msg.text);
        addedPipes.set(name, msg.text);
        reply(msg.id, name);
        break;
      }
      case 'exportStore': {
        const parts = [];
        engine(msg.id, () => calls.inner.writeStoreFile((part) => parts.push(part)));
        reply(msg.id, new Blob(parts, { type: 'application/octet-stream' }));
        break;
      }
      case 'quarantine':
        reply(msg.id, calls.quarantine(msg.page ?? undefined));
        break;
      case 'pipeNames':
        reply(msg.id, calls.pipeNames());
        break;
      case 'formatNames':
        reply(msg.id, formatNames());
        break;
      case 'expand':
        reply(msg.id, calls.expand(msg.name, msg.params ?? undefined));
        break;
      case 'createTableSql':
        reply(msg.id, calls.createTableSql(String(msg.database)));
        break;
      case 'stats':
        reply(msg.id, statsOf(calls));
        break;
      case 'close':
        for (const load of loads.values()) load.cancel();
        calls.free();
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
    if (msg.op !== 'load') {
      await runStoreOp(msg);
      loads.delete(msg.id);
    } else {
      const result = await runLoad(msg, load);
      loads.delete(msg.id);
      if (result.lines > 0) unsaved = true;
      // The change first: a client that sees it before the load's answer knows the load is its own.
      if (result.lines > 0 && lost === null) announceChange(loadQueue.length === 0);
      reply(msg.id, result);
    }
    // Saved once the loads queued have ended; loads queued meanwhile wait for the save.
    if (loadQueue.length === 0 && lost === null) await saveIfChanged(msg.id);
  }
  loading = false;
}

/** The operations that replace or save the whole store, run in turn with the loads. */
async function runStoreOp(msg) {
  if (!store) {
    fail(msg.id, lost === null ? new Error('The store is not open.') : lostError());
    return;
  }
  try {
    switch (msg.op) {
      case 'openStoreFile': {
        const started = performance.now();
        // The store in use stays until the file is read: both fit in the budget together.
        const inner = await readStoreFile(msg.id, msg.file, store.storeBytes);
        replaceStore(msg.id, inner);
        unsaved = true;
        announceChange(loadQueue.length === 0);
        reply(msg.id, {
          ...statsOf(), datasourceName: store.datasourceName, seconds: (performance.now() - started) / 1000,
        });
        break;
      }
      case 'save':
        if (!persistence.available) {
          throw new Error(persistence.enabled
            ? `The store cannot be saved here: ${persistence.reason}`
            : 'The store was opened without persist: true.');
        }
        persistence.saved = await saveStore(msg.id);
        unsaved = false;
        self.postMessage({ event: 'saved', persistence });
        reply(msg.id, persistence);
        break;
      case 'reprice': {
        // The table given, else the one the store costs loads with (www/vendor/). Run in turn
        // with the loads, and saved after them like a load.
        const text = msg.prices ?? priceText;
        if (text === null) throw new Error('No price table: pass the text of a genai-prices.json.');
        const done = store.for(msg.id).reprice(String(text));
        if (done.repriced + done.unpriced > 0) {
          unsaved = true;
          announceChange(loadQueue.length === 0);
        }
        reply(msg.id, done);
        break;
      }
      case 'forget': {
        const value = await forget(msg.id);
        announceChange(loadQueue.length === 0);
        reply(msg.id, value);
        break;
      }
      default:
        fail(msg.id, new Error(`Unknown operation '${msg.op}'.`));
    }
  } catch (err) {
    fail(msg.id, err);
  }
}

/** An empty report for a load that stopped before its stream began. */
function emptyReport(name) {
  return {
    stream: name, format: '', formats: {}, lines: 0, records: 0, rows: 0, quarantined: 0,
    skipped: 0, skipped_by: {}, time_from_stream: 0, cost_from_log: 0, cost_from_table: 0,
    unpriced: {}, price_table: '', blank: 0, bytes: 0, errors: [],
  };
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

  /** The result of a load that stopped because the store is gone: closed, or lost in a crash. */
  const gone = (err) => (lost === null
    ? finish(emptyReport(name), 'cancelled')
    : finish(emptyReport(name), 'failed', err ?? lostError()));
  if (!store) {
    return lost === null ? finish(emptyReport(name), 'failed', new Error('The store is not open.')) : gone();
  }
  if (load.cancelled) return finish(emptyReport(name), 'cancelled');

  // Records without a time (Anthropic bodies, batch results) take the file's time.
  const time = msg.time ?? (source.kind === 'file' ? source.file.lastModified : undefined);
  // A large file of lines each read on its own is read in parts on several threads.
  let plan = null;
  try {
    plan = await planShards(msg, source, name, time);
  } catch (err) {
    if (lost !== null) return gone(err);
    plan = null;
  }
  if (load.cancelled) return finish(emptyReport(name), 'cancelled');
  /** The helpers' answers, in order, for the parts after the first. */
  const shards = plan ? startShards(plan, msg, name, time, (n) => (progress.sourceBytes += n)) : null;

  let opened;
  try {
    opened = plan
      ? { stream: source.file.slice(0, plan.bounds[1]).stream(), totalBytes: source.file.size }
      : await openSource(source, load, msg.id);
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
  load.onCancel = () => {
    reader.cancel().catch(() => {});
    shards?.cancel();
  };
  if (load.cancelled) load.onCancel();
  if (!store) {
    await reader.cancel().catch(() => {});
    return gone();
  }

  const calls = store.for(msg.id);
  const rowsBefore = calls.rowCount;
  const quarantinedBefore = calls.quarantinedCount;
  const lines = new LineAlignedWriter(calls);
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
        rows: calls.rowCount - rowsBefore,
        quarantined: calls.quarantinedCount - quarantinedBefore,
        seconds: (performance.now() - started) / 1000,
      },
    });
  };

  try {
    calls.begin(name, { format: msg.format, time });
  } catch (err) {
    await reader.cancel().catch(() => {});
    shards?.cancel();
    return finish(emptyReport(name), 'failed', err);
  }
  let failure;
  /** Writes what `reader` gives to the store, until it ends or the load is cancelled. */
  const pump = async () => {
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
  };
  await pump();
  if (shards && !load.cancelled && !failure && store) {
    const merged = await mergeShards(calls, shards, post);
    if (merged) return finish(merged.report, merged.error ? 'failed' : 'done', merged.error);
    // A part cannot be read apart (its records repeat over lines, or its helper failed): the
    // store reads on alone from where its own part ended, as if there had been no helpers.
    if (store && !load.cancelled) {
      // The file is not gzip (planShards looked): its bytes as they are.
      progress.sourceBytes = plan.bounds[1];
      reader = countBytes(source.file.slice(plan.bounds[1]).stream(), (n) => (progress.sourceBytes += n)).getReader();
      await pump();
    }
  }
  shards?.cancel();
  if (load.cancelled || failure) {
    // The incomplete last line is dropped: the stream keeps whole lines only.
    lines.discard();
    await reader.cancel().catch(() => {});
    // close() freed the store meanwhile, or a crash lost it.
    if (!store) return gone(failure);
  } else {
    try {
      lines.flush();
    } catch (err) {
      failure = err;
    }
  }
  if (!store) return gone(failure);
  let report;
  try {
    report = calls.end();
  } catch (err) {
    return finish(emptyReport(name), 'failed', err);
  }
  post();
  if (failure) return finish(report, 'failed', failure);
  return finish(report, load.cancelled ? 'cancelled' : 'done');
}

// ---- loads on several threads ----------------------------------------------------------------

/**
 * Files smaller than this are read by one thread by default: starting the parts costs about
 * 0.1 to 0.2 s, more than a second thread saves on 17 and 33 MB files on two cores.
 */
const SHARD_MIN_BYTES = 64 << 20;
/** Most threads a load uses by default. */
const DEFAULT_MAX_WORKERS = 4;
/** Most threads a load uses at all. */
const MAX_WORKERS = 16;
/** Bytes at the start of a file read to find out whether its lines can be read apart. */
const PROBE_BYTES = 1 << 20;
/** Formats whose lines are each read on their own: the canonical shape, and lines of none. */
const STATELESS_FORMATS = new Set(['llm_events', 'unknown']);

/** The helper threads (shard-worker.js) started so far, kept for later loads. */
const helpers = [];
let nextShardId = 1;

/** Whether a report's records are all of formats whose lines are read on their own. */
function readsApart(report) {
  return Object.keys(report.formats ?? {}).every((f) => STATELESS_FORMATS.has(f)) &&
    (report.skipped ?? 0) === 0;
}

/**
 * How a load is to be read on several threads: { bounds } with the byte offsets of the parts
 * (each at the start of a line; the first 0, the last the file's size), or null to read it
 * on this thread alone: a source other than a File or Blob, `workers` 1 (the default below
 * SHARD_MIN_BYTES), gzip, JSON documents and CSV, a store of another schema than the shipped
 * one, and files whose first lines show a format with state across lines.
 */
async function planShards(msg, source, name, time) {
  if (source.kind !== 'file' || !store) return null;
  const file = source.file;
  const cores = Math.max(1, Math.floor(globalThis.navigator?.hardwareConcurrency ?? 1));
  let workers = msg.workers;
  if (workers === undefined || workers === null) {
    workers = file.size >= SHARD_MIN_BYTES ? Math.min(cores, DEFAULT_MAX_WORKERS) : 1;
  }
  workers = Math.min(MAX_WORKERS, Math.max(1, Math.floor(Number(workers)) || 1));
  if (workers < 2 || file.size < 2) return null;
  if (msg.format !== undefined && msg.format !== null && msg.format !== 'llm_events') return null;
  if (/\.(json|csv)(\.gz)?$/i.test(name)) return null;
  const head = new Uint8Array(await file.slice(0, PROBE_BYTES).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) return null;
  const probe = engine(null, () => new EventStore(storeOptions));
  try {
    // Parts are read by stores of the shipped schema: the store must have it.
    const schema = engine(null, () => probe.createTableSql('db'));
    if (engine(null, () => store.inner.createTableSql('db')) !== schema) return null;
    const newline = head.lastIndexOf(0x0a);
    engine(null, () => probe.begin(name, { format: msg.format, time }));
    engine(null, () => probe.write(newline < 0 ? head : head.subarray(0, newline + 1)));
    if (!readsApart(engine(null, () => probe.end()))) return null;
  } finally {
    try {
      probe.free();
    } catch {
      // The engine is lost; engine() said so.
    }
  }
  const bounds = [0];
  for (let k = 1; k < workers; k += 1) {
    const at = await lineStartFrom(file, Math.floor((file.size * k) / workers));
    if (at > bounds[bounds.length - 1] && at < file.size) bounds.push(at);
  }
  bounds.push(file.size);
  return bounds.length > 2 ? { bounds } : null;
}

/** The offset of the first line that starts at or after `offset` (the file's size if none). */
async function lineStartFrom(file, offset) {
  const STEP = 64 << 10;
  for (let at = offset - 1; at < file.size; at += STEP) {
    const bytes = new Uint8Array(await file.slice(at, at + STEP).arrayBuffer());
    const i = bytes.indexOf(0x0a);
    if (i >= 0) return at + i + 1;
  }
  return file.size;
}

/** A helper thread from the pool, started when none is free. */
function takeHelper() {
  let helper = helpers.find((h) => !h.busy);
  if (!helper) {
    const worker = new Worker(new URL('./shard-worker.js', import.meta.url), {
      type: 'module', name: 'llm-metrics-shard',
    });
    helper = { worker, busy: false, pending: new Map() };
    worker.onmessage = (event) => {
      const answer = event.data;
      const done = helper.pending.get(answer.id);
      helper.pending.delete(answer.id);
      done?.(answer);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const failed = { ok: false, error: `a helper thread failed: ${event.message || 'could not start'}` };
      for (const done of helper.pending.values()) done(failed);
      helper.pending.clear();
      // A failed helper is not used again.
      helpers.splice(helpers.indexOf(helper), 1);
      worker.terminate();
    };
    helpers.push(helper);
  }
  helper.busy = true;
  return helper;
}

/**
 * Sends parts 1.. of `plan` to helper threads; returns their answers' promises in order
 * (`results`) and `cancel()`, which stops the helpers still reading. A helper that failed or
 * was stopped is replaced by a new one at the next load.
 */
function startShards(plan, msg, name, time, onBytes) {
  const running = [];
  const results = [];
  for (let k = 1; k + 1 < plan.bounds.length; k += 1) {
    const helper = takeHelper();
    const id = nextShardId++;
    const request = {
      id, blob: msg.source.file, start: plan.bounds[k], end: plan.bounds[k + 1], name,
      format: msg.format ?? undefined, time, options: storeOptions,
    };
    running.push(helper);
    results.push(new Promise((resolve) => {
      helper.pending.set(id, (answer) => {
        helper.busy = false;
        if (answer.ok) {
          onBytes(request.end - request.start);
        } else {
          // A helper whose engine failed (or was stopped) is not used again.
          const i = helpers.indexOf(helper);
          if (i >= 0) helpers.splice(i, 1);
          helper.worker.terminate();
        }
        resolve(answer);
      });
      helper.worker.postMessage(request);
    }));
  }
  return {
    results,
    cancel() {
      for (const helper of running) {
        if (!helper.busy) continue;
        const i = helpers.indexOf(helper);
        if (i >= 0) helpers.splice(i, 1);
        helper.worker.terminate();
        for (const done of helper.pending.values()) done({ ok: false, error: 'cancelled' });
        helper.pending.clear();
      }
    },
  };
}

/**
 * Once this thread read the first part (its stream still open): when every part was read
 * apart exactly, ends the stream and appends the helpers' stores in order, and resolves with
 * { report, error? }, the report summed over the parts; else resolves with null, the stream
 * still open, for the store to read on alone.
 */
async function mergeShards(calls, shards, post) {
  const answers = await Promise.all(shards.results);
  if (!store) return null;
  if (!answers.every((a) => a.ok && readsApart(a.report))) return null;
  if (!readsApart(engine(calls.id, () => calls.inner.progress()))) return null;
  let report = calls.end();
  let linesBefore = report.lines;
  let error;
  for (const answer of answers) {
    try {
      engine(calls.id, () => calls.inner.appendStoreFile(new Uint8Array(answer.file), linesBefore));
    } catch (err) {
      error = err;
      break;
    }
    answer.file = null;
    report = addReports(report, answer.report, linesBefore);
    linesBefore += answer.report.lines;
  }
  post();
  return { report, error };
}

/** The report of a stream read in two parts, `b` starting `linesBefore` lines into it. */
function addReports(a, b, linesBefore) {
  const sum = { ...a };
  for (const key of ['lines', 'records', 'rows', 'quarantined', 'skipped', 'time_from_stream',
    'cost_from_log', 'cost_from_table', 'not_kept', 'blank', 'bytes']) {
    sum[key] = (a[key] ?? 0) + (b[key] ?? 0);
  }
  for (const key of ['formats', 'skipped_by', 'unpriced']) {
    const map = { ...(a[key] ?? {}) };
    for (const [k, n] of Object.entries(b[key] ?? {})) map[k] = (map[k] ?? 0) + n;
    sum[key] = map;
  }
  const known = Object.keys(sum.formats).filter((f) => f !== 'unknown');
  sum.format = known.length === 0 ? '' : known.length === 1 ? known[0] : 'mixed';
  sum.price_table = a.price_table || b.price_table;
  // The first few reasons, numbered in the whole stream.
  const shifted = (b.errors ?? []).map((e) => e.replace(/^line (\d+):/, (_, n) => `line ${Number(n) + linesBefore}:`));
  sum.errors = [...(a.errors ?? []), ...shifted].slice(0, REPORT_ERRORS);
  return sum;
}

/** How many quarantine reasons a report quotes (the engine's REPORT_ERRORS). */
const REPORT_ERRORS = 5;

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
async function openSource(source, load, id) {
  switch (source.kind) {
    case 'file':
      return { stream: source.file.stream(), totalBytes: source.file.size };
    case 'url':
      return openUrl(source, load);
    case 'sample': {
      const bytes = engine(id, () => generateSample(source.rows, source.seed));
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
