//! The store file: a store written to bytes and reopened answers every pipe and query as the
//! original, keeps its quarantine, counters and budget, goes on loading where it stopped, and a
//! truncated, damaged or hostile file is refused with an error, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use llm_metrics::{
    crc32, generate_ndjson, parse_datasource, read_project_dir, Datasource, ErrorKind, EventStore,
    Options, Params, StoreFileReader,
};
use std::path::Path;

fn zero() -> f64 {
    0.0
}

fn noon() -> i64 {
    1_717_243_200
}

fn fixed(mut s: EventStore) -> EventStore {
    s.set_clock(zero);
    s.set_wall_clock(noon);
    s
}

fn load(store: &mut EventStore, name: &str, data: &[u8]) {
    store.begin(name).unwrap();
    for chunk in data.chunks(100_000) {
        store.write(chunk).unwrap();
    }
    store.end().unwrap();
}

/// Generated events, lines that are quarantined, and events with many distinct model names so
/// that string codes of some blocks are 16 bits wide.
fn sample() -> EventStore {
    let mut s = fixed(EventStore::new());
    load(&mut s, "gen.ndjson", &generate_ndjson(30_000, 7));
    let mut odd = String::new();
    for i in 0..600 {
        odd.push_str(&format!(
            "{{\"event_time\":\"2023-12-31 23:59:{:02}\",\"model_name\":\"m{i}\",\"total_tokens\":{i},\"cost\":0.5}}\n",
            i % 60
        ));
    }
    odd.push_str("not json\n{\"event_time\":\"2024-05-01 10:00:00\",\"latency\":\"n/a\"}\n");
    load(&mut s, "odd.ndjson", odd.as_bytes());
    s
}

const QUERIES: &[&str] = &[
    "SELECT count() AS n, sum(total_tokens) AS t, avg(latency) AS l FROM llm_events",
    "SELECT model_name, count() AS n, quantile(0.9)(latency) AS p90 FROM llm_events GROUP BY model_name ORDER BY n DESC, model_name LIMIT 20",
    "SELECT toStartOfHour(event_time) AS h, uniqExact(model_name) AS u FROM llm_events WHERE event_time >= '2024-01-02 00:00:00' GROUP BY h ORDER BY h LIMIT 50",
    "SELECT * FROM llm_events ORDER BY event_time, model_name, cost LIMIT 30",
    "SELECT count() AS n, any(c__raw) AS raw, max(c__line) AS line FROM llm_events_quarantine",
];

fn answers(s: &EventStore) -> Vec<String> {
    let mut out = Vec::new();
    let mut filtered = Params::new();
    filtered.insert(
        "models".into(),
        serde_json::json!(["gpt-4o", "claude-3-5-sonnet"]),
    );
    filtered.insert("start_date".into(), "2024-01-03 00:00:00".into());
    for name in s.pipe_names() {
        for params in [&Params::new(), &filtered] {
            out.push(match s.pipe(&name, params) {
                Ok(r) => r.to_json(),
                Err(e) => format!("error: {e}"),
            });
        }
    }
    for q in QUERIES {
        out.push(match s.sql(q, &Params::new()) {
            Ok(r) => r.to_json(),
            Err(e) => format!("error: {e}"),
        });
    }
    out.push(s.quarantine_page(0, 100).to_json());
    out
}

fn reopen(file: &[u8], options: Options) -> EventStore {
    fixed(EventStore::open_store_file(file, options).unwrap())
}

#[test]
fn a_reopened_store_answers_as_the_original() {
    let original = sample();
    let file = original.to_store_file().unwrap();
    assert_eq!(&file[..8], b"LLMSTORE");
    let reopened = reopen(&file, Options::default());
    assert!(reopened.store().same_contents(original.store()));
    assert_eq!(reopened.row_count(), 30_600);
    assert_eq!(reopened.quarantine().len(), original.quarantine().len());
    assert_eq!(reopened.quarantine().rows(), original.quarantine().rows());
    assert_eq!(reopened.store().bytes(), original.store().bytes());
    assert!(reopened.store().blocks().any(|b| b.column(1).width() == 2));
    let (a, b) = (answers(&original), answers(&reopened));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert!(!a.iter().any(|x| x.starts_with("error")), "{a:?}");
    // Writing the reopened store gives the same file, except the time it was saved.
    assert_eq!(reopened.to_store_file().unwrap(), file);
}

