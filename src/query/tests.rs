//! End-to-end tests of queries over a small store.

use super::*;
use crate::EventStore;

pub(super) fn store() -> EventStore {
    store_with(crate::Options::default())
}

pub(super) fn store_with(options: crate::Options) -> EventStore {
    let mut s = EventStore::with_datasource(crate::Datasource::llm_events(), options);
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

pub(super) fn sql(q: &str) -> Result<Endpoint> {
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
fn fused_sums_counts_and_averages_match_hand_sums() {
    // Sums worked out from the three rows of `store()`.
    let q = |w: &str, k: &str, o: &str| {
        sql(&format!(
            "SELECT {k}, sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), \
             sum(success), sum(cache_read_tokens), sum(cost), avg(latency), avg(success), \
             count(), sum(latency) FROM llm_events {w} GROUP BY {o} ORDER BY {o}"
        ))
        .unwrap()
        .data
    };
    let f = Value::Float64;
    let u = Value::UInt;
    let s = |x: &str| Value::Str(x.into());
    let all = q("", "model_name", "model_name");
    assert_eq!(
        all,
        vec![
            vec![
                s("claude"),
                u(10),
                u(5),
                u(15),
                u(1),
                u(0),
                f(0.125),
                f(2.5),
                f(1.0),
                u(1),
                f(2.5)
            ],
            vec![
                s("gpt-4o"),
                u(150),
                u(30),
                u(180),
                u(1),
                u(0),
                f(0.75),
                f(1.0),
                f(0.5),
                u(2),
                f(2.0)
            ],
        ]
    );
    // Two rows of three pass: the filter becomes a mask the sums skip the third row by.
    let masked = q("WHERE latency > 1", "model_name", "model_name");
    assert_eq!(
        masked,
        vec![
            vec![
                s("claude"),
                u(10),
                u(5),
                u(15),
                u(1),
                u(0),
                f(0.125),
                f(2.5),
                f(1.0),
                u(1),
                f(2.5)
            ],
            vec![
                s("gpt-4o"),
                u(100),
                u(20),
                u(120),
                u(1),
                u(0),
                f(0.5),
                f(1.5),
                f(1.0),
                u(1),
                f(1.5)
            ],
        ]
    );
    // Groups of an hour and a model (not dictionary codes); and a subquery's columns.
    let pairs = q(
        "",
        "toStartOfHour(event_time) AS h, model_name",
        "h, model_name",
    );
    assert_eq!(pairs.len(), 2);
    assert_eq!(&pairs[0][2..], &all[1][1..]);
    assert_eq!(&pairs[1][2..], &all[0][1..]);
    let sub = sql(
        "SELECT model_name, sum(prompt_tokens), avg(latency), count() FROM \
         (SELECT model_name, prompt_tokens, latency FROM llm_events) GROUP BY model_name \
         ORDER BY model_name",
    )
    .unwrap()
    .data;
    assert_eq!(sub[1], vec![s("gpt-4o"), u(150), f(1.0), u(2)]);
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
    let too_deep = format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200));
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

/// One value of a one-row, one-column answer.
fn one(q: &str) -> Value {
    let e = sql(q).unwrap_or_else(|err| panic!("{q}: {err}"));
    assert_eq!(e.rows(), 1, "{q}");
    e.data[0][0].clone()
}

fn text(q: &str) -> String {
    match one(q) {
        Value::Str(s) => s,
        other => panic!("{q}: {other:?} is not a string"),
    }
}

/// A store of `rows` generated events (several blocks) and the events themselves.
fn generated(rows: u64, seed: u64) -> (EventStore, Vec<crate::Event>) {
    let cfg = crate::GenConfig {
        rows,
        seed,
        ..crate::GenConfig::default()
    };
    let events: Vec<crate::Event> = crate::Generator::new(&cfg).collect();
    let mut s = EventStore::new();
    s.write(&crate::generate_ndjson(rows, seed)).unwrap();
    s.end().unwrap();
    assert_eq!(s.row_count(), rows);
    (s, events)
}

// The expected values below are ClickHouse's (26.9, through chDB) for the same queries, or
// counted from the generated events themselves.

#[test]
fn to_string_of_numbers_and_times_is_right_in_every_block() {
    let (s, events) = generated(100_000, 11);
    let run = |q: &str| run_sql_with(s.store(), q, &Params::new(), &[], 1_700_000_000).unwrap();
    let ok = events.iter().filter(|e| e.success == 1).count() as u64;
    let e = run("SELECT count() AS n FROM llm_events WHERE toString(success) = '1'");
    assert_eq!(e.data, vec![vec![Value::UInt(ok)]]);
    let mut times: Vec<i64> = events.iter().map(|e| e.event_time).collect();
    times.sort_unstable();
    times.dedup();
    let e = run(
        "SELECT count() AS n FROM (SELECT toString(event_time) AS t FROM llm_events GROUP BY t)",
    );
    assert_eq!(e.data, vec![vec![Value::UInt(times.len() as u64)]]);
}

#[test]
fn modulo_by_a_negative_divisor() {
    assert_eq!(one("SELECT 7 % -2"), Value::UInt(1));
    assert_eq!(sql("SELECT 7 % -2 AS m").unwrap().meta[0].ty, "UInt8");
    assert_eq!(one("SELECT toInt32(-1000) % toUInt8(3)"), Value::Int(-1));
    // 100, 50 and 10 modulo 3 are 1, 2 and 1: two groups, each below 3.
    let e =
        sql("SELECT prompt_tokens % -3 AS m, count() AS c FROM llm_events GROUP BY m ORDER BY m")
            .unwrap();
    assert_eq!(
        e.data,
        vec![
            vec![Value::UInt(1), Value::UInt(2)],
            vec![Value::UInt(2), Value::UInt(1)]
        ]
    );
    for q in [
        "SELECT intDiv(-9223372036854775808, -1)",
        "SELECT -9223372036854775808 % -1",
    ] {
        let err = sql(q).unwrap_err().to_string();
        assert!(err.contains("minimal signed number"), "{q}: {err}");
    }
}

#[test]
fn unknown_escapes_keep_their_backslash() {
    assert_eq!(text("SELECT 'a\\_b'"), "a\\_b");
    assert_eq!(text("SELECT 'a\\%b'"), "a\\%b");
    assert_eq!(text("SELECT 'a\\qb'"), "a\\qb");
    assert_eq!(text("SELECT 'a\\\\b'"), "a\\b");
    assert_eq!(text("SELECT 'a\\'b\\\"c\\/d'"), "a'b\"c/d");
    // `gpt\_4o%` matches a literal underscore only.
    assert_eq!(one("SELECT 'gpt_4o-mini' LIKE 'gpt\\_4o%'"), Value::UInt(1));
    assert_eq!(one("SELECT 'gpt-4o-mini' LIKE 'gpt\\_4o%'"), Value::UInt(0));
    assert_eq!(one("SELECT 'gpt-4o' LIKE '%\\%%'"), Value::UInt(0));
    assert_eq!(one("SELECT '50%' LIKE '%\\%%'"), Value::UInt(1));
}

#[test]
fn month_and_quarter_buckets_count_from_1900() {
    let t = "toDateTime('2024-05-17 10:00:00')";
    for (interval, start) in [
        ("INTERVAL 3 QUARTER", "2023-10-01"),
        ("INTERVAL 11 QUARTER", "2023-10-01"),
        ("INTERVAL 33 MONTH", "2023-10-01"),
        ("INTERVAL 5 YEAR", "2020-01-01"),
        ("INTERVAL 7 YEAR", "2023-01-01"),
    ] {
        let q = format!("SELECT toString(toStartOfInterval({t}, {interval}))");
        assert_eq!(text(&q), start, "{q}");
    }
}

#[test]
fn calendar_intervals_wrap_past_2106() {
    for (q, want) in [
        (
            "SELECT toString(toDateTime('2024-01-01 00:00:00') + INTERVAL 90 YEAR)",
            "1977-11-24 17:31:44",
        ),
        (
            "SELECT toString(toDateTime('2100-01-01 00:00:00') + INTERVAL 100 MONTH)",
            "1972-03-24 17:31:44",
        ),
        (
            "SELECT toString(toDate('2100-01-01') + INTERVAL 50 YEAR)",
            "1970-07-28",
        ),
        (
            "SELECT toString(toDateTime('1971-01-01 00:00:00') - INTERVAL 5 YEAR)",
            "1970-01-01 00:00:00",
        ),
    ] {
        assert_eq!(text(q), want, "{q}");
    }
}

#[test]
fn to_string_of_floats_as_clickhouse_writes_them() {
    for (q, want) in [
        ("SELECT toString(0/0)", "nan"),
        ("SELECT toString(1/0)", "inf"),
        ("SELECT toString(-1/0)", "-inf"),
        ("SELECT toString(1e-7)", "1e-7"),
        ("SELECT toString(1e-6)", "0.000001"),
        ("SELECT toString(toFloat32(123456792))", "123456790"),
        ("SELECT toString(1e20)", "100000000000000000000"),
        ("SELECT toString(1e21)", "1e21"),
        ("SELECT toString(1.5e21)", "1.5e21"),
        ("SELECT toString(0.1 + 0.2)", "0.30000000000000004"),
        ("SELECT toString(-0.)", "-0"),
    ] {
        assert_eq!(text(q), want, "{q}");
    }
}

#[test]
fn times_from_numbers_are_clamped() {
    for (q, want) in [
        ("SELECT toString(toDateTime(-1))", "1970-01-01 00:00:00"),
        (
            "SELECT toString(toDateTime(99999999999))",
            "2106-02-07 06:28:15",
        ),
        ("SELECT toString(toDate(99999999999))", "2106-02-07"),
        ("SELECT toString(toDate(-100))", "1970-01-01"),
        ("SELECT toString(toDate(100))", "1970-04-11"),
        ("SELECT toString(toDate(65536))", "1970-01-01"),
        ("SELECT toString(toDate(1000000000))", "2001-09-09"),
    ] {
        assert_eq!(text(q), want, "{q}");
    }
}

#[test]
fn in_and_distinct_tell_floats_apart_as_clickhouse_does() {
    assert_eq!(one("SELECT -0. IN (0)"), Value::UInt(0));
    assert_eq!(one("SELECT -0. = 0"), Value::UInt(1));
    assert_eq!(one("SELECT 0/0 IN (0/0)"), Value::UInt(1));
    assert_eq!(one("SELECT 1. IN (1)"), Value::UInt(1));
    let e = sql(
        "SELECT count() AS n FROM (SELECT DISTINCT if(success = 1, 1/0, -1/0) AS x FROM llm_events)",
    )
    .unwrap();
    assert_eq!(e.data, vec![vec![Value::UInt(2)]]);
    let e = sql(
        "SELECT count() AS n FROM (SELECT DISTINCT multiIf(latency < 1, 0/0, latency < 2, 1/0, -1/0) \
         AS x FROM llm_events)",
    )
    .unwrap();
    assert_eq!(e.data, vec![vec![Value::UInt(3)]]);
}

/// Runs `f` on a thread with wasm32's default stack of 1 MiB, so that native runs catch what
/// would overflow in wasm. Unoptimised builds take several times more stack per call, so they
/// get 8 MiB; the wasm tests (`tests/web_sql_limits.rs`) prove the bounds on 1 MiB.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let size = if cfg!(debug_assertions) {
        8 << 20
    } else {
        1 << 20
    };
    std::thread::Builder::new()
        .stack_size(size)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_hundred_thousand_term_chain_is_an_error() {
    on_small_stack(|| {
        for op in ["+", "*", "-", "/", "%"] {
            let chain = vec!["1"; 100_000].join(&format!(" {op} "));
            let err = sql(&format!("SELECT {chain}")).unwrap_err().to_string();
            assert!(err.contains("nest too deeply"), "{op}: {err}");
        }
        // `||` is one concat() of every operand, as in ClickHouse: flat, so 50,000 terms
        // answer, and 100,000 pass the bound on an expression's size.
        let chain = vec!["'x'"; 50_000].join(" || ");
        let e = sql(&format!("SELECT {chain} AS s")).expect("50,000-term ||");
        assert_eq!(e.data, vec![vec![Value::Str("x".repeat(50_000))]]);
        let chain = vec!["'x'"; 100_000].join(" || ");
        let err = sql(&format!("SELECT {chain}")).unwrap_err().to_string();
        assert!(err.contains("too large"), "{err}");
        let chain = vec!["1"; 100].join(" + ");
        assert_eq!(one(&format!("SELECT {chain}")), Value::UInt(100));
        // 250 terms, close to the bound, evaluated over a column.
        let chain = vec!["prompt_tokens"; 250].join(" + ");
        assert_eq!(
            one(&format!("SELECT max({chain}) FROM llm_events")),
            Value::UInt(25_000)
        );
    });
}

