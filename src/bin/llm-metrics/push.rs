//! `llm-metrics push`: streams files through the decoder and sends their canonical rows to a
//! ClickHouse server (`INSERT ... FORMAT JSONEachRow` over its HTTP interface) or to Tinybird
//! (the Events API), a bounded number of rows at a time.
//!
//! Credentials are read from environment variables named on the command line, travel only in
//! request headers (`X-ClickHouse-User` / `X-ClickHouse-Key`, `Authorization: Bearer`) and are
//! never printed.

use llm_metrics::{EventStore, Params, StreamOptions};
use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// Where the rows go.
#[derive(Debug, PartialEq)]
pub enum Target {
    /// A ClickHouse server's HTTP interface.
    ClickHouse {
        /// Base URL, such as `http://localhost:8123`.
        url: String,
        /// User name (`X-ClickHouse-User`), when given.
        user: Option<String>,
        /// The environment variable holding the password (`X-ClickHouse-Key`).
        password_env: Option<String>,
        /// Database of the table (created when missing).
        database: String,
    },
    /// Tinybird's Events API.
    Tinybird {
        /// API host, such as `https://api.tinybird.co`.
        host: String,
        /// The environment variable holding a token with append rights.
        token_env: String,
    },
}

/// A parsed `push` command.
#[derive(Debug, PartialEq)]
pub struct Push {
    /// Where the rows go.
    pub target: Target,
    /// A `.datasource` file (its stem names the table); `None` for the shipped `llm_events`.
    pub datasource: Option<String>,
    /// Rows held and sent per request.
    pub chunk_rows: u64,
    /// Retries of a request after a transient failure.
    pub retries: u32,
    /// Input files; `-` is standard input.
    pub files: Vec<String>,
}

/// Rows per request unless `--chunk-rows` says otherwise.
pub const DEFAULT_CHUNK_ROWS: u64 = 50_000;
/// Quarantined lines printed per file; the rest are counted.
const QUARANTINE_PRINTED: usize = 20;
/// Bytes of the server's answer quoted in an error.
const ERROR_TEXT: usize = 2000;

/// The datasource file chosen by `--project DIR`: the one `.datasource` under `DIR/datasources`.
pub fn project_datasource(dir: &str) -> Result<String, String> {
    let folder = std::path::Path::new(dir).join("datasources");
    let entries =
        std::fs::read_dir(&folder).map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "datasource"))
        .map(|p| p.display().to_string())
        .collect();
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!("no .datasource file in {}", folder.display())),
        many => Err(format!(
            "{} holds several datasources ({}); name one with --datasource",
            folder.display(),
            many.join(", ")
        )),
    }
}

/// A failure of one HTTP request.
struct HttpError {
    status: Option<u16>,
    text: String,
    transient: bool,
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(code) => write!(f, "HTTP {code}: {}", self.text),
            None => write!(f, "request failed: {}", self.text),
        }
    }
}

