//! Vendor log formats, natively: every fixture of `tests/fixtures/formats/` loads into the rows
//! worked out by hand in `formats_cases`, chosen or detected, alone, side by side and mixed.
#![cfg(not(target_arch = "wasm32"))]

mod formats_cases;

use formats_cases::*;
use llm_metrics::formats::Format;
use llm_metrics::{EventStore, Params, StreamOptions, Value};

#[test]
fn every_format_loads_into_the_rows_worked_out_by_hand() {
    for case in CASES {
        let mut store = EventStore::new();
        let report = load(&mut store, case.file, &fixture(case.file), None);
        check_report(case, &report);
        assert_eq!(rows(&store), expected(case.rows), "{}", case.file);
    }
}

#[test]
fn a_chosen_format_reads_the_same_and_refuses_other_shapes() {
    for case in CASES {
        let format = Format::from_name(case.format).expect("format name");
        let mut store = EventStore::new();
        let report = load(&mut store, case.file, &fixture(case.file), Some(format));
        check_report(case, &report);
        assert_eq!(rows(&store), expected(case.rows), "{}", case.file);
    }
    let mut store = EventStore::new();
    let report = load(
        &mut store,
        "wrong.jsonl",
        &fixture("ollama.jsonl"),
        Some(Format::Otlp),
    );
    assert_eq!((report.rows, report.quarantined), (0, 5), "{report:?}");
    assert!(
        report.errors[0].ends_with("not a otlp record"),
        "{report:?}"
    );
}

#[test]
fn every_format_side_by_side_in_one_store_and_one_mixed_stream() {
    let mut all = Vec::new();
    let mut side = EventStore::new();
    for case in CASES {
        let data = fixture(case.file);
        load(&mut side, case.file, &data, None);
        all.extend_from_slice(&data);
    }
    let want: Vec<Row> = CASES.iter().flat_map(|c| c.rows.iter().copied()).collect();
    assert_eq!(rows(&side), expected(&want));

    let mut mixed = EventStore::new();
    let report = load(&mut mixed, "all.jsonl", &all, None);
    assert_eq!(report.format, "mixed");
    assert_eq!(report.formats.len(), CASES.len(), "{report:?}");
    for case in CASES {
        assert_eq!(
            report.formats.get(case.format),
            Some(&case.records),
            "{}",
            case.format
        );
    }
    assert_eq!(rows(&mixed), expected(&want));
    let kpis = mixed.pipe("llm_kpis", &Params::new()).expect("kpis");
    let total: u64 = want.iter().map(|r| r.4).sum();
    assert_eq!(
        kpis.get(0, "total_tokens"),
        Some(&Value::UInt(total)),
        "{}",
        kpis.to_json()
    );
}

#[test]
fn canonical_lines_keep_their_rules_beside_vendor_lines() {
    let mut store = EventStore::new();
    let data = b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"gpt-4o\",\"prompt_tokens\":3}\n\
{\"model_name\":\"gpt-4o\",\"prompt_tokens\":3}\n\
not json\n\
\n\
{\"object\":\"chat.completion\",\"created\":1733500800,\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":99999999999,\"completion_tokens\":1}}\n";
    let report = load(&mut store, "canon.ndjson", data, None);
    assert_eq!(report.format, "mixed", "{report:?}");
    assert_eq!(
        (
            report.lines,
            report.records,
            report.rows,
            report.quarantined,
            report.blank
        ),
        (5, 4, 1, 3, 1),
        "{report:?}"
    );
    assert_eq!(report.formats.get("unknown"), Some(&2));
    assert!(
        report.errors[0].contains("column 'event_time' is missing"),
        "{report:?}"
    );
    assert!(report.errors[1].contains("invalid JSON"), "{report:?}");
    assert!(
        report.errors[2].contains("value '99999999999' on column 'prompt_tokens' is out of range"),
        "{report:?}"
    );
}

#[test]
fn every_fixture_file_is_a_case() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry"))
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.file.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
    let mut listed: Vec<String> = FIXTURES.iter().map(|f| f.0.to_string()).collect();
    listed.sort();
    assert_eq!(listed, cases);
}

#[test]
fn deep_vendor_lines_are_quarantined_not_a_crash() {
    check_hostile_depth();
}

#[test]
fn an_export_line_of_ten_thousand_spans_is_ten_thousand_records() {
    check_many_spans();
}

