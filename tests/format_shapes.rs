//! Vendor log formats in the shapes real tools write beyond the main fixtures: Azure OpenAI's
//! content-filter chunks, usage repeated in every streamed chunk (xAI, interleaved streams too) or
//! in `x_groq` (Groq), Responses API streaming events, every kind of Claude Code entry (and
//! `claude -p --output-format stream-json`), Anthropic usage sub-objects and batch results, OTLP
//! attribute variants, and Langfuse's old and new usage; Gemini bodies, chunks and batch outputs,
//! OpenAI-compatible providers' usage (DeepSeek, OpenRouter, Perplexity, Mistral), LiteLLM spend
//! log rows, Anthropic usage in Langfuse, older Claude Code entries, pydantic-ai and AI SDK 5
//! spans, OTLP written with the protobuf field names, and Ollama embeddings. Each file of `tests/fixtures/formats/shapes/`
//! loads into the rows worked out by hand below, detected and chosen alike.
#![cfg(not(target_arch = "wasm32"))]

mod formats_cases;

use formats_cases::{expected, load, rows, Row, STREAM};
use llm_metrics::formats::Format;
use llm_metrics::{EventStore, Params, Value};

struct Shape {
    file: &'static str,
    format: &'static str,
    records: u64,
    skipped: &'static [(&'static str, u64)],
    from_stream: u64,
    rows: &'static [Row],
    /// Sums of cache_read_tokens, cache_write_tokens and reasoning_tokens.
    extra: (u64, u64, u64),
}

const CHUNK: &str = "a streaming chunk";
const NOT_GEN: &str = "not a generation";
const REPEATED: &str = "a repeated message";

