//! Vendor log formats: each line of a stream is recognised by its shape and mapped into
//! `llm_events` records, which the decoder then stores as if they had been written in the
//! canonical shape.
//!
//! A format is one file of this module: the keys it is recognised by ([`detect`]) and the field
//! paths it reads, each with its alternatives, in the order the vendor documents them. Every
//! format yields, per line, zero or more [`Item`]s: a [`Record`] to store, a record skipped with
//! a [`Skip`] reason (streaming chunks, entries that are not model calls, repeats), or a record
//! that cannot be stored, with the reason it is quarantined.
//!
//! Lines are parsed into a `serde_json::Value`, whose parser refuses nesting deeper than 128
//! levels (well within wasm32's 1 MiB stack, parsing and dropping alike).

mod anthropic;
mod bedrock;
mod claude_code;
mod gemini;
mod helicone;
mod langfuse;
mod litellm;
mod ollama;
mod openai;
mod otlp;
pub mod prices;
mod regex;

use serde_json::{Map, Value};

/// A recognised log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// The `llm_events` shape itself: flat objects with the datasource's keys.
    Canonical,
    /// OpenAI Chat Completions (and legacy Completions, Embeddings) response bodies, and streamed
    /// chunks.
    OpenAiChat,
    /// OpenAI Responses API response objects.
    OpenAiResponses,
    /// OpenAI Batch output and error files, and OpenAI-compatible batch outputs (Groq).
    OpenAiBatch,
    /// Anthropic Messages API response bodies (and error bodies).
    AnthropicMessage,
    /// Anthropic Message Batches results (`{custom_id, result}`).
    AnthropicBatch,
    /// OpenTelemetry OTLP/JSON trace exports with GenAI spans.
    Otlp,
    /// LiteLLM's StandardLoggingPayload and spend logs.
    LiteLlm,
    /// Langfuse observations exports.
    Langfuse,
    /// Helicone request exports.
    Helicone,
    /// Claude Code session logs (`~/.claude/projects/**/*.jsonl`).
    ClaudeCode,
    /// Ollama `/api/generate` and `/api/chat` responses.
    Ollama,
    /// Google Gemini (Gemini API and Vertex AI) `generateContent` responses, streamed chunks and
    /// batch output lines.
    Gemini,
    /// Amazon Bedrock model invocation logs.
    Bedrock,
}

impl Format {
    /// Every format, in the order detection tries them.
    pub const ALL: [Format; 14] = [
        Format::Canonical,
        Format::Otlp,
        Format::OpenAiBatch,
        Format::AnthropicBatch,
        Format::ClaudeCode,
        Format::AnthropicMessage,
        Format::OpenAiResponses,
        Format::OpenAiChat,
        Format::Gemini,
        Format::Bedrock,
        Format::Ollama,
        Format::LiteLlm,
        Format::Langfuse,
        Format::Helicone,
    ];

    /// The format's name, as reports and `begin(name, { format })` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Canonical => "llm_events",
            Format::OpenAiChat => "openai_chat",
            Format::OpenAiResponses => "openai_responses",
            Format::OpenAiBatch => "openai_batch",
            Format::AnthropicMessage => "anthropic_message",
            Format::AnthropicBatch => "anthropic_batch",
            Format::Otlp => "otlp",
            Format::LiteLlm => "litellm",
            Format::Langfuse => "langfuse",
            Format::Helicone => "helicone",
            Format::ClaudeCode => "claude_code",
            Format::Ollama => "ollama",
            Format::Gemini => "gemini",
            Format::Bedrock => "bedrock",
        }
    }

    /// The format named `name` (as [`Format::name`] spells it).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether a parsed line has this format's shape.
    pub fn accepts(self, o: &Map<String, Value>) -> bool {
        match self {
            Format::Canonical => o.keys().any(|k| k.eq_ignore_ascii_case("event_time")),
            Format::OpenAiChat => openai::is_chat(o),
            Format::OpenAiResponses => openai::is_response(o),
            Format::OpenAiBatch => openai::is_batch(o),
            Format::AnthropicMessage => anthropic::is_message(o),
            Format::AnthropicBatch => anthropic::is_batch(o),
            Format::Otlp => otlp::detect(o),
            Format::LiteLlm => litellm::detect(o),
            Format::Langfuse => langfuse::detect(o),
            Format::Helicone => helicone::detect(o),
            Format::ClaudeCode => claude_code::detect(o),
            Format::Ollama => ollama::detect(o),
            Format::Gemini => gemini::detect(o),
            Format::Bedrock => bedrock::detect(o),
        }
    }

    /// Maps one parsed line of this format into `out` (appending).
    pub fn map(self, o: &Map<String, Value>, out: &mut Vec<Item>) {
        match self {
            // Canonical lines are read by the decoder's own scanner, never through here.
            Format::Canonical => out.push(Item::Bad("not a vendor record".into())),
            Format::OpenAiChat => out.push(openai::map_body(o)),
            Format::OpenAiResponses => out.push(openai::map_body(o)),
            Format::OpenAiBatch => out.push(openai::map_batch(o)),
            Format::AnthropicMessage => out.push(anthropic::map_message(o)),
            Format::AnthropicBatch => out.push(anthropic::map_batch(o)),
            Format::Otlp => otlp::map(o, out),
            Format::LiteLlm => out.push(litellm::map(o)),
            Format::Langfuse => out.push(langfuse::map(o)),
            Format::Helicone => out.push(helicone::map(o)),
            Format::ClaudeCode => out.push(claude_code::map(o)),
            Format::Ollama => out.push(ollama::map(o)),
            Format::Gemini => out.push(gemini::map(o)),
            Format::Bedrock => out.push(bedrock::map(o)),
        }
    }
}

