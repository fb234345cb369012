import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // The dev server's pre-bundling would move llm-metrics's modules away from the worker, wasm
  // and stylesheet files their `new URL(..., import.meta.url)` name; `vite build` needs nothing.
  optimizeDeps: { exclude: ['llm-metrics'] },
  // The worker is an ES module (it imports the wasm module's glue).
  worker: { format: 'es' },
});