/// Sends one request, retrying network errors, HTTP 429 and 5xx answers that are not a
/// ClickHouse query error (`Code: N.`) up to `retries` times, 200 ms, 400 ms, ... apart.
fn send(
    make: &dyn Fn() -> ureq::Request,
    body: &str,
    retries: u32,
    label: &str,
) -> Result<String, HttpError> {
    let mut attempt = 0u32;
    loop {
        let result = match make().send_string(body) {
            Ok(res) => res.into_string().map_err(|e| HttpError {
                status: None,
                text: format!("cannot read the answer: {e}"),
                transient: true,
            }),
            Err(ureq::Error::Status(code, res)) => {
                let text = res.into_string().unwrap_or_default();
                let text = text.trim();
                let query_error = is_query_error(text);
                Err(HttpError {
                    status: Some(code),
                    text: text.chars().take(ERROR_TEXT).collect(),
                    transient: code == 429 || (code >= 500 && !query_error),
                })
            }
            Err(ureq::Error::Transport(t)) => Err(HttpError {
                status: None,
                text: t.to_string(),
                transient: true,
            }),
        };
        match result {
            Ok(text) => return Ok(text),
            Err(e) if e.transient && attempt < retries => {
                let wait = Duration::from_millis(200u64 << attempt.min(10));
                eprintln!(
                    "llm-metrics: push: {label}: {e}; retrying in {} ms",
                    wait.as_millis()
                );
                std::thread::sleep(wait);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a ClickHouse answer is a query error (`Code: N. DB::Exception ...`), which a retry
/// would only repeat.
fn is_query_error(text: &str) -> bool {
    text.strip_prefix("Code: ").is_some_and(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with('.')
    })
}

/// Backquotes a name for ClickHouse.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// Reads a credential from the environment variable `var`.
fn secret(var: &str, what: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        Ok(_) => Err(format!("the environment variable {var} ({what}) is empty")),
        Err(_) => Err(format!(
            "the environment variable {var} ({what}) is not set"
        )),
    }
}

/// One destination, ready to take rows.
trait Sink {
    /// Sends NDJSON rows; `label` names them in retry messages. Returns the rows the server
    /// says it quarantined (Tinybird's `quarantined_rows`; 0 where the server has no such count).
    fn send_rows(&self, ndjson: &str, label: &str) -> Result<u64, String>;
}

struct ClickHouse {
    agent: ureq::Agent,
    url: String,
    user: Option<String>,
    password: Option<String>,
    database: String,
    table: String,
    retries: u32,
}

impl ClickHouse {
    fn request(&self, database: &str, query: Option<&str>) -> ureq::Request {
        let mut req = self
            .agent
            .post(&format!("{}/", self.url))
            .query("database", database)
            .query("default_format", "TabSeparated");
        if let Some(q) = query {
            req = req.query("query", q);
        }
        if let Some(user) = &self.user {
            req = req.set("X-ClickHouse-User", user);
        }
        if let Some(key) = &self.password {
            req = req.set("X-ClickHouse-Key", key);
        }
        req
    }

    fn run(&self, database: &str, sql: &str) -> Result<String, String> {
        send(&|| self.request(database, None), sql, self.retries, "query")
            .map_err(|e| e.to_string())
    }

    fn count(&self) -> Result<u64, String> {
        let sql = format!(
            "SELECT count() FROM {}.{}",
            quote(&self.database),
            quote(&self.table)
        );
        let text = self.run(&self.database, &sql)?;
        text.trim()
            .parse()
            .map_err(|_| format!("the server's count is not a number: {:?}", text.trim()))
    }
}

impl Sink for ClickHouse {
    fn send_rows(&self, ndjson: &str, label: &str) -> Result<u64, String> {
        let insert = format!(
            "INSERT INTO {}.{} FORMAT JSONEachRow",
            quote(&self.database),
            quote(&self.table)
        );
        send(
            &|| self.request(&self.database, Some(&insert)),
            ndjson,
            self.retries,
            label,
        )
        .map(|_| 0)
        .map_err(|e| e.to_string())
    }
}

struct Tinybird {
    agent: ureq::Agent,
    host: String,
    token: String,
    table: String,
    retries: u32,
}

impl Sink for Tinybird {
    fn send_rows(&self, ndjson: &str, label: &str) -> Result<u64, String> {
        let make = || {
            self.agent
                .post(&format!("{}/v0/events", self.host))
                .query("name", &self.table)
                .set("Authorization", &format!("Bearer {}", self.token))
                .set("Content-Type", "application/x-ndjson")
        };
        let answer = send(&make, ndjson, self.retries, label).map_err(|e| e.to_string())?;
        // `{"successful_rows": N, "quarantined_rows": M}`
        let quarantined = serde_json::from_str::<serde_json::Value>(&answer)
            .ok()
            .and_then(|v| {
                v.get("quarantined_rows")
                    .and_then(serde_json::Value::as_u64)
            })
            .unwrap_or(0);
        if quarantined > 0 {
            eprintln!(
                "llm-metrics: push: {label}: Tinybird quarantined {quarantined} of the rows sent"
            );
        }
        Ok(quarantined)
    }
}

/// Runs `push`: returns a one-line summary for standard output.
pub fn run(push: &Push) -> Result<String, String> {
    let mut store = match &push.datasource {
        None => EventStore::new(),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
            let stem = std::path::Path::new(path)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("llm_events");
            let ds =
                llm_metrics::parse_datasource(stem, &text).map_err(|e| format!("{path}: {e}"))?;
            EventStore::with_datasource(ds, llm_metrics::Options::default())
        }
    };
    let ds = store.store().datasource().clone();
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build();
    let base = |s: &str| {
        let s = s.trim_end_matches('/');
        if s.contains("://") {
            s.to_string()
        } else {
            format!("https://{s}")
        }
    };
    let started = Instant::now();
    match &push.target {
        Target::ClickHouse {
            url,
            user,
            password_env,
            database,
        } => {
            let password = match password_env {
                Some(var) => Some(secret(var, "the ClickHouse password")?),
                None => None,
            };
            let ch = ClickHouse {
                agent,
                url: base(url),
                user: user.clone(),
                password,
                database: database.clone(),
                table: ds.name.clone(),
                retries: push.retries,
            };
            ch.run(
                "default",
                &format!("CREATE DATABASE IF NOT EXISTS {}", quote(database)),
            )?;
            ch.run(database, &ds.create_table_sql(database))?;
            let before = ch.count()?;
            let (sent, quarantined, _) = stream_files(&mut store, push, &ch)?;
            let after = ch.count()?;
            if after.checked_sub(before) != Some(sent) {
                return Err(format!(
                    "sent {sent} rows but the server's table went from {before} to {after} rows"
                ));
            }
            Ok(format!(
                "{{\"sent\":{sent},\"quarantined\":{quarantined},\"before\":{before},\"after\":{after},\"seconds\":{:.3}}}",
                started.elapsed().as_secs_f64()
            ))
        }
        Target::Tinybird { host, token_env } => {
            let tb = Tinybird {
                agent,
                host: base(host),
                token: secret(token_env, "the Tinybird token")?,
                table: ds.name.clone(),
                retries: push.retries,
            };
            let (sent, quarantined, server) = stream_files(&mut store, push, &tb)?;
            Ok(format!(
                "{{\"sent\":{sent},\"quarantined\":{quarantined},\"server_quarantined\":{server},\"seconds\":{:.3}}}",
                started.elapsed().as_secs_f64()
            ))
        }
    }
}

/// Streams each file through the decoder, sending the rows whenever `chunk_rows` are held and
/// at the end of each file. Returns rows sent, lines quarantined here and rows the server
/// quarantined.
fn stream_files(
    store: &mut EventStore,
    push: &Push,
    sink: &dyn Sink,
) -> Result<(u64, u64, u64), String> {
    let mut sent = 0u64;
    let mut quarantined = 0u64;
    let mut server_quarantined = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    for file in &push.files {
        let fail = |e: llm_metrics::Error| format!("{file}: {e}");
        store
            .begin_with(file, &StreamOptions::default())
            .map_err(fail)?;
        let mut reader: Box<dyn Read> = if file == "-" {
            Box::new(io::stdin().lock())
        } else {
            Box::new(File::open(file).map_err(|e| format!("cannot open {file}: {e}"))?)
        };
        let quarantine_before = store.quarantine().len();
        let mut file_sent = 0u64;
        let mut read = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("cannot read {file}: {e}")),
            };
            read += n as u64;
            store.write(&buf[..n]).map_err(fail)?;
            if store.row_count() >= push.chunk_rows {
                file_sent += flush(store, sink, file, &mut server_quarantined)?;
                eprintln!(
                    "llm-metrics: push: {file}: {file_sent} rows sent, {:.1} MB read",
                    read as f64 / 1e6
                );
            }
        }
        let report = store.end().map_err(fail)?;
        file_sent += flush(store, sink, file, &mut server_quarantined)?;
        sent += file_sent;
        quarantined += report.quarantined;
        eprintln!(
            "llm-metrics: push: {file}: done, {file_sent} rows sent of {} lines, {} quarantined (not sent)",
            report.lines, report.quarantined
        );
        print_quarantine(store, quarantine_before);
    }
    Ok((sent, quarantined, server_quarantined))
}

