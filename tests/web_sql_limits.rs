//! Hostile SQL in wasm32, where the stack is 1 MiB and an overflow aborts the module and loses
//! every loaded row: 100,000-term `+`, `*` and `||` chains (`||` is flat: 50,000 terms answer), 5,000 nested `FROM (SELECT …)` and
//! `WITH` tables, 31 nested subqueries of 32 joins each, a 60-alias `WITH` chain whose substitution doubles per alias, and `IN` over a
//! subquery of 200,000 distinct strings, JSON functions over 500,000 open arrays, `arrayJoin` of a
//! million elements a row, and regular expressions that backtrack exponentially elsewhere, compile
//! past the size bound or nest 100,000 groups. Each must end within 10 s with an answer or an error,
//! wasm memory must stay under 1 GiB, and the same store must answer `llm_usage_by_model`
//! afterwards. Elapsed times are printed. The `sql` and `pipe` fuzz targets' largest and slowest
//! saved inputs (`fuzz/worst/`) are replayed through their checks here too.
//!
//! ```sh
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test --target wasm32-unknown-unknown --test web_sql_limits                            # Node.js
//! WASM_BINDGEN_USE_BROWSER=1 cargo test --target wasm32-unknown-unknown --test web_sql_limits # Chromium
//! ```
#![cfg(target_arch = "wasm32")]

#[allow(dead_code)]
#[path = "limits/mod.rs"]
mod limits;
#[path = "wasm_host/mod.rs"]
mod wasm_host;

use llm_metrics::{EventStore, Params};
use serde_json::{json, Value};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn memory_bytes() -> usize {
    core::arch::wasm32::memory_size(0) * 65_536
}

/// Runs `sql` on `store`, checks it ends in time and memory, and returns its data or error text.
/// The host gets a turn first, so a browser page answers its test runner between queries.
async fn timed(store: &EventStore, name: &str, sql: &str) -> Result<Value, String> {
    let out = timed_on_any(store, name, sql).await;
    limits::check_usage(store);
    out
}

/// [`timed`] on a store of other rows than [`limits::store`]'s.
async fn timed_on_any(store: &EventStore, name: &str, sql: &str) -> Result<Value, String> {
    wasm_host::yield_to_host().await;
    let started = now_ms();
    let out = store
        .sql(sql, &Params::new())
        .map(|e| {
            serde_json::from_str::<Value>(&e.to_json()).expect("endpoint JSON")["data"].clone()
        })
        .map_err(|e| e.to_string());
    let seconds = (now_ms() - started) / 1000.0;
    let memory = memory_bytes();
    console_log!(
        "{name}: {} bytes of SQL, {seconds:.3} s, wasm memory {} MiB",
        sql.len(),
        memory >> 20
    );
    // A guard against work that grows faster than the input, not a speed target: the figures
    // above are printed, and the bound leaves room for a loaded machine.
    assert!(seconds < 60.0, "{name}: {seconds} s");
    assert!(memory < 1 << 30, "{name}: {memory} bytes");
    out
}