#[test]
fn convert_writes_canonical_ndjson_that_loads_into_the_same_rows() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_llm-metrics"));
    cmd.arg("convert")
        .arg("--time")
        .arg(STREAM_TIME_MS.to_string());
    for case in CASES {
        cmd.arg(format!("{dir}/{}", case.file));
    }
    let out = cmd.output().expect("run convert");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One report per file on standard error.
    let reports: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).expect("report line"))
        .collect();
    assert_eq!(reports.len(), CASES.len());
    for (r, case) in reports.iter().zip(CASES) {
        assert_eq!(r["format"], case.format);
    }
    let mut store = EventStore::new();
    let report = load(&mut store, "converted.ndjson", &out.stdout, None);
    let want: Vec<Row> = CASES.iter().flat_map(|c| c.rows.iter().copied()).collect();
    assert_eq!(report.format, "llm_events");
    assert_eq!(report.rows, want.len() as u64, "{report:?}");
    assert_eq!(rows(&store), expected(&want));
    // Every line has the nine columns, in the datasource's order.
    let first = String::from_utf8_lossy(&out.stdout);
    let first = first.lines().next().expect("a row");
    assert!(first.starts_with("{\"event_time\":\""), "{first}");
    assert!(
        first.contains(",\"success\":") && first.ends_with('}'),
        "{first}"
    );
}

#[test]
fn json_documents_are_read_element_by_element() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/containers"
    );
    // (document, the line fixture holding the same records, elements read as lines)
    let docs = [
        ("langfuse_page.json", "langfuse.jsonl", 3),
        ("helicone_export.json", "helicone.jsonl", 2),
        ("otlp_export.json", "otlp.jsonl", 1),
    ];
    for (doc, same, elements) in docs {
        let data = std::fs::read(format!("{dir}/{doc}")).expect("fixture");
        let case = CASES.iter().find(|c| c.file == same).expect("case");
        let mut store = EventStore::new();
        let report = load(&mut store, doc, &data, None);
        assert_eq!(report.format, case.format, "{doc}: {report:?}");
        assert_eq!(report.lines, elements, "{doc}: {report:?}");
        assert_eq!(report.bytes, data.len() as u64, "{doc}");
        assert_eq!(report.quarantined, 0, "{doc}: {report:?}");
        let want: Vec<Row> = if doc == "otlp_export.json" {
            // The export's one line: its doGenerate span (the others are skipped).
            vec![case.rows[0]]
        } else {
            case.rows.to_vec()
        };
        assert_eq!(rows(&store), expected(&want), "{doc}");
    }
    // The same bytes under a name that is not `.json` are NDJSON: a pretty-printed document is
    // then lines of no known shape.
    let data = std::fs::read(format!("{dir}/helicone_export.json")).expect("fixture");
    let mut store = EventStore::new();
    let report = load(&mut store, "helicone_export.txt", &data, None);
    assert_eq!(report.rows, 0, "{report:?}");
}

/// Costs from the package's own calculator (`tests/prices/oracle.mjs`) for `records`.
fn oracle_costs(records: &[(llm_metrics::formats::Record, i64)]) -> Vec<Option<f64>> {
    use llm_metrics::formats::Time;
    let cases: Vec<serde_json::Value> = records
        .iter()
        .map(|(r, stream_ms)| {
            let time_ms = match r.time {
                Time::At(s) => s * 1000,
                Time::FromStream => *stream_ms,
            };
            serde_json::json!({
                "model": r.model,
                "provider": r.provider,
                "time_ms": time_ms,
                "usage": {
                    "input_tokens": r.prompt_tokens,
                    "cache_read_tokens": r.cache_read_tokens,
                    "cache_write_tokens": r.cache_write_tokens,
                    "output_tokens": r.completion_tokens,
                    "output_reasoning_tokens": r.reasoning_tokens,
                },
            })
        })
        .collect();
    let mut child = std::process::Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/prices/oracle.mjs"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node runs the oracle");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(serde_json::Value::from(cases).to_string().as_bytes())
        .expect("write cases");
    let out = child.wait_with_output().expect("oracle output");
    assert!(out.status.success(), "oracle failed");
    let v: Vec<Option<f64>> = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    v
}

/// Every record of every fixture, as the format maps it, with the stream time.
fn fixture_records() -> Vec<(&'static str, llm_metrics::formats::Record, i64)> {
    use llm_metrics::formats::{detect, Item};
    let mut out = Vec::new();
    for case in CASES {
        for line in fixture(case.file).split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let v: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(line).expect("fixture line");
            let format = detect(&v).expect("a format");
            let mut items = Vec::new();
            format.map(&v, &mut items);
            for item in items {
                if let Item::Row(r) = item {
                    out.push((case.file, *r, STREAM_TIME_MS));
                }
            }
        }
    }
    out
}

