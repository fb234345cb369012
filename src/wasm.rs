//! The JavaScript API, built with `wasm-pack build --target web`: the only module with
//! `#[wasm_bindgen]` items.
//!
//! ```js
//! import init, { EventStore, generateSample } from './pkg/llm_metrics.js';
//! await init();
//! const store = new EventStore();
//! store.begin('events.ndjson');
//! for await (const chunk of file.stream()) store.write(chunk);
//! const report = store.end(); // { stream, lines, rows, quarantined, blank, bytes, errors }
//! const usage = store.pipe('llm_usage_by_model'); // { meta, data, rows, statistics }
//! store.free();
//! ```
//!
//! Events stay in wasm memory behind the `EventStore` handle; only reports and pipe results
//! cross into JavaScript, as plain objects. Every failure is thrown as a JavaScript `Error`
//! carrying the engine's message.
//!
//! A panic is a bug, but if one slips through it reaches the caller as an `Error` naming it
//! ("llm-metrics panicked: <message> at src/...") instead of a bare `RuntimeError: unreachable`,
//! and the module counts as lost from then on: see [`last_panic`].

use std::sync::OnceLock;

use js_sys::{Object, Reflect, JSON};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::formats::prices::PriceTable;
use crate::formats::Format;
use crate::{generate_ndjson, Datasource, Endpoint, EventStore, Options, Params, StreamOptions};

#[wasm_bindgen]
extern "C" {
    /// Milliseconds from a monotonic clock; `performance` is a global in browsers, workers and
    /// Node.js.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;

    /// Milliseconds since the epoch.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// What the first panic said, with its location, and the `Error` text every later call throws.
struct Crash {
    message: String,
    lost: String,
}

/// Set once, by the first panic; never cleared, since the instance cannot be trusted after it.
static CRASH: OnceLock<Crash> = OnceLock::new();

/// Installs the panic hook when the module is instantiated (`init()` or `initSync()`).
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(on_panic));
}

/// Records the panic and throws it to the JavaScript caller as an `Error`.
///
/// With `panic = "abort"` (the only strategy of wasm32-unknown-unknown on stable Rust) a panic
/// ends in an `unreachable` trap that tells the caller nothing. Throwing from the hook instead
/// unwinds the wasm frames the same way a trap does (no destructor runs), but carries the
/// message. Either way the heap may be left half-updated (a `RefCell` still borrowed, a
/// column longer than its neighbours), so every export refuses to run after it: see
/// [`WasmEventStore::alive`].
fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    let message = match info.location() {
        Some(at) => format!("{payload} at {}:{}:{}", at.file(), at.line(), at.column()),
        None => payload.to_owned(),
    };
    let crash = CRASH.get_or_init(|| Crash {
        lost: format!("the store was lost after a crash: {message}; reload the data"),
        message,
    });
    wasm_bindgen::throw_str(&format!("llm-metrics panicked: {}", crash.message));
}

/// The message and location of the panic that crashed this module instance ("index out of
/// bounds: the len is 3 but the index is 7 at src/...:12:5"), or `undefined` when none has.
///
/// After a panic the instance is lost: every later call throws "the store was lost after a
/// crash: <message>; reload the data", and the data must be loaded again into a fresh instance
/// (a new worker, or the module imported anew). A call on the very store that was busy when
/// the panic struck may throw wasm-bindgen's "recursive use of an object" instead, since its
/// borrow is never released; `createStore()` (www/store.js) gives the lost message everywhere.
#[wasm_bindgen(js_name = lastPanic, unchecked_return_type = "string | undefined")]
pub fn last_panic() -> JsValue {
    // The text is built by the hook: reading it allocates nothing on a heap that may be broken.
    CRASH.get().map_or(JsValue::UNDEFINED, |crash| {
        JsValue::from_str(&crash.message)
    })
}

/// Seconds since the epoch from the host's wall clock.
fn wall_clock_seconds() -> i64 {
    (date_now() / 1000.0).floor() as i64
}

#[wasm_bindgen(typescript_custom_section)]
const TS_RESULT_TYPES: &str = r#"
/**
 * What one stream did: `records` is always `rows + quarantined + skipped`, and `lines` is
 * `records + blank` wherever a line holds one record (all formats but OpenTelemetry exports,
 * whose lines hold a record per span).
 */