#[wasm_bindgen_test]
async fn hostile_sql_ends_cleanly_and_the_store_still_answers() {
    let store = limits::store();
    // `||` is one concat() of every operand, as in ClickHouse: flat, so 50,000 terms answer
    // and 100,000 pass the bound on an expression's size.
    let chain = vec!["'x'"; 50_000].join(" || ");
    let data = timed(&store, "50,000-term ||", &format!("SELECT {chain} AS s"))
        .await
        .expect("answer");
    assert_eq!(data, json!([{ "s": "x".repeat(50_000) }]));
    let chain = vec!["'x'"; 100_000].join(" || ");
    let err = timed(&store, "100,000-term ||", &format!("SELECT {chain}"))
        .await
        .expect_err("too large");
    assert!(err.contains("too large"), "{err}");
    for op in ["+", "*"] {
        let chain = vec!["1"; 100_000].join(&format!(" {op} "));
        let err = timed(
            &store,
            &format!("100,000-term {op}"),
            &format!("SELECT {chain}"),
        )
        .await
        .expect_err("too deep");
        assert!(err.contains("nest too deeply"), "{op}: {err}");
    }
    // Near the bound, a chain over a column answers: 3 rows, the largest total 40.
    let chain = vec!["total_tokens"; 250].join(" + ");
    let data = timed(
        &store,
        "250-term +",
        &format!("SELECT max({chain}) AS m FROM llm_events"),
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "m": 40 * 250 }]));
    let mut e = String::from("total_tokens");
    for _ in 0..60 {
        e = format!("(1 + {e})");
    }
    let data = timed(
        &store,
        "60 nested (1 + …)",
        &format!("SELECT max({e}) AS m FROM llm_events"),
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "m": 100 }]));

    let mut from = String::from("SELECT count() AS c FROM llm_events");
    for _ in 0..5_000 {
        from = format!("SELECT * FROM ({from})");
    }
    let err = timed(&store, "5,000 nested FROM", &from)
        .await
        .expect_err("too deep");
    assert!(err.contains("nest too deeply"), "{err}");
    let mut from = String::from("SELECT count() AS c FROM llm_events");
    for _ in 0..31 {
        from = format!("SELECT * FROM ({from})");
    }
    let data = timed(&store, "31 nested FROM", &from)
        .await
        .expect("answer");
    assert_eq!(data, json!([{ "c": 3 }]));

    // Joins and subqueries share one bound: 31 levels of 32 joins each are refused, 31 levels
    // of one join and one level of 32 joins answer.
    let nested_joins = |levels: usize, joins: usize| {
        let mut q = String::from("SELECT 1 AS c");
        for _ in 0..levels {
            let chain: String = (1..=joins)
                .map(|i| format!(" CROSS JOIN (SELECT 1 AS z{i}) AS s{i}"))
                .collect();
            q = format!("SELECT 1 AS c FROM ({q}) AS s0{chain}");
        }
        q
    };
    let err = timed(&store, "31 x 32 nested JOIN", &nested_joins(31, 32))
        .await
        .expect_err("too deep");
    assert!(err.contains("nest too deeply"), "{err}");
    for (levels, joins) in [(31, 1), (1, 32)] {
        let data = timed(&store, "nested JOIN", &nested_joins(levels, joins))
            .await
            .expect("answer");
        assert_eq!(data, json!([{ "c": 1 }]));
    }

    let mut with = String::from("SELECT 1 AS x");
    for i in 0..5_000 {
        with = format!("WITH t{i} AS ({with}) SELECT * FROM t{i}");
    }
    let err = timed(&store, "5,000 nested WITH", &with)
        .await
        .expect_err("too deep");
    assert!(err.contains("nest too deeply"), "{err}");

    // JSON nested far past simdjson's 1,024 levels is not JSON (the functions' defaults, as
    // ClickHouse answers), and 1,024 levels are written out again: neither the parser nor the
    // writer recurses.
    let open = "[".repeat(500_000);
    let data = timed(
        &store,
        "500,000 open JSON arrays",
        &format!(
            "SELECT JSONLength('{open}') AS n, JSONExtractRaw('{open}') AS r, \
             visitParamExtractRaw('{open}', 'a') AS v"
        ),
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "n": 0, "r": "", "v": "" }]));
    let nested = format!("{}{}", "[".repeat(1024), "]".repeat(1024));
    let data = timed(
        &store,
        "1,024 nested JSON arrays",
        &format!("SELECT length(JSONExtractRaw('{nested}')) AS n, JSONHas('{nested}', 1) AS h"),
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "n": 2048, "h": 1 }]));

    let mut aliases = String::from("WITH 1 AS a0");
    for i in 1..60 {
        aliases.push_str(&format!(", a{} + a{} AS a{i}", i - 1, i - 1));
    }
    // Constant aliases are folded once: the chain doubles 1 fifty-nine times.
    let data = timed(&store, "60-alias chain", &format!("{aliases} SELECT a59"))
        .await
        .expect("answer");
    assert_eq!(data, json!([{ "a59": 1u64 << 59 }]));
}

