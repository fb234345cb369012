//! A project of several datasources and pipes (tests/fixtures/tinybird/project), loaded from a
//! folder: the files with problems are listed with their lines, every other file loads, and
//! streams and queries reach each datasource by name. Expected values are counted by hand from
//! the lines written here.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{read_project_dir, EventStore, FileMessage, Options, Params, Value};
use std::path::Path;

fn project() -> EventStore {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tinybird/project"
    ));
    let files = read_project_dir(dir).expect("project files");
    assert_eq!(files.len(), 8);
    EventStore::from_project(&files, Options::default())
}

fn msg(file: &str, line: usize, message: &str) -> FileMessage {
    FileMessage {
        file: file.to_string(),
        line,
        message: message.to_string(),
    }
}

#[test]
fn every_problem_is_listed_and_every_other_file_loads() {
    let store = project();
    assert_eq!(
        store.load_errors(),
        &[
            msg(
                "datasources/gateway_calls.datasource",
                19,
                "not supported: Array(Map(String, String)) columns (column 'turns')"
            ),
            msg(
                "endpoints/broken.pipe",
                5,
                "node 'a': template line 5: {% if %} is not closed with {% end %}"
            ),
            msg(
                "endpoints/conversations.pipe",
                3,
                "depends on datasource 'gateway_calls', which failed to load (datasources/gateway_calls.datasource)"
            ),
        ]
    );
    assert_eq!(
        store.datasource_names(),
        vec!["gateway_flat", "model_prices"]
    );
    let mut pipes = store.pipe_names();
    pipes.sort();
    assert_eq!(pipes, vec!["dear_models", "per_stage", "spend_by_team"]);
    let notes: Vec<String> = store
        .load_notes()
        .iter()
        .map(|n| format!("{}:{}: {}", n.file, n.line, n.message))
        .collect();
    assert!(
        notes.contains(
            &"datasources/gateway_calls.datasource:32: FORWARD_QUERY is read but not run: rows are stored as they arrive"
                .to_string()
        ),
        "{notes:?}"
    );
    assert!(
        notes.contains(
            &"materializations/per_stage.pipe:1: a materialized pipe into 'gateway_stages', which is not a datasource of the project: read and described, not run"
                .to_string()
        ),
        "{notes:?}"
    );
    assert!(
        notes.contains(
            &"endpoints/spend_by_team.pipe:1: TOKEN 'dashboard' is read but not used: the store has no access control"
                .to_string()
        ),
        "{notes:?}"
    );
}

#[test]
fn streams_and_queries_reach_each_datasource() {
    let mut store = project();
    store.begin_into("calls.ndjson", "gateway_flat").unwrap();
    store
        .write(
            concat!(
                r#"{"started_at":"2024-03-01 10:00:00","gateway":{"team":"search"},"reply":{"usage":{"input_tokens":100}}}"#,
                "\n",
                r#"{"started_at":"2024-03-01 11:00:00","gateway":{"team":"ads"},"reply":{"usage":{"input_tokens":20}}}"#,
                "\n",
                r#"{"started_at":"2024-03-01 12:00:00","gateway":{"team":"search"},"reply":{"usage":{"input_tokens":5}}}"#,
                "\n",
                r#"{"started_at":"2024-03-01 13:00:00","reply":{"usage":{"input_tokens":1}}}"#,
                "\n",
            )
            .as_bytes(),
        )
        .unwrap();
    // Switching datasource ends the open stream and returns its report.
    let report = store
        .begin_into("prices.ndjson", "model_prices")
        .unwrap()
        .expect("the calls stream's report");
    assert_eq!((report.stream.as_str(), report.rows), ("calls.ndjson", 4));
    store
        .write(b"{\"model\":\"o1\",\"input_usd\":15}\n{\"model\":\"mini\",\"input_usd\":0.15}\n{\"model\":\"big\",\"input_usd\":2.5,\"output_usd\":10}\n")
        .unwrap();
    assert_eq!(store.end().unwrap().rows, 3);
    assert_eq!(store.datasource_rows("gateway_flat"), Some(4));
    assert_eq!(store.datasource_rows("model_prices"), Some(3));
    assert!(store.begin_into("x", "nowhere").is_err());

    let p = |v: serde_json::Value| -> Params { v.as_object().cloned().unwrap_or_default() };
    let col = |r: &llm_metrics::Endpoint, c: &str| -> Vec<Value> {
        (0..r.rows())
            .map(|i| r.get(i, c).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let s = |x: &str| Value::Str(x.to_string());
    // An empty list parameter filters nothing: the team missing from the last line is ''.
    let all = store
        .pipe("spend_by_team", &p(serde_json::json!({"teams": ""})))
        .unwrap();
    assert_eq!(col(&all, "team"), vec![s(""), s("ads"), s("search")]);
    assert_eq!(
        col(&all, "input_tokens"),
        vec![Value::UInt(1), Value::UInt(20), Value::UInt(105)]
    );
    let some = store
        .pipe(
            "spend_by_team",
            &p(serde_json::json!({"teams": "ads,search"})),
        )
        .unwrap();
    assert_eq!(col(&some, "calls"), vec![Value::UInt(1), Value::UInt(2)]);
    // Page 1 of size 2 skips 1 * 2 rows.
    let page = store
        .pipe(
            "spend_by_team",
            &p(serde_json::json!({"page": "1", "page_size": "2"})),
        )
        .unwrap();
    assert_eq!(col(&page, "team"), vec![s("search")]);
    let dear = store.pipe("dear_models", &Params::new()).unwrap();
    assert_eq!(col(&dear, "model"), vec![s("big"), s("o1")]);
    let sql = store
        .sql(
            "SELECT count() AS n FROM model_prices WHERE output_usd = 0",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(sql.get(0, "n"), Some(&Value::UInt(2)));
    // Two datasources joined: no call names a model, so each is 'unknown' and matches no price;
    // each price's model comes from the right side, its team is the default ''.
    let joined = store
        .sql(
            "SELECT model, g.team, p.input_usd FROM gateway_flat AS g FULL JOIN model_prices AS p \
             USING model ORDER BY model, team",
            &Params::new(),
        )
        .unwrap();
    let names: Vec<&str> = joined.meta.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["model", "team", "input_usd"]);
    assert_eq!(
        col(&joined, "model"),
        ["big", "mini", "o1", "unknown", "unknown", "unknown", "unknown"].map(s)
    );
    assert_eq!(
        col(&joined, "team"),
        ["", "", "", "", "ads", "search", "search"].map(s)
    );
    assert_eq!(
        col(&joined, "input_usd"),
        [2.5, 0.15, 15.0, 0.0, 0.0, 0.0, 0.0].map(Value::Float64)
    );
    let both = store
        .sql(
            "SELECT count() AS n FROM (SELECT model FROM model_prices UNION ALL \
             SELECT model FROM gateway_flat)",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(both.get(0, "n"), Some(&Value::UInt(7)));
    let e = store
        .pipe("per_stage", &Params::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("materialized pipe 'per_stage'"), "{e}");
}
