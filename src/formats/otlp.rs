//! OpenTelemetry trace exports in OTLP/JSON (the collector's file exporter, one
//! `ExportTraceServiceRequest` per line): `resourceSpans[].scopeSpans[].spans[]`, many spans per
//! line. Attributes are `[{key, value: {stringValue | intValue | doubleValue | boolValue}}]`,
//! with 64-bit integers written as strings; times are `startTimeUnixNano` and
//! `endTimeUnixNano` (strings, or numbers); a failed span has `status.code` 2, written as a
//! number or as the enum name `STATUS_CODE_ERROR` (or, converted from Zipkin or Jaeger, the
//! attribute `otel.status_code: "ERROR"`). Exporters that keep the protobuf field names write
//! `resource_spans`, `scope_spans`, `start_time_unix_nano`, `int_value`, ..., read alike. A
//! span's own cost (pydantic-ai's `operation.cost`, OpenLIT's `gen_ai.usage.cost`) is kept.
//!
//! A span is a model call when it names a model or counts tokens under the GenAI semantic
//! conventions (`gen_ai.*`), their older names, OpenInference's (`llm.*`) or the Vercel AI SDK's
//! (`ai.*`). A span whose own child spans count tokens (the AI SDK's `ai.generateText` around
//! `ai.generateText.doGenerate`) is the same call seen from outside, and is skipped.

use super::{count, number, time_ms, Item, Record, Skip, Time, Unit};
use serde_json::{Map, Value};
use std::collections::HashSet;

const MODEL: &[&str] = &[
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "ai.response.model",
    "ai.model.id",
];
const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "ai.model.provider",
];
const INPUT: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
];
const OUTPUT: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
];
const TOTAL: &[&str] = &[
    "gen_ai.usage.total_tokens",
    "llm.usage.total_tokens",
    "llm.token_count.total",
    "ai.usage.totalTokens",
];
const CACHE_READ: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.details.cache_read_tokens",
    "ai.usage.cachedInputTokens",
];
const CACHE_WRITE: &[&str] = &[
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.details.cache_write_tokens",
];
const REASONING: &[&str] = &[
    "gen_ai.usage.reasoning.output_tokens",
    "llm.token_count.completion_details.reasoning",
    "gen_ai.usage.details.reasoning_tokens",
    "gen_ai.usage.details.thinking_tokens",
    "ai.usage.reasoningTokens",
];
/// The call's cost in USD: pydantic-ai's (Logfire) and OpenLIT's.
const COST: &[&str] = &["operation.cost", "gen_ai.usage.cost"];
const ERROR_TYPE: &[&str] = &["otel.status_description", "error.type", "exception.message"];
/// The span status as an attribute, where an exporter converted from Zipkin or Jaeger put it.
const STATUS_ATTR: &[&str] = &["otel.status_code"];
const USER: &[&str] = &["user.id", "enduser.id"];

/// An OTLP/JSON trace export.
pub(super) fn detect(o: &Map<String, Value>) -> bool {
    field(o, "resourceSpans", "resource_spans").is_some_and(Value::is_array)
}

/// One span's attributes: key to the scalar inside its `AnyValue`.
struct Attrs<'a>(Vec<(&'a str, &'a Value)>);

impl<'a> Attrs<'a> {
    fn of(span: &'a Map<String, Value>) -> Attrs<'a> {
        let mut v = Vec::new();
        if let Some(list) = span.get("attributes").and_then(Value::as_array) {
            for a in list {
                let (Some(k), Some(val)) = (a.get("key").and_then(Value::as_str), a.get("value"))
                else {
                    continue;
                };
                let scalar = val.as_object().and_then(|any| {
                    [
                        "stringValue",
                        "intValue",
                        "doubleValue",
                        "boolValue",
                        "string_value",
                        "int_value",
                        "double_value",
                        "bool_value",
                    ]
                    .iter()
                    .find_map(|t| any.get(*t))
                });
                if let Some(s) = scalar {
                    v.push((k, s));
                }
            }
        }
        Attrs(v)
    }

    fn get(&self, keys: &[&str]) -> Option<&'a Value> {
        keys.iter()
            .find_map(|k| self.0.iter().find(|(name, _)| name == k).map(|(_, v)| *v))
    }

    fn text(&self, keys: &[&str]) -> Option<String> {
        super::text(self.get(keys))
    }

