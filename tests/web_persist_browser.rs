//! `tests/web_persist.rs` once more, configured to run in a browser: `wasm-pack test --node`
//! runs `tests/web_persist.rs` in Node.js and skips this suite, `wasm-pack test --headless
//! --chrome` runs this one in headless Chromium and skips that.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[path = "web_persist.rs"]
mod web_persist;
