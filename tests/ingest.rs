//! Ingest of fixture files: value rules, line accounting, quarantine, and chunking independence.

// Native only: these are plain #[test] functions (and proptest), which the wasm test runner
// does not run; tests/web*.rs are their wasm counterparts.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{generate_ndjson, ColumnData, Endpoint, EventStore, Params, Report, Value};
use proptest::prelude::*;

const MIXED: &[u8] = include_bytes!("fixtures/mixed.ndjson");

fn ingest_chunks(data: &[u8], cuts: &[usize]) -> (EventStore, Report) {
    let mut store = EventStore::new();
    let mut prev = 0;
    for &c in cuts {
        let c = c.clamp(prev, data.len());
        store.write(&data[prev..c]).expect("write");
        prev = c;
    }
    store.write(&data[prev..]).expect("write");
    let report = store.end().expect("end");
    (store, report)
}

fn row_of<'a>(e: &'a Endpoint, key: &str) -> Vec<&'a Value> {
    let r = (0..e.rows())
        .find(|&r| e.get(r, "model_name") == Some(&Value::Str(key.to_string())))
        .unwrap_or_else(|| panic!("no row for {key}: {}", e.to_json()));
    e.data[r].iter().collect()
}

#[test]
fn mixed_fixture_accounting() {
    let (store, report) = ingest_chunks(MIXED, &[]);
    assert_eq!(report.lines, 17, "{report:?}");
    assert_eq!(report.rows, 6);
    assert_eq!(report.blank, 2);
    assert_eq!(report.quarantined, 9);
    assert_eq!(
        report.lines,
        report.rows + report.quarantined + report.blank
    );
    assert_eq!(report.bytes, MIXED.len() as u64);
    assert_eq!(report.stream, "stream-1");
    assert_eq!(report.errors.len(), 5);
    assert_eq!(store.row_count(), 6);

    let q = store.quarantine().rows();
    let lines: Vec<u64> = q.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert_eq!(
        q[0].errors,
        vec!["value '-5' on column 'prompt_tokens' is negative but UInt32 is unsigned"]
    );
    assert_eq!(q[1].error_columns, vec!["cost", "latency"]);
    assert_eq!(
        q[1].errors[0],
        "value 'n/a' on column 'cost' is not Float32"
    );
    assert_eq!(q[1].values[6], "slow");
    assert!(
        q[2].errors[0].starts_with("invalid JSON at byte"),
        "{:?}",
        q[2].errors
    );
    assert!(q[2]
        .raw
        .as_deref()
        .unwrap_or("")
        .starts_with("{\"event_time\""));
    assert_eq!(
        q[3].errors,
        vec!["column 'event_time' is missing; every row needs a time"]
    );
    assert_eq!(
        q[4].errors,
        vec!["column 'event_time' is null; every row needs a time"]
    );
    assert!(q[5].errors[0].contains("out of range for UInt32"));
    assert!(q[6].errors[0].contains("is not an integer (UInt8)"));
    assert!(q[7].errors[0].starts_with("invalid UTF-8 at byte"));
    assert!(q[8].errors[0].contains("JSON object"));
    assert_eq!(report.errors[0], format!("line 7: {}", q[0].errors[0]));
}

