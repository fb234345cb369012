//! Google Gemini `generateContent` responses, as the Gemini API and Vertex AI write them
//! (`candidates`, `usageMetadata`, `modelVersion`, `responseId`, Vertex's `createTime`), their
//! streamed chunks (`streamGenerateContent`), and the lines of batch outputs: the Gemini API's
//! (`{"key", "response" | "status" | "error"}`) and Vertex AI's (`{"status", "processed_time", "request",
//! "response"}`).
//!
//! `promptTokenCount` includes the cached tokens (`cachedContentTokenCount`);
//! `candidatesTokenCount` excludes the thinking tokens (`thoughtsTokenCount`), and the tokens of
//! tool-use prompts (`toolUsePromptTokenCount`) are counted apart, all of them within
//! `totalTokenCount`: the prompt is prompt + tool-use prompt, the completion candidates +
//! thoughts. Every streamed chunk of one response repeats its `responseId` and the usage so far:
//! the last chunk counts, once. A response whose prompt was blocked (`promptFeedback.blockReason`)
//! is a failed call.

use super::{
    count_at, error_text, first, id_at, key_of, text, time_secs, Item, Record, Skip, Time, Unit,
};
use serde_json::{Map, Value};

const PROMPT: &[&[&str]] = &[&["promptTokenCount"], &["prompt_token_count"]];
const TOOL_PROMPT: &[&[&str]] = &[
    &["toolUsePromptTokenCount"],
    &["tool_use_prompt_token_count"],
];
const CANDIDATES: &[&[&str]] = &[
    &["candidatesTokenCount"],
    &["candidates_token_count"],
    // The Live API's name.
    &["responseTokenCount"],
];
const THOUGHTS: &[&[&str]] = &[&["thoughtsTokenCount"], &["thoughts_token_count"]];
const CACHED: &[&[&str]] = &[
    &["cachedContentTokenCount"],
    &["cached_content_token_count"],
];
const TOTAL: &[&[&str]] = &[&["totalTokenCount"], &["total_token_count"]];

/// A `generateContent` response (or chunk) itself.
fn is_response(o: &Map<String, Value>) -> bool {
    o.get("usageMetadata").is_some_and(Value::is_object)
        || (o.get("candidates").is_some_and(Value::is_array)
            && (o.contains_key("modelVersion") || o.contains_key("responseId")))
}

/// A Gemini API batch output line: its key with a response or an error.
fn is_gemini_batch(o: &Map<String, Value>) -> bool {
    o.get("key").is_some_and(Value::is_string)
        && (o
            .get("response")
            .and_then(Value::as_object)
            .is_some_and(is_response)
            || (o.len() == 2
                && (o.get("error").is_some_and(Value::is_object)
                    || o.get("status").is_some_and(Value::is_object))))
}

/// A Vertex AI batch prediction output line.
fn is_vertex_batch(o: &Map<String, Value>) -> bool {
    o.contains_key("processed_time") && o.get("request").is_some_and(Value::is_object)
}

/// A response, a streamed chunk, or a batch output line.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    is_response(o) || is_gemini_batch(o) || is_vertex_batch(o)
}

/// Maps one response, chunk or batch line.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    if is_vertex_batch(o) || is_gemini_batch(o) {
        return batch(o);
    }
    if !o.get("usageMetadata").is_some_and(Value::is_object) {
        // A streamed chunk before the one with usage.
        return Item::Skip(Skip::StreamingChunk);
    }
    let mut item: Item = response(o, None).into();
    if let Item::Row(r) = &mut item {
        if !r.request_id.is_empty() {
            // A later chunk of the same response, with the usage so far, replaces it.
            r.key = Some(key_of(&["gemini", &r.request_id]));
        }
    }
    item
}

/// The record of a response body at its `createTime`, else at `time`, else the stream's.
fn response(o: &Map<String, Value>, time: Option<&Value>) -> Result<Record, String> {
    let time = match first(o, &[&["createTime"]]).or(time) {
        Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
        None => Time::FromStream,
    };
    let mut r = Record::new(time);
    r.provider = Some("google".into());
    r.model = first(o, &[&["modelVersion"], &["model"]])
        .and_then(|v| text(Some(v)))
        .unwrap_or_default();
    r.request_id = id_at(o, &[&["responseId"]]);
    if let Some(u) = o.get("usageMetadata").and_then(Value::as_object) {
        let prompt = count_at(u, PROMPT)?.unwrap_or(0);
        let tool = count_at(u, TOOL_PROMPT)?.unwrap_or(0);
        let candidates = count_at(u, CANDIDATES)?.unwrap_or(0);
        r.reasoning_tokens = count_at(u, THOUGHTS)?.unwrap_or(0);
        r.prompt_tokens = prompt.saturating_add(tool);
        r.completion_tokens = candidates.saturating_add(r.reasoning_tokens);
        r.cache_read_tokens = count_at(u, CACHED)?.unwrap_or(0);
        r.total_tokens = count_at(u, TOTAL)?;
    }
    if let Some(e) = first(o, &[&["error"]]) {
        r.success = false;
        r.error = error_text(e);
    } else if let Some(reason) = first(o, &[&["promptFeedback", "blockReason"]]) {
        // The prompt was refused: no candidate came back.
        r.success = false;
        r.error = format!("prompt blocked: {}", text(Some(reason)).unwrap_or_default());
    }
    Ok(r)
}

/// A batch output line: the response it holds, or its error.
fn batch(o: &Map<String, Value>) -> Item {
    let processed = first(o, &[&["processed_time"]]);
    let body = o.get("response").and_then(Value::as_object);
    let mapped = match body {
        Some(b) => response(b, processed),
        None => (|| {
            let time = match processed {
                Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
                None => Time::FromStream,
            };
            let mut r = Record::new(time);
            r.provider = Some("google".into());
            r.model = first(o, &[&["request", "model"]])
                .and_then(|v| text(Some(v)))
                .unwrap_or_default();
            r.success = false;
            r.error = "batch request without a response".into();
            Ok(r)
        })(),
    };
    let mut item: Item = mapped.into();
    if let Item::Row(r) = &mut item {
        let key = id_at(o, &[&["key"]]);
        if !key.is_empty() {
            r.request_id = key;
        }
        // Vertex AI writes an empty `status` for a request that succeeded, else the error; the
        // Gemini API a status object (`{code, message}`) in place of a response.
        let error = first(o, &[&["error"], &["status"]])
            .map(error_text)
            .filter(|e| !e.is_empty());
        if let Some(e) = error {
            r.success = false;
            r.error = e;
        }
    }
    item
}
