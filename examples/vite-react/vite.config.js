import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Nothing for llm-metrics: Vite follows the package's `new Worker(new URL('./worker.js',
// import.meta.url))` and `new URL('…', import.meta.url)` to the worker, the wasm file and the
// stylesheets, in the dev server and in `vite build`.
export default defineConfig({
  plugins: [react()],
});