#[test]
fn a_reopened_store_goes_on_loading_where_it_stopped() {
    let mut original = sample();
    let mut reopened = reopen(&original.to_store_file().unwrap(), Options::default());
    let more = generate_ndjson(12_345, 99);
    for s in [&mut original, &mut reopened] {
        s.write(b"{\"event_time\":\"2024-01-02 00:00:00\",\"model_name\":\"brand-new\"}\n")
            .unwrap();
        let report = s.end().unwrap();
        // The next unnamed stream is numbered after the ones the file recorded.
        assert_eq!(report.stream, "stream-3");
        load(s, "more.ndjson", &more);
    }
    assert!(reopened.store().same_contents(original.store()));
    assert_eq!(reopened.store().bytes(), original.store().bytes());
    assert_eq!(answers(&original), answers(&reopened));
}

#[test]
fn the_file_can_be_read_in_chunks_of_any_size() {
    let original = sample();
    let file = original.to_store_file().unwrap();
    for size in [1usize, 7, 12, 16, 4096, 65_537, file.len()] {
        let mut r = StoreFileReader::new(Options::default());
        for chunk in file.chunks(size) {
            r.write(chunk).unwrap();
        }
        assert_eq!(r.bytes_read(), file.len() as u64);
        let s = r.finish().unwrap();
        assert!(
            s.store().same_contents(original.store()),
            "chunks of {size}"
        );
    }
    // Sections are handed to the sink one at a time; together they are the file.
    let mut parts = Vec::new();
    let n = original
        .write_store_file(&mut |p| {
            parts.push(p.len());
            Ok(())
        })
        .unwrap();
    assert_eq!(n, file.len() as u64);
    assert!(parts.len() > 5);
    assert!(parts.iter().all(|&p| p < 1 << 20));
    assert_eq!(parts.len(), original.store_file_parts());
    // Written a few parts at a time, the file is the same.
    let mut pieced = Vec::new();
    let total = original.store_file_parts();
    for start in (0..total).step_by(3) {
        original
            .write_store_file_parts(start, start + 3, &mut |p| {
                pieced.extend_from_slice(p);
                Ok(())
            })
            .unwrap();
    }
    assert_eq!(pieced, file);
}

#[test]
fn a_project_store_keeps_its_datasources_and_pipes() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/tinybird/project"
    ));
    let files = read_project_dir(dir).unwrap();
    let mut original = fixed(EventStore::from_project(&files, Options::default()));
    original.begin_into("calls.ndjson", "gateway_flat").unwrap();
    original
        .write(concat!(
            r#"{"started_at":"2024-03-01 10:00:00","gateway":{"team":"search"},"reply":{"usage":{"input_tokens":100}}}"#,
            "\n",
            r#"{"started_at":"2024-03-01 11:00:00","gateway":{"team":"ads"},"reply":{"usage":{"input_tokens":20}}}"#,
            "\nnot json\n",
        ).as_bytes())
        .unwrap();
    original
        .begin_into("prices.ndjson", "model_prices")
        .unwrap();
    original
        .write(b"{\"model\":\"o1\",\"input_usd\":15}\n{\"model\":\"big\",\"input_usd\":2.5,\"output_usd\":10}\n")
        .unwrap();
    original.end().unwrap();
    original
        .add_pipe("NODE n\nSQL >\n    SELECT count() AS c FROM model_prices\n")
        .unwrap();
    let reopened = reopen(&original.to_store_file().unwrap(), Options::default());
    assert_eq!(reopened.datasource_names(), original.datasource_names());
    assert_eq!(reopened.pipe_names(), original.pipe_names());
    assert_eq!(reopened.load_errors(), original.load_errors());
    assert_eq!(reopened.load_notes(), original.load_notes());
    assert_eq!(reopened.datasource_rows("gateway_flat"), Some(2));
    assert_eq!(reopened.datasource_rows("model_prices"), Some(2));
    let mut params = Params::new();
    params.insert("teams".into(), "".into());
    for name in original.pipe_names() {
        let a = original.pipe(&name, &params).map(|r| r.to_json());
        let b = reopened.pipe(&name, &params).map(|r| r.to_json());
        assert_eq!(a, b, "{name}");
    }
    let q = "SELECT count() AS n FROM gateway_flat_quarantine";
    assert_eq!(
        original.sql(q, &Params::new()).map(|r| r.to_json()),
        reopened.sql(q, &Params::new()).map(|r| r.to_json())
    );
}

