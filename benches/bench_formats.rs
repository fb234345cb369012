//! Ingest throughput per log format, native build:
//! `cargo run --release --example bench_formats [megabytes] [name filter]`.
//!
//! Each fixture of `tests/fixtures/formats/` is repeated to about `megabytes` MB (default 32;
//! Claude Code message ids and Gemini response ids are renumbered per copy, so repeats are new
//! calls), then ingested three times in 64 KiB chunks with format detection on every line;
//! prints the median MB/s, records/s and rows stored. The canonical shape, from the sample generator, is the baseline.

use llm_metrics::{generate_ndjson, EventStore, StreamOptions};
use std::time::Instant;

fn run(name: &str, data: &[u8]) {
    let mut times = Vec::new();
    let mut report = None;
    for _ in 0..3 {
        let mut store = EventStore::new();
        let t = Instant::now();
        if let Err(e) = store.begin_with(name, &StreamOptions::default()) {
            eprintln!("{name}: {e}");
            std::process::exit(1);
        }
        for chunk in data.chunks(64 << 10) {
            if let Err(e) = store.write(chunk) {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        }
        match store.end() {
            Ok(r) => report = Some(r),
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        }
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let med = times[1];
    let Some(r) = report else { return };
    let mb = data.len() as f64 / 1e6;
    println!(
        "{name:<26} {mb:7.1} MB {:8.1} MB/s {:10.0} records/s {:9} rows  format {}",
        mb / med,
        r.records as f64 / med,
        r.rows,
        r.format
    );
}

fn main() {
    let target_mb: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32.0);
    // Only the fixtures whose file name contains this text (all when absent).
    let filter = std::env::args().nth(2).unwrap_or_default();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/formats");
    if filter.is_empty() || "llm_events".contains(&filter) {
        let canonical = generate_ndjson((target_mb * 1e6 / 190.0) as u64, 42);
        run("llm_events (generated)", &canonical);
    }
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.retain(|p| p.is_file());
    names.sort();
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.contains(&filter) {
            continue;
        }
        let copies = ((target_mb * 1e6) / text.len() as f64).ceil() as usize;
        let mut data = String::with_capacity(copies * text.len());
        for i in 0..copies {
            if name.starts_with("claude_code") {
                data.push_str(&text.replace("\"msg_0", &format!("\"msg_{i}_0")));
            } else if name.starts_with("gemini") {
                // Chunks of one `responseId` are one call: each copy answers anew.
                data.push_str(
                    &text.replace("\"responseId\":\"", &format!("\"responseId\":\"{i}-")),
                );
            } else {
                data.push_str(&text);
            }
        }
        run(&name, data.as_bytes());
    }
}
