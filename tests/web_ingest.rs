//! Ingest compiled to wasm32 and run by wasm-bindgen-test-runner, in Node.js and in headless
//! Chromium: nested datasource shapes, the memory budget, and replay of the fuzz targets' saved
//! inputs. The file does not call `wasm_bindgen_test_configure!`, so the environment picks the
//! host:
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web_ingest                            # Node.js
//! WASM_BINDGEN_USE_BROWSER=1 cargo test --target wasm32-unknown-unknown --test web_ingest # Chromium
//! ```
#![cfg(target_arch = "wasm32")]

mod shapes;

use llm_metrics::{EventStore, Params};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn nested_paths_among_keys_outside_the_schema_store_every_line() {
    shapes::check_random_shapes(150, 20);
}

#[wasm_bindgen_test]
fn the_llm_response_shape_stores_every_line() {
    shapes::check_llm_response_shape();
}

/// Bytes of wasm linear memory in use (it only grows).
fn wasm_memory() -> u64 {
    core::arch::wasm32::memory_size(0) as u64 * 65536
}

/// A store for `llm_events` with a budget of `max_bytes`.
fn budget_store(max_bytes: u64) -> EventStore {
    EventStore::with_datasource(
        llm_metrics::Datasource::llm_events(),
        llm_metrics::Options {
            max_bytes,
            max_line_bytes: 8 << 20,
            ..Default::default()
        },
    )
}

const BUDGET: u64 = 64 << 20;

/// Twice the budget plus 64 MiB: the bound on wasm memory for a store of `BUDGET`.
const MEMORY_BOUND: u64 = 2 * BUDGET + (64 << 20);

