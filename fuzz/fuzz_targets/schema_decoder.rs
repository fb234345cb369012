//! The streaming decoder under random schemas: the input first builds a datasource (1 to 16
//! columns of any type the parser accepts, nested `json:$.a.b` paths that may share prefixes, be
//! prefixes of each other, repeat or differ only in case, an optional partition and sorting key),
//! then a budget (from tiny to unbounded), then lines: objects written along the schema's paths
//! with values of every JSON kind and keys outside the schema at every level, or raw bytes.
//!
//! Nothing may panic; every line is accounted for; the store never passes its budget and the
//! quarantine never passes its share; chunking never changes the result.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the wasm replay of saved inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::schema_decoder(input));