fn store_file_error(file: &[u8], options: Options) -> String {
    match EventStore::open_store_file(file, options) {
        Ok(_) => String::new(),
        Err(e) => {
            assert!(matches!(e.kind(), ErrorKind::StoreFile { .. }), "{e:?}");
            e.to_string()
        }
    }
}

/// Section boundaries of a store file: (start, payload length).
fn sections(file: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 16;
    while at < file.len() {
        let len = u64::from_le_bytes(file[at + 4..at + 12].try_into().unwrap()) as usize;
        out.push((at, len));
        at += 12 + len + 4;
    }
    out
}

/// Puts a right checksum back on the section starting at `at`, so that a change inside it
/// reaches the checks of its contents.
fn reseal(file: &mut [u8], at: usize, len: usize) {
    let crc = crc32(&file[at..at + 12 + len]);
    file[at + 12 + len..at + 16 + len].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn truncated_and_damaged_files_are_refused() {
    let mut small = fixed(EventStore::new());
    load(
        &mut small,
        "a.ndjson",
        b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"latency\":1.5}\nnot json\n",
    );
    let file = small.to_store_file().unwrap();
    // Every prefix is refused: the END section is missing or cut.
    for n in 0..file.len() {
        let e = store_file_error(&file[..n], Options::default());
        assert!(!e.is_empty(), "a prefix of {n} bytes was accepted");
    }
    assert!(store_file_error(&file[..file.len() - 1], Options::default()).contains("truncated"));
    // Any changed byte is caught (by the checksum, or the header's checks).
    for i in 0..file.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x41;
        assert!(
            !store_file_error(&bad, Options::default()).is_empty(),
            "byte {i} changed was accepted"
        );
    }
    // Bytes after the end.
    let mut long = file.clone();
    long.push(0);
    assert!(store_file_error(&long, Options::default()).contains("END"));
    // Another version.
    let mut v2 = file.clone();
    v2[8] = 2;
    assert!(store_file_error(&v2, Options::default()).contains("version 2"));
    assert!(store_file_error(b"PK\x03\x04 a zip", Options::default()).contains("magic"));
}

#[test]
fn changed_contents_with_right_checksums_never_panic() {
    let mut s = fixed(EventStore::new());
    let mut data = generate_ndjson(9_000, 3);
    data.extend_from_slice(b"not json\n");
    load(&mut s, "a.ndjson", &data);
    let file = s.to_store_file().unwrap();
    let secs = sections(&file);
    let mut refused = 0;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..1_200 {
        let (at, len) = secs[round % secs.len()];
        let mut bad = file.clone();
        if len == 0 {
            continue;
        }
        // Mostly the first bytes of a section (counts, kinds, lengths), sometimes anywhere.
        let span = if round % 3 == 0 { len } else { len.min(64) };
        let i = at + 12 + (next() as usize % span);
        bad[i] = match round % 4 {
            0 => bad[i] ^ 0xff,
            1 => bad[i].wrapping_add(1),
            2 => 0xff,
            _ => 0,
        };
        reseal(&mut bad, at, len);
        if !store_file_error(&bad, Options::default()).is_empty() {
            refused += 1;
        }
    }
    assert!(refused > 400, "{refused}");
    // A section length past the file, or past any budget.
    let (at, _) = secs[1];
    let mut huge = file.clone();
    huge[at + 4..at + 12].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(store_file_error(&huge, Options::default()).contains("longer than"));
}