#[test]
fn costs_match_the_price_packages_own_calculator() {
    let table = llm_metrics::formats::prices::PriceTable::from_json(&price_table_text())
        .expect("price table");
    assert!(
        table.source.starts_with("@pydantic/genai-prices "),
        "{}",
        table.source
    );
    assert!(table.model_count() > 1000, "{}", table.model_count());
    let records = fixture_records();
    let pairs: Vec<_> = records.iter().map(|(_, r, t)| (r.clone(), *t)).collect();
    let oracle = oracle_costs(&pairs);
    let mut priced = 0;
    for ((file, r, t), want) in records.iter().zip(&oracle) {
        let got = table.cost(r, t.div_euclid(1000));
        match (got, want) {
            (Some(g), Some(w)) => {
                assert!(
                    (g - w).abs() <= 1e-12 + 1e-9 * w.abs(),
                    "{file} {}: {g} vs {w}",
                    r.model
                );
                priced += 1;
            }
            (None, None) => {}
            _ => panic!("{file} {}: ours {got:?}, the package's {want:?}", r.model),
        }
    }
    // Most fixture models are in the table; the others are named in the report below.
    assert!(priced >= 15, "{priced} of {} priced", records.len());

    // Stored: a record's own cost, else the table's, each as Float32.
    let mut store = EventStore::new();
    store.set_prices(Some(table));
    let mut want_sum = 0f64;
    let mut counted = std::collections::HashSet::new();
    for (i, ((_, r, _), oracle)) in records.iter().zip(&oracle).enumerate() {
        // Claude Code: a message's last line of its first run counts, once.
        if let Some(k) = r.key {
            let next_same = records[i + 1..]
                .iter()
                .find_map(|(_, n, _)| n.key)
                .is_some_and(|nk| nk == k);
            if next_same || !counted.insert(k) {
                continue;
            }
        }
        let cost = r.cost.or(*oracle).unwrap_or(0.0);
        want_sum += f64::from(cost as f32);
    }
    let mut unpriced = 0;
    let mut from_table = 0;
    for case in CASES {
        let report = load(&mut store, case.file, &fixture(case.file), None);
        assert!(
            report.price_table.starts_with("@pydantic/genai-prices "),
            "{report:?}"
        );
        unpriced += report.unpriced.values().sum::<u64>();
        from_table += report.cost_from_table;
    }
    let e = store
        .sql(
            "SELECT sum(cost) AS c, count() AS n FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    let Some(Value::Float64(got_sum)) = e.get(0, "c") else {
        panic!("{}", e.to_json())
    };
    assert!(
        (got_sum - want_sum).abs() <= 1e-6 * want_sum,
        "{got_sum} vs {want_sum}"
    );
    let rows = CASES.iter().map(|c| c.rows.len() as u64).sum::<u64>();
    assert_eq!(e.get(0, "n"), Some(&Value::UInt(rows)));
    assert!(from_table >= 10 && unpriced > 0, "{from_table} {unpriced}");
}

#[test]
fn csv_exports_are_read_record_by_record() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/containers"
    );
    for (doc, same) in [
        ("helicone_export.csv", "helicone.jsonl"),
        ("langfuse_observations.csv", "langfuse.jsonl"),
    ] {
        let data = std::fs::read(format!("{dir}/{doc}")).expect("fixture");
        let case = CASES.iter().find(|c| c.file == same).expect("case");
        let mut store = EventStore::new();
        // In chunks of 97 bytes, so quoted cells with newlines and quotes cross chunks.
        let report = load(&mut store, doc, &data, None);
        assert_eq!(report.format, case.format, "{doc}: {report:?}");
        assert_eq!(report.records, case.records, "{doc}: {report:?}");
        assert_eq!(report.bytes, data.len() as u64, "{doc}");
        assert_eq!(rows(&store), expected(case.rows), "{doc}");
    }
    // The canonical columns as CSV (worked out by hand).
    let data = std::fs::read(format!("{dir}/llm_events.csv")).expect("fixture");
    let mut store = EventStore::new();
    let report = load(&mut store, "llm_events.csv", &data, None);
    assert_eq!(
        (report.format.as_str(), report.rows),
        ("llm_events", 2),
        "{report:?}"
    );
    assert_eq!(
        rows(&store),
        expected(&[
            (
                "2024-05-01 10:00:00",
                "gpt-4o",
                120,
                30,
                150,
                0.0021,
                1.5,
                1,
                ""
            ),
            (
                "2024-05-01 10:00:05",
                "claude, the model",
                80,
                0,
                80,
                0.0,
                0.25,
                0,
                "overloaded: \"try again\"",
            ),
        ])
    );
}

