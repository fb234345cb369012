//! Langfuse observations, as its public API and exports write them (`id`, `traceId`, `type`,
//! `startTime`/`endTime` ISO 8601, `model`, `providedModelName`, `usageDetails`,
//! `costDetails`, `level`, `statusMessage`). Only `GENERATION` and `EMBEDDING` observations are
//! model calls. Usage details are disjoint counts whose sum is `total`: the prompt is every
//! `input*` key (`input`, `input_cached_tokens`, `input_cache_read`, ...), the completion every
//! `output*` key, and the cache keys of Anthropic's usage (`cache_read_input_tokens`,
//! `cache_creation_input_tokens`) passed as they came.

use super::{
    count, count_at, first, id_at, number, seconds_between, text, time_secs, Item, Record, Skip,
    Time, Unit,
};
use serde_json::{Map, Value};

const MODEL: &[&[&str]] = &[&["providedModelName"], &["model"]];
const INPUT: &[&[&str]] = &[&["usage", "input"], &["promptTokens"], &["inputUsage"]];
const OUTPUT: &[&[&str]] = &[
    &["usage", "output"],
    &["completionTokens"],
    &["outputUsage"],
];
const TOTAL: &[&[&str]] = &[
    &["usageDetails", "total"],
    &["usage", "total"],
    &["totalTokens"],
    &["totalUsage"],
];
const COST: &[&[&str]] = &[
    &["costDetails", "total"],
    &["calculatedTotalCost"],
    &["totalCost"],
];

/// A Langfuse observation.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    o.contains_key("traceId")
        && o.get("type").is_some_and(Value::is_string)
        && o.contains_key("startTime")
}

/// Maps one observation.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "GENERATION" | "EMBEDDING") {
        return Item::Skip(Skip::NotGeneration);
    }
    let mapped = (|| -> Result<Record, String> {
        let start = first(o, &[&["startTime"]]).ok_or("startTime is null")?;
        let mut r = Record::new(Time::At(time_secs(start, Unit::Seconds)?));
        r.model = first(o, MODEL)
            .and_then(|v| text(Some(v)))
            .unwrap_or_default();
        r.request_id = id_at(o, &[&["id"]]);
        r.user_id = id_at(o, &[&["userId"], &["user_id"]]);
        // Observations made before usage details existed have `{}` there and the old
        // `usage: {input, output, total, unit}`.
        match o
            .get("usageDetails")
            .and_then(Value::as_object)
            .filter(|d| !d.is_empty())
        {
            Some(details) => {
                for (k, v) in details {
                    let n = count(Some(v))?.unwrap_or(0);
                    // OpenAI's names, where the caller passed its usage as it came.
                    // Anthropic's names, where the caller passed its usage as it came: counts
                    // apart from `input`, as Langfuse's own keys are.
                    let cache = k.contains("cache_read") || k.contains("cache_creation");
                    if k.starts_with("input") || k == "prompt_tokens" || cache {
                        r.prompt_tokens = r.prompt_tokens.saturating_add(n);
                        if k.contains("cache_read") || k.contains("cached") {
                            r.cache_read_tokens = r.cache_read_tokens.saturating_add(n);
                        } else if k.contains("cache_creation") || k.contains("cache_write") {
                            r.cache_write_tokens = r.cache_write_tokens.saturating_add(n);
                        }
                    } else if k.starts_with("output") || k == "completion_tokens" {
                        r.completion_tokens = r.completion_tokens.saturating_add(n);
                        if k.contains("reasoning") {
                            r.reasoning_tokens = r.reasoning_tokens.saturating_add(n);
                        }
                    }
                }
            }
            None => {
                r.prompt_tokens = count_at(o, INPUT)?.unwrap_or(0);
                r.completion_tokens = count_at(o, OUTPUT)?.unwrap_or(0);
            }
        }
        r.total_tokens = count_at(o, TOTAL)?;
        r.cost = number(first(o, COST));
        r.latency = seconds_between(Some(start), o.get("endTime"), Unit::Seconds)
            .or_else(|| number(o.get("latency")));
        if o.get("level").and_then(Value::as_str) == Some("ERROR") {
            r.success = false;
            r.error = text(o.get("statusMessage")).unwrap_or_else(|| "ERROR".into());
        }
        Ok(r)
    })();
    mapped.into()
}