#[wasm_bindgen_test]
async fn in_over_two_hundred_thousand_distinct_strings_ends_in_time() {
    let mut store = limits::store();
    let mut data = String::new();
    for i in 0..200_000 {
        data.push_str(&format!(
            "{{\"event_time\":\"2024-05-02 10:00:00\",\"model_name\":\"model-{i}\"}}\n"
        ));
    }
    store.write(data.as_bytes()).expect("write");
    store.end().expect("end");
    wasm_host::yield_to_host().await;
    let started = now_ms();
    let e = store
        .sql(
            "SELECT count() AS n FROM llm_events WHERE model_name IN \
             (SELECT model_name FROM llm_events WHERE prompt_tokens = 0)",
            &Params::new(),
        )
        .expect("answer");
    let seconds = (now_ms() - started) / 1000.0;
    console_log!(
        "IN over 200,000 strings: {seconds:.3} s, wasm memory {} MiB",
        memory_bytes() >> 20
    );
    let v: Value = serde_json::from_str(&e.to_json()).expect("endpoint JSON");
    assert_eq!(v["data"], json!([{ "n": 200_000 }]));
    // A linear scan took over a minute natively; the bound leaves room for a loaded machine.
    assert!(seconds < 60.0, "{seconds} s");
}

#[wasm_bindgen_test]
async fn array_join_of_a_million_elements_ends_within_budgets() {
    // Three rows of a million elements each: 3,000,000 rows, under the 4,000,000 one block may
    // make, answer. The sum is 3 * (0 + 1 + … + 999,999) = 3 * 999,999 * 1,000,000 / 2.
    let store = limits::store();
    let data = timed(
        &store,
        "arrayJoin(range(1000000)) over 3 rows",
        "SELECT count() AS c, sum(arrayJoin(range(1000000))) AS s FROM llm_events",
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "c": 3_000_000, "s": 1_499_998_500_000u64 }]));

    let mut store = limits::store();
    let mut rows = String::new();
    for i in 0..100_000 {
        rows.push_str(&format!(
            "{{\"event_time\":\"2024-05-02 10:00:00\",\"model_name\":\"m{}\"}}\n",
            i % 7
        ));
    }
    store.write(rows.as_bytes()).expect("write");
    store.end().expect("end");
    // A block of 8,192 rows would make 8,192,000,000: refused before any is made.
    for sql in [
        "SELECT count() FROM llm_events WHERE arrayJoin(range(1000000)) > 5",
        "SELECT arrayJoin(range(1000000)) AS x FROM llm_events",
        "SELECT count() FROM llm_events LEFT ARRAY JOIN range(1000000) AS x, range(1000000) AS y",
        "SELECT model_name, count() FROM llm_events \
         GROUP BY model_name, arrayJoin(range(toUInt32(1000000) + length(model_name)))",
    ] {
        let err = timed_on_any(&store, "arrayJoin(range(1000000)) over 100,003 rows", sql)
            .await
            .expect_err("too many rows");
        assert!(err.contains("more than 4000000"), "{sql}: {err}");
    }
    // 480 elements a row stay under the bound per block, but 48,001,440 rows of 8 bytes are
    // more than the 256 MiB result bound: refused while they are made.
    let err = timed_on_any(
        &store,
        "arrayJoin(range(480)) over 100,003 rows",
        "SELECT arrayJoin(range(480)) AS x FROM llm_events",
    )
    .await
    .expect_err("too large");
    assert!(err.contains("arrayJoin makes more rows than fit"), "{err}");
    // Grouped, the rows are not held: 10,000,300 rows answer.
    let data = timed_on_any(
        &store,
        "count of arrayJoin(range(100)) over 100,003 rows",
        "SELECT count() AS c FROM llm_events WHERE arrayJoin(range(100)) >= 0",
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "c": 10_000_300 }]));
    let data = timed_on_any(
        &store,
        "the store after arrayJoin",
        "SELECT count() AS c FROM llm_events",
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "c": 100_003 }]));
}

#[wasm_bindgen_test]
async fn results_past_the_default_byte_bound_are_errors() {
    let mut store = EventStore::new();
    store
        .write(&llm_metrics::generate_ndjson(200_000, 3))
        .expect("write");
    store.end().expect("end");
    wasm_host::yield_to_host().await;
    // An unaliased 2 KB expression names a column of every row: 200,000 rows * 2 KB pass the
    // default 256 MiB bound, and the error comes before the result is built.
    let long = vec!["prompt_tokens"; 150].join(" + ");
    let started = now_ms();
    let err = store
        .sql(&format!("SELECT {long} FROM llm_events"), &Params::new())
        .expect_err("past max_result_bytes")
        .to_string();
    let seconds = (now_ms() - started) / 1000.0;
    console_log!(
        "2 KB column name over 200,000 rows: {seconds:.3} s, wasm memory {} MiB",
        memory_bytes() >> 20
    );
    assert!(err.contains("max_result_bytes"), "{err}");
    assert!(memory_bytes() < 1 << 30);
    let e = store
        .sql("SELECT count() AS n FROM llm_events", &Params::new())
        .expect("count");
    let v: Value = serde_json::from_str(&e.to_json()).expect("endpoint JSON");
    assert_eq!(v["data"], json!([{ "n": 200_000 }]));
}