    fn has_usage(&self) -> bool {
        self.get(INPUT).is_some() || self.get(OUTPUT).is_some() || self.get(TOTAL).is_some()
    }
}

fn arrays(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The field `camel` of `o`, else the same field under its protobuf name `snake` (as exporters
/// that keep the proto field names write it).
fn field<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| o.get(snake))
}

fn spans(o: &Map<String, Value>) -> Vec<&Map<String, Value>> {
    let mut out = Vec::new();
    for rs in arrays(field(o, "resourceSpans", "resource_spans")) {
        for key in [
            "scopeSpans",
            "scope_spans",
            "instrumentationLibrarySpans",
            "instrumentation_library_spans",
        ] {
            for ss in arrays(rs.get(key)) {
                out.extend(arrays(ss.get("spans")).iter().filter_map(Value::as_object));
            }
        }
    }
    out
}

/// Maps every span of one export line.
pub(super) fn map(o: &Map<String, Value>, out: &mut Vec<Item>) {
    let spans = spans(o);
    if spans.is_empty() {
        out.push(Item::Skip(Skip::NoSpans));
        return;
    }
    let attrs: Vec<Attrs> = spans.iter().map(|s| Attrs::of(s)).collect();
    let generation: Vec<bool> = attrs
        .iter()
        .map(|a| a.get(MODEL).is_some() || a.has_usage())
        .collect();
    // Spans whose child spans count tokens themselves.
    let parents: HashSet<&str> = spans
        .iter()
        .zip(&attrs)
        .filter(|(_, a)| a.has_usage())
        .filter_map(|(s, _)| field(s, "parentSpanId", "parent_span_id").and_then(Value::as_str))
        .filter(|p| !p.is_empty())
        .collect();
    for ((span, a), gen) in spans.iter().zip(&attrs).zip(generation) {
        if !gen {
            out.push(Item::Skip(Skip::NotGeneration));
            continue;
        }
        let id = field(span, "spanId", "span_id")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !id.is_empty() && parents.contains(id) {
            out.push(Item::Skip(Skip::ParentSpan));
            continue;
        }
        out.push(span_record(span, a).into());
    }
}

fn nanos(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn span_record(span: &Map<String, Value>, a: &Attrs) -> Result<Record, String> {
    let start = field(span, "startTimeUnixNano", "start_time_unix_nano")
        .ok_or_else(|| "span without startTimeUnixNano".to_string())?;
    let ms = time_ms(start, Unit::Nanos)?;
    let mut r = Record::new(Time::At(ms.div_euclid(1000)));
    r.model = a.text(MODEL).unwrap_or_default();
    r.provider = a.text(PROVIDER);
    r.request_id = super::text(field(span, "spanId", "span_id")).unwrap_or_default();
    r.user_id = a.text(USER).unwrap_or_default();
    r.prompt_tokens = count(a.get(INPUT))?.unwrap_or(0);
    r.completion_tokens = count(a.get(OUTPUT))?.unwrap_or(0);
    r.total_tokens = count(a.get(TOTAL))?;
    r.cache_read_tokens = count(a.get(CACHE_READ))?.unwrap_or(0);
    r.cache_write_tokens = count(a.get(CACHE_WRITE))?.unwrap_or(0);
    r.reasoning_tokens = count(a.get(REASONING))?.unwrap_or(0);
    r.cost = number(a.get(COST)).filter(|c| *c >= 0.0);
    if let (Some(s), Some(e)) = (
        nanos(Some(start)),
        nanos(field(span, "endTimeUnixNano", "end_time_unix_nano")),
    ) {
        r.latency = Some((i128::from(e) - i128::from(s)) as f64 / 1e9);
    }
    let status = span.get("status").and_then(Value::as_object);
    let code = status.and_then(|s| s.get("code"));
    let failed = match code {
        Some(Value::Number(n)) => number(code) == Some(2.0) || n.as_u64() == Some(2),
        Some(Value::String(s)) => {
            s == "STATUS_CODE_ERROR" || s == "2" || s.eq_ignore_ascii_case("error")
        }
        _ => false,
    } || a
        .text(STATUS_ATTR)
        .is_some_and(|s| s.eq_ignore_ascii_case("error"));
    if failed {
        r.success = false;
        r.error = status
            .and_then(|s| s.get("message"))
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .or_else(|| a.text(ERROR_TYPE))
            .unwrap_or_else(|| "error".into());
    }
    Ok(r)
}
