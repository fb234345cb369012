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

/// Filtered aggregation takes three routes: rows masked out of the aggregates (a filter that
/// keeps most rows, simple arguments), rows copied out (few rows kept, or arguments that could
/// fail on a dropped row), and generic grouping (several keys). All must agree with sums
/// computed row by row from the same events.
#[test]
fn filtered_aggregation_routes_agree() {
    let mut s = EventStore::new();
    let cfg = crate::GenConfig {
        rows: 30_000,
        seed: 5,
        ..crate::GenConfig::default()
    };
    let events: Vec<crate::Event> = crate::Generator::new(&cfg).collect();
    s.write(&crate::generate_ndjson(30_000, 5)).unwrap();
    s.end().unwrap();
    let mut models: Vec<&str> = events.iter().map(|e| e.model_name).collect();
    models.sort_unstable();
    models.dedup();
    assert!(models.len() > 3, "{models:?}");
    // Most models (masked route) and one model (copied route).
    for keep in [&models[1..], &models[..1]] {
        let list = keep
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let direct = format!(
            "SELECT model_name, count() AS n, sum(prompt_tokens) AS p, sum(cost) AS c, \
             avg(success) AS ok, countIf(success = 0) AS e FROM llm_events \
             WHERE model_name IN ({list}) GROUP BY model_name ORDER BY model_name"
        );
        // toUInt64() may fail in general, so these arguments take the copying route.
        let copied = direct
            .replace("sum(prompt_tokens)", "sum(toUInt64(prompt_tokens))")
            .replace("count() AS n", "count(toUInt64(prompt_tokens)) AS n");
        // A second key takes the generic grouping route.
        let generic = direct.replace(
            "GROUP BY model_name",
            "GROUP BY model_name, toYear(event_time)",
        );
        let results: Vec<Endpoint> = [&direct, &copied, &generic]
            .iter()
            .map(|q| s.sql(q, &Params::new()).unwrap())
            .collect();
        // No key: the whole filtered table is one group.
        let total = s
            .sql(
                &direct
                    .replace("model_name, count()", "count()")
                    .replace(" GROUP BY model_name ORDER BY model_name", ""),
                &Params::new(),
            )
            .unwrap();
        let kept: Vec<&crate::Event> = events
            .iter()
            .filter(|e| keep.contains(&e.model_name))
            .collect();
        let p: u64 = kept.iter().map(|e| u64::from(e.prompt_tokens)).sum();
        let c: f64 = kept.iter().map(|e| f64::from(e.cost as f32)).sum();
        assert_eq!(total.get(0, "n"), Some(&Value::UInt(kept.len() as u64)));
        assert_eq!(total.get(0, "p"), Some(&Value::UInt(p)));
        let Some(Value::Float64(got)) = total.get(0, "c") else {
            panic!("total cost: {:?}", total.get(0, "c"))
        };
        assert!((got - c).abs() <= 1e-9 * c.abs(), "{got} vs {c}");
        // Hours and models: more groups than the banked route takes; the filter also drops
        // rows inside the groups it keeps (the failed requests).
        let hourly = s
            .sql(
                &format!(
                    "SELECT model_name AS m, toStartOfHour(event_time) AS h, count() AS n, \
                     sum(prompt_tokens) AS p, sum(cost) AS c, countIf(success = 0) AS e \
                     FROM llm_events WHERE model_name IN ({list}) AND success = 1 GROUP BY m, h"
                ),
                &Params::new(),
            )
            .unwrap();
        assert!(hourly.rows() > 64, "{} groups", hourly.rows());
        for m in keep {
            let rows: Vec<&crate::Event> = events
                .iter()
                .filter(|e| e.model_name == *m && e.success == 1)
                .collect();
            let (mut n, mut p, mut c, mut e) = (0, 0, 0.0, 0);
            for r in 0..hourly.rows() {
                if hourly.get(r, "m") != Some(&Value::Str(m.to_string())) {
                    continue;
                }
                let (
                    Some(Value::UInt(rn)),
                    Some(Value::UInt(rp)),
                    Some(Value::Float64(rc)),
                    Some(Value::UInt(re)),
                ) = (
                    hourly.get(r, "n"),
                    hourly.get(r, "p"),
                    hourly.get(r, "c"),
                    hourly.get(r, "e"),
                )
                else {
                    panic!("row {r} of the hourly result");
                };
                assert!(*rn > 0, "an hour of {m} without rows");
                (n, p, c, e) = (n + rn, p + rp, c + rc, e + re);
            }
            assert_eq!(n, rows.len() as u64, "{m}");
            assert_eq!(
                p,
                rows.iter().map(|e| u64::from(e.prompt_tokens)).sum::<u64>(),
                "{m}"
            );
            assert_eq!(
                e,
                rows.iter().filter(|e| e.success == 0).count() as u64,
                "{m}"
            );
            let want: f64 = rows.iter().map(|e| f64::from(e.cost as f32)).sum();
            assert!((c - want).abs() <= 1e-9 * want.abs(), "{m}: {c} vs {want}");
        }
        for (i, m) in keep.iter().enumerate() {
            let rows: Vec<&crate::Event> = events.iter().filter(|e| e.model_name == *m).collect();
            let n = rows.len() as u64;
            let p: u64 = rows.iter().map(|e| u64::from(e.prompt_tokens)).sum();
            let c: f64 = rows.iter().map(|e| f64::from(e.cost as f32)).sum();
            let ok = rows.iter().map(|e| f64::from(e.success)).sum::<f64>() / n as f64;
            let e = rows.iter().filter(|e| e.success == 0).count() as u64;
            for r in &results {
                assert_eq!(r.rows(), keep.len());
                assert_eq!(r.get(i, "model_name"), Some(&Value::Str(m.to_string())));
                assert_eq!(r.get(i, "n"), Some(&Value::UInt(n)));
                assert_eq!(r.get(i, "p"), Some(&Value::UInt(p)));
                assert_eq!(r.get(i, "e"), Some(&Value::UInt(e)));
                let Some(Value::Float64(got)) = r.get(i, "c") else {
                    panic!("cost of {m}: {:?}", r.get(i, "c"))
                };
                assert!((got - c).abs() <= 1e-9 * c.abs(), "{m}: {got} vs {c}");
                assert_eq!(r.get(i, "ok"), Some(&Value::Float64(ok)));
            }
        }
    }
}

#[test]
fn rows_the_filter_drops_are_never_computed() {
    let s = store();
    // intDiv by zero raises, as in ClickHouse; the filter drops exactly those rows.
    assert!(s
        .sql(
            "SELECT sum(intDiv(total_tokens, success)) FROM llm_events",
            &Params::new()
        )
        .is_err());
    let r = s
        .sql(
            "SELECT model_name, sum(intDiv(total_tokens, success)) AS t FROM llm_events \
             WHERE success != 0 GROUP BY model_name ORDER BY model_name",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(r.get(0, "t"), Some(&Value::UInt(15)));
    assert_eq!(r.get(1, "t"), Some(&Value::UInt(120)));
}
