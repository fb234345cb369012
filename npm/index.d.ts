// Types of the package's entry point: createStore() and the worker-backed store (store.d.ts).

export * from './store.js';