#[test]
fn five_thousand_nested_subqueries_are_an_error() {
    on_small_stack(|| {
        let mut from = String::from("SELECT count() AS c FROM llm_events");
        for _ in 0..5_000 {
            from = format!("SELECT * FROM ({from})");
        }
        assert!(sql(&from)
            .unwrap_err()
            .to_string()
            .contains("nest too deeply"));
        // The deepest nesting allowed answers, on wasm32's stack.
        let mut from = String::from("SELECT count() AS c FROM llm_events");
        for _ in 0..parser::MAX_QUERY_NESTING - 1 {
            from = format!("SELECT * FROM ({from})");
        }
        assert_eq!(one(&from), Value::UInt(3));
        let mut e = String::from("total_tokens");
        for _ in 0..60 {
            e = format!("(1 + {e})");
        }
        let r = sql(&format!("SELECT max({e}) AS m FROM llm_events")).unwrap();
        assert_eq!(r.data, vec![vec![Value::UInt(180)]]);
    });
}

#[test]
fn five_thousand_nested_with_tables_are_an_error() {
    on_small_stack(|| {
        let mut with = String::from("SELECT 1 AS x");
        for i in 0..5_000 {
            with = format!("WITH t{i} AS ({with}) SELECT * FROM t{i}");
        }
        assert!(sql(&with)
            .unwrap_err()
            .to_string()
            .contains("nest too deeply"));
    });
}