#[test]
fn a_reopened_store_counts_against_its_budget() {
    let original = sample();
    let file = original.to_store_file().unwrap();
    let need = original.store().bytes();
    let tight = Options {
        max_bytes: need,
        ..Options::default()
    };
    assert_eq!(reopen(&file, tight).store().bytes(), need);
    let short = Options {
        max_bytes: need - need / 10,
        ..Options::default()
    };
    let e = store_file_error(&file, short);
    assert!(e.contains("maxBytes"), "{e}");
}

/// The file with the payload of the section at `at` (of `len` bytes) replaced by `payload`,
/// with its length and checksum made right.
fn with_payload(file: &[u8], at: usize, len: usize, payload: &[u8]) -> Vec<u8> {
    let mut out = file[..at + 4].to_vec();
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32(&out[at..]);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&file[at + 12 + len + 4..]);
    out
}

/// Offset, in a `TABLE` payload, of the partition key's column index: after the name,
/// description and engine texts and the key's kind.
fn partition_column_at(payload: &[u8]) -> usize {
    let mut p = 0;
    for _ in 0..3 {
        let n = u64::from_le_bytes(payload[p..p + 8].try_into().unwrap()) as usize;
        p += 8 + n;
    }
    p + 1
}

fn small_store() -> EventStore {
    let mut s = fixed(EventStore::new());
    load(
        &mut s,
        "a.ndjson",
        b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n",
    );
    s
}

#[test]
fn added_pipes_are_bounded_in_number() {
    let pipe = |i: usize| format!("NODE n\nSQL >\n    SELECT {i} AS c FROM llm_events\n");
    let mut s = small_store();
    for i in 0..llm_metrics::MAX_ADDED_PIPES {
        s.add_pipe(&pipe(i).replace("NODE n", &format!("NODE n{i}")))
            .unwrap();
    }
    let e = s
        .add_pipe("NODE over\nSQL >\n    SELECT 1 AS c\n")
        .unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    // Replacing a kept pipe is still allowed.
    s.add_pipe(&pipe(7).replace("NODE n", "NODE n7")).unwrap();
    let file = s.to_store_file().unwrap();
    let mut reopened = reopen(&file, Options::default()).pipe_names();
    let mut kept = s.pipe_names();
    reopened.sort();
    kept.sort();
    assert_eq!(reopened, kept);
    // A file listing one pipe more than a store keeps is refused: its META section ends with
    // the list of added pipes, the last of which is repeated.
    let (at, len) = sections(&file)[0];
    let meta = &file[at + 12..at + 12 + len];
    let text = pipe(7).replace("NODE n", "NODE n7");
    let mut entry = (text.len() as u64).to_le_bytes().to_vec();
    entry.extend_from_slice(text.as_bytes());
    assert!(meta.ends_with(&entry));
    let count_at = (0..meta.len())
        .find(|&p| {
            meta[p..].starts_with(&(llm_metrics::MAX_ADDED_PIPES as u64).to_le_bytes())
                && meta.len() - p - 8 > llm_metrics::MAX_ADDED_PIPES * 8
        })
        .unwrap();
    let mut bigger = meta.to_vec();
    bigger[count_at..count_at + 8]
        .copy_from_slice(&(llm_metrics::MAX_ADDED_PIPES as u64 + 1).to_le_bytes());
    bigger.extend_from_slice(&entry);
    let e = store_file_error(&with_payload(&file, at, len, &bigger), Options::default());
    assert!(e.contains("too many"), "{e}");
}

#[test]
fn a_section_longer_than_the_budget_left_is_refused_before_it_is_buffered() {
    let original = sample();
    let file = original.to_store_file().unwrap();
    let need = original.store().bytes();
    let tight = Options {
        max_bytes: need,
        ..Options::default()
    };
    // The last section (END) claims as many bytes as the whole budget, after the store took
    // all of it: refused as soon as its head is read, not buffered.
    let (at, _) = *sections(&file).last().unwrap();
    let mut long = file.clone();
    long[at + 4..at + 12].copy_from_slice(&need.to_le_bytes());
    let mut reader = StoreFileReader::new(tight);
    let mut result = Ok(());
    for chunk in long.chunks(4096) {
        result = reader.write(chunk);
        if result.is_err() {
            break;
        }
    }
    let e = result.expect_err("a section longer than the budget left");
    assert!(e.to_string().contains("longer than"), "{e}");
    assert!(
        reader.bytes_read() <= at as u64 + 4096,
        "{}",
        reader.bytes_read()
    );
}