/// The vendor format a parsed line has, trying [`Format::ALL`] in order (the canonical shape
/// first).
pub fn detect(o: &Map<String, Value>) -> Option<Format> {
    Format::ALL.into_iter().find(|f| f.accepts(o))
}

/// Where a record's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// Seconds since the epoch, read from the record.
    At(i64),
    /// The record has none: it takes the time given with its stream.
    FromStream,
}

/// One model call, as a format maps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// When the call started.
    pub time: Time,
    /// The model, as the source wrote it.
    pub model: String,
    /// The provider, where the source names it (`openai`, `anthropic`, ...); used to find a
    /// price.
    pub provider: Option<String>,
    /// Input tokens, cached and cache-write tokens included.
    pub prompt_tokens: u64,
    /// Output tokens, reasoning tokens included.
    pub completion_tokens: u64,
    /// The source's total, when it gives one; else prompt + completion.
    pub total_tokens: Option<u64>,
    /// Of the input tokens, those read from a cache.
    pub cache_read_tokens: u64,
    /// Of the input tokens, those written to a cache.
    pub cache_write_tokens: u64,
    /// Of the output tokens, those spent reasoning.
    pub reasoning_tokens: u64,
    /// The cost in USD, when the source gives one.
    pub cost: Option<f64>,
    /// Seconds from request to response, when the source gives them.
    pub latency: Option<f64>,
    /// The call succeeded.
    pub success: bool,
    /// The error's message, for failed calls.
    pub error: String,
    /// The source's id of the request or response (empty when it has none).
    pub request_id: String,
    /// The user or end user the source names (empty when it names none).
    pub user_id: String,
    /// For sources that repeat one call over several lines: a key naming the call, whose last
    /// line is the one that counts.
    pub key: Option<u64>,
}

/// Where a stored row's cost came from, as the `cost_source` column says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource<'a> {
    /// The source's own cost.
    Log,
    /// Computed from the price table with this `cost_source` text (`genai-prices <version>`).
    Table(&'a str),
    /// No price known: the cost is 0.
    Unpriced,
}

impl CostSource<'_> {
    /// The text of the `cost_source` column.
    pub fn as_str(&self) -> &str {
        match self {
            CostSource::Log => "log",
            CostSource::Table(s) => s,
            CostSource::Unpriced => "unpriced",
        }
    }
}

impl Record {
    /// Bytes the record holds in memory: the struct and its strings' buffers.
    pub fn heap_bytes(&self) -> u64 {
        let strings = self.model.capacity()
            + self.provider.as_ref().map_or(0, String::capacity)
            + self.error.capacity()
            + self.request_id.capacity()
            + self.user_id.capacity();
        (std::mem::size_of::<Record>() + strings) as u64
    }

    /// A successful call at `time` with nothing else known.
    pub fn new(time: Time) -> Record {
        Record {
            time,
            model: String::new(),
            provider: None,
            prompt_tokens: 0,
            completion_tokens: 0,
            total_tokens: None,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            cost: None,
            latency: None,
            success: true,
            error: String::new(),
            request_id: String::new(),
            user_id: String::new(),
            key: None,
        }
    }

