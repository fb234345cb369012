//! Tests of aggregate states (`-State`, `-Merge`, `-SimpleState`) over the small store of
//! [`super::tests`]: three events, gpt-4o at 10:00 and 10:30 (prompt tokens 100 and 50,
//! latency 1.5 and 0.5), claude at 11:00 (10 tokens, latency 2.5). Expected values are
//! worked out by hand from those rows.

use super::tests::{sql, store_with};
use super::Params;
use super::Value;

fn one(q: &str) -> Value {
    let e = sql(q).unwrap_or_else(|err| panic!("{q}: {err}"));
    assert_eq!(e.rows(), 1, "{q}");
    e.data[0][0].clone()
}

#[test]
fn states_merge_to_the_single_pass_answer() {
    let per_hour = |state: &str, merge: &str| {
        one(&format!(
            "SELECT {merge} FROM (SELECT {state} AS st FROM llm_events \
             GROUP BY model_name, toStartOfHour(event_time))"
        ))
    };
    assert_eq!(per_hour("countState()", "countMerge(st)"), Value::UInt(3));
    assert_eq!(
        per_hour("sumState(prompt_tokens)", "sumMerge(st)"),
        Value::UInt(160)
    );
    assert_eq!(
        per_hour("avgState(latency)", "avgMerge(st)"),
        Value::Float64(1.5)
    );
    assert_eq!(
        per_hour("maxState(latency)", "maxMerge(st)"),
        Value::Float32(2.5)
    );
    assert_eq!(
        per_hour("uniqExactState(model_name)", "uniqExactMerge(st)"),
        Value::UInt(2)
    );
    // Latencies 0.5, 1.5, 2.5: the median is 1.5, the 0.25 level interpolates to 1.0.
    assert_eq!(
        per_hour(
            "quantilesState(0.25, 0.5)(latency)",
            "quantilesMerge(0.25, 0.5)(st)"
        ),
        Value::Array(vec![Value::Float64(1.0), Value::Float64(1.5)])
    );
    assert_eq!(
        per_hour("argMaxState(model_name, latency)", "argMaxMerge(st)"),
        Value::Str("claude".into())
    );
    assert_eq!(
        per_hour("sumIfState(prompt_tokens, success = 1)", "sumIfMerge(st)"),
        Value::UInt(110)
    );
    assert_eq!(
        per_hour("sumStateIf(prompt_tokens, success = 0)", "sumMerge(st)"),
        Value::UInt(50)
    );
}

#[test]
fn state_types_are_named_as_clickhouse_names_them() {
    let ty = |e: &str| match one(&format!("SELECT toTypeName({e}) FROM llm_events")) {
        Value::Str(s) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(ty("countState()"), "AggregateFunction(count)");
    assert_eq!(
        ty("sumState(prompt_tokens)"),
        "AggregateFunction(sum, UInt32)"
    );
    assert_eq!(
        ty("quantilesState(0.5, 0.9)(latency)"),
        "AggregateFunction(quantiles(0.5, 0.9), Float32)"
    );
    assert_eq!(
        ty("medianState(latency)"),
        "AggregateFunction(quantile, Float32)"
    );
    assert_eq!(
        ty("sumIfState(prompt_tokens, success = 1)"),
        "AggregateFunction(sumIf, UInt32, UInt8)"
    );
    assert_eq!(
        ty("sumSimpleState(prompt_tokens)"),
        "SimpleAggregateFunction(sum, UInt64)"
    );
}

#[test]
fn raw_states_and_mismatched_merges_are_refused() {
    let err = sql("SELECT countState() AS c FROM llm_events").unwrap_err();
    assert!(err.to_string().contains("not supported"), "{err}");
    let err =
        sql("SELECT avgMerge(c) FROM (SELECT sumState(latency) AS c FROM llm_events)").unwrap_err();
    assert!(err.to_string().contains("illegal type"), "{err}");
    // A state is read by -Merge only: not compared, converted, grouped by or sorted on.
    let sub = "(SELECT model_name, countState() AS c FROM llm_events GROUP BY model_name)";
    for q in [
        format!("SELECT toString(c) AS x FROM {sub}"),
        format!("SELECT count() FROM {sub} GROUP BY c"),
        format!("SELECT model_name FROM {sub} ORDER BY c"),
        format!("SELECT uniqExact(c) FROM {sub}"),
    ] {
        let err = sql(&q).unwrap_err().to_string();
        assert!(err.contains("-Merge only"), "{q}: {err}");
    }
    assert_eq!(
        one(&format!("SELECT countMerge(if(1, c, c)) FROM {sub}")),
        Value::UInt(3)
    );
    let err = sql("SELECT countSimpleState() FROM llm_events").unwrap_err();
    assert!(err.to_string().contains("SimpleState"), "{err}");
}

#[test]
fn states_past_max_bytes_are_an_error_naming_it() {
    let used = super::tests::store().store().bytes();
    let s = store_with(crate::Options {
        max_bytes: used + 60,
        ..crate::Options::default()
    });
    // One count state (about 40 bytes) fits; three quantile states of one value each and
    // three count states (about 40 bytes each) do not.
    let q = "SELECT countMerge(c) AS n FROM (SELECT countState() AS c FROM llm_events)";
    let e = s.sql(q, &Params::new()).unwrap();
    assert_eq!(e.get(0, "n"), Some(&Value::UInt(3)));
    let q = "SELECT countMerge(c) AS n FROM (SELECT countState() AS c, \
             quantilesState(0.5)(latency) AS q FROM llm_events GROUP BY event_time)";
    let err = s.sql(q, &Params::new()).unwrap_err().to_string();
    assert!(err.contains("maxBytes"), "{err}");
}

#[test]
fn state_types_keep_data_types_small() {
    // Every bound expression holds a type: the binder recurses once per nesting level within a
    // 1 MiB (wasm) stack, so the state types are boxed to keep `DataType` two words wide.
    assert!(std::mem::size_of::<super::types::DataType>() <= 16);
}
