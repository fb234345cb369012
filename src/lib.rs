//! # llm-metrics
//!
//! An analytics engine for LLM usage logs that runs in a browser tab (WebAssembly) or natively:
//! NDJSON events stream in through [`EventStore::write`], land in a typed columnar store, and are
//! queried through Tinybird-style pipes that answer in endpoint JSON with ClickHouse semantics.
//!
//! The two entry points are [`EventStore::write`] / [`EventStore::end`] to ingest, and
//! [`EventStore::pipe`] to query.
//!
//! ```
//! use llm_metrics::{EventStore, Params, Value};
//!
//! let mut store = EventStore::new();
//! // Chunks may split lines anywhere, even inside a UTF-8 character.
//! store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"gpt-4o\",\"prompt_tokens\":120,")?;
//! store.write(b"\"completion_tokens\":30,\"total_tokens\":150,\"cost\":0.0021,\"latency\":1.5,\"success\":1}\n")?;
//! store.write(b"{\"event_time\":\"2024-05-01T10:00:05Z\",\"model_name\":\"gpt-4o\",\"prompt_tokens\":\"80\",\"success\":0}\n")?;
//! store.write(b"not json\n")?;
//! let report = store.end()?;
//! assert_eq!((report.lines, report.rows, report.quarantined), (3, 2, 1));
//!
//! let usage = store.pipe("llm_usage_by_model", &Params::new())?;
//! assert_eq!(usage.get(0, "total_prompt_tokens"), Some(&Value::UInt(200)));
//! let perf = store.pipe("llm_performance", &Params::new())?;
//! assert_eq!(perf.get(0, "success_rate"), Some(&Value::Float64(0.5)));
//! assert!(usage.to_json().starts_with("{\"meta\":[{\"name\":\"model_name\",\"type\":\"String\"}"));
//! # Ok::<(), llm_metrics::Error>(())
//! ```
//!
//! ## Modules
//! The core knows nothing of JavaScript; only the `wasm` module (built for `wasm32`) does.
#![deny(missing_docs)]

/// Events in the sample [`EventStore::warm_up`] runs on.
const WARM_UP_ROWS: u64 = 5_000;

/// The crate's error type, carrying lines and positions.
mod error;
pub mod formats;
/// Deterministic sample events for demos, tests and benchmarks.
mod gen;
/// Streaming NDJSON decoding and the quarantine.
mod ingest;
/// Projects: several datasources and pipes read together.
mod project;
/// Pipes, SQL and endpoint JSON.
mod query;
/// Datasource definitions and column types.
mod schema;
/// The columnar store.
mod store;
/// UTC calendar arithmetic and timestamp parsing.
mod time;
/// The JavaScript API.
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use error::{Error, ErrorKind, Result};
pub use gen::{generate_ndjson, write_to, Event, GenConfig, Generator};
pub use ingest::{
    stream_name, Decoder, Quarantine, QuarantineRow, Report, DEFAULT_MAX_LINE_BYTES, OPEN_CALLS,
};
pub use project::{
    file_stem, load_project, read_project_dir, FileMessage, Project, MAX_PROJECT_FILES,
};
pub use query::{
    expand_pipe, parse_pipe, Endpoint, Meta, Node, Params, Pipe, PipeKind, Statistics, Value,
    MAX_NODES,
};
pub use schema::{
    default_value, parse_datasource, parse_datasource_file, ColumnDef, ColumnSpec, ColumnType,
    Datasource, DatasourceFile, DefaultValue, EngineSetting, IndexSpec, Note, PartitionKey,
    TokenSpec, TypeDesc, MAX_DATASOURCE_BYTES, MAX_TYPE_DEPTH,
};
pub use store::{
    crc32, Block, Cell, ColumnData, Crc32, Dictionary, Partition, Repriced, ResultLimits, Store,
    StoreFileReader, BLOCK_ROWS, MAX_ADDED_PIPES, MAX_SECTION_BYTES, STORE_FILE_MAGIC,
    STORE_FILE_VERSION,
};

