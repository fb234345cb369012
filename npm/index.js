// llm-metrics: the engine in a Web Worker behind promises. The worker and the wasm module are
// found through `new URL(..., import.meta.url)`, which Vite and webpack follow and copy.
//
//   import { createStore } from 'llm-metrics';
//   const store = await createStore();
//   await store.loadFile(file);
//   const kpis = await store.pipe('llm_kpis');
//   await store.close();
//
// The dashboard element: import 'llm-metrics/dashboard' (defines <llm-metrics-dashboard>).
// The engine on the calling thread: import init, { EventStore } from 'llm-metrics/wasm'.

export { createStore, MetricsStore } from './store.js';
