//! Helicone request exports (its export tool's JSON, JSONL and CSV, and its request query API):
//! `request_id`, `request_created_at`, `request_model`, `response_status`, `delay_ms`,
//! `prompt_tokens`, `completion_tokens`, `total_tokens`, `prompt_cache_read_tokens`,
//! `prompt_cache_write_tokens`, `cost`.

use super::{count_at, first, id_at, number, text, time_secs, Item, Record, Time, Unit};
use serde_json::{Map, Value};

const MODEL: &[&[&str]] = &[&["request_model"], &["response_model"], &["model"]];
const COST: &[&[&str]] = &[&["cost"], &["costUSD"], &["cost_usd"]];

/// A Helicone request row.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    o.contains_key("request_created_at")
        && (o.contains_key("request_model") || o.contains_key("response_status"))
}

/// Maps one request row.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    let mapped = (|| -> Result<Record, String> {
        let start = first(o, &[&["request_created_at"]]).ok_or("request_created_at is null")?;
        let mut r = Record::new(Time::At(time_secs(start, Unit::Seconds)?));
        r.model = first(o, MODEL)
            .and_then(|v| text(Some(v)))
            .unwrap_or_default();
        r.provider = text(o.get("provider"))
            .map(|p| p.to_ascii_lowercase())
            .filter(|p| !p.is_empty());
        r.request_id = id_at(o, &[&["request_id"], &["id"]]);
        r.user_id = id_at(o, &[&["request_user_id"], &["user_id"], &["user"]]);
        r.prompt_tokens = count_at(o, &[&["prompt_tokens"]])?.unwrap_or(0);
        r.completion_tokens = count_at(o, &[&["completion_tokens"]])?.unwrap_or(0);
        r.total_tokens = count_at(o, &[&["total_tokens"]])?;
        r.cache_read_tokens = count_at(o, &[&["prompt_cache_read_tokens"]])?.unwrap_or(0);
        r.cache_write_tokens = count_at(o, &[&["prompt_cache_write_tokens"]])?.unwrap_or(0);
        r.cost = number(first(o, COST));
        r.latency = number(o.get("delay_ms")).map(|ms| ms / 1000.0);
        if let Some(status) = number(o.get("response_status")) {
            if !(200.0..300.0).contains(&status) {
                r.success = false;
                r.error = format!("HTTP {status}");
            }
        }
        Ok(r)
    })();
    mapped.into()
}
