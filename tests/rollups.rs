//! Materialized pipes run as ClickHouse materialized views do: the project in
//! tests/fixtures/rollups (a raw datasource, a pipe into an AggregatingMergeTree of states and
//! simple aggregates, one into a SummingMergeTree, an `Array(String)` column filled from
//! `json:$.tags[:]`) takes generated NDJSON in four chunks, and every endpoint answers as the
//! same tables and materialized views answer in ClickHouse 26.9 (chDB) after the same four
//! inserts. tests/chdb/rollups.py writes the NDJSON and the expected answers.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{read_project_dir, EventStore, Options, Params};
use serde_json::Value as J;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rollups"
    ))
}

fn same(got: &J, want: &J) -> bool {
    match (got, want) {
        (J::Number(a), J::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
        }
        (J::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (J::Object(a), J::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(x, y)))
        }
        _ => got == want,
    }
}

fn loaded() -> EventStore {
    let files = read_project_dir(&dir()).unwrap();
    let mut store = EventStore::from_project(&files, Options::default());
    assert_eq!(store.load_errors(), &[]);
    assert!(
        store
            .load_notes()
            .iter()
            .all(|n| !n.message.contains("not run")),
        "{:?}",
        store.load_notes()
    );
    let text = std::fs::read_to_string(dir().join("calls.ndjson")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    store.begin_into("calls.ndjson", "calls").unwrap();
    // Four inserts, as the oracle makes them.
    for chunk in lines.chunks(lines.len().div_ceil(4)) {
        store
            .write(format!("{}\n", chunk.join("\n")).as_bytes())
            .unwrap();
    }
    store.end().unwrap();
    store
}

#[test]
fn every_endpoint_answers_as_clickhouse_materialized_views_do() {
    let store = loaded();
    let expected: J =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    assert_eq!(store.datasource_rows("calls"), expected["rows"].as_u64());
    assert_eq!(
        store.quarantine().count(),
        expected["quarantined"].as_u64().unwrap()
    );
    let mut model = Params::new();
    model.insert("model".into(), J::String("gpt-4o".into()));
    for (name, pipe, params) in [
        ("hourly", "hourly", Params::new()),
        ("hourly_model", "hourly", model),
        ("team_tokens", "team_tokens", Params::new()),
        ("tagged", "tagged", Params::new()),
    ] {
        let got = store.pipe(pipe, &params).unwrap();
        let got: J = serde_json::from_str(&got.to_json()).unwrap();
        let want = &expected[name];
        assert!(
            want.as_array().is_some_and(|w| !w.is_empty()),
            "{name}: no expected rows"
        );
        assert!(
            same(&got["data"], want),
            "{name}:\n got {}\nwant {}",
            got["data"],
            want
        );
    }
}

#[test]
fn targets_hold_one_row_per_group_of_each_insert() {
    let store = loaded();
    // Each insert of 500 lines adds its own rows per (hour, model) and (day, team): rows are
    // kept as they arrive and merged at query time.
    let rollup = store.datasource_rows("calls_by_hour").unwrap();
    let groups = store
        .sql(
            "SELECT count() AS n FROM (SELECT hour, model FROM calls_by_hour GROUP BY hour, model)",
            &Params::new(),
        )
        .unwrap();
    let distinct = match groups.get(0, "n") {
        Some(llm_metrics::Value::UInt(n)) => *n,
        other => panic!("{other:?}"),
    };
    assert!(
        rollup > distinct && rollup <= 4 * distinct,
        "{rollup} {distinct}"
    );
    let raw = store
        .sql(
            "SELECT count() AS n FROM (SELECT toStartOfHour(event_time) AS h, model FROM calls GROUP BY h, model)",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(raw.get(0, "n"), groups.get(0, "n"));
}

#[test]
fn a_view_giving_a_column_its_target_lacks_fails_the_write_as_clickhouse_does() {
    let files = vec![
        (
            "a.datasource".to_string(),
            "SCHEMA >\n    `t` DateTime `json:$.t`,\n    `n` UInt8 `json:$.n`\n".to_string(),
        ),
        (
            "b.datasource".to_string(),
            "SCHEMA >\n    `n` UInt64\n\nENGINE \"SummingMergeTree\"\nENGINE_SORTING_KEY \"tuple()\"\n"
                .to_string(),
        ),
        (
            "v.pipe".to_string(),
            "NODE v\nSQL >\n    SELECT sum(n) AS n, count() AS extra FROM a\n\nTYPE materialized\nDATASOURCE b\n"
                .to_string(),
        ),
    ];
    let mut store = EventStore::from_project(&files, Options::default());
    assert_eq!(store.load_errors(), &[]);
    store.begin_into("a.ndjson", "a").unwrap();
    let e = store
        .write(b"{\"t\":\"2024-01-01 00:00:00\",\"n\":3}\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("its SELECT gives column 'extra', which is not in 'b'"),
        "{e}"
    );
    assert_eq!(store.datasource_rows("a"), Some(1));
    assert_eq!(store.datasource_rows("b"), Some(0));
}

#[test]
fn final_merges_the_states_of_each_group() {
    let store = loaded();
    let expected: J =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    let want = expected["hourly"].as_array().unwrap();
    let merged = store
        .sql(
            "SELECT hour, model, countMerge(calls) AS calls, uniqMerge(users) AS users, \
             sumMerge(tokens) AS tokens, quantilesMerge(0.5, 0.9)(latency_q) AS latency_q, \
             max(max_latency) AS max_latency FROM calls_by_hour FINAL GROUP BY hour, model \
             ORDER BY hour, model",
            &Params::new(),
        )
        .unwrap();
    let got: J = serde_json::from_str(&merged.to_json()).unwrap();
    assert!(same(&got["data"], &expected["hourly"]), "{}", got["data"]);
    // One row per group, its simple aggregate already merged.
    let rows = store
        .sql(
            "SELECT hour, model, max_latency FROM calls_by_hour FINAL ORDER BY hour, model",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(rows.rows(), want.len());
    let got: J = serde_json::from_str(&rows.to_json()).unwrap();
    for (g, w) in got["data"].as_array().unwrap().iter().zip(want) {
        assert!(same(&g["max_latency"], &w["max_latency"]), "{g} {w}");
    }
}

#[test]
fn a_view_runs_on_writes_to_the_first_table_it_reads_not_to_a_joined_one() {
    let files = vec![
        (
            "calls.datasource".to_string(),
            "SCHEMA >\n    `t` DateTime `json:$.t`,\n    `team_id` UInt8 `json:$.team_id`,\n    `n` UInt32 `json:$.n`\n".to_string(),
        ),
        (
            "teams.datasource".to_string(),
            "SCHEMA >\n    `team_id` UInt8 `json:$.team_id`,\n    `team` String `json:$.team`\n"
                .to_string(),
        ),
        (
            "per_team.datasource".to_string(),
            "SCHEMA >\n    `team` String,\n    `n` UInt64\n\nENGINE \"SummingMergeTree\"\nENGINE_SORTING_KEY \"team\"\n".to_string(),
        ),
        (
            "v.pipe".to_string(),
            "NODE v\nSQL >\n    SELECT teams.team AS team, sum(calls.n) AS n\n    FROM calls JOIN teams USING team_id\n    GROUP BY team\n\nTYPE materialized\nDATASOURCE per_team\n".to_string(),
        ),
    ];
    let mut store = EventStore::from_project(&files, Options::default());
    assert_eq!(store.load_errors(), &[]);
    store.begin_into("teams.ndjson", "teams").unwrap();
    store
        .write(b"{\"team_id\":1,\"team\":\"search\"}\n{\"team_id\":2,\"team\":\"ads\"}\n")
        .unwrap();
    store.end().unwrap();
    // Rows written to the joined table trigger nothing.
    assert_eq!(store.datasource_rows("per_team"), Some(0));
    store.begin_into("calls.ndjson", "calls").unwrap();
    store
        .write(b"{\"t\":\"2024-01-01 00:00:00\",\"team_id\":1,\"n\":5}\n{\"t\":\"2024-01-01 00:00:01\",\"team_id\":2,\"n\":7}\n")
        .unwrap();
    store
        .write(b"{\"t\":\"2024-01-01 00:00:02\",\"team_id\":1,\"n\":1}\n")
        .unwrap();
    store.end().unwrap();
    // Two writes: two rows for search (5, then 1), one for ads (7).
    assert_eq!(store.datasource_rows("per_team"), Some(3));
    // A later team row still triggers nothing, though it joins stored calls.
    store.begin_into("teams.ndjson", "teams").unwrap();
    store.write(b"{\"team_id\":1,\"team\":\"web\"}\n").unwrap();
    store.end().unwrap();
    assert_eq!(store.datasource_rows("per_team"), Some(3));
    let r = store
        .sql(
            "SELECT team, n FROM per_team FINAL ORDER BY team",
            &Params::new(),
        )
        .unwrap();
    let got: J = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(
        got["data"],
        serde_json::json!([{"team": "ads", "n": 7}, {"team": "search", "n": 6}])
    );
}
