//! The vendor-format fixtures of `tests/fixtures/formats/` (written in the shape of the vendors'
//! documented samples) and the rows worked out by hand that each must load into, with the
//! report's accounting, skip reasons and detected format; shared by the native and wasm tests.
#![allow(dead_code)]

use llm_metrics::formats::Format;
use llm_metrics::{EventStore, Params, Report, StreamOptions, Value};

/// The time given with each stream, for records that have none: 2024-12-06 12:00:00 UTC.
pub const STREAM_TIME_MS: i64 = 1_733_486_400_000;
pub const STREAM: &str = "2024-12-06 12:00:00";

/// event_time, model_name, prompt, completion, total, cost, latency, success, error_message.
pub type Row = (
    &'static str,
    &'static str,
    u64,
    u64,
    u64,
    f64,
    f64,
    u64,
    &'static str,
);

/// The fixture files, by name.
pub const FIXTURES: &[(&str, &[u8])] = &[
    (
        "openai_chat.jsonl",
        include_bytes!("../fixtures/formats/openai_chat.jsonl"),
    ),
    (
        "openai_responses.jsonl",
        include_bytes!("../fixtures/formats/openai_responses.jsonl"),
    ),
    (
        "openai_batch.jsonl",
        include_bytes!("../fixtures/formats/openai_batch.jsonl"),
    ),
    (
        "anthropic_message.jsonl",
        include_bytes!("../fixtures/formats/anthropic_message.jsonl"),
    ),
    (
        "anthropic_batch.jsonl",
        include_bytes!("../fixtures/formats/anthropic_batch.jsonl"),
    ),
    (
        "otlp.jsonl",
        include_bytes!("../fixtures/formats/otlp.jsonl"),
    ),
    (
        "litellm.jsonl",
        include_bytes!("../fixtures/formats/litellm.jsonl"),
    ),
    (
        "langfuse.jsonl",
        include_bytes!("../fixtures/formats/langfuse.jsonl"),
    ),
    (
        "helicone.jsonl",
        include_bytes!("../fixtures/formats/helicone.jsonl"),
    ),
    (
        "claude_code.jsonl",
        include_bytes!("../fixtures/formats/claude_code.jsonl"),
    ),
    (
        "ollama.jsonl",
        include_bytes!("../fixtures/formats/ollama.jsonl"),
    ),
    (
        "gemini.jsonl",
        include_bytes!("../fixtures/formats/gemini.jsonl"),
    ),
    (
        "bedrock.jsonl",
        include_bytes!("../fixtures/formats/bedrock.jsonl"),
    ),
];

/// The fixture named `name`.
pub fn fixture(name: &str) -> Vec<u8> {
    FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.to_vec())
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

pub fn load(store: &mut EventStore, name: &str, data: &[u8], format: Option<Format>) -> Report {
    store
        .begin_with(
            name,
            &StreamOptions {
                format,
                time_ms: Some(STREAM_TIME_MS),
            },
        )
        .expect("begin");
    // Odd chunk sizes: results never depend on the chunking.
    for chunk in data.chunks(97) {
        store.write(chunk).expect("write");
    }
    store.end().expect("end")
}

pub fn rows(store: &EventStore) -> Vec<String> {
    let e = store
        .sql(
            "SELECT toString(event_time) AS t, model_name, prompt_tokens, completion_tokens, \
             total_tokens, cost, latency, success, error_message FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    let mut out: Vec<String> = e
        .data
        .iter()
        .map(|r| {
            let cell = |v: &Value| match v {
                Value::Str(s) => s.clone(),
                Value::UInt(u) => u.to_string(),
                Value::Float32(f) => format!("{f}"),
                other => format!("{other:?}"),
            };
            r.iter().map(cell).collect::<Vec<_>>().join(" | ")
        })
        .collect();
    out.sort();
    out
}

pub fn expected(rows: &[Row]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            // Float32 columns: the expected value as the column stores it.
            let f = |x: f64| format!("{}", x as f32);
            [
                r.0.to_string(),
                r.1.to_string(),
                r.2.to_string(),
                r.3.to_string(),
                r.4.to_string(),
                f(r.5),
                f(r.6),
                r.7.to_string(),
                r.8.to_string(),
            ]
            .join(" | ")
        })
        .collect();
    out.sort();
    out
}

pub struct Case {
    pub file: &'static str,
    pub format: &'static str,
    pub records: u64,
    pub skipped: &'static [(&'static str, u64)],
    pub quarantined: u64,
    pub from_stream: u64,
    pub rows: &'static [Row],
}

