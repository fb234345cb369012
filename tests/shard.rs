//! A stream read in parts: each range of whole lines decoded by a store of its own, then
//! appended in order (`EventStore::append_shard`, `append_store_file`) gives exactly the store
//! one load of the whole stream gives: the same rows in the same partitions, blocks and
//! dictionaries, the same answers, the same quarantined lines with their line numbers in the
//! whole stream.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{generate_ndjson, Block, ErrorKind, EventStore, Options, Params, Store};

fn zero() -> f64 {
    0.0
}

fn noon() -> i64 {
    1_717_243_200
}

fn fixed(mut s: EventStore) -> EventStore {
    s.set_clock(zero);
    s.set_wall_clock(noon);
    s
}

fn load(store: &mut EventStore, name: &str, data: &[u8]) {
    store.begin(name).unwrap();
    for chunk in data.chunks(65_536) {
        store.write(chunk).unwrap();
    }
    store.end().unwrap();
}

/// Offsets just after each newline of `data`, with 0 first: the line boundaries.
fn boundaries(data: &[u8]) -> Vec<usize> {
    let mut b = vec![0];
    b.extend(
        data.iter()
            .enumerate()
            .filter(|(_, &c)| c == b'\n')
            .map(|(i, _)| i + 1),
    );
    b
}

/// `data` read in parts split after the lines numbered in `cuts` (ascending), each part by a
/// store of its own made by `make`, appended in order to the first.
fn sharded(make: &dyn Fn() -> EventStore, data: &[u8], cuts: &[usize]) -> EventStore {
    let b = boundaries(data);
    let mut starts = vec![0usize];
    starts.extend(cuts.iter().copied());
    let mut ends: Vec<usize> = cuts.to_vec();
    ends.push(usize::MAX);
    let mut whole: Option<EventStore> = None;
    for (&first_line, &end_line) in starts.iter().zip(&ends) {
        let from = b[first_line];
        let to = if end_line == usize::MAX {
            data.len()
        } else {
            b[end_line]
        };
        let mut part = make();
        load(&mut part, "log.ndjson", &data[from..to]);
        match &mut whole {
            None => whole = Some(part),
            Some(w) => w.append_shard(&part, first_line as u64).unwrap(),
        }
    }
    whole.unwrap()
}

fn one_load(make: &dyn Fn() -> EventStore, data: &[u8]) -> EventStore {
    let mut s = make();
    load(&mut s, "log.ndjson", data);
    s
}

const QUERIES: &[&str] = &[
    "SELECT count() AS n, sum(total_tokens) AS t, avg(latency) AS l FROM llm_events",
    "SELECT model_name, count() AS n, any(cost) AS c FROM llm_events GROUP BY model_name",
    "SELECT * FROM llm_events LIMIT 50",
    "SELECT * FROM llm_events ORDER BY event_time LIMIT 20",
    "SELECT c__line, c__error, c__raw FROM llm_events_quarantine",
];

/// Every shipped pipe's answer and a few queries' (some without ORDER BY, so that they show
/// the stored order), errors included as text.
fn answers(s: &EventStore, queries: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in s.pipe_names() {
        out.push(match s.pipe(&name, &Params::new()) {
            Ok(r) => r.to_json(),
            Err(e) => format!("error: {e}"),
        });
    }
    for q in queries {
        out.push(match s.sql(q, &Params::new()) {
            Ok(r) => r.to_json(),
            Err(e) => format!("error: {e}"),
        });
    }
    out
}

