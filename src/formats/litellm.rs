//! LiteLLM logs: the StandardLoggingPayload its callbacks receive (`id`, `call_type`,
//! `response_cost`, `startTime`/`endTime` in epoch seconds, `response_time`, `status`,
//! `error_str`, token counts at the top level) and rows of its spend logs (`request_id`,
//! `call_type`, `spend`, `startTime` as `2025-01-24 09:20:46.847371` or ISO 8601).

use super::{
    count_at, first, id_at, number, seconds_between, text, time_secs, Item, Record, Time, Unit,
};
use serde_json::{Map, Value};

const COST: &[&[&str]] = &[&["response_cost"], &["spend"]];
const CACHED: &[&[&str]] = &[
    &[
        "metadata",
        "usage_object",
        "prompt_tokens_details",
        "cached_tokens",
    ],
    &["cache_read_input_tokens"],
];
const CACHE_WRITE: &[&[&str]] = &[
    &["metadata", "usage_object", "cache_creation_input_tokens"],
    &["cache_creation_input_tokens"],
];
const ID: &[&[&str]] = &[&["id"], &["request_id"]];
/// The end user the call was made for, else the user of the key that made it.
const USER: &[&[&str]] = &[
    &["end_user"],
    &["user"],
    &["metadata", "user_api_key_end_user_id"],
    &["metadata", "user_api_key_user_id"],
];
const ERROR: &[&[&str]] = &[
    &["error_str"],
    &["error_information", "error_message"],
    &["metadata", "error_information", "error_message"],
];

/// A StandardLoggingPayload or a spend log row.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    o.contains_key("call_type")
        && o.contains_key("startTime")
        && (o.contains_key("response_cost") || o.contains_key("spend"))
}

/// Maps one payload or spend log row.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    let mapped = (|| -> Result<Record, String> {
        let start = first(o, &[&["startTime"]]).ok_or("startTime is null")?;
        let mut r = Record::new(Time::At(time_secs(start, Unit::Seconds)?));
        r.model = text(o.get("model")).unwrap_or_default();
        r.provider = text(o.get("custom_llm_provider")).filter(|p| !p.is_empty());
        r.request_id = id_at(o, ID);
        r.user_id = id_at(o, USER);
        r.prompt_tokens = count_at(o, &[&["prompt_tokens"]])?.unwrap_or(0);
        r.completion_tokens = count_at(o, &[&["completion_tokens"]])?.unwrap_or(0);
        r.total_tokens = count_at(o, &[&["total_tokens"]])?;
        r.cache_read_tokens = count_at(o, CACHED)?.unwrap_or(0);
        r.cache_write_tokens = count_at(o, CACHE_WRITE)?.unwrap_or(0);
        r.cost = number(first(o, COST));
        r.latency = number(first(o, &[&["response_time"]]))
            .or_else(|| seconds_between(Some(start), o.get("endTime"), Unit::Seconds));
        let status = o.get("status").and_then(Value::as_str).unwrap_or("success");
        let error = first(o, ERROR)
            .map(super::error_text)
            .filter(|e| !e.is_empty());
        if status.eq_ignore_ascii_case("failure") || status.eq_ignore_ascii_case("error") {
            r.success = false;
            r.error = error.unwrap_or_else(|| status.to_string());
        }
        Ok(r)
    })();
    mapped.into()
}
