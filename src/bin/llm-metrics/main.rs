//! `llm-metrics`: generate, ingest and query LLM usage logs from the command line.
//!
//! ```text
//! llm-metrics gen --rows N [--seed S] [--start UNIX] [--span SECONDS] [--out FILE]
//! llm-metrics ingest [--datasource F | --project DIR [--into NAME]] FILES...
//! llm-metrics pipe NAME [--param k=v ...] [--datasource F] FILES...
//! llm-metrics sql (QUERY | --batch QUERIES) [--param k=v ...] [--datasource F] FILES...
//! llm-metrics expand PIPE [--param k=v ...]
//! llm-metrics convert [--format F] [--time MS] [--prices FILE] FILES...
//! llm-metrics push --clickhouse URL [--user U] [--password-env VAR] [--database DB] FILES...
//! llm-metrics push --tinybird HOST --token-env VAR FILES...
//! ```
//!
//! Files are streamed into the store in 64 KiB chunks; `-` reads standard input.

#[cfg(not(target_arch = "wasm32"))]
mod push;

use llm_metrics::formats::Format;
use llm_metrics::{write_to, GenConfig};
use llm_metrics::{EventStore, Params, StreamOptions};
use std::fs::File;
use std::io::{self, Read, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  llm-metrics gen --rows N [--seed S] [--start UNIX_SECONDS] [--span SECONDS] [--out FILE]
      Writes N generated events as NDJSON to FILE (default: standard output).
  llm-metrics ingest [--datasource FILE] FILES...
      Loads FILES and prints one JSON report per file.
  llm-metrics pipe NAME [--param KEY=VALUE ...] [--datasource FILE] FILES...
      Loads FILES and prints the endpoint JSON of pipe NAME.
  llm-metrics sql QUERY [--param KEY=VALUE ...] [--datasource FILE] FILES...
      Loads FILES and prints the endpoint JSON of the SQL QUERY (a template when it starts with %).
  llm-metrics sql --batch QUERIES [--datasource FILE] FILES...
      Loads FILES once, then runs each JSON line of QUERIES ({\"sql\": ...} or {\"pipe\": ...},
      with optional \"params\") and prints one line per query: its endpoint JSON (NaN and
      infinities as the strings \"nan\", \"inf\", \"-inf\", told apart from NULL) or
      {\"error\": ...}.
  llm-metrics expand PIPE [--param KEY=VALUE ...]
      Prints the SQL ClickHouse runs for PIPE (a shipped pipe's name or a .pipe file) with the
      parameters: templates expanded, earlier nodes as WITH clauses.

  llm-metrics convert [--format NAME] [--time EPOCH_MS] [--prices FILE] FILES...
      Loads FILES (vendor log formats are recognised line by line) and writes their rows as
      canonical llm_events NDJSON to standard output, for ClickHouse or Tinybird; one JSON
      report per file goes to standard error. --format reads every line as that format
      (llm_events, openai_chat, openai_responses, openai_batch, anthropic_message,
      anthropic_batch, otlp, litellm, langfuse, helicone, claude_code, ollama, gemini,
      bedrock); records without a time take --time, else the file's modification time.
      Records without a cost are priced from --prices, a genai-prices table
      (www/vendor/genai-prices.json, written by scripts/vendor.sh), else cost 0.

  llm-metrics push --clickhouse URL [--user USER] [--password-env VAR] [--database DB]
          [--datasource FILE | --project DIR] [--chunk-rows N] [--retries N] FILES...
  llm-metrics push --tinybird HOST --token-env VAR [--datasource FILE | --project DIR]
          [--chunk-rows N] [--retries N] FILES...
      Streams FILES through the decoder and sends their rows, N at a time (default 50000),
      as canonical NDJSON: to a ClickHouse server's HTTP interface (INSERT ... FORMAT
      JSONEachRow into DB, default `default`; the database and the table are created from
      the datasource when missing, and the server's row count is checked at the end) or to
      Tinybird's Events API (POST /v0/events?name=DATASOURCE). The password and the token are
      read from the environment variable VAR, never from the command line. Quarantined lines
      are reported on standard error and not sent; transient failures (network errors, 429,
      5xx other than a query error) are retried N times (default 4) with backoff. --project
      DIR takes the one .datasource file under DIR/datasources; the table is named after the
      datasource file. Prints a JSON summary.

  FILES: NDJSON files; `-` reads standard input.
  --datasource FILE: a .datasource file to use instead of the built-in llm_events.
  --project DIR: a Tinybird project folder (.datasource and .pipe files at any depth): every
      datasource and pipe that loads, named after its file; problems go to standard error.
  --into NAME: with --project, load FILES into datasource NAME (default: the first).
  --param KEY=VALUE passes VALUE as a string; KEY:=JSON passes a JSON value (number, array...).
";

/// Bytes handed to the store per `write` call.
const CHUNK: usize = 64 * 1024;

/// A parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Help,
    Gen {
        cfg: GenConfig,
        out: Option<String>,
    },
    Ingest {
        datasource: Option<String>,
        project: Option<String>,
        into: Option<String>,
        files: Vec<String>,
    },
    Pipe {
        name: String,
        params: Params,
        datasource: Option<String>,
        project: Option<String>,
        into: Option<String>,
        files: Vec<String>,
    },
    Sql {
        query: Option<String>,
        batch: Option<String>,
        params: Params,
        datasource: Option<String>,
        project: Option<String>,
        into: Option<String>,
        files: Vec<String>,
    },
    Expand {
        pipe: String,
        params: Params,
    },
    Convert {
        format: Option<Format>,
        time_ms: Option<i64>,
        prices: Option<String>,
        files: Vec<String>,
    },
    #[cfg(not(target_arch = "wasm32"))]
    Push(push::Push),
}

/// Why the command failed: a usage mistake (exit 2, usage printed) or a failure at run time
/// (exit 1).
#[derive(Debug, PartialEq)]
enum Failure {
    Usage(String),
    Run(String),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).map_err(Failure::Usage).and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("llm-metrics: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("llm-metrics: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Splits the arguments after the program name into a [`Command`].
fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("no command given".to_string());
    };
    match sub.as_str() {
        "-h" | "--help" | "help" => Ok(Command::Help),
        "gen" => parse_gen(rest),
        "ingest" => {
            let opts = Options::parse(rest, &["--datasource", "--project", "--into"])?;
            let files = opts.files()?;
            Ok(Command::Ingest {
                datasource: opts.last("--datasource"),
                project: opts.last("--project"),
                into: opts.last("--into"),
                files,
            })
        }
        "pipe" => {
            let opts = Options::parse(rest, &["--datasource", "--project", "--into", "--param"])?;
            let Some((name, files)) = opts.positional.split_first() else {
                return Err("pipe needs a pipe name".to_string());
            };
            if files.is_empty() {
                return Err("no input files (use - for standard input)".to_string());
            }
            let mut params = Params::new();
            for spec in opts.all("--param") {
                let (key, value) = parse_param(&spec)?;
                params.insert(key, value);
            }
            Ok(Command::Pipe {
                name: name.clone(),
                params,
                datasource: opts.last("--datasource"),
                project: opts.last("--project"),
                into: opts.last("--into"),
                files: files.to_vec(),
            })
        }
        "sql" => {
            let opts = Options::parse(
                rest,
                &["--datasource", "--project", "--into", "--param", "--batch"],
            )?;
            let batch = opts.last("--batch");
            let (query, files) = match (&batch, opts.positional.split_first()) {
                (Some(_), _) => (None, opts.positional.clone()),
                (None, Some((q, files))) => (Some(q.clone()), files.to_vec()),
                (None, None) => return Err("sql needs a query or --batch FILE".to_string()),
            };
            if files.is_empty() {
                return Err("no input files (use - for standard input)".to_string());
            }
            Ok(Command::Sql {
                query,
                batch,
                params: collect_params(&opts)?,
                datasource: opts.last("--datasource"),
                project: opts.last("--project"),
                into: opts.last("--into"),
                files,
            })
        }
        "expand" => {
            let opts = Options::parse(rest, &["--param"])?;
            let [pipe] = opts.positional.as_slice() else {
                return Err("expand needs one pipe name or .pipe file".to_string());
            };
            Ok(Command::Expand {
                pipe: pipe.clone(),
                params: collect_params(&opts)?,
            })
        }
        "convert" => {
            let opts = Options::parse(rest, &["--format", "--time", "--prices"])?;
            let format = match opts.last("--format") {
                None => None,
                Some(name) => Some(Format::from_name(&name).ok_or_else(|| {
                    format!(
                        "unknown format '{name}'; the formats are {}",
                        Format::ALL.map(Format::name).join(", ")
                    )
                })?),
            };
            let time_ms = match opts.last("--time") {
                None => None,
                Some(t) => Some(parse_number::<i64>("--time", &t)?),
            };
            Ok(Command::Convert {
                format,
                time_ms,
                prices: opts.last("--prices"),
                files: opts.files()?,
            })
        }
        #[cfg(not(target_arch = "wasm32"))]
        "push" => parse_push(rest),
        other => Err(format!("unknown command '{other}'")),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn parse_push(rest: &[String]) -> Result<Command, String> {
    let opts = Options::parse(
        rest,
        &[
            "--clickhouse",
            "--tinybird",
            "--user",
            "--password-env",
            "--database",
            "--token-env",
            "--datasource",
            "--project",
            "--chunk-rows",
            "--retries",
        ],
    )?;
    let only = |names: &[&str], what: &str| -> Result<(), String> {
        match names.iter().find(|n| opts.last(n).is_some()) {
            Some(n) => Err(format!("{n} does not apply to {what}")),
            None => Ok(()),
        }
    };
    let target = match (opts.last("--clickhouse"), opts.last("--tinybird")) {
        (Some(url), None) => {
            only(&["--token-env"], "--clickhouse")?;
            push::Target::ClickHouse {
                url,
                user: opts.last("--user"),
                password_env: opts.last("--password-env"),
                database: opts
                    .last("--database")
                    .unwrap_or_else(|| "default".to_string()),
            }
        }
        (None, Some(host)) => {
            only(&["--user", "--password-env", "--database"], "--tinybird")?;
            push::Target::Tinybird {
                host,
                token_env: opts
                    .last("--token-env")
                    .ok_or("--tinybird needs --token-env VAR (the token's environment variable)")?,
            }
        }
        _ => return Err("push needs one of --clickhouse URL or --tinybird HOST".to_string()),
    };
    let datasource = match (opts.last("--datasource"), opts.last("--project")) {
        (Some(_), Some(_)) => {
            return Err("push takes --datasource or --project, not both".to_string())
        }
        (Some(file), None) => Some(file),
        (None, Some(dir)) => Some(push::project_datasource(&dir)?),
        (None, None) => None,
    };
    let chunk_rows = match opts.last("--chunk-rows") {
        Some(v) => parse_number::<u64>("--chunk-rows", &v)?.max(1),
        None => push::DEFAULT_CHUNK_ROWS,
    };
    let retries = match opts.last("--retries") {
        Some(v) => parse_number::<u32>("--retries", &v)?,
        None => 4,
    };
    Ok(Command::Push(push::Push {
        target,
        datasource,
        chunk_rows,
        retries,
        files: opts.files()?,
    }))
}

fn collect_params(opts: &Options) -> Result<Params, String> {
    let mut params = Params::new();
    for spec in opts.all("--param") {
        let (key, value) = parse_param(&spec)?;
        params.insert(key, value);
    }
    Ok(params)
}

fn parse_gen(rest: &[String]) -> Result<Command, String> {
    let opts = Options::parse(rest, &["--rows", "--seed", "--start", "--span", "--out"])?;
    if let Some(extra) = opts.positional.first() {
        return Err(format!("gen takes no file arguments, got '{extra}'"));
    }
    let defaults = GenConfig::default();
    let rows = match opts.last("--rows") {
        Some(v) => parse_number::<u64>("--rows", &v)?,
        None => return Err("gen needs --rows N".to_string()),
    };
    let number = |name: &str, default: i64| -> Result<i64, String> {
        opts.last(name)
            .map_or(Ok(default), |v| parse_number::<i64>(name, &v))
    };
    let seed = match opts.last("--seed") {
        Some(v) => parse_number::<u64>("--seed", &v)?,
        None => defaults.seed,
    };
    Ok(Command::Gen {
        cfg: GenConfig {
            rows,
            seed,
            start: number("--start", defaults.start)?,
            span_seconds: number("--span", defaults.span_seconds)?,
        },
        out: opts.last("--out"),
    })
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name} expects a whole number, got '{value}'"))
}

/// Reads `KEY=VALUE` (a string) or `KEY:=JSON` (any JSON value).
fn parse_param(spec: &str) -> Result<(String, serde_json::Value), String> {
    let eq = spec
        .find('=')
        .ok_or_else(|| format!("--param expects KEY=VALUE, got '{spec}'"))?;
    let (key, value) = (&spec[..eq], &spec[eq + 1..]);
    if let Some(key) = key.strip_suffix(':') {
        if key.is_empty() {
            return Err(format!("--param has an empty key in '{spec}'"));
        }
        let json = serde_json::from_str(value)
            .map_err(|e| format!("--param {key}:= expects JSON, got '{value}': {e}"))?;
        return Ok((key.to_string(), json));
    }
    if key.is_empty() {
        return Err(format!("--param has an empty key in '{spec}'"));
    }
    Ok((
        key.to_string(),
        serde_json::Value::String(value.to_string()),
    ))
}

/// Options (`--name value` or `--name=value`) and positional arguments, in the order given.
#[derive(Debug, Default)]
struct Options {
    named: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Options {
    fn parse(args: &[String], known: &[&str]) -> Result<Options, String> {
        let mut opts = Options::default();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if arg == "--" {
                opts.positional.extend(iter.by_ref().cloned());
                break;
            }
            if arg.len() > 1 && arg.starts_with('-') {
                let (name, inline) = match arg.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (arg.as_str(), None),
                };
                if !known.contains(&name) {
                    return Err(format!("unknown option '{name}'"));
                }
                let value = match inline {
                    Some(v) => v,
                    None => iter
                        .next()
                        .cloned()
                        .ok_or_else(|| format!("{name} needs a value"))?,
                };
                opts.named.push((name.to_string(), value));
            } else {
                opts.positional.push(arg.clone());
            }
        }
        Ok(opts)
    }

    fn last(&self, name: &str) -> Option<String> {
        self.named
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.named
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn files(&self) -> Result<Vec<String>, String> {
        if self.positional.is_empty() {
            return Err("no input files (use - for standard input)".to_string());
        }
        Ok(self.positional.clone())
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Gen { cfg, out } => run_gen(&cfg, out.as_deref()),
        Command::Sql {
            query,
            batch,
            params,
            datasource,
            project,
            into,
            files,
        } => {
            let store = open_store(datasource.as_deref(), project.as_deref(), into.as_deref())?;
            run_sql(store, query, batch, &params, &files)
        }
        Command::Expand { pipe, params } => run_expand(&pipe, &params),
        #[cfg(not(target_arch = "wasm32"))]
        Command::Push(p) => {
            let summary = push::run(&p).map_err(|e| Failure::Run(format!("push: {e}")))?;
            writeln!(io::stdout().lock(), "{summary}").map_err(|e| output_error(&e))
        }
        Command::Convert {
            format,
            time_ms,
            prices,
            files,
        } => run_convert(format, time_ms, prices.as_deref(), &files),
        Command::Ingest {
            datasource,
            project,
            into,
            files,
        } => {
            let mut store = open_store(datasource.as_deref(), project.as_deref(), into.as_deref())?;
            let stdout = io::stdout();
            let mut stdout = stdout.lock();
            for file in &files {
                let report = load(&mut store, file)?;
                let line = serde_json::to_string(&report)
                    .map_err(|e| Failure::Run(format!("cannot print the report: {e}")))?;
                writeln!(stdout, "{line}").map_err(|e| output_error(&e))?;
            }
            Ok(())
        }
        Command::Pipe {
            name,
            params,
            datasource,
            project,
            into,
            files,
        } => {
            let mut store = open_store(datasource.as_deref(), project.as_deref(), into.as_deref())?;
            for file in &files {
                let report = load(&mut store, file)?;
                if report.quarantined > 0 {
                    eprintln!(
                        "llm-metrics: {file}: {} of {} lines quarantined",
                        report.quarantined, report.lines
                    );
                }
            }
            let endpoint = store
                .pipe(&name, &params)
                .map_err(|e| Failure::Run(e.to_string()))?;
            let mut stdout = io::stdout().lock();
            writeln!(stdout, "{}", endpoint.to_json()).map_err(|e| output_error(&e))
        }
    }
}

/// Runs one query, or each query of a batch file, over the loaded files.
fn run_sql(
    mut store: EventStore,
    query: Option<String>,
    batch: Option<String>,
    params: &Params,
    files: &[String],
) -> Result<(), Failure> {
    for file in files {
        load(&mut store, file)?;
    }
    let mut stdout = io::stdout().lock();
    let Some(path) = batch else {
        let endpoint = store
            .sql(query.as_deref().unwrap_or_default(), params)
            .map_err(|e| Failure::Run(e.to_string()))?;
        return writeln!(stdout, "{}", endpoint.to_json()).map_err(|e| output_error(&e));
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::Run(format!("cannot read {path}: {e}")))?;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let spec: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Failure::Run(format!("{path} line {}: {e}", i + 1)))?;
        let params = spec
            .get("params")
            .and_then(|p| p.as_object())
            .cloned()
            .unwrap_or_default();
        let result = match (spec.get("sql"), spec.get("pipe")) {
            (Some(serde_json::Value::String(q)), _) => store.sql(q, &params),
            (_, Some(serde_json::Value::String(p))) => store.pipe(p, &params),
            _ => {
                return Err(Failure::Run(format!(
                    "{path} line {}: expected {{\"sql\": ...}} or {{\"pipe\": ...}}",
                    i + 1
                )))
            }
        };
        let out = match result {
            Ok(endpoint) => endpoint.to_json_quoting_denormals(),
            Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
        };
        writeln!(stdout, "{out}").map_err(|e| output_error(&e))?;
    }
    Ok(())
}

/// Prints the SQL ClickHouse runs for a shipped pipe (by name) or a `.pipe` file.
fn run_expand(pipe: &str, params: &Params) -> Result<(), Failure> {
    let parsed = match llm_metrics::SHIPPED_PIPES.iter().find(|(n, _)| *n == pipe) {
        Some((name, text)) => llm_metrics::parse_pipe(Some(name), text),
        None => {
            let text = std::fs::read_to_string(pipe).map_err(|e| {
                Failure::Run(format!(
                    "no shipped pipe '{pipe}' and cannot read it as a file: {e}"
                ))
            })?;
            let stem = std::path::Path::new(pipe)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(pipe);
            llm_metrics::parse_pipe(Some(stem), &text)
        }
    }
    .map_err(|e| Failure::Run(format!("{pipe}: {e}")))?;
    let columns: Vec<String> = llm_metrics::Datasource::llm_events()
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let sql = llm_metrics::expand_pipe(&parsed, params, &columns)
        .map_err(|e| Failure::Run(e.to_string()))?;
    writeln!(io::stdout().lock(), "{sql}").map_err(|e| output_error(&e))
}

fn run_gen(cfg: &GenConfig, out: Option<&str>) -> Result<(), Failure> {
    let written = match out {
        None | Some("-") => write_to(cfg, io::stdout().lock()),
        Some(path) => {
            let file = File::create(path)
                .map_err(|e| Failure::Run(format!("cannot create {path}: {e}")))?;
            write_to(cfg, file)
        }
    };
    match written {
        Ok(()) => Ok(()),
        // A reader that stops early (`llm-metrics gen ... | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(output_error(&e)),
    }
}

/// The store the files go into: the built-in `llm_events`, a `.datasource` file, or a project
/// folder (whose problems are printed to standard error, one `FILE:LINE: message` each; the
/// files then go into the datasource `into`, or the project's first).
fn open_store(
    datasource: Option<&str>,
    project: Option<&str>,
    into: Option<&str>,
) -> Result<EventStore, Failure> {
    if let Some(dir) = project {
        if datasource.is_some() {
            return Err(Failure::Usage(
                "--project and --datasource cannot be used together".to_string(),
            ));
        }
        let files = llm_metrics::read_project_dir(std::path::Path::new(dir))
            .map_err(|e| Failure::Run(e.to_string()))?;
        let mut store = EventStore::from_project(&files, llm_metrics::Options::default());
        for e in store.load_errors() {
            eprintln!("llm-metrics: {dir}/{}:{}: {}", e.file, e.line, e.message);
        }
        if let Some(name) = into {
            store
                .begin_into("stream-1", name)
                .map_err(|e| Failure::Run(e.to_string()))?;
        }
        return Ok(store);
    }
    if into.is_some() {
        return Err(Failure::Usage("--into needs --project".to_string()));
    }
    match datasource {
        None => Ok(EventStore::new()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Run(format!("cannot read {path}: {e}")))?;
            EventStore::from_datasource(&text).map_err(|e| Failure::Run(format!("{path}: {e}")))
        }
    }
}

/// Loads `files` into one `llm_events` store and writes its rows as canonical NDJSON.
fn run_convert(
    format: Option<Format>,
    time_ms: Option<i64>,
    prices: Option<&str>,
    files: &[String],
) -> Result<(), Failure> {
    let mut store = EventStore::new();
    if let Some(path) = prices {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Run(format!("cannot read {path}: {e}")))?;
        let table = llm_metrics::formats::prices::PriceTable::from_json(&text)
            .map_err(|e| Failure::Run(format!("{path}: {e}")))?;
        store.set_prices(Some(table));
    }
    for file in files {
        let file_time = || -> Option<i64> {
            let modified = std::fs::metadata(file).ok()?.modified().ok()?;
            let d = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
            i64::try_from(d.as_millis()).ok()
        };
        let options = StreamOptions {
            format,
            time_ms: time_ms.or_else(|| if file == "-" { None } else { file_time() }),
        };
        let report = load_with(&mut store, file, &options)?;
        let line = serde_json::to_string(&report)
            .map_err(|e| Failure::Run(format!("cannot print the report: {e}")))?;
        eprintln!("{line}");
    }
    let endpoint = store
        .sql(
            "SELECT * FROM llm_events ORDER BY event_time",
            &Params::new(),
        )
        .map_err(|e| Failure::Run(e.to_string()))?;
    let mut stdout = io::BufWriter::new(io::stdout().lock());
    let mut line = String::new();
    for row in &endpoint.data {
        line.clear();
        line.push('{');
        for (i, (meta, value)) in endpoint.meta.iter().zip(row).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&serde_json::Value::from(meta.name.as_str()).to_string());
            line.push(':');
            value.write_json(&mut line);
        }
        line.push('}');
        writeln!(stdout, "{line}").map_err(|e| output_error(&e))?;
    }
    stdout.flush().map_err(|e| output_error(&e))
}

