//! Ingest throughput of the native build: `cargo run --release --example bench_ingest [rows]`.
//!
//! Generates `rows` events (default 1,000,000), then ingests them five times in 64 KiB chunks
//! and prints MB/s, rows/s and bytes of store memory per row.

use llm_metrics::{generate_ndjson, EventStore, Params};
use std::time::Instant;

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let data = generate_ndjson(rows, 42);
    let mb = data.len() as f64 / 1e6;
    println!("{rows} rows, {mb:.1} MB of NDJSON");
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let mut store = EventStore::new();
        let t = Instant::now();
        for chunk in data.chunks(64 << 10) {
            if let Err(e) = store.write(chunk) {
                eprintln!("ingest failed: {e}");
                std::process::exit(1);
            }
        }
        let report = match store.end() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("ingest failed: {e}");
                std::process::exit(1);
            }
        };
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(report.rows, rows);
        last = Some(store);
    }
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    println!(
        "ingest median {:.1} ms  {:.0} MB/s  {:.2} M rows/s",
        med * 1e3,
        mb / med,
        rows as f64 / med / 1e6
    );
    if let Some(store) = last {
        println!(
            "store memory {:.1} bytes/row",
            store.store().bytes() as f64 / rows as f64
        );
        for name in store.pipe_names() {
            let mut ts = Vec::new();
            for _ in 0..5 {
                let t = Instant::now();
                let _ = store.pipe(&name, &Params::new());
                ts.push(t.elapsed().as_secs_f64() * 1e3);
            }
            ts.sort_by(f64::total_cmp);
            println!("pipe {name}: median {:.2} ms", ts[2]);
        }
    }
}
