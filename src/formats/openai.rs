//! OpenAI response bodies: Chat Completions (`chat.completion`, streamed `chat.completion.chunk`),
//! legacy Completions (`text_completion`), Embeddings (`list`), the Responses API (`response`),
//! error bodies (`{"error": {...}}`), and the Batch API's output and error files
//! (`{id, custom_id, response: {status_code, request_id, body}, error}`), which OpenAI-compatible
//! providers (Groq) write too, adding `queue_time` and `total_time` (seconds) to `usage`.

use super::{
    count_at, error_text, first, get, id_at, number, text, time_secs, Item, Record, Skip, Time,
    Unit,
};
use serde_json::{Map, Value};

/// Chat Completions, Completions and Embeddings: `usage` paths.
const PROMPT: &[&[&str]] = &[&["usage", "prompt_tokens"], &["usage", "input_tokens"]];
const COMPLETION: &[&[&str]] = &[&["usage", "completion_tokens"], &["usage", "output_tokens"]];
const TOTAL: &[&[&str]] = &[&["usage", "total_tokens"]];
const CACHED: &[&[&str]] = &[
    &["usage", "prompt_tokens_details", "cached_tokens"],
    &["usage", "input_tokens_details", "cached_tokens"],
];
const REASONING: &[&[&str]] = &[
    &["usage", "completion_tokens_details", "reasoning_tokens"],
    &["usage", "output_tokens_details", "reasoning_tokens"],
];
/// Groq's total time of the request, in seconds.
const LATENCY: &[&[&str]] = &[&["usage", "total_time"]];

fn object(o: &Map<String, Value>) -> &str {
    o.get("object").and_then(Value::as_str).unwrap_or("")
}

/// A Chat Completions, Completions or Embeddings body, a streamed chunk, or an error body.
pub(super) fn is_chat(o: &Map<String, Value>) -> bool {
    match object(o) {
        "chat.completion" | "chat.completion.chunk" | "text_completion" => true,
        "list" => o.contains_key("usage") && o.contains_key("model"),
        "" => {
            (o.contains_key("choices") && o.contains_key("model"))
                || (o.len() == 1 && o.get("error").is_some_and(Value::is_object))
        }
        _ => false,
    }
}

/// A Responses API object.
pub(super) fn is_response(o: &Map<String, Value>) -> bool {
    object(o) == "response"
}

/// A line of a Batch API output or error file.
pub(super) fn is_batch(o: &Map<String, Value>) -> bool {
    o.contains_key("custom_id") && o.contains_key("response")
}

/// Maps any response body (chat, completion, embedding, responses, error).
pub(super) fn map_body(o: &Map<String, Value>) -> Item {
    if is_response(o) {
        return map_response(o);
    }
    if object(o) == "chat.completion.chunk" && first(o, &[&["usage"]]).is_none() {
        return Item::Skip(Skip::StreamingChunk);
    }
    chat(o).into()
}

fn chat(o: &Map<String, Value>) -> Result<Record, String> {
    let time = match first(o, &[&["created"]]) {
        Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
        None => Time::FromStream,
    };
    let mut r = Record::new(time);
    r.model = text(o.get("model")).unwrap_or_default();
    r.request_id = id_at(o, &[&["id"]]);
    r.prompt_tokens = count_at(o, PROMPT)?.unwrap_or(0);
    r.completion_tokens = count_at(o, COMPLETION)?.unwrap_or(0);
    r.total_tokens = count_at(o, TOTAL)?;
    r.cache_read_tokens = count_at(o, CACHED)?.unwrap_or(0);
    r.reasoning_tokens = count_at(o, REASONING)?.unwrap_or(0);
    r.latency = number(first(o, LATENCY));
    // Groq's bodies carry `x_groq` and time the request in `usage`; the price is Groq's.
    if o.contains_key("x_groq") || get(o, &["usage", "queue_time"]).is_some() {
        r.provider = Some("groq".into());
    }
    if let Some(e) = first(o, &[&["error"]]) {
        r.success = false;
        r.error = error_text(e);
    }
    Ok(r)
}

fn responses(o: &Map<String, Value>) -> Result<Record, String> {
    let status = o
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("completed");
    if matches!(status, "queued" | "in_progress") {
        return Err(String::new());
    }
    let created = first(o, &[&["created_at"]]);
    let time = match created {
        Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
        None => Time::FromStream,
    };
    let mut r = Record::new(time);
    r.model = text(o.get("model")).unwrap_or_default();
    r.request_id = id_at(o, &[&["id"]]);
    r.prompt_tokens = count_at(o, PROMPT)?.unwrap_or(0);
    r.completion_tokens = count_at(o, COMPLETION)?.unwrap_or(0);
    r.total_tokens = count_at(o, TOTAL)?;
    r.cache_read_tokens = count_at(o, CACHED)?.unwrap_or(0);
    r.reasoning_tokens = count_at(o, REASONING)?.unwrap_or(0);
    r.latency = super::seconds_between(created, o.get("completed_at"), Unit::Seconds);
    if let Some(e) = first(o, &[&["error"]]) {
        r.success = false;
        r.error = error_text(e);
    } else if matches!(status, "failed" | "cancelled") {
        r.success = false;
        r.error = status.to_string();
    }
    Ok(r)
}

/// Maps one line of a Batch API output or error file.
pub(super) fn map_batch(o: &Map<String, Value>) -> Item {
    let response = o.get("response").filter(|v| !v.is_null());
    let body = response
        .and_then(|r| r.get("body"))
        .and_then(Value::as_object);
    let status = response
        .and_then(|r| r.get("status_code"))
        .and_then(Value::as_u64);
    let mut item = match body {
        Some(b) if is_response(b) => map_response(b),
        Some(b) => chat(b).into(),
        None => {
            let mut r = Record::new(Time::FromStream);
            r.success = false;
            r.error = match first(o, &[&["error"]]) {
                Some(e) => error_text(e),
                None => "batch request without a response".into(),
            };
            Item::Row(Box::new(r))
        }
    };
    if let Item::Row(r) = &mut item {
        // The caller's own id of the request, which joins the output to the input file.
        let custom = id_at(o, &[&["custom_id"], &["id"]]);
        if !custom.is_empty() {
            r.request_id = custom;
        }
        if let Some(code) = status.filter(|c| !(200..300).contains(c)) {
            r.success = false;
            if r.error.is_empty() {
                r.error = format!("HTTP {code}");
            }
        }
        if let Some(e) = get(o, &["error"]).filter(|e| !e.is_null()) {
            r.success = false;
            if r.error.is_empty() {
                r.error = error_text(e);
            }
        }
    }
    item
}

/// Maps a Responses API body (an unfinished one is skipped).
fn map_response(o: &Map<String, Value>) -> Item {
    match responses(o) {
        Err(e) if e.is_empty() => Item::Skip(Skip::NotFinished),
        r => r.into(),
    }
}