/// The pipes shipped in `pipes/`, loaded by every new store: (name, text).
pub const SHIPPED_PIPES: &[(&str, &str)] = &[
    (
        "llm_usage_by_model",
        include_str!("../pipes/llm_usage_by_model.pipe"),
    ),
    (
        "llm_performance",
        include_str!("../pipes/llm_performance.pipe"),
    ),
    (
        "llm_usage_by_model_filtered",
        include_str!("../pipes/llm_usage_by_model_filtered.pipe"),
    ),
    (
        "llm_performance_filtered",
        include_str!("../pipes/llm_performance_filtered.pipe"),
    ),
    ("llm_kpis", include_str!("../pipes/llm_kpis.pipe")),
    (
        "llm_latency_percentiles",
        include_str!("../pipes/llm_latency_percentiles.pipe"),
    ),
    (
        "llm_timeseries",
        include_str!("../pipes/llm_timeseries.pipe"),
    ),
    (
        "llm_top_errors",
        include_str!("../pipes/llm_top_errors.pipe"),
    ),
    (
        "llm_dimensions",
        include_str!("../pipes/llm_dimensions.pipe"),
    ),
];

/// A source of the current time in milliseconds, used for `statistics.elapsed`.
pub type Clock = fn() -> f64;

/// A source of the wall-clock time in seconds since the epoch: recorded on quarantined lines,
/// read by `now()` and `today()`.
pub type WallClock = fn() -> i64;

#[cfg(not(target_arch = "wasm32"))]
fn default_wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(target_arch = "wasm32")]
fn default_wall_clock() -> i64 {
    0
}

#[cfg(not(target_arch = "wasm32"))]
fn default_clock() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

#[cfg(target_arch = "wasm32")]
fn default_clock() -> f64 {
    0.0
}

/// Options for a new [`EventStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Budget of store memory (columns, dictionaries and the quarantine table) in bytes.
    pub max_bytes: u64,
    /// Longest line accepted; longer lines are quarantined.
    pub max_line_bytes: usize,
    /// What one query may return (`max_result_rows`, `max_result_bytes`).
    pub result_limits: ResultLimits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            // wasm32 addresses 4 GiB; leave room for the decoder, results and the allocator.
            max_bytes: if cfg!(target_arch = "wasm32") {
                3 << 30
            } else {
                u64::MAX
            },
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            result_limits: ResultLimits {
                max_rows: u64::MAX,
                // In wasm32 a result is built, written as JSON and parsed by JavaScript within
                // the 4 GiB the module addresses, beside the store's own budget.
                max_bytes: if cfg!(target_arch = "wasm32") {
                    256 << 20
                } else {
                    u64::MAX
                },
            },
        }
    }
}

/// Options of one stream, for [`EventStore::begin_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamOptions {
    /// The format of the stream's lines; `None` detects each line's.
    pub format: Option<formats::Format>,
    /// The time (milliseconds since the epoch) of records without one, such as the file's
    /// modification time; `None` for the time of loading.
    pub time_ms: Option<i64>,
}

/// A datasource's stored rows, its streaming decoder, its quarantine and its pipes; for a
/// project ([`EventStore::from_project`]), more datasources beside the first.
#[derive(Debug, Clone)]
pub struct EventStore {
    store: Store,
    decoder: Decoder,
    quarantine: Quarantine,
    /// The project's other datasources.
    others: Vec<Table>,
    /// Where streams go: 0 for the first datasource, `i + 1` for `others[i]`.
    target: usize,
    load_errors: Vec<FileMessage>,
    load_notes: Vec<FileMessage>,
    pipes: Vec<Pipe>,
    /// For a project, its `.datasource` and `.pipe` files, kept for the store file.
    project_files: Option<Vec<(String, String)>>,
    /// Texts given to [`EventStore::add_pipe`] with the names of their pipes, the latest for
    /// each name, kept for the store file.
    added_pipes: Vec<(String, String)>,
    clock: Clock,
    wall_clock: WallClock,
}

/// One more datasource of a project: its rows, decoder and quarantine.
#[derive(Debug, Clone)]
struct Table {
    store: Store,
    decoder: Decoder,
    quarantine: Quarantine,
}

impl Default for EventStore {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStore {
    /// A store for the shipped `llm_events` datasource with the shipped pipes.
    pub fn new() -> EventStore {
        Self::with_datasource(schema::Datasource::llm_events(), Options::default())
    }

    /// A store for any `.datasource` text (named `llm_events`, so the shipped pipes apply when the
    /// columns fit them).
    pub fn from_datasource(text: &str) -> Result<EventStore> {
        let ds = parse_datasource("llm_events", text)?;
        Ok(Self::with_datasource(ds, Options::default()))
    }

    /// A store for `ds` with `options`.
    pub fn with_datasource(ds: Datasource, options: Options) -> EventStore {
        let decoder = Decoder::new(&ds, options.max_line_bytes);
        let pipes = SHIPPED_PIPES
            .iter()
            .filter_map(|(name, text)| parse_pipe(Some(name), text).ok())
            .collect();
        let mut store = Store::new(ds, options.max_bytes);
        store.set_result_limits(options.result_limits);
        EventStore {
            store,
            decoder,
            quarantine: Quarantine::default(),
            others: Vec::new(),
            target: 0,
            load_errors: Vec::new(),
            load_notes: Vec::new(),
            pipes,
            project_files: None,
            added_pipes: Vec::new(),
            clock: default_clock,
            wall_clock: default_wall_clock,
        }
    }