#[wasm_bindgen_test]
async fn arrays_past_max_bytes_are_errors_naming_it() {
    let started = now_ms();
    limits::check_array_budget();
    console_log!(
        "arrays past maxBytes: {:.3} s, wasm memory {} MiB",
        (now_ms() - started) / 1000.0,
        memory_bytes() >> 20
    );
    assert!(memory_bytes() < 1 << 30);
}

#[path = "../fuzz/cases/mod.rs"]
mod cases;

/// A saved input of the `sql` or `pipe` fuzz target: its file, the target's checks, its bytes.
type FuzzInput = (&'static str, fn(&[u8]), &'static [u8]);

/// The query fuzz targets' saved inputs: the largest and slowest inputs of each corpus
/// (`tests/fuzz_inputs.rs` checks that every file is listed).
const FUZZ_INPUTS: &[FuzzInput] = &[
    (
        "fuzz/worst/sql/largest-1",
        cases::sql,
        include_bytes!("../fuzz/worst/sql/largest-1"),
    ),
    (
        "fuzz/worst/sql/slowest-1",
        cases::sql,
        include_bytes!("../fuzz/worst/sql/slowest-1"),
    ),
    (
        "fuzz/worst/sql/slowest-2",
        cases::sql,
        include_bytes!("../fuzz/worst/sql/slowest-2"),
    ),
    (
        "fuzz/worst/pipe/largest-1",
        cases::pipe,
        include_bytes!("../fuzz/worst/pipe/largest-1"),
    ),
    (
        "fuzz/worst/pipe/slowest-1",
        cases::pipe,
        include_bytes!("../fuzz/worst/pipe/slowest-1"),
    ),
    (
        "fuzz/worst/pipe/slowest-2",
        cases::pipe,
        include_bytes!("../fuzz/worst/pipe/slowest-2"),
    ),
];

#[wasm_bindgen_test]
async fn saved_query_fuzz_inputs_pass_every_check_in_wasm() {
    for (name, check, input) in FUZZ_INPUTS {
        wasm_host::yield_to_host().await;
        let started = now_ms();
        check(input);
        console_log!(
            "{name}: {} bytes, {:.3} s",
            input.len(),
            (now_ms() - started) / 1000.0
        );
    }
}

#[wasm_bindgen_test]
async fn hostile_regular_expressions_end_cleanly() {
    let store = limits::store();
    // Patterns that backtracking engines take exponential time over: matched in linear time.
    // No 'b' and no 'y' in the texts, so neither matches (chDB answers 0, 0 too).
    let a = "a".repeat(100_000);
    let x = "x".repeat(100_000);
    let data = timed(
        &store,
        "(a*)*b and (x+x+)+y over 100,000 characters",
        &format!("SELECT match('{a}', '(a*)*b') AS m, match('{x}', '(x+x+)+y') AS n"),
    )
    .await
    .expect("answer");
    assert_eq!(data, json!([{ "m": 0, "n": 0 }]));
    // A program past the size bound is refused when the query is bound, before any row.
    let err = timed(
        &store,
        "((a{100}){100}){100}",
        "SELECT match(model_name, '((a{100}){100}){100}') FROM llm_events",
    )
    .await
    .expect_err("too large");
    assert!(err.contains("cannot compile re2"), "{err}");
    assert!(err.contains("size limit"), "{err}");
    // Groups nested 100,000 deep: refused, not a stack overflow.
    let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = timed(
        &store,
        "100,000 nested groups",
        &format!("SELECT match(model_name, '{deep}') FROM llm_events"),
    )
    .await
    .expect_err("too deep");
    assert!(err.contains("cannot compile re2"), "{err}");
    let data = timed(
        &store,
        "match after hostile patterns",
        "SELECT countIf(match(model_name, '1$')) AS c FROM llm_events",
    )
    .await
    .expect("answer");
    // Two of the three rows are model m1.
    assert_eq!(data, json!([{ "c": 2 }]));
}
