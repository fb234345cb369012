//! `llm-metrics push` against a ClickHouse HTTP interface (tests/backends/clickhouse_http.py:
//! ClickHouse's engine from the `chdb` package, started here with the test venv's Python) and
//! against a Tinybird Events API played by a local TCP listener.
//!
//! The ClickHouse server is the oracle: after a push, its answers to the same aggregate query
//! must equal `llm-metrics sql` over the same files.
#![cfg(not(target_arch = "wasm32"))]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

const BIN: &str = env!("CARGO_BIN_EXE_llm-metrics");
const PASSWORD: &str = "pw-7f3c91e2-never-logged";
const TOKEN: &str = "p.tok-5d1a88b0-never-logged";

/// A scratch folder of its own for each test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("push-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The ClickHouse HTTP interface over chDB, killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &Path) -> Server {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = root.join(".venv/bin/python");
        // Installed by `scripts/setup.sh --test`; without it this test fails, it never skips.
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh --test",
            python.display()
        );
        let log = dir.join("requests.log");
        let mut child = Command::new(&python)
            .arg(root.join("tests/backends/clickhouse_http.py"))
            .args(["--port", "0", "--user", "alice", "--password", PASSWORD])
            .arg("--data")
            .arg(dir.join("chdb"))
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start clickhouse_http.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the server's first line");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"));
        Server { child, port, log }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `sql` in `database` with the right credentials; the answer's `data` (FORMAT JSON).
    fn query(&self, database: &str, sql: &str) -> Vec<Value> {
        let out = curl_free_post(
            self.port,
            &format!(
                "/?database={database}&default_format=JSON&output_format_json_quote_64bit_integers=0"
            ),
            &[("X-ClickHouse-User", "alice"), ("X-ClickHouse-Key", PASSWORD)],
            sql,
        );
        let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        json["data"].as_array().expect("data").clone()
    }
}

/// A minimal HTTP/1.1 POST, answering the body of a 200 (panics on any other status).
fn curl_free_post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("HTTP answer");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    body.to_string()
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run llm-metrics")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two generated files, the second with two bad lines (lines 1201 and 1202) after its rows.
fn inputs(dir: &Path) -> (String, String) {
    let a = dir.join("a.ndjson");
    let b = dir.join("b.ndjson");
    let a_s = a.to_string_lossy().into_owned();
    let b_s = b.to_string_lossy().into_owned();
    let out = run(
        &["gen", "--rows", "2500", "--seed", "11", "--out", &a_s],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &["gen", "--rows", "1200", "--seed", "12", "--out", &b_s],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&b)
        .expect("open b");
    f.write_all(b"{not json\n{\"event_time\":\"2024-09-02 10:00:00\",\"model_name\":\"m\",\"latency\":\"n/a\"}\n")
        .expect("append bad lines");
    (a_s, b_s)
}

const SUMS: &str = "SELECT model_name, count() AS n, sum(prompt_tokens) AS p, \
    sum(completion_tokens) AS c, sum(total_tokens) AS t, sum(success) AS s, sum(cost) AS cost, \
    sum(latency) AS lat, min(event_time) AS lo, max(event_time) AS hi \
    FROM llm_events GROUP BY model_name ORDER BY model_name";