    /// A store for a Tinybird project: `(path, text)` pairs of `.datasource` and `.pipe` files
    /// ([`load_project`]). Every datasource that loads is a table named after its file and every
    /// pipe that loads is named after its file; the others are listed in
    /// [`EventStore::load_errors`], each with its file and line, and what is read but not run
    /// in [`EventStore::load_notes`]. Streams go to the table named `llm_events` if there is
    /// one, else to the first; [`EventStore::begin_into`] chooses another. Each table has the
    /// memory budget of `options`.
    ///
    /// ```
    /// use llm_metrics::{EventStore, Options, Params, Value};
    /// let mut store = EventStore::from_project(&[
    ///     ("calls.datasource".into(), "SCHEMA >\n    `t` DateTime `json:$.t`,\n    `m` String `json:$.m`\n".into()),
    ///     ("prices.datasource".into(), "SCHEMA >\n    `m` String `json:$.m`,\n    `usd` Float64 `json:$.usd`\n".into()),
    ///     ("broken.datasource".into(), "SCHEMA >\n    `m` Tuple(String, String)\n".into()),
    ///     ("dear.pipe".into(), "NODE n\nSQL >\n    SELECT m FROM prices WHERE usd > 1\n".into()),
    /// ], Options::default());
    /// assert_eq!(store.load_errors()[0].file, "broken.datasource");
    /// store.begin_into("p.ndjson", "prices")?;
    /// store.write(b"{\"m\":\"big\",\"usd\":2.5}\n{\"m\":\"small\",\"usd\":0.1}\n")?;
    /// store.end()?;
    /// let r = store.pipe("dear", &Params::new())?;
    /// assert_eq!(r.get(0, "m"), Some(&Value::Str("big".into())));
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn from_project(files: &[(String, String)], options: Options) -> EventStore {
        let project = load_project(files);
        let mut datasources = project.datasources;
        let mut notes = project.notes;
        let first = datasources
            .iter()
            .position(|d| d.name == "llm_events")
            .unwrap_or(0);
        let primary = if datasources.is_empty() {
            notes.push(FileMessage {
                file: String::new(),
                line: 1,
                message: "no datasource loaded: streams go to the shipped llm_events".to_string(),
            });
            schema::Datasource::llm_events()
        } else {
            datasources.remove(first)
        };
        let mut es = Self::with_datasource(primary, options);
        es.pipes = project.pipes;
        es.others = datasources
            .into_iter()
            .map(|ds| {
                let decoder = Decoder::new(&ds, options.max_line_bytes);
                let mut store = Store::new(ds, options.max_bytes);
                store.set_result_limits(options.result_limits);
                Table {
                    store,
                    decoder,
                    quarantine: Quarantine::default(),
                }
            })
            .collect();
        es.load_errors = project.errors;
        es.load_notes = notes;
        es.project_files = Some(
            files
                .iter()
                .filter(|(p, _)| p.ends_with(".datasource") || p.ends_with(".pipe"))
                .cloned()
                .collect(),
        );
        es
    }

    /// The files of the project that failed to load, each with its line and why
    /// ([`EventStore::from_project`]); empty for other stores.
    pub fn load_errors(&self) -> &[FileMessage] {
        &self.load_errors
    }

    /// What the project's files say that is read but not run here: tokens, forward queries,
    /// connectors, materialized and copy pipes.
    pub fn load_notes(&self) -> &[FileMessage] {
        &self.load_notes
    }

    /// The names of the store's datasources, the one streams go to by default first.
    pub fn datasource_names(&self) -> Vec<String> {
        std::iter::once(&self.store)
            .chain(self.others.iter().map(|t| &t.store))
            .map(|s| s.datasource().name.clone())
            .collect()
    }

    /// The rows stored in datasource `name`, if the store has it.
    pub fn datasource_rows(&self, name: &str) -> Option<u64> {
        std::iter::once(&self.store)
            .chain(self.others.iter().map(|t| &t.store))
            .find(|s| s.datasource().name == name)
            .map(Store::rows)
    }