#[wasm_bindgen_test]
fn two_million_quarantined_lines_stay_within_the_budget() {
    let mut store = budget_store(BUDGET);
    let lines = 2_000_000u64;
    let chunk = b"{}\n".repeat(50_000);
    for _ in 0..lines / 50_000 {
        store
            .write(&chunk)
            .expect("quarantined lines never fill the store");
    }
    store
        .write(
            b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"total_tokens\":7}\n",
        )
        .expect("write");
    let report = store.end().expect("end");
    assert_eq!(
        (report.lines, report.rows, report.quarantined),
        (lines + 1, 1, lines)
    );
    let kept = store.quarantine().rows().len() as u64;
    assert_eq!(store.quarantine().len() as u64, lines);
    assert_eq!(report.not_kept, lines - kept);
    assert!(store.store().bytes() <= BUDGET);
    let memory = wasm_memory();
    web_sys_log(&format!(
        "2M quarantined lines: {kept} kept, storeBytes {}, wasm memory {memory} bytes",
        store.store().bytes()
    ));
    assert!(memory < MEMORY_BOUND, "wasm memory {memory} bytes");
    let r = store
        .sql(
            "SELECT sum(total_tokens) AS t FROM llm_events",
            &Params::new(),
        )
        .expect("query");
    assert!(
        r.to_json().contains(r#""data":[{"t":7}]"#),
        "{}",
        r.to_json()
    );
}

#[wasm_bindgen_test]
fn two_hundred_distinct_one_mebibyte_names_stay_within_the_budget() {
    let mut store = budget_store(BUDGET);
    let mut failed = None;
    let filler = "m".repeat(1 << 20);
    for i in 0..200u32 {
        let line = format!(
            "{{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"{i:03}{filler}\",\"total_tokens\":1}}\n"
        );
        match store.write(line.as_bytes()) {
            Ok(()) => {}
            Err(e) => {
                failed = Some((i, e.to_string()));
                break;
            }
        }
    }
    let (i, msg) = failed.expect("64 MiB does not hold 200 MiB of names");
    assert!(
        msg.starts_with(&format!("store is full at {i} rows"))
            && msg.contains(&format!("the rows before line {} of stream-1", i + 1)),
        "{msg}"
    );
    assert!(i >= 50, "{i} names stored");
    assert_eq!(store.write(b"{}\n").map_err(|e| e.to_string()), Err(msg));
    assert!(store.store().bytes() <= BUDGET);
    let memory = wasm_memory();
    web_sys_log(&format!(
        "200 names of 1 MiB: {i} stored, storeBytes {}, wasm memory {memory} bytes",
        store.store().bytes()
    ));
    assert!(memory < MEMORY_BOUND, "wasm memory {memory} bytes");
    let r = store
        .sql(
            "SELECT count() AS n, uniqExact(model_name) AS m FROM llm_events",
            &Params::new(),
        )
        .expect("query");
    assert!(
        r.to_json()
            .contains(&format!(r#""data":[{{"n":{i},"m":{i}}}]"#)),
        "{}",
        r.to_json()
    );
}

/// Prints a line to the test's output.
fn web_sys_log(s: &str) {
    wasm_bindgen_test::console_log!("{s}");
}

#[path = "../fuzz/cases/mod.rs"]
mod cases;

/// The fuzz targets' saved inputs: the failures they found and the largest and slowest inputs of
/// each corpus (`tests/fuzz_inputs.rs` checks that every file is listed).
/// A saved input: its file, the target's checks, its bytes.
type FuzzInput = (&'static str, fn(&[u8]), &'static [u8]);

const FUZZ_INPUTS: &[FuzzInput] = &[
    (
        "fuzz/regressions/schema_decoder/store-full-bytes-independent-of-chunking",
        cases::schema_decoder,
        include_bytes!(
            "../fuzz/regressions/schema_decoder/store-full-bytes-independent-of-chunking"
        ),
    ),
    (
        "fuzz/regressions/schema_decoder/refused-row-gives-back-dictionary-room",
        cases::schema_decoder,
        include_bytes!("../fuzz/regressions/schema_decoder/refused-row-gives-back-dictionary-room"),
    ),
    (
        "fuzz/regressions/schema_decoder/store-over-a-tiny-budget",
        cases::schema_decoder,
        include_bytes!("../fuzz/regressions/schema_decoder/store-over-a-tiny-budget"),
    ),
    (
        "fuzz/worst/datasource/largest-1",
        cases::datasource,
        include_bytes!("../fuzz/worst/datasource/largest-1"),
    ),
    (
        "fuzz/worst/datasource/slowest-1",
        cases::datasource,
        include_bytes!("../fuzz/worst/datasource/slowest-1"),
    ),
    (
        "fuzz/worst/datasource/slowest-2",
        cases::datasource,
        include_bytes!("../fuzz/worst/datasource/slowest-2"),
    ),
    (
        "fuzz/worst/decoder/largest-1",
        cases::decoder,
        include_bytes!("../fuzz/worst/decoder/largest-1"),
    ),
    (
        "fuzz/worst/decoder/slowest-1",
        cases::decoder,
        include_bytes!("../fuzz/worst/decoder/slowest-1"),
    ),
    (
        "fuzz/worst/decoder/slowest-2",
        cases::decoder,
        include_bytes!("../fuzz/worst/decoder/slowest-2"),
    ),
    (
        "fuzz/worst/schema_decoder/largest-1",
        cases::schema_decoder,
        include_bytes!("../fuzz/worst/schema_decoder/largest-1"),
    ),
    (
        "fuzz/worst/schema_decoder/slowest-1",
        cases::schema_decoder,
        include_bytes!("../fuzz/worst/schema_decoder/slowest-1"),
    ),
    (
        "fuzz/worst/schema_decoder/slowest-2",
        cases::schema_decoder,
        include_bytes!("../fuzz/worst/schema_decoder/slowest-2"),
    ),
];

#[wasm_bindgen_test]
fn saved_fuzz_inputs_pass_every_check_in_wasm() {
    for (name, check, input) in FUZZ_INPUTS {
        web_sys_log(name);
        check(input);
    }
}
