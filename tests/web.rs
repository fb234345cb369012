//! The engine compiled to wasm32 and run by wasm-bindgen-test-runner, in Node.js and in headless
//! Chromium (scripts/test.sh runs both). The file does not call `wasm_bindgen_test_configure!`,
//! so the environment picks the host:
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web                            # Node.js
//! WASM_BINDGEN_USE_BROWSER=1 cargo test --target wasm32-unknown-unknown --test web # Chromium
//! ```
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeMap;

use llm_metrics::{generate_ndjson, EventStore, Params};
use serde_json::Value;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// Per-model totals recomputed from the raw NDJSON, independently of the engine.
#[derive(Debug, Default)]
struct Expected {
    events: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    cost: f64,
    latency: f64,
    successes: u64,
}

fn expected_by_model(data: &[u8]) -> BTreeMap<String, Expected> {
    let mut out: BTreeMap<String, Expected> = BTreeMap::new();
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event: Value = serde_json::from_slice(line).expect("generated line is JSON");
        let model = event["model_name"].as_str().expect("model_name").to_owned();
        let e = out.entry(model).or_default();
        let uint = |key: &str| event[key].as_u64().expect(key);
        // Float32 columns: each value is rounded to f32 on the way in, summed in f64.
        let float32 = |key: &str| f64::from(event[key].as_f64().expect(key) as f32);
        e.events += 1;
        e.prompt_tokens += uint("prompt_tokens");
        e.completion_tokens += uint("completion_tokens");
        e.total_tokens += uint("total_tokens");
        e.cost += float32("cost");
        e.latency += float32("latency");
        e.successes += uint("success");
    }
    out
}

/// Feeds `data` to a fresh store in chunks whose sizes `next_size` picks, and returns the store
/// and its report as JSON.
fn ingest(data: &[u8], mut next_size: impl FnMut() -> usize) -> (EventStore, Value) {
    let mut store = EventStore::new();
    store.begin("sample.ndjson").expect("begin");
    let mut rest = data;
    while !rest.is_empty() {
        let n = next_size().clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(n);
        store.write(chunk).expect("write");
        rest = tail;
    }
    let report = store.end().expect("end");
    (
        store,
        serde_json::to_value(report).expect("report serialises"),
    )
}

/// A pipe's endpoint JSON without the one field that legitimately varies: elapsed time.
fn pipe_result(store: &EventStore, name: &str) -> Value {
    let text = store.pipe(name, &Params::new()).expect(name).to_json();
    // The JS engine must accept exactly what the endpoint emits.
    assert!(
        js_sys::JSON::parse(&text).is_ok(),
        "JSON.parse rejected {name}"
    );
    let mut value: Value = serde_json::from_str(&text).expect("endpoint JSON");
    value["statistics"]
        .as_object_mut()
        .expect("statistics")
        .remove("elapsed");
    value
}

fn meta_types(endpoint: &Value) -> Vec<(String, String)> {
    endpoint["meta"]
        .as_array()
        .expect("meta")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["type"].as_str().expect("type").to_owned(),
            )
        })
        .collect()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected}"
    );
}

fn check_report(report: &Value, data: &[u8], rows: u64) {
    let field = |k: &str| report[k].as_u64().expect(k);
    assert_eq!(report["stream"], "sample.ndjson");
    assert_eq!(field("rows"), rows);
    assert_eq!(field("quarantined"), 0, "{report}");
    assert_eq!(field("blank"), 0);
    assert_eq!(field("lines"), rows);
    assert_eq!(field("bytes"), data.len() as u64);
    assert_eq!(report["errors"], Value::Array(Vec::new()));
}

fn check_usage(endpoint: &Value, expected: &BTreeMap<String, Expected>) {
    assert_eq!(
        meta_types(endpoint),
        [
            ("model_name", "String"),
            ("total_prompt_tokens", "UInt64"),
            ("total_completion_tokens", "UInt64"),
            ("total_tokens", "UInt64"),
            ("total_cost", "Float64"),
        ]
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
    );
    let data = endpoint["data"].as_array().expect("data");
    assert_eq!(data.len(), expected.len());
    assert_eq!(endpoint["rows"].as_u64(), Some(expected.len() as u64));
    for row in data {
        let model = row["model_name"].as_str().expect("model_name");
        let e = &expected[model];
        assert_eq!(row["total_prompt_tokens"].as_u64(), Some(e.prompt_tokens));
        assert_eq!(
            row["total_completion_tokens"].as_u64(),
            Some(e.completion_tokens)
        );
        assert_eq!(row["total_tokens"].as_u64(), Some(e.total_tokens));
        let cost = row["total_cost"].as_f64().expect("total_cost");
        assert_close(cost, e.cost, &format!("total_cost of {model}"));
    }
}

