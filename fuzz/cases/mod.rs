//! What each fuzz target checks, as plain functions of the input bytes: the targets in
//! `fuzz_targets/` call them, and `tests/web_ingest.rs` replays the saved worst inputs
//! (`fuzz/worst/`) through them in wasm. Each panics when a check fails.
#![allow(dead_code)]

use llm_metrics::{
    parse_datasource, parse_pipe, Datasource, EventStore, Options, Params, Report, ResultLimits,
};
use std::cell::RefCell;
use std::collections::HashMap;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{count_lines, same_ingest};

/// Reads structured choices from fuzzer bytes; once they run out every choice is the smallest.
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// A reader of `data`.
    pub fn new(data: &'a [u8]) -> Bytes<'a> {
        Bytes { data }
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()))
    }

    /// A number in `lo..=hi`.
    pub fn int_in_range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        let raw = if span < 256 {
            u64::from(self.byte())
        } else if span < 65_536 {
            (u64::from(self.byte()) << 8) | u64::from(self.byte())
        } else {
            self.u64()
        };
        lo + raw % span.saturating_add(1).max(1)
    }

    /// A `usize` in `lo..=hi`.
    pub fn size(&mut self, lo: usize, hi: usize) -> usize {
        self.int_in_range(lo as u64, hi as u64) as usize
    }

    /// One of `items` (not empty).
    pub fn choose<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.size(0, items.len() - 1)]
    }

    /// True `num` times in `den`.
    pub fn ratio(&mut self, num: u8, den: u8) -> bool {
        self.byte() % den < num
    }

    /// A boolean.
    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// Up to `n` raw bytes.
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.data.split_at(n.min(self.data.len()));
        self.data = b;
        a
    }
}

// ---- decoder ----

/// Every column type, nested and shared path prefixes, a `DateTime64(3)` partition key.
const ALL_TYPES: &str = "SCHEMA >
    `ts` DateTime64(3) `json:$.ts`,
    `at` DateTime `json:$.meta.at`,
    `s` LowCardinality(String) `json:$.meta.s`,
    `t` String `json:$.t`,
    `i8` Int8 `json:$.n.i8`,
    `i16` Int16 `json:$.n.i16`,
    `i32` Int32 `json:$.n.i32`,
    `i64` Int64 `json:$.n.i64`,
    `u8` UInt8 `json:$.u8`,
    `u16` UInt16 `json:$.u16`,
    `u64` UInt64 `json:$.u64`,
    `f64` Float64 `json:$.f64`,
    `b` Bool `json:$.b`,
    `nu` Nullable(UInt32) `json:$.n.nu`,
    `ns` LowCardinality(Nullable(String)) `json:$.meta.ns`,
    `nf` Nullable(Float32) `json:$.nf`

ENGINE \"MergeTree\"
ENGINE_PARTITION_KEY \"toYYYYMM(ts)\"
ENGINE_SORTING_KEY \"ts\"
";

/// Longest quarantined raw text: 64 KiB of bytes, each possibly shown as U+FFFD, and a note.
const RAW_TEXT_BOUND: usize = 3 * (64 << 10) + 64;

type Ingested = (EventStore, Vec<Report>);

thread_local! {
    /// Empty stores by (every-type datasource, line limit): cloning one is much cheaper than
    /// building one, which parses the datasource and the shipped pipes.
    static EMPTY: RefCell<HashMap<(bool, usize), EventStore>> = RefCell::new(HashMap::new());
}

fn empty_store(all_types: bool, options: Options) -> EventStore {
    EMPTY.with(|cache| {
        cache
            .borrow_mut()
            .entry((all_types, options.max_line_bytes))
            .or_insert_with(|| {
                let ds = if all_types {
                    parse_datasource("all_types", ALL_TYPES).expect("ALL_TYPES parses")
                } else {
                    Datasource::llm_events()
                };
                EventStore::with_datasource(ds, options)
            })
            .clone()
    })
}

/// Ingests `streams`, each cut at its sorted positions.
fn decoder_ingest(all_types: bool, options: Options, streams: &[(&[u8], Vec<usize>)]) -> Ingested {
    let mut store = empty_store(all_types, options);
    let mut reports = Vec::new();
    for (index, (data, cuts)) in streams.iter().enumerate() {
        store.begin(&format!("s{index}")).expect("begin");
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
            store.write(&data[from..cut]).expect("write");
            from = cut;
        }
        reports.push(store.end().expect("end"));
    }
    (store, reports)
}

fn check_accounting(run: &Ingested, streams: &[(&[u8], Vec<usize>)]) {
    for (report, (data, _)) in run.1.iter().zip(streams) {
        // Every record is a row, quarantined or skipped; every line that is not blank holds one
        // record, or, in an OpenTelemetry export, one per span.
        assert_eq!(
            report.records,
            report.rows + report.quarantined + report.skipped,
            "{report:?}"
        );
        if report.formats.contains_key("otlp") {
            assert!(report.lines <= report.records + report.blank, "{report:?}");
        } else {
            assert_eq!(report.lines, report.records + report.blank, "{report:?}");
        }
        assert_eq!(report.lines, count_lines(data), "{report:?}");
        assert_eq!(report.bytes, data.len() as u64, "{report:?}");
        assert!(report.errors.len() as u64 <= report.quarantined.min(5));
    }
    let rows: u64 = run.1.iter().map(|r| r.rows).sum();
    let quarantined: u64 = run.1.iter().map(|r| r.quarantined).sum();
    assert_eq!(run.0.row_count(), rows);
    assert_eq!(run.0.quarantine().len() as u64, quarantined);
    for q in run.0.quarantine().rows() {
        assert!(q.raw.as_ref().map_or(0, String::len) <= RAW_TEXT_BOUND);
        assert!(!q.errors.is_empty());
    }
}

fn assert_same(a: &Ingested, b: &Ingested) {
    assert_eq!(a.1, b.1);
    assert!(
        same_ingest(a, b),
        "same reports, different rows or quarantine"
    );
}

/// `count` sorted cut positions in `0..=len` from `seed`.
fn decoder_cuts(seed: u32, count: usize, len: usize) -> Vec<usize> {
    let mut state = u64::from(seed) ^ (len as u64).rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
    let mut out: Vec<usize> = (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (len as u64 + 1)) as usize
        })
        .collect();
    out.sort_unstable();
    out
}