export interface Report {
    stream: string;
    /** The format recognised: a name from `formatNames()`, `mixed`, or empty when nothing was read. */
    format: string;
    /** Records per format; lines not JSON or of no known shape count under `unknown`. */
    formats: Record<string, number>;
    lines: number;
    records: number;
    rows: number;
    quarantined: number;
    /** Records of a known format that are not model calls or repeat one already counted. */
    skipped: number;
    /** Skipped records per reason. */
    skipped_by: Record<string, number>;
    /** Rows whose record had no time and took the stream's (`begin(name, { time })`). */
    time_from_stream: number;
    /** Vendor records whose cost came from the log. */
    cost_from_log: number;
    /** Vendor records whose cost came from the price table (`setPrices`). */
    cost_from_table: number;
    /** Vendor records the price table has no price for (cost 0), per model name. */
    unpriced: Record<string, number>;
    /** The price table in use: package and version, or empty. */
    price_table: string;
    blank: number;
    bytes: number;
    /** Quarantined lines counted but not kept in the quarantine table (its share of maxBytes is used). */
    not_kept: number;
    /** The first quarantine reasons, each naming its line. */
    errors: string[];
}

/** A pipe's result, shaped like a Tinybird endpoint's JSON. */
export interface Endpoint {
    meta: { name: string; type: string }[];
    data: Record<string, unknown>[];
    rows: number;
    statistics: { elapsed: number; rows_read: number; bytes_read: number };
}
"#;

/// Most events `generateSample` makes in one call: about 200 bytes each, so the largest sample
/// stays well inside the 4 GiB a wasm32 module can address, next to the store it is loaded into.
const MAX_SAMPLE_ROWS: u64 = 5_000_000;

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// An in-memory store of events with the pipes that query them.
///
/// Feed it NDJSON with `begin()` (optional), any number of `write()` calls, then `end()`; query
/// it with `pipe()`. The store stays open after `end()`, so several files can be loaded in turn.
/// Call `free()` when done to release its memory.
#[wasm_bindgen(js_name = EventStore)]
pub struct WasmEventStore {
    inner: EventStore,
}