fn check_performance(endpoint: &Value, expected: &BTreeMap<String, Expected>) {
    assert_eq!(
        meta_types(endpoint),
        [
            ("model_name", "String"),
            ("avg_latency", "Float64"),
            ("success_rate", "Float64"),
        ]
        .map(|(n, t)| (n.to_owned(), t.to_owned()))
    );
    let data = endpoint["data"].as_array().expect("data");
    assert_eq!(data.len(), expected.len());
    for row in data {
        let model = row["model_name"].as_str().expect("model_name");
        let e = &expected[model];
        let n = e.events as f64;
        let latency = row["avg_latency"].as_f64().expect("avg_latency");
        assert_close(latency, e.latency / n, &format!("avg_latency of {model}"));
        let rate = row["success_rate"].as_f64().expect("success_rate");
        assert_close(
            rate,
            e.successes as f64 / n,
            &format!("success_rate of {model}"),
        );
    }
}

/// Picks the size of each next chunk.
type ChunkSizes = Box<dyn FnMut() -> usize>;

/// A small xorshift generator, so chunk sizes vary without a dependency.
fn chunk_sizes(mut state: u64, max: usize) -> impl FnMut() -> usize {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        1 + (state % max as u64) as usize
    }
}

#[wasm_bindgen_test]
fn chunking_never_changes_a_result() {
    const ROWS: u64 = 2_000;
    let data = generate_ndjson(ROWS, 7);
    let expected = expected_by_model(&data);
    assert!(expected.len() > 1, "sample has several models");

    let (whole, report) = ingest(&data, || usize::MAX);
    check_report(&report, &data, ROWS);
    assert_eq!(whole.row_count(), ROWS);
    let usage = pipe_result(&whole, "llm_usage_by_model");
    let performance = pipe_result(&whole, "llm_performance");
    check_usage(&usage, &expected);
    check_performance(&performance, &expected);

    let chunkings: [(&str, ChunkSizes); 4] = [
        ("7-byte", Box::new(|| 7)),
        ("4096-byte", Box::new(|| 4096)),
        ("random 1..64", Box::new(chunk_sizes(0x9e37_79b9, 64))),
        ("random 1..65536", Box::new(chunk_sizes(42, 65_536))),
    ];
    for (label, sizes) in chunkings {
        let (store, report) = ingest(&data, sizes);
        check_report(&report, &data, ROWS);
        assert_eq!(pipe_result(&store, "llm_usage_by_model"), usage, "{label}");
        assert_eq!(
            pipe_result(&store, "llm_performance"),
            performance,
            "{label}"
        );
    }
}

#[wasm_bindgen_test]
fn one_byte_writes_give_the_same_result() {
    const ROWS: u64 = 250;
    let data = generate_ndjson(ROWS, 11);
    let expected = expected_by_model(&data);
    let (whole, _) = ingest(&data, || usize::MAX);
    let (bytewise, report) = ingest(&data, || 1);
    check_report(&report, &data, ROWS);
    for pipe in ["llm_usage_by_model", "llm_performance"] {
        assert_eq!(
            pipe_result(&bytewise, pipe),
            pipe_result(&whole, pipe),
            "{pipe}"
        );
    }
    check_usage(&pipe_result(&bytewise, "llm_usage_by_model"), &expected);
}

#[wasm_bindgen_test]
fn bad_lines_are_quarantined_and_counted() {
    let mut data = generate_ndjson(20, 3);
    data.extend_from_slice(b"\nthis is not json\n{\"model_name\": \"x\", \n");
    let (store, report) = ingest(&data, chunk_sizes(5, 17));
    let field = |k: &str| report[k].as_u64().expect(k);
    assert_eq!(field("rows"), 20);
    assert_eq!(field("blank"), 1);
    assert_eq!(field("quarantined"), 2);
    assert_eq!(
        field("lines"),
        field("rows") + field("quarantined") + field("blank")
    );
    assert!(!report["errors"].as_array().expect("errors").is_empty());
    assert_eq!(store.row_count(), 20);
}

