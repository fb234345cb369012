//! Claude Code session logs (`~/.claude/projects/<project>/<session>.jsonl`): one entry per
//! line (`user`, `assistant`, `system`, `summary`, ...), with `sessionId`, `uuid`, `timestamp`
//! (RFC 3339). Only assistant entries carry usage, in `message` (an Anthropic message). One
//! message is written over several lines that share `message.id` and `requestId`, each with one
//! content block and the usage so far: the last line of a message is the one that counts, once.
//!
//! Entries of other kinds are read and skipped as not model calls: `summary` (`leafUuid`),
//! `custom-title`, `file-history-snapshot` (`messageId`, `snapshot`, no `sessionId`),
//! `queue-operation`, `system`, and `user` entries holding tool results. The same shapes come from
//! `claude -p --output-format stream-json` (`session_id`, no `timestamp`), whose closing
//! `result` entry repeats the session's totals and is skipped too. Messages Claude Code writes
//! itself (model `<synthetic>`, not an API error) are no model call; older versions wrote each
//! message's cost in `costUSD` and its duration in `durationMs`, which are kept.

use super::{anthropic, get, id_at, key_of, time_secs, Item, Record, Skip, Time, Unit};
use serde_json::{Map, Value};

/// A Claude Code session log entry.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    let Some(kind) = o.get("type").and_then(Value::as_str) else {
        return false;
    };
    match kind {
        "summary" => o.contains_key("leafUuid"),
        "file-history-snapshot" => o.contains_key("snapshot") || o.contains_key("messageId"),
        // Langfuse observations (`traceId`) and LiteLLM payloads (`call_type`) may name a
        // session too.
        _ => {
            (o.contains_key("sessionId") || o.contains_key("session_id"))
                && !o.contains_key("traceId")
                && !o.contains_key("call_type")
        }
    }
}

/// Maps one entry: assistant messages become records keyed by message and request.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    if o.get("type").and_then(Value::as_str) != Some("assistant") {
        return Item::Skip(Skip::NotGeneration);
    }
    let Some(m) = o.get("message").and_then(Value::as_object) else {
        return Item::Skip(Skip::NotGeneration);
    };
    let time = match o.get("timestamp") {
        Some(v) => match time_secs(v, Unit::Seconds) {
            Ok(s) => Time::At(s),
            Err(e) => return Item::Bad(e),
        },
        None => Time::FromStream,
    };
    let mut rec: Record = match anthropic::message(m, time) {
        Ok(r) => r,
        Err(e) => return Item::Bad(e),
    };
    let api_error = o.get("isApiErrorMessage").and_then(Value::as_bool) == Some(true);
    if !api_error && m.get("model").and_then(Value::as_str) == Some("<synthetic>") {
        // A message Claude Code wrote itself (an interrupted turn), no model call.
        return Item::Skip(Skip::NotGeneration);
    }
    // Older versions wrote the cost of each message.
    rec.cost = super::number(o.get("costUSD")).filter(|c| *c >= 0.0);
    rec.latency = super::number(o.get("durationMs"))
        .filter(|ms| *ms >= 0.0)
        .map(|ms| ms / 1000.0);
    let request = id_at(o, &[&["requestId"]]);
    if !request.is_empty() {
        rec.request_id = request;
    }
    if api_error {
        rec.success = false;
        rec.error = get(m, &["content"])
            .and_then(Value::as_array)
            .and_then(|c| c.iter().find_map(|b| b.get("text").and_then(Value::as_str)))
            .unwrap_or("API error")
            .to_string();
    }
    if let Some(id) = m.get("id").and_then(Value::as_str) {
        let request = o.get("requestId").and_then(Value::as_str).unwrap_or("");
        rec.key = Some(key_of(&[id, request]));
    }
    Item::Row(Box::new(rec))
}
