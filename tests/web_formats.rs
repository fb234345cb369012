//! Vendor log formats compiled to wasm32 and run by wasm-bindgen-test-runner (Node.js, or
//! headless Chromium with `WASM_BINDGEN_USE_BROWSER=1`): every fixture loads into the same rows
//! as natively, and deep or wide vendor lines stay within wasm32's 1 MiB stack.
#![cfg(target_arch = "wasm32")]

mod formats_cases;

use formats_cases::*;
use llm_metrics::EventStore;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn every_format_loads_into_the_rows_worked_out_by_hand() {
    for case in CASES {
        let mut store = EventStore::new();
        let report = load(&mut store, case.file, &fixture(case.file), None);
        check_report(case, &report);
        assert_eq!(rows(&store), expected(case.rows), "{}", case.file);
    }
}

#[wasm_bindgen_test]
fn deep_vendor_lines_are_quarantined_not_a_crash() {
    check_hostile_depth();
}

#[wasm_bindgen_test]
fn an_export_line_of_ten_thousand_spans_is_ten_thousand_records() {
    check_many_spans();
}