#[test]
fn column_indices_are_compared_whole() {
    let file = small_store().to_store_file().unwrap();
    let (at, len) = sections(&file)[1];
    let mut payload = file[at + 12..at + 12 + len].to_vec();
    let p = partition_column_at(&payload);
    let col = u64::from_le_bytes(payload[p..p + 8].try_into().unwrap());
    payload[p..p + 8].copy_from_slice(&(col + (1 << 32)).to_le_bytes());
    let e = store_file_error(&with_payload(&file, at, len, &payload), Options::default());
    assert!(e.contains("not a time column"), "{e}");
}

#[test]
fn keys_of_repeated_records_count_against_the_budget() {
    let file = small_store().to_store_file().unwrap();
    let (at, len) = sections(&file)[1];
    // The TABLE payload ends with the count of kept keys (none here) and the keys.
    let mut payload = file[at + 12..at + 12 + len].to_vec();
    assert_eq!(payload[len - 8..], 0u64.to_le_bytes());
    let n = 100_000u64;
    payload.truncate(len - 8);
    payload.extend_from_slice(&n.to_le_bytes());
    for k in 0..n {
        payload.extend_from_slice(&k.to_le_bytes());
    }
    let bad = with_payload(&file, at, len, &payload);
    let budget = Options {
        max_bytes: 2 << 20,
        ..Options::default()
    };
    let e = store_file_error(&bad, budget);
    assert!(
        e.contains("maxBytes") && e.contains("repeated records"),
        "{e}"
    );
    // The keys fit in a larger budget.
    assert!(store_file_error(&bad, Options::default()).is_empty());
}

#[test]
fn a_url_stream_name_keeps_no_credentials_in_the_store_file() {
    let mut s = fixed(EventStore::new());
    let url =
        "https://alice:s3cret@logs.example.com/day/a.ndjson?X-Amz-Signature=f00d&token=t0k#top";
    load(
        &mut s,
        url,
        b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\nnot json\n",
    );
    let q = s
        .sql(
            "SELECT c__source FROM llm_events_quarantine",
            &Params::new(),
        )
        .unwrap()
        .to_json();
    assert!(
        q.contains("\"https://logs.example.com/day/a.ndjson\""),
        "{q}"
    );
    let file = s.to_store_file().unwrap();
    for secret in ["s3cret", "alice", "f00d", "t0k", "top"] {
        assert!(
            !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the store file"
        );
    }
    assert_eq!(
        llm_metrics::stream_name("s3://bucket/key.ndjson?versionId=1"),
        "s3://bucket/key.ndjson"
    );
    assert_eq!(llm_metrics::stream_name("a?b.ndjson"), "a?b.ndjson");
    assert_eq!(
        llm_metrics::stream_name("http://h:8080/x#y"),
        "http://h:8080/x"
    );
}

#[test]
fn a_store_file_read_beside_a_store_shares_its_budget() {
    let original = sample();
    let file = original.to_store_file().unwrap();
    let need = original.store().bytes();
    let budget = Options {
        max_bytes: need + need / 2,
        ..Options::default()
    };
    // Alone it fits; beside a store of the same size it does not, and is refused.
    let mut alone = StoreFileReader::new(budget);
    alone.write(&file).unwrap();
    let reopened = alone.finish().unwrap();
    assert_eq!(reopened.store().bytes(), need);
    let mut beside = StoreFileReader::new(budget).held_beside(need);
    let e = beside
        .write(&file)
        .expect_err("over the budget beside the held store");
    assert!(e.to_string().contains("maxBytes"), "{e}");
    // What is held while reading is not charged to the store once read.
    let mut small = StoreFileReader::new(budget).held_beside(need / 4);
    small.write(&file).unwrap();
    assert_eq!(small.finish().unwrap().store().bytes(), need);
}

/// The `llm_events.datasource` shipped before the columns after `error_message` were added.
const NINE_COLUMNS: &str = include_str!("fixtures/upgrade/llm_events_nine_columns.datasource");

