//! Anthropic Messages API bodies (`{"type": "message", ..., "usage": {...}}`, and error bodies
//! `{"type": "error", "error": {...}}`) and Message Batches results
//! (`{"custom_id", "result": {"type": "succeeded" | "errored" | "canceled" | "expired", ...}}`).
//!
//! Neither carries a time: records take the stream's. `usage.input_tokens` excludes the cache
//! tokens, so the prompt is `input_tokens + cache_creation_input_tokens +
//! cache_read_input_tokens`.

use super::{count_at, error_text, id_at, text, Item, Record, Time};
use serde_json::{Map, Value};

const INPUT: &[&[&str]] = &[&["usage", "input_tokens"]];
const CACHE_WRITE: &[&[&str]] = &[&["usage", "cache_creation_input_tokens"]];
const CACHE_READ: &[&[&str]] = &[&["usage", "cache_read_input_tokens"]];
const OUTPUT: &[&[&str]] = &[&["usage", "output_tokens"]];

fn kind(o: &Map<String, Value>) -> &str {
    o.get("type").and_then(Value::as_str).unwrap_or("")
}

/// A Messages API response body or error body.
pub(super) fn is_message(o: &Map<String, Value>) -> bool {
    match kind(o) {
        "message" => o.get("usage").is_some_and(Value::is_object),
        "error" => o.get("error").is_some_and(Value::is_object),
        _ => false,
    }
}

/// A Message Batches result line.
pub(super) fn is_batch(o: &Map<String, Value>) -> bool {
    o.contains_key("custom_id") && o.get("result").is_some_and(Value::is_object)
}

/// The record of a message (its usage), at `time`.
pub(super) fn message(o: &Map<String, Value>, time: Time) -> Result<Record, String> {
    let mut r = Record::new(time);
    r.provider = Some("anthropic".into());
    r.model = text(o.get("model")).unwrap_or_default();
    r.request_id = id_at(o, &[&["id"], &["request_id"]]);
    if kind(o) == "error" {
        r.success = false;
        r.error = o.get("error").map(error_text).unwrap_or_default();
        return Ok(r);
    }
    let input = count_at(o, INPUT)?.unwrap_or(0);
    r.cache_write_tokens = match count_at(o, CACHE_WRITE)? {
        Some(n) => n,
        // Only the breakdown by cache lifetime (`cache_creation.ephemeral_5m_input_tokens`, ...).
        None => cache_creation_sum(o)?,
    };
    r.cache_read_tokens = count_at(o, CACHE_READ)?.unwrap_or(0);
    r.prompt_tokens = input
        .saturating_add(r.cache_write_tokens)
        .saturating_add(r.cache_read_tokens);
    r.completion_tokens = count_at(o, OUTPUT)?.unwrap_or(0);
    Ok(r)
}

/// The sum of the counts in `usage.cache_creation` (tokens written to the cache, by lifetime).
fn cache_creation_sum(o: &Map<String, Value>) -> Result<u64, String> {
    let Some(parts) = super::get(o, &["usage", "cache_creation"]).and_then(Value::as_object) else {
        return Ok(0);
    };
    let mut sum = 0u64;
    for v in parts.values() {
        sum = sum.saturating_add(super::count(Some(v))?.unwrap_or(0));
    }
    Ok(sum)
}

/// Maps a Messages API body.
pub(super) fn map_message(o: &Map<String, Value>) -> Item {
    message(o, Time::FromStream).into()
}

/// Maps a Message Batches result line.
pub(super) fn map_batch(o: &Map<String, Value>) -> Item {
    let result = o.get("result").and_then(Value::as_object);
    let Some(result) = result else {
        return Item::Bad("batch result without a result object".into());
    };
    let kind = result.get("type").and_then(Value::as_str).unwrap_or("");
    let custom = id_at(o, &[&["custom_id"]]);
    match (kind, result.get("message").and_then(Value::as_object)) {
        ("succeeded", Some(m)) => match message(m, Time::FromStream) {
            Ok(mut r) => {
                r.request_id = custom;
                Item::Row(Box::new(r))
            }
            Err(e) => Item::Bad(e),
        },
        _ => {
            let mut r = Record::new(Time::FromStream);
            r.request_id = custom;
            r.provider = Some("anthropic".into());
            r.success = false;
            r.error = match result.get("error").filter(|e| !e.is_null()) {
                Some(e) => error_text(e),
                None if kind.is_empty() => "batch result without a type".into(),
                None => kind.to_string(),
            };
            Item::Row(Box::new(r))
        }
    }
}
