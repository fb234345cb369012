//! LiteLLM logs: the StandardLoggingPayload its callbacks receive (`id`, `call_type`,
//! `response_cost`, `startTime`/`endTime` in epoch seconds, `response_time`, `status`,
//! `error_str`, token counts at the top level) and rows of its spend logs (`request_id`,
//! `call_type`, `spend`, `startTime` as `2025-01-24 09:20:46.847371` or ISO 8601, `status`, and
//! `metadata` with `status`, `error_information` and the provider's own usage in
//! `additional_usage_values`). `metadata` may be an object or, in a database export, its JSON
//! text.

use super::{
    count_at, first, id_at, number, seconds_between, text, time_secs, Item, Record, Time, Unit,
};
use serde_json::{Map, Value};

const COST: &[&[&str]] = &[&["response_cost"], &["spend"]];
/// Under `metadata`: the usage of the payload (`usage_object`) or of the spend log row
/// (`additional_usage_values`), in OpenAI's names or Anthropic's.
const CACHED: &[&[&str]] = &[
    &["usage_object", "prompt_tokens_details", "cached_tokens"],
    &[
        "additional_usage_values",
        "prompt_tokens_details",
        "cached_tokens",
    ],
    &["usage_object", "cache_read_input_tokens"],
    &["additional_usage_values", "cache_read_input_tokens"],
];
const CACHE_WRITE: &[&[&str]] = &[
    &["usage_object", "cache_creation_input_tokens"],
    &["additional_usage_values", "cache_creation_input_tokens"],
    &[
        "usage_object",
        "prompt_tokens_details",
        "cache_creation_tokens",
    ],
    &[
        "additional_usage_values",
        "prompt_tokens_details",
        "cache_creation_tokens",
    ],
];
const REASONING: &[&[&str]] = &[
    &[
        "usage_object",
        "completion_tokens_details",
        "reasoning_tokens",
    ],
    &[
        "additional_usage_values",
        "completion_tokens_details",
        "reasoning_tokens",
    ],
];
const ID: &[&[&str]] = &[&["id"], &["request_id"]];
/// The end user the call was made for, else the user of the key that made it (under
/// `metadata`).
const USER: &[&[&str]] = &[&["end_user"], &["user"]];
const META_USER: &[&[&str]] = &[&["user_api_key_end_user_id"], &["user_api_key_user_id"]];
const ERROR: &[&[&str]] = &[&["error_str"], &["error_information", "error_message"]];
const META_ERROR: &[&[&str]] = &[&["error_information", "error_message"]];

/// A StandardLoggingPayload or a spend log row.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    o.contains_key("call_type")
        && o.contains_key("startTime")
        && (o.contains_key("response_cost") || o.contains_key("spend"))
}

/// Maps one payload or spend log row.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    // `metadata` as an object, or as the JSON text a database export writes.
    let parsed: Option<Value> = match o.get("metadata") {
        Some(Value::String(s)) if s.trim_start().starts_with('{') => serde_json::from_str(s).ok(),
        _ => None,
    };
    let empty = Map::new();
    let meta = parsed
        .as_ref()
        .or(o.get("metadata"))
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mapped = (|| -> Result<Record, String> {
        let start = first(o, &[&["startTime"]]).ok_or("startTime is null")?;
        let mut r = Record::new(Time::At(time_secs(start, Unit::Seconds)?));
        r.model = text(o.get("model")).unwrap_or_default();
        r.provider = text(o.get("custom_llm_provider")).filter(|p| !p.is_empty());
        r.request_id = id_at(o, ID);
        r.user_id = id_at(o, USER);
        if r.user_id.is_empty() {
            r.user_id = id_at(meta, META_USER);
        }
        r.prompt_tokens = count_at(o, &[&["prompt_tokens"]])?.unwrap_or(0);
        r.completion_tokens = count_at(o, &[&["completion_tokens"]])?.unwrap_or(0);
        r.total_tokens = count_at(o, &[&["total_tokens"]])?;
        r.cache_read_tokens = match count_at(meta, CACHED)? {
            Some(n) => n,
            None => count_at(o, &[&["cache_read_input_tokens"]])?.unwrap_or(0),
        };
        r.cache_write_tokens = match count_at(meta, CACHE_WRITE)? {
            Some(n) => n,
            None => count_at(o, &[&["cache_creation_input_tokens"]])?.unwrap_or(0),
        };
        r.reasoning_tokens = count_at(meta, REASONING)?.unwrap_or(0);
        r.cost = number(first(o, COST));
        r.latency = number(first(o, &[&["response_time"]]))
            .or_else(|| seconds_between(Some(start), o.get("endTime"), Unit::Seconds));
        // A spend log row names its status at the top level (newer rows) or in `metadata`.
        let status = first(o, &[&["status"]])
            .or_else(|| first(meta, &[&["status"]]))
            .and_then(Value::as_str)
            .unwrap_or("success");
        let error = first(o, ERROR)
            .or_else(|| first(meta, META_ERROR))
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
