//! SQL parse and execute on a small store holding NULLs and edge values (`Nullable` columns of
//! every kind, nested paths, a quarantine table), with tight result limits.
//!
//! The input is structure-aware: after a mode byte, its bytes drive a grammar of the supported
//! subset (`WITH` expressions and tables, subqueries in `FROM`, `IN` and as scalars, `DISTINCT`,
//! `WHERE`, `GROUP BY`, `HAVING`, `ORDER BY`, `LIMIT BY`, `LIMIT … OFFSET`, every function and
//! aggregate with parameters, `CASE`, `BETWEEN`, `INTERVAL`, casts, edge constants, NULL and
//! string escapes) with a bounded depth; one input in eight is raw text and one has raw bytes
//! spliced into a built query.
//!
//! Nothing may panic; every failure is an error value; answers stay within the result limits
//! and are valid JSON.
//!
//! The checks live in `fuzz/cases/mod.rs`, shared with the replay of saved inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../cases/mod.rs"]
mod cases;

fuzz_target!(|input: &[u8]| cases::sql(input));