#[test]
fn aliases_doubling_each_other_are_bounded() {
    on_small_stack(|| {
        let chain = |first: &str, n: usize| {
            let mut aliases = format!("WITH {first} AS a0");
            for i in 1..n {
                aliases.push_str(&format!(", a{} + a{} AS a{i}", i - 1, i - 1));
            }
            aliases
        };
        // Constant aliases fold once each: 60 of them answer at once (2^59, hand-derived; the
        // type widens UInt8 -> UInt16 -> UInt32 -> UInt64 as ClickHouse's plus does).
        let e = sql(&format!(
            "{} SELECT a59, a3 + 1, a2 FROM llm_events LIMIT 1",
            chain("1", 60)
        ))
        .unwrap();
        assert_eq!(
            e.data,
            vec![vec![Value::UInt(1 << 59), Value::UInt(9), Value::UInt(4)]]
        );
        assert_eq!(e.meta[1].name, "plus(a3, 1)");
        assert_eq!(e.meta[1].ty, "UInt64");
        assert_eq!(e.meta[2].ty, "UInt32");
        // Aliases over a column still expand, and stop with an error once too large.
        let err = sql(&format!(
            "{} SELECT a59 FROM llm_events",
            chain("prompt_tokens", 60)
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("too large"), "{err}");
        assert_eq!(
            one(&format!("{} SELECT a11", chain("1", 12))),
            Value::UInt(2048)
        );
        let e = sql(&format!(
            "{} SELECT sum(a3) FROM llm_events",
            chain("prompt_tokens", 4)
        ))
        .unwrap();
        // 8 × (100 + 50 + 10).
        assert_eq!(e.data, vec![vec![Value::UInt(1280)]]);
    });
}

#[test]
fn in_a_subquery_of_many_strings_is_hashed() {
    let mut s = EventStore::new();
    let mut data = String::new();
    for i in 0..200_000 {
        data.push_str(&format!(
            "{{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m{i}\"}}\n"
        ));
    }
    s.write(data.as_bytes()).unwrap();
    s.end().unwrap();
    let q = "SELECT count() AS n FROM llm_events WHERE model_name IN \
             (SELECT model_name FROM llm_events WHERE prompt_tokens = 0)";
    let e = run_sql_with(s.store(), q, &Params::new(), &[], 0).unwrap();
    assert_eq!(e.data, vec![vec![Value::UInt(200_000)]]);
}

#[test]
fn ordering_by_arrays_holding_nan_is_a_total_order() {
    let (s, _) = generated(50_000, 3);
    let q = "SELECT quantiles(1)(if(success = 0, 0/0, latency)) AS q FROM llm_events \
             GROUP BY event_time ORDER BY q";
    let e = run_sql_with(s.store(), q, &Params::new(), &[], 0).unwrap();
    let first = |v: &Value| match v {
        Value::Array(items) => match items.first() {
            Some(Value::Float32(x)) => f64::from(*x),
            Some(Value::Float64(x)) => *x,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let keys: Vec<f64> = e.data.iter().map(|r| first(&r[0])).collect();
    let nan_from = keys.iter().position(|x| x.is_nan()).unwrap_or(keys.len());
    assert!(keys[nan_from..].iter().all(|x| x.is_nan()));
    assert!(keys[..nan_from].windows(2).all(|w| w[0] <= w[1]));
    assert!(
        nan_from > 0 && nan_from < keys.len(),
        "{nan_from} of {}",
        keys.len()
    );
}

#[test]
fn column_names_of_literals_and_subqueries_follow_clickhouse() {
    let e = sql(
        "SELECT 1e-7, 1e30, -0.0, 1e20, 1.0, 0.1, 1e21, NaN, -inf, (SELECT 1), \
         (SELECT 2) + (SELECT 3), CEILING(1.5)",
    )
    .unwrap();
    let names: Vec<&str> = e.meta.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "1e-7",
            "1e30",
            "-0.",
            "100000000000000000000.",
            "1.",
            "0.1",
            "1e21",
            "nan",
            "-inf",
            "_subquery_1",
            "plus(_subquery_2, _subquery_3)",
            "CEILING(1.5)",
        ]
    );
    assert_eq!(e.data[0][11], Value::Float64(2.0));
}

#[test]
fn extremes_and_arg_extremes_pass_over_nan() {
    // latency is 1.5, 0.5 and 2.5; the first row's becomes NaN, then every row's.
    let q = |agg: &str, x: &str| {
        one(&format!(
            "SELECT {agg} FROM (SELECT {x} AS x, model_name AS y FROM llm_events)"
        ))
    };
    let nan_first = "if(latency = 1.5, 0/0, latency)";
    assert_eq!(q("max(x)", nan_first), Value::Float64(2.5));
    assert_eq!(q("min(x)", nan_first), Value::Float64(0.5));
    assert_eq!(q("argMax(y, x)", nan_first), Value::Str("claude".into()));
    assert_eq!(q("argMin(y, x)", nan_first), Value::Str("gpt-4o".into()));
    match q("max(x)", "0/0 + latency") {
        Value::Float64(v) => assert!(v.is_nan()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn integer_rounding_wraps_in_its_type() {
    for (q, want) in [
        (
            "SELECT round(toUInt8(255), -1), round(toUInt64(18446744073709551615), -1), \
             floor(toInt8(-128), -1), ceil(toUInt8(250), -1)",
            vec![4, 0, 110, 0],
        ),
        (
            "SELECT round(toUInt8(255), -2), round(toInt8(-128), -1), round(toInt8(-125), -1), \
             round(toInt8(125), -1), round(toInt32(-15), -1), round(toInt32(-14), -1)",
            vec![44, 120, 120, -126, -20, -10],
        ),
        (
            "SELECT round(toUInt8(200), -3), round(toInt16(2000), -5), floor(toUInt32(5), -20), \
             round(toUInt16(65535), -1), ceil(toUInt16(65530), -1), floor(toInt32(-2147483648), -1)",
            vec![0, 0, 0, 4, 0, 2147483630],
        ),
    ] {
        let e = sql(q).unwrap();
        let got: Vec<i128> = e.data[0]
            .iter()
            .map(|v| match v {
                Value::UInt(x) => i128::from(*x),
                Value::Int(x) => i128::from(*x),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, want, "{q}");
    }
}

#[test]
fn float_text_breaks_ties_to_even() {
    // 600.02398681640625 is exactly halfway between two 16-digit texts.
    assert_eq!(
        text("SELECT toString(toFloat64(toFloat32(600.02398681640625)))"),
        "600.0239868164062"
    );
    assert_eq!(text("SELECT toString(0.1 + 0.2)"), "0.30000000000000004");
}

#[test]
fn concat_joins_the_texts_of_any_type() {
    assert_eq!(text("SELECT concat()"), "");
    assert_eq!(
        text("SELECT 'x' || 1 || 1.5 || toDate('2024-01-01')"),
        "x11.52024-01-01"
    );
    let e = sql("SELECT 'a' || 'b' || 'c', ('a' || 'b') || 'c'").unwrap();
    assert_eq!(e.meta[0].name, "concat('a', 'b', 'c')");
    assert_eq!(e.meta[1].name, "concat(concat('a', 'b'), 'c')");
    let e = sql("SELECT concat(model_name, ':', prompt_tokens) AS k FROM llm_events ORDER BY k")
        .unwrap();
    let got: Vec<Value> = e.data.into_iter().map(|mut r| r.remove(0)).collect();
    assert_eq!(
        got,
        ["claude:10", "gpt-4o:100", "gpt-4o:50"].map(|s| Value::Str(s.into()))
    );
}

#[test]
fn results_past_their_limits_are_errors_naming_the_setting() {
    let limited = |max_rows: u64, max_bytes: u64| {
        store_with(crate::Options {
            result_limits: crate::ResultLimits {
                max_rows,
                max_bytes,
            },
            ..crate::Options::default()
        })
    };
    let s = limited(2, u64::MAX);
    let err = s
        .sql("SELECT * FROM llm_events", &Params::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("max_result_rows") && err.contains("maxResultRows"),
        "{err}"
    );
    assert_eq!(
        s.sql("SELECT * FROM llm_events LIMIT 2", &Params::new())
            .unwrap()
            .rows(),
        2
    );
    // Three rows of one column named `model_name` (10 bytes, + 12 per row) holding 6, 6 and 6
    // bytes: 3 * 22 + 18 = 84 bytes.
    let q = "SELECT model_name FROM llm_events";
    let s = limited(u64::MAX, 83);
    let err = s.sql(q, &Params::new()).unwrap_err().to_string();
    assert!(
        err.contains("max_result_bytes") && err.contains("maxResultBytes"),
        "{err}"
    );
    let s = limited(u64::MAX, 84);
    assert_eq!(s.sql(q, &Params::new()).unwrap().rows(), 3);
    let err = limited(1, u64::MAX)
        .pipe("llm_usage_by_model", &Params::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("max_result_rows"), "{err}");
}

#[test]
fn a_date_is_not_compared_with_a_number() {
    for q in [
        "SELECT toDate('2024-01-01') = 19723",
        "SELECT toDate('2024-01-01') > 1",
        "SELECT 1 < toDate('2024-01-01')",
    ] {
        let err = sql(q).unwrap_err().to_string();
        assert!(err.contains("Date"), "{q}: {err}");
    }
    assert_eq!(
        one("SELECT toDateTime('2024-01-01 00:00:00') = 1704067200"),
        Value::UInt(1)
    );
    assert_eq!(
        one("SELECT toDate('2024-01-01') IN (19723)"),
        Value::UInt(1)
    );
}

#[test]
fn avg_of_64_bit_integers_wraps_its_sum_as_clickhouse_does() {
    // Two gpt-4o rows of x and one claude row of 3: the sums wrap in 64 bits of the argument's
    // sign before the division (2 * (2^64 - 1) + 3 is 1 modulo 2^64).
    for (x, want) in [
        ("toUInt64(18446744073709551615)", 1.0 / 3.0),
        ("toInt64(9223372036854775807)", 1.0 / 3.0),
        ("toUInt32(4294967295)", 2863311531.0),
        ("toInt8(-128)", -253.0 / 3.0),
    ] {
        let q = format!("SELECT avg(if(model_name = 'claude', 3, {x})) FROM llm_events");
        assert_eq!(one(&q), Value::Float64(want), "{q}");
    }
}

#[test]
fn distinct_counts_take_several_arguments() {
    // (gpt-4o, 1), (gpt-4o, 0) and (claude, 1): three pairs, two models; a NaN of each sign
    // (0/0 is negative, its negation positive), told apart by their bits as ClickHouse does.
    let e = sql(
        "SELECT count(DISTINCT model_name, success), uniqExact(model_name, success), \
         uniq(model_name, model_name), uniqExact(if(success = 1, (success - 1) / (success - 1), \
         -((success - success) / (success - success)))) FROM llm_events",
    )
    .unwrap();
    assert_eq!(e.meta[0].name, "countDistinct(model_name, success)");
    assert_eq!(
        e.data,
        vec![vec![
            Value::UInt(3),
            Value::UInt(3),
            Value::UInt(2),
            Value::UInt(2)
        ]]
    );
}

/// The rows of `q`'s answer as JSON values, column by column, and the column types.
fn json_rows(q: &str) -> (Vec<String>, Vec<Vec<serde_json::Value>>) {
    let e = sql(q).unwrap_or_else(|err| panic!("{q}: {err}"));
    let doc: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    let names: Vec<String> = e.meta.iter().map(|m| m.name.clone()).collect();
    let rows = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| names.iter().map(|n| r[n].clone()).collect())
        .collect();
    (e.meta.iter().map(|m| m.ty.clone()).collect(), rows)
}

/// Expected answers: ClickHouse 26.9 (chDB) on the three rows of `store()`.
#[test]
fn nulls_flow_through_expressions_aggregates_and_groups() {
    use serde_json::json;
    let cases: &[(&str, &[&str], serde_json::Value)] = &[
        (
            "SELECT count(CASE WHEN latency < 1 THEN 1 END) AS c, avg(CASE WHEN latency > 1 THEN latency END) AS a, sum(if(success = 1, NULL, prompt_tokens)) AS s, min(nullIf(prompt_tokens, 10)) AS m FROM llm_events",
            &["UInt64", "Nullable(Float64)", "Nullable(UInt64)", "Nullable(UInt32)"],
            json!([[1, 2, 50, 50]]),
        ),
        (
            "SELECT if(success = 1, NULL, model_name) AS k, count() AS n, sum(total_tokens) AS t FROM llm_events GROUP BY k ORDER BY k",
            &["Nullable(String)", "UInt64", "UInt64"],
            json!([["gpt-4o", 1, 60], [null, 2, 135]]),
        ),
        (
            "SELECT if(success = 1, NULL, model_name) AS k, count() AS n FROM llm_events GROUP BY k ORDER BY k DESC NULLS FIRST",
            &["Nullable(String)", "UInt64"],
            json!([[null, 2], ["gpt-4o", 1]]),
        ),
        (
            "SELECT model_name, nullIf(error_message, '') AS e, e IS NULL AS n, isNotNull(e) AS nn, coalesce(e, model_name) AS c, ifNull(e, 'ok') AS f FROM llm_events ORDER BY prompt_tokens",
            &["String", "Nullable(String)", "UInt8", "UInt8", "String", "String"],
            json!([
                ["claude", null, 1, 0, "claude", "ok"],
                ["gpt-4o", "timeout", 0, 1, "timeout", "timeout"],
                ["gpt-4o", null, 1, 0, "gpt-4o", "ok"]
            ]),
        ),
        (
            "SELECT NULL AND 0 AS a, NULL AND 1 AS b, NULL OR 1 AS c, NULL OR 0 AS d, (latency > 1) AND NULL AS e FROM llm_events ORDER BY prompt_tokens",
            &["Nullable(UInt8)"; 5],
            json!([[0, null, 1, null, null], [0, null, 1, null, 0], [0, null, 1, null, null]]),
        ),
        (
            "SELECT intDiv(100, nullIf(success, 0)) AS q, assumeNotNull(nullIf(success, 0) + 1) AS r, toNullable(success) AS t FROM llm_events ORDER BY prompt_tokens",
            &["Nullable(UInt8)", "UInt16", "Nullable(UInt8)"],
            json!([[100, 2, 1], [null, 1, 0], [100, 2, 1]]),
        ),
        (
            "SELECT sum(nullIf(success, 1)) AS s, count(nullIf(success, 1)) AS c, uniqExact(nullIf(model_name, 'claude')) AS u, argMax(model_name, nullIf(latency, 2.5)) AS am FROM llm_events",
            &["Nullable(UInt64)", "UInt64", "UInt64", "Nullable(String)"],
            json!([[0, 1, 1, "gpt-4o"]]),
        ),
        (
            "SELECT model_name, quantileExact(0.5)(nullIf(latency, 0.5)) AS q FROM llm_events GROUP BY model_name ORDER BY model_name",
            &["String", "Nullable(Float32)"],
            json!([["claude", 2.5], ["gpt-4o", 1.5]]),
        ),
        (
            "SELECT count() FROM llm_events WHERE nullIf(success, 0)",
            &["UInt64"],
            json!([[2]]),
        ),
        (
            "SELECT sumIf(if(success = 1, NULL, latency), 0) AS s, quantileExactIf(0.5)(if(success = 1, NULL, latency), 0) AS q FROM llm_events GROUP BY success ORDER BY success",
            &["Nullable(Float64)", "Nullable(Float32)"],
            json!([[null, null], [null, null]]),
        ),
        (
            "SELECT NOT (1 = NULL) AS k, count() FROM llm_events GROUP BY k",
            &["Nullable(Nothing)", "UInt64"],
            json!([[null, 3]]),
        ),
    ];
    for (q, types, want) in cases {
        let (got_types, rows) = json_rows(q);
        assert_eq!(&got_types, types, "{q}");
        assert_eq!(&serde_json::Value::from(rows), want, "{q}");
    }
}

/// Expected answers: ClickHouse 26.9 (chDB) reading the same rows as JSONEachRow into a table of
/// the same column types.
#[test]
fn nullable_columns_store_missing_keys_and_null_as_null() {
    let ds = crate::schema::parse_datasource(
        "calls",
        "SCHEMA >\n    `event_time` DateTime `json:$.t`,\n    `model_name` LowCardinality(Nullable(String)) `json:$.m`,\n    `tokens` Nullable(UInt32) `json:$.usage.tokens`,\n    `cost` Nullable(Float64) `json:$.cost`,\n    `err` Nullable(String) `json:$.err`\n\nENGINE \"MergeTree\"\nENGINE_PARTITION_KEY \"toYYYYMM(event_time)\"\nENGINE_SORTING_KEY \"event_time\"\n",
    )
    .unwrap();
    assert!(ds.columns[2].nullable && !ds.columns[0].nullable);
    let mut s = EventStore::with_datasource(ds, crate::Options::default());
    let lines = concat!(
        r#"{"t":"2024-05-01 10:00:00","m":"gpt-4o","usage":{"tokens":100},"cost":0.5,"err":null}"#,
        "\n",
        r#"{"t":"2024-05-01 10:01:00","m":null,"usage":{"tokens":null},"cost":0.25,"err":"timeout"}"#,
        "\n",
        r#"{"t":"2024-05-01 10:02:00","usage":{},"err":""}"#,
        "\n",
        r#"{"t":"2024-05-01 10:03:00","m":"claude","usage":{"tokens":7},"cost":null}"#,
        "\n",
        r#"{"t":"2024-05-01 10:04:00","m":"gpt-4o","cost":1.5,"err":"rate limit"}"#,
        "\n",
    );
    s.write(lines.as_bytes()).unwrap();
    let report = s.end().unwrap();
    assert_eq!((report.rows, report.quarantined), (5, 0));
    let e = run_sql_with(
        s.store(),
        "SELECT model_name, count() c, count(tokens) ct, sum(tokens) st, avg(cost) ac, countIf(err IS NULL) en, any(err) ae FROM calls GROUP BY model_name ORDER BY model_name",
        &Params::new(),
        &[],
        0,
    )
    .unwrap();
    let types: Vec<&str> = e.meta.iter().map(|m| m.ty.as_str()).collect();
    assert_eq!(
        types,
        [
            "LowCardinality(Nullable(String))",
            "UInt64",
            "UInt64",
            "Nullable(UInt64)",
            "Nullable(Float64)",
            "UInt64",
            "Nullable(String)"
        ]
    );
    let doc: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    let rows: Vec<Vec<serde_json::Value>> = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| e.meta.iter().map(|m| r[&m.name].clone()).collect())
        .collect();
    assert_eq!(
        serde_json::Value::from(rows),
        serde_json::json!([
            ["claude", 1, 1, 7, null, 1, null],
            ["gpt-4o", 2, 1, 100, 1, 1, "rate limit"],
            [null, 2, 0, null, 0.25, 0, "timeout"]
        ])
    );
    // Functions of one low-cardinality column (other arguments constant) are LowCardinality;
    // aggregates, if/multiIf, isNull and functions of two columns are not (types from chDB
    // 26.9 over a LowCardinality(Nullable(String)) column).
    let e = run_sql_with(
        s.store(),
        "SELECT length(model_name), empty(model_name), model_name <= 'x', model_name IN ('x'), \
         lower(model_name), coalesce('z', model_name), length(model_name) + 1, \
         toString(length(model_name)), isNull(model_name), notEmpty(model_name) AND 1, \
         multiIf(tokens > 1, model_name, 'q'), length(model_name) + tokens, \
         -length(model_name) FROM calls",
        &Params::new(),
        &[],
        0,
    )
    .unwrap();
    let types: Vec<&str> = e.meta.iter().map(|m| m.ty.as_str()).collect();
    assert_eq!(
        types,
        [
            "LowCardinality(Nullable(UInt64))",
            "LowCardinality(Nullable(UInt8))",
            "LowCardinality(Nullable(UInt8))",
            "LowCardinality(Nullable(UInt8))",
            "LowCardinality(Nullable(String))",
            "LowCardinality(String)",
            "LowCardinality(Nullable(UInt64))",
            "LowCardinality(Nullable(String))",
            "UInt8",
            "Nullable(UInt8)",
            "Nullable(String)",
            "Nullable(UInt64)",
            "LowCardinality(Nullable(Int64))",
        ]
    );
    let e = run_sql_with(
        s.store(),
        "SELECT k, min(length(model_name)), max(k) FROM (SELECT length(model_name) AS k, \
         model_name FROM calls) GROUP BY k ORDER BY k",
        &Params::new(),
        &[],
        0,
    )
    .unwrap();
    let types: Vec<&str> = e.meta.iter().map(|m| m.ty.as_str()).collect();
    assert_eq!(
        types,
        [
            "LowCardinality(Nullable(UInt64))",
            "Nullable(UInt64)",
            "Nullable(UInt64)"
        ]
    );
    // A NULL can be neither a sorting key nor a partition key, as in ClickHouse.
    for (key, line) in [
        ("ENGINE_SORTING_KEY \"tokens\"", "sorting key"),
        ("ENGINE_PARTITION_KEY \"toYYYYMM(t)\"", "partition key"),
    ] {
        let text = format!("SCHEMA >\n    `t` Nullable(DateTime),\n    `tokens` Nullable(UInt32)\n\nENGINE \"MergeTree\"\n{key}\n");
        let err = crate::schema::parse_datasource("x", &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(line) && err.contains("Nullable"), "{err}");
    }
}

#[test]
fn a_join_reads_per_model_totals_back_onto_rows() {
    let e = sql(
        "SELECT e.model_name, e.cost, t.total FROM llm_events AS e JOIN (SELECT model_name, \
         sum(cost) AS total FROM llm_events GROUP BY model_name) AS t USING model_name \
         ORDER BY e.cost",
    )
    .unwrap();
    let names: Vec<&str> = e.meta.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["model_name", "cost", "total"]);
    // By hand: claude's one row costs 0.125; gpt-4o's two cost 0.25 and 0.5, 0.75 in all.
    let col = |name: &str| {
        (0..e.rows())
            .map(|i| e.get(i, name).cloned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        col("total"),
        [0.125, 0.75, 0.75].map(|x| Some(Value::Float64(x)))
    );
    assert_eq!(
        col("model_name"),
        ["claude", "gpt-4o", "gpt-4o"].map(|x| Some(Value::Str(x.into())))
    );
}

#[test]
fn unions_and_joins_refuse_what_clickhouse_refuses() {
    for (q, what) in [
        ("SELECT 1 UNION SELECT 2", "EXPECTED_ALL_OR_DISTINCT"),
        (
            "SELECT 1 AS a, 2 UNION ALL SELECT 3",
            "UNION_ALL_RESULT_STRUCTURES_MISMATCH",
        ),
        ("SELECT 1 AS a UNION ALL SELECT 'x'", "Variant"),
        (
            "SELECT * FROM llm_events AS a ANY FULL JOIN llm_events AS b USING model_name",
            "NOT_IMPLEMENTED",
        ),
        (
            "SELECT * FROM llm_events AS a JOIN (SELECT 1 AS x) ON a.success = x",
            "ALIAS_REQUIRED",
        ),
        (
            "SELECT * FROM llm_events AS a JOIN llm_events AS b ON a.cost < b.cost",
            "equalities",
        ),
    ] {
        let e = sql(q).unwrap_err().to_string();
        assert!(e.contains(what), "{q}: {e}");
    }
}

#[test]
fn a_join_past_max_bytes_is_an_error_naming_it() {
    let used = store().store().bytes();
    let s = store_with(crate::Options {
        max_bytes: used + 20_000,
        ..crate::Options::default()
    });
    // 3 rows joined to themselves: 9 rows, well within the budget.
    let small = "SELECT count() FROM llm_events AS a, llm_events AS b";
    let e = s.sql(small, &Params::new()).unwrap();
    assert_eq!(e.get(0, "count()"), Some(&Value::UInt(9)));
    // Eight times over: 3^8 = 6,561 rows of 18 columns do not fit in 20 kB.
    let big = format!(
        "SELECT count() FROM llm_events AS t0{}",
        (1..8)
            .map(|i| format!(" CROSS JOIN llm_events AS t{i}"))
            .collect::<String>()
    );
    let err = s.sql(&big, &Params::new()).unwrap_err().to_string();
    assert!(err.contains("maxBytes"), "{err}");
}

#[test]
fn long_union_chains_and_deep_nesting_end_cleanly() {
    // A flat chain is read and run in loops: 20,000 parts on a 1 MiB stack, as in wasm.
    let chain = vec!["SELECT 1 AS x"; 20_000].join(" UNION ALL ");
    let q = format!("SELECT count() FROM ({chain})");
    let n = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || sql(&q).map(|e| e.get(0, "count()").cloned()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(n, Some(Value::UInt(20_000)));
    // The first part's `WITH` reaches every part: its copies are bounded.
    let with = format!("WITH [{}] AS big ", vec!["1"; 5_000].join(", "));
    let copies = format!("{with}SELECT big{}", " UNION ALL SELECT big".repeat(1_000));
    let e = sql(&copies).unwrap_err().to_string();
    assert!(e.contains("too many UNION parts"), "{e}");
    // Parts in parentheses nest as subqueries do, within the same bound.
    let nested = format!(
        "{}SELECT 1{}",
        "SELECT 1 UNION ALL (".repeat(5_000),
        ")".repeat(5_000)
    );
    let e = sql(&nested).unwrap_err().to_string();
    assert!(e.contains("nest too deeply"), "{e}");
    let joins = format!(
        "SELECT count() FROM llm_events AS t0{}",
        (1..40)
            .map(|i| format!(" JOIN llm_events AS t{i} USING model_name"))
            .collect::<String>()
    );
    let e = sql(&joins).unwrap_err().to_string();
    assert!(e.contains("too many JOINs"), "{e}");
}

/// `levels` subqueries, one inside another, each the left side of `joins` cross joins.
fn nested_join_chains(levels: usize, joins: usize) -> String {
    let mut q = "SELECT 1 AS c".to_string();
    for _ in 0..levels {
        let chain: String = (1..=joins)
            .map(|i| format!(" CROSS JOIN (SELECT 1 AS z{i}) AS s{i}"))
            .collect();
        q = format!("SELECT 1 AS c FROM ({q}) AS s0{chain}");
    }
    q
}

#[test]
fn join_chains_in_nested_subqueries_end_cleanly() {
    // Joins and subqueries share one bound: on a 1 MiB stack, as in wasm, the deepest
    // statements allowed answer and deeper ones are refused, never a stack overflow.
    let on_small_stack = |q: String| {
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || sql(&q).map(|e| e.get(0, "c").cloned()))
            .unwrap()
            .join()
            .unwrap()
    };
    for (levels, joins) in [(1, 32), (31, 1), (3, 15)] {
        let c = on_small_stack(nested_join_chains(levels, joins));
        assert_eq!(c.unwrap(), Some(Value::UInt(1)), "{levels} x {joins}");
    }
    for (levels, joins) in [(31, 32), (2, 32), (15, 32)] {
        let e = on_small_stack(nested_join_chains(levels, joins)).unwrap_err();
        assert!(
            e.to_string().contains("nest too deeply"),
            "{levels} x {joins}: {e}"
        );
    }
}

#[test]
fn aggregates_outside_the_subset_are_named_under_group_by() {
    for (q, name) in [
        (
            "SELECT model_name, topK(3)(latency) FROM llm_events GROUP BY model_name",
            "topK",
        ),
        (
            "SELECT model_name, uniqCombined(latency) FROM llm_events GROUP BY model_name",
            "uniqCombined",
        ),
        (
            "SELECT model_name, sumMapIf(latency, success) FROM llm_events GROUP BY model_name",
            "sumMap",
        ),
    ] {
        let err = sql(q).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("not supported: aggregate function {name}"),
            "{q}"
        );
    }
}

/// Grammar public Tinybird pipes use; expected answers from chDB (ClickHouse 26.9) over the
/// same three rows, `session_timezone = 'UTC'`.
#[test]
fn tinybird_pipe_sql_forms_match_clickhouse() {
    // A trailing comma in an IN list.
    let e = sql("SELECT model_name, count() AS c FROM llm_events WHERE model_name IN ('claude', 'gpt-4o',) GROUP BY model_name ORDER BY model_name").unwrap();
    assert_eq!(
        e.data,
        vec![
            vec![Value::Str("claude".into()), Value::UInt(1)],
            vec![Value::Str("gpt-4o".into()), Value::UInt(2)],
        ]
    );
    let e =
        sql("SELECT toString(model_name IN ('claude',)) AS x FROM llm_events ORDER BY event_time")
            .unwrap();
    let xs: Vec<Value> = e.data.iter().map(|r| r[0].clone()).collect();
    assert_eq!(xs, ["0", "0", "1"].map(|x| Value::Str(x.into())));
    // An alias given in GROUP BY, used in SELECT.
    let e = sql("SELECT toString(year), toString(count()) AS c FROM llm_events GROUP BY model_name, toYear(event_time) AS year ORDER BY c").unwrap();
    let rows: Vec<Vec<Value>> = e.data.clone();
    let s = |x: &str| Value::Str(x.into());
    assert_eq!(rows, vec![vec![s("2024"), s("1")], vec![s("2024"), s("2")]]);
    let e = sql("SELECT year FROM llm_events GROUP BY toYear(event_time) AS year").unwrap();
    assert_eq!(e.meta[0].ty, "UInt16");
    // A keyword as an alias after AS.
    let e = sql("SELECT toStartOfHour(event_time) AS end, count() AS c FROM llm_events GROUP BY end ORDER BY end").unwrap();
    assert_eq!(e.meta[0].name, "end");
    assert_eq!(e.rows(), 2);
    assert_eq!(e.data[0][1], Value::UInt(2));
    // `::` casts.
    assert_eq!(
        text("SELECT toString(event_time::Date) FROM llm_events ORDER BY event_time LIMIT 1"),
        "2024-05-01"
    );
    assert_eq!(text("SELECT toString('5'::Int32 + 1)"), "6");
    assert_eq!(
        text("SELECT event_time::String FROM llm_events ORDER BY event_time LIMIT 1"),
        "2024-05-01 10:00:00"
    );
    // Date arithmetic functions.
    for (q, want) in [
        ("subtractWeeks(event_time, 3)", "2024-04-10 10:00:00"),
        ("addMonths(event_time, 1)", "2024-06-01 10:00:00"),
        ("subtractYears(event_time, 1)", "2023-05-01 10:00:00"),
        (
            "timestampAdd(event_time, INTERVAL -7 DAY)",
            "2024-04-24 10:00:00",
        ),
        ("date_add(HOUR, 2, event_time)", "2024-05-01 12:00:00"),
        ("addDays(toDate(event_time), 2)", "2024-05-03"),
    ] {
        let got = text(&format!(
            "SELECT toString({q}) FROM llm_events ORDER BY event_time LIMIT 1"
        ));
        assert_eq!(got, want, "{q}");
    }
}

#[test]
fn array_sizes_and_lambda_nesting_are_bounded() {
    // `range` past the element bound is an error naming it, not an allocation.
    let e = sql("SELECT range(4000001)").unwrap_err().to_string();
    assert!(e.contains("more than 4000000 elements"), "{e}");
    assert_eq!(one("SELECT length(range(4000000))"), Value::UInt(4_000_000));
    // Lambdas nest 16 deep at most: the 17th is refused before any recursion it would need.
    let nest = |k: usize| {
        let mut body = "x0".to_string();
        for i in (0..k).rev() {
            body = format!("arrayMap(x{} -> {body}, [1])", i);
        }
        format!("SELECT {body}")
    };
    let ok = sql(&nest(16).replace("-> x0", "-> 1")).map(|_| ());
    assert!(ok.is_ok(), "{ok:?}");
    let e = sql(&nest(17).replace("-> x0", "-> 1"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("lambdas nest too deeply"), "{e}");
}

#[test]
fn lambdas_read_outer_parameters_and_columns() {
    let json = |q: &str| {
        let mut s = String::new();
        one(q).write_json(&mut s);
        s
    };
    // Hand-derived: for x in [1, 2], [x + y for y in [10, 20]].
    assert_eq!(
        json("SELECT arrayMap(x -> arrayMap(y -> x + y, [10, 20]), [1, 2])"),
        "[[11,21],[12,22]]"
    );
    assert_eq!(
        json("SELECT arrayFilter(x -> x % 2 = 0, range(7))"),
        "[0,2,4,6]"
    );
}

#[test]
fn maps_and_arrays_where_they_are_not_compared_are_refused() {
    for (q, what) in [
        (
            "SELECT map('a', success) AS m, count() FROM llm_events GROUP BY m",
            "GROUP BY an array or a map",
        ),
        (
            "SELECT uniqExact(map('a', prompt_tokens)) FROM llm_events",
            "uniqExact of arrays or maps",
        ),
        (
            "SELECT min(map('a', success)) FROM llm_events",
            "min of arrays or maps",
        ),
        (
            "SELECT model_name FROM llm_events ORDER BY map('a', prompt_tokens) DESC",
            "ORDER BY a map",
        ),
        (
            "SELECT count() FROM (SELECT [prompt_tokens] AS k FROM llm_events) AS a \
             JOIN (SELECT [prompt_tokens] AS k FROM llm_events) AS b USING k",
            "JOIN keys of type Array(UInt32)",
        ),
        (
            "SELECT count() FROM (SELECT map('a', success) AS k FROM llm_events) AS a \
             JOIN (SELECT map('a', success) AS k FROM llm_events) AS b ON a.k = b.k",
            "JOIN keys of type Map(String, UInt8)",
        ),
        (
            "SELECT least(toInt32(-1), toUInt64(2))",
            "Int128 (the type of least of Int32 and UInt64)",
        ),
        (
            "SELECT greatest(toInt8(success), prompt_tokens * toUInt64(2)) FROM llm_events",
            "Int128 (the type of greatest of Int8 and UInt64)",
        ),
    ] {
        let e = sql(q).unwrap_err().to_string();
        assert_eq!(e, format!("not supported: {what}"), "{q}");
    }
    // Text joined from many elements counts against the array budget by its size.
    let e = sql(&format!(
        "SELECT length(arrayStringConcat(range(3000000), '{}'))",
        "x".repeat(100)
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("more than 4000000 elements"), "{e}");
}

#[test]
fn window_columns_are_charged_to_max_bytes() {
    let used = store().store().bytes();
    let s = store_with(crate::Options {
        max_bytes: used + 100_000,
        ..crate::Options::default()
    });
    // 5,000 rows: one window column of 5,000 values at 16 bytes each (80,000) fits in 100 kB;
    // a second one (160,000 in all) does not.
    let rows = "FROM (SELECT arrayJoin(range(5000)) AS x)";
    let one = format!("SELECT max(c) FROM (SELECT count() OVER () AS c {rows})");
    let e = s.sql(&one, &Params::new()).unwrap();
    assert_eq!(e.get(0, "max(c)"), Some(&Value::UInt(5000)));
    let two = format!(
        "SELECT max(c), max(r) FROM (SELECT count() OVER () AS c, \
         row_number() OVER (ORDER BY x) AS r {rows})"
    );
    let err = s.sql(&two, &Params::new()).unwrap_err().to_string();
    assert!(err.contains("maxBytes"), "{err}");
}