    /// Writes the record as one canonical `llm_events` JSON object (no newline) into `out`;
    /// `stream_time` (seconds) stands for a time the record does not have, and `cost` for a cost
    /// it does not have, which came from `cost_source`. `format` is the source format's name.
    pub fn write_canonical(
        &self,
        stream_time: i64,
        cost: Option<f64>,
        cost_source: CostSource,
        format: &str,
        out: &mut String,
    ) {
        use std::fmt::Write;
        let (secs, time_source) = match self.time {
            Time::At(s) => (s, "record"),
            Time::FromStream => (stream_time, "stream"),
        };
        let total = self
            .total_tokens
            .unwrap_or(self.prompt_tokens.saturating_add(self.completion_tokens));
        out.push_str("{\"event_time\":");
        if (0..=crate::time::DATETIME_MAX).contains(&secs) {
            out.push('"');
            crate::time::push_datetime(out, secs);
            out.push('"');
        } else {
            // Out of DateTime's range: written as a number, which the decoder refuses by name.
            let _ = write!(out, "{secs}");
        }
        out.push_str(",\"model_name\":");
        push_json_string(out, &self.model);
        let _ = write!(
            out,
            ",\"prompt_tokens\":{},\"completion_tokens\":{},\"total_tokens\":{}",
            self.prompt_tokens, self.completion_tokens, total
        );
        if let Some(c) = self.cost.or(cost).filter(|c| c.is_finite()) {
            let _ = write!(out, ",\"cost\":{c}");
        }
        if let Some(l) = self.latency.filter(|l| l.is_finite()) {
            let _ = write!(out, ",\"latency\":{l}");
        }
        let _ = write!(out, ",\"success\":{}", u8::from(self.success));
        if !self.error.is_empty() {
            out.push_str(",\"error_message\":");
            push_json_string(out, &self.error);
        }
        if let Some(p) = self.provider.as_deref().filter(|p| !p.is_empty()) {
            out.push_str(",\"provider\":");
            push_json_string(out, p);
        }
        let _ = write!(
            out,
            ",\"cache_read_tokens\":{},\"cache_write_tokens\":{},\"reasoning_tokens\":{}",
            self.cache_read_tokens, self.cache_write_tokens, self.reasoning_tokens
        );
        out.push_str(",\"source_format\":");
        push_json_string(out, format);
        if !self.request_id.is_empty() {
            out.push_str(",\"request_id\":");
            push_json_string(out, &self.request_id);
        }
        if !self.user_id.is_empty() {
            out.push_str(",\"user_id\":");
            push_json_string(out, &self.user_id);
        }
        out.push_str(",\"cost_source\":");
        push_json_string(out, cost_source.as_str());
        let _ = write!(out, ",\"time_source\":\"{time_source}\"}}");
    }
}

/// Why a record of a known format is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// An entry that is not a model call (a user message, a span of other work, a summary).
    NotGeneration,
    /// A streamed chunk before the final one.
    StreamingChunk,
    /// A call already counted from another line (a later line of the same message wins).
    RepeatedMessage,
    /// A parent span whose tokens its child spans already count.
    ParentSpan,
    /// A trace export line without any span.
    NoSpans,
    /// A response that has not finished (queued or in progress).
    NotFinished,
}

impl Skip {
    /// The reason in words, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Skip::NotGeneration => "not a generation",
            Skip::StreamingChunk => "a streaming chunk",
            Skip::RepeatedMessage => "a repeated message",
            Skip::ParentSpan => "a parent span whose tokens its child already counts",
            Skip::NoSpans => "a trace export without spans",
            Skip::NotFinished => "a response not finished",
        }
    }
}

/// What one record of a line becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A row to store.
    Row(Box<Record>),
    /// Skipped, for the reason given.
    Skip(Skip),
    /// Quarantined, for the reason given.
    Bad(String),
}

impl From<Result<Record, String>> for Item {
    fn from(r: Result<Record, String>) -> Item {
        match r {
            Ok(rec) => Item::Row(Box::new(rec)),
            Err(e) => Item::Bad(e),
        }
    }
}

/// Appends `s` as a JSON string literal: runs of characters that need no escape are copied
/// whole.
fn push_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.push_str(&s[run..i]);
        run = i + 1;
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c => {
                let _ = write!(out, "\\u{:04x}", c);
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

// ---- Reading values -------------------------------------------------------------------------

/// The value at `path` (object keys) under `v`.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

/// The value at `path` under the object `o`.
pub(crate) fn get<'a>(o: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    at(o.get(*first)?, rest)
}

/// The first of `paths` under `o` holding a value other than null.
pub(crate) fn first<'a>(o: &'a Map<String, Value>, paths: &[&[&str]]) -> Option<&'a Value> {
    paths
        .iter()
        .find_map(|p| get(o, p).filter(|v| !v.is_null()))
}

