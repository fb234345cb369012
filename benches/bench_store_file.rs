//! Writing and reopening store files on the native build:
//! `cargo run --release --example bench_store_file [rows ...]` (default: 1000000 10000000).
//!
//! For each row count, generates that many events straight into a store, then times, five
//! times each (medians printed): writing the store file, the CRC-32 of its bytes alone,
//! reopening it at once (`EventStore::open_store_file`) and in 1 MiB chunks (`StoreFileReader`,
//! as the page reads a file). Prints the file's size per event and the share of reopening the
//! checksum takes.

use llm_metrics::{crc32, write_to, EventStore, GenConfig, Options, StoreFileReader};
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

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64() * 1000.0)
}

fn main() {
    let mut sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000_000, 10_000_000];
    }
    for rows in sizes {
        let mut store = EventStore::new();
        let config = GenConfig {
            rows,
            ..GenConfig::default()
        };
        let written = write_to(&config, Feed(&mut store));
        if let Err(e) = written
            .map_err(|e| e.to_string())
            .and_then(|()| store.end().map(|_| ()).map_err(|e| e.to_string()))
        {
            eprintln!("generating {rows} events failed: {e}");
            std::process::exit(1);
        }
        let (mut write, mut check, mut open, mut chunked) = (vec![], vec![], vec![], vec![]);
        let mut size = 0;
        for _ in 0..5 {
            let (file, ms) = timed(|| store.to_store_file());
            write.push(ms);
            let file = match file {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("writing failed: {e}");
                    std::process::exit(1);
                }
            };
            size = file.len();
            let (sum, ms) = timed(|| crc32(&file));
            std::hint::black_box(sum);
            check.push(ms);
            let (reopened, ms) = timed(|| EventStore::open_store_file(&file, Options::default()));
            open.push(ms);
            match reopened {
                Ok(s) if s.row_count() == rows => {}
                other => {
                    eprintln!("reopening failed: {:?}", other.map(|s| s.row_count()));
                    std::process::exit(1);
                }
            }
            let (reopened, ms) = timed(|| {
                let mut r = StoreFileReader::new(Options::default());
                for c in file.chunks(1 << 20) {
                    r.write(c)?;
                }
                r.finish()
            });
            chunked.push(ms);
            if reopened.map(|s| s.row_count()).ok() != Some(rows) {
                eprintln!("reopening in chunks failed");
                std::process::exit(1);
            }
        }
        let (write, check, open, chunked) =
            (median(write), median(check), median(open), median(chunked));
        println!(
            "{rows} events: store file {:.1} MB ({:.2} bytes/event); write {write:.1} ms, reopen {open:.1} ms at once, {chunked:.1} ms in 1 MiB chunks; CRC-32 of the file alone {check:.1} ms ({:.0}% of reopening at once, {:.2} GB/s)",
            size as f64 / 1e6,
            size as f64 / rows as f64,
            100.0 * check / open,
            size as f64 / check / 1e6,
        );
    }
}