/// True when both stores hold the same rows in the same partitions and blocks, with the same
/// dictionaries and the same codes; a block's string codes may be stored wider in one (a block
/// begun when its dictionary already held more strings).
fn same_rows(a: &Store, b: &Store) -> bool {
    let dicts = (0..a.datasource().columns.len())
        .all(|i| a.dictionary(i).map(|d| d.strings()) == b.dictionary(i).map(|d| d.strings()));
    let same_block = |x: &Block, y: &Block| {
        x.rows() == y.rows()
            && x.min_time() == y.min_time()
            && x.max_time() == y.max_time()
            && (0..x.columns().len()).all(|i| {
                x.nulls(i) == y.nulls(i)
                    && x.values(i) == y.values(i)
                    && match (x.column(i).codes(), y.column(i).codes()) {
                        (Some(p), Some(q)) => p == q,
                        (None, None) => x.column(i).same_bits(y.column(i)),
                        _ => false,
                    }
            })
    };
    dicts
        && a.rows() == b.rows()
        && a.partitions().len() == b.partitions().len()
        && a.partitions().iter().zip(b.partitions()).all(|(p, q)| {
            p.key() == q.key()
                && p.blocks().len() == q.blocks().len()
                && p.blocks()
                    .iter()
                    .zip(q.blocks())
                    .all(|(x, y)| same_block(x, y))
        })
}

fn assert_same(a: &EventStore, b: &EventStore, queries: &[&str]) {
    assert_eq!(a.row_count(), b.row_count());
    assert!(same_rows(a.store(), b.store()), "stored rows differ");
    assert_eq!(a.quarantine().rows(), b.quarantine().rows());
    assert_eq!(a.quarantine().count(), b.quarantine().count());
    assert_eq!(answers(a, queries), answers(b, queries));
}

/// Generated events over several months, lines planted among them that are quarantined (at
/// the 0-based line indices returned), and events with 600 model names of their own so that
/// string codes take 16 bits in later blocks.
fn sample() -> (Vec<u8>, Vec<usize>) {
    let generated = generate_ndjson(40_000, 11);
    let text = String::from_utf8(generated).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for i in 0..600 {
        let at = 20_000 + i * 7;
        lines.insert(
            at,
            format!(
                "{{\"event_time\":\"2023-1{}-0{} 23:59:{:02}\",\"model_name\":\"m{i}\",\"total_tokens\":{i},\"cost\":0.5}}",
                i % 3,
                1 + i % 9,
                i % 60
            ),
        );
    }
    let bad = [
        (0, "not json".to_string()),
        (
            9_999,
            "{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"n/a\"}".to_string(),
        ),
        (10_000, "{\"model_name\":".to_string()),
        (25_123, "[1,2,3]".to_string()),
        (40_500, "{\"event_time\":\"yesterday\"}".to_string()),
    ];
    for (at, line) in &bad {
        lines.insert(*at, line.clone());
    }
    let mut data = lines.join("\n");
    data.push('\n');
    (data.into_bytes(), bad.iter().map(|(at, _)| *at).collect())
}

#[test]
fn parts_appended_in_order_give_the_store_one_load_gives() {
    let (data, bad) = sample();
    let make = || fixed(EventStore::new());
    let one = one_load(&make, &data);
    // Hand-derived: the planted lines, 1-based, in the whole stream.
    let lines: Vec<u64> = one.quarantine().rows().iter().map(|r| r.line).collect();
    assert_eq!(lines, bad.iter().map(|&i| i as u64 + 1).collect::<Vec<_>>());
    let n = boundaries(&data).len() - 1;
    for cuts in [
        vec![n / 2],
        vec![1],
        vec![9_999, 10_000, 10_001],
        vec![7_001, 20_350, 20_351, 33_333],
        vec![n - 1],
        vec![12_345, 12_345],
    ] {
        let parts = sharded(&make, &data, &cuts);
        assert_same(&parts, &one, QUERIES);
        let lines: Vec<u64> = parts.quarantine().rows().iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            bad.iter().map(|&i| i as u64 + 1).collect::<Vec<_>>(),
            "cuts {cuts:?}"
        );
    }
}

#[test]
fn a_part_given_as_a_store_file_appends_as_the_store_does() {
    let (data, _) = sample();
    let make = || fixed(EventStore::new());
    let one = one_load(&make, &data);
    let b = boundaries(&data);
    let cut = 22_222;
    let mut first = make();
    load(&mut first, "log.ndjson", &data[..b[cut]]);
    let mut second = make();
    load(&mut second, "log.ndjson", &data[b[cut]..]);
    first
        .append_store_file(&second.to_store_file().unwrap(), cut as u64)
        .unwrap();
    assert_same(&first, &one, QUERIES);
}

