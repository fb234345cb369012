//! Replays the fuzz targets' saved inputs natively: the failures they found
//! (`fuzz/regressions/`) and the largest and slowest inputs of each corpus (`fuzz/worst/`).
//! `tests/web_ingest.rs` (ingest targets) and `tests/web_sql_limits.rs` (`sql`, `pipe`) replay the
//! same inputs in wasm.

// Native only: these are plain #[test] functions (and proptest), which the wasm test runner
// does not run; tests/web*.rs are their wasm counterparts.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/cases/mod.rs"]
mod cases;

use std::path::Path;

fn replay(dir: &str, target: &str, check: fn(&[u8])) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
    let mut n = 0;
    if let Ok(entries) = std::fs::read_dir(&path) {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files {
            let input = std::fs::read(&file).expect("readable input");
            eprintln!("{}", file.display());
            check(&input);
            n += 1;
        }
    }
    n
}

#[test]
fn saved_fuzz_inputs_pass_every_check() {
    let mut n = 0;
    for dir in ["fuzz/regressions", "fuzz/worst"] {
        n += replay(dir, "decoder", cases::decoder);
        n += replay(dir, "schema_decoder", cases::schema_decoder);
        n += replay(dir, "datasource", cases::datasource);
        n += replay(dir, "sql", cases::sql);
        n += replay(dir, "pipe", cases::pipe);
        n += replay(dir, "store_file", cases::store_file);
    }
    assert!(n > 0);
}

/// The committed seed corpora of the query targets are small: every input is replayed.
#[test]
fn query_corpora_pass_every_check() {
    let sql = replay("fuzz/corpus", "sql", cases::sql);
    let pipe = replay("fuzz/corpus", "pipe", cases::pipe);
    assert!(sql > 0 && pipe > 0, "{sql} sql and {pipe} pipe inputs");
}

/// The `store_file` corpus: whole saved stores, and saved stores with edits.
#[test]
fn store_file_corpus_passes_every_check() {
    let n = replay("fuzz/corpus", "store_file", cases::store_file);
    assert!(n >= 8, "{n} store_file inputs");
}

/// Writes the seeds of the `store_file` corpus (`cargo test --test fuzz_inputs -- --ignored
/// write_store_file_seeds`): each saved store whole, cut, and with edits of every kind, checksums
/// put right or not.
#[test]
#[ignore]
fn write_store_file_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/store_file");
    std::fs::create_dir_all(&dir).expect("corpus folder");
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, file) in cases::store_files().into_iter().enumerate() {
        let mut whole = vec![0u8, 0, 0];
        whole.extend_from_slice(&file);
        seeds.push((format!("whole-{i}"), whole.clone()));
        let mut cut = whole.clone();
        cut.truncate(3 + file.len() / 2);
        seeds.push((format!("cut-{i}"), cut));
        let mut tight = whole.clone();
        tight[1] = 2;
        seeds.push((format!("tight-budget-{i}"), tight));
        for (mode, name) in [(1u8, "resealed"), (3, "raw-edits")] {
            for kind in 0u8..6 {
                // mode, budget kind (unbounded), chunk size, one edit: position, kind, value.
                let at = (17 + 40 * kind as usize) as u16;
                let seed = vec![
                    mode + 4 * i as u8,
                    0,
                    1,
                    0,
                    (at >> 8) as u8,
                    at as u8,
                    kind,
                    0x5a,
                ];
                seeds.push((format!("{name}-{i}-{kind}"), seed));
            }
        }
    }
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).expect("seed written");
    }
}

/// Most built queries must reach the engine's later stages, not stop at the parser: of the
/// committed `sql` corpus, at least a tenth must answer.
#[test]
fn the_sql_grammar_builds_queries_that_answer() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/sql");
    let (mut answered, mut total) = (0, 0);
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let input = std::fs::read(entry.path()).expect("readable input");
        let (_, ok) = cases::sql_outcome(&input);
        total += 1;
        answered += usize::from(ok);
    }
    eprintln!("{answered} of {total} sql corpus inputs answer");
    assert!(total > 0 && answered * 10 >= total, "{answered} of {total}");
}

#[test]
fn the_wasm_replay_lists_every_saved_input() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ingest = std::fs::read_to_string(root.join("tests/web_ingest.rs")).expect("web_ingest.rs");
    let queries =
        std::fs::read_to_string(root.join("tests/web_sql_limits.rs")).expect("web_sql_limits.rs");
    let persist =
        std::fs::read_to_string(root.join("tests/web_persist.rs")).expect("web_persist.rs");
    for dir in ["fuzz/regressions", "fuzz/worst"] {
        for target in std::fs::read_dir(root.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in std::fs::read_dir(target.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let target_name = target.file_name().to_string_lossy().into_owned();
                let (listing, file_name) = match target_name.as_str() {
                    "sql" | "pipe" => (&queries, "web_sql_limits.rs"),
                    "store_file" => (&persist, "web_persist.rs"),
                    _ => (&ingest, "web_ingest.rs"),
                };
                let name = format!(
                    "{dir}/{}/{}",
                    target.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                );
                assert!(
                    listing.contains(&format!("\"{name}\"")),
                    "tests/{file_name} does not replay {name}"
                );
            }
        }
    }
}

/// Prints the largest and slowest inputs of each committed corpus, the candidates for
/// `fuzz/worst/` (`cargo test --release --test fuzz_inputs -- --ignored --nocapture`).
#[test]
#[ignore]
fn rank_corpus_inputs() {
    type Target = (&'static str, fn(&[u8]));
    let targets: [Target; 5] = [
        ("decoder", cases::decoder),
        ("schema_decoder", cases::schema_decoder),
        ("datasource", cases::datasource),
        ("sql", cases::sql),
        ("pipe", cases::pipe),
    ];
    for (target, check) in targets {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut timed = Vec::new();
        // Builds the target's shared stores first, so the first input timed does not pay for it.
        check(&[]);
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let input = std::fs::read(entry.path()).expect("readable input");
            let start = std::time::Instant::now();
            check(&input);
            timed.push((start.elapsed(), input.len(), entry.path()));
        }
        timed.sort_by_key(|t| std::cmp::Reverse(t.0));
        for (t, len, p) in timed.iter().take(3) {
            println!("{target} slowest: {t:?} {len} bytes {}", p.display());
        }
        timed.sort_by_key(|t| std::cmp::Reverse(t.1));
        for (t, len, p) in timed.iter().take(3) {
            println!("{target} largest: {t:?} {len} bytes {}", p.display());
        }
    }
}
