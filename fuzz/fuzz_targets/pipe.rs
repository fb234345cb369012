//! `.pipe` text and template parameters through the pipe parser, the template checker and
//! renderer, and the query engine: `EventStore::add_pipe`, `expand` and `pipe`, on the `sql`
//! target's store.
//!
//! After a mode byte the input builds a pipe (a description, one to three nodes reading
//! `llm_events` or earlier nodes, SQL from the `sql` target's grammar mixed with `{{ … }}`
//! expressions of every template function, nested `{% if %}`/`{% elif %}`/`{% else %}`, comments
//! and raw bytes, a `TYPE`) and parameters of every JSON kind; one input in four is raw text
//! (half of them after parameters).
//!
//! Nothing may panic; every failure is an error value; a pipe that answers also expands, and its
//! expansion runs as plain SQL.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the replay of saved inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::pipe(input));