#[wasm_bindgen_test]
fn streams_accumulate_and_unknown_pipes_fail() {
    let mut store = EventStore::new();
    for (i, seed) in [1u64, 2].into_iter().enumerate() {
        store.write(&generate_ndjson(100, seed)).expect("write");
        let report = serde_json::to_value(store.end().expect("end")).expect("report");
        assert_eq!(report["stream"], format!("stream-{}", i + 1));
    }
    assert_eq!(store.row_count(), 200);
    let names = store.pipe_names();
    assert!(names.iter().any(|n| n == "llm_usage_by_model"), "{names:?}");
    assert!(names.iter().any(|n| n == "llm_performance"), "{names:?}");
    let err = store
        .pipe("no_such_pipe", &Params::new())
        .expect_err("unknown pipe");
    assert!(err.to_string().contains("no_such_pipe"), "{err}");
    // The error crosses into JavaScript as an Error with the same message.
    let js = JsValue::from(wasm_bindgen::JsError::new(&err.to_string()));
    let message = js_sys::Reflect::get(&js, &"message".into()).expect("message");
    assert_eq!(message.as_string(), Some(err.to_string()));
}

#[wasm_bindgen_test]
fn custom_datasource_ingests_its_own_schema() {
    let text = "SCHEMA >\n    `id` UInt32 `json:$.id`,\n    `label` String `json:$.label`\n";
    let mut store = EventStore::from_datasource(text).expect("datasource");
    store.begin("custom").expect("begin");
    store
        .write(b"{\"id\": 1, \"label\": \"a\"}\n{\"id\": 2, \"label\": \"\xc3\xa9\"}\n{\"id\": 3, \"label\": ")
        .expect("write");
    let report = serde_json::to_value(store.end().expect("end")).expect("report");
    assert_eq!(report["rows"], 2);
    assert_eq!(report["quarantined"], 1);
    assert_eq!(store.row_count(), 2);
    assert!(EventStore::from_datasource("SCHEMA >\n    `x` NoSuchType\n").is_err());
}

#[wasm_bindgen_test]
fn a_ten_megabyte_line_does_not_crash_the_module() {
    let mut store = EventStore::new();
    let mut line = b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"".to_vec();
    line.resize(line.len() + (10 << 20), b'x');
    line.extend_from_slice(b"\"}\n{\"event_time\":\"2024-05-01 10:00:01\",\"model_name\":\"m\"}\n");
    for chunk in line.chunks(1 << 20) {
        store.write(chunk).expect("write");
    }
    let report = store.end().expect("end");
    // Under the default 8 MiB line limit the long line is quarantined; the next one is stored.
    assert_eq!((report.lines, report.rows, report.quarantined), (2, 1, 1));
    let q = &store.quarantine().rows()[0];
    assert!(q.errors[0].starts_with("line too long"), "{:?}", q.errors);
    assert!(q.raw.as_ref().map_or(0, String::len) <= (64 << 10) + 64);
}

#[wasm_bindgen_test]
fn a_hundred_thousand_broken_lines_do_not_crash_the_module() {
    let mut store = EventStore::new();
    let mut data = Vec::new();
    for i in 0..100_000u32 {
        match i % 4 {
            0 => data.extend_from_slice(
                b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"\n",
            ),
            1 => data.extend_from_slice(
                b"{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"n/a\"}\n",
            ),
            2 => data.extend_from_slice(b"\xff\xfe not even text\n"),
            _ => data.extend_from_slice(b"{\"prompt_tokens\":-1}\n"),
        }
    }
    for chunk in data.chunks(65_536) {
        store.write(chunk).expect("write");
    }
    let report = store.end().expect("end");
    assert_eq!(
        (report.lines, report.rows, report.quarantined),
        (100_000, 0, 100_000)
    );
    assert_eq!(store.quarantine().len(), 100_000);
    let usage = store
        .pipe("llm_usage_by_model", &Params::new())
        .expect("pipe");
    assert_eq!(usage.rows(), 0);
}
