//! The store file in wasm32: a store written to bytes and reopened answers every shipped pipe
//! and some SQL exactly as the original, read at once or in chunks; truncated, damaged and
//! hostile files (the `store_file` fuzz target's seeds among them) give errors, never a panic,
//! and a section claiming gigabytes allocates nothing.
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web_persist                            # Node.js
//! WASM_BINDGEN_USE_BROWSER=1 cargo test --target wasm32-unknown-unknown --test web_persist # Chromium
//! ```
#![cfg(target_arch = "wasm32")]

#[path = "../fuzz/cases/mod.rs"]
mod cases;

use llm_metrics::{generate_ndjson, EventStore, Options, Params, StoreFileReader};
use wasm_bindgen_test::wasm_bindgen_test;

/// Bytes of linear memory the module holds now.
fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

fn fixed(mut s: EventStore) -> EventStore {
    s.set_clock(|| 0.0);
    s.set_wall_clock(|| 1_717_243_200);
    s
}

fn sample() -> EventStore {
    let mut s = fixed(EventStore::new());
    s.begin("gen.ndjson").expect("begin");
    for chunk in generate_ndjson(40_000, 11).chunks(1 << 16) {
        s.write(chunk).expect("write");
    }
    s.end().expect("end");
    s.begin("odd.ndjson").expect("begin");
    s.write(b"not json\n{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"n/a\"}\n")
        .expect("write");
    s.end().expect("end");
    s
}

fn answers(s: &EventStore) -> Vec<String> {
    let mut filtered = Params::new();
    filtered.insert("models".into(), serde_json::json!(["gpt-4o"]));
    filtered.insert("start_date".into(), "2024-01-03 00:00:00".into());
    let mut out = Vec::new();
    for name in s.pipe_names() {
        for params in [&Params::new(), &filtered] {
            out.push(s.pipe(&name, params).expect("pipe").to_json());
        }
    }
    for q in [
        "SELECT model_name, count() AS n, quantile(0.5)(latency) AS p50 FROM llm_events GROUP BY model_name ORDER BY model_name",
        "SELECT * FROM llm_events ORDER BY event_time, model_name, cost LIMIT 20",
        "SELECT count() AS n, any(c__raw) AS raw FROM llm_events_quarantine",
    ] {
        out.push(s.sql(q, &Params::new()).expect("sql").to_json());
    }
    out
}

#[wasm_bindgen_test]
fn a_reopened_store_answers_as_the_original() {
    let original = sample();
    let file = original.to_store_file().expect("save");
    let reopened = fixed(EventStore::open_store_file(&file, Options::default()).expect("reopen"));
    assert!(reopened.store().same_contents(original.store()));
    assert_eq!(reopened.quarantine().rows(), original.quarantine().rows());
    assert_eq!(answers(&reopened), answers(&original));
    let mut r = StoreFileReader::new(Options::default());
    for chunk in file.chunks(65_521) {
        r.write(chunk).expect("chunk");
    }
    let chunked = r.finish().expect("reopen in chunks");
    assert!(chunked.store().same_contents(original.store()));
}

#[wasm_bindgen_test]
fn truncated_damaged_and_hostile_files_are_refused() {
    let mut s = fixed(EventStore::new());
    s.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\nnot json\n")
        .expect("write");
    s.end().expect("end");
    let file = s.to_store_file().expect("save");
    for n in 0..file.len() {
        assert!(EventStore::open_store_file(&file[..n], Options::default()).is_err());
    }
    for i in 0..file.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x10;
        assert!(EventStore::open_store_file(&bad, Options::default()).is_err());
    }
    // A section that claims 2 GiB: refused before anything is allocated for it.
    let before = memory_bytes();
    let mut huge = file.clone();
    huge[16 + 4..16 + 12].copy_from_slice(&(2u64 << 30).to_le_bytes());
    let e = EventStore::open_store_file(&huge, Options::default()).expect_err("huge");
    assert!(e.to_string().contains("store file"), "{e}");
    assert!(memory_bytes() - before < 64 << 20);
    // Over the budget.
    let small = Options {
        max_bytes: s.store().bytes() / 2,
        ..Options::default()
    };
    let e = EventStore::open_store_file(&file, small).expect_err("over the budget");
    assert!(e.to_string().contains("maxBytes"), "{e}");
}

/// A column index past 2^32 is refused, as natively, not taken modulo wasm32's 32-bit `usize`.
#[wasm_bindgen_test]
fn column_indices_past_4_gib_are_refused() {
    let mut s = fixed(EventStore::new());
    s.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n")
        .expect("write");
    s.end().expect("end");
    let mut file = s.to_store_file().expect("save");
    // The first TABLE section follows the header and META.
    let meta_len = u64::from_le_bytes(file[20..28].try_into().expect("8 bytes")) as usize;
    let at = 16 + 12 + meta_len + 4;
    let len = u64::from_le_bytes(file[at + 4..at + 12].try_into().expect("8 bytes")) as usize;
    // The partition key's column index follows the name, description and engine, and its kind.
    let mut p = at + 12;
    for _ in 0..3 {
        p += 8 + u64::from_le_bytes(file[p..p + 8].try_into().expect("8 bytes")) as usize;
    }
    p += 1;
    let col = u64::from_le_bytes(file[p..p + 8].try_into().expect("8 bytes"));
    file[p..p + 8].copy_from_slice(&(col + (1 << 32)).to_le_bytes());
    let crc = llm_metrics::crc32(&file[at..at + 12 + len]);
    file[at + 12 + len..at + 16 + len].copy_from_slice(&crc.to_le_bytes());
    let e = EventStore::open_store_file(&file, Options::default()).expect_err("index past 4 GiB");
    assert!(e.to_string().contains("not a time column"), "{e}");
}

/// The `store_file` fuzz target's seeds (`fuzz/corpus/store_file/`), through its checks.
#[wasm_bindgen_test]
fn the_store_file_fuzz_seeds_pass_every_check() {
    let seeds: [&[u8]; 8] = [
        include_bytes!("../fuzz/corpus/store_file/whole-0"),
        include_bytes!("../fuzz/corpus/store_file/whole-1"),
        include_bytes!("../fuzz/corpus/store_file/cut-1"),
        include_bytes!("../fuzz/corpus/store_file/tight-budget-0"),
        include_bytes!("../fuzz/corpus/store_file/resealed-0-3"),
        include_bytes!("../fuzz/corpus/store_file/resealed-1-5"),
        include_bytes!("../fuzz/corpus/store_file/raw-edits-0-1"),
        include_bytes!("../fuzz/corpus/store_file/raw-edits-1-4"),
    ];
    for seed in seeds {
        cases::store_file(seed);
    }
}

/// The failures the `store_file` fuzz target found (`fuzz/regressions/store_file/`).
#[wasm_bindgen_test]
fn the_store_file_fuzz_regressions_pass_every_check() {
    let saved: [(&str, &[u8]); 1] = [(
        "fuzz/regressions/store_file/wrong-magic-cut-before-the-header-ends",
        include_bytes!("../fuzz/regressions/store_file/wrong-magic-cut-before-the-header-ends"),
    )];
    for (_, input) in saved {
        cases::store_file(input);
    }
}