const SHAPES: &[Shape] = &[
    // Azure: the prompt-filter chunk and the content-filter chunk (id "", created 0) are not
    // calls; the last chunk holds the usage; an error body from the content filter.
    Shape {
        file: "azure_openai_stream.jsonl",
        format: "openai_chat",
        records: 7,
        skipped: &[(CHUNK, 4)],
        from_stream: 1,
        rows: &[
            ("2025-01-09 07:31:35", "gpt-4o-mini-2024-07-18", 25, 12, 37, 0.0, 0.0, 1, ""),
            ("2025-01-09 07:33:20", "gpt-4o-2024-08-06", 18, 5, 23, 0.0, 0.0, 1, ""),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            ),
        ],
        extra: (0, 0, 0),
    },
    // xAI repeats the usage so far in every chunk: the last chunk counts, once. Groq gives it
    // in the last chunk's `x_groq.usage`, with `total_time` in seconds.
    Shape {
        file: "openai_stream_usage.jsonl",
        format: "openai_chat",
        records: 6,
        skipped: &[(REPEATED, 2), (CHUNK, 2)],
        from_stream: 0,
        rows: &[
            ("2024-11-25 16:26:28", "grok-beta", 38, 3, 41, 0.0, 0.0, 1, ""),
            ("2024-11-30 20:53:20", "llama-3.1-8b-instant", 40, 10, 50, 0.0, 0.013, 1, ""),
        ],
        extra: (0, 0, 0),
    },
    // Three xAI streams whose chunks interleave in one file (concurrent requests logged as
    // they arrive): each call's last chunk counts, once.
    Shape {
        file: "xai_interleaved_streams.jsonl",
        format: "openai_chat",
        records: 9,
        skipped: &[(REPEATED, 6)],
        from_stream: 0,
        rows: &[
            ("2024-11-25 16:26:40", "grok-2-1212", 12, 4, 16, 0.0, 0.0, 1, ""),
            ("2024-11-25 16:26:41", "grok-2-1212", 30, 2, 32, 0.0, 0.0, 1, ""),
            ("2024-11-25 16:26:42", "grok-beta", 7, 3, 10, 0.0, 0.0, 1, ""),
        ],
        extra: (0, 0, 0),
    },
    // Responses API events: only the terminal ones are calls; an incomplete response was billed.
    Shape {
        file: "openai_responses_stream.jsonl",
        format: "openai_responses",
        records: 6,
        skipped: &[(CHUNK, 2)],
        from_stream: 0,
        rows: &[
            ("2025-03-08 23:29:02", "gpt-4.1-2025-04-14", 36, 87, 123, 0.0, 0.0, 1, ""),
            ("2025-03-08 23:30:00", "o4-mini-2025-04-16", 20, 64, 84, 0.0, 0.0, 1, ""),
            (
                "2025-03-08 23:31:40",
                "gpt-4.1-2025-04-14",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "The server had an error while processing your request.",
            ),
            ("2025-03-08 23:33:20", "gpt-4.1-2025-04-14", 10, 16, 26, 0.0, 0.0, 1, ""),
        ],
        extra: (4, 0, 64),
    },
    // Every kind of entry: snapshots, queue operations, users, tool results, system, titles and
    // summaries are read and skipped; a sidechain's message counts; 3 + 0 + 1200 and
    // 10 + 500 + 0 input tokens.
    Shape {
        file: "claude_code_entries.jsonl",
        format: "claude_code",
        records: 10,
        skipped: &[(NOT_GEN, 7)],
        from_stream: 0,
        rows: &[
            ("2025-11-20 09:00:05", "claude-haiku-4-5-20251001", 1203, 40, 1243, 0.0, 0.0, 1, ""),
            ("2025-11-20 09:01:00", "claude-sonnet-4-5-20250929", 510, 20, 530, 0.0, 0.0, 1, ""),
            (
                "2025-11-20 09:02:00",
                "<synthetic>",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "API Error: 529 Overloaded",
            ),
        ],
        extra: (1200, 500, 0),
    },
    // `claude -p --output-format stream-json`: no timestamps; the closing result repeats the
    // totals and is skipped. 3 + 2000 + 10000 input tokens.
    Shape {
        file: "claude_code_stream_json.jsonl",
        format: "claude_code",
        records: 3,
        skipped: &[(NOT_GEN, 2)],
        from_stream: 1,
        rows: &[(STREAM, "claude-sonnet-4-5-20250929", 12003, 8, 12011, 0.0, 0.0, 1, "")],
        extra: (10000, 2000, 0),
    },
    // `cache_creation` and `server_tool_use` sub-objects repeat what the flat counts say.
    Shape {
        file: "anthropic_usage_detail.jsonl",
        format: "anthropic_message",
        records: 2,
        skipped: &[],
        from_stream: 2,
        rows: &[
            (STREAM, "claude-sonnet-4-5-20250929", 350, 100, 450, 0.0, 0.0, 1, ""),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
        ],
        extra: (0, 300, 0),
    },
    Shape {
        file: "anthropic_batch_results.jsonl",
        format: "anthropic_batch",
        records: 3,
        skipped: &[],
        from_stream: 3,
        rows: &[
            (STREAM, "claude-3-5-haiku-20241022", 111, 36, 147, 0.0, 0.0, 1, ""),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "messages: at least one message is required",
            ),
            (STREAM, "", 0, 0, 0, 0.0, 0.0, 0, "canceled"),
        ],
        extra: (100, 0, 0),
    },
    // Two resourceSpans on one line; intValue as a number and as a string; times as strings and
    // numbers; status codes as enum names and numbers; an HTTP span skipped.
    Shape {
        file: "otlp_variants.jsonl",
        format: "otlp",
        records: 3,
        skipped: &[(NOT_GEN, 1)],
        from_stream: 0,
        rows: &[
            ("2024-06-03 16:00:00", "gpt-4o-mini-2024-07-18", 120, 30, 150, 0.0, 1.25, 1, ""),
            ("2024-06-03 16:01:00", "claude-3-5-haiku-20241022", 64, 0, 64, 0.0, 0.5, 0, "overloaded"),
        ],
        extra: (0, 0, 0),
    },
    // An empty `usageDetails` beside the old `usage: {input, output, total, unit}`; disjoint
    // usage details (80 + 20 cached in, 30 + 10 reasoning out).
    Shape {
        file: "langfuse_usage_shapes.jsonl",
        format: "langfuse",
        records: 3,
        skipped: &[(NOT_GEN, 1)],
        from_stream: 0,
        rows: &[
            ("2024-08-01 10:00:00", "gpt-4o", 100, 20, 120, 0.0, 1.5, 1, ""),
            ("2024-08-01 10:01:00", "o3-mini", 100, 40, 140, 0.0012, 2.0, 1, ""),
        ],
        extra: (20, 0, 10),
    },
    // Gemini API and Vertex AI bodies. 1: 1200 prompt (1024 of them cached), 40 candidates +
    // 300 thoughts = 340 out, total 1540 as written; no time: the stream's. 2: Vertex's
    // createTime; 85 prompt + 30 tool-use prompt = 115 in, 12 out, total 127. 3-5: one stream
    // (`gm-stream-003`): the chunk without usage is a chunk, the first chunk with usage is
    // repeated by the last (9 in, 21 out, 30). 6: a blocked prompt (14 in) is a failed call.
    Shape {
        file: "gemini_responses.jsonl",
        format: "gemini",
        records: 6,
        skipped: &[(CHUNK, 1), (REPEATED, 1)],
        from_stream: 3,
        rows: &[
            (STREAM, "gemini-2.5-flash", 1200, 340, 1540, 0.0, 0.0, 1, ""),
            ("2025-06-03 10:15:30", "gemini-2.0-flash-001", 115, 12, 127, 0.0, 0.0, 1, ""),
            (STREAM, "gemini-2.5-flash-lite", 9, 21, 30, 0.0, 0.0, 1, ""),
            (STREAM, "gemini-2.5-pro", 14, 0, 14, 0.0, 0.0, 0, "prompt blocked: SAFETY"),
        ],
        extra: (1024, 0, 300),
    },
    // Batch outputs. Gemini API: a keyed response (11 in, 17 + 32 thoughts = 49 out, 60) and a
    // keyed status object in place of a response, both at the stream's time. Vertex AI: an
    // empty `status` with the response at `processed_time` (410, 55, 465), and an error status
    // without a response.
    Shape {
        file: "gemini_batch.jsonl",
        format: "gemini",
        records: 4,
        skipped: &[],
        from_stream: 2,
        rows: &[
            (STREAM, "gemini-2.5-flash", 11, 49, 60, 0.0, 0.0, 1, ""),
            (STREAM, "", 0, 0, 0, 0.0, 0.0, 0, "Request contains an invalid argument."),
            ("2025-07-14 08:01:02", "gemini-2.0-flash-001", 410, 55, 465, 0.0, 0.0, 1, ""),
            (
                "2025-07-14 08:01:03",
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "Bad Request: {\"error\": {\"code\": 400, \"message\": \"Please use a valid role: user, model.\", \"status\": \"INVALID_ARGUMENT\"}}",
            ),
        ],
        extra: (0, 0, 32),
    },
    // OpenAI-compatible bodies. DeepSeek: cached tokens in `prompt_tokens_details` (512) or only
    // in `prompt_cache_hit_tokens` (256). OpenRouter: its own `usage.cost` ($0.00933) and
    // `cache_write_tokens` (400 written, 1500 read). Perplexity: `usage.cost.total_cost`
    // ($0.0052). Mistral cut by length, and an OpenAI audio body filtered with null details:
    // both succeeded. Cache read 512 + 256 + 1500 = 2268; reasoning 870.
    Shape {
        file: "openai_compatible_usage.jsonl",
        format: "openai_chat",
        records: 6,
        skipped: &[],
        from_stream: 0,
        rows: &[
            ("2025-01-27 17:46:40", "deepseek-reasoner", 640, 900, 1540, 0.0, 0.0, 1, ""),
            ("2025-01-27 17:47:40", "deepseek-chat", 300, 20, 320, 0.0, 0.0, 1, ""),
            ("2025-06-04 01:20:00", "anthropic/claude-sonnet-4", 2100, 80, 2180, 0.00933, 0.0, 1, ""),
            ("2025-06-15 15:06:40", "sonar", 12, 150, 162, 0.0052, 0.0, 1, ""),
            ("2025-06-27 04:53:20", "mistral-small-latest", 25, 64, 89, 0.0, 0.0, 1, ""),
            ("2025-07-08 18:40:00", "gpt-4o-audio-preview-2024-12-17", 120, 70, 190, 0.0, 0.0, 1, ""),
        ],
        extra: (2268, 400, 870),
    },
    // LiteLLM spend log rows: ISO and space-separated times, end − start as latency (1.5 s,
    // 30 s, 0.2 s, 2 s); the failure named in `metadata.status` (here `metadata` is JSON text, as
    // a database export writes it) or at the top level; cached tokens in
    // `metadata.additional_usage_values` (1024).
    Shape {
        file: "litellm_spend_logs.jsonl",
        format: "litellm",
        records: 4,
        skipped: &[],
        from_stream: 0,
        rows: &[
            ("2025-05-02 14:00:00", "gpt-4o-mini", 1250, 50, 1300, 0.00041, 1.5, 1, ""),
            (
                "2025-05-02 14:05:00",
                "claude-3-5-sonnet-20241022",
                0,
                0,
                0,
                0.0,
                30.0,
                0,
                "litellm.InternalServerError: AnthropicException - Overloaded",
            ),
            ("2025-05-02 14:06:00", "text-embedding-3-small", 1000, 0, 1000, 0.00002, 0.2, 1, ""),
            (
                "2025-05-02 14:07:00",
                "gpt-4o",
                0,
                0,
                0,
                0.0,
                2.0,
                0,
                "litellm.RateLimitError: Rate limit reached",
            ),
        ],
        extra: (1024, 0, 0),
    },
    // Langfuse with Anthropic's usage passed as it came: 25 input + 4000 cache read + 600 cache
    // write = 4625 in, total 4935 as written. A v2 observation with only `usage`, no end time
    // (latency from `latency`), at level ERROR.
    Shape {
        file: "langfuse_anthropic_usage.jsonl",
        format: "langfuse",
        records: 2,
        skipped: &[],
        from_stream: 0,
        rows: &[
            ("2025-04-10 12:00:00", "claude-3-7-sonnet-20250219", 4625, 310, 4935, 0.008175, 4.0, 1, ""),
            ("2025-04-10 12:01:00", "gpt-3.5-turbo", 50, 5, 55, 0.0000825, 0.75, 0, "Request timed out"),
        ],
        extra: (4000, 600, 0),
    },
    // Older Claude Code entries: `costUSD` is the cost, `durationMs` the latency; 4 + 2000 +
    // 10000 = 12004 in. A `<synthetic>` message that is no API error is not a call.
    Shape {
        file: "claude_code_cost_usd.jsonl",
        format: "claude_code",
        records: 3,
        skipped: &[(NOT_GEN, 2)],
        from_stream: 0,
        rows: &[("2025-05-20 16:00:06", "claude-3-7-sonnet-20250219", 12004, 120, 12124, 0.0123, 5.4, 1, "")],
        extra: (10000, 2000, 0),
    },
    // pydantic-ai (Logfire) spans: `gen_ai.usage.details.*` (512 cached, 256 reasoning) and
    // `operation.cost`; the agent span around the call names no model and is no call. A second
    // export written with the protobuf field names (`resource_spans`, `int_value`, ...):
    // OpenInference counts, 0.8 s, failed.
    Shape {
        file: "otlp_logfire_snake_case.jsonl",
        format: "otlp",
        records: 3,
        skipped: &[(NOT_GEN, 1)],
        from_stream: 0,
        rows: &[
            ("2025-10-09 08:53:20", "gpt-5-mini-2025-08-07", 900, 400, 1300, 0.000937, 2.0, 1, ""),
            ("2025-10-09 08:55:00", "gpt-4.1-nano-2025-04-14", 75, 25, 100, 0.0, 0.8, 0, "Connection reset"),
        ],
        extra: (512, 0, 256),
    },
    // The Vercel AI SDK 5: `ai.usage.cachedInputTokens` (1024) and `ai.usage.reasoningTokens`
    // (128) on the doGenerate span, whose parent `ai.generateText` repeats its usage; a span
    // converted from Zipkin names its failure in `otel.status_code` and
    // `otel.status_description` (20 in, 30 s).
    Shape {
        file: "otlp_ai_sdk_v5.jsonl",
        format: "otlp",
        records: 3,
        skipped: &[("a parent span whose tokens its child already counts", 1)],
        from_stream: 0,
        rows: &[
            ("2025-10-20 22:40:00", "gpt-5-nano-2025-08-07", 1500, 300, 1800, 0.0, 3.8, 1, ""),
            ("2025-10-20 22:41:40", "llama3.1:8b", 20, 0, 20, 0.0, 30.0, 0, "context deadline exceeded"),
        ],
        extra: (1024, 0, 128),
    },
    // Ollama `/api/embed` responses: no time (the stream's), the prompt's count, the duration in
    // nanoseconds (14143917 ns, 0.25 s); local, so they cost 0.
    Shape {
        file: "ollama_embed.jsonl",
        format: "ollama",
        records: 2,
        skipped: &[],
        from_stream: 2,
        rows: &[
            (STREAM, "all-minilm", 8, 0, 8, 0.0, 0.014143917, 1, ""),
            (STREAM, "nomic-embed-text", 5, 0, 5, 0.0, 0.25, 1, ""),
        ],
        extra: (0, 0, 0),
    },
];