#[wasm_bindgen(js_class = EventStore)]
impl WasmEventStore {
    /// Creates a store for the `llm_events` datasource with the shipped pipes
    /// (`llm_usage_by_model`, `llm_performance`, ...). Optional `options`:
    /// `{ maxBytes, maxLineBytes, maxResultRows, maxResultBytes }`: the store's memory budget
    /// (default: what wasm32 can address, less headroom), the longest line accepted (default
    /// 8 MiB; longer lines are quarantined), and what one query may return (ClickHouse's
    /// `max_result_rows`, default unbounded, and `max_result_bytes`, default 256 MiB, counted as
    /// the result's JSON holds it). When the budget is reached `write` throws, and the rows
    /// stored before stay queryable; a result past a bound is an `Error` naming it.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<Object>) -> Result<WasmEventStore, JsError> {
        Self::alive()?;
        let options = Self::options_from_js(options)?;
        Ok(Self::wrap(EventStore::with_datasource(
            Datasource::llm_events(),
            options,
        )))
    }

    /// Creates a store for the schema in the text of a `.datasource` file. Throws if the text
    /// cannot be read, naming the line.
    #[wasm_bindgen(js_name = fromDatasource)]
    pub fn from_datasource(text: &str) -> Result<WasmEventStore, JsError> {
        Self::alive()?;
        Ok(Self::wrap(EventStore::from_datasource(text)?))
    }

    /// Creates a store for a Tinybird project from an object of file paths to file texts
    /// (`{ 'datasources/llm_events.datasource': text, 'endpoints/llm_usage.pipe': text }`).
    /// Each `.datasource` that loads is a table named after its file, each `.pipe` a pipe named
    /// after its file; files that fail are listed in `loadErrors` (`[{ file, line, message }]`)
    /// and every other file still loads; `loadNotes` lists what is read but not run here.
    /// Columns may be `Array(T)`, `Map(K, V)`, `AggregateFunction(…)` and
    /// `SimpleAggregateFunction(f, T)`;
    /// engines `MergeTree`, `ReplacingMergeTree`, `SummingMergeTree`, `AggregatingMergeTree`
    /// (queries may read `FROM t FINAL`). A `TYPE materialized` pipe runs on every `write` into
    /// a datasource it reads, over the rows that call stored, and appends its result to its
    /// `DATASOURCE`. Optional `options` as for the constructor, per datasource.
    #[wasm_bindgen(js_name = fromProject)]
    pub fn from_project(files: Object, options: Option<Object>) -> Result<WasmEventStore, JsError> {
        Self::alive()?;
        let options = Self::options_from_js(options)?;
        let map: std::collections::BTreeMap<String, String> =
            serde_wasm_bindgen::from_value(files.into()).map_err(|e| {
                JsError::new(&format!(
                    "fromProject takes an object of file paths to file texts: {e}"
                ))
            })?;
        let files: Vec<(String, String)> = map.into_iter().collect();
        Ok(Self::wrap(EventStore::from_project(&files, options)))
    }

    /// The project files that failed to load: `[{ file, line, message }]` (empty for a store
    /// not made by `fromProject`).
    #[wasm_bindgen(getter = loadErrors, unchecked_return_type = "{ file: string; line: number; message: string }[]")]
    pub fn load_errors(&self) -> Result<JsValue, JsError> {
        Self::alive()?;
        Self::to_js_object(&self.inner.load_errors())
    }

    /// What the project's files say that is read but not run here: `[{ file, line, message }]`.
    #[wasm_bindgen(getter = loadNotes, unchecked_return_type = "{ file: string; line: number; message: string }[]")]
    pub fn load_notes(&self) -> Result<JsValue, JsError> {
        Self::alive()?;
        Self::to_js_object(&self.inner.load_notes())
    }

    /// Names of the store's datasources, the one streams go to by default first.
    #[wasm_bindgen(js_name = datasourceNames)]
    pub fn datasource_names(&self) -> Result<Vec<String>, JsError> {
        Self::alive()?;
        Ok(self.inner.datasource_names())
    }

    /// Starts a stream named `name`, as it will appear in its report. Optional: streams are
    /// named `stream-1`, `stream-2`, ... otherwise. If a stream is still open it is ended first
    /// and its report returned; otherwise returns `undefined`. Optional `options`:
    /// `{ format, time, datasource }`: the format of the stream's lines (a name from
    /// `formatNames()`; default: each line's is detected), the time, in epoch milliseconds, that
    /// records without one take (such as the file's `lastModified`; default: the time of
    /// loading), and the datasource of a project the stream goes to (default: the first).
    #[wasm_bindgen(unchecked_return_type = "Report | undefined")]
    pub fn begin(
        &mut self,
        name: &str,
        #[wasm_bindgen(
            unchecked_param_type = "{ format?: string; time?: number; datasource?: string }"
        )]
        options: Option<Object>,
    ) -> Result<JsValue, JsError> {
        Self::alive()?;
        let stream = Self::stream_options_from_js(options.as_ref())?;
        let datasource = match &options {
            Some(o) => {
                let v = Reflect::get(o, &JsValue::from_str("datasource"))
                    .map_err(|_| JsError::new("cannot read option 'datasource'"))?;
                if v.is_undefined() || v.is_null() {
                    None
                } else {
                    Some(
                        v.as_string()
                            .ok_or_else(|| JsError::new("option 'datasource' must be a string"))?,
                    )
                }
            }
            None => None,
        };
        let ended = match datasource {
            Some(ds) => {
                let ended = self.inner.begin_into(name, &ds)?;
                self.inner.set_stream_options(&stream);
                ended
            }
            None => self.inner.begin_with(name, &stream)?,
        };
        match ended {
            Some(report) => Self::to_js_object(&report),
            None => Ok(JsValue::UNDEFINED),
        }
    }

    /// Feeds the next bytes of the current stream. Chunks may split lines and UTF-8 characters
    /// anywhere; the result does not depend on how the bytes are chunked.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        Self::alive()?;
        Ok(self.inner.write(chunk)?)
    }

    /// Ends the current stream: stores its last line and returns its report,
    /// `{ stream, lines, rows, quarantined, blank, bytes, errors }`, where `lines` is
    /// `rows + quarantined + blank` and `errors` holds the first quarantine reasons.
    #[wasm_bindgen(unchecked_return_type = "Report")]
    pub fn end(&mut self) -> Result<JsValue, JsError> {
        Self::alive()?;
        let report = self.inner.end()?;
        Self::to_js_object(&report)
    }

    /// What the stream now open has read so far, as its report (see `end()`) will count it:
    /// `{ lines, rows, quarantined, formats, ... }`; empty once it ended.
    #[wasm_bindgen(unchecked_return_type = "Report")]
    pub fn progress(&self) -> Result<JsValue, JsError> {
        Self::alive()?;
        Self::to_js_object(self.inner.progress())
    }

    /// Number of rows stored, over all streams.
    #[wasm_bindgen(getter = rowCount)]
    pub fn row_count(&self) -> Result<f64, JsError> {
        Self::alive()?;
        // Exact up to 2^53 rows, far beyond what fits in wasm memory.
        Ok(self.inner.row_count() as f64)
    }

    /// Runs the named pipe and returns its endpoint result,
    /// `{ meta: [{ name, type }], data: [{...}], rows, statistics: { elapsed, rows_read, bytes_read } }`.
    /// `params` is an optional object of pipe parameters. Throws for an unknown pipe or a bad
    /// parameter.
    #[wasm_bindgen(unchecked_return_type = "Endpoint")]
    pub fn pipe(&self, name: &str, params: Option<Object>) -> Result<JsValue, JsError> {
        Self::alive()?;
        let params = Self::params_from_js(params)?;
        Self::endpoint_to_js(&self.inner.pipe(name, &params)?)
    }

    /// The SQL ClickHouse runs for the named pipe with `params`: templates rendered in wasm,
    /// each parameter a literal checked against its type, earlier nodes as `WITH` clauses.
    /// Throws for an unknown pipe or a bad parameter.
    pub fn expand(&self, name: &str, params: Option<Object>) -> Result<String, JsError> {
        Self::alive()?;
        let params = Self::params_from_js(params)?;
        Ok(self.inner.expand(name, &params)?)
    }

    /// The name of the datasource the store holds (the table its SQL reads).
    #[wasm_bindgen(getter, js_name = datasourceName)]
    pub fn datasource_name(&self) -> Result<String, JsError> {
        Self::alive()?;
        Ok(self.inner.store().datasource().name.clone())
    }

    /// `CREATE TABLE IF NOT EXISTS database.<datasource>` for ClickHouse, with the store's
    /// column types, partition and sorting keys.
    #[wasm_bindgen(js_name = createTableSql)]
    pub fn create_table_sql(&self, database: &str) -> Result<String, JsError> {
        Self::alive()?;
        Ok(self.inner.store().datasource().create_table_sql(database))
    }

    /// Runs one SQL query (ClickHouse dialect; templated with `params` when it starts with `%`)
    /// and returns its endpoint result. Throws for SQL outside the supported subset, naming it.
    #[wasm_bindgen(unchecked_return_type = "Endpoint")]
    pub fn sql(&self, query: &str, params: Option<Object>) -> Result<JsValue, JsError> {
        Self::alive()?;
        #[cfg(feature = "test-panic")]
        test_panic(query);
        let params = Self::params_from_js(params)?;
        Self::endpoint_to_js(&self.inner.sql(query, &params)?)
    }

    /// Sets the price table that costs records of vendor log formats whose log has no cost, from
    /// the text of `genai-prices.json` (written by `scripts/vendor.sh` from the pinned
    /// `@pydantic/genai-prices` package), for streams loaded from now on; `null` removes it.
    /// Returns `{ source, models }`: the package and version, and how many models it prices.
    #[wasm_bindgen(js_name = setPrices, unchecked_return_type = "{ source: string; models: number } | undefined")]
    pub fn set_prices(&mut self, text: Option<String>) -> Result<JsValue, JsError> {
        Self::alive()?;
        let Some(text) = text else {
            self.inner.set_prices(None);
            return Ok(JsValue::UNDEFINED);
        };
        let table = PriceTable::from_json(&text).map_err(|e| JsError::new(&e))?;
        #[derive(Serialize)]
        struct Loaded {
            source: String,
            models: usize,
        }
        let loaded = Loaded {
            source: table.source.clone(),
            models: table.model_count(),
        };
        self.inner.set_prices(Some(table));
        Self::to_js_object(&loaded)
    }

    /// Recomputes the stored rows' costs under the price table in `text` (a `genai-prices.json`,
    /// as for `setPrices`): rows whose `cost_source` is neither `log` nor empty get the table's
    /// cost (`cost_source` `genai-prices <version>`), or 0 and `unpriced`. Returns
    /// `{ repriced, unpriced, kept_from_log, source }`. The table that costs later loads stays
    /// the one of `setPrices`.
    #[wasm_bindgen(
        unchecked_return_type = "{ repriced: number; unpriced: number; kept_from_log: number; source: string }"
    )]
    pub fn reprice(&mut self, text: &str) -> Result<JsValue, JsError> {
        Self::alive()?;
        let table = PriceTable::from_json(text).map_err(|e| JsError::new(&e))?;
        let done = self.inner.reprice(&table)?;
        #[derive(Serialize)]
        struct Done {
            repriced: u64,
            unpriced: u64,
            kept_from_log: u64,
            source: String,
        }
        Self::to_js_object(&Done {
            repriced: done.repriced,
            unpriced: done.unpriced,
            kept_from_log: done.kept_from_log,
            source: table.cost_source,
        })
    }

    /// Adds (or replaces) a pipe from the text of a `.pipe` file; returns its name. Throws for a
    /// malformed file, naming the line.
    #[wasm_bindgen(js_name = addPipe)]
    pub fn add_pipe(&mut self, text: &str) -> Result<String, JsError> {
        Self::alive()?;
        Ok(self.inner.add_pipe(text)?)
    }

    /// A page of the quarantine table, oldest first, as an endpoint result: every schema column
    /// as the text found, `c__error_column`, `c__error`, `c__line`, `c__source`,
    /// `insertion_date` and `c__raw`. Optional `{ offset, limit }` (defaults 0 and 100).
    #[wasm_bindgen(unchecked_return_type = "Endpoint")]
    pub fn quarantine(&self, page: Option<Object>) -> Result<JsValue, JsError> {
        Self::alive()?;
        let offset = Self::number_option(page.as_ref(), "offset")?.unwrap_or(0.0);
        let limit = Self::number_option(page.as_ref(), "limit")?.unwrap_or(100.0);
        let offset = whole_number("quarantine: offset", offset)?;
        let limit = whole_number("quarantine: limit", limit)?;
        Self::endpoint_to_js(
            &self
                .inner
                .quarantine_page(offset as usize, limit.min(usize::MAX as u64) as usize),
        )
    }

    /// Number of quarantined lines, over all streams.
    #[wasm_bindgen(getter = quarantinedCount)]
    pub fn quarantined_count(&self) -> Result<f64, JsError> {
        Self::alive()?;
        Ok(self.inner.quarantine().len() as f64)
    }

    /// Bytes of memory the stored columns and dictionaries reserve.
    #[wasm_bindgen(getter = storeBytes)]
    pub fn store_bytes(&self) -> Result<f64, JsError> {
        Self::alive()?;
        Ok(self.inner.store().bytes() as f64)
    }

    /// Names of the pipes this store can run.
    #[wasm_bindgen(js_name = pipeNames)]
    pub fn pipe_names(&self) -> Result<Vec<String>, JsError> {
        Self::alive()?;
        Ok(self.inner.pipe_names())
    }

    /// The whole store as the bytes of a store file (see `openStoreFile`). Fails, naming the
    /// column, for a store with `AggregateFunction` columns.
    #[wasm_bindgen(js_name = toStoreFile)]
    pub fn to_store_file(&self) -> Result<Vec<u8>, JsError> {
        Self::alive()?;
        Ok(self.inner.to_store_file()?)
    }

    /// The number of parts of the store file: the header, then one section per block of rows,
    /// dictionary, datasource and quarantine, and two more.
    #[wasm_bindgen(js_name = storeFileParts)]
    pub fn store_file_parts(&self) -> Result<f64, JsError> {
        Self::alive()?;
        Ok(self.inner.store_file_parts() as f64)
    }

    /// Writes parts `start` to `end` (default: all) of the store file, calling `sink` with each
    /// part as a new `Uint8Array` of its own; returns the bytes written. Writing a few parts at
    /// a time lets other work run in between, as long as the store does not change meanwhile.
    /// A `sink` that throws stops the writing, and the error is thrown.
    #[wasm_bindgen(js_name = writeStoreFile)]
    pub fn write_store_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(part: Uint8Array) => void")]
        sink: &js_sys::Function,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Result<f64, JsError> {
        Self::alive()?;
        let start = match start {
            Some(v) => whole_number("writeStoreFile: start", v)?,
            None => 0,
        };
        let end = match end {
            Some(v) => whole_number("writeStoreFile: end", v)?,
            None => u64::MAX,
        };
        let clamp = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        let mut thrown: Option<JsValue> = None;
        let result = self
            .inner
            .write_store_file_parts(clamp(start), clamp(end), &mut |part| {
                let bytes = js_sys::Uint8Array::from(part);
                sink.call1(&JsValue::NULL, &bytes).map(|_| ()).map_err(|e| {
                    thrown = Some(e);
                    crate::Error::misuse("writeStoreFile: the sink threw")
                })
            });
        match (result, thrown) {
            (Ok(n), _) => Ok(n as f64),
            (Err(_), Some(e)) => Err(JsError::new(&format!(
                "writeStoreFile: the sink threw: {}",
                js_error_text(&e)
            ))),
            (Err(e), None) => Err(e.into()),
        }
    }

    /// Appends the rows and quarantined lines of a store file (`toStoreFile` of a store that
    /// read a later part of a stream, from a line boundary `linesBefore` lines into it) after
    /// this store's, as if this store had read that part itself: the same rows in the same
    /// order, quarantined lines numbered from the start of the whole stream. Throws
    /// `not supported` for a part whose records repeat over lines or a datasource that
    /// materialized pipes read, and a store-full error, appending nothing, for a part that does
    /// not fit in the budget.
    #[wasm_bindgen(js_name = appendStoreFile)]
    pub fn append_store_file(&mut self, bytes: &[u8], lines_before: f64) -> Result<(), JsError> {
        Self::alive()?;
        let lines_before = whole_number("appendStoreFile: linesBefore", lines_before)?;
        Ok(self.inner.append_store_file(bytes, lines_before)?)
    }

    /// Reopens a store from the bytes of a store file (`toStoreFile`, `writeStoreFile`), with
    /// optional `options` as for the constructor: the reopened rows count against `maxBytes`.
    /// Throws, naming the byte where reading stopped, for a file that is damaged, truncated, of
    /// another version, or larger than the budget.
    #[wasm_bindgen(js_name = openStoreFile)]
    pub fn open_store_file(
        bytes: &[u8],
        options: Option<Object>,
    ) -> Result<WasmEventStore, JsError> {
        Self::alive()?;
        let options = Self::options_from_js(options)?;
        Ok(Self::wrap(EventStore::open_store_file(bytes, options)?))
    }
}

