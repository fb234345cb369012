//! Pipes and SQL through the public API: templates and their typed parameters (defaults,
//! `defined()`, missing and malformed values, injection attempts), unsupported SQL, malformed
//! pipe files, the shipped pipes, and what `statistics` reports.

// Native only: these are plain #[test] functions (and proptest), which the wasm test runner
// does not run; tests/web*.rs are their wasm counterparts.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{ErrorKind, EventStore, Params, Value};
use serde_json::json;

/// Six events over two days and three models; one failure per model except `m3`.
const EVENTS: &str = r#"{"event_time":"2024-05-01 10:00:00","model_name":"m1","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.5,"latency":1.0,"success":1,"error_message":""}
{"event_time":"2024-05-01 11:30:00","model_name":"m1","prompt_tokens":20,"completion_tokens":5,"total_tokens":25,"cost":0.25,"latency":3.0,"success":0,"error_message":"timeout"}
{"event_time":"2024-05-01 12:00:00","model_name":"m2","prompt_tokens":30,"completion_tokens":10,"total_tokens":40,"cost":1.0,"latency":2.0,"success":1,"error_message":""}
{"event_time":"2024-05-02 09:00:00","model_name":"m2","prompt_tokens":40,"completion_tokens":10,"total_tokens":50,"cost":2.0,"latency":4.0,"success":0,"error_message":"rate limited"}
{"event_time":"2024-05-02 10:00:00","model_name":"m3","prompt_tokens":50,"completion_tokens":20,"total_tokens":70,"cost":0.125,"latency":0.5,"success":1,"error_message":""}
{"event_time":"2024-05-02 23:59:59","model_name":"it's","prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"cost":0.0,"latency":0.25,"success":1,"error_message":""}
"#;

fn store() -> EventStore {
    let mut s = EventStore::new();
    s.write(EVENTS.as_bytes()).expect("write");
    s.end().expect("end");
    s
}

fn params(v: serde_json::Value) -> Params {
    v.as_object().cloned().unwrap_or_default()
}

fn col(e: &llm_metrics::Endpoint, name: &str) -> Vec<Value> {
    (0..e.rows())
        .map(|r| e.get(r, name).cloned().unwrap_or(Value::Null))
        .collect()
}

fn strs(v: &[&str]) -> Vec<Value> {
    v.iter().map(|s| Value::Str(s.to_string())).collect()
}

/// A pipe exercising every parameter type.
const TYPED: &str = "DESCRIPTION >
    Every parameter type

NODE typed
SQL >
    %
    SELECT model_name, count() AS n, sum(total_tokens) AS tokens
    FROM llm_events
    WHERE 1
        {% if defined(model) %} AND model_name = {{String(model)}} {% end %}
        {% if defined(models) %} AND model_name IN {{Array(models, 'String')}} {% end %}
        {% if defined(min_tokens) %} AND total_tokens >= {{UInt32(min_tokens)}} {% end %}
        {% if defined(max_cost) %} AND cost <= {{Float64(max_cost)}} {% end %}
        {% if defined(start) %} AND event_time >= {{DateTime(start)}} {% end %}
        {% if defined(day) %} AND toDate(event_time) = {{Date(day)}} {% end %}
        {% if Boolean(only_ok, False) %} AND success = 1 {% end %}
        AND prompt_tokens > {{Int32(floor, -1)}} AND completion_tokens < {{Int64(ceiling, 1000)}}
    GROUP BY model_name
    ORDER BY max({{column(order_by, 'model_name')}}), model_name
    LIMIT {{Int32(limit, 10)}}

TYPE endpoint
";

fn typed(p: serde_json::Value) -> llm_metrics::Result<llm_metrics::Endpoint> {
    let mut s = store();
    assert_eq!(s.add_pipe(TYPED)?, "typed");
    s.pipe("typed", &params(p))
}

#[test]
fn every_parameter_type_with_defaults() {
    let all = typed(json!({})).unwrap();
    assert_eq!(col(&all, "model_name"), strs(&["it's", "m1", "m2", "m3"]));
    assert_eq!(all.meta[1].ty, "UInt64");
    let one = typed(json!({"model": "m2"})).unwrap();
    assert_eq!(col(&one, "n"), vec![Value::UInt(2)]);
    let arr = typed(json!({"models": ["m1", "m3"]})).unwrap();
    assert_eq!(col(&arr, "model_name"), strs(&["m1", "m3"]));
    let csv = typed(json!({"models": "m1,m3"})).unwrap();
    assert_eq!(arr.data, csv.data);
    let min = typed(json!({"min_tokens": "40"})).unwrap();
    assert_eq!(col(&min, "model_name"), strs(&["m2", "m3"]));
    let cost = typed(json!({"max_cost": 0.25})).unwrap();
    assert_eq!(col(&cost, "model_name"), strs(&["it's", "m1", "m3"]));
    let since = typed(json!({"start": "2024-05-02T00:00:00Z"})).unwrap();
    assert_eq!(col(&since, "model_name"), strs(&["it's", "m2", "m3"]));
    let day = typed(json!({"day": "2024-05-01"})).unwrap();
    assert_eq!(col(&day, "model_name"), strs(&["m1", "m2"]));
    let ok = typed(json!({"only_ok": "true"})).unwrap();
    assert_eq!(col(&ok, "n"), vec![Value::UInt(1); 4]);
    let bounds = typed(json!({"floor": 15, "ceiling": 20})).unwrap();
    assert_eq!(col(&bounds, "model_name"), strs(&["m1", "m2"]));
    let ordered = typed(json!({"order_by": "total_tokens", "limit": 2})).unwrap();
    assert_eq!(col(&ordered, "model_name"), strs(&["it's", "m1"]));
}

#[test]
fn malformed_and_missing_parameters_are_errors() {
    for (p, needle) in [
        (
            json!({"min_tokens": "forty"}),
            "'forty' is not a valid UInt32",
        ),
        (json!({"min_tokens": -1}), "outside the UInt32 range"),
        (json!({"max_cost": "cheap"}), "not a valid Float64"),
        (json!({"start": "yesterday"}), "not a valid DateTime"),
        (json!({"day": "2024-05-01 10:00:00"}), "not a date"),
        (json!({"only_ok": "yes"}), "not a valid Boolean"),
        (json!({"limit": 1.5}), "not a valid Int32"),
        (json!({"limit": [1]}), "expected a single Int32 value"),
        (json!({"order_by": "nope"}), "'nope' is not a column"),
    ] {
        let e = typed(p.clone()).unwrap_err().to_string();
        assert!(e.contains(needle), "{p}: {e}");
    }
    let mut s = store();
    s.add_pipe("NODE req\nSQL >\n    %\n    SELECT count() FROM llm_events WHERE model_name = {{String(model, required=True)}}\n")
        .unwrap();
    let e = s.pipe("req", &Params::new()).unwrap_err().to_string();
    assert!(e.contains("parameter 'model' is required"), "{e}");
    s.add_pipe("NODE bare\nSQL >\n    %\n    SELECT {{Int32(n)}} AS n\n")
        .unwrap();
    let e = s.pipe("bare", &Params::new()).unwrap_err().to_string();
    assert!(e.contains("parameter 'n' is required"), "{e}");
    assert_eq!(
        s.pipe("bare", &params(json!({"n": 7}))).unwrap().data,
        vec![vec![Value::Int(7)]]
    );
}

#[test]
fn parameters_cannot_change_the_query() {
    // A string parameter is one value, whatever it contains.
    for attempt in [
        "m1' OR '1'='1",
        "m1'; DROP TABLE llm_events; --",
        "m1\\' OR 1=1 --",
        "m1) OR (1=1",
        "{{String(model)}}",
        "m1\n) UNION ALL SELECT 1 --",
    ] {
        let r = typed(json!({ "model": attempt })).unwrap();
        assert_eq!(r.rows(), 0, "{attempt}: {}", r.to_json());
        let r = typed(json!({ "models": [attempt, "m3"] })).unwrap();
        assert_eq!(col(&r, "model_name"), strs(&["m3"]), "{attempt}");
    }
    // A value with a quote matches exactly the row holding it.
    assert_eq!(
        col(&typed(json!({"model": "it's"})).unwrap(), "n"),
        vec![Value::UInt(1)]
    );
    // A comma-separated Array parameter splits on commas only.
    let r = typed(json!({"models": "m3,m1') OR ('1'='1"})).unwrap();
    assert_eq!(col(&r, "model_name"), strs(&["m3"]));
    // column() takes only real column names.
    for attempt in [
        "model_name; DROP TABLE llm_events",
        "cost) DESC, (1",
        "`cost`",
        "count()",
        "model_name, total_tokens",
    ] {
        let e = typed(json!({ "order_by": attempt }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a column"), "{attempt}: {e}");
    }
    // Numbers are checked numbers.
    let e = typed(json!({"limit": "1; SELECT 2"}))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a valid Int32"), "{e}");
    // The expanded text for ClickHouse quotes the same values.
    let pipe = llm_metrics::parse_pipe(Some("typed"), TYPED).unwrap();
    let sql = llm_metrics::expand_pipe(
        &pipe,
        &params(json!({"model": "a'b\\c", "models": ["x'y"], "order_by": "cost"})),
        &["cost".to_string()],
    )
    .unwrap();
    assert!(sql.contains("model_name = 'a\\'b\\\\c'"), "{sql}");
    assert!(sql.contains("model_name IN ['x\\'y']"), "{sql}");
    assert!(sql.contains("ORDER BY max(`cost`), model_name"), "{sql}");
    assert!(sql.contains("LIMIT toInt32(10)"), "{sql}");
}

#[test]
fn templates_branch_and_fail_on_purpose() {
    let mut s = store();
    s.add_pipe(
        "NODE t\nSQL >\n    %\n    {% if not defined(mode) %}\n        SELECT 'none' AS m\n    {% elif mode == 'count' %}\n        SELECT count() AS m FROM llm_events\n    {% else %}\n        {{ error('mode must be count') }}\n    {% end %}\n",
    )
    .unwrap();
    assert_eq!(
        s.pipe("t", &Params::new()).unwrap().data,
        vec![vec![Value::Str("none".into())]]
    );
    assert_eq!(
        s.pipe("t", &params(json!({"mode": "count"}))).unwrap().data,
        vec![vec![Value::UInt(6)]]
    );
    let e = s.pipe("t", &params(json!({"mode": "sum"}))).unwrap_err();
    assert_eq!(e.to_string(), "mode must be count");
}

#[test]
fn shipped_pipes_answer_with_and_without_parameters() {
    let s = store();
    for name in [
        "llm_usage_by_model",
        "llm_performance",
        "llm_kpis",
        "llm_latency_percentiles",
        "llm_timeseries",
        "llm_top_errors",
        "llm_dimensions",
        "llm_usage_by_model_filtered",
        "llm_performance_filtered",
    ] {
        assert!(s.pipe_names().contains(&name.to_string()), "{name}");
        let r = s.pipe(name, &Params::new()).unwrap();
        assert!(r.rows() > 0, "{name}");
    }
    let kpis = s.pipe("llm_kpis", &Params::new()).unwrap();
    assert_eq!(col(&kpis, "requests"), vec![Value::UInt(6)]);
    assert_eq!(col(&kpis, "errors"), vec![Value::UInt(2)]);
    assert_eq!(col(&kpis, "total_tokens"), vec![Value::UInt(202)]);
    assert_eq!(col(&kpis, "success_rate"), vec![Value::Float64(4.0 / 6.0)]);
    let p = params(
        json!({"models": ["m1", "m2"], "start_date": "2024-05-01 11:00:00", "end_date": "2024-05-02 09:00:00"}),
    );
    let kpis = s.pipe("llm_kpis", &p).unwrap();
    assert_eq!(col(&kpis, "requests"), vec![Value::UInt(3)]);
    assert_eq!(col(&kpis, "avg_latency"), vec![Value::Float64(3.0)]);
    // The filtered views over the same range and models: m1's second event, m2's two.
    let by_model = |e: &llm_metrics::Endpoint, c: &str| {
        let mut v: Vec<(String, Value)> = (0..e.rows())
            .map(|r| {
                let m = match e.get(r, "model_name") {
                    Some(Value::Str(m)) => m.clone(),
                    other => panic!("model_name {other:?}"),
                };
                (m, e.get(r, c).cloned().unwrap_or(Value::Null))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let usage = s.pipe("llm_usage_by_model_filtered", &p).unwrap();
    assert_eq!(
        by_model(&usage, "total_tokens"),
        vec![
            ("m1".into(), Value::UInt(25)),
            ("m2".into(), Value::UInt(90))
        ]
    );
    assert_eq!(
        by_model(&usage, "total_cost"),
        vec![
            ("m1".into(), Value::Float64(0.25)),
            ("m2".into(), Value::Float64(3.0))
        ]
    );
    let perf = s.pipe("llm_performance_filtered", &p).unwrap();
    assert_eq!(
        by_model(&perf, "success_rate"),
        vec![
            ("m1".into(), Value::Float64(0.0)),
            ("m2".into(), Value::Float64(0.5))
        ]
    );
    let ts = s.pipe("llm_timeseries", &Params::new()).unwrap();
    // Two days of data: hourly buckets.
    assert_eq!(ts.meta[0].ty, "DateTime");
    assert_eq!(ts.get(0, "bucket"), Some(&Value::DateTime(1_714_557_600)));
    let daily = s
        .pipe("llm_timeseries", &params(json!({"bucket": "day"})))
        .unwrap();
    assert_eq!(col(&daily, "requests").len(), 5);
    let e = s
        .pipe("llm_timeseries", &params(json!({"bucket": "week"})))
        .unwrap_err();
    assert_eq!(e.to_string(), "bucket must be minute, hour or day");
    let errors = s
        .pipe("llm_top_errors", &params(json!({"limit": 1})))
        .unwrap();
    assert_eq!(col(&errors, "error_message"), strs(&["rate limited"]));
    let pct = s
        .pipe("llm_latency_percentiles", &params(json!({"models": "m1"})))
        .unwrap();
    assert_eq!(col(&pct, "p50_latency"), vec![Value::Float64(2.0)]);
    assert_eq!(col(&pct, "p99_latency"), vec![Value::Float64(2.98)]);
    let dims = s.pipe("llm_dimensions", &Params::new()).unwrap();
    assert_eq!(col(&dims, "model_name"), strs(&["m1", "m2", "it's", "m3"]));
}

#[test]
fn unsupported_sql_is_named() {
    let s = store();
    for (sql, what) in [
        (
            "SELECT * FROM llm_events a ASOF JOIN llm_events b ON a.cost = b.cost",
            "ASOF JOIN",
        ),
        (
            "SELECT * FROM llm_events a JOIN llm_events b ON a.cost < b.cost",
            "JOIN ON other than equalities",
        ),
        (
            "SELECT model_name FROM llm_events INTERSECT SELECT model_name FROM llm_events",
            "INTERSECT",
        ),
        (
            "SELECT ntile(2) OVER (ORDER BY cost) FROM llm_events",
            "window function ntile",
        ),
        (
            "SELECT topK(3)(model_name) FROM llm_events",
            "aggregate function topK",
        ),
        (
            "SELECT arrayJoin(groupArray(cost)) FROM llm_events",
            "arrayJoin after GROUP BY",
        ),
        (
            "SELECT 1 FROM llm_events ARRAY JOIN [1] AS x ARRAY JOIN [2] AS y",
            "ARRAY JOIN",
        ),
        ("SELECT x -> x FROM llm_events", "lambda"),
        (
            "SELECT sipHash64(model_name) FROM llm_events",
            "function sipHash64",
        ),
        (
            "SELECT count() FROM url('x', JSONEachRow)",
            "table function url()",
        ),
        (
            "SELECT count() FROM llm_events SETTINGS max_threads = 1",
            "SETTINGS",
        ),
        (
            "SELECT model_name FROM llm_events GROUP BY model_name WITH ROLLUP",
            "WITH ROLLUP",
        ),
        ("SELECT CAST(cost AS String) FROM llm_events", "CAST"),
        ("SELECT cost::Array(String) FROM llm_events", "casts"),
        ("SELECT (1, 2) FROM llm_events", "tuples"),
        ("SELECT toDate32(event_time) FROM llm_events", "toDate32"),
        ("DELETE FROM llm_events WHERE 1", "DELETE"),
    ] {
        let e = s.sql(sql, &Params::new()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Unsupported(_)),
            "{sql}: {e:?}"
        );
        assert!(e.to_string().contains(what), "{sql}: {e}");
    }
    for (sql, needle) in [
        ("SELECT nope FROM llm_events", "unknown column 'nope'"),
        ("SELECT count() FROM nowhere", "unknown table 'nowhere'"),
        // As ClickHouse answers FINAL on a MergeTree.
        (
            "SELECT count() FROM llm_events FINAL",
            "Storage MergeTree doesn't support FINAL",
        ),
        (
            "SELECT model_name, count() FROM llm_events",
            "not under an aggregate function",
        ),
        (
            "SELECT count() FROM llm_events WHERE sum(cost) > 1",
            "not allowed in WHERE",
        ),
        (
            "SELECT model_name = 1 FROM llm_events",
            "illegal types (String, UInt8)",
        ),
        (
            "SELECT count() FROM llm_events WHERE event_time > 'soon'",
            "cannot parse 'soon' as DateTime",
        ),
        ("SELECT count( FROM llm_events", "syntax error at line 1"),
        ("SELECT 1 AS a, 2 AS a", "same alias 'a'"),
        (
            "SELECT count() FROM llm_events LIMIT -1",
            "LIMIT must be a non-negative integer",
        ),
        (
            "SELECT intDiv(total_tokens, 0) FROM llm_events",
            "division by zero",
        ),
    ] {
        let e = s.sql(sql, &Params::new()).unwrap_err().to_string();
        assert!(e.contains(needle), "{sql}: {e}");
    }
}

#[test]
fn malformed_pipe_files_name_the_line() {
    let mut s = store();
    for (text, line, needle) in [
        (
            "NODE a\nSQL >\n    SELECT 1\nTYPE copy\n",
            4,
            "needs TARGET_DATASOURCE",
        ),
        (
            "NODE a\nSQL >\n    SELECT 1\nTYPE pipeline\n",
            4,
            "TYPE 'pipeline'",
        ),
        (
            "NODE a\nSQL >\n    SELECT\n        count(\n    FROM llm_events\n",
            5,
            "syntax error",
        ),
        (
            "NODE a\nSQL >\n    SELECT 1 FROM t ASOF JOIN u ON t.a = u.a\n",
            3,
            "ASOF JOIN",
        ),
        (
            "NODE a\nSQL >\n    %\n    SELECT 1\n    {% if defined(x) %}\n",
            5,
            "not closed",
        ),
        (
            "NODE a\nSQL >\n    %\n    SELECT {{ Int32(x }}\n",
            4,
            "template",
        ),
        (
            "BOGUS 1\nNODE a\nSQL >\n    SELECT 1\n",
            1,
            "BOGUS is not a valid option",
        ),
        ("NODE a\n", 1, "no SQL"),
    ] {
        let e = s.add_pipe(text).expect_err(text);
        match e.kind() {
            ErrorKind::Pipe { line: l, message } => {
                assert_eq!(*l, line, "{text}: {message}");
                assert!(message.contains(needle), "{text}: {message}");
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // A node can read only earlier nodes.
    s.add_pipe("NODE a\nSQL >\n    SELECT * FROM b\n\nNODE b\nSQL >\n    SELECT 1 AS x\n\nNODE c\nSQL >\n    SELECT * FROM a\n\nTYPE endpoint\n")
        .unwrap();
    let e = s.pipe("c", &Params::new()).unwrap_err().to_string();
    assert!(
        e.contains("node 'b' is not defined before this node"),
        "{e}"
    );
    assert!(s.pipe("missing", &Params::new()).is_err());
}

#[test]
fn nodes_read_earlier_nodes_and_replace_pipes() {
    let mut s = store();
    let name = s
        .add_pipe("NODE per_model\nSQL >\n    SELECT model_name, sum(cost) AS c FROM llm_events GROUP BY model_name\n\nNODE top\nSQL >\n    SELECT model_name, c FROM per_model WHERE c > 0.4 ORDER BY c DESC\n\nTYPE endpoint\n")
        .unwrap();
    assert_eq!(name, "top");
    let r = s.pipe("top", &Params::new()).unwrap();
    assert_eq!(col(&r, "model_name"), strs(&["m2", "m1"]));
    assert_eq!(
        col(&r, "c"),
        vec![Value::Float64(3.0), Value::Float64(0.75)]
    );
    s.add_pipe("NODE top\nSQL >\n    SELECT 1 AS one\n")
        .unwrap();
    assert_eq!(s.pipe("top", &Params::new()).unwrap().meta[0].name, "one");
}

#[test]
fn statistics_report_what_was_scanned() {
    // Two months: blocks of one month are skipped by a time filter on the other.
    let mut s = EventStore::new();
    for month in ["2024-05", "2024-06"] {
        for i in 0..100 {
            let line = format!(
                "{{\"event_time\":\"{month}-10 10:{:02}:00\",\"model_name\":\"m\",\"total_tokens\":{i}}}\n",
                i % 60
            );
            s.write(line.as_bytes()).unwrap();
        }
    }
    s.end().unwrap();
    let all = s
        .sql("SELECT sum(total_tokens) FROM llm_events", &Params::new())
        .unwrap();
    assert_eq!(all.statistics.rows_read, 200);
    assert_eq!(all.statistics.bytes_read, 200 * 4);
    let june = s
        .sql(
            "SELECT sum(total_tokens), count() FROM llm_events WHERE event_time >= '2024-06-01'",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(june.data, vec![vec![Value::UInt(4950), Value::UInt(100)]]);
    assert_eq!(june.statistics.rows_read, 100);
    // event_time (4 bytes) and total_tokens (4 bytes) per row.
    assert_eq!(june.statistics.bytes_read, 100 * 8);
    let none = s
        .sql(
            "SELECT count() FROM llm_events WHERE event_time < '2024-01-01'",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(none.data, vec![vec![Value::UInt(0)]]);
    assert_eq!(none.statistics.rows_read, 0);
}

#[test]
fn ad_hoc_sql_takes_template_parameters() {
    let s = store();
    let r = s
        .sql(
            "%\nSELECT count() AS n FROM llm_events WHERE model_name IN {{Array(models, 'String', default='m1')}}",
            &params(json!({"models": ["m2", "m3"]})),
        )
        .unwrap();
    assert_eq!(r.data, vec![vec![Value::UInt(3)]]);
    let r = s
        .sql(
            "%\nSELECT count() AS n FROM llm_events WHERE model_name IN {{Array(models, 'String', default='m1')}}",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.data, vec![vec![Value::UInt(2)]]);
    assert!(r.to_json().starts_with(r#"{"meta":[{"name":"n","type":"UInt64"}],"data":[{"n":2}],"rows":1,"statistics":{"elapsed":"#));
}

#[test]
fn the_quarantine_is_a_table_for_sql() {
    let mut s = store();
    s.begin("bad.ndjson").unwrap();
    s.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"prompt_tokens\":\"lots\"}\nnot json\n{\"event_time\":\"never\"}\n")
        .unwrap();
    s.end().unwrap();
    let r = s
        .sql(
            "SELECT c__source, count() AS n, min(c__line) AS first, max(c__line) AS last FROM llm_events_quarantine GROUP BY c__source",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        r.data,
        vec![vec![
            Value::Str("bad.ndjson".into()),
            Value::UInt(3),
            Value::UInt(1),
            Value::UInt(3)
        ]]
    );
    assert_eq!(r.meta[2].ty, "UInt64");
    let r = s
        .sql(
            "SELECT c__line, prompt_tokens FROM llm_events_quarantine WHERE prompt_tokens != '' ORDER BY c__line",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        r.data,
        vec![vec![Value::UInt(1), Value::Str("lots".into())]]
    );
    // The store itself is untouched by the quarantine: six good rows.
    let n = s
        .sql("SELECT count() FROM llm_events", &Params::new())
        .unwrap();
    assert_eq!(n.data, vec![vec![Value::UInt(6)]]);
}

/// A template value inside an SQL comment is evaluated and checked, as Tinybird does, and stays
/// in the comment. Expected SQL: what `tinybird.sql_template.render_sql_template` (tinybird 5.0.3)
/// renders for the same node; expected counts: that SQL run by hand on `EVENTS` (two `m1` rows).
#[test]
fn template_values_inside_sql_comments_stay_comments() {
    let text = "NODE commented\nSQL >\n    %\n    SELECT count() AS n FROM llm_events -- {{String(x)}}\n    WHERE model_name = 'm1' -- {% if defined(x) %}AND 0{% end %}\n    /* {{String(x)}} */\n\nTYPE endpoint\n";
    let mut s = store();
    assert_eq!(s.add_pipe(text).expect("pipe"), "commented");
    let pipe = llm_metrics::parse_pipe(None, text).expect("pipe");
    for (x, rendered) in [
        (
            "abc",
            "SELECT count() AS n FROM llm_events -- 'abc'\nWHERE model_name = 'm1' -- AND 0\n/* 'abc' */",
        ),
        (
            "a\nWHERE 0",
            "SELECT count() AS n FROM llm_events -- 'a\\nWHERE 0'\nWHERE model_name = 'm1' -- AND 0\n/* 'a\\nWHERE 0' */",
        ),
    ] {
        let p = params(json!({ "x": x }));
        assert_eq!(
            llm_metrics::expand_pipe(&pipe, &p, &[]).expect("expand"),
            rendered
        );
        let e = s.pipe("commented", &p).expect("commented");
        assert_eq!(col(&e, "n"), vec![Value::UInt(2)], "{x:?}");
    }
    // Tinybird: "Required parameter is not defined", although the value would only be commented.
    let e = s.pipe("commented", &Params::new()).unwrap_err().to_string();
    assert!(e.contains("parameter 'x' is required"), "{e}");
    // Inside a block comment a value cannot close it (Tinybird writes `*/` as it is, which ends
    // the comment in ClickHouse): the comment holds the value with `*/` spaced out.
    let p = params(json!({ "x": "it's -- */ OR 1 /*" }));
    assert_eq!(
        llm_metrics::expand_pipe(&pipe, &p, &[]).expect("expand"),
        "SELECT count() AS n FROM llm_events -- 'it\\'s -- */ OR 1 /*'\nWHERE model_name = 'm1' -- AND 0\n/* 'it\\'s -- * / OR 1 / *' */"
    );
    let e = s.pipe("commented", &p).expect("commented");
    assert_eq!(col(&e, "n"), vec![Value::UInt(2)]);
}

#[path = "limits/mod.rs"]
mod limits;

/// The hostile templates of `tests/limits` on a thread with wasm's 1 MiB stack: each ends with an
/// answer or an error naming its line, and the store still answers afterwards.
#[test]
fn hostile_templates_end_cleanly_on_a_one_mebibyte_stack() {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let mut store = limits::store();
            for case in limits::cases() {
                let started = std::time::Instant::now();
                limits::run(&mut store, &case);
                println!(
                    "{}: {} bytes, {:.3} s",
                    case.name,
                    case.text.len(),
                    started.elapsed().as_secs_f64()
                );
                limits::check_usage(&store);
            }
        })
        .expect("spawn")
        .join()
        .expect("every case ends cleanly");
}

/// Arrays and groupArray values past what `maxBytes` leaves free are errors naming it.
#[test]
fn arrays_past_max_bytes_are_errors_naming_it() {
    limits::check_array_budget();
}

/// The hostile `.datasource` files of `tests/limits` on a thread with wasm's 1 MiB stack.
#[test]
fn hostile_datasources_end_cleanly_on_a_one_mebibyte_stack() {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            for (name, text, expect) in limits::datasource_cases() {
                let started = std::time::Instant::now();
                limits::run_datasource(name, &text, expect);
                println!(
                    "{name}: {} bytes, {:.3} s",
                    text.len(),
                    started.elapsed().as_secs_f64()
                );
            }
        })
        .expect("spawn")
        .join()
        .expect("every case ends cleanly");
}

#[test]
fn sql_at_column_zero_and_node_types() {
    let mut s = store();
    // `%` and SQL at the start of the line stay in the SQL block, as Tinybird reads them.
    let name = s
        .add_pipe("NODE by_model\nSQL >\n%\nSELECT model_name, count() AS n\nFROM llm_events\n{% if defined(m) %}WHERE model_name = {{ String(m) }}{% end %}\nGROUP BY model_name ORDER BY model_name\n\ntype ENDPOINT\n")
        .unwrap();
    assert_eq!(name, "by_model");
    let all = s.pipe("by_model", &Params::new()).unwrap();
    let one = s
        .pipe("by_model", &params(serde_json::json!({"m": "m2"})))
        .unwrap();
    assert!(all.rows() > 1);
    assert_eq!(col(&one, "model_name"), strs(&["m2"]));
    // A materialized pipe is not an endpoint (with no datasource `per_model`, it never runs).
    let name = s
        .add_pipe("NODE roll\nSQL >\n    SELECT model_name, count() AS n FROM llm_events GROUP BY model_name\nTYPE Materialized\nDATASOURCE per_model\n")
        .unwrap();
    let e = s.pipe(&name, &Params::new()).unwrap_err().to_string();
    assert_eq!(
        e,
        "not supported: running the materialized pipe 'roll' as an endpoint (it runs on writes, when its DATASOURCE is a datasource of the store)"
    );
}
