//! Arbitrary bytes, and saved stores' files with bytes changed, inserted, removed or cut (their
//! checksums put right or not), reopened as store files under budgets and in chunks the input
//! chooses: nothing may panic, and what reopens must answer and save again.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the native and wasm replays.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::store_file(input));