/// The text of a thrown JavaScript value: an `Error`'s message, else the value as a string.
fn js_error_text(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string()
        .unwrap_or_else(|| "a value that is not an Error".to_string())
}

/// Reopens a store file given in chunks (as a `File`'s stream gives it), holding no more than
/// one section of it at a time beside the store being filled:
/// `const r = new StoreFileReader(options); for await (const c of file.stream()) r.write(c);
/// const store = r.finish();`
#[wasm_bindgen(js_name = StoreFileReader)]
pub struct WasmStoreFileReader {
    inner: Option<crate::StoreFileReader>,
}

#[wasm_bindgen(js_class = StoreFileReader)]
impl WasmStoreFileReader {
    /// A reader that reopens a store with optional `options` as for `new EventStore()`, and
    /// `heldBytes`: bytes held elsewhere while the file is read (the store it is to replace),
    /// which count against `maxBytes` with the rows read.
    #[wasm_bindgen(constructor)]
    pub fn new(options: Option<Object>) -> Result<WasmStoreFileReader, JsError> {
        WasmEventStore::alive()?;
        let held = match WasmEventStore::number_option(options.as_ref(), "heldBytes")? {
            Some(v) => whole_number("StoreFileReader: heldBytes", v)?,
            None => 0,
        };
        let options = WasmEventStore::options_from_js(options)?;
        Ok(WasmStoreFileReader {
            inner: Some(crate::StoreFileReader::new(options).held_beside(held)),
        })
    }