#[test]
fn mixed_fixture_values() {
    let (store, _) = ingest_chunks(MIXED, &[]);
    let usage = store.pipe("llm_usage_by_model", &Params::new()).unwrap();
    assert_eq!(usage.rows(), 4);
    let g = row_of(&usage, "gpt-4o");
    assert_eq!(
        g[1..4],
        [&Value::UInt(117), &Value::UInt(53), &Value::UInt(170)]
    );
    assert_eq!(
        g[4],
        &Value::Float64(f64::from(0.0015f32) + f64::from(0.25f32))
    );
    let c = row_of(&usage, "claude-3-haiku");
    assert_eq!(c[1], &Value::UInt(200));
    assert_eq!(c[4], &Value::Float64(f64::from(0.0002f32)));
    let cafe = row_of(&usage, "caf\u{e9}-\u{1F916}");
    assert_eq!(cafe[3], &Value::UInt(3));
    let obj = row_of(&usage, "{\"provider\":\"openai\",\"id\":7}");
    assert_eq!(obj[1], &Value::UInt(0));

    let perf = store.pipe("llm_performance", &Params::new()).unwrap();
    let g = row_of(&perf, "gpt-4o");
    assert_eq!(g[1], &Value::Float64((1.25 + 30.5 + 2.5) / 3.0));
    assert_eq!(g[2], &Value::Float64(2.0 / 3.0));
    let meta: Vec<(&str, &str)> = perf
        .meta
        .iter()
        .map(|m| (m.name.as_str(), m.ty.as_str()))
        .collect();
    assert_eq!(
        meta,
        vec![
            ("model_name", "String"),
            ("avg_latency", "Float64"),
            ("success_rate", "Float64")
        ]
    );
    let meta: Vec<&str> = usage.meta.iter().map(|m| m.ty.as_str()).collect();
    assert_eq!(
        meta,
        vec!["String", "UInt64", "UInt64", "UInt64", "Float64"]
    );

    // Times: the -01:00 offset is converted to UTC and lands in March's partition.
    let keys: Vec<i64> = store.store().partitions().iter().map(|p| p.key()).collect();
    assert_eq!(keys, vec![202403]);
    let block = &store.store().partitions()[0].blocks()[0];
    let ColumnData::U32(times) = block.column(0) else {
        panic!("event_time is not u32")
    };
    assert_eq!(times[2], 1_709_254_799);
    assert_eq!(block.min_time(), 1_709_254_799);
    assert_eq!(block.max_time(), 1_709_337_601);
    let errors = store.store().dictionary(8).unwrap();
    assert!(errors.strings().iter().any(|s| &**s == "123"));
}

#[test]
fn streams_are_named_and_appended() {
    let mut store = EventStore::new();
    store.begin("a.ndjson").unwrap();
    store.write(&MIXED[..100]).unwrap();
    // Beginning another stream ends the open one.
    let first = store
        .begin("b.ndjson")
        .unwrap()
        .expect("report of a.ndjson");
    assert_eq!(first.stream, "a.ndjson");
    store.write(MIXED).unwrap();
    let second = store.end().unwrap();
    assert_eq!(second.stream, "b.ndjson");
    assert_eq!(second.rows, 6);
    store.write(MIXED).unwrap();
    let third = store.end().unwrap();
    assert_eq!(third.stream, "stream-3");
    assert_eq!(store.row_count(), first.rows + 12);
    assert!(store
        .quarantine()
        .rows()
        .iter()
        .any(|r| r.stream == "b.ndjson" && r.line == 7));
}

#[test]
fn long_lines_are_quarantined_without_buffering() {
    let ds = llm_metrics::Datasource::llm_events();
    let mut store = EventStore::with_datasource(
        ds,
        llm_metrics::Options {
            max_bytes: u64::MAX,
            max_line_bytes: 1000,
            ..Default::default()
        },
    );
    let long = format!(
        "{{\"event_time\":\"2024-03-01 00:00:00\",\"model_name\":\"{}\"}}\n",
        "x".repeat(5000)
    );
    for chunk in long.as_bytes().chunks(7) {
        store.write(chunk).unwrap();
    }
    store
        .write(b"{\"event_time\":\"2024-03-01 00:00:00\"}\n")
        .unwrap();
    let r = store.end().unwrap();
    assert_eq!((r.lines, r.rows, r.quarantined), (2, 1, 1));
    let q = &store.quarantine().rows()[0];
    assert_eq!(
        q.errors[0],
        format!(
            "line too long: {} bytes (the limit is 1000 bytes)",
            long.len() - 1
        )
    );
}

#[test]
fn store_full_is_an_error_that_keeps_the_store_consistent() {
    let ds = llm_metrics::Datasource::llm_events();
    let budget = (llm_metrics::BLOCK_ROWS * 51 + 4096) as u64;
    let mut store = EventStore::with_datasource(
        ds,
        llm_metrics::Options {
            max_bytes: budget,
            max_line_bytes: 1 << 20,
            ..Default::default()
        },
    );
    let data = generate_ndjson(20_000, 7);
    let err = data
        .chunks(4096)
        .map(|c| store.write(c))
        .find_map(Result::err)
        .expect("store fills up");
    let msg = err.to_string();
    assert!(msg.starts_with("store is full at 8192 rows"), "{msg}");
    assert!(
        msg.contains("the rows before line 8193 of stream-1 are stored"),
        "{msg}"
    );
    assert_eq!(store.write(b"{}\n").unwrap_err().to_string(), msg);
    assert_eq!(store.row_count(), 8192);
    let usage = store.pipe("llm_usage_by_model", &Params::new()).unwrap();
    let total: u64 = (0..usage.rows())
        .map(|r| match usage.get(r, "total_tokens") {
            Some(Value::UInt(v)) => *v,
            _ => 0,
        })
        .sum();
    assert!(total > 0);
}