/// Streams one file (or standard input for `-`) into `store` and returns its report.
fn load(store: &mut EventStore, file: &str) -> Result<llm_metrics::Report, Failure> {
    load_with(store, file, &StreamOptions::default())
}

/// [`load`] with the stream's format and time.
fn load_with(
    store: &mut EventStore,
    file: &str,
    options: &StreamOptions,
) -> Result<llm_metrics::Report, Failure> {
    let fail = |e: llm_metrics::Error| Failure::Run(format!("{file}: {e}"));
    store.begin_with(file, options).map_err(fail)?;
    let mut buf = vec![0u8; CHUNK];
    let mut feed = |reader: &mut dyn Read| -> Result<(), Failure> {
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::Run(format!("cannot read {file}: {e}"))),
            };
            store.write(&buf[..n]).map_err(fail)?;
        }
    };
    if file == "-" {
        feed(&mut io::stdin().lock())?;
    } else {
        let mut f =
            File::open(file).map_err(|e| Failure::Run(format!("cannot open {file}: {e}")))?;
        feed(&mut f)?;
    }
    store.end().map_err(fail)
}

fn output_error(e: &io::Error) -> Failure {
    Failure::Run(format!("cannot write the output: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn gen_reads_rows_seed_window_and_output() {
        let cmd = parse_args(&args(
            "gen --rows 5 --seed=9 --start 100 --span 60 --out x.ndjson",
        ));
        assert_eq!(
            cmd,
            Ok(Command::Gen {
                cfg: GenConfig {
                    rows: 5,
                    seed: 9,
                    start: 100,
                    span_seconds: 60
                },
                out: Some("x.ndjson".to_string()),
            })
        );
        let Ok(Command::Gen { cfg, out }) = parse_args(&args("gen --rows 3")) else {
            panic!("gen --rows 3 did not parse");
        };
        assert_eq!((cfg.rows, out), (3, None));
        assert_eq!(cfg.seed, GenConfig::default().seed);
    }

    #[test]
    fn gen_rejects_missing_or_bad_numbers() {
        for bad in [
            "gen",
            "gen --rows",
            "gen --rows -3",
            "gen --rows 1e6",
            "gen --rows 5 --seed x",
            "gen --rows 5 extra",
            "gen --rows 5 --colour red",
        ] {
            assert!(parse_args(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn ingest_and_pipe_take_files_options_anywhere() {
        assert_eq!(
            parse_args(&args(
                "ingest a.ndjson --datasource d.datasource - b.ndjson"
            )),
            Ok(Command::Ingest {
                datasource: Some("d.datasource".to_string()),
                project: None,
                into: None,
                files: args("a.ndjson - b.ndjson"),
            })
        );
        let Ok(Command::Pipe {
            name,
            params,
            files,
            datasource,
            ..
        }) = parse_args(&args(
            "pipe llm_performance --param model=gpt-4o a.ndjson --param limit:=10 -- --odd",
        ))
        else {
            panic!("pipe did not parse");
        };
        assert_eq!(name, "llm_performance");
        assert_eq!(files, args("a.ndjson --odd"));
        assert_eq!(datasource, None);
        assert_eq!(params.get("model"), Some(&serde_json::json!("gpt-4o")));
        assert_eq!(params.get("limit"), Some(&serde_json::json!(10)));
    }

    #[test]
    fn project_options_parse() {
        let Ok(Command::Pipe {
            project,
            into,
            datasource,
            ..
        }) = parse_args(&args("pipe p --project proj --into calls a.ndjson"))
        else {
            panic!("pipe --project did not parse");
        };
        assert_eq!(project.as_deref(), Some("proj"));
        assert_eq!(into.as_deref(), Some("calls"));
        assert_eq!(datasource, None);
        assert!(matches!(
            open_store(None, None, Some("calls")),
            Err(Failure::Usage(m)) if m.contains("--into needs --project")
        ));
        assert!(matches!(
            open_store(Some("d.datasource"), Some("proj"), None),
            Err(Failure::Usage(m)) if m.contains("cannot be used together")
        ));
    }

    #[test]
    fn usage_errors_name_the_problem() {
        for (line, needle) in [
            ("", "no command"),
            ("frobnicate", "unknown command"),
            ("ingest", "no input files"),
            ("pipe", "pipe name"),
            ("pipe llm_performance", "no input files"),
            ("pipe p --param novalue f", "KEY=VALUE"),
            ("pipe p --param =x f", "empty key"),
            ("pipe p --param k:=[1, f", "expects JSON"),
            ("ingest --datasource", "needs a value"),
        ] {
            match parse_args(&args(line)) {
                Err(message) => assert!(message.contains(needle), "{line}: {message}"),
                Ok(cmd) => panic!("{line} parsed as {cmd:?}"),
            }
        }
        assert_eq!(parse_args(&args("--help")), Ok(Command::Help));
    }

    #[test]
    fn sql_and_expand_take_queries_batches_and_parameters() {
        assert_eq!(
            parse_args(&args("sql SELECT_1 a.ndjson --param m=x")),
            Ok(Command::Sql {
                query: Some("SELECT_1".to_string()),
                batch: None,
                params: [("m".to_string(), serde_json::json!("x"))]
                    .into_iter()
                    .collect(),
                datasource: None,
                project: None,
                into: None,
                files: args("a.ndjson"),
            })
        );
        let Ok(Command::Sql {
            query,
            batch,
            files,
            ..
        }) = parse_args(&args("sql --batch q.jsonl a.ndjson b.ndjson"))
        else {
            panic!("sql --batch did not parse");
        };
        assert_eq!((query, batch), (None, Some("q.jsonl".to_string())));
        assert_eq!(files, args("a.ndjson b.ndjson"));
        assert_eq!(
            parse_args(&args("expand llm_kpis --param limit:=5")),
            Ok(Command::Expand {
                pipe: "llm_kpis".to_string(),
                params: [("limit".to_string(), serde_json::json!(5))]
                    .into_iter()
                    .collect(),
            })
        );
        for (line, needle) in [
            ("sql", "query or --batch"),
            ("sql SELECT_1", "no input files"),
            ("expand", "one pipe"),
            ("expand a b", "one pipe"),
        ] {
            match parse_args(&args(line)) {
                Err(message) => assert!(message.contains(needle), "{line}: {message}"),
                Ok(cmd) => panic!("{line} parsed as {cmd:?}"),
            }
        }
        assert!(run_expand("no_such_pipe", &Params::new()).is_err());
    }

    #[test]
    fn params_keep_equals_signs_in_values() {
        assert_eq!(
            parse_param("filter=a=b"),
            Ok(("filter".to_string(), serde_json::json!("a=b")))
        );
        assert_eq!(
            parse_param("models:=[\"a\",\"b\"]"),
            Ok(("models".to_string(), serde_json::json!(["a", "b"])))
        );
    }
}
