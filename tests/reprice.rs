//! `EventStore::reprice`: the stored rows' costs recomputed under a price table equal the price
//! package's own calculator (PyPI `genai-prices`, `tests/prices/oracle.py`) on the same usage,
//! to Float32 precision; costs from the log and canonical lines are kept.
#![cfg(not(target_arch = "wasm32"))]

mod formats_cases;

use formats_cases::*;
use llm_metrics::formats::prices::PriceTable;
use llm_metrics::{EventStore, Params, Value};

/// The price table of the pinned npm package.
fn price_table() -> PriceTable {
    PriceTable::from_json(&price_table_text()).expect("table")
}

/// The Python of the test environment (`.venv`, with `genai-prices` from tests/requirements.txt).
fn python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    if std::path::Path::new(venv).exists() {
        venv.to_string()
    } else {
        "python3".to_string()
    }
}

/// Runs `tests/prices/oracle.py` with `args` on `input`.
fn oracle(args: &[&str], input: &str) -> Vec<u8> {
    let mut child = std::process::Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/prices/oracle.py"
        ))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs the oracle");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(
        out.status.success(),
        "oracle failed (pip install -r tests/requirements.txt)"
    );
    out.stdout
}

/// Every fixture of every format, loaded without a price table.
fn fixtures_store() -> EventStore {
    let mut store = EventStore::new();
    for case in CASES {
        load(&mut store, case.file, &fixture(case.file), None);
    }
    store
}

const ROWS: &str = "SELECT model_name, provider, toUInt32(event_time) AS t, prompt_tokens, \
    completion_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, \
    cost_source, source_format FROM llm_events ORDER BY source_format, request_id, event_time";

fn text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn uint(v: &Value) -> u64 {
    match v {
        Value::UInt(u) => *u,
        other => panic!("not an unsigned integer: {other:?}"),
    }
}

#[test]
fn repriced_costs_are_the_price_packages_own() {
    let table = price_table();
    let version = String::from_utf8(oracle(&["--version"], "")).expect("utf-8");
    // The PyPI calculator is the npm table's version.
    assert_eq!(
        table.cost_source,
        format!("genai-prices {}", version.trim()),
        "pin genai-prices in tests/requirements.txt to the npm package's version"
    );
    let mut store = fixtures_store();
    let before = store.sql(ROWS, &Params::new()).expect("sql");
    let done = store.reprice(&table).expect("reprice");
    // By hand from the fixtures: LiteLLM 3, Langfuse 2, Helicone 2 and Ollama 3 rows carry
    // their own cost; the other 27 rows (Gemini's 3 and Bedrock's 3 among them) are costed by
    // the table.
    assert_eq!(done.kept_from_log, 10, "{done:?}");
    assert_eq!(done.repriced + done.unpriced, 27, "{done:?}");
    let after = store.sql(ROWS, &Params::new()).expect("sql");
    assert_eq!(after.rows(), 37);

    let cases: Vec<serde_json::Value> = after
        .data
        .iter()
        .map(|r| {
            serde_json::json!({
                "model": text(&r[0]),
                "provider": text(&r[1]),
                "time_ms": uint(&r[2]) * 1000,
                "usage": {
                    "input_tokens": uint(&r[3]),
                    "output_tokens": uint(&r[4]),
                    "cache_read_tokens": uint(&r[5]),
                    "cache_write_tokens": uint(&r[6]),
                    "output_reasoning_tokens": uint(&r[7]),
                },
            })
        })
        .collect();
    let want: Vec<Option<f64>> =
        serde_json::from_slice(&oracle(&[], &serde_json::Value::from(cases).to_string()))
            .expect("oracle JSON");
    let (mut priced, mut unpriced) = (0, 0);
    for (i, (row, want)) in after.data.iter().zip(&want).enumerate() {
        let cost = match row[8] {
            Value::Float32(c) => f64::from(c),
            ref other => panic!("cost {other:?}"),
        };
        let source = text(&row[9]);
        let what = format!("{} {} ({source})", text(&row[10]), text(&row[0]));
        if source == "log" {
            // Kept exactly as loaded.
            assert_eq!(row[8], before.data[i][8], "{what}");
            continue;
        }
        match want {
            Some(w) => {
                assert_eq!(source, table.cost_source, "{what}");
                assert!(
                    (cost - w).abs() <= 1e-6 * w.abs() + 1e-12,
                    "{what}: {cost} vs the package's {w}"
                );
                priced += 1;
            }
            None => {
                assert_eq!((source.as_str(), cost), ("unpriced", 0.0), "{what}");
                unpriced += 1;
            }
        }
    }
    assert_eq!((priced, unpriced), (done.repriced, done.unpriced));
    assert!(priced >= 10 && unpriced > 0, "{done:?}");

    // Repricing again changes nothing; rows costed by the table at ingest cost the same.
    assert_eq!(store.reprice(&table).expect("again"), done);
    assert_eq!(
        store.sql(ROWS, &Params::new()).expect("sql").data,
        after.data
    );
    let mut at_ingest = EventStore::new();
    at_ingest.set_prices(Some(table.clone()));
    for case in CASES {
        load(&mut at_ingest, case.file, &fixture(case.file), None);
    }
    assert_eq!(
        at_ingest.sql(ROWS, &Params::new()).expect("sql").data,
        after.data
    );
}

#[test]
fn reprice_keeps_canonical_costs_and_needs_the_columns() {
    let table = price_table();
    let mut store = EventStore::new();
    store.begin("canon.ndjson").expect("begin");
    store
        .write(
            b"{\"event_time\":\"2024-12-06 12:00:00\",\"model_name\":\"gpt-4o\",\"prompt_tokens\":1000,\"cost\":7}\n\
{\"event_time\":\"2024-12-06 12:00:00\",\"model_name\":\"gpt-4o\",\"provider\":\"openai\",\"prompt_tokens\":1000,\"completion_tokens\":1000,\"cost_source\":\"unpriced\"}\n",
        )
        .expect("write");
    store.end().expect("end");
    let done = store.reprice(&table).expect("reprice");
    assert_eq!(
        (done.repriced, done.unpriced, done.kept_from_log),
        (1, 0, 1)
    );
    let e = store
        .sql(
            "SELECT cost, cost_source FROM llm_events ORDER BY cost",
            &Params::new(),
        )
        .expect("sql");
    // gpt-4o on 2024-12-06: $2.50 per million input tokens, $10 per million output tokens.
    assert_eq!(e.get(0, "cost"), Some(&Value::Float32(0.0125)));
    assert_eq!(e.get(1, "cost"), Some(&Value::Float32(7.0)));
    assert_eq!(e.get(1, "cost_source"), Some(&Value::Str(String::new())));

    let mut other = EventStore::from_datasource(
        "SCHEMA >\n    `event_time` DateTime `json:$.event_time`,\n    `cost` Float32 `json:$.cost`\n",
    )
    .expect("datasource");
    let err = other.reprice(&table).expect_err("no such columns");
    assert!(err.to_string().contains("model_name"), "{err}");
}