/// Three events in two months and a line that is not JSON, in a store of `name` with the
/// nine-column schema, with an added pipe.
fn nine_column_store(name: &str) -> EventStore {
    let ds = parse_datasource(name, NINE_COLUMNS).unwrap();
    assert_eq!(ds.columns.len(), 9);
    let mut s = fixed(EventStore::with_datasource(ds, Options::default()));
    let lines = concat!(
        r#"{"event_time":"2024-05-01 10:00:00","model_name":"gpt-4o","prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cost":0.5,"latency":1.5,"success":1,"error_message":""}"#,
        "\n",
        r#"{"event_time":"2024-05-02 11:00:00","model_name":"claude","prompt_tokens":20,"completion_tokens":10,"total_tokens":30,"cost":0.25,"latency":0.5,"success":0,"error_message":"timeout"}"#,
        "\n",
        "not json\n",
        r#"{"event_time":"2024-06-03 12:00:00","model_name":"gpt-4o","prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"cost":2,"latency":2.5,"success":1,"error_message":""}"#,
        "\n",
    );
    load(&mut s, "old.ndjson", lines.as_bytes());
    let pipe = "NODE tokens_by_model\nSQL >\n    SELECT model_name, sum(total_tokens) AS t, count() AS n FROM TABLE GROUP BY model_name ORDER BY model_name\n"
        .replace("TABLE", name);
    s.add_pipe(&pipe).unwrap();
    s
}

/// The rows of a result, as its endpoint JSON gives them.
fn data(e: &llm_metrics::Endpoint) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    v["data"].clone()
}

/// Every figure of a store: its pipes, totals and quarantine.
fn figures(s: &EventStore, table: &str) -> Vec<String> {
    let mut out: Vec<String> = s
        .pipe_names()
        .iter()
        .map(|p| match s.pipe(p, &Params::new()) {
            Ok(r) => r.to_json(),
            Err(e) => format!("error: {e}"),
        })
        .collect();
    let q = format!(
        "SELECT count() AS n, sum(total_tokens) AS t, sum(cost) AS c, countIf(success = 0) AS e, \
         uniqExact(toYYYYMM(event_time)) AS months FROM {table}"
    );
    out.push(s.sql(&q, &Params::new()).unwrap().to_json());
    let q = format!(
        "SELECT count() AS n, any(c__raw) AS raw, max(c__line) AS line FROM {table}_quarantine"
    );
    out.push(s.sql(&q, &Params::new()).unwrap().to_json());
    out
}

#[test]
fn a_store_of_the_former_llm_events_reopens_with_todays_columns() {
    let old = nine_column_store("llm_events");
    let before = figures(&old, "llm_events");
    let file = old.to_store_file().unwrap();
    let reopened = reopen(&file, Options::default());
    assert_eq!(reopened.store().datasource(), &Datasource::llm_events());
    assert_eq!(reopened.store().datasource().columns.len(), 18);
    assert_eq!(reopened.row_count(), 3);
    assert_eq!(reopened.quarantine().len(), 1);
    assert_eq!(reopened.quarantine().rows(), old.quarantine().rows());
    assert_eq!(reopened.pipe_names(), old.pipe_names());
    assert_eq!(figures(&reopened, "llm_events"), before);
    // By hand: 15 + 30 + 150 tokens, 0.5 + 0.25 + 2 cost, one failure, in May and June.
    let totals = reopened
        .sql(
            "SELECT count() AS n, sum(total_tokens) AS t, sum(cost) AS c, countIf(success = 0) AS e FROM llm_events",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(
        data(&totals),
        serde_json::json!([{"n": 3, "t": 195, "c": 2.75, "e": 1}])
    );
    let by_model = reopened.pipe("tokens_by_model", &Params::new()).unwrap();
    assert_eq!(
        data(&by_model),
        serde_json::json!([
            {"model_name": "claude", "t": 30, "n": 1},
            {"model_name": "gpt-4o", "t": 165, "n": 2},
        ])
    );
    // The added columns hold their defaults in every old row.
    let defaults = reopened
        .sql(
            "SELECT count() AS n FROM llm_events WHERE provider = '' AND cache_read_tokens = 0 \
             AND cache_write_tokens = 0 AND reasoning_tokens = 0 AND source_format = '' \
             AND request_id = '' AND user_id = '' AND cost_source = '' AND time_source = ''",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(data(&defaults), serde_json::json!([{"n": 3}]));
    // Repricing, refused for the nine columns, runs; old rows have no cost source and keep
    // their cost.
    let table = llm_metrics::formats::prices::PriceTable::from_json(
        r#"{"version": "1.0", "providers": [{"id": "openai", "models": [
            {"id": "gpt-4o", "match": {"equals": "gpt-4o"}, "prices": {"input_mtok": 2, "output_mtok": 8}}]}]}"#,
    )
    .unwrap();
    assert!(nine_column_store("llm_events").reprice(&table).is_err());
    let mut repriced = reopen(&file, Options::default());
    repriced.reprice(&table).unwrap();
    assert_eq!(figures(&repriced, "llm_events"), before);
    // Saved again, the store reopens as it is now.
    let again = reopen(&reopened.to_store_file().unwrap(), Options::default());
    assert!(again.store().same_contents(reopened.store()));
    assert_eq!(again.store().bytes(), reopened.store().bytes());
}

