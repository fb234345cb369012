//! Hostile array values in wasm32, where the stack is 1 MiB and a panic aborts the module: an
//! array nested 200,000 deep, an array of 3 million elements, and arrays nested deeper than
//! their column's type each end in a quarantined line (or, nested inside a `String` element,
//! as that element's JSON text), never a panic, with the store within its maxBytes; the
//! store still answers afterwards.
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web_store_types
//! ```
#![cfg(target_arch = "wasm32")]

use llm_metrics::{EventStore, Options, Params, Value};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const SCHEMA: &str = "SCHEMA >\n    `k` String `json:$.k`,\n    `a` Array(String) `json:$.a[:]`,\n    `n` Array(Array(Nullable(UInt8))) `json:$.n`\n";

#[wasm_bindgen_test]
fn hostile_arrays_end_in_quarantine_within_max_bytes() {
    let max_bytes = 8 << 20;
    let files = vec![("t.datasource".to_string(), SCHEMA.to_string())];
    let mut store = EventStore::from_project(
        &files,
        Options {
            max_bytes,
            max_line_bytes: 16 << 20,
            ..Options::default()
        },
    );
    assert_eq!(store.load_errors(), &[]);
    store.begin_into("hostile.ndjson", "t").unwrap();
    let cases = [
        format!("{{\"n\":{}{}}}\n", "[".repeat(200_000), "]".repeat(200_000)),
        format!("{{\"a\":{}{}}}\n", "[".repeat(200_000), "]".repeat(200_000)),
        format!("{{\"a\":[{}1]}}\n", "1,".repeat(3_000_000)),
        format!("{{\"n\":[{}[1]]}}\n", "[[[1]]],".repeat(100_000)),
    ];
    for (i, line) in cases.iter().enumerate() {
        // A full store is an error; any other bad line is quarantined.
        let result = store.write(line.as_bytes());
        console_log!(
            "case {i}: {} bytes, {:?}",
            line.len(),
            result.as_ref().err()
        );
        assert!(store.store().bytes() <= max_bytes, "case {i}");
    }
    let report = store.end().unwrap();
    // Only the deep array in a String element is stored, as its JSON text (as ClickHouse
    // reads it); the others do not read as their type or do not fit.
    assert_eq!((report.rows, report.quarantined), (1, 3));
    let deep = store
        .sql("SELECT length(a[1]) AS l FROM t", &Params::new())
        .unwrap();
    assert_eq!(deep.get(0, "l"), Some(&Value::UInt(399_998)));
    store.begin_into("ok.ndjson", "t").unwrap();
    store
        .write(b"{\"k\":\"fine\",\"a\":[\"x\",\"y\"],\"n\":[[1,null]]}\n")
        .unwrap();
    store.end().unwrap();
    let r = store
        .sql(
            "SELECT length(a) AS l, n FROM t WHERE k = 'fine'",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.get(0, "l"), Some(&Value::UInt(2)));
    assert_eq!(
        r.get(0, "n"),
        Some(&Value::Array(vec![Value::Array(vec![
            Value::UInt(1),
            Value::Null
        ])]))
    );
}

#[wasm_bindgen_test]
fn hostile_maps_end_in_quarantine_within_max_bytes() {
    let schema = "SCHEMA >\n    `k` String `json:$.k`,\n    `m` Map(String, String) `json:$.m`,\n    `am` Array(Map(String, Array(UInt8))) `json:$.am[:]`\n";
    let max_bytes = 8 << 20;
    let files = vec![("t.datasource".to_string(), schema.to_string())];
    let mut store = EventStore::from_project(
        &files,
        Options {
            max_bytes,
            max_line_bytes: 16 << 20,
            ..Options::default()
        },
    );
    assert_eq!(store.load_errors(), &[]);
    store.begin_into("hostile.ndjson", "t").unwrap();
    let deep = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let cases = [
        format!("{{\"m\":{{\"x\":{deep}}}}}\n"),
        format!(
            "{{\"m\":{{{}\"k\":\"v\"}}}}\n",
            "\"k\":\"v\",".repeat(1_000_000)
        ),
        "{\"am\":[{\"x\":[[1]]}]}\n".to_string(),
        format!("{{\"am\":[{{\"x\":{deep}}}]}}\n"),
    ];
    for (i, line) in cases.iter().enumerate() {
        let result = store.write(line.as_bytes());
        console_log!(
            "map case {i}: {} bytes, {:?}",
            line.len(),
            result.as_ref().err()
        );
        assert!(store.store().bytes() <= max_bytes, "map case {i}");
    }
    let report = store.end().unwrap();
    // Only the deep array in a String value is stored, as its JSON text; the others do not read
    // as their type or do not fit.
    assert_eq!((report.rows, report.quarantined), (1, 3));
    let r = store
        .sql("SELECT length(m['x']) AS l FROM t", &Params::new())
        .unwrap();
    assert_eq!(r.get(0, "l"), Some(&Value::UInt(400_000)));
}
