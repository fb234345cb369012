//! `tests/web_store_types.rs` once more, configured to run in a browser: `wasm-pack test --node` runs
//! `tests/web_store_types.rs` in Node.js and skips this suite, `wasm-pack test --headless --chrome` runs
//! this one in headless Chromium and skips that (a suite runs only on the host its
//! configuration names, Node.js when it names none). One suite per file, since a browser suite
//! runs its tests in one task and the runner gives up on a file after `WASM_BINDGEN_TEST_TIMEOUT`
//! seconds (20 unless set; `scripts/test.sh` sets it).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "web_store_types.rs"]
mod web_store_types;