/// Every scalar type, nullable and not, arrays, aggregate columns, nested JSON paths, a
/// `DateTime64` time column partitioned by day.
const TYPES: &str = "SCHEMA >\n    `t` DateTime64(3) `json:$.t`,\n    `s` String `json:$.a.b.s`,\n    `lc` LowCardinality(String) `json:$.a.lc`,\n    `ns` Nullable(String) `json:$.a.b.c.ns`,\n    `u8` UInt8 `json:$.n.u8`,\n    `u16` UInt16 `json:$.n.u16`,\n    `u32` UInt32 `json:$.n.u32`,\n    `u64` UInt64 `json:$.n.u64`,\n    `i8` Int8 `json:$.n.i8`,\n    `i16` Int16 `json:$.n.i16`,\n    `i32` Int32 `json:$.n.i32`,\n    `i64` Int64 `json:$.n.i64`,\n    `f32` Float32 `json:$.f.f32`,\n    `f64` Float64 `json:$.f.f64`,\n    `ni` Nullable(Int32) `json:$.ni`,\n    `nf` Nullable(Float64) `json:$.nf`,\n    `b` Bool `json:$.b`,\n    `d` Date `json:$.d`,\n    `dt` DateTime `json:$.dt`,\n    `arr` Array(String) `json:$.arr[:]`,\n    `an` Array(Nullable(Int32)) `json:$.an`,\n    `sa` SimpleAggregateFunction(sum, Int64) `json:$.sa`,\n    `st` AggregateFunction(count) `json:$.st`\n\nENGINE \"MergeTree\"\nENGINE_PARTITION_KEY \"toYYYYMMDD(t)\"\nENGINE_SORTING_KEY \"t\"\n";

fn typed_lines() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..5_000u64 {
        if i % 997 == 13 {
            out.push_str("{\"t\":\"2024-05-01 00:00:00.000\",\"n\":{\"u8\":\"lots\"}}\n");
            continue;
        }
        if i % 1_501 == 700 {
            out.push('\n');
            continue;
        }
        let day = 1 + (i * 7919) % 5;
        let ns = if i % 3 == 0 {
            "null".to_string()
        } else {
            format!("\"n{}\"", i % 300)
        };
        out.push_str(&format!(
            "{{\"t\":\"2024-05-0{day} 10:{:02}:{:02}.{:03}\",\"a\":{{\"b\":{{\"s\":\"s{}\",\"c\":{{\"ns\":{ns}}}}},\"lc\":\"l{}\"}},\
             \"n\":{{\"u8\":{},\"u16\":{},\"u32\":{},\"u64\":{},\"i8\":-{},\"i16\":-{},\"i32\":-{},\"i64\":-{}}},\
             \"f\":{{\"f32\":{}.25,\"f64\":{}.125}},\"ni\":{},\"nf\":{},\"b\":{},\"d\":\"2024-0{}-01\",\"dt\":\"2024-05-01 0{}:00:00\",\
             \"arr\":[\"x{}\",\"y\"],\"an\":[1,null,{}],\"sa\":{}}}\n",
            i % 60,
            (i * 13) % 60,
            i % 1000,
            i % 700,
            i % 5,
            i % 256,
            i % 65_536,
            i * 100_003,
            i * 1_000_000_007,
            i % 128,
            i % 32_768,
            i * 7,
            i * 1_000_003,
            i % 100,
            i,
            if i % 4 == 0 {
                "null".to_string()
            } else {
                i.to_string()
            },
            if i % 5 == 0 {
                "null".to_string()
            } else {
                format!("{}.5", i)
            },
            i % 2 == 0,
            1 + i % 9,
            i % 10,
            i % 400,
            i,
            i,
        ));
    }
    out.into_bytes()
}