    /// Reads the next chunk of the file; throws when the file is damaged or over the budget.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), JsError> {
        WasmEventStore::alive()?;
        match &mut self.inner {
            Some(r) => Ok(r.write(chunk)?),
            None => Err(JsError::new("StoreFileReader: finish() was called already")),
        }
    }

    /// Bytes of the file read so far.
    #[wasm_bindgen(getter = bytesRead)]
    pub fn bytes_read(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |r| r.bytes_read() as f64)
    }

    /// The reopened store, once the whole file was written; throws for a truncated file.
    pub fn finish(&mut self) -> Result<WasmEventStore, JsError> {
        WasmEventStore::alive()?;
        match self.inner.take() {
            Some(r) => Ok(WasmEventStore::wrap(r.finish()?)),
            None => Err(JsError::new("StoreFileReader: finish() was called already")),
        }
    }
}

impl WasmEventStore {
    /// Fails with "the store was lost after a crash: ..." once a panic has struck: the heap it
    /// left behind is not run on.
    fn alive() -> Result<(), JsError> {
        match CRASH.get() {
            None => Ok(()),
            Some(crash) => Err(JsError::new(&crash.lost)),
        }
    }

    /// Wraps a core store, timing its pipes with the host's `performance.now()` and dating
    /// quarantined lines with `Date.now()`.
    fn wrap(mut inner: EventStore) -> WasmEventStore {
        inner.set_clock(performance_now);
        inner.set_wall_clock(wall_clock_seconds);
        WasmEventStore { inner }
    }

