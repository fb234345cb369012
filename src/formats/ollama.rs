//! Ollama `/api/generate` and `/api/chat` responses: the final object (`"done": true`) carries
//! `prompt_eval_count`, `eval_count` and the durations in nanoseconds; streamed objects before it
//! (`"done": false`) are chunks. `/api/embed` responses (`embeddings`, `prompt_eval_count`, no
//! time) are calls too. An error response is `{"error": "..."}`. Local models cost nothing.

use super::{count_at, number, text, time_secs, Item, Record, Skip, Time, Unit};
use serde_json::{Map, Value};

/// An Ollama response object, or its error object.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    (o.get("done").is_some_and(Value::is_boolean)
        && o.contains_key("model")
        && o.contains_key("created_at"))
        || is_embed(o)
        || (o.len() == 1 && o.get("error").is_some_and(Value::is_string))
}

/// An `/api/embed` response: the model, its embeddings and the prompt's count, no time.
fn is_embed(o: &Map<String, Value>) -> bool {
    o.contains_key("model")
        && o.get("embeddings").is_some_and(Value::is_array)
        && o.contains_key("prompt_eval_count")
}

/// Maps one response object.
pub(super) fn map(o: &Map<String, Value>) -> Item {
    if let Some(Value::String(e)) = o.get("error") {
        let mut r = Record::new(Time::FromStream);
        r.model = text(o.get("model")).unwrap_or_default();
        r.provider = Some("ollama".into());
        r.success = false;
        r.error = e.clone();
        r.cost = Some(0.0);
        return Item::Row(Box::new(r));
    }
    if o.get("done").and_then(Value::as_bool) != Some(true) && !is_embed(o) {
        return Item::Skip(Skip::StreamingChunk);
    }
    let mapped = (|| -> Result<Record, String> {
        let time = match o.get("created_at") {
            Some(v) => Time::At(time_secs(v, Unit::Seconds)?),
            None => Time::FromStream,
        };
        let mut r = Record::new(time);
        r.model = text(o.get("model")).unwrap_or_default();
        r.provider = Some("ollama".into());
        r.prompt_tokens = count_at(o, &[&["prompt_eval_count"]])?.unwrap_or(0);
        r.completion_tokens = count_at(o, &[&["eval_count"]])?.unwrap_or(0);
        r.latency = number(o.get("total_duration")).map(|ns| ns / 1e9);
        r.cost = Some(0.0);
        Ok(r)
    })();
    mapped.into()
}
