//! Arbitrary bytes through the streaming decoder, cut into chunks where the input says: nothing
//! may panic, every line must be accounted for, and chunking must never change the result.
//!
//! The input is a 4-byte header followed by the stream:
//!
//! * `header[0]` bit 0: a small line limit, `1 + 8 * header[1]` bytes, instead of 8 MiB;
//!   bit 1: a datasource with every column type and nested paths instead of `llm_events`;
//!   bit 2: two streams, split where `header[2..4]` says;
//!   bit 3: also feed inputs of up to 4 KiB one byte at a time;
//!   bits 4-7: the number of cuts, minus one.
//! * `header[2..4]`: the seed of the cut positions.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the wasm replay of saved inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::decoder(input));