#[test]
fn generated_data_ingests_cleanly() {
    let data = generate_ndjson(50_000, 1);
    let (store, report) = ingest_chunks(&data, &[]);
    assert_eq!(
        (report.rows, report.quarantined, report.blank),
        (50_000, 0, 0)
    );
    assert!(store.store().partitions().len() >= 2);
    for b in store.store().blocks() {
        assert!(b.min_time() <= b.max_time());
    }
}

fn same(a: &(EventStore, Report), b: &(EventStore, Report)) -> bool {
    a.1 == b.1
        && a.0.store().same_contents(b.0.store())
        && a.0.quarantine().rows() == b.0.quarantine().rows()
}

#[test]
fn one_byte_chunks_match_one_chunk() {
    let whole = ingest_chunks(MIXED, &[]);
    let cuts: Vec<usize> = (1..MIXED.len()).collect();
    let bytes = ingest_chunks(MIXED, &cuts);
    assert!(same(&whole, &bytes));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_never_changes_the_result(mut cuts in proptest::collection::vec(0usize..MIXED.len() * 2 + 4000, 0..40)) {
        let data = [MIXED, b"\n", &generate_ndjson(300, 3)[..], MIXED].concat();
        cuts.sort_unstable();
        let whole = ingest_chunks(&data, &[]);
        let split = ingest_chunks(&data, &cuts);
        prop_assert!(same(&whole, &split));
        prop_assert_eq!(split.1.lines, split.1.rows + split.1.quarantined + split.1.blank);
    }
}

mod shapes;

#[test]
fn nested_paths_among_keys_outside_the_schema_store_every_line() {
    shapes::check_random_shapes(400, 30);
}

#[test]
fn the_llm_response_shape_stores_every_line() {
    shapes::check_llm_response_shape();
}

/// A store of one block's budget, and the bytes of `BLOCK_ROWS + 1` generated lines.
fn one_block_store() -> (EventStore, Vec<u8>) {
    let budget = (llm_metrics::BLOCK_ROWS * 51 + 4096) as u64;
    let store = EventStore::with_datasource(
        llm_metrics::Datasource::llm_events(),
        llm_metrics::Options {
            max_bytes: budget,
            max_line_bytes: 1 << 20,
            ..Default::default()
        },
    );
    let data = generate_ndjson(20_000, 7);
    let end = data
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .nth(llm_metrics::BLOCK_ROWS)
        .map(|(i, _)| i + 1)
        .expect("enough lines");
    (store, data[..end].to_vec())
}

#[test]
fn a_last_line_without_newline_that_does_not_fit_fails_end() {
    let (mut store, data) = one_block_store();
    // The last line has no newline: only `end` reads it.
    let data = data
        .strip_suffix(b"\n")
        .expect("generated lines end with a newline");
    store.begin("last.ndjson").unwrap();
    store.write(data).expect("every complete line fits");
    let err = store.end().expect_err("the last line does not fit");
    let msg = err.to_string();
    assert!(msg.starts_with("store is full at 8192 rows"), "{msg}");
    assert!(
        msg.contains("the rows before line 8193 of last.ndjson are stored"),
        "{msg}"
    );
    assert_eq!(store.write(b"{}\n").unwrap_err().to_string(), msg);
    assert_eq!(store.row_count(), 8192);
    // The same line with its newline fails in `write`, and `end` then reports the stream.
    let (mut store, data) = one_block_store();
    assert_eq!(
        store.write(&data).unwrap_err().to_string(),
        msg.replace("last.ndjson", "stream-1")
    );
    let report = store.end().expect("the failure was reported by write");
    assert_eq!((report.lines, report.rows), (8192, 8192));
}