    /// An endpoint result as a plain JavaScript object.
    fn endpoint_to_js(endpoint: &Endpoint) -> Result<JsValue, JsError> {
        JSON::parse(&endpoint.to_json())
            .map_err(|_| JsError::new("a query produced a result that is not valid JSON"))
    }

    /// Reads `{ maxBytes, maxLineBytes, maxResultRows, maxResultBytes }`; missing fields keep their
    /// defaults.
    fn options_from_js(options: Option<Object>) -> Result<Options, JsError> {
        let mut o = Options::default();
        if let Some(v) = Self::number_option(options.as_ref(), "maxBytes")? {
            o.max_bytes = whole_number("EventStore: maxBytes", v)?;
        }
        if let Some(v) = Self::number_option(options.as_ref(), "maxLineBytes")? {
            let v = whole_number("EventStore: maxLineBytes", v)?;
            o.max_line_bytes = usize::try_from(v.max(1)).unwrap_or(usize::MAX);
        }
        if let Some(v) = Self::number_option(options.as_ref(), "maxResultRows")? {
            o.result_limits.max_rows = whole_number("EventStore: maxResultRows", v)?;
        }
        if let Some(v) = Self::number_option(options.as_ref(), "maxResultBytes")? {
            o.result_limits.max_bytes = whole_number("EventStore: maxResultBytes", v)?;
        }
        Ok(o)
    }

