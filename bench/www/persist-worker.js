// The persistence benchmark's worker: builds a store of `rows` generated events (in loads of at
// most 1,000,000 events, seeds seed, seed + 1, ...), saves it to OPFS as www/worker.js does
// (writeStoreFile parts through a sync access handle), frees it, and reopens it from the file
// as www/worker.js does (the file's stream through a StoreFileReader), timing each step; then
// checks the reopened store answers llm_kpis and llm_usage_by_model as the original did.

import init, { EventStore, StoreFileReader, generateSample } from './pkg/llm_metrics.js';

const LOAD_ROWS = 1_000_000;
const CHUNK = 1 << 20;
/** Bytes of each slice of the file read at once by the slice variant of reopening. */
const SLICE = 16 << 20;

const log = (text) => self.postMessage({ log: text });

async function run({ rows, seed, reps }) {
  await init();
  const dir = await (await navigator.storage.getDirectory())
    .getDirectoryHandle('llm-metrics-bench', { create: true });
  const out = { rows, reps };

  let t = performance.now();
  let store = new EventStore();
  for (let done = 0, i = 0; done < rows; i++) {
    const n = Math.min(LOAD_ROWS, rows - done);
    const bytes = generateSample(n, seed + i);
    store.begin(`sample-${i}.ndjson`);
    for (let at = 0; at < bytes.length; at += CHUNK) store.write(bytes.subarray(at, at + CHUNK));
    store.end();
    done += n;
    log(`loaded ${done} rows`);
  }
  out.ingestSeconds = (performance.now() - t) / 1000;
  out.storeBytes = store.storeBytes;
  const answers = (s) => JSON.stringify([s.pipe('llm_kpis').data, s.pipe('llm_usage_by_model').data]);
  const expected = answers(store);

  // Saving: serialising into parts and writing them, and the parts alone (no file).
  const saves = [];
  const serialise = [];
  for (let r = 0; r < reps; r++) {
    t = performance.now();
    let bytes = 0;
    store.writeStoreFile((part) => {
      bytes += part.length;
    });
    serialise.push((performance.now() - t) / 1000);
    t = performance.now();
    const handle = await (await dir.getFileHandle('store.llmstore', { create: true })).createSyncAccessHandle();
    handle.truncate(0);
    let at = 0;
    const parts = store.storeFileParts();
    for (let start = 0; start < parts; start += 32) {
      store.writeStoreFile((part) => {
        at += handle.write(part, { at });
      }, start, start + 32);
    }
    handle.flush();
    handle.close();
    saves.push((performance.now() - t) / 1000);
    out.fileBytes = at;
    if (bytes !== at) throw new Error(`the parts hold ${bytes} bytes, the file ${at}`);
  }
  out.serialiseSeconds = serialise;
  out.saveSeconds = saves;
  store.free();
  store = null;

  // Reading the file's bytes alone, then reopening (read + decode), reps times each.
  const reads = [];
  const reopens = [];
  const syncReads = [];
  const slices = [];
  for (let r = 0; r < reps; r++) {
    const file = await (await dir.getFileHandle('store.llmstore')).getFile();
    t = performance.now();
    const chunks = file.stream().getReader();
    let n = 0;
    for (;;) {
      const { done, value } = await chunks.read();
      if (done) break;
      n += value.length;
    }
    reads.push((performance.now() - t) / 1000);

    t = performance.now();
    const reader = new StoreFileReader();
    const stream = file.stream().getReader();
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      reader.write(value);
    }
    const reopened = reader.finish();
    reopens.push((performance.now() - t) / 1000);
    if (r === reps - 1) {
      out.reopenedRows = reopened.rowCount;
      out.sameAnswers = answers(reopened) === expected;
    }
    reopened.free();

    // The same from 16 MiB slices of the file (Blob.slice().arrayBuffer()).
    t = performance.now();
    const reader3 = new StoreFileReader();
    for (let at = 0; at < file.size; at += SLICE) {
      reader3.write(new Uint8Array(await file.slice(at, at + SLICE).arrayBuffer()));
    }
    reader3.finish().free();
    slices.push((performance.now() - t) / 1000);

    // The same through a sync access handle, in 16 MiB reads.
    t = performance.now();
    const handle = await (await dir.getFileHandle('store.llmstore')).createSyncAccessHandle();
    const size = handle.getSize();
    const buffer = new Uint8Array(16 << 20);
    const reader2 = new StoreFileReader();
    for (let at = 0; at < size;) {
      const got = handle.read(buffer, { at });
      reader2.write(buffer.subarray(0, got));
      at += got;
    }
    handle.close();
    reader2.finish().free();
    syncReads.push((performance.now() - t) / 1000);
  }
  out.readSeconds = reads;
  out.reopenSeconds = reopens;
  out.reopenSyncSeconds = syncReads;
  out.reopenSliceSeconds = slices;
  await navigator.storage.getDirectory().then((root) => root.removeEntry('llm-metrics-bench', { recursive: true }));
  return out;
}

self.onmessage = async (event) => {
  try {
    self.postMessage(await run(event.data));
  } catch (err) {
    self.postMessage({ error: String(err?.stack ?? err) });
  }
};
