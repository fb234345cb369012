// Entry of the DuckDB-WASM browser bundle the benchmark serves as /vendor/duckdb.mjs (built by
// run.sh with esbuild): DuckDB-WASM's synchronous browser API, which runs the eh module inside
// the calling worker, and the apache-arrow it was built against, as one ES module.
export {
  BROWSER_RUNTIME,
  DuckDBFeature,
  VoidLogger,
  createDuckDB,
} from '../node_modules/@duckdb/duckdb-wasm/dist/duckdb-browser-blocking.mjs';
export * as arrow from 'apache-arrow';
