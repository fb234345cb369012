//! OpenAI response bodies: Chat Completions (`chat.completion`, streamed `chat.completion.chunk`),
//! legacy Completions (`text_completion`), Embeddings (`list`), the Responses API (`response`),
//! error bodies (`{"error": {...}}`), and the Batch API's output and error files
//! (`{id, custom_id, response: {status_code, request_id, body}, error}`), which OpenAI-compatible
//! providers (Groq) write too, adding `queue_time` and `total_time` (seconds) to `usage`.
//!
//! Streamed Chat Completions chunks are calls only where they carry usage: OpenAI's last chunk
//! (with `stream_options.include_usage`), Groq's last chunk (in `x_groq.usage`), or every chunk
//! of providers that repeat the usage so far (xAI); the chunks of one response share its `id`,
//! and its last chunk with usage is the one that counts. Azure OpenAI's content-filter chunks
//! (`"id": ""`, `"created": 0`, `prompt_filter_results` or `content_filter_offsets`) are not
//! calls. Responses API streaming events (`{"type": "response.*", "sequence_number", ...}`) are
//! calls at their terminal event (`response.completed`, `response.incomplete`,
//! `response.failed`), which holds the whole response.

use super::{
    count_at, error_text, first, get, id_at, number, text, time_secs, Item, Record, Skip, Time,
    Unit,
};
use serde_json::{Map, Value};

/// Chat Completions, Completions, Embeddings and Responses: paths under `usage`.
const PROMPT: &[&[&str]] = &[&["prompt_tokens"], &["input_tokens"]];
const COMPLETION: &[&[&str]] = &[&["completion_tokens"], &["output_tokens"]];
const TOTAL: &[&[&str]] = &[&["total_tokens"]];
const CACHED: &[&[&str]] = &[
    &["prompt_tokens_details", "cached_tokens"],
    &["input_tokens_details", "cached_tokens"],
    // DeepSeek's name.
    &["prompt_cache_hit_tokens"],
];
/// OpenRouter's tokens written to a cache.
const CACHE_WRITE: &[&[&str]] = &[
    &["prompt_tokens_details", "cache_write_tokens"],
    &["input_tokens_details", "cache_write_tokens"],
];
/// The cost in USD some OpenAI-compatible providers add: OpenRouter's number, Perplexity's
/// object with its total.
const COST: &[&[&str]] = &[&["cost"], &["cost", "total_cost"]];
const REASONING: &[&[&str]] = &[
    &["completion_tokens_details", "reasoning_tokens"],
    &["output_tokens_details", "reasoning_tokens"],
];
/// Groq's total time of the request, in seconds.
const LATENCY: &[&[&str]] = &[&["total_time"]];

/// Token counts read from a `usage` object into `r`.
fn read_usage(u: &Map<String, Value>, r: &mut Record) -> Result<(), String> {
    r.prompt_tokens = count_at(u, PROMPT)?.unwrap_or(0);
    r.completion_tokens = count_at(u, COMPLETION)?.unwrap_or(0);
    r.total_tokens = count_at(u, TOTAL)?;
    r.cache_read_tokens = count_at(u, CACHED)?.unwrap_or(0);
    r.cache_write_tokens = count_at(u, CACHE_WRITE)?.unwrap_or(0);
    r.reasoning_tokens = count_at(u, REASONING)?.unwrap_or(0);
    r.cost = COST
        .iter()
        .find_map(|p| super::get(u, p).filter(|v| v.is_number() || v.is_string()))
        .and_then(|v| number(Some(v)));
    Ok(())
}

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

/// A Responses API object, or an event of a streamed Responses API call.
pub(super) fn is_response(o: &Map<String, Value>) -> bool {
    object(o) == "response" || is_response_event(o)
}

/// An event of a streamed Responses API call: `response.*` with its sequence number.
fn is_response_event(o: &Map<String, Value>) -> bool {
    o.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("response."))
        && (o.contains_key("sequence_number") || o.get("response").is_some_and(Value::is_object))
}

/// The usage of a streamed chunk: its own, else Groq's in `x_groq`.
fn chunk_usage(o: &Map<String, Value>) -> Option<&Value> {
    first(o, &[&["usage"], &["x_groq", "usage"]]).filter(|u| u.is_object())
}

/// An Azure OpenAI content-filter chunk: no id, no time, no model.
fn is_filter_chunk(o: &Map<String, Value>) -> bool {
    id_at(o, &[&["id"]]).is_empty()
        && number(o.get("created")) == Some(0.0)
        && text(o.get("model")).unwrap_or_default().is_empty()
}

/// A line of a Batch API output or error file.
pub(super) fn is_batch(o: &Map<String, Value>) -> bool {
    o.contains_key("custom_id") && o.contains_key("response")
}

/// Maps any response body (chat, completion, embedding, responses, error).
pub(super) fn map_body(o: &Map<String, Value>) -> Item {
    if is_response_event(o) {
        let terminal = matches!(
            o.get("type").and_then(Value::as_str),
            Some("response.completed" | "response.incomplete" | "response.failed")
        );
        return match o.get("response").and_then(Value::as_object) {
            Some(r) if terminal => map_response(r),
            _ => Item::Skip(Skip::StreamingChunk),
        };
    }
    if is_response(o) {
        return map_response(o);
    }
    if object(o).is_empty() && o.contains_key("choices") && is_filter_chunk(o) {
        return Item::Skip(Skip::StreamingChunk);
    }
    if object(o) == "chat.completion.chunk" {
        let Some(usage) = chunk_usage(o) else {
            return Item::Skip(Skip::StreamingChunk);
        };
        let mut item: Item = chat_with(o, usage).into();
        if let Item::Row(r) = &mut item {
            if !r.request_id.is_empty() {
                // A later chunk of the same response, with the usage so far, replaces it.
                r.key = Some(super::key_of(&["chat.completion.chunk", &r.request_id]));
            }
        }
        return item;
    }
    chat(o).into()
}

fn chat(o: &Map<String, Value>) -> Result<Record, String> {
    match o.get("usage").filter(|u| u.is_object()) {
        Some(u) => chat_with(o, u),
        None => chat_with(o, &Value::Null),
    }
}

/// A chat body whose usage is `usage` (an object, or null when it has none).
fn chat_with(o: &Map<String, Value>, usage: &Value) -> Result<Record, String> {
    let u = usage.as_object();
    let time = match first(o, &[&["created"]]) {
        Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
        None => Time::FromStream,
    };
    let mut r = Record::new(time);
    r.model = text(o.get("model")).unwrap_or_default();
    r.request_id = id_at(o, &[&["id"]]);
    if let Some(u) = u {
        read_usage(u, &mut r)?;
        r.latency = number(first(u, LATENCY));
    }
    // Groq's bodies carry `x_groq` and time the request in `usage`; the price is Groq's.
    if o.contains_key("x_groq") || u.is_some_and(|u| u.contains_key("queue_time")) {
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
    if let Some(u) = o.get("usage").and_then(Value::as_object) {
        read_usage(u, &mut r)?;
    }
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
