// webpack 5 follows `new URL('…', import.meta.url)` on its own: the worker becomes a chunk of
// its own with the wasm glue, and the .wasm file and stylesheets are emitted as assets.
import { fileURLToPath } from 'node:url';

export default {
  entry: './src/index.js',
  output: {
    path: fileURLToPath(new URL('./dist/', import.meta.url)),
    filename: 'main.js',
    clean: true,
  },
  performance: { hints: false },
};