    /// Reads `{ format, time }` for `begin`.
    fn stream_options_from_js(options: Option<&Object>) -> Result<StreamOptions, JsError> {
        let mut o = StreamOptions::default();
        if let Some(v) = Self::number_option(options, "time")? {
            if !v.is_finite() {
                return Err(JsError::new("option 'time' must be a finite number"));
            }
            o.time_ms = Some(v.floor() as i64);
        }
        if let Some(object) = options {
            let value = Reflect::get(object, &JsValue::from_str("format"))
                .map_err(|_| JsError::new("cannot read option 'format'"))?;
            if !value.is_undefined()
                && !value.is_null()
                && value.as_string().as_deref() != Some("auto")
            {
                let name = value
                    .as_string()
                    .ok_or_else(|| JsError::new("option 'format' must be a string"))?;
                let format = Format::from_name(&name).ok_or_else(|| {
                    JsError::new(&format!(
                        "unknown format '{name}'; the formats are auto, {}",
                        Format::ALL.map(Format::name).join(", ")
                    ))
                })?;
                o.format = Some(format);
            }
        }
        Ok(o)
    }

    /// The number at `key` of an options object; `None` when the object or the key is absent.
    fn number_option(object: Option<&Object>, key: &str) -> Result<Option<f64>, JsError> {
        let Some(object) = object else {
            return Ok(None);
        };
        let value = Reflect::get(object, &JsValue::from_str(key))
            .map_err(|_| JsError::new(&format!("cannot read option '{key}'")))?;
        if value.is_undefined() || value.is_null() {
            return Ok(None);
        }
        value
            .as_f64()
            .map(Some)
            .ok_or_else(|| JsError::new(&format!("option '{key}' must be a number")))
    }