pub const CASES: &[Case] = &[
    Case {
        file: "openai_chat.jsonl",
        format: "openai_chat",
        records: 6,
        skipped: &[("a streaming chunk", 1)],
        quarantined: 0,
        from_stream: 2,
        rows: &[
            (
                "2024-12-06 16:00:00",
                "gpt-4o-mini-2024-07-18",
                1200,
                300,
                1500,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                "2024-12-06 16:01:00",
                "gpt-4o-2024-08-06",
                50,
                20,
                70,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM).",
            ),
            (STREAM, "text-embedding-3-small", 8, 0, 8, 0.0, 0.0, 1, ""),
            (
                "2024-12-06 17:00:00",
                "o1-2024-12-17",
                75,
                900,
                975,
                0.0,
                0.0,
                1,
                "",
            ),
        ],
    },
    Case {
        file: "openai_responses.jsonl",
        format: "openai_responses",
        records: 3,
        skipped: &[("a response not finished", 1)],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            (
                "2025-03-08 23:29:02",
                "gpt-4.1-2025-04-14",
                36,
                87,
                123,
                0.0,
                3.0,
                1,
                "",
            ),
            (
                "2025-03-08 23:30:00",
                "gpt-4.1-2025-04-14",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "The server had an error while processing your request.",
            ),
        ],
    },
    Case {
        file: "openai_batch.jsonl",
        format: "openai_batch",
        records: 4,
        skipped: &[],
        quarantined: 0,
        from_stream: 2,
        rows: &[
            (
                "2024-03-28 19:06:35",
                "gpt-4o-mini-2024-07-18",
                22,
                2,
                24,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "Invalid value for 'model': 'gpt-5-nope'.",
            ),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "This request could not be executed before the completion window expired.",
            ),
            (
                "2024-03-28 19:08:20",
                "llama-3.1-8b-instant",
                40,
                10,
                50,
                0.0,
                0.25,
                1,
                "",
            ),
        ],
    },
    Case {
        file: "anthropic_message.jsonl",
        format: "anthropic_message",
        records: 2,
        skipped: &[],
        quarantined: 0,
        from_stream: 2,
        rows: &[
            // 100 input + 2000 cache write + 5000 cache read.
            (
                STREAM,
                "claude-3-5-sonnet-20241022",
                7100,
                250,
                7350,
                0.0,
                0.0,
                1,
                "",
            ),
            (STREAM, "", 0, 0, 0, 0.0, 0.0, 0, "Overloaded"),
        ],
    },
    Case {
        file: "anthropic_batch.jsonl",
        format: "anthropic_batch",
        records: 3,
        skipped: &[],
        quarantined: 0,
        from_stream: 3,
        rows: &[
            (
                STREAM,
                "claude-3-5-haiku-20241022",
                11,
                36,
                47,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "max_tokens: Field required",
            ),
            (STREAM, "", 0, 0, 0, 0.0, 0.0, 0, "expired"),
        ],
    },
    Case {
        file: "otlp.jsonl",
        format: "otlp",
        records: 6,
        skipped: &[
            ("a parent span whose tokens its child already counts", 1),
            ("a trace export without spans", 1),
            ("not a generation", 1),
        ],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            (
                "2024-06-03 16:00:00",
                "gpt-4o-2024-08-06",
                10,
                20,
                30,
                0.0,
                1.5,
                1,
                "",
            ),
            (
                "2024-06-03 16:01:00",
                "claude-3-5-sonnet-20241022",
                5,
                0,
                5,
                0.0,
                0.4,
                0,
                "rate limited",
            ),
            (
                "2024-06-03 16:01:10",
                "gpt-4o-mini",
                7,
                0,
                7,
                0.0,
                5.0,
                0,
                "timeout",
            ),
        ],
    },
    Case {
        file: "litellm.jsonl",
        format: "litellm",
        records: 3,
        skipped: &[],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            (
                "2025-01-24 09:20:46",
                "gpt-4o",
                10,
                20,
                30,
                0.000165,
                1.1,
                1,
                "",
            ),
            (
                "2025-01-24 09:21:40",
                "claude-3-5-sonnet-20241022",
                0,
                0,
                0,
                0.0,
                0.25,
                0,
                "litellm.RateLimitError: AnthropicException - rate_limit_error",
            ),
            (
                "2025-01-24 09:20:46",
                "claude-3-5-sonnet-20241022",
                100,
                50,
                150,
                0.0021,
                1.5,
                1,
                "",
            ),
        ],
    },
    Case {
        file: "langfuse.jsonl",
        format: "langfuse",
        records: 3,
        skipped: &[("not a generation", 1)],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            // input 476 + input_cached_tokens 1024; output 97 + output_reasoning_tokens 64.
            (
                "2024-10-01 08:00:00",
                "gpt-4o-2024-08-06",
                1500,
                161,
                1661,
                0.00408,
                2.25,
                1,
                "",
            ),
            (
                "2024-10-01 09:30:00",
                "claude-3-5-haiku-20241022",
                0,
                0,
                0,
                0.0,
                30.0,
                0,
                "Request timed out",
            ),
        ],
    },
    Case {
        file: "helicone.jsonl",
        format: "helicone",
        records: 2,
        skipped: &[],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            (
                "2024-11-05 14:22:07",
                "gpt-4o-mini",
                35,
                120,
                155,
                0.00007725,
                0.842,
                1,
                "",
            ),
            (
                "2024-11-05 14:23:00",
                "gpt-4o",
                0,
                0,
                0,
                0.0,
                0.05,
                0,
                "HTTP 429",
            ),
        ],
    },
    Case {
        file: "claude_code.jsonl",
        format: "claude_code",
        records: 7,
        skipped: &[("a repeated message", 2), ("not a generation", 3)],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            // The last line of msg_01 (output 210), once: 4 + 1500 + 12000 input.
            (
                "2025-07-01 10:00:03",
                "claude-sonnet-4-20250514",
                13504,
                210,
                13714,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                "2025-07-01 10:00:12",
                "claude-sonnet-4-20250514",
                13806,
                55,
                13861,
                0.0,
                0.0,
                1,
                "",
            ),
        ],
    },
    Case {
        file: "ollama.jsonl",
        format: "ollama",
        records: 5,
        skipped: &[("a streaming chunk", 2)],
        quarantined: 0,
        from_stream: 1,
        rows: &[
            (
                "2023-08-04 19:22:45",
                "llama3.2",
                26,
                298,
                324,
                0.0,
                10.706818083,
                1,
                "",
            ),
            (
                "2024-07-22 20:36:04",
                "qwen2.5:7b",
                12,
                40,
                52,
                0.0,
                2.5,
                1,
                "",
            ),
            (
                STREAM,
                "",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "model 'llama9' not found, try pulling it first",
            ),
        ],
    },
    // Gemini API and Vertex AI bodies: 2048 prompt tokens (1536 of them cached), 210 candidates
    // + 640 thoughts = 850 out, total 2898 as written, no time (the stream's); Vertex's
    // `createTime` for the other two (300 + 90 = 390; 1000 + 100 = 1100, cut at MAX_TOKENS but
    // billed and answered).
    Case {
        file: "gemini.jsonl",
        format: "gemini",
        records: 3,
        skipped: &[],
        quarantined: 0,
        from_stream: 1,
        rows: &[
            (STREAM, "gemini-2.5-flash", 2048, 850, 2898, 0.0, 0.0, 1, ""),
            (
                "2025-08-20 09:30:00",
                "gemini-2.5-pro",
                300,
                90,
                390,
                0.0,
                0.0,
                1,
                "",
            ),
            (
                "2024-12-05 18:00:00",
                "gemini-1.5-flash-002",
                1000,
                100,
                1100,
                0.0,
                0.0,
                1,
                "",
            ),
        ],
    },
    // Bedrock invocation logs: a Converse call (40 in, 12 out, 850 ms); a call through a
    // cross-region profile whose input count excludes the cache, 30 + 2000 read + 500 written =
    // 2530 in, 80 out, 1200 ms; a throttled call.
    Case {
        file: "bedrock.jsonl",
        format: "bedrock",
        records: 3,
        skipped: &[],
        quarantined: 0,
        from_stream: 0,
        rows: &[
            (
                "2025-03-11 14:20:05",
                "anthropic.claude-3-haiku-20240307-v1:0",
                40,
                12,
                52,
                0.0,
                0.85,
                1,
                "",
            ),
            (
                "2025-03-11 14:21:00",
                "us.anthropic.claude-3-5-haiku-20241022-v1:0",
                2530,
                80,
                2610,
                0.0,
                1.2,
                1,
                "",
            ),
            (
                "2025-03-11 14:22:30",
                "amazon.nova-lite-v1:0",
                0,
                0,
                0,
                0.0,
                0.0,
                0,
                "ThrottlingException",
            ),
        ],
    },
];