/// Sends the rows the store holds as canonical NDJSON and clears them. Returns rows sent; adds
/// the rows the server quarantined to `server_quarantined`.
fn flush(
    store: &mut EventStore,
    sink: &dyn Sink,
    file: &str,
    server_quarantined: &mut u64,
) -> Result<u64, String> {
    let rows = store.row_count();
    if rows == 0 {
        return Ok(0);
    }
    let table = store.store().datasource().name.clone();
    let page = store
        .sql(&format!("SELECT * FROM {}", quote(&table)), &Params::new())
        .map_err(|e| e.to_string())?;
    let mut body = String::with_capacity(page.data.len() * 256);
    for row in &page.data {
        body.push('{');
        for (i, (meta, value)) in page.meta.iter().zip(row).enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&serde_json::Value::from(meta.name.as_str()).to_string());
            body.push(':');
            // NaN and infinities as the strings ClickHouse reads back as floats.
            value.write_json_as(&mut body, true);
        }
        body.push_str("}\n");
    }
    *server_quarantined += sink
        .send_rows(&body, file)
        .map_err(|e| format!("{file}: sending {rows} rows: {e}"))?;
    store.clear_rows();
    Ok(page.data.len() as u64)
}

/// Prints the lines quarantined since `from` (at most [`QUARANTINE_PRINTED`]).
fn print_quarantine(store: &EventStore, from: usize) {
    let total = store.quarantine().len();
    if total <= from {
        return;
    }
    let page = store.quarantine_page(from, QUARANTINE_PRINTED);
    let col = |name: &str| page.meta.iter().position(|m| m.name == name);
    let (Some(line), Some(error)) = (col("c__line"), col("c__error")) else {
        return;
    };
    for row in &page.data {
        let text = |i: usize| match row.get(i) {
            Some(llm_metrics::Value::Str(s)) => s.clone(),
            Some(v) => {
                let mut out = String::new();
                v.write_json(&mut out);
                out
            }
            None => String::new(),
        };
        eprintln!("llm-metrics: push:   line {}: {}", text(line), text(error));
    }
    if total - from > QUARANTINE_PRINTED {
        eprintln!(
            "llm-metrics: push:   ... and {} more",
            total - from - QUARANTINE_PRINTED
        );
    }
}
