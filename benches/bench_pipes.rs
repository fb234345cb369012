//! Query time of every shipped pipe on the native build:
//! `cargo run --release --example bench_pipes [rows ...] [pipe ...] ["SELECT ..." ...]`
//! (default: 1000000 10000000, every shipped pipe). An argument starting with `SELECT` is a
//! query to time too, without parameters.
//!
//! For each row count, generates that many events straight into a store (no NDJSON file is
//! kept), then runs each shipped pipe without parameters and with a time range and two models,
//! five times each (`BENCH_RUNS` overrides the count, for profiling), and prints the median
//! milliseconds and the rows each run read.

use llm_metrics::{write_to, EventStore, GenConfig, Params};
use std::io::{self, Write};
use std::time::Instant;

/// Feeds generated NDJSON into a store as it is written.
struct Feed<'a>(&'a mut EventStore);

impl Write for Feed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .write(buf)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![1_000_000, 10_000_000];
    }
    let is_sql = |a: &String| a.trim_start().to_ascii_uppercase().starts_with("SELECT");
    let only: Vec<&String> = args
        .iter()
        .filter(|a| a.parse::<u64>().is_err() && !is_sql(a))
        .collect();
    let queries: Vec<&String> = args.iter().filter(|a| is_sql(a)).collect();
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut filtered = Params::new();
    filtered.insert("start_date".into(), "2024-09-08 00:00:00".into());
    filtered.insert("end_date".into(), "2024-09-22 00:00:00".into());
    filtered.insert(
        "models".into(),
        serde_json::json!(["gpt-4o", "claude-3-5-sonnet"]),
    );
    for rows in sizes {
        let mut store = EventStore::new();
        let t = Instant::now();
        let cfg = GenConfig {
            rows,
            ..GenConfig::default()
        };
        if let Err(e) = write_to(&cfg, Feed(&mut store)) {
            eprintln!("generating failed: {e}");
            std::process::exit(1);
        }
        if let Err(e) = store.end() {
            eprintln!("ingest failed: {e}");
            std::process::exit(1);
        }
        println!(
            "\n{rows} rows generated and loaded in {:.1} s ({:.0} MB of store memory)",
            t.elapsed().as_secs_f64(),
            store.store().bytes() as f64 / 1e6
        );
        println!(
            "{:<26} {:>12} {:>14} {:>12} {:>14}",
            "pipe", "ms", "rows read", "filtered ms", "rows read"
        );
        for q in &queries {
            let mut times = Vec::new();
            let mut read = 0;
            for _ in 0..runs {
                let t = Instant::now();
                match store.sql(q, &Params::new()) {
                    Ok(r) => read = r.statistics.rows_read,
                    Err(e) => {
                        eprintln!("{q}: {e}");
                        std::process::exit(1);
                    }
                }
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            println!("{:>12.2} ms {:>10} rows read  {q}", median(times), read);
        }
        for name in store.pipe_names() {
            if (!only.is_empty() || !queries.is_empty()) && !only.contains(&&name) {
                continue;
            }
            let mut cells = Vec::new();
            for params in [&Params::new(), &filtered] {
                let mut times = Vec::new();
                let mut read = 0;
                for _ in 0..runs {
                    let t = Instant::now();
                    match store.pipe(&name, params) {
                        Ok(r) => read = r.statistics.rows_read,
                        Err(e) => {
                            eprintln!("{name}: {e}");
                            std::process::exit(1);
                        }
                    }
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                cells.push((median(times), read));
            }
            println!(
                "{:<26} {:>12.2} {:>14} {:>12.2} {:>14}",
                name, cells[0].0, cells[0].1, cells[1].0, cells[1].1
            );
        }
    }
}
