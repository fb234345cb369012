//! `.datasource` text through the parser: nothing may panic, and a datasource that parses makes a
//! store that ingests lines written along its paths (with a small budget) and answers a query.
//!
//! The first input byte picks a prefix that gets past the parser's first checks (none, a
//! `SCHEMA >` header, or a whole schema line), so the fuzzer spends its time deeper.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the wasm replay of saved inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::datasource(input));