#[test]
fn results_do_not_depend_on_the_chunking() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    let mut inputs: Vec<(String, Vec<u8>)> = CASES
        .iter()
        .map(|c| (c.file.to_string(), fixture(c.file)))
        .collect();
    for doc in [
        "langfuse_page.json",
        "helicone_export.json",
        "otlp_export.json",
        "helicone_export.csv",
        "langfuse_observations.csv",
        "llm_events.csv",
    ] {
        let data = std::fs::read(format!("{dir}/containers/{doc}")).expect("fixture");
        inputs.push((doc.to_string(), data));
    }
    for (name, data) in &inputs {
        let ingest = |chunk: usize| {
            let mut store = EventStore::new();
            store
                .begin_with(
                    name,
                    &StreamOptions {
                        format: None,
                        time_ms: Some(STREAM_TIME_MS),
                    },
                )
                .expect("begin");
            for c in data.chunks(chunk) {
                store.write(c).expect("write");
            }
            let report = store.end().expect("end");
            (rows(&store), report)
        };
        let whole = ingest(data.len().max(1));
        for chunk in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(ingest(chunk), whole, "{name} in chunks of {chunk}");
        }
    }
}

#[test]
fn vendor_time_layouts_read_as_utc_seconds() {
    use llm_metrics::formats::{detect, Item, Time};
    // (created_at as Ollama writes it, the second it is in UTC, worked out by hand)
    let cases = [
        ("2024-07-22T20:36:04.123456789Z", "2024-07-22 20:36:04"),
        ("2024-07-22T20:36:04.999999999-07:00", "2024-07-23 03:36:04"),
        ("2024-07-22T23:59:59.5+02:00", "2024-07-22 21:59:59"),
        ("2024-07-22 20:36:04.847371", "2024-07-22 20:36:04"),
        ("1721680564", "2024-07-22 20:36:04"),
    ];
    for (text, want) in cases {
        let line =
            format!("{{\"model\":\"m\",\"created_at\":\"{text}\",\"done\":true,\"eval_count\":1}}");
        let v: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).expect("json");
        let mut items = Vec::new();
        detect(&v).expect("ollama").map(&v, &mut items);
        let Some(Item::Row(r)) = items.pop() else {
            panic!("{text}: {items:?}")
        };
        let Time::At(secs) = r.time else {
            panic!("{text}: no time")
        };
        let mut store = EventStore::new();
        store.write(line.as_bytes()).expect("write");
        store.end().expect("end");
        assert_eq!(
            rows(&store)[0].split(" | ").next(),
            Some(want),
            "{text} ({secs})"
        );
    }
}