#[test]
fn vendor_logs_are_read_by_a_reopened_former_llm_events() {
    let ollama = std::fs::read("tests/fixtures/formats/ollama.jsonl").unwrap();
    // The nine-column store reads no vendor format: the ollama lines are no rows of it.
    let mut old = nine_column_store("llm_events");
    let file = old.to_store_file().unwrap();
    old.begin("ollama.jsonl").unwrap();
    old.write(&ollama).unwrap();
    old.end().unwrap();
    let old_rows = old
        .sql(
            "SELECT count() AS n FROM llm_events WHERE model_name IN ('llama3.2', 'qwen2.5:7b')",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(data(&old_rows), serde_json::json!([{"n": 0}]));
    let mut reopened = reopen(&file, Options::default());
    load(&mut reopened, "ollama.jsonl", &ollama);
    assert_eq!(reopened.row_count(), 3 + 3);
    let rows = reopened
        .sql(
            "SELECT count() AS n, any(provider) AS p FROM llm_events WHERE source_format = 'ollama'",
            &Params::new(),
        )
        .unwrap();
    assert_eq!(data(&rows), serde_json::json!([{"n": 3, "p": "ollama"}]));
}

#[test]
fn widening_a_former_llm_events_is_charged_to_the_budget() {
    let old = nine_column_store("llm_events");
    let file = old.to_store_file().unwrap();
    let old_bytes = old.store().bytes();
    let reopened = reopen(&file, Options::default());
    let need = reopened.store().bytes();
    // Two blocks (May, June), each with room for 8192 rows of the nine added columns: three
    // UInt32 (4 bytes) and six strings (1-byte codes while a dictionary holds '' alone).
    let widened = 2 * 8192 * (3 * 4 + 6);
    assert!(
        need >= old_bytes + widened,
        "{need} < {old_bytes} + {widened}"
    );
    let exact = Options {
        max_bytes: need,
        ..Options::default()
    };
    assert_eq!(reopen(&file, exact).store().bytes(), need);
    for max_bytes in [need - 1, old_bytes] {
        let short = Options {
            max_bytes,
            ..Options::default()
        };
        let e = store_file_error(&file, short);
        assert!(e.contains("maxBytes"), "{e}");
    }
}

#[test]
fn nine_columns_under_another_name_reopen_as_they_are() {
    let old = nine_column_store("events");
    let before = figures(&old, "events");
    let file = old.to_store_file().unwrap();
    let reopened = reopen(&file, Options::default());
    assert_eq!(reopened.store().datasource(), old.store().datasource());
    assert_eq!(reopened.store().datasource().columns.len(), 9);
    assert!(reopened.store().same_contents(old.store()));
    assert_eq!(figures(&reopened, "events"), before);
    assert_eq!(
        reopened.quarantine_page(0, 100).to_json(),
        old.quarantine_page(0, 100).to_json()
    );
}