    /// Bytes of memory the datasource named `name` holds (its columns, dictionaries and
    /// quarantine; see [`Store::bytes`]), or `None` without such a datasource.
    pub fn datasource_bytes(&self, name: &str) -> Option<u64> {
        self.table_index(name)
            .and_then(|i| self.table_store(i))
            .map(Store::bytes)
    }

    /// Starts a stream named `name` into the datasource named `datasource`; a stream still
    /// open, into any datasource, is ended first and its report returned.
    pub fn begin_into(&mut self, name: &str, datasource: &str) -> Result<Option<Report>> {
        let target = if self.store.datasource().name == datasource {
            0
        } else {
            1 + self
                .others
                .iter()
                .position(|t| t.store.datasource().name == datasource)
                .ok_or_else(|| {
                    Error::misuse(format!("there is no datasource named '{datasource}'"))
                })?
        };
        let mut report = None;
        if target != self.target {
            let (decoder, _, _) = self.parts();
            if decoder.is_open() {
                report = Some(self.end()?);
            }
            self.target = target;
        }
        let ended = self.begin(name)?;
        Ok(report.or(ended))
    }

    /// The decoder, rows and quarantine streams go to now.
    fn parts(&mut self) -> (&mut Decoder, &mut Store, &mut Quarantine) {
        match self
            .target
            .checked_sub(1)
            .and_then(|i| self.others.get_mut(i))
        {
            Some(t) => (&mut t.decoder, &mut t.store, &mut t.quarantine),
            None => (&mut self.decoder, &mut self.store, &mut self.quarantine),
        }
    }

    /// Replaces the wall clock recorded as `insertion_date` on quarantined lines and read by
    /// `now()` and `today()` in queries.
    pub fn set_wall_clock(&mut self, clock: WallClock) {
        self.wall_clock = clock;
    }

    /// Replaces the clock used for `statistics.elapsed`.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// Starts a stream named `name`; its report and quarantined lines carry the name. Ending a
    /// stream that is still open first, whose report is then returned.
    pub fn begin(&mut self, name: &str) -> Result<Option<Report>> {
        self.staged(|decoder, store, quarantine| decoder.begin(Some(name), store, quarantine))
    }

    /// Starts a stream named `name` as [`EventStore::begin`] does, with the format of its lines
    /// (instead of detecting each line's) and the time, in milliseconds since the epoch, that its
    /// records without a time of their own take (else the time of loading). Both apply to the
    /// shipped `llm_events` datasource only, and to this stream only.
    pub fn begin_with(&mut self, name: &str, options: &StreamOptions) -> Result<Option<Report>> {
        let previous = self.begin(name);
        self.set_stream_options(options);
        previous
    }

    /// Sets the format and the time of records without one (see [`EventStore::begin_with`])
    /// for the stream now open, of whichever datasource it goes to.
    pub fn set_stream_options(&mut self, options: &StreamOptions) {
        let (decoder, _, _) = self.parts();
        decoder.set_format(options.format);
        decoder.set_stream_time(options.time_ms.map(|ms| ms.div_euclid(1000)));
    }

    /// Sets the price table that costs records of vendor formats whose log has no cost (from
    /// now on; rows stored keep theirs), or removes it with `None` (such records then cost 0).
    /// Lines in the canonical shape always keep the cost they give.
    pub fn set_prices(&mut self, prices: Option<formats::prices::PriceTable>) {
        self.decoder.set_prices(prices.map(std::sync::Arc::new));
    }