/// A token count: a non-negative integer, or such an integer in a string.
pub(crate) fn count(v: Option<&Value>) -> Result<Option<u64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) => Ok(Some(x)),
            None => match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(Some(f as u64)),
                _ => Err(format!("token count {n} is not a count")),
            },
        },
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("token count '{}' is not a count", shorten(s))),
        Some(other) => Err(format!("token count {} is not a count", kind(other))),
    }
}

/// The first of `paths` under `o` that holds a token count.
pub(crate) fn count_at(o: &Map<String, Value>, paths: &[&[&str]]) -> Result<Option<u64>, String> {
    count(first(o, paths))
}

/// The text of the first of `paths` under `o` that holds a non-empty string or a number.
pub(crate) fn id_at(o: &Map<String, Value>, paths: &[&[&str]]) -> String {
    paths
        .iter()
        .find_map(|p| text(get(o, p)).filter(|s| !s.is_empty()))
        .unwrap_or_default()
}

/// A number (or a number in a string).
pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// A string value (numbers and booleans as their text).
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The unit of a time written as a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Seconds (fractions allowed).
    Seconds,
    /// Nanoseconds.
    Nanos,
}

/// A point in time, in milliseconds since the epoch: a number (or digits in a string) in `unit`,
/// or text in any layout `crate::time` reads (RFC 3339 with up to nanoseconds, space-separated
/// microseconds, ...).
pub(crate) fn time_ms(v: &Value, unit: Unit) -> Result<i64, String> {
    let from_number = |x: f64| -> Option<i64> {
        let ms = match unit {
            Unit::Seconds => x * 1000.0,
            Unit::Nanos => x / 1e6,
        };
        (ms.is_finite() && ms.abs() < 1e15).then(|| ms.floor() as i64)
    };
    let bad = || format!("time {} is not a time", shorten(&v.to_string()));
    match v {
        Value::Number(n) => match (unit, n.as_u64()) {
            (Unit::Nanos, Some(ns)) => Ok((ns / 1_000_000) as i64),
            _ => n.as_f64().and_then(from_number).ok_or_else(bad),
        },
        Value::String(s) => {
            let t = s.trim();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                return match unit {
                    Unit::Nanos => t
                        .parse::<u64>()
                        .map(|ns| (ns / 1_000_000) as i64)
                        .map_err(|_| bad()),
                    Unit::Seconds => t.parse::<f64>().ok().and_then(from_number).ok_or_else(bad),
                };
            }
            if unit == Unit::Seconds {
                if let Some(ms) = t.parse::<f64>().ok().and_then(from_number) {
                    return Ok(ms);
                }
            }
            crate::time::parse_timestamp_ms(t).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// [`time_ms`] in whole seconds.
pub(crate) fn time_secs(v: &Value, unit: Unit) -> Result<i64, String> {
    time_ms(v, unit).map(|ms| ms.div_euclid(1000))
}

/// Seconds between two times, when both are present and readable.
pub(crate) fn seconds_between(
    start: Option<&Value>,
    end: Option<&Value>,
    unit: Unit,
) -> Option<f64> {
    let s = time_ms(start.filter(|v| !v.is_null())?, unit).ok()?;
    let e = time_ms(end.filter(|v| !v.is_null())?, unit).ok()?;
    Some((e - s) as f64 / 1000.0)
}

/// The message of an error value: a string, or an object's `message` (searched one level down,
/// as in `{"error": {"message": ...}}`), else its JSON text.
pub(crate) fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            for key in ["message", "error_message", "msg"] {
                if let Some(Value::String(s)) = o.get(key) {
                    return s.clone();
                }
            }
            if let Some(inner) = o.get("error") {
                if !inner.is_null() {
                    return error_text(inner);
                }
            }
            for key in ["type", "code"] {
                if let Some(Value::String(s)) = o.get(key) {
                    return s.clone();
                }
            }
            v.to_string()
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `s` cut to 60 bytes for an error message.
fn shorten(s: &str) -> String {
    crate::ingest::shorten(s, 60)
}

/// A 64-bit FNV-1a hash of `parts`, separated, for keys naming one call.
pub(crate) fn key_of(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::push_json_string;

    #[test]
    fn json_strings_read_back_as_written() {
        for s in [
            "",
            "plain",
            "quote \" and \\ back",
            "line\nfeed\r\ttab \u{1}\u{1f} bell\u{7}",
            "é😀\"end",
            "\\",
        ] {
            let mut out = String::from("[");
            push_json_string(&mut out, s);
            out.push(']');
            let back: Vec<String> = serde_json::from_str(&out).expect("valid JSON");
            assert_eq!(back, vec![s.to_string()], "{out}");
        }
    }
}