/// The columns after the nine seed ones, per fixture, worked out by hand from the fixture
/// lines: provider | cache_read_tokens | cache_write_tokens | reasoning_tokens |
/// source_format | request_id | user_id | cost_source | time_source (no price table is loaded,
/// so a record without a cost of its own is `unpriced`).
const NEW_COLUMNS: &[(&str, &[&str])] = &[
    (
        "openai_chat.jsonl",
        &[
            "|1024|0|0|openai_chat|chatcmpl-AbC1||unpriced|record",
            "|0|0|0|openai_chat|chatcmpl-AbC2||unpriced|record",
            "|0|0|0|openai_chat|||unpriced|stream",
            "|0|0|0|openai_chat|||unpriced|stream",
            "|0|0|640|openai_chat|chatcmpl-AbC3||unpriced|record",
        ],
    ),
    (
        "openai_responses.jsonl",
        &[
            "|0|0|0|openai_responses|resp_67ccd2bed1ec8190||unpriced|record",
            "|0|0|0|openai_responses|resp_67ccd2bed1ec8191||unpriced|record",
        ],
    ),
    (
        "openai_batch.jsonl",
        &[
            "|0|0|0|openai_batch|request-2||unpriced|record",
            "|0|0|0|openai_batch|request-3||unpriced|stream",
            "|0|0|0|openai_batch|request-4||unpriced|stream",
            "groq|0|0|0|openai_batch|groq-1||unpriced|record",
        ],
    ),
    (
        "anthropic_message.jsonl",
        &[
            "anthropic|5000|2000|0|anthropic_message|msg_013Zva2CMHLNnXjNJJKqJ2EF||unpriced|stream",
            "anthropic|0|0|0|anthropic_message|||unpriced|stream",
        ],
    ),
    (
        "anthropic_batch.jsonl",
        &[
            "anthropic|0|0|0|anthropic_batch|my-second-request||unpriced|stream",
            "anthropic|0|0|0|anthropic_batch|my-first-request||unpriced|stream",
            "anthropic|0|0|0|anthropic_batch|my-third-request||unpriced|stream",
        ],
    ),
    (
        "otlp.jsonl",
        &[
            "openai.chat|0|0|0|otlp|eee19b7ec3c1b175||unpriced|record",
            "|0|0|0|otlp|a1|user-9|unpriced|record",
            "|0|0|0|otlp|a2||unpriced|record",
        ],
    ),
    (
        "litellm.jsonl",
        &[
            "openai|0|0|0|litellm|chatcmpl-2299b6a2|cust-1|log|record",
            "anthropic|0|0|0|litellm|chatcmpl-2299b6a3||log|record",
            "anthropic|0|0|0|litellm|chatcmpl-b5c3|u-42|log|record",
        ],
    ),
    (
        "langfuse.jsonl",
        &[
            "|1024|0|64|langfuse|obs-1|user-3|log|record",
            "|0|0|0|langfuse|obs-3||log|record",
        ],
    ),
    (
        "helicone.jsonl",
        &[
            "openai|0|0|0|helicone|4a2f0b1e-1|user-7|log|record",
            "openai|0|0|0|helicone|4a2f0b1e-2||log|record",
        ],
    ),
    (
        "claude_code.jsonl",
        &[
            "anthropic|12000|1500|0|claude_code|req_1||unpriced|record",
            "anthropic|13500|300|0|claude_code|req_2||unpriced|record",
        ],
    ),
    (
        "ollama.jsonl",
        &[
            "ollama|0|0|0|ollama|||log|record",
            "ollama|0|0|0|ollama|||log|record",
            "ollama|0|0|0|ollama|||log|stream",
        ],
    ),
    (
        "gemini.jsonl",
        &[
            "google|1536|0|640|gemini|gf-1||unpriced|stream",
            "google|0|0|0|gemini|gf-2||unpriced|record",
            "google|0|0|0|gemini|gf-3||unpriced|record",
        ],
    ),
    (
        "bedrock.jsonl",
        &[
            "aws|0|0|0|bedrock|6a0c3f1e-0001-4b7a-9d1e-000000000001|arn:aws:sts::111122223333:assumed-role/app-role/worker|unpriced|record",
            "aws|2000|500|0|bedrock|6a0c3f1e-0002-4b7a-9d1e-000000000002|arn:aws:sts::111122223333:assumed-role/app-role/worker|unpriced|record",
            "aws|0|0|0|bedrock|6a0c3f1e-0003-4b7a-9d1e-000000000003|arn:aws:iam::111122223333:user/dev|unpriced|record",
        ],
    ),
];

/// The new columns of every row of `store`, as `NEW_COLUMNS` writes them, sorted.
fn new_columns(store: &EventStore) -> Vec<String> {
    let e = store
        .sql(
            "SELECT provider, toString(cache_read_tokens), toString(cache_write_tokens), \
             toString(reasoning_tokens), source_format, request_id, user_id, cost_source, \
             time_source FROM llm_events",
            &Params::new(),
        )
        .expect("sql");
    let mut out: Vec<String> = e
        .data
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_columns_after_the_seed_ones_hold_what_each_fixture_says() {
    assert_eq!(NEW_COLUMNS.len(), CASES.len());
    for (file, want) in NEW_COLUMNS {
        let mut store = EventStore::new();
        load(&mut store, file, &fixture(file), None);
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(new_columns(&store), want, "{file}");
    }
    // Canonical lines leave them at their defaults, unless they give them.
    let mut store = EventStore::new();
    load(
        &mut store,
        "canon.ndjson",
        b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n\
{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"provider\":\"openai\",\"cache_read_tokens\":5,\"user_id\":\"u\",\"cost_source\":\"log\"}\n",
        None,
    );
    assert_eq!(
        new_columns(&store),
        vec!["openai|5|0|0|||u|log|", "|0|0|0|||||"]
    );
}