    /// Recomputes the stored rows' costs under `prices` (see [`Store::reprice`]): every row
    /// whose `cost_source` is neither `log` nor empty gets the table's cost, or 0 and
    /// `unpriced`. Rows loaded later are costed by the table of [`EventStore::set_prices`], which
    /// this leaves as it is. Fails, changing nothing, for a datasource without the `llm_events`
    /// columns it reads.
    ///
    /// ```
    /// use llm_metrics::formats::prices::PriceTable;
    /// let table = PriceTable::from_json(
    ///     r#"{"version": "1.0", "providers": [{"id": "openai", "models": [
    ///         {"id": "m", "match": {"equals": "m"}, "prices": {"input_mtok": 2, "output_mtok": 8}}]}]}"#,
    /// )
    /// .map_err(llm_metrics::Error::misuse)?;
    /// let mut store = llm_metrics::EventStore::new();
    /// store.begin("a.ndjson")?;
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"provider\":\"openai\",\"prompt_tokens\":1000,\"completion_tokens\":500,\"cost_source\":\"unpriced\"}\n")?;
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"cost\":9,\"cost_source\":\"log\"}\n")?;
    /// store.end()?;
    /// let done = store.reprice(&table)?;
    /// assert_eq!((done.repriced, done.unpriced, done.kept_from_log), (1, 0, 1));
    /// let e = store.sql("SELECT sum(cost) AS c FROM llm_events WHERE cost_source = 'genai-prices 1.0'", &Default::default())?;
    /// // 1,000 × $2 + 500 × $8 per million tokens.
    /// assert_eq!(e.get(0, "c"), Some(&llm_metrics::Value::Float64(f64::from(0.006f32))));
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn reprice(&mut self, prices: &formats::prices::PriceTable) -> Result<Repriced> {
        self.store.reprice(prices)
    }

    /// Feeds the next chunk of the current stream (starting `stream-N` if none is open).
    ///
    /// Lines may be split anywhere across chunks. Fails only when the store is full.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let now = (self.wall_clock)();
        self.parts().0.set_now(now);
        self.staged(|decoder, store, quarantine| decoder.write(chunk, store, quarantine))
    }

    /// Indexes into `pipes` of the materialized pipes that run on rows written to table
    /// `table` (0 for the first datasource, `i + 1` for `others[i]`): those whose first
    /// `FROM` names it, as a ClickHouse view is triggered by the first table it reads, and
    /// whose target is another table of the store.
    fn views_of(&self, table: usize) -> Vec<usize> {
        let Some(source) = self.table_store(table).map(|s| s.datasource().name.clone()) else {
            return Vec::new();
        };
        self.pipes
            .iter()
            .enumerate()
            .filter(|(_, p)| match &p.kind {
                PipeKind::Materialized { datasource } => {
                    *datasource != source
                        && self.table_index(datasource).is_some()
                        && query::trigger_table(p, |t| self.table_index(t).is_some()).as_deref()
                            == Some(source.as_str())
                }
                _ => false,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The store of table `i` (0 for the first datasource, `i + 1` for `others[i]`).
    fn table_store(&self, i: usize) -> Option<&Store> {
        match i.checked_sub(1) {
            Some(o) => self.others.get(o).map(|t| &t.store),
            None => Some(&self.store),
        }
    }

    /// The index of the table named `name`.
    fn table_index(&self, name: &str) -> Option<usize> {
        (0..=self.others.len()).find(|&i| {
            self.table_store(i)
                .is_some_and(|s| s.datasource().name == name)
        })
    }

    /// Runs `f` (a write, end or begin of the decoder of the current stream's table); where
    /// materialized pipes read that table, the rows it writes are staged first, the pipes run
    /// over exactly them, as a ClickHouse materialized view runs over each inserted block, and
    /// then the rows join the table and the pipes' results their target tables.
    fn staged<T>(
        &mut self,
        f: impl FnOnce(&mut Decoder, &mut Store, &mut Quarantine) -> Result<T>,
    ) -> Result<T> {
        let source = self.target;
        let views = self.views_of(source);
        if views.is_empty() {
            let (decoder, store, quarantine) = self.parts();
            return f(decoder, store, quarantine);
        }
        let now = (self.wall_clock)();
        let (decoder, store, quarantine) = self.parts();
        let room = store.max_bytes().saturating_sub(store.bytes());
        let mut staging = Store::new(store.datasource().clone(), room);
        let result = f(decoder, &mut staging, quarantine);
        let stream = decoder.progress().stream.clone();
        let mut outputs = Vec::new();
        let mut failed = None;
        if staging.rows() > 0 {
            let readable: Vec<&Store> = (0..=self.others.len())
                .filter(|&i| i != source)
                .filter_map(|i| self.table_store(i))
                .collect();
            for &v in &views {
                let pipe = &self.pipes[v];
                let PipeKind::Materialized { datasource } = &pipe.kind else {
                    continue;
                };
                let target = self.table_index(datasource);
                let columns = target
                    .and_then(|t| self.table_store(t))
                    .map(|s| &s.datasource().columns);
                match query::run_materialized(&staging, &readable, pipe, now) {
                    Ok(out) => {
                        // As ClickHouse refuses the view (THERE_IS_NO_COLUMN).
                        let stray = out.meta.iter().find(|m| {
                            columns.is_some_and(|cs| cs.iter().all(|c| c.name != m.name))
                        });
                        if let Some(m) = stray {
                            failed = Some(Error::query(format!(
                                "materialized pipe '{}' into '{datasource}': its SELECT gives column '{}', which is not in '{datasource}' (name it AS one of its columns)",
                                pipe.name, m.name
                            )));
                            break;
                        }
                        outputs.push((target, out));
                    }
                    Err(e) => {
                        failed = Some(Error::query(format!(
                            "materialized pipe '{}' into '{datasource}': {e}",
                            pipe.name
                        )));
                        break;
                    }
                }
            }
        }
        let full = |s: &Store| {
            Error::new(ErrorKind::StoreFull {
                rows: s.rows(),
                bytes: s.bytes(),
                line: 0,
                stream: stream.clone(),
            })
        };
        {
            let (_, store, _) = self.parts();
            store.absorb(&staging).map_err(|_| full(store))?;
        }
        if let Some(e) = failed {
            return Err(e);
        }
        for (target, out) in outputs {
            let Some(t) = target else { continue };
            let store = match t.checked_sub(1) {
                Some(o) => match self.others.get_mut(o) {
                    Some(t) => &mut t.store,
                    None => continue,
                },
                None => &mut self.store,
            };
            let positions: Vec<Option<usize>> = store
                .datasource()
                .columns
                .iter()
                .map(|c| out.meta.iter().position(|m| m.name == c.name))
                .collect();
            for row in out.data {
                let mut row: Vec<Option<Value>> = row.into_iter().map(Some).collect();
                let values = positions
                    .iter()
                    .map(|p| p.and_then(|p| row.get_mut(p).and_then(Option::take)))
                    .collect();
                store.push_values(values, now).map_err(|_| full(store))?;
            }
        }
        result
    }

    /// What the current stream (of whichever datasource it goes to) has read so far, as its
    /// report will count it; empty once it ended.
    pub fn progress(&self) -> &Report {
        match self.target.checked_sub(1).and_then(|i| self.others.get(i)) {
            Some(t) => t.decoder.progress(),
            None => self.decoder.progress(),
        }
    }

    /// Ends the current stream: parses a final line without a newline and returns the report.
    /// The store stays open for the next stream.
    pub fn end(&mut self) -> Result<Report> {
        self.staged(|decoder, store, quarantine| decoder.end(store, quarantine))
    }

    /// Drops the stored rows and keeps everything else: the open stream (so that the next
    /// [`EventStore::write`] goes on where the last one stopped), the quarantine, the pipes and
    /// the budget. A reader that sends rows elsewhere as they come (`llm-metrics push`) holds a
    /// bounded number of them at a time this way.
    ///
    /// ```
    /// let mut store = llm_metrics::EventStore::new();
    /// store.begin("a.ndjson")?;
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n{\"event_")?;
    /// assert_eq!(store.row_count(), 1);
    /// store.clear_rows();
    /// assert_eq!(store.row_count(), 0);
    /// store.write(b"time\":\"2024-05-01 11:00:00\",\"model_name\":\"n\"}\n")?;
    /// let report = store.end()?;
    /// assert_eq!((report.lines, report.rows, store.row_count()), (2, 2, 1));
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn clear_rows(&mut self) {
        let mut fresh = Store::new(self.store.datasource().clone(), self.store.max_bytes());
        fresh.set_result_limits(self.store.result_limits());
        // The quarantine's rows stay, and so do the records held back by an open stream, with
        // their share of the budget.
        let _ = fresh.charge(self.quarantine.bytes() + self.decoder.held_bytes());
        self.store = fresh;
    }

    /// Rows stored.
    pub fn row_count(&self) -> u64 {
        self.store.rows()
    }

    /// The columnar store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The quarantined lines.
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// A page of the quarantine table `<datasource>_quarantine` in endpoint shape, oldest first.
    ///
    /// Columns follow Tinybird's quarantine tables: every schema column as the text found for it
    /// (empty when absent), `c__error_column` and `c__error` (all errors of the line), then
    /// `c__line` (line number within its stream), `c__source` (the stream's name),
    /// `insertion_date`, and `c__raw`: the line itself when it was not JSON at all (at most
    /// 64 KiB of it, with a note of how much more there was).
    ///
    /// ```
    /// let mut store = llm_metrics::EventStore::new();
    /// store.begin("a.ndjson")?;
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"n/a\"}\n{oops\n")?;
    /// store.end()?;
    /// let q = store.quarantine_page(0, 10);
    /// assert_eq!(q.rows(), 2);
    /// assert_eq!(q.get(0, "latency"), Some(&llm_metrics::Value::Str("n/a".into())));
    /// assert_eq!(q.get(1, "c__line"), Some(&llm_metrics::Value::UInt(2)));
    /// assert_eq!(q.get(1, "c__source"), Some(&llm_metrics::Value::Str("a.ndjson".into())));
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn quarantine_page(&self, offset: usize, limit: usize) -> Endpoint {
        let start = (self.clock)();
        let ds = self.store.datasource();
        let mut meta: Vec<Meta> = ds
            .columns
            .iter()
            .map(|c| Meta {
                name: c.name.clone(),
                ty: "String".to_string(),
            })
            .collect();
        for (name, ty) in [
            ("c__error_column", "Array(String)"),
            ("c__error", "Array(String)"),
            ("c__line", "UInt64"),
            ("c__source", "String"),
            ("insertion_date", "DateTime"),
            ("c__raw", "String"),
        ] {
            meta.push(Meta {
                name: name.to_string(),
                ty: ty.to_string(),
            });
        }
        let rows = self.quarantine.rows();
        let page = rows.iter().skip(offset).take(limit);
        let mut data = Vec::new();
        let mut bytes = 0u64;
        for r in page {
            let mut row: Vec<Value> = r.values.iter().map(|v| Value::Str(v.clone())).collect();
            row.resize(ds.columns.len(), Value::Str(String::new()));
            row.push(Value::Array(
                r.error_columns
                    .iter()
                    .map(|c| Value::Str(c.clone()))
                    .collect(),
            ));
            row.push(Value::Array(
                r.errors.iter().map(|e| Value::Str(e.clone())).collect(),
            ));
            row.push(Value::UInt(r.line));
            row.push(Value::Str(r.stream.clone()));
            row.push(Value::DateTime(r.inserted_at));
            row.push(Value::Str(r.raw.clone().unwrap_or_default()));
            bytes += r.values.iter().map(|v| v.len() as u64).sum::<u64>()
                + r.errors.iter().map(|e| e.len() as u64).sum::<u64>()
                + r.raw.as_ref().map_or(0, |x| x.len() as u64);
            data.push(row);
        }
        Endpoint {
            meta,
            statistics: Statistics {
                elapsed: ((self.clock)() - start).max(0.0) / 1000.0,
                rows_read: data.len() as u64,
                bytes_read: bytes,
            },
            data,
        }
    }

    /// Names of the loaded pipes.
    pub fn pipe_names(&self) -> Vec<String> {
        self.pipes.iter().map(|p| p.name.clone()).collect()
    }

    /// The SQL ClickHouse runs for the pipe `name` with `params`: templates rendered with each
    /// parameter written as a literal checked against its type, the nodes the endpoint reads
    /// prepended as `WITH name AS (…)` (see [`expand_pipe`]).
    ///
    /// ```
    /// let store = llm_metrics::EventStore::new();
    /// let mut params = llm_metrics::Params::new();
    /// params.insert("models".into(), "gpt-4o,claude".into());
    /// let sql = store.expand("llm_kpis", &params)?;
    /// assert!(sql.contains("model_name IN ['gpt-4o', 'claude']"), "{sql}");
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn expand(&self, name: &str, params: &Params) -> Result<String> {
        let pipe = self
            .pipes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::new(ErrorKind::UnknownPipe(name.to_string())))?;
        let columns: Vec<String> = self
            .store
            .datasource()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        query::expand_pipe(pipe, params, &columns)
    }

    /// Runs the pipe `name` with `params` and answers in endpoint shape.
    pub fn pipe(&self, name: &str, params: &Params) -> Result<Endpoint> {
        let pipe = self
            .pipes
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::new(ErrorKind::UnknownPipe(name.to_string())))?;
        if !matches!(pipe.kind, PipeKind::Endpoint | PipeKind::Standard) {
            let how = match pipe.kind {
                PipeKind::Materialized { .. } => {
                    "it runs on writes, when its DATASOURCE is a datasource of the store"
                }
                _ => "it is read, not run",
            };
            return Err(Error::unsupported(format!(
                "running the {} pipe '{name}' as an endpoint ({how})",
                pipe.kind.name()
            )));
        }
        let start = (self.clock)();
        let others: Vec<&Store> = self.others.iter().map(|t| &t.store).collect();
        let mut result = query::run_pipe_in(
            &self.store,
            &others,
            pipe,
            &self.pipes,
            params,
            (self.wall_clock)(),
        )?;
        result.statistics.elapsed = ((self.clock)() - start).max(0.0) / 1000.0;
        Ok(result)
    }

    /// Runs one SQL query (ClickHouse dialect, JOIN and UNION included; templated with `params`
    /// when it starts with `%`) and answers in endpoint shape. The datasource, its quarantine table
    /// (`<datasource>_quarantine`, as [`EventStore::quarantine_page`] shows it) and `WITH` tables
    /// can be read.
    ///
    /// ```
    /// let mut store = llm_metrics::EventStore::new();
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"total_tokens\":7}\n")?;
    /// store.end()?;
    /// let r = store.sql("SELECT model_name, sum(total_tokens) AS t FROM llm_events GROUP BY model_name", &Default::default())?;
    /// assert_eq!(r.get(0, "t"), Some(&llm_metrics::Value::UInt(7)));
    /// let j = store.sql("SELECT count() AS n FROM llm_events a JOIN llm_events b USING model_name", &Default::default())?;
    /// assert_eq!(j.get(0, "n"), Some(&llm_metrics::Value::UInt(1)));
    /// assert!(store.sql("SELECT * FROM llm_events a ASOF JOIN llm_events b ON a.cost = b.cost", &Default::default()).is_err());
    /// store.write(b"not json\n")?;
    /// store.end()?;
    /// let q = store.sql("SELECT count() AS n, any(c__raw) AS raw FROM llm_events_quarantine", &Default::default())?;
    /// assert_eq!(q.get(0, "n"), Some(&llm_metrics::Value::UInt(1)));
    /// assert_eq!(q.get(0, "raw"), Some(&llm_metrics::Value::Str("not json".into())));
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn sql(&self, query: &str, params: &Params) -> Result<Endpoint> {
        let start = (self.clock)();
        let quarantine = format!("{}_quarantine", self.store.datasource().name);
        let page = || self.quarantine_page(0, usize::MAX);
        let tables: [(&str, &dyn Fn() -> Endpoint); 1] = [(&quarantine, &page)];
        let others: Vec<&Store> = self.others.iter().map(|t| &t.store).collect();
        let mut result = query::run_sql_in(
            &self.store,
            &others,
            query,
            params,
            &tables,
            (self.wall_clock)(),
        )?;
        result.statistics.elapsed = ((self.clock)() - start).max(0.0) / 1000.0;
        Ok(result)
    }

    /// Runs the decoder and every shipped pipe on a small generated sample, `rounds` times over,
    /// each time in a new scratch store that `make` returns (set up like the stores that will
    /// hold real data, clocks included); returns the number of pipe runs made.
    ///
    /// A browser runs WebAssembly first through a baseline compiler and hands a function to its
    /// optimising compiler only after that function has run for a while. On a large store, the
    /// first few dozen queries can therefore run two to five times slower than later ones.
    /// Calling this once after the module loads, in a worker and before real data arrives,
    /// gets the hot paths optimised by then (ten rounds take 0.3 to 0.5 s in Chromium).
    ///
    /// ```
    /// let runs = llm_metrics::EventStore::warm_up(2, llm_metrics::EventStore::new)?;
    /// assert_eq!(runs, 2 * 2 * llm_metrics::SHIPPED_PIPES.len() as u64);
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn warm_up(rounds: u32, make: impl Fn() -> EventStore) -> Result<u64> {
        let sample = generate_ndjson(WARM_UP_ROWS, 1);
        let mut filtered = Params::new();
        filtered.insert(
            "models".into(),
            serde_json::json!(["gpt-4o", "claude-3-5-sonnet"]),
        );
        filtered.insert("start_date".into(), "2024-01-01 00:00:00".into());
        let mut runs = 0;
        for _ in 0..rounds {
            let mut scratch = make();
            for chunk in sample.chunks(64 << 10) {
                scratch.write(chunk)?;
            }
            scratch.end()?;
            for name in scratch.pipe_names() {
                for params in [&Params::new(), &filtered] {
                    scratch.pipe(&name, params)?;
                    runs += 1;
                }
            }
        }
        Ok(runs)
    }

    /// Adds (or replaces) a pipe from the text of a `.pipe` file and returns its name: the name
    /// of its endpoint node. Errors name the line of the text. A store keeps at most
    /// [`MAX_ADDED_PIPES`] added pipes.
    pub fn add_pipe(&mut self, text: &str) -> Result<String> {
        let pipe = parse_pipe(None, text)?;
        query::check_pipe(&pipe)?;
        let name = pipe.name.clone();
        if self.added_pipes.len() >= store::MAX_ADDED_PIPES
            && !self.added_pipes.iter().any(|(n, _)| *n == name)
        {
            return Err(Error::misuse(format!(
                "a store keeps at most {} added pipes",
                store::MAX_ADDED_PIPES
            )));
        }
        self.added_pipes.retain(|(n, _)| *n != name);
        self.added_pipes.push((name.clone(), text.to_string()));
        match self.pipes.iter_mut().find(|p| p.name == name) {
            Some(p) => *p = pipe,
            None => self.pipes.push(pipe),
        }
        Ok(name)
    }
}
