//! End-to-end tests of queries over a small store.

use super::*;
use crate::EventStore;

fn store() -> EventStore {
    let mut s = EventStore::new();
    let lines = [
        r#"{"event_time":"2024-05-01 10:00:00","model_name":"gpt-4o","prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"cost":0.5,"latency":1.5,"success":1,"error_message":""}"#,
        r#"{"event_time":"2024-05-01 10:30:00","model_name":"gpt-4o","prompt_tokens":50,"completion_tokens":10,"total_tokens":60,"cost":0.25,"latency":0.5,"success":0,"error_message":"timeout"}"#,
        r#"{"event_time":"2024-05-01 11:00:00","model_name":"claude","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.125,"latency":2.5,"success":1,"error_message":""}"#,
    ];
    for l in lines {
        s.write(l.as_bytes()).unwrap();
        s.write(b"\n").unwrap();
    }
    s.end().unwrap();
    s
}

fn sql(q: &str) -> Result<Endpoint> {
    run_sql_with(store().store(), q, &Params::new(), &[], 1_700_000_000)
}

#[test]
fn founding_pipes_run() {
    let s = store();
    let u = s.pipe("llm_usage_by_model", &Params::new()).unwrap();
    assert_eq!(u.rows(), 2);
    assert_eq!(u.get(0, "model_name"), Some(&Value::Str("gpt-4o".into())));
    assert_eq!(u.get(0, "total_prompt_tokens"), Some(&Value::UInt(150)));
    assert_eq!(u.get(0, "total_cost"), Some(&Value::Float64(0.75)));
    let p = s.pipe("llm_performance", &Params::new()).unwrap();
    assert_eq!(p.get(0, "success_rate"), Some(&Value::Float64(0.5)));
    assert_eq!(p.meta[1].ty, "Float64");
}

#[test]
fn basic_queries() {
    let e = sql("SELECT count() AS c, sum(total_tokens) AS t, c + 1 AS d FROM llm_events").unwrap();
    assert_eq!(
        e.data,
        vec![vec![Value::UInt(3), Value::UInt(195), Value::UInt(4)]]
    );
    let e = sql("SELECT model_name, count() FROM llm_events WHERE event_time >= '2024-05-01 10:15:00' GROUP BY model_name ORDER BY model_name").unwrap();
    assert_eq!(e.meta[1].name, "count()");
    assert_eq!(
        e.data,
        vec![
            vec![Value::Str("claude".into()), Value::UInt(1)],
            vec![Value::Str("gpt-4o".into()), Value::UInt(1)],
        ]
    );
    let e = sql("SELECT toStartOfHour(event_time) AS h, countIf(success = 0) FROM llm_events GROUP BY h ORDER BY h DESC LIMIT 1").unwrap();
    assert_eq!(
        e.data,
        vec![vec![Value::DateTime(1_714_561_200), Value::UInt(0)]]
    );
}

#[test]
fn with_scalars_in_both_spellings() {
    let a = sql("WITH x AS (sum(total_tokens) * 2) SELECT x FROM llm_events").unwrap();
    let b = sql("WITH sum(total_tokens) * 2 AS x SELECT x FROM llm_events").unwrap();
    assert_eq!(a.data, vec![vec![Value::UInt(390)]]);
    assert_eq!(a.data, b.data);
    assert_eq!(a.meta, b.meta);
    // A named subquery is a table; a parenthesised subquery is a scalar.
    let t = sql("WITH t AS (SELECT model_name, count() AS c FROM llm_events GROUP BY model_name) SELECT sum(c) FROM t").unwrap();
    assert_eq!(t.data, vec![vec![Value::UInt(3)]]);
    let s = sql("WITH (SELECT max(total_tokens) FROM llm_events) AS m SELECT m, count() FROM llm_events WHERE total_tokens = m").unwrap();
    assert_eq!(s.meta[0].ty, "Nullable(UInt32)");
    assert_eq!(s.data, vec![vec![Value::UInt(120), Value::UInt(1)]]);
}

#[test]
fn aliases_resolve_like_clickhouse() {
    // The alias is not expanded inside its own definition, and is visible everywhere else.
    let e = sql("SELECT model_name, sum(total_tokens) AS total_tokens FROM llm_events GROUP BY model_name HAVING total_tokens > 100 ORDER BY total_tokens").unwrap();
    assert_eq!(
        e.data,
        vec![vec![Value::Str("gpt-4o".into()), Value::UInt(180)]]
    );
    let e = sql("SELECT latency * 2 AS l2 FROM llm_events WHERE l2 > 2 ORDER BY l2").unwrap();
    assert_eq!(
        e.data,
        vec![vec![Value::Float64(3.0)], vec![Value::Float64(5.0)]]
    );
    let e = sql("SELECT sum(cost) AS c FROM llm_events WHERE c > 0").unwrap_err();
    assert!(e.to_string().contains("not allowed in WHERE"), "{e}");
}

#[test]
fn distinct_limit_by_and_offsets() {
    let e = sql("SELECT DISTINCT model_name FROM llm_events ORDER BY model_name DESC").unwrap();
    assert_eq!(
        e.data,
        vec![
            vec![Value::Str("gpt-4o".into())],
            vec![Value::Str("claude".into())]
        ]
    );
    let e = sql("SELECT model_name, event_time FROM llm_events ORDER BY model_name, event_time DESC LIMIT 1 BY model_name").unwrap();
    assert_eq!(e.rows(), 2);
    assert_eq!(
        e.get(1, "event_time"),
        Some(&Value::DateTime(1_714_559_400))
    );
    let e = sql("SELECT total_tokens FROM llm_events ORDER BY total_tokens LIMIT 1, 1").unwrap();
    assert_eq!(e.data, vec![vec![Value::UInt(60)]]);
    let e =
        sql("SELECT total_tokens FROM llm_events ORDER BY total_tokens LIMIT 5 OFFSET 2").unwrap();
    assert_eq!(e.data, vec![vec![Value::UInt(120)]]);
}

#[test]
fn quantiles_share_one_state_per_argument() {
    let e = sql("SELECT quantileExact(0.5)(latency) AS a, quantileExact(0.9)(latency) AS b, median(latency) AS m, quantile(0.5)(latency) AS q FROM llm_events").unwrap();
    assert_eq!(
        e.data,
        vec![vec![
            Value::Float32(1.5),
            Value::Float32(2.5),
            Value::Float64(1.5),
            Value::Float64(1.5)
        ]]
    );
}

#[test]
fn nested_expressions_up_to_the_limit_evaluate() {
    let mut e = String::from("total_tokens");
    for _ in 0..60 {
        e = format!("(1 + {e})");
    }
    let r = sql(&format!("SELECT max({e}) AS m FROM llm_events")).unwrap();
    assert_eq!(r.data, vec![vec![Value::UInt(180)]]);
    let too_deep = format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100));
    assert!(sql(&too_deep).is_err());
}