/// A store for `llm_events` with a budget of `max_bytes`.
fn budget_store(max_bytes: u64) -> EventStore {
    EventStore::with_datasource(
        llm_metrics::Datasource::llm_events(),
        llm_metrics::Options {
            max_bytes,
            max_line_bytes: 16 << 20,
            ..Default::default()
        },
    )
}

#[test]
fn distinct_huge_strings_fill_the_store_within_its_budget() {
    let budget = 64 << 20;
    let mut store = budget_store(budget);
    let mut failed = None;
    for i in 0..100u32 {
        let name = format!("{i:03}{}", "m".repeat(8 << 20));
        let line = format!(
            "{{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"{name}\",\"total_tokens\":1}}\n"
        );
        if let Err(e) = store.write(line.as_bytes()) {
            failed = Some((i, e.to_string()));
            break;
        }
        assert!(store.store().bytes() <= budget, "{}", store.store().bytes());
    }
    let (i, msg) = failed.expect("the budget holds 7 such names, not 100");
    // Each name takes 8 MiB + 3 bytes; one block of llm_events takes 45 bytes a row: 4 for each
    // of its 9 columns of 32 bits, 1 for each of the 9 others (a UInt8 and string codes).
    let block = (llm_metrics::BLOCK_ROWS * 45) as u64;
    let fit = (budget - block) / ((8 << 20) + 3);
    assert!(
        u64::from(i) <= fit && u64::from(i) + 1 >= fit,
        "{i} rows stored, {msg}"
    );
    assert!(
        msg.starts_with(&format!("store is full at {i} rows"))
            && msg.contains(&format!("the rows before line {} of stream-1", i + 1)),
        "{msg}"
    );
    assert!(store.store().bytes() <= budget);
    assert_eq!(store.write(b"{}\n").unwrap_err().to_string(), msg);
    let r = store
        .sql("SELECT count() AS n, sum(total_tokens) AS t, uniqExact(model_name) AS m FROM llm_events", &Params::new())
        .unwrap();
    assert_eq!(
        r.data,
        vec![vec![
            Value::UInt(u64::from(i)),
            Value::UInt(u64::from(i)),
            Value::UInt(u64::from(i))
        ]]
    );
}

#[test]
fn quarantine_counts_every_line_and_keeps_rows_within_its_share() {
    let budget = 64 << 20;
    let mut store = budget_store(budget);
    let lines = 2_000_000u64;
    let chunk = b"{}\n".repeat(100_000);
    for _ in 0..lines / 100_000 {
        store
            .write(&chunk)
            .expect("quarantined lines never fill the store");
    }
    store
        .write(
            b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"total_tokens\":7}\n",
        )
        .unwrap();
    let report = store.end().unwrap();
    assert_eq!(
        (report.lines, report.rows, report.quarantined),
        (lines + 1, 1, lines)
    );
    let q = store.quarantine();
    assert_eq!(q.len() as u64, lines);
    let kept = q.rows().len() as u64;
    assert!(kept > 10_000 && kept < lines, "{kept}");
    assert_eq!(report.not_kept, lines - kept);
    assert!(q.bytes() <= budget / 4, "{}", q.bytes());
    assert!(store.store().bytes() <= budget);
    assert_eq!(
        q.rows()[0].errors,
        vec!["column 'event_time' is missing; every row needs a time"]
    );
    assert_eq!(q.rows()[kept as usize - 1].line, kept);
    let r = store
        .sql(
            "SELECT count() AS n FROM llm_events_quarantine",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.data, vec![vec![Value::UInt(kept)]]);
    let r = store
        .sql(
            "SELECT sum(total_tokens) AS t FROM llm_events",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.data, vec![vec![Value::UInt(7)]]);
}

#[test]
fn quarantined_values_are_kept_up_to_a_bound() {
    let mut store = EventStore::new();
    let long = "é".repeat(10_000);
    let line = format!("{{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"{long}\",\"model_name\":\"{long}\"}}\n");
    store.write(line.as_bytes()).unwrap();
    store.end().unwrap();
    let q = &store.quarantine().rows()[0];
    let cut = 4096 / 2 * 2;
    assert_eq!(
        q.values[6],
        format!(
            "{} … [{} more bytes not kept]",
            "é".repeat(cut / 2),
            20_000 - cut
        )
    );
    assert_eq!(q.values[1], q.values[6]);
}