/// Rows equal, floats within a relative 1e-9 (sums of Float32 in another order).
fn assert_same_rows(server: &[Value], local: &[Value]) {
    assert_eq!(server.len(), local.len(), "{server:?}\n{local:?}");
    for (s, l) in server.iter().zip(local) {
        let (s, l) = (s.as_object().expect("row"), l.as_object().expect("row"));
        assert_eq!(s.keys().collect::<Vec<_>>(), l.keys().collect::<Vec<_>>());
        for (k, sv) in s {
            let lv = &l[k];
            match (sv.as_f64(), lv.as_f64()) {
                (Some(x), Some(y)) if k == "cost" || k == "lat" => assert!(
                    (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    "{k}: server {x}, local {y}"
                ),
                _ => assert_eq!(sv, lv, "{k}"),
            }
        }
    }
}

#[test]
fn clickhouse_push_matches_the_local_engine_and_counts() {
    let dir = scratch("clickhouse");
    let server = Server::start(&dir);
    let (a, b) = inputs(&dir);
    let url = server.url();
    let env = [("CH_PASSWORD", PASSWORD)];
    let push = |files: &[&str]| {
        let mut args = vec![
            "push",
            "--clickhouse",
            &url,
            "--user",
            "alice",
            "--password-env",
            "CH_PASSWORD",
            "--database",
            "analytics",
            "--chunk-rows",
            "700",
        ];
        args.extend_from_slice(files);
        run(&args, &env)
    };
    let out = push(&[&a, &b]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    // 2500 + 1200 generated rows; the two appended lines are quarantined.
    assert_eq!(summary["sent"], 3700);
    assert_eq!(summary["quarantined"], 2);
    assert_eq!(
        (summary["before"].clone(), summary["after"].clone()),
        (0.into(), 3700.into())
    );
    assert!(
        stderr.contains("1200 rows sent of 1202 lines, 2 quarantined (not sent)"),
        "{stderr}"
    );
    assert!(stderr.contains("line 1201: "), "{stderr}");
    assert!(
        stderr.contains("line 1202: ") && stderr.contains("latency"),
        "{stderr}"
    );
    // Progress as chunks fill: 2500 rows (about 200 bytes a line) read 64 KiB at a time make
    // chunks of 700 to about 1030 rows, so at least two before the file's last line.
    assert!(stderr.matches(&format!("{a}: ")).count() >= 3, "{stderr}");

    // The server's table equals the local engine's over the same files.
    let local = run(&["sql", SUMS, &a, &b], &[]);
    assert!(local.status.success(), "{}", text(&local.stderr));
    let local: Value = serde_json::from_slice(&local.stdout).expect("local JSON");
    let server_rows = server.query("analytics", SUMS);
    assert!(server_rows.len() >= 3, "{server_rows:?}");
    assert_same_rows(&server_rows, local["data"].as_array().expect("data"));
    // The table was created from the datasource's schema and keys.
    let ddl = server.query(
        "analytics",
        "SELECT engine, partition_key, sorting_key FROM system.tables \
         WHERE database = 'analytics' AND name = 'llm_events'",
    );
    assert_eq!(
        ddl,
        vec![
            serde_json::json!({"engine": "MergeTree", "partition_key": "toYYYYMM(event_time)",
            "sorting_key": "event_time, model_name"})
        ]
    );

    // A second push into the existing table: the count check sees it grow by what was sent.
    let out = push(&[&b]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(
        (summary["before"].clone(), summary["after"].clone()),
        (3700.into(), 4900.into())
    );

    // A wrong password: the server's refusal, exit 1, no retry, nothing sent.
    let bad = run(
        &[
            "push",
            "--clickhouse",
            &url,
            "--user",
            "alice",
            "--password-env",
            "CH_PASSWORD",
            &a,
        ],
        &[("CH_PASSWORD", "wrong-password-3b9")],
    );
    let bad_err = text(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{bad_err}");
    assert!(
        bad_err.contains("HTTP 403") && bad_err.contains("Code: 516"),
        "{bad_err}"
    );
    assert!(
        !bad_err.contains("retrying") && !bad_err.contains("wrong-password-3b9"),
        "{bad_err}"
    );
    // An unset variable is named, and nothing is sent.
    let unset = run(
        &[
            "push",
            "--clickhouse",
            &url,
            "--password-env",
            "LLM_METRICS_NO_SUCH_VAR",
            &a,
        ],
        &[],
    );
    assert_eq!(unset.status.code(), Some(1));
    assert!(text(&unset.stderr).contains("LLM_METRICS_NO_SUCH_VAR"));
    // A password on the command line is not an option.
    let flag = run(
        &["push", "--clickhouse", &url, "--password", PASSWORD, &a],
        &[],
    );
    assert_eq!(flag.status.code(), Some(2));

    // The request log holds parameter and header names only: never the password, never a
    // credential in the URL; every request of the pushes carried the headers.
    let log = std::fs::read_to_string(&server.log).expect("request log");
    assert!(!log.contains(PASSWORD) && !log.contains("wrong-password-3b9"));
    let requests: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("log line"))
        .collect();
    assert!(requests.len() >= 10, "{log}");
    for r in &requests {
        assert_eq!(r["credentials"], true, "{r}");
        let params = r["params"].as_array().expect("params");
        assert!(!params.contains(&"password".into()) && !params.contains(&"user".into()));
    }
    for out in [&out, &bad] {
        assert!(!text(&out.stdout).contains(PASSWORD) && !text(&out.stderr).contains(PASSWORD));
    }
}

/// One request as the Tinybird stand-in saw it.
#[derive(Debug, Clone)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A Tinybird Events API stand-in: answers the first request 503 (a transient failure), then
/// 202 with the rows counted, as the Events API does; of the third request it says one row
/// went to its quarantine.
fn tinybird_stub() -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim_end().split_once(':') {
                    let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                    if k == "content-length" {
                        length = v.parse().unwrap_or(0);
                    }
                    headers.push((k, v));
                }
            }
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let body = String::from_utf8_lossy(&body).into_owned();
            let rows = body.lines().count();
            let n = {
                let mut seen = record.lock().expect("lock");
                seen.push(Seen {
                    line: line.trim_end().to_string(),
                    headers,
                    body,
                });
                seen.len()
            };
            let (status, answer) = if n == 1 {
                (
                    "503 Service Unavailable",
                    "{\"error\":\"try again\"}".to_string(),
                )
            } else if n == 3 {
                // Tinybird's own quarantine took one row of this request.
                (
                    "202 Accepted",
                    format!(
                        "{{\"successful_rows\":{},\"quarantined_rows\":1}}",
                        rows - 1
                    ),
                )
            } else {
                (
                    "202 Accepted",
                    format!("{{\"successful_rows\":{rows},\"quarantined_rows\":0}}"),
                )
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn tinybird_push_sends_ndjson_to_the_events_api_with_a_bearer_token() {
    let dir = scratch("tinybird");
    let (a, b) = inputs(&dir);
    let (port, seen) = tinybird_stub();
    let host = format!("http://127.0.0.1:{port}");
    let out = run(
        &[
            "push",
            "--tinybird",
            &host,
            "--token-env",
            "TB_TOKEN",
            "--chunk-rows",
            "1000",
            &a,
            &b,
        ],
        &[("TB_TOKEN", TOKEN)],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("HTTP 503") && stderr.contains("retrying"),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN) && !text(&out.stdout).contains(TOKEN));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(
        (summary["sent"].clone(), summary["quarantined"].clone()),
        (3700.into(), 2.into())
    );
    assert_eq!(summary["server_quarantined"], 1);
    assert!(
        stderr.contains("Tinybird quarantined 1 of the rows sent"),
        "{stderr}"
    );

    let seen = seen.lock().expect("lock").clone();
    // The first request failed and was sent again: its body equals the second's.
    assert_eq!(seen[0].body, seen[1].body);
    let mut sent = Vec::new();
    for (i, req) in seen.iter().enumerate() {
        assert_eq!(req.line, "POST /v0/events?name=llm_events HTTP/1.1");
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(header("content-type"), Some("application/x-ndjson"));
        if i > 0 {
            sent.extend(req.body.lines().map(str::to_string));
        }
    }
    // Every row once, as the canonical lines `llm-metrics convert` writes for the same files.
    let convert = run(&["convert", &a, &b], &[]);
    assert!(convert.status.success());
    let mut expected: Vec<String> = text(&convert.stdout).lines().map(str::to_string).collect();
    sent.sort();
    expected.sort();
    assert_eq!(sent.len(), 3700);
    assert_eq!(sent, expected);
    // No chunk holds more rows than asked for plus one 64 KiB read's worth.
    for req in &seen {
        assert!(
            req.body.lines().count() <= 1000 + 65536 / 100,
            "{}",
            req.body.lines().count()
        );
    }
}

#[test]
fn push_refuses_bad_command_lines() {
    for (args, needle) in [
        (vec!["push", "a.ndjson"], "one of --clickhouse"),
        (vec!["push", "--tinybird", "h", "a.ndjson"], "--token-env"),
        (
            vec!["push", "--clickhouse", "u", "--token-env", "T", "a.ndjson"],
            "does not apply",
        ),
        (
            vec![
                "push",
                "--tinybird",
                "h",
                "--token-env",
                "T",
                "--user",
                "u",
                "a",
            ],
            "does not apply",
        ),
        (vec!["push", "--clickhouse", "u"], "no input files"),
        (
            vec![
                "push",
                "--clickhouse",
                "u",
                "--datasource",
                "d",
                "--project",
                "p",
                "a",
            ],
            "not both",
        ),
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
