//! What a materialized pipe costs and gives on the native build:
//! `cargo run --release --example bench_rollup [rows] [chunk_bytes]`.
//!
//! Ingests `rows` generated events (default 1,000,000) in chunks of `chunk_bytes` (default
//! 64 KiB, one materialized-view run per chunk) into the project in `bench/rollup` (the
//! shipped `llm_events` and a pipe rolling it up by hour, model and provider into an
//! AggregatingMergeTree), and into `llm_events` alone; prints ingest times, the rollup's rows
//! and store bytes, and the time of calls, users and p50/p90/p99 latency per model per hour
//! from the raw rows and from the rollup (medians of 5), checking that both agree.

use llm_metrics::{generate_ndjson, read_project_dir, EventStore, Options, Params};
use std::time::Instant;

fn ingest(store: &mut EventStore, data: &[u8], chunk: usize) -> f64 {
    let t = Instant::now();
    store
        .begin_into("events.ndjson", "llm_events")
        .unwrap_or_else(|e| panic!("{e}"));
    for c in data.chunks(chunk) {
        store.write(c).unwrap_or_else(|e| panic!("{e}"));
    }
    store.end().unwrap_or_else(|e| panic!("{e}"));
    t.elapsed().as_secs_f64()
}

fn median_ms(store: &EventStore, sql: &str) -> (f64, String) {
    let mut times = Vec::new();
    let mut out = String::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = store
            .sql(sql, &Params::new())
            .unwrap_or_else(|e| panic!("{e}"));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap_or_default();
        out = json["data"].to_string();
    }
    times.sort_by(f64::total_cmp);
    (times[2], out)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let chunk: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64 << 10);
    let data = generate_ndjson(rows, 42);
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/rollup"));
    let files = read_project_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let mut with = EventStore::from_project(&files, Options::default());
    assert!(with.load_errors().is_empty(), "{:?}", with.load_errors());
    let mut without = EventStore::new();
    let t_without = ingest(&mut without, &data, chunk);
    let t_with = ingest(&mut with, &data, chunk);
    println!(
        "{rows} rows ({:.1} MB) in {} KiB chunks: ingest {t_without:.2} s alone, {t_with:.2} s with the materialized pipe",
        data.len() as f64 / 1e6,
        chunk >> 10
    );
    let rollup_rows = with.datasource_rows("usage_by_hour").unwrap_or(0);
    println!(
        "rollup: {rollup_rows} rows, {} bytes; llm_events: {} bytes",
        with.datasource_bytes("usage_by_hour").unwrap_or(0),
        with.datasource_bytes("llm_events").unwrap_or(0),
    );
    let raw = "SELECT toStartOfHour(event_time) AS hour, model_name, count() AS calls, \
               uniq(user_id) AS users, quantiles(0.5, 0.9, 0.99)(latency) AS q \
               FROM llm_events GROUP BY hour, model_name ORDER BY hour, model_name";
    let rolled = "SELECT hour, model_name, countMerge(calls) AS calls, uniqMerge(users) AS users, \
                  quantilesMerge(0.5, 0.9, 0.99)(latency_q) AS q \
                  FROM usage_by_hour GROUP BY hour, model_name ORDER BY hour, model_name";
    let (t_raw, a) = median_ms(&with, raw);
    let (t_rolled, b) = median_ms(&with, rolled);
    println!(
        "per model per hour: {t_raw:.1} ms from the raw rows, {t_rolled:.1} ms from the rollup; same answer: {}",
        a == b
    );
}