#[test]
fn every_type_and_nested_paths_append_exactly() {
    let data = typed_lines();
    let make = || fixed(EventStore::from_datasource(TYPES).unwrap());
    let one = one_load(&make, &data);
    assert!(one.row_count() > 4_900, "{}", one.row_count());
    // Hand-derived: lines i % 997 == 13 are quarantined (u8 "lots"), 1-based.
    let expected: Vec<u64> = (0..5_000u64)
        .filter(|i| i % 997 == 13)
        .map(|i| i + 1)
        .collect();
    let got: Vec<u64> = one.quarantine().rows().iter().map(|r| r.line).collect();
    assert_eq!(got, expected);
    let queries = &[
        "SELECT * FROM llm_events LIMIT 40",
        "SELECT ns, count() AS n, sum(u64) AS s, countMerge(st) AS c FROM llm_events GROUP BY ns ORDER BY ns LIMIT 10",
        "SELECT toDate(t) AS day, uniqExact(s) AS u, sum(f32) AS f, groupArray(lc) AS l FROM llm_events GROUP BY day ORDER BY day",
        "SELECT c__line, c__error FROM llm_events_quarantine",
    ][..];
    for cuts in [
        vec![2_500],
        vec![13, 14, 1_010, 4_999],
        vec![700, 701, 3_000],
    ] {
        let parts = sharded(&make, &data, &cuts);
        assert_same(&parts, &one, queries);
    }
}

#[test]
fn records_repeated_over_lines_are_not_read_in_parts() {
    let data = std::fs::read("tests/fixtures/formats/claude_code.jsonl").unwrap();
    let b = boundaries(&data);
    let cut = b.len() / 2;
    let mut first = fixed(EventStore::new());
    load(&mut first, "c.jsonl", &data[..b[cut]]);
    let mut second = fixed(EventStore::new());
    load(&mut second, "c.jsonl", &data[b[cut]..]);
    let rows = first.row_count();
    let e = first.append_shard(&second, cut as u64).unwrap_err();
    assert!(e.to_string().starts_with("not supported"), "{e}");
    assert_eq!(first.row_count(), rows);
}

#[test]
fn a_part_that_does_not_fit_is_refused_whole() {
    let data = generate_ndjson(20_000, 3);
    let b = boundaries(&data);
    let probe = one_load(&|| fixed(EventStore::new()), &data);
    let budget = probe.store().bytes() * 3 / 4;
    let make = move || {
        fixed(EventStore::with_datasource(
            llm_metrics::Datasource::llm_events(),
            Options {
                max_bytes: budget,
                ..Options::default()
            },
        ))
    };
    let mut first = make();
    load(&mut first, "f.ndjson", &data[..b[10_000]]);
    let mut second = make();
    load(&mut second, "f.ndjson", &data[b[10_000]..]);
    let before = first.row_count();
    let e = first.append_shard(&second, 10_000).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::StoreFull { line: 10_001, .. }),
        "{e}"
    );
    assert_eq!(first.row_count(), before);
    assert!(first.store().bytes() <= budget);
}

#[test]
fn a_part_of_another_schema_or_a_project_is_refused() {
    let mut first = fixed(EventStore::new());
    load(
        &mut first,
        "a.ndjson",
        b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n",
    );
    let mut other = fixed(EventStore::from_datasource(TYPES).unwrap());
    load(&mut other, "a.ndjson", b"{\"t\":\"2024-05-01 00:00:00\"}\n");
    assert!(first.append_shard(&other, 1).is_err());
    let files = vec![
        (
            "datasources/a.datasource".to_string(),
            "SCHEMA >\n    `m` String `json:$.m`\n".to_string(),
        ),
        (
            "datasources/b.datasource".to_string(),
            "SCHEMA >\n    `m` String `json:$.m`\n".to_string(),
        ),
    ];
    let mut p = EventStore::from_project(&files, Options::default());
    let q = EventStore::from_project(&files, Options::default());
    let e = p.append_shard(&q, 0).unwrap_err();
    assert!(e.to_string().starts_with("not supported"), "{e}");
    assert_eq!(first.row_count(), 1);
}
