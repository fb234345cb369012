//! Arbitrary bytes through the streaming decoder, cut into chunks where the input says: nothing
//! may panic, every line must be accounted for, and chunking must never change the result.
//!
//! The input is a 4-byte header followed by the stream:
//!
//! * `header[0]` bit 0: a small line limit, `1 + 8 * header[1]` bytes, instead of 8 MiB;
//!   bit 1: a datasource with every column type and nested paths instead of `llm_events`;
//!   bit 2: two streams, split where `header[2..4]` says;
//!   bit 3: also feed inputs of up to 4 KiB one byte at a time;
//!   bits 4-7: the number of cuts, minus one.
//! * `header[2..4]`: the seed of the cut positions.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llm_metrics::{parse_datasource, Datasource, EventStore, Options, Report};
use std::cell::RefCell;
use std::collections::HashMap;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{count_lines, same_ingest};

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
    `b` Bool `json:$.b`

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
fn ingest(all_types: bool, options: Options, streams: &[(&[u8], Vec<usize>)]) -> Ingested {
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
        assert_eq!(
            report.lines,
            report.rows + report.quarantined + report.blank,
            "{report:?}"
        );
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
fn cuts(seed: u32, count: usize, len: usize) -> Vec<usize> {
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

fuzz_target!(|input: &[u8]| {
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
    };
    let all_types = flags & 2 != 0;
    let parts: Vec<&[u8]> = if flags & 4 != 0 {
        let at = seed as usize % (data.len() + 1);
        vec![&data[..at], &data[at..]]
    } else {
        vec![data]
    };
    let whole: Vec<(&[u8], Vec<usize>)> = parts.iter().map(|p| (*p, Vec::new())).collect();
    let reference = ingest(all_types, options, &whole);
    check_accounting(&reference, &whole);

    let count = usize::from(flags >> 4) + 1;
    let cut: Vec<(&[u8], Vec<usize>)> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, cuts(seed.wrapping_add(i as u32), count, p.len())))
        .collect();
    let chunked = ingest(all_types, options, &cut);
    check_accounting(&chunked, &cut);
    assert_same(&reference, &chunked);

    if flags & 8 != 0 && data.len() <= 4096 {
        let bytes: Vec<(&[u8], Vec<usize>)> =
            parts.iter().map(|p| (*p, (1..p.len()).collect())).collect();
        let one_by_one = ingest(all_types, options, &bytes);
        assert_same(&reference, &one_by_one);
    }
});