pub fn check_report(case: &Case, report: &Report) {
    let lines = fixture(case.file)
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .count() as u64;
    assert_eq!(report.format, case.format, "{}: {report:?}", case.file);
    assert_eq!(report.lines, lines, "{}", case.file);
    assert_eq!(report.records, case.records, "{}: {report:?}", case.file);
    assert_eq!(
        report.rows,
        case.rows.len() as u64,
        "{}: {report:?}",
        case.file
    );
    assert_eq!(
        report.quarantined, case.quarantined,
        "{}: {report:?}",
        case.file
    );
    let skipped: u64 = case.skipped.iter().map(|s| s.1).sum();
    assert_eq!(report.skipped, skipped, "{}: {report:?}", case.file);
    let by: Vec<(&str, u64)> = report
        .skipped_by
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(by, case.skipped, "{}", case.file);
    assert_eq!(
        report.records,
        report.rows + report.quarantined + report.skipped,
        "{}",
        case.file
    );
    assert_eq!(report.time_from_stream, case.from_stream, "{}", case.file);
}

/// A Claude Code assistant entry whose tool input nests `depth` arrays deep.
fn nested_entry(depth: usize, id: usize) -> String {
    format!(
        "{{\"type\":\"assistant\",\"sessionId\":\"s\",\"uuid\":\"u{id}\",\"timestamp\":\"2025-07-01T10:00:00Z\",\"requestId\":\"r{id}\",\"message\":{{\"id\":\"m{id}\",\"type\":\"message\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[{{\"type\":\"tool_use\",\"input\":{}{}}}],\"usage\":{{\"input_tokens\":1,\"output_tokens\":2}}}}}}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

/// Vendor lines nested deep: up to serde_json's 128 levels they load; deeper, they are
/// quarantined with the reason, never a crash (wasm32 has a 1 MiB stack); past 1,000 levels
/// the line scanner refuses them first, as for any line.
pub fn check_hostile_depth() {
    let mut store = EventStore::new();
    let mut data = String::new();
    // The entry's own nesting is 6 levels (object, message, content, block, input's first array
    // counted from 1): 100 arrays stay within 128.
    for (i, depth) in [100usize, 200, 1_500, 100_000].into_iter().enumerate() {
        data.push_str(&nested_entry(depth, i));
    }
    let report = load(&mut store, "deep.jsonl", data.as_bytes(), None);
    assert_eq!(
        (
            report.lines,
            report.records,
            report.rows,
            report.quarantined
        ),
        (4, 4, 1, 3),
        "{report:?}"
    );
    assert!(
        report.errors[0].starts_with("line 2: unreadable record: recursion limit exceeded"),
        "{report:?}"
    );
    assert!(
        report.errors[1].starts_with("line 3: invalid JSON"),
        "{report:?}"
    );
    assert!(
        report.errors[2].starts_with("line 4: invalid JSON"),
        "{report:?}"
    );
    assert_eq!(store.row_count(), 1);
}

/// An OpenTelemetry export line with many spans: every span is a record.
pub fn check_many_spans() {
    let span = |i: usize| {
        format!(
            "{{\"spanId\":\"s{i}\",\"startTimeUnixNano\":\"1717430400000000000\",\"endTimeUnixNano\":\"1717430401000000000\",\"attributes\":[{{\"key\":\"gen_ai.request.model\",\"value\":{{\"stringValue\":\"m\"}}}},{{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{{\"intValue\":\"{i}\"}}}}]}}"
        )
    };
    let n = 10_000;
    let spans: Vec<String> = (0..n).map(span).collect();
    let line = format!(
        "{{\"resourceSpans\":[{{\"scopeSpans\":[{{\"spans\":[{}]}}]}}]}}\n",
        spans.join(",")
    );
    let mut store = EventStore::new();
    let report = load(&mut store, "spans.jsonl", line.as_bytes(), None);
    assert_eq!(
        (report.lines, report.records, report.rows),
        (1, n as u64, n as u64),
        "{:?}",
        report.errors
    );
    let e = store
        .sql(
            "SELECT sum(prompt_tokens) AS s FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    // 0 + 1 + ... + (n - 1).
    assert_eq!(e.get(0, "s"), Some(&Value::UInt((n * (n - 1) / 2) as u64)));
}

/// The price table, written from the pinned npm package by `scripts/prices.mjs` (Node.js and
/// `npm ci` are needed, as for the page).
#[cfg(not(target_arch = "wasm32"))]
pub fn price_table_text() -> String {
    // One file per process and thread: tests running at once never read each other's writes.
    let out = format!(
        "{}/genai-prices-{}-{:?}.json",
        env!("CARGO_TARGET_TMPDIR"),
        std::process::id(),
        std::thread::current().id()
    );
    let status = std::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/prices.mjs"))
        .arg(&out)
        .status()
        .expect("node runs scripts/prices.mjs");
    assert!(status.success(), "scripts/prices.mjs failed (run npm ci)");
    std::fs::read_to_string(&out).expect("price table")
}
