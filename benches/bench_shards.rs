//! The parts of a load read on several threads, on the native build:
//! `cargo run --release --example bench_shards [rows] [parts]` (default: 1000000 2).
//!
//! Generates `rows` events as NDJSON, then times, five times each (medians printed): reading
//! the whole stream into one store; reading its first part into one store and its other parts
//! into stores of their own (what the threads do side by side, each timed); writing each later
//! part's store file; and appending those files in order (`EventStore::append_store_file`, what
//! the store's thread does after its own part). The serial share, the last two, bounds the
//! speed-up a second thread can give.

use llm_metrics::{generate_ndjson, EventStore};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed().as_secs_f64() * 1000.0)
}

fn load(data: &[u8]) -> EventStore {
    let mut s = EventStore::new();
    s.begin("events.ndjson").expect("begin");
    for chunk in data.chunks(1 << 20) {
        s.write(chunk).expect("write");
    }
    s.end().expect("end");
    s
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let parts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2).max(1);
    let data = generate_ndjson(rows, 42);
    // Part boundaries: after the newline at or after each 1/parts of the bytes.
    let mut bounds = vec![0usize];
    for k in 1..parts {
        let at = data.len() * k / parts;
        let next = data[at.saturating_sub(1)..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |i| at.saturating_sub(1) + i + 1);
        bounds.push(next);
    }
    bounds.push(data.len());
    let (mut whole, mut first, mut rest, mut files, mut append) =
        (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        let (one, ms) = timed(|| load(&data));
        whole.push(ms);
        let (mut main, ms) = timed(|| load(&data[..bounds[1]]));
        first.push(ms);
        let mut longest = 0f64;
        let mut written = Vec::new();
        let mut write_ms = 0f64;
        for w in bounds.windows(2).skip(1) {
            let (part, ms) = timed(|| load(&data[w[0]..w[1]]));
            longest = longest.max(ms);
            let (file, ms) = timed(|| part.to_store_file().expect("store file"));
            write_ms = write_ms.max(ms);
            written.push((file, part.row_count()));
        }
        rest.push(longest);
        files.push(write_ms);
        let lines_before = data[..bounds[1]].iter().filter(|&&b| b == b'\n').count() as u64;
        let ((), ms) = timed(|| {
            let mut before = lines_before;
            for (w, (file, _)) in bounds.windows(2).skip(1).zip(&written) {
                main.append_store_file(file, before).expect("append");
                before += data[w[0]..w[1]].iter().filter(|&&b| b == b'\n').count() as u64;
            }
        });
        append.push(ms);
        assert_eq!(main.row_count(), one.row_count());
    }
    let mb = data.len() as f64 / 1e6;
    let (w, f, r, sf, a) = (
        median(whole),
        median(first),
        median(rest),
        median(files),
        median(append),
    );
    println!("{rows} events, {mb:.0} MB, {parts} parts (medians of 5, ms)");
    println!(
        "one store:                 {w:8.1}  ({:.0} MB/s)",
        mb / (w / 1000.0)
    );
    println!("first part:                {f:8.1}");
    println!("each later part, longest:  {r:8.1}");
    println!("its store file, longest:   {sf:8.1}");
    println!("appending the later parts: {a:8.1}");
    let parallel = f.max(r + sf) + a;
    println!(
        "in parallel (max(first, later + file) + append): {parallel:.1} ms, {:.2}x one store",
        w / parallel
    );
}
