//! The `.datasource` grammar against Tinybird's own parser and ClickHouse's type names.
//!
//! `tests/fixtures/tinybird/datasources.tinybird.json` holds what the `tinybird` package's
//! `parse_datasource` reads in each file of `tests/fixtures/tinybird/datasources/`, and
//! `types.chdb.json` the name ClickHouse gives each column type; both are written by
//! `tests/tinybird/regenerate.sh` from the packages themselves, never by this crate.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{parse_datasource, parse_datasource_file};
use serde_json::Value;
use std::path::Path;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tinybird"
    ))
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join(name)).expect("oracle file");
    serde_json::from_str(&text).expect("oracle JSON")
}

fn lines_trimmed(s: &str) -> Vec<&str> {
    s.lines().map(str::trim).collect()
}

/// Files both parsers refuse where Tinybird's line for the error differs from ours, with why.
const LINE_DIFFERS: &[(&str, usize, &str)] = &[
    // Tinybird reads the unknown command into the SCHEMA block and reports the block's second
    // line; the word that is wrong is on line 4.
    ("bad_command.datasource", 4, "ENGIN"),
];

#[test]
fn every_fixture_reads_as_tinybird_reads_it() {
    let oracle = load("datasources.tinybird.json");
    let types = load("types.chdb.json");
    let files = oracle.as_object().expect("an object per file");
    let on_disk = std::fs::read_dir(fixtures().join("datasources"))
        .expect("fixtures")
        .count();
    assert_eq!(files.len(), on_disk, "regenerate the oracle files");
    let mut checked_columns = 0;
    for (file, want) in files {
        let text = std::fs::read_to_string(fixtures().join("datasources").join(file)).unwrap();
        let got = parse_datasource_file(&text);
        if let Some(e) = want.get("error") {
            let err = match got {
                Ok(_) => panic!("{file}: Tinybird refuses it ({e}), we read it"),
                Err(err) => err,
            };
            let line = match err.kind() {
                llm_metrics::ErrorKind::Datasource { line, .. } => *line,
                other => panic!("{file}: {other:?}"),
            };
            let want_line = e["line"].as_u64().unwrap() as usize;
            match LINE_DIFFERS.iter().find(|(f, _, _)| f == file) {
                Some((_, ours, word)) => {
                    assert_eq!(line, *ours, "{file}: {err}");
                    assert!(err.to_string().contains(word), "{file}: {err}");
                }
                None => assert_eq!(line, want_line, "{file}: {err} / Tinybird: {e}"),
            }
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{file}: Tinybird reads it, we refuse: {e}"));
        assert_eq!(
            lines_trimmed(&got.description),
            lines_trimmed(want["description"].as_str().unwrap()),
            "{file}: description"
        );
        let cols = want["columns"].as_array().unwrap();
        assert_eq!(got.columns.len(), cols.len(), "{file}: columns");
        for (c, w) in got.columns.iter().zip(cols) {
            let at = format!("{file}: column {}", c.name);
            assert_eq!(c.name, w["name"].as_str().unwrap(), "{at}");
            let tb_type = w["type"].as_str().unwrap();
            assert_eq!(c.type_text, tb_type, "{at}: type as written");
            let ch_name = types[tb_type]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: ClickHouse refuses {tb_type}"));
            assert_eq!(
                c.ty.to_string(),
                ch_name,
                "{at}: ClickHouse's name for the type"
            );
            assert_eq!(c.default.as_deref(), w["default"].as_str(), "{at}: DEFAULT");
            assert_eq!(
                c.codec.as_ref().map(|x| format!("CODEC{x}")).as_deref(),
                w["codec"].as_str(),
                "{at}: CODEC"
            );
            assert_eq!(
                c.jsonpath.as_deref(),
                w["jsonpath"].as_str(),
                "{at}: json path"
            );
            checked_columns += 1;
        }
        assert_eq!(
            got.engine.as_ref().map(|(e, _)| e.as_str()),
            want["engine"].as_str(),
            "{file}: ENGINE"
        );
        let settings: Vec<(String, String)> = got
            .engine_settings
            .iter()
            .map(|s| (s.key.clone(), s.value.clone()))
            .collect();
        let want_settings: Vec<(String, String)> = want["engine_settings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| {
                (
                    kv[0].as_str().unwrap().to_string(),
                    kv[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(settings, want_settings, "{file}: ENGINE_* settings");
        let indexes: Vec<Value> = got
            .indexes
            .iter()
            .map(|ix| {
                serde_json::json!({
                    "name": ix.name, "expr": ix.expr, "kind": ix.kind, "granularity": ix.granularity
                })
            })
            .collect();
        assert_eq!(Value::Array(indexes), want["indexes"], "{file}: INDEXES");
        let tokens: Vec<Value> = got
            .tokens
            .iter()
            .map(|t| serde_json::json!([t.name, t.permission]))
            .collect();
        assert_eq!(Value::Array(tokens), want["tokens"], "{file}: TOKEN");
        assert_eq!(serde_json::json!(got.tags), want["tags"], "{file}: TAGS");
        assert_eq!(
            got.forward_query.as_deref().map(lines_trimmed),
            want["forward_query"].as_str().map(lines_trimmed),
            "{file}: FORWARD_QUERY"
        );
    }
    assert!(checked_columns >= 60, "{checked_columns} columns checked");
}

#[test]
fn types_the_store_cannot_hold_are_a_load_error_naming_them() {
    let dir = fixtures().join("datasources");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    // Each file parses; loading names the first column the store cannot hold, by its line.
    let cases = [(
        "traces.datasource",
        "datasource line 6: not supported: FixedString(16) columns (column 'span_id')",
    )];
    for (file, message) in cases {
        let text = read(file);
        parse_datasource_file(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let e = parse_datasource(file, &text).unwrap_err();
        assert_eq!(e.to_string(), message, "{file}");
    }
    // Aggregate states and simple aggregates load, typed as declared.
    let rollup = parse_datasource("usage_rollup", &read("usage_rollup.datasource")).unwrap();
    assert_eq!(rollup.engine, "AggregatingMergeTree");
    let types: Vec<String> = rollup.columns.iter().map(|c| c.type_name()).collect();
    assert_eq!(types[3], "AggregateFunction(count)");
    assert_eq!(
        types[6],
        "AggregateFunction(quantiles(0.5, 0.95, 0.99), Float32)"
    );
    assert_eq!(types[8], "SimpleAggregateFunction(max, DateTime)");
    assert_eq!(types[9], "SimpleAggregateFunction(max, UInt16)");
    // Arrays of maps load, typed as declared.
    let calls = parse_datasource("gateway_calls", &read("gateway_calls.datasource")).unwrap();
    let types: Vec<String> = calls.columns.iter().map(|c| c.type_name()).collect();
    assert_eq!(types[12], "Array(Map(String, String))");
    let ds = parse_datasource("gateway_flat", &read("gateway_flat.datasource")).unwrap();
    assert_eq!(ds.columns.len(), 11);
    let ds = parse_datasource("cost_versions", &read("cost_versions.datasource")).unwrap();
    assert_eq!(ds.engine, "ReplacingMergeTree");
    assert_eq!(ds.sorting_key, vec![0]);
}

/// A missing key and a JSON `null` both store the column's `DEFAULT`, as ClickHouse's
/// JSONEachRow does for a non-Nullable column (input_format_defaults_for_omitted_fields and
/// input_format_null_as_default, both on by default); the values below are the file's DEFAULT
/// literals read by hand.
#[test]
fn defaults_fill_missing_and_null_values() {
    use llm_metrics::{EventStore, Params, Value};
    let text =
        std::fs::read_to_string(fixtures().join("datasources/gateway_flat.datasource")).unwrap();
    let mut store = EventStore::from_datasource(&text).unwrap();
    store
        .write(
            concat!(
                r#"{"started_at":"2024-03-01 10:00:00","gateway":{"team":"search"},"model":"gpt-4o","reply":{"usage":{"input_tokens":120,"output_tokens":30}},"spend":0.5,"retries":2,"cached":false,"seen_at":"2024-03-01 10:00:01.250"}"#,
                "\n",
                r#"{"started_at":"2024-03-01 11:00:00","gateway":{"stage":null},"caller":null,"model":null,"reply":{"usage":{"input_tokens":null}},"spend":null,"retries":null,"cached":null,"seen_at":null}"#,
                "\n",
                r#"{"started_at":"2024-03-01 12:00:00","retries":"x"}"#,
                "\n",
                r#"{"started_at":"2024-03-01 13:00:00","model":null,"model":"o1"}"#,
                "\n",
            )
            .as_bytes(),
        )
        .unwrap();
    let report = store.end().unwrap();
    // A value that does not read as its type, and a key given twice, are still quarantined.
    assert_eq!((report.rows, report.quarantined), (2, 2));
    let r = store
        .sql(
            "SELECT team, stage, caller, model, input_tokens, output_tokens, spend, retries, \
             cached, seen_at FROM llm_events ORDER BY started_at",
            &Params::new(),
        )
        .unwrap();
    let row = |i: usize| -> Vec<Value> {
        [
            "team",
            "stage",
            "caller",
            "model",
            "input_tokens",
            "output_tokens",
            "spend",
            "retries",
            "cached",
            "seen_at",
        ]
        .iter()
        .map(|c| r.get(i, c).cloned().unwrap_or(Value::Null))
        .collect()
    };
    let s = |x: &str| Value::Str(x.to_string());
    // 2024-03-01 00:00:00 UTC is 1709251200.
    assert_eq!(
        row(0),
        vec![
            s("search"),
            s("prod"),
            s("anonymous"),
            s("gpt-4o"),
            Value::UInt(120),
            Value::UInt(30),
            Value::Float32(0.5),
            Value::Int(2),
            Value::Bool(false),
            Value::DateTime64(1_709_251_200_000 + 10 * 3_600_000 + 1_250),
        ]
    );
    assert_eq!(
        row(1),
        vec![
            s(""),
            s("prod"),
            s("anonymous"),
            s("unknown"),
            Value::UInt(0),
            Value::UInt(7),
            Value::Float32(0.25),
            Value::Int(-1),
            Value::Bool(true),
            Value::DateTime64(1_709_251_200_500),
        ]
    );
}

#[test]
fn defaults_that_are_not_literals_of_the_type_are_named() {
    let cases = [
        (
            "`a` DateTime,\n    `b` UInt8 DEFAULT 300",
            "DEFAULT 300 on column 'b'",
        ),
        (
            "`a` DateTime,\n    `b` String DEFAULT now()",
            "DEFAULT now() on column 'b'",
        ),
        (
            "`a` DateTime,\n    `b` UInt16 DEFAULT -1",
            "DEFAULT -1 on column 'b'",
        ),
        (
            "`a` DateTime,\n    `b` Bool DEFAULT 'maybe'",
            "DEFAULT 'maybe' on column 'b'",
        ),
    ];
    for (schema, want) in cases {
        let text = format!("SCHEMA >\n    {schema}\n");
        parse_datasource_file(&text).unwrap();
        let e = parse_datasource("t", &text).unwrap_err().to_string();
        assert!(e.starts_with("datasource line 3: not supported: "), "{e}");
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn every_pipe_fixture_reads_as_tinybird_reads_it() {
    use llm_metrics::{parse_pipe, PipeKind};
    let oracle = load("pipes.tinybird.json");
    let files = oracle.as_object().expect("an object per file");
    let on_disk = std::fs::read_dir(fixtures().join("pipes")).unwrap().count();
    assert_eq!(files.len(), on_disk, "regenerate the oracle files");
    for (file, want) in files {
        let text = std::fs::read_to_string(fixtures().join("pipes").join(file)).unwrap();
        let got = parse_pipe(Some(file.trim_end_matches(".pipe")), &text);
        if let Some(e) = want.get("error") {
            let err = got.expect_err(file);
            if let Some(line) = e["line"].as_u64() {
                match err.kind() {
                    llm_metrics::ErrorKind::Pipe { line: l, .. } => {
                        assert_eq!(*l as u64, line, "{file}: {err} / Tinybird: {e}")
                    }
                    other => panic!("{file}: {other:?}"),
                }
            }
            continue;
        }
        let got = got.unwrap_or_else(|e| panic!("{file}: Tinybird reads it, we refuse: {e}"));
        assert_eq!(
            lines_trimmed(&got.description),
            lines_trimmed(want["description"].as_str().unwrap()),
            "{file}: description"
        );
        let tokens: Vec<Value> = got
            .tokens
            .iter()
            .map(|(n, p)| serde_json::json!([n, p]))
            .collect();
        assert_eq!(Value::Array(tokens), want["tokens"], "{file}: TOKEN");
        assert_eq!(serde_json::json!(got.tags), want["tags"], "{file}: TAGS");
        let nodes = want["nodes"].as_array().unwrap();
        assert_eq!(got.nodes.len(), nodes.len(), "{file}: nodes");
        for (n, w) in got.nodes.iter().zip(nodes) {
            let at = format!("{file}: node {}", n.name);
            assert_eq!(n.name, w["name"].as_str().unwrap(), "{at}");
            // Tinybird keeps a template's indentation; both are the same lines.
            assert_eq!(
                lines_trimmed(&n.sql),
                lines_trimmed(w["sql"].as_str().unwrap()),
                "{at}: SQL"
            );
            assert_eq!(n.node_type.as_deref(), w["type"].as_str(), "{at}: TYPE");
            for key in ["datasource", "target_datasource", "copy_schedule", "mode"] {
                assert_eq!(n.setting(key), w[key].as_str(), "{at}: {key}");
            }
            assert_eq!(
                lines_trimmed(&n.description),
                lines_trimmed(w["description"].as_str().unwrap_or("")),
                "{at}: DESCRIPTION"
            );
        }
        // The published node is the one with a TYPE; its kind carries its settings.
        match (&got.kind, got.endpoint_node().node_type.as_deref()) {
            (PipeKind::Endpoint, Some("endpoint"))
            | (PipeKind::Standard, None)
            | (PipeKind::Materialized { .. }, Some("materialized"))
            | (PipeKind::Copy { .. }, Some("copy")) => {}
            other => panic!("{file}: {other:?}"),
        }
    }
}

/// Every case of `template_cases.json` rendered by Tinybird's `render_sql_template` and run on
/// ClickHouse, against the same template expanded and run here: the same rows, or a refusal
/// where Tinybird refuses.
#[test]
fn templates_render_as_tinybird_renders_them() {
    use llm_metrics::{EventStore, Params};
    let cases = load("template_cases.json");
    let rendered = load("templates.tinybird.json");
    let results = load("templates.chdb.json");
    let store = EventStore::new();
    let mut compared = 0;
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let sql = format!("%\n{}", case["sql"].as_str().unwrap());
        let params: Params = case["params"].as_object().cloned().unwrap_or_default();
        let ours = store.sql(&sql, &params);
        if let Some(e) = rendered[name].get("error") {
            assert!(
                ours.is_err(),
                "{name}: Tinybird refuses it ({e}), we answer"
            );
            continue;
        }
        let ours = ours.unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Value = serde_json::from_str(&ours.to_json()).unwrap();
        let want = &results[name];
        let names = |meta: &Value| -> Vec<String> {
            meta.as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&got["meta"]), names(&want["meta"]), "{name}: columns");
        assert_eq!(
            got["data"], want["data"],
            "{name}: rows (Tinybird's SQL: {})",
            rendered[name]["sql"]
        );
        compared += 1;
    }
    assert!(compared >= 15, "{compared} templates compared");
}