/// Arbitrary bytes through the streaming decoder, cut into chunks where the input says: nothing
/// may panic, every line must be accounted for, and chunking must never change the result.
///
/// The input is a 4-byte header followed by the stream:
///
/// * `header[0]` bit 0: a small line limit, `1 + 8 * header[1]` bytes, instead of 8 MiB;
///   bit 1: a datasource with every column type and nested paths instead of `llm_events`;
///   bit 2: two streams, split where `header[2..4]` says;
///   bit 3: also feed inputs of up to 4 KiB one byte at a time;
///   bits 4-7: the number of cuts, minus one.
/// * `header[2..4]`: the seed of the cut positions.
pub fn decoder(input: &[u8]) {
    let Some((header, data)) = input.split_first_chunk::<4>() else {
        return;
    };
    let flags = header[0];
    let seed = u32::from(u16::from_le_bytes([header[2], header[3]]));
    let max_line_bytes = if flags & 1 != 0 {
        1 + 8 * usize::from(header[1])
    } else {
        llm_metrics::DEFAULT_MAX_LINE_BYTES
    };
    let options = Options {
        max_bytes: u64::MAX,
        max_line_bytes,
        ..Default::default()
    };
    let all_types = flags & 2 != 0;
    let parts: Vec<&[u8]> = if flags & 4 != 0 {
        let at = seed as usize % (data.len() + 1);
        vec![&data[..at], &data[at..]]
    } else {
        vec![data]
    };
    let whole: Vec<(&[u8], Vec<usize>)> = parts.iter().map(|p| (*p, Vec::new())).collect();
    let reference = decoder_ingest(all_types, options, &whole);
    check_accounting(&reference, &whole);

    let count = usize::from(flags >> 4) + 1;
    let cut: Vec<(&[u8], Vec<usize>)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                *p,
                decoder_cuts(seed.wrapping_add(i as u32), count, p.len()),
            )
        })
        .collect();
    let chunked = decoder_ingest(all_types, options, &cut);
    check_accounting(&chunked, &cut);
    assert_same(&reference, &chunked);

    if flags & 8 != 0 && data.len() <= 4096 {
        let bytes: Vec<(&[u8], Vec<usize>)> =
            parts.iter().map(|p| (*p, (1..p.len()).collect())).collect();
        let one_by_one = decoder_ingest(all_types, options, &bytes);
        assert_same(&reference, &one_by_one);
    }
}

// ---- schema_decoder ----

const TYPES: &[&str] = &[
    "DateTime",
    "DateTime('UTC')",
    "DateTime64(3)",
    "DateTime64(3, 'UTC')",
    "String",
    "LowCardinality(String)",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Float32",
    "Float64",
    "Bool",
    "Boolean",
    "Nullable(UInt32)",
    "Nullable(Int64)",
    "Nullable(Float64)",
    "Nullable(String)",
    "LowCardinality(Nullable(String))",
    "Nullable(DateTime)",
    "Nullable(Bool)",
];

const KEYS: &[&str] = &[
    "a",
    "A",
    "b",
    "ab",
    "response",
    "usage",
    "prompt_tokens",
    "p",
    "x y",
    "é",
    "k\\\"q",
    "",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "255",
    "256",
    "-129",
    "65536",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "1.5",
    "-0",
    "1e3",
    "1E-400",
    "1e400",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
    "\"\"",
    "\"x\"",
    "\"1\"",
    "\"true\"",
    "\"2024-05-01 10:00:00\"",
    "\"2024-05-01T10:00:00.123Z\"",
    "\"2024-05-01 10:00:00.5+02:00\"",
    "\"1714557600\"",
    "1714557600",
    "1714557600123",
    "\"2106-02-07 06:28:16\"",
    "\"1969-12-31 23:59:59\"",
    "\"2299-12-31 23:59:59.999\"",
    "\"\\u00e9\\ud83d\\ude00\\n\\\"\"",
    "\"\\ud800\"",
    "{}",
    "[]",
    "{\"p\":1}",
    "[1,{\"a\":[]}]",
    "[[[[[[[[[[1]]]]]]]]]]",
];

struct Case {
    datasource: String,
    paths: Vec<Vec<&'static str>>,
    options: Options,
    streams: Vec<Vec<u8>>,
    cuts: usize,
    seed: u64,
}

fn schema_text(u: &mut Bytes) -> (String, Vec<Vec<&'static str>>) {
    let n = u.size(1, 16);
    let mut text = String::from("SCHEMA >\n");
    let mut paths = Vec::new();
    let mut names = Vec::new();
    for i in 0..n {
        let ty = u.choose(TYPES);
        let depth = u.size(1, 8);
        let mut path = Vec::new();
        for _ in 0..depth {
            path.push(*u.choose(KEYS));
        }
        let written: String = path
            .iter()
            .map(|k| {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.is_empty() {
                    format!(".{k}")
                } else {
                    format!("['{k}']")
                }
            })
            .collect();
        let sep = if i + 1 < n { "," } else { "" };
        text.push_str(&format!("    `c{i}` {ty} `json:${written}`{sep}\n"));
        names.push((format!("c{i}"), *ty));
        paths.push(path);
    }
    let times: Vec<&String> = names
        .iter()
        .filter(|(_, t)| t.starts_with("DateTime"))
        .map(|(n, _)| n)
        .collect();
    if u.bool() {
        text.push_str("\nENGINE \"MergeTree\"\n");
        if !times.is_empty() && u.bool() {
            let f = u.choose(&["toYYYYMM", "toYear", "toYYYYMMDD", "toDate"]);
            let c = u.choose(&times);
            text.push_str(&format!("ENGINE_PARTITION_KEY \"{f}({c})\"\n"));
        }
        if u.bool() {
            let k = u.size(1, names.len().min(3));
            let mut key = Vec::new();
            for _ in 0..k {
                key.push(u.choose(&names).0.clone());
            }
            text.push_str(&format!("ENGINE_SORTING_KEY \"{}\"\n", key.join(", ")));
        }
    }
    (text, paths)
}

