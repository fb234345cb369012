// The page side of the benchmark: starts one contender in a dedicated worker (worker.js), relays
// its progress to the console, and measures the worker's JavaScript memory when it asks.
//
// bench.mjs calls `window.runWorker(job)`; the promise resolves with the worker's result, or
// with `{ error }` when the worker fails.

/**
 * Bytes attributed to the dedicated worker by performance.measureUserAgentSpecificMemory():
 * its JavaScript heap and the ArrayBuffers it holds. WebAssembly memories are not included
 * (Chromium leaves them out of this API), so workers report those themselves.
 */
async function workerMemory() {
  if (typeof performance.measureUserAgentSpecificMemory !== 'function') {
    throw new Error('performance.measureUserAgentSpecificMemory() is unavailable (the page is not cross-origin isolated)');
  }
  const result = await performance.measureUserAgentSpecificMemory();
  let bytes = 0;
  for (const entry of result.breakdown) {
    if (entry.attribution.some((a) => a.scope === 'DedicatedWorkerGlobalScope')) bytes += entry.bytes;
  }
  return bytes;
}

window.runWorker = (job) =>
  new Promise((resolve) => {
    const worker = new Worker('./worker.js', { type: 'module' });
    const finish = (value) => {
      worker.terminate();
      resolve(value);
    };
    worker.onmessage = async ({ data }) => {
      switch (data.type) {
        case 'progress':
          console.log(`[${job.contender}] ${data.text}`);
          break;
        case 'measure':
          try {
            finish({ ...data.result, jsBytes: await workerMemory() });
          } catch (err) {
            finish({ error: String(err?.message ?? err) });
          }
          break;
        case 'done':
          finish(data.result);
          break;
        case 'error':
          finish({ error: data.error });
          break;
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      finish({ error: event.message || 'the worker failed to start' });
    };
    worker.postMessage(job);
  });