fn data(file: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/formats/shapes/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn extra(store: &EventStore) -> (u64, u64, u64) {
    let e = store
        .sql(
            "SELECT sum(cache_read_tokens) AS r, sum(cache_write_tokens) AS w, \
             sum(reasoning_tokens) AS z FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    let n = |c: &str| match e.get(0, c) {
        Some(Value::UInt(u)) => *u,
        other => panic!("{c}: {other:?}"),
    };
    (n("r"), n("w"), n("z"))
}

fn check(shape: &Shape, forced: Option<Format>) {
    let mut store = EventStore::new();
    let report = load(&mut store, shape.file, &data(shape.file), forced);
    let f = shape.file;
    assert_eq!(report.format, shape.format, "{f}: {report:?}");
    assert_eq!(report.records, shape.records, "{f}: {report:?}");
    assert_eq!(report.rows, shape.rows.len() as u64, "{f}: {report:?}");
    assert_eq!(report.quarantined, 0, "{f}: {report:?}");
    let by: Vec<(&str, u64)> = report
        .skipped_by
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let mut want = shape.skipped.to_vec();
    want.sort();
    assert_eq!(by, want, "{f}");
    assert_eq!(
        report.records,
        report.rows + report.quarantined + report.skipped,
        "{f}"
    );
    assert_eq!(report.time_from_stream, shape.from_stream, "{f}");
    assert_eq!(rows(&store), expected(shape.rows), "{f}");
    assert_eq!(extra(&store), shape.extra, "{f}");
}

#[test]
fn every_shape_loads_into_the_rows_worked_out_by_hand_when_detected() {
    for shape in SHAPES {
        check(shape, None);
    }
}

#[test]
fn every_shape_loads_the_same_when_its_format_is_chosen() {
    for shape in SHAPES {
        check(shape, Format::from_name(shape.format));
    }
}

#[test]
fn every_shape_file_is_a_case() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats/shapes");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("shapes folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut cases: Vec<String> = SHAPES.iter().map(|s| s.file.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
}

/// The "loads here" table of the formats' acceptance: every fixture, main and shapes, loaded
/// under auto-detection, with the format detected and whether its rows are the ones worked
/// out by hand. Run with `--nocapture` to see it.
#[test]
fn the_loads_here_table_is_all_yes() {
    use formats_cases::{check_report, fixture, CASES};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut lines = vec![
        "| fixture | format | detected | records | loads here |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    let mut detected_right = 0;
    let mut all = 0;
    let mut failed = Vec::new();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut row = |file: &str, format: &str, data: Vec<u8>, ok: &dyn Fn(&EventStore, &_)| {
        let mut store = EventStore::new();
        let report = load(&mut store, file, &data, None);
        let pass = catch_unwind(AssertUnwindSafe(|| ok(&store, &report))).is_ok();
        all += 1;
        if report.format == format && report.formats.len() == 1 {
            detected_right += 1;
        }
        if !pass {
            failed.push(file.to_string());
        }
        lines.push(format!(
            "| {file} | {format} | {} | {} | {} |",
            report.format,
            report.records,
            if pass { "yes" } else { "NO" }
        ));
    };
    for case in CASES {
        row(
            case.file,
            case.format,
            fixture(case.file),
            &|store, report| {
                check_report(case, report);
                assert_eq!(rows(store), expected(case.rows));
            },
        );
    }
    for shape in SHAPES {
        row(shape.file, shape.format, data(shape.file), &|_, _| {
            check(shape, None);
        });
    }
    std::panic::set_hook(quiet);
    println!("{}", lines.join("\n"));
    println!("detection: {detected_right}/{all} fixtures detected as their own format");
    assert_eq!(detected_right, all);
    assert!(failed.is_empty(), "{failed:?}");
}

/// `OPEN_CALLS` streams whose chunks interleave round-robin, usage growing in every chunk: every
/// call counts its last chunk, once (the output tokens below are summed by hand: each call's
/// last chunk says 3).
#[test]
fn as_many_interleaved_streams_as_may_be_open_each_count_their_last_chunk() {
    let calls = llm_metrics::OPEN_CALLS;
    let mut data = String::new();
    for n in 1..=3 {
        for c in 0..calls {
            data.push_str(&format!(
                "{{\"id\":\"call-{c}\",\"object\":\"chat.completion.chunk\",\"created\":1732552000,\
                 \"model\":\"grok-beta\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w\"}}}}],\
                 \"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{n},\"total_tokens\":{}}}}}\n",
                10 + n
            ));
        }
    }
    let mut store = EventStore::new();
    let report = load(&mut store, "interleaved.jsonl", data.as_bytes(), None);
    assert_eq!(report.rows, calls as u64, "{report:?}");
    assert_eq!(report.skipped, 2 * calls as u64, "{report:?}");
    let e = store
        .sql(
            "SELECT sum(completion_tokens) AS c FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    assert_eq!(e.get(0, "c"), Some(&Value::UInt(3 * calls as u64)));
}

/// Records held back while later chunks may repeat them count against `maxBytes`: 64 open calls
/// each holding a 400 KB model name take 25.6 MB, which a store of 8 MiB cannot hold even though
/// the one name it would store fits; a store with room holds them while the stream is open and
/// gives their bytes back when it ends.
#[test]
fn records_held_back_are_charged_to_the_budget() {
    let calls = llm_metrics::OPEN_CALLS;
    let model = "m".repeat(400_000);
    let mut data = String::new();
    for c in 0..calls {
        data.push_str(&format!(
            "{{\"id\":\"call-{c}\",\"object\":\"chat.completion.chunk\",\"created\":1732552000,\
             \"model\":\"{model}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w\"}}}}],\
             \"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":1,\"total_tokens\":11}}}}\n"
        ));
    }
    let held = (calls * model.len()) as u64;

    let options = |max_bytes| llm_metrics::Options {
        max_bytes,
        ..llm_metrics::Options::default()
    };
    let mut roomy =
        EventStore::with_datasource(llm_metrics::Datasource::llm_events(), options(1 << 30));
    roomy.begin("held.jsonl").expect("begin");
    roomy.write(data.as_bytes()).expect("write");
    assert_eq!(roomy.row_count(), 0);
    let open = roomy.store().bytes();
    assert!(open >= held, "{open} bytes charged while {held} are held");
    let report = roomy.end().expect("end");
    assert_eq!(report.rows, calls as u64, "{report:?}");
    let after = roomy.store().bytes();
    assert!(
        after < open - held + 2 * model.len() as u64,
        "{after} after, {open} open"
    );

    let mut small =
        EventStore::with_datasource(llm_metrics::Datasource::llm_events(), options(8 << 20));
    small.begin("held.jsonl").expect("begin");
    let err = small
        .write(data.as_bytes())
        .expect_err("more held than the budget");
    assert!(err.to_string().contains("full"), "{err}");
}