/// One object along `paths`, values and keys outside the schema chosen by `u`.
fn object(u: &mut Bytes, paths: &[&[&'static str]], depth: usize, out: &mut String) {
    out.push('{');
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    // Keys at this level, in schema order, each once (or twice, for duplicates).
    let mut keys: Vec<&'static str> = Vec::new();
    for p in paths {
        if let Some(k) = p.first() {
            if !keys.contains(k) {
                keys.push(k);
            }
        }
    }
    for k in keys {
        if u.ratio(1, 8) {
            continue;
        }
        let below: Vec<&[&'static str]> = paths
            .iter()
            .filter(|p| p.first() == Some(&k))
            .map(|p| &p[1..])
            .filter(|p| !p.is_empty())
            .collect();
        sep(out);
        out.push_str(&serde_key(k));
        out.push(':');
        if !below.is_empty() && depth < 10 && !u.ratio(1, 10) {
            object(u, &below, depth + 1, out);
        } else {
            out.push_str(u.choose::<&str>(VALUES));
        }
        if u.ratio(1, 40) {
            sep(out);
            out.push_str(&serde_key(k));
            out.push(':');
            out.push_str(u.choose::<&str>(VALUES));
        }
    }
    for _ in 0..u.int_in_range(0, 2) {
        sep(out);
        out.push_str(&serde_key(
            u.choose::<&str>(&["zz", "extra", "P", "usage_", "a"]),
        ));
        out.push(':');
        out.push_str(u.choose::<&str>(VALUES));
    }
    out.push('}');
}

fn serde_key(k: &str) -> String {
    let mut s = String::from("\"");
    for c in k.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn case(u: &mut Bytes) -> Case {
    let (datasource, paths) = schema_text(u);
    let max_bytes = match u.int_in_range(0, 3) {
        0 => u64::MAX,
        1 => u.int_in_range(0, 1u64 << 16),
        2 => u.int_in_range(1u64 << 16, 1 << 20),
        _ => u.int_in_range(1u64 << 20, 4 << 20),
    };
    let max_line_bytes = if u.ratio(1, 4) {
        u.size(1, 512)
    } else {
        1 << 20
    };
    let refs: Vec<&[&'static str]> = paths.iter().map(|p| p.as_slice()).collect();
    let mut streams = Vec::new();
    for _ in 0..u.int_in_range(1, 2) {
        let mut data = Vec::new();
        for _ in 0..u.int_in_range(0, 40) {
            if u.ratio(1, 6) {
                let len = u.size(0, 64);
                data.extend_from_slice(u.bytes(len));
            } else {
                let mut line = String::new();
                object(u, &refs, 0, &mut line);
                data.extend_from_slice(line.as_bytes());
            }
            data.extend_from_slice(u.choose::<&[u8]>(&[b"\n", b"\r\n", b"\r"]));
        }
        if u.bool() {
            // The last line without its end.
            while matches!(data.last(), Some(b'\n' | b'\r')) {
                data.pop();
            }
        }
        streams.push(data);
    }
    Case {
        datasource,
        paths,
        options: Options {
            max_bytes,
            max_line_bytes,
            ..Default::default()
        },
        streams,
        cuts: u.size(1, 16),
        seed: u.int_in_range(0, u64::MAX),
    }
}

/// What an ingest ended with: the store, each stream's report (or store-full error text).
type Run = (EventStore, Vec<Report>, Vec<String>);

fn schema_ingest(store: &EventStore, streams: &[Vec<u8>], cuts: Option<(usize, u64)>) -> Run {
    let mut store = store.clone();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for (i, data) in streams.iter().enumerate() {
        if let Err(e) = store.begin(&format!("s{i}")) {
            errors.push(e.to_string());
        }
        let mut positions: Vec<usize> = match cuts {
            None => Vec::new(),
            Some((n, seed)) => {
                let mut state = seed | 1;
                (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state % (data.len() as u64 + 1)) as usize
                    })
                    .collect()
            }
        };
        positions.sort_unstable();
        let mut from = 0;
        for cut in positions.into_iter().chain(std::iter::once(data.len())) {
            if let Err(e) = store.write(&data[from..cut]) {
                errors.push(e.to_string());
                break;
            }
            from = cut;
        }
        match store.end() {
            Ok(r) => reports.push(r),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (store, reports, errors)
}

fn check(run: &Run, streams: &[Vec<u8>], max_bytes: u64) {
    let (store, reports, errors) = run;
    for (report, data) in reports.iter().zip(streams) {
        assert_eq!(
            report.lines,
            report.rows + report.quarantined + report.blank,
            "{report:?}"
        );
        if errors.is_empty() {
            assert_eq!(report.lines, count_lines(data), "{report:?}");
            assert_eq!(report.bytes, data.len() as u64, "{report:?}");
        }
        assert!(report.not_kept <= report.quarantined);
    }
    assert!(
        store.store().bytes() <= max_bytes,
        "{} bytes over a budget of {max_bytes}: {}",
        store.store().bytes(),
        store.store().datasource().columns.len()
    );
    assert!(store.quarantine().bytes() <= max_bytes / 4);
    if errors.is_empty() {
        let rows: u64 = reports.iter().map(|r| r.rows).sum();
        let quarantined: u64 = reports.iter().map(|r| r.quarantined).sum();
        assert_eq!(store.row_count(), rows);
        assert_eq!(store.quarantine().len() as u64, quarantined);
    }
    // The store answers queries whatever happened.
    let _ = store.sql("SELECT count() FROM llm_events", &Default::default());
}

/// The streaming decoder under random schemas: the input first builds a datasource (1 to 16
/// columns of any type the parser accepts, nested `json:$.a.b` paths that may share prefixes, be
/// prefixes of each other, repeat or differ only in case, an optional partition and sorting key),
/// then a budget (from tiny to unbounded), then lines: objects written along the schema's paths
/// with values of every JSON kind and keys outside the schema at every level, or raw bytes.
///
/// Nothing may panic; every line is accounted for; the store never passes its budget and the
/// quarantine never passes its share; chunking never changes the result.
pub fn schema_decoder(input: &[u8]) {
    let mut u = Bytes::new(input);
    let case = case(&mut u);
    let ds = match parse_datasource("llm_events", &case.datasource) {
        Ok(ds) => ds,
        Err(_) => return,
    };
    assert_eq!(ds.columns.len(), case.paths.len());
    let empty = EventStore::with_datasource(ds, case.options);
    let whole = schema_ingest(&empty, &case.streams, None);
    check(&whole, &case.streams, case.options.max_bytes);
    let chunked = schema_ingest(&empty, &case.streams, Some((case.cuts, case.seed)));
    check(&chunked, &case.streams, case.options.max_bytes);
    assert_eq!(whole.1, chunked.1);
    assert_eq!(whole.2, chunked.2);
    assert!(same_ingest(
        &(whole.0, whole.1.clone()),
        &(chunked.0, chunked.1.clone())
    ));
}

// ---- datasource ----

/// `.datasource` text through the parser: nothing may panic, and a datasource that parses makes a
/// store that ingests lines written along its paths (with a small budget) and answers a query.
///
/// The first input byte picks a prefix that gets past the parser's first checks (none, a
/// `SCHEMA >` header, or a whole schema line), so the fuzzer spends its time deeper.
pub fn datasource(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let body = String::from_utf8_lossy(rest);
    let text = match mode % 3 {
        0 => body.into_owned(),
        1 => format!("SCHEMA >\n    {body}"),
        _ => format!("SCHEMA >\n    `ts` DateTime `json:$.ts`,\n{body}"),
    };
    let Ok(ds) = parse_datasource("llm_events", &text) else {
        return;
    };
    assert!(!ds.columns.is_empty());
    assert!(ds.columns.iter().all(|c| !c.path.is_empty()));
    if let Some(t) = ds.time_column {
        assert!(ds.columns[t].ty.is_time());
    }
    assert!(ds.sorting_key.iter().all(|&k| k < ds.columns.len()));
    // A line setting every path, nested as the paths say (later paths overwrite earlier ones).
    let mut line = String::new();
    for c in &ds.columns {
        let mut obj = String::from("\"2024-05-01 10:00:00\"");
        for k in c.path.iter().rev() {
            let key = serde_key(k);
            obj = format!("{{{key}:{obj}}}");
        }
        line.push_str(&obj);
        line.push('\n');
    }
    let mut store = EventStore::with_datasource(
        ds,
        Options {
            max_bytes: 1 << 20,
            max_line_bytes: 1 << 16,
            ..Default::default()
        },
    );
    let _ = store.write(line.as_bytes());
    let _ = store.write(b"{}\nnot json\n");
    let _ = store.end();
    assert!(store.store().bytes() <= 1 << 20);
    let _ = store.sql("SELECT count() FROM llm_events", &Default::default());
}

// ---- sql ----

/// The store SQL runs on: the shipped columns, nested paths and `Nullable` columns of every kind,
/// so queries hit NULL, edge values and (with `llm_events` names) the shipped pipes.
const SQL_DATASOURCE: &str = "SCHEMA >
    `event_time` DateTime `json:$.event_time`,
    `model_name` LowCardinality(String) `json:$.model_name`,
    `prompt_tokens` UInt32 `json:$.prompt_tokens`,
    `completion_tokens` UInt32 `json:$.completion_tokens`,
    `total_tokens` UInt32 `json:$.total_tokens`,
    `cost` Float32 `json:$.cost`,
    `latency` Float32 `json:$.latency`,
    `success` UInt8 `json:$.success`,
    `error_message` String `json:$.error_message`,
    `provider` LowCardinality(String) `json:$.provider`,
    `cache_read_tokens` UInt32 `json:$.cache_read_tokens`,
    `cache_write_tokens` UInt32 `json:$.cache_write_tokens`,
    `reasoning_tokens` UInt32 `json:$.reasoning_tokens`,
    `source_format` LowCardinality(String) `json:$.source_format`,
    `request_id` String `json:$.request_id`,
    `user_id` String `json:$.user_id`,
    `cost_source` LowCardinality(String) `json:$.cost_source`,
    `time_source` LowCardinality(String) `json:$.time_source`,
    `user` Nullable(String) `json:$.meta.user`,
    `cached` Nullable(UInt32) `json:$.usage.cached`,
    `score` Nullable(Float64) `json:$.score`,
    `at` Nullable(DateTime) `json:$.meta.at`,
    `delta` Int64 `json:$.delta`,
    `ok` Nullable(Bool) `json:$.ok`
";

/// A few rows with edge values and NULLs, and two lines for the quarantine table.
const SQL_ROWS: &str = r#"{"event_time":"2024-05-01 10:00:00","model_name":"gpt-4o","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.5,"latency":1.25,"success":1,"error_message":"","provider":"openai","cache_read_tokens":3,"cache_write_tokens":0,"reasoning_tokens":2,"source_format":"openai","request_id":"req_1","user_id":"ann","cost_source":"log","time_source":"record","meta":{"user":"ann","at":"2024-05-01 10:00:01"},"usage":{"cached":3},"score":0.5,"delta":-7,"ok":true}
{"event_time":"2024-05-01 10:59:59","model_name":"gpt-4o","prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"cost":0,"latency":0,"success":0,"error_message":"rate limit","meta":{"user":null},"usage":{"cached":null},"score":null,"delta":9223372036854775807,"ok":null}
{"event_time":"1970-01-01 00:00:00","model_name":"","prompt_tokens":4294967295,"completion_tokens":4294967295,"total_tokens":4294967295,"cost":-1e30,"latency":3.4e38,"success":255,"error_message":"é😀\\_%","provider":"","cache_read_tokens":4294967295,"cache_write_tokens":4294967295,"reasoning_tokens":4294967295,"source_format":"","request_id":"é😀\\_%","user_id":"","cost_source":"","time_source":"","meta":{"user":"","at":"1970-01-01 00:00:00"},"usage":{"cached":0},"score":-0.0,"delta":-9223372036854775808,"ok":false}
{"event_time":"2106-02-07 06:28:15","model_name":"claude-3-5-sonnet","prompt_tokens":7,"completion_tokens":1,"total_tokens":8,"cost":1e-7,"latency":0.001,"success":1,"error_message":"a'b","provider":"anthropic","cache_read_tokens":0,"cache_write_tokens":7,"reasoning_tokens":0,"source_format":"claude_code","request_id":"a'b","user_id":"bob","cost_source":"unpriced","time_source":"stream","meta":{"user":"é😀","at":"2106-02-07 06:28:15"},"usage":{"cached":4294967295},"score":1e308,"delta":0,"ok":true}
{"event_time":"2024-12-31 23:59:59","model_name":"claude-3-5-sonnet","prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"cost":123456792,"latency":2,"success":1,"error_message":"","meta":{},"usage":{},"delta":1}
{"event_time":"2024-02-29 12:00:00","model_name":"llama","prompt_tokens":255,"completion_tokens":256,"total_tokens":511,"cost":0.1,"latency":0.2,"success":1,"error_message":"x","meta":{"user":"bob","at":null},"score":-1e-300,"delta":-1,"ok":false}
not json
{}
"#;

/// What one query may return in the SQL and pipe targets: small, so limits are hit often.
const SQL_LIMITS: ResultLimits = ResultLimits {
    max_rows: 64,
    max_bytes: 16 << 10,
};

thread_local! {
    /// The loaded SQL store, built once per thread.
    static SQL_STORE: EventStore = sql_store();
}

fn sql_store() -> EventStore {
    let ds = parse_datasource("llm_events", SQL_DATASOURCE).expect("SQL_DATASOURCE parses");
    let mut store = EventStore::with_datasource(
        ds,
        Options {
            max_bytes: 1 << 20,
            max_line_bytes: 1 << 12,
            result_limits: SQL_LIMITS,
        },
    );
    store.set_wall_clock(|| 1_714_557_600);
    store.write(SQL_ROWS.as_bytes()).expect("write");
    let report = store.end().expect("end");
    assert_eq!((report.rows, report.quarantined), (6, 2), "{report:?}");
    store
}

const SQL_COLUMNS: &[&str] = &[
    "event_time",
    "model_name",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost",
    "latency",
    "success",
    "error_message",
    "provider",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "source_format",
    "request_id",
    "user_id",
    "cost_source",
    "time_source",
    "user",
    "cached",
    "score",
    "at",
    "delta",
    "ok",
];

/// Constants at the edges of each type, NULL, and string escapes.
const SQL_CONSTANTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "-2",
    "3",
    "7",
    "255",
    "256",
    "65535",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "0.1",
    "-0.0",
    "1e-7",
    "1e30",
    "1e308",
    "-1e308",
    "123456792",
    "nan",
    "inf",
    "-inf",
    "0x10",
    "NULL",
    "null",
    "true",
    "false",
    "''",
    "'a'",
    "'gpt-4o'",
    "'gpt\\_4o%'",
    "'%\\%%'",
    "'a\\_b'",
    "'\\\\'",
    "'\\''",
    "''''",
    "'\\n\\t\\0'",
    "'\\x41\\xff'",
    "'é😀'",
    "'_%'",
    "'2024-05-01 10:00:00'",
    "'1970-01-01 00:00:00'",
    "'2106-02-07 06:28:15'",
    "'2024-02-29'",
    "'1'",
    "'nan'",
    "toDateTime('2024-05-01 10:00:00')",
    "toDate('2024-05-01')",
    "toDateTime(-1)",
    "toDate(99999999999)",
    "now()",
    "today()",
    "yesterday()",
];

/// Scalar functions of `src/query/funcs.rs` with the argument counts they take (and a few more).
const SQL_FUNCS: &[(&str, usize, usize)] = &[
    ("plus", 2, 2),
    ("minus", 2, 2),
    ("multiply", 2, 2),
    ("divide", 2, 2),
    ("intDiv", 2, 2),
    ("modulo", 2, 2),
    ("negate", 1, 1),
    ("abs", 1, 1),
    ("equals", 2, 2),
    ("notEquals", 2, 2),
    ("less", 2, 2),
    ("greater", 2, 2),
    ("lessOrEquals", 2, 2),
    ("greaterOrEquals", 2, 2),
    ("and", 2, 3),
    ("or", 2, 3),
    ("not", 1, 1),
    ("if", 3, 3),
    ("multiIf", 3, 5),
    ("coalesce", 1, 3),
    ("ifNull", 2, 2),
    ("nullIf", 2, 2),
    ("isNull", 1, 1),
    ("isNotNull", 1, 1),
    ("assumeNotNull", 1, 1),
    ("toNullable", 1, 1),
    ("greatest", 2, 3),
    ("least", 2, 3),
    ("like", 2, 2),
    ("notLike", 2, 2),
    ("ilike", 2, 2),
    ("notILike", 2, 2),
    ("lower", 1, 1),
    ("upper", 1, 1),
    ("lowerUTF8", 1, 1),
    ("upperUTF8", 1, 1),
    ("length", 1, 1),
    ("empty", 1, 1),
    ("notEmpty", 1, 1),
    ("concat", 0, 3),
    ("round", 1, 2),
    ("floor", 1, 2),
    ("ceil", 1, 2),
    ("ceiling", 1, 1),
    ("toString", 1, 1),
    ("toInt8", 1, 1),
    ("toInt16", 1, 1),
    ("toInt32", 1, 1),
    ("toInt64", 1, 1),
    ("toUInt8", 1, 1),
    ("toUInt16", 1, 1),
    ("toUInt32", 1, 1),
    ("toUInt64", 1, 1),
    ("toFloat32", 1, 1),
    ("toFloat64", 1, 1),
    ("toDate", 1, 1),
    ("toDate32", 1, 1),
    ("toDateTime", 1, 2),
    ("toUnixTimestamp", 1, 1),
    ("toYear", 1, 1),
    ("toMonth", 1, 1),
    ("toDayOfMonth", 1, 1),
    ("toDayOfWeek", 1, 2),
    ("toHour", 1, 1),
    ("toMinute", 1, 1),
    ("toSecond", 1, 1),
    ("toYYYYMM", 1, 1),
    ("toYYYYMMDD", 1, 1),
    ("toMonday", 1, 1),
    ("toStartOfDay", 1, 1),
    ("toStartOfHour", 1, 1),
    ("toStartOfMinute", 1, 1),
    ("toStartOfFiveMinutes", 1, 1),
    ("toStartOfFiveMinute", 1, 1),
    ("toStartOfTenMinutes", 1, 1),
    ("toStartOfFifteenMinutes", 1, 1),
    ("toStartOfWeek", 1, 2),
    ("toStartOfMonth", 1, 1),
    ("toStartOfQuarter", 1, 1),
    ("toStartOfYear", 1, 1),
    ("toStartOfInterval", 2, 2),
    ("dateDiff", 3, 3),
    ("date_diff", 3, 3),
    ("DATE_DIFF", 3, 3),
    ("age", 3, 3),
    ("now", 0, 0),
    ("today", 0, 0),
    ("yesterday", 0, 0),
    ("arrayJoin", 1, 1),
];

/// Aggregates, with the parameters some of them take.
const SQL_AGGS: &[(&str, &str, usize, usize)] = &[
    ("count", "", 0, 2),
    ("sum", "", 1, 1),
    ("avg", "", 1, 1),
    ("min", "", 1, 1),
    ("max", "", 1, 1),
    ("any", "", 1, 1),
    ("anyLast", "", 1, 1),
    ("anyHeavy", "", 1, 1),
    ("argMin", "", 2, 2),
    ("argMax", "", 2, 2),
    ("uniq", "", 1, 2),
    ("uniqExact", "", 1, 2),
    ("uniqCombined", "", 1, 1),
    ("uniqHLL12", "", 1, 1),
    ("uniqTheta", "", 1, 1),
    ("countDistinct", "", 1, 2),
    ("median", "", 1, 1),
    ("medianExact", "", 1, 1),
    ("quantile", "(0.5)", 1, 1),
    ("quantile", "(0)", 1, 1),
    ("quantileExact", "(0.99)", 1, 1),
    ("quantileExactInclusive", "(1)", 1, 1),
    ("quantileTDigest", "(0.9)", 1, 1),
    ("quantileTiming", "(0.5)", 1, 1),
    ("quantileDeterministic", "(0.5)", 2, 2),
    ("quantileBFloat16", "(0.5)", 1, 1),
    ("quantiles", "(0.1, 0.5, 0.9)", 1, 1),
    ("quantilesExact", "(0.5, 1)", 1, 1),
    ("quantilesExactInclusive", "(0, 0.5)", 1, 1),
    ("stddevPop", "", 1, 1),
    ("stddevSamp", "", 1, 1),
    ("varPop", "", 1, 1),
    ("varSamp", "", 1, 1),
    ("covarPop", "", 2, 2),
    ("covarSamp", "", 2, 2),
    ("corr", "", 2, 2),
    ("simpleLinearRegression", "", 2, 2),
    ("groupArray", "", 1, 1),
    ("groupArray", "(2)", 1, 1),
    ("groupUniqArray", "", 1, 1),
    ("groupBitAnd", "", 1, 1),
    ("groupBitOr", "", 1, 1),
    ("groupBitXor", "", 1, 1),
    ("topK", "(2)", 1, 1),
    ("histogram", "(3)", 1, 1),
    ("sumMap", "", 2, 2),
    ("minMap", "", 2, 2),
    ("maxMap", "", 2, 2),
    ("retention", "", 1, 3),
    ("windowFunnel", "(3600)", 2, 4),
    ("sequenceMatch", "('(?1)(?2)')", 3, 3),
    ("countIf", "", 1, 1),
    ("sumIf", "", 2, 2),
    ("avgIf", "", 2, 2),
    ("argMaxIf", "", 3, 3),
    ("argMinIf", "", 3, 3),
    ("uniqIf", "", 2, 2),
    ("maxOrNull", "", 1, 1),
    ("sumDistinct", "", 1, 1),
];

const SQL_BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "=", "==", "!=", "<>", "<", ">", "<=", ">=", "AND", "OR", "||",
    "LIKE", "NOT LIKE", "ILIKE", "DIV", "MOD",
];

const SQL_UNITS: &[&str] = &[
    "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
];

/// Builds one query from fuzzer bytes: a grammar of the supported subset with bounded depth.
struct SqlGen<'a, 'b> {
    u: &'b mut Bytes<'a>,
    /// Names a `WITH` or an `AS` made visible.
    aliases: Vec<String>,
    /// Table names of `WITH name AS (…)`.
    tables: Vec<String>,
    next: usize,
}

impl SqlGen<'_, '_> {
    fn name(&mut self) -> String {
        self.next += 1;
        format!("a{}", self.next)
    }

    fn leaf(&mut self) -> String {
        match self.u.int_in_range(0, 9) {
            0..=3 => (*self.u.choose(SQL_COLUMNS)).to_string(),
            4..=7 => (*self.u.choose(SQL_CONSTANTS)).to_string(),
            8 if !self.aliases.is_empty() => {
                let i = self.u.size(0, self.aliases.len() - 1);
                self.aliases[i].clone()
            }
            _ => format!("llm_events.{}", self.u.choose(SQL_COLUMNS)),
        }
    }

    fn args(&mut self, lo: usize, hi: usize, depth: usize) -> String {
        let n = self.u.size(lo, hi);
        (0..n)
            .map(|_| self.expr(depth))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn expr(&mut self, depth: usize) -> String {
        if depth == 0 {
            return self.leaf();
        }
        let d = depth - 1;
        match self.u.int_in_range(0, 19) {
            0..=2 => self.leaf(),
            3..=5 => {
                let op = *self.u.choose(SQL_BINARY);
                format!("{} {op} {}", self.expr(d), self.expr(d))
            }
            6 => format!("({})", self.expr(d)),
            7..=9 => {
                let &(f, lo, hi) = self.u.choose(SQL_FUNCS);
                if f == "toStartOfInterval" && self.u.bool() {
                    let n = self.u.choose(&["0", "1", "3", "11", "33", "-1"]);
                    let unit = self.u.choose(SQL_UNITS);
                    return format!("toStartOfInterval({}, INTERVAL {n} {unit})", self.expr(d));
                }
                if f.starts_with("date") || f.starts_with("DATE") || f == "age" {
                    let unit = self
                        .u
                        .choose(&["'second'", "'hour'", "'day'", "'month'", "'year'"]);
                    return format!("{f}({unit}, {}, {})", self.expr(d), self.expr(d));
                }
                format!("{f}({})", self.args(lo, hi, d))
            }
            10 | 11 => {
                let &(f, params, lo, hi) = self.u.choose(SQL_AGGS);
                let distinct = if self.u.ratio(1, 8) { "DISTINCT " } else { "" };
                format!("{f}{params}({distinct}{})", self.args(lo, hi, d))
            }
            12 => {
                let not = if self.u.bool() { "NOT " } else { "" };
                format!("{} IS {not}NULL", self.expr(d))
            }
            13 => {
                let not = if self.u.bool() { "NOT " } else { "" };
                if self.u.bool() {
                    format!("{} {not}IN ({})", self.expr(d), self.args(0, 4, d))
                } else {
                    let sub = self.query(d.min(2));
                    format!("{} {not}IN ({sub})", self.expr(d))
                }
            }
            14 => {
                let mut s = String::from("CASE");
                if self.u.bool() {
                    s = format!("CASE {}", self.expr(d));
                }
                for _ in 0..self.u.size(1, 3) {
                    s = format!("{s} WHEN {} THEN {}", self.expr(d), self.expr(d));
                }
                if self.u.bool() {
                    s = format!("{s} ELSE {}", self.expr(d));
                }
                format!("{s} END")
            }
            15 => format!("({})", self.query(d.min(2))),
            16 => {
                let unit = self.u.choose(SQL_UNITS);
                let sign = self.u.choose(&["+", "-"]);
                format!(
                    "{} {sign} INTERVAL {} {unit}",
                    self.expr(d),
                    self.u.choose(&["1", "90", "-3", "0"])
                )
            }
            17 => format!(
                "{} {}BETWEEN {} AND {}",
                self.expr(d),
                if self.u.bool() { "NOT " } else { "" },
                self.expr(d),
                self.expr(d)
            ),
            18 => {
                let op = self.u.choose(&["-", "NOT ", "+"]);
                format!("{op}{}", self.expr(d))
            }
            _ => {
                let ty = self.u.choose(&[
                    "String",
                    "UInt8",
                    "Int64",
                    "Float64",
                    "DateTime",
                    "Nullable(UInt32)",
                ]);
                if self.u.bool() {
                    format!("CAST({} AS {ty})", self.expr(d))
                } else {
                    format!("{}::{ty}", self.expr(d))
                }
            }
        }
    }

    fn item(&mut self, depth: usize) -> String {
        if self.u.ratio(1, 10) {
            return "*".into();
        }
        let e = self.expr(depth);
        if self.u.bool() {
            let name = self.name();
            self.aliases.push(name.clone());
            format!("{e} AS {name}")
        } else {
            e
        }
    }

    fn list(&mut self, lo: usize, hi: usize, depth: usize) -> String {
        let n = self.u.size(lo, hi);
        (0..n)
            .map(|_| self.expr(depth))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn query(&mut self, depth: usize) -> String {
        let mut q = String::new();
        if self.u.ratio(1, 4) {
            let mut parts = Vec::new();
            for _ in 0..self.u.size(1, 3) {
                if self.u.bool() && depth > 0 {
                    let name = format!("t{}", self.tables.len());
                    let sub = self.query(depth - 1);
                    parts.push(format!("{name} AS ({sub})"));
                    self.tables.push(name);
                } else {
                    let e = self.expr(depth.min(2));
                    let name = self.name();
                    parts.push(format!("{e} AS {name}"));
                    self.aliases.push(name);
                }
            }
            q = format!("WITH {} ", parts.join(", "));
        }
        q.push_str("SELECT ");
        if self.u.ratio(1, 6) {
            q.push_str("DISTINCT ");
        }
        let items: Vec<String> = (0..self.u.size(1, 4)).map(|_| self.item(depth)).collect();
        q.push_str(&items.join(", "));
        match self.u.int_in_range(0, 9) {
            0 => {}
            1 if depth > 0 => {
                let sub = self.query(depth - 1);
                q.push_str(&format!(" FROM ({sub})"));
            }
            2 => q.push_str(" FROM llm_events_quarantine"),
            3 if !self.tables.is_empty() => {
                let i = self.u.size(0, self.tables.len() - 1);
                q.push_str(&format!(" FROM {}", self.tables[i]));
            }
            _ => q.push_str(" FROM llm_events"),
        }
        if self.u.ratio(1, 2) {
            q.push_str(&format!(" WHERE {}", self.expr(depth)));
        }
        if self.u.ratio(1, 2) {
            q.push_str(&format!(" GROUP BY {}", self.list(1, 3, depth.min(2))));
            if self.u.ratio(1, 3) {
                q.push_str(&format!(" HAVING {}", self.expr(depth)));
            }
        }
        if self.u.ratio(1, 2) {
            let n = self.u.size(1, 3);
            let keys: Vec<String> = (0..n)
                .map(|_| {
                    let e = self.expr(depth.min(2));
                    let dir = self.u.choose(&["", " ASC", " DESC", " DESC NULLS FIRST"]);
                    format!("{e}{dir}")
                })
                .collect();
            q.push_str(&format!(" ORDER BY {}", keys.join(", ")));
        }
        if self.u.ratio(1, 4) {
            let n = self.u.choose(&["0", "1", "2"]);
            q.push_str(&format!(" LIMIT {n} BY {}", self.list(1, 2, 1)));
        }
        if self.u.ratio(1, 3) {
            let n = self.u.choose(&["0", "1", "3", "18446744073709551615"]);
            q.push_str(&format!(" LIMIT {n}"));
            if self.u.bool() {
                q.push_str(&format!(" OFFSET {}", self.u.choose(&["0", "1", "5"])));
            }
        }
        q
    }
}

/// A query from the input: mostly built by the grammar above, sometimes raw text, sometimes a
/// built query with raw bytes spliced in.
fn sql_text(input: &[u8]) -> String {
    let Some((&mode, rest)) = input.split_first() else {
        return String::new();
    };
    if mode % 8 == 0 {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let mut u = Bytes::new(rest);
    let depth = u.size(1, 5);
    let mut gen = SqlGen {
        u: &mut u,
        aliases: Vec::new(),
        tables: Vec::new(),
        next: 0,
    };
    let mut q = gen.query(depth);
    if mode % 8 == 1 {
        // The bytes left, spliced in at a character boundary the next two bytes pick.
        let at = u.size(0, q.len());
        let at = (0..=at).rev().find(|&i| q.is_char_boundary(i)).unwrap_or(0);
        let tail = String::from_utf8_lossy(u.bytes(usize::MAX)).into_owned();
        q.insert_str(at, &tail);
    }
    q
}

/// Checks an answer: within the result limits and written as valid JSON.
fn check_answer(result: &llm_metrics::Result<llm_metrics::Endpoint>) {
    if let Ok(e) = result {
        assert!(e.rows() as u64 <= SQL_LIMITS.max_rows, "{} rows", e.rows());
        assert!(e.data.iter().all(|row| row.len() == e.meta.len()));
        let json = e.to_json();
        serde_json::from_str::<serde_json::Value>(&json).expect("endpoint JSON");
    }
}

/// SQL parse and execute on a small store with NULLs and edge values: nothing may panic, every
/// failure is an error value, and an answer stays within the result limits.
///
/// The first byte picks raw text (one in eight), a built query with raw bytes spliced in (one in
/// eight) or a built query; the rest drives the grammar.
pub fn sql(input: &[u8]) {
    sql_outcome(input);
}

/// What [`sql`] runs for `input`, and whether it answered (after passing the checks).
pub fn sql_outcome(input: &[u8]) -> (String, bool) {
    let query = sql_text(input);
    SQL_STORE.with(|store| {
        let result = store.sql(&query, &Params::new());
        check_answer(&result);
        // The same query as a template with no parameters.
        if query.len() < 4096 {
            check_answer(&store.sql(&format!("%\n{query}"), &Params::new()));
        }
        let answered = result.is_ok();
        (query, answered)
    })
}

// ---- pipe ----

const PARAM_NAMES: &[&str] = &["p", "n", "start_date", "models", "x", "c", "f"];

const TEMPLATE_VALUES: &[&str] = &[
    "p",
    "n",
    "x",
    "c",
    "start_date",
    "models",
    "'a'",
    "''",
    "'model_name'",
    "'2024-05-01 10:00:00'",
    "1",
    "0",
    "-1",
    "1.5",
    "None",
    "True",
    "False",
    "'String'",
];

/// Tinybird template functions with how many arguments they take.
const TEMPLATE_FUNCS: &[(&str, usize, usize)] = &[
    ("String", 1, 3),
    ("Int", 1, 2),
    ("Integer", 1, 2),
    ("Int8", 1, 2),
    ("Int16", 1, 2),
    ("Int32", 1, 2),
    ("Int64", 1, 2),
    ("UInt8", 1, 2),
    ("UInt16", 1, 2),
    ("UInt32", 1, 2),
    ("UInt64", 1, 2),
    ("Float32", 1, 2),
    ("Float64", 1, 2),
    ("Boolean", 1, 2),
    ("Date", 1, 2),
    ("DateTime", 1, 2),
    ("DateTime64", 1, 2),
    ("Array", 1, 3),
    ("column", 1, 2),
    ("defined", 1, 1),
    ("error", 1, 2),
    ("custom_error", 1, 2),
];

/// Pipe text from fuzzer bytes: description, nodes whose SQL mixes template tags, conditions
/// and expressions with the SQL grammar, and references to earlier nodes.
struct PipeGen<'a, 'b> {
    u: &'b mut Bytes<'a>,
}

impl PipeGen<'_, '_> {
    fn value(&mut self, depth: usize) -> String {
        if depth > 0 && self.u.ratio(1, 3) {
            let &(f, lo, hi) = self.u.choose(TEMPLATE_FUNCS);
            let n = self.u.size(lo, hi);
            let args: Vec<String> = (0..n).map(|_| self.value(depth - 1)).collect();
            let mut call = format!("{f}({})", args.join(", "));
            if self.u.ratio(1, 6) {
                call.push_str(", description=\"d\", required=True");
                call = format!("{f}({})", call.trim_start_matches(&format!("{f}(")));
            }
            return call;
        }
        (*self.u.choose(TEMPLATE_VALUES)).to_string()
    }

    fn condition(&mut self, depth: usize) -> String {
        let mut c = self.value(depth);
        for _ in 0..self.u.size(0, 2) {
            let op = self
                .u
                .choose(&[" and ", " or ", " == ", " != ", " < ", " in "]);
            let not = if self.u.ratio(1, 4) { "not " } else { "" };
            c = format!("{c}{op}{not}{}", self.value(depth));
        }
        c
    }

    fn body(&mut self, depth: usize, nodes: &[String]) -> String {
        let mut out = String::new();
        for _ in 0..self.u.size(1, 6) {
            match self.u.int_in_range(0, 9) {
                0..=2 => {
                    let mut sql = SqlGen {
                        u: &mut *self.u,
                        aliases: Vec::new(),
                        tables: nodes.to_vec(),
                        next: 0,
                    };
                    let e = sql.expr(2);
                    out.push_str(&format!(" AND {e}"));
                }
                3 | 4 => out.push_str(&format!(" {{{{{}}}}}", self.value(2))),
                5 if depth > 0 => {
                    let mut s = format!(" {{% if {} %}}", self.condition(1));
                    s.push_str(&self.body(depth - 1, nodes));
                    for _ in 0..self.u.size(0, 2) {
                        s.push_str(&format!("{{% elif {} %}}", self.condition(1)));
                        s.push_str(&self.body(depth - 1, nodes));
                    }
                    if self.u.bool() {
                        s.push_str("{% else %}");
                        s.push_str(&self.body(depth - 1, nodes));
                    }
                    let end = *self.u.choose(&["{% end %}", "{% endif %}", ""]);
                    s.push_str(end);
                    out.push_str(&s);
                }
                6 => out.push_str(" {# a comment {{ x }} #}"),
                7 => out.push_str(" -- {{String(x)}}\n"),
                8 => out.push_str(&format!(
                    " AND {} = {{{{{}}}}}",
                    self.u.choose(SQL_COLUMNS),
                    self.value(2)
                )),
                _ => {
                    let n = self.u.size(1, 12);
                    let raw = self.u.bytes(n);
                    out.push_str(&String::from_utf8_lossy(raw));
                }
            }
        }
        out
    }

    fn node(&mut self, name: &str, nodes: &[String]) -> String {
        let mut sql = String::new();
        let templated = self.u.ratio(3, 4);
        if templated {
            sql.push_str("%\n");
        }
        let from = if nodes.is_empty() || self.u.bool() {
            "llm_events".to_string()
        } else {
            nodes[self.u.size(0, nodes.len() - 1)].clone()
        };
        let cols = if templated && self.u.ratio(1, 4) {
            "{{column(c, 'model_name')}} AS k, count() AS n".to_string()
        } else {
            let mut g = SqlGen {
                u: &mut *self.u,
                aliases: Vec::new(),
                tables: Vec::new(),
                next: 0,
            };
            g.item(2)
        };
        sql.push_str(&format!("SELECT {cols} FROM {from} WHERE 1"));
        if templated {
            let body = self.body(3, nodes);
            sql.push_str(&body);
        }
        if self.u.ratio(1, 3) {
            sql.push_str(" LIMIT {{Int32(n, 10)}}");
        }
        let indented = sql.replace('\n', "\n    ");
        let mut text = format!("NODE {name}\n");
        if self.u.ratio(1, 4) {
            text.push_str("DESCRIPTION >\n    a node\n\n");
        }
        text.push_str(&format!("SQL >\n    {indented}\n\n"));
        text
    }

    fn pipe(&mut self) -> String {
        let mut text = String::new();
        if self.u.bool() {
            text.push_str("DESCRIPTION >\n    A pipe with \"quotes\" and {{ braces }}.\n\n");
        }
        if self.u.ratio(1, 6) {
            text.push_str("TOKEN \"read\" READ\n\n");
        }
        let mut nodes = Vec::new();
        for i in 0..self.u.size(1, 3) {
            let name = format!("n{i}");
            let node = self.node(&name, &nodes);
            text.push_str(&node);
            nodes.push(name);
        }
        if self.u.ratio(7, 8) {
            let ty = *self
                .u
                .choose(&["TYPE endpoint\n", "TYPE ENDPOINT\n", "TYPE materialized\n"]);
            text.push_str(ty);
        }
        text
    }

    fn params(&mut self) -> Params {
        let mut params = Params::new();
        for _ in 0..self.u.size(0, 4) {
            let name = *self.u.choose(PARAM_NAMES);
            let value = match self.u.int_in_range(0, 11) {
                0 => serde_json::json!("gpt-4o,claude-3-5-sonnet"),
                1 => serde_json::json!(["gpt-4o", ""]),
                2 => serde_json::json!("2024-05-01 10:00:00"),
                3 => serde_json::json!(-1),
                4 => serde_json::json!(18446744073709551615u64),
                5 => serde_json::json!(1.5),
                6 => serde_json::json!(null),
                7 => serde_json::json!(true),
                8 => serde_json::json!({"a": [1]}),
                9 => serde_json::json!("model_name"),
                10 => serde_json::json!("' OR 1 --\\"),
                _ => {
                    let n = self.u.size(0, 16);
                    let raw = self.u.bytes(n);
                    serde_json::json!(String::from_utf8_lossy(raw))
                }
            };
            params.insert(name.into(), value);
        }
        params
    }
}

/// Pipe text and template parameters through `parse_pipe`, `add_pipe` (which checks the pipe),
/// `expand` and `pipe`, on the SQL target's store: nothing may panic, every failure is an error
/// value, a pipe that answers also expands, and answers stay within the result limits. Also runs
/// a shipped pipe with the same parameters.
///
/// The first byte picks raw pipe text without parameters (one in eight), parameters then raw
/// pipe text (one in eight), or a pipe and parameters built from the rest.
pub fn pipe(input: &[u8]) {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let mut u = Bytes::new(rest);
    let (text, params) = if mode % 8 < 2 {
        let params = if mode % 8 == 1 {
            PipeGen { u: &mut u }.params()
        } else {
            Params::new()
        };
        (
            String::from_utf8_lossy(u.bytes(usize::MAX)).into_owned(),
            params,
        )
    } else {
        let mut g = PipeGen { u: &mut u };
        let text = g.pipe();
        (text, g.params())
    };
    let parsed = parse_pipe(None, &text);
    let mut store = SQL_STORE.with(|s| s.clone());
    let added = store.add_pipe(&text);
    if added.is_ok() {
        assert!(parsed.is_ok(), "add_pipe accepted what parse_pipe refused");
    }
    let shipped = store.pipe_names();
    let name = match added {
        Ok(name) => name,
        Err(_) => shipped[usize::from(mode) % shipped.len()].clone(),
    };
    let answer = store.pipe(&name, &params);
    check_answer(&answer);
    let expanded = store.expand(&name, &params);
    if answer.is_ok() {
        assert!(
            expanded.is_ok(),
            "answers but does not expand: {expanded:?}"
        );
    }
    if let Ok(sql) = expanded {
        check_answer(&store.sql(&sql, &Params::new()));
    }
}

thread_local! {
    /// Store files to damage: the SQL store (every column kind, `NULL`s, a quarantine) and a
    /// generated `llm_events` store of several partitions.
    static STORE_FILES: Vec<Vec<u8>> = store_files();
}

/// The saved stores the `store_file` target damages.
pub fn store_files() -> Vec<Vec<u8>> {
    let sql = SQL_STORE.with(|s| s.to_store_file().expect("the SQL store saves"));
    let mut events = EventStore::new();
    events.set_wall_clock(|| 1_714_557_600);
    let mut data = llm_metrics::generate_ndjson(2_000, 5);
    data.extend_from_slice(
        b"not json\n{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"x\"}\n",
    );
    events.write(&data).expect("write");
    events.end().expect("end");
    vec![sql, events.to_store_file().expect("the events store saves")]
}

/// Puts right checksums back on every whole section of a store file, so that changes inside a
/// section reach the checks of its contents.
pub fn reseal_store_file(file: &mut [u8]) {
    let mut at = 16usize;
    while at + 12 <= file.len() {
        let mut len = [0u8; 8];
        len.copy_from_slice(&file[at + 4..at + 12]);
        let len = u64::from_le_bytes(len);
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| (at + 12).checked_add(l))
            .filter(|&e| e + 4 <= file.len())
        else {
            return;
        };
        let crc = llm_metrics::crc32(&file[at..end]);
        file[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        at = end + 4;
    }
}

/// A store file, raw or a saved store's file with edits (checksums put right or not), reopened
/// under a budget and in chunks the input chooses. Nothing may panic; reading in chunks and at
/// once must agree; a store that reopens stays within its budget, answers its pipes without
/// panicking, and saves a file that reopens to the same contents.
pub fn store_file(input: &[u8]) {
    let mut u = Bytes::new(input);
    let mode = u.byte();
    let max_bytes = match u.byte() % 4 {
        0 => u64::MAX,
        1 => 1 << 20,
        2 => u.int_in_range(0, 1 << 16),
        _ => u.int_in_range(0, 1 << 22),
    };
    let chunk = 1 + u.size(0, 4096);
    let file: Vec<u8> = if mode % 4 == 0 {
        u.data.to_vec()
    } else {
        let mut f = STORE_FILES.with(|files| files[usize::from(mode / 4) % files.len()].clone());
        let edits = u.size(1, 8);
        for _ in 0..edits {
            if f.is_empty() {
                break;
            }
            let at = u.size(0, f.len() - 1);
            match u.byte() % 6 {
                0 => f[at] ^= u.byte() | 1,
                1 => f[at] = u.byte(),
                2 => f[at] = 0xff,
                3 => {
                    let b = u.byte();
                    f.insert(at, b);
                }
                4 => {
                    f.remove(at);
                }
                _ => f.truncate(at),
            }
        }
        if mode % 4 != 3 {
            reseal_store_file(&mut f);
        }
        f
    };
    let options = Options {
        max_bytes,
        ..Options::default()
    };
    let mut reader = llm_metrics::StoreFileReader::new(options);
    let mut read = Ok(());
    for c in file.chunks(chunk) {
        read = reader.write(c);
        if read.is_err() {
            break;
        }
    }
    let chunked = read.and_then(|()| reader.finish());
    let whole = EventStore::open_store_file(&file, options);
    assert_eq!(
        chunked.as_ref().err().map(ToString::to_string),
        whole.as_ref().err().map(ToString::to_string),
        "reading in chunks of {chunk} and at once disagree"
    );
    let Ok(mut store) = whole else {
        return;
    };
    // The time of saving is written into the file: the same for both saves below.
    store.set_wall_clock(|| 1_714_557_600);
    assert!(store.store().bytes() <= max_bytes);
    for name in store.pipe_names() {
        let _ = store.pipe(&name, &Params::new());
    }
    let table = store.datasource_names().remove(0);
    let _ = store.sql(&format!("SELECT * FROM {table} LIMIT 5"), &Params::new());
    let again = store.to_store_file().expect("a reopened store saves");
    let mut reopened = EventStore::open_store_file(&again, options).expect("its file reopens");
    reopened.set_wall_clock(|| 1_714_557_600);
    assert!(reopened.store().same_contents(store.store()));
    assert_eq!(reopened.to_store_file().expect("saves again"), again);
}