    /// Converts pipe parameters from JavaScript: `undefined` and `null` mean none.
    fn params_from_js(params: Option<Object>) -> Result<Params, JsError> {
        match params {
            None => Ok(Params::new()),
            Some(object) => serde_wasm_bindgen::from_value(object.into()).map_err(|e| {
                JsError::new(&format!(
                    "pipe parameters must be an object of names to values: {e}"
                ))
            }),
        }
    }

    /// Converts a serialisable value to a plain JavaScript object (numbers, not BigInts).
    fn to_js_object<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
        Ok(value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
    }
}

/// The names of the log formats a stream of the `llm_events` datasource may be in, for
/// `begin(name, { format })`: `llm_events` (the canonical shape) first.
#[wasm_bindgen(js_name = formatNames)]
pub fn format_names() -> Vec<String> {
    Format::ALL.iter().map(|f| f.name().to_string()).collect()
}

/// Generates `rows` deterministic sample events as NDJSON bytes for the `llm_events`
/// datasource; the same `rows` and `seed` always give the same bytes. `rows` is at most
/// 5,000,000 and both arguments are non-negative integers.
#[wasm_bindgen(js_name = generateSample)]
pub fn generate_sample(rows: f64, seed: f64) -> Result<Vec<u8>, JsError> {
    WasmEventStore::alive()?;
    let rows = whole_number("generateSample: rows", rows)?;
    if rows > MAX_SAMPLE_ROWS {
        return Err(JsError::new(&format!(
            "generateSample: rows must be at most {MAX_SAMPLE_ROWS}, got {rows}"
        )));
    }
    let seed = whole_number("generateSample: seed", seed)?;
    Ok(generate_ndjson(rows, seed))
}

/// Runs the decoder and every shipped pipe on a small generated sample, `rounds` times over
/// (default 10), in scratch stores that are freed before it returns; returns the number of pipe
/// runs made. Browsers first run WebAssembly through a baseline compiler and optimise a function
/// only after it has run for a while, so on a large store the first few dozen queries run two to
/// five times slower than later ones. Call this once after `init()`, in a worker, before real
/// data arrives: ten rounds take 0.3 to 0.5 s.
#[wasm_bindgen(js_name = warmUp)]
pub fn warm_up(rounds: Option<u32>) -> Result<f64, JsError> {
    WasmEventStore::alive()?;
    // Scratch stores exactly like those `new EventStore()` makes, clocks included.
    let runs = EventStore::warm_up(rounds.unwrap_or(10).min(1000), || {
        WasmEventStore::wrap(EventStore::new()).inner
    })?;
    Ok(runs as f64)
}

/// Test builds only: `sql("SELECT test_panic()")` panics the way a bug would, with an index
/// out of bounds, so that tests can check what callers see after a panic (tests/js/crash.test.mjs,
/// tests/e2e/crash.test.mjs). It is compiled only with the Cargo feature `test-panic`, which
/// those tests pass to their own build (tests/js/panic-pkg.mjs, into `target/pkg-test-panic/`);
/// the shipped package (`wasm-pack build --release`, default features) has no way to panic on
/// purpose, and there this query is an ordinary error (an unknown function).
#[cfg(feature = "test-panic")]
fn test_panic(query: &str) {
    if query.trim() == "SELECT test_panic()" {
        let columns: Vec<usize> = std::hint::black_box(Vec::new());
        std::hint::black_box(columns[query.len()]);
    }
}

/// Reads a JavaScript number that must be a non-negative safe integer.
fn whole_number(what: &str, value: f64) -> Result<u64, JsError> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        Ok(value as u64)
    } else {
        Err(JsError::new(&format!(
            "{what} must be a non-negative integer, got {value}"
        )))
    }
}
