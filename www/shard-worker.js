// A helper thread of the store's worker (worker.js) for loads read on several cores: it reads
// one range of whole lines of a File or Blob into an EventStore of its own and answers with
// that store as a store file, which the store's worker appends after the lines before it.
// Shards talk by messages only (no SharedArrayBuffer), so pages without cross-origin
// isolation read on every core too.
//
// Request: { id, blob, start, end, name, format, time, options }. Answer: { id, ok: true,
// report, progress, file } with `file` the store file's ArrayBuffer (transferred), or
// { id, ok: false, error }.

import init, { EventStore, lastPanic, warmUp } from './pkg/llm_metrics.js';

/** Bytes read from the Blob at a time. */
const READ_CHUNK = 4 << 20;

const ready = init().then(() => {
  // The optimising compiler takes over the decoder after it ran a while: run it on a sample
  // first, as the store's worker does.
  try {
    warmUp();
  } catch {
    // Only slower without it.
  }
});

/** A crash of the engine poisons this instance: later requests fail at once. */
let crashed = null;

self.onmessage = async (event) => {
  const msg = event.data;
  try {
    await ready;
    if (crashed !== null) throw new Error(`llm-metrics crashed earlier in this helper: ${crashed}`);
    const { report, file } = await readRange(msg);
    self.postMessage({ id: msg.id, ok: true, report, file }, [file]);
  } catch (err) {
    let panic;
    try {
      panic = lastPanic();
    } catch {
      panic = err instanceof Error ? err.message : String(err);
    }
    if (typeof panic === 'string') crashed = panic;
    self.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};

/** Reads bytes `start..end` of the Blob into a fresh store; its report and store file. */
async function readRange({ blob, start, end, name, format, time, options }) {
  const store = new EventStore(options ?? {});
  try {
    store.begin(name, { format, time });
    for (let at = start; at < end; at += READ_CHUNK) {
      const piece = await blob.slice(at, Math.min(end, at + READ_CHUNK)).arrayBuffer();
      store.write(new Uint8Array(piece));
    }
    const report = store.end();
    const bytes = store.toStoreFile();
    return { report, file: bytes.buffer };
  } finally {
    store.free();
  }
}
