//! Amazon Bedrock model invocation logs, as Bedrock delivers them to CloudWatch Logs or S3 (one
//! record per call): `schemaType: "ModelInvocationLog"`, `timestamp` (RFC 3339), `requestId`,
//! `operation`, `modelId`, `identity.arn`, `input: {inputTokenCount, cacheReadInputTokenCount,
//! cacheWriteInputTokenCount, inputBodyJson}`, `output: {outputTokenCount, outputBodyJson}` and,
//! for a failed call, `errorCode`.
//!
//! As in Anthropic's usage (and Bedrock's own Converse `usage`), the input count excludes the
//! cache tokens: the prompt is input + cache read + cache write. The Converse API's output body
//! times the call in `metrics.latencyMs`.

use super::{count_at, first, id_at, number, text, time_secs, Item, Record, Time, Unit};
use serde_json::{Map, Value};

const INPUT: &[&[&str]] = &[&["input", "inputTokenCount"]];
const CACHE_READ: &[&[&str]] = &[&["input", "cacheReadInputTokenCount"]];
const CACHE_WRITE: &[&[&str]] = &[&["input", "cacheWriteInputTokenCount"]];
const OUTPUT: &[&[&str]] = &[&["output", "outputTokenCount"]];
const LATENCY_MS: &[&[&str]] = &[&["output", "outputBodyJson", "metrics", "latencyMs"]];

/// A model invocation log record.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    o.get("schemaType").and_then(Value::as_str) == Some("ModelInvocationLog")
        || (o.contains_key("modelId")
            && o.contains_key("operation")
            && o.get("input").is_some_and(Value::is_object))
}

/// Maps one record.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    let mapped = (|| -> Result<Record, String> {
        let time = match first(o, &[&["timestamp"]]) {
            Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
            None => Time::FromStream,
        };
        let mut r = Record::new(time);
        r.provider = Some("aws".into());
        r.model = text(o.get("modelId")).unwrap_or_default();
        r.request_id = id_at(o, &[&["requestId"]]);
        r.user_id = id_at(o, &[&["identity", "arn"]]);
        let input = count_at(o, INPUT)?.unwrap_or(0);
        r.cache_read_tokens = count_at(o, CACHE_READ)?.unwrap_or(0);
        r.cache_write_tokens = count_at(o, CACHE_WRITE)?.unwrap_or(0);
        r.prompt_tokens = input
            .saturating_add(r.cache_read_tokens)
            .saturating_add(r.cache_write_tokens);
        r.completion_tokens = count_at(o, OUTPUT)?.unwrap_or(0);
        r.latency = number(first(o, LATENCY_MS))
            .filter(|ms| *ms >= 0.0)
            .map(|ms| ms / 1000.0);
        if let Some(code) = first(o, &[&["errorCode"]]).and_then(|v| text(Some(v))) {
            if !code.is_empty() {
                r.success = false;
                r.error = match first(o, &[&["errorMessage"]]).and_then(|v| text(Some(v))) {
                    Some(m) if !m.is_empty() => format!("{code}: {m}"),
                    _ => code,
                };
            }
        }
        Ok(r)
    })();
    mapped.into()
}
