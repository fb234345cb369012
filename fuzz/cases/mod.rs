//! What each fuzz target checks, as plain functions of the input bytes: the targets in
//! `fuzz_targets/` call them, and `tests/web_ingest.rs` replays the saved worst inputs
//! (`fuzz/worst/`) through them in wasm. Each panics when a check fails.
#![allow(dead_code)]

use llm_metrics::{parse_datasource, Datasource, EventStore, Options, Report};
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
