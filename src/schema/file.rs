//! The whole `.datasource` grammar Tinybird reads, into a [`DatasourceFile`] description.
//!
//! The file is read as Tinybird's own parser reads it: one command a line (commands in any
//! letter case, values quoted or not, `#` starting a comment), and `COMMAND >` opening a block
//! that runs until the next line starting (unindented) with a known command, so unindented SQL
//! lines stay inside a `FORWARD_QUERY >` block. The `SCHEMA` block holds columns as
//! `name Type [DEFAULT expr] [CODEC(…)] [`json:$.path`]`, separated by commas, with `--`
//! comments. Whether the store can hold what the file describes is decided later, by
//! [`super::Datasource::from_file`].

use super::types::TypeDesc;
use crate::error::{Error, ErrorKind, Result};

/// Longest `.datasource` text read, in bytes.
pub const MAX_DATASOURCE_BYTES: usize = 4 << 20;

/// One column of a `SCHEMA` block as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSpec {
    /// Column name (backticks removed).
    pub name: String,
    /// The parsed type.
    pub ty: TypeDesc,
    /// The type as written, spaces trimmed.
    pub type_text: String,
    /// The `DEFAULT` expression as written, if any.
    pub default: Option<String>,
    /// The `CODEC(…)` argument list as written, if any.
    pub codec: Option<String>,
    /// The JSON path as written after `json:` (`$.a.b`, `$.items[:]`), if any.
    pub jsonpath: Option<String>,
    /// 1-based line of the file where the column starts.
    pub line: usize,
}

/// One `ENGINE_*` setting: `ENGINE_SORTING_KEY timestamp, model` is (`sorting_key`, `timestamp, model`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSetting {
    /// The setting's name after `ENGINE_`, lower case.
    pub key: String,
    /// Its value, outer quotes removed.
    pub value: String,
    /// 1-based line of the file.
    pub line: usize,
}

/// One line of an `INDEXES` block: `name expr TYPE kind [GRANULARITY n]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name.
    pub name: String,
    /// The indexed expression.
    pub expr: String,
    /// The index type with its arguments: `bloom_filter(0.01)`.
    pub kind: String,
    /// `GRANULARITY`, if given.
    pub granularity: Option<u64>,
}

/// A `TOKEN name READ|APPEND|CREATE` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// The token's name.
    pub name: String,
    /// `READ`, `APPEND` or `CREATE`.
    pub permission: String,
}

/// Something the file says that is read but has no effect in this engine (a connector, a
/// token, a forward query), with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based line of the file.
    pub line: usize,
    /// What was read and why it has no effect.
    pub message: String,
}

/// Everything a `.datasource` file declares.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasourceFile {
    /// The `DESCRIPTION`, common indentation removed.
    pub description: String,
    /// Columns in schema order.
    pub columns: Vec<ColumnSpec>,
    /// 1-based line of `SCHEMA >`.
    pub schema_line: usize,
    /// The `ENGINE` value and its line, if given.
    pub engine: Option<(String, usize)>,
    /// `ENGINE_*` settings in file order.
    pub engine_settings: Vec<EngineSetting>,
    /// The `INDEXES` block.
    pub indexes: Vec<IndexSpec>,
    /// `TOKEN` lines.
    pub tokens: Vec<TokenSpec>,
    /// Filtering tags from `TAGS` (entries without `=`).
    pub tags: Vec<String>,
    /// The `FORWARD_QUERY` block: SQL Tinybird runs to migrate rows to a new schema.
    pub forward_query: Option<String>,
    /// What is read but has no effect here.
    pub notes: Vec<Note>,
    /// The line of the first `KAFKA_*` setting: the datasource reads a Kafka topic, and has
    /// Kafka's meta columns (`__timestamp`, `__offset`, …) besides its schema.
    pub kafka_line: Option<usize>,
    /// The columns a connector adds to the schema (Kafka's `__timestamp`, …, DynamoDB's
    /// `_timestamp`, …), name and type, leaving out those the schema declares itself.
    pub connector_columns: Vec<(&'static str, &'static str)>,
    /// `KAFKA_STORE_HEADERS` is true: a Kafka datasource also has `__headers`.
    kafka_headers: bool,
    /// The line of `IMPORT_SERVICE 'dynamodb'`: the datasource mirrors a DynamoDB table.
    dynamodb_line: Option<usize>,
}

impl DatasourceFile {
    /// The value of `ENGINE_<key>` (`key` in lower case), if set.
    pub fn engine_setting(&self, key: &str) -> Option<&EngineSetting> {
        self.engine_settings.iter().rev().find(|s| s.key == key)
    }
}

pub(super) fn err(line: usize, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Datasource {
        line,
        message: message.into(),
    })
}

/// `ENGINE_*` settings Tinybird accepts (its MergeTree-family engine parameters and options).
const ENGINE_PARAMS: &[&str] = &[
    "partition_key",
    "sorting_key",
    "primary_key",
    "sampling_key",
    "ttl",
    "settings",
    "ver",
    "is_deleted",
    "columns",
    "sign",
    "version",
    "join_strictness",
    "join_type",
    "key_columns",
];

/// Connector and workspace commands: read, reported as notes, not run.
const IGNORED: &[&str] = &[
    "kafka_connection_name",
    "kafka_topic",
    "kafka_group_id",
    "kafka_auto_offset_reset",
    "kafka_store_raw_value",
    "kafka_store_headers",
    "kafka_key_format",
    "kafka_value_format",
    "kafka_target_partitions",
    "import_connection_name",
    "import_schedule",
    "import_bucket_uri",
    "import_format",
    "import_from_timestamp",
    "import_service",
    "import_external_datasource",
    "import_query",
    "import_table_arn",
    "import_export_bucket",
    "pg_connection_name",
    "pg_table",
    "export_service",
    "backfill",
    "version",
];

/// Commands that may open a `>` block.
const BLOCKS: &[&str] = &[
    "description",
    "schema",
    "indexes",
    "forward_query",
    "shared_with",
];

/// Prefixes of connector settings (`KAFKA_*`, `IMPORT_*`, `S3_*`, `GCS_*`, …): every such
/// command is read and noted, whatever its suffix, as new connector options keep appearing.
const IGNORED_PREFIXES: &[&str] = &["kafka_", "import_", "s3_", "gcs_", "pg_", "export_"];

/// True for a connector or workspace command that is read and noted, not run.
fn is_ignored(cmd: &str) -> bool {
    IGNORED.contains(&cmd)
        || IGNORED_PREFIXES
            .iter()
            .any(|p| cmd.len() > p.len() && cmd.starts_with(p))
}

/// True for a `--` comment line's first word.
fn is_comment(word: &str) -> bool {
    word.starts_with("--")
}

fn is_command(cmd: &str) -> bool {
    let c = cmd.to_ascii_lowercase();
    BLOCKS.contains(&c.as_str())
        || is_ignored(&c)
        || matches!(
            c.as_str(),
            "token" | "engine" | "tags" | "include" | "source" | "partition_key" | "sorting_key"
        )
        || matches!(c.as_str(), "primary_key" | "sampling_key" | "ttl")
        || c.strip_prefix("engine_")
            .is_some_and(|k| ENGINE_PARAMS.contains(&k))
}

/// The lines of a `CMD >` block that starts at `lines[start]`: every line up to the next one
/// that starts unindented with a word `is_command` accepts (blank lines and lines without a
/// word become empty, keeping their place). Returns the block and the index where it ends.
pub(crate) fn block_lines<'t>(
    lines: &[&'t str],
    start: usize,
    is_command: fn(&str) -> bool,
) -> (Vec<&'t str>, usize) {
    let mut end = start;
    let mut body: Vec<&str> = Vec::new();
    while end < lines.len() {
        let l = lines[end];
        match words(l, end + 1) {
            Ok(w) if w.is_empty() => body.push(""),
            Ok(w) if !l.starts_with([' ', '\t']) && is_command(&w[0]) => break,
            _ => body.push(l),
        }
        end += 1;
    }
    (body, end)
}

/// Splits a command line into words as Tinybird does (shell-like, without POSIX unquoting): a
/// word starting with a quote runs to the matching quote, `#` outside quotes ends the line.
pub(crate) fn words(line: &str, lineno: usize) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        if c == '"' || c == '\'' {
            chars.next();
            let mut end = None;
            for (j, d) in chars.by_ref() {
                if d == c {
                    end = Some(j + d.len_utf8());
                    break;
                }
            }
            let end = end.ok_or_else(|| err(lineno, "unclosed quote"))?;
            out.push(line[i..end].to_string());
            continue;
        }
        let start = i;
        let mut end = line.len();
        let mut comment = false;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_whitespace() {
                end = j;
                break;
            }
            if d == '#' {
                end = j;
                comment = true;
                break;
            }
            chars.next();
        }
        out.push(line[start..end].to_string());
        if comment {
            break;
        }
    }
    Ok(out)
}

/// Removes one pair of outer quotes, as Tinybird does.
pub(crate) fn unquote(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && matches!(b[0], b'"' | b'\'') && matches!(b[b.len() - 1], b'"' | b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Removes the indentation common to the non-blank lines and trailing whitespace.
pub(crate) fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = lines
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                l.get(indent..).unwrap_or(l).trim_end()
            }
        })
        .collect();
    text.join("\n").trim_matches('\n').trim_end().to_string()
}

/// Parses the text of a `.datasource` file into a [`DatasourceFile`].
///
/// Reads every command of Tinybird's datasource grammar. Errors name the 1-based line.
///
/// ```
/// use llm_metrics::parse_datasource_file;
/// let f = parse_datasource_file(
///     "SCHEMA >\n    `turns` Array(Map(String, String)) `json:$.turns[:]` DEFAULT [],\n    `who` String `json:$.user` DEFAULT 'unknown'\n\nENGINE MergeTree\nENGINE_SORTING_KEY who, turns\n",
/// )?;
/// assert_eq!(f.columns[0].ty.to_string(), "Array(Map(String, String))");
/// assert_eq!(f.columns[1].default.as_deref(), Some("'unknown'"));
/// assert_eq!(f.engine_setting("sorting_key").map(|s| s.value.as_str()), Some("who, turns"));
/// # Ok::<(), llm_metrics::Error>(())
/// ```
pub fn parse_datasource_file(text: &str) -> Result<DatasourceFile> {
    if text.len() > MAX_DATASOURCE_BYTES {
        return Err(err(
            1,
            format!("the file is longer than {MAX_DATASOURCE_BYTES} bytes"),
        ));
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut f = DatasourceFile {
        description: String::new(),
        columns: Vec::new(),
        schema_line: 0,
        engine: None,
        engine_settings: Vec::new(),
        indexes: Vec::new(),
        tokens: Vec::new(),
        tags: Vec::new(),
        forward_query: None,
        notes: Vec::new(),
        kafka_line: None,
        connector_columns: Vec::new(),
        kafka_headers: false,
        dynamodb_line: None,
    };
    let mut kafka_line = None;
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let w = words(lines[i], lineno)?;
        let Some(cmd_word) = w.first() else {
            i += 1;
            continue;
        };
        let cmd = cmd_word.to_ascii_lowercase();
        if cmd.starts_with("kafka_") && kafka_line.is_none() {
            kafka_line = Some(lineno);
        }
        if is_comment(&cmd) {
            // A `--` comment line between commands, as in SQL.
            i += 1;
            continue;
        }
        if !is_command(&cmd) {
            return Err(err(
                lineno,
                format!(
                    "{} is not a valid option in datasource files",
                    cmd_word.to_ascii_uppercase()
                ),
            ));
        }
        if w.get(1).map(String::as_str) == Some(">") {
            // A block: every following line up to the next unindented command line. Lines
            // without a word (blank, or only a `#` comment) are left out, as Tinybird does;
            // they keep their place so that errors name the right line.
            let start = i + 1;
            let (body, end) = block_lines(&lines, start, is_command);
            block(&mut f, &cmd, lineno, &body)?;
            i = end;
            continue;
        }
        let value = unquote(w[1..].join(" ").trim()).to_string();
        command(&mut f, &cmd, lineno, &w[1..], value)?;
        i += 1;
    }
    if f.schema_line == 0 {
        return Err(err(lines.len().max(1), "no SCHEMA block"));
    }
    for c in f.columns.iter().filter(|c| c.ty == TypeDesc::Json) {
        f.notes.push(Note {
            line: c.line,
            message: format!(
                "column '{}' (JSON) is read but not stored: the table is loaded without it, and a query naming it fails",
                c.name
            ),
        });
    }
    f.kafka_line = kafka_line;
    if let Some(line) = kafka_line {
        let headers: &[(&str, &str)] = if f.kafka_headers {
            KAFKA_HEADERS_COLUMN
        } else {
            &[]
        };
        let columns: Vec<_> = KAFKA_COLUMNS.iter().chain(headers).copied().collect();
        note_connector_columns(&mut f, line, "Kafka", &columns, "__timestamp");
    }
    if let Some(line) = f.dynamodb_line {
        note_connector_columns(&mut f, line, "DynamoDB", DYNAMODB_COLUMNS, "_timestamp");
    }
    Ok(f)
}

/// The columns Tinybird adds to every Kafka datasource, with their types.
pub(crate) const KAFKA_COLUMNS: &[(&str, &str)] = &[
    ("__value", "String"),
    ("__topic", "LowCardinality(String)"),
    ("__partition", "Int16"),
    ("__offset", "Int64"),
    ("__timestamp", "DateTime"),
    ("__key", "String"),
];

/// The column a Kafka datasource has with `KAFKA_STORE_HEADERS 'True'`: the message's headers.
const KAFKA_HEADERS_COLUMN: &[(&str, &str)] = &[("__headers", "Map(String, String)")];

/// The columns Tinybird adds to a DynamoDB datasource (`IMPORT_SERVICE 'dynamodb'`): the item
/// as JSON, the item before the change, the change's time, its kind and whether it deletes.
const DYNAMODB_COLUMNS: &[(&str, &str)] = &[
    ("_record", "String"),
    ("_old_record", "Nullable(String)"),
    ("_timestamp", "DateTime64(3)"),
    ("_event_name", "LowCardinality(String)"),
    ("_is_deleted", "UInt8"),
];

/// Adds the meta columns of `connector` the schema does not declare to
/// [`DatasourceFile::connector_columns`], and notes them at `line`.
fn note_connector_columns(
    f: &mut DatasourceFile,
    line: usize,
    connector: &str,
    columns: &[(&'static str, &'static str)],
    time: &str,
) {
    let added: Vec<(&'static str, &'static str)> = columns
        .iter()
        .filter(|(name, _)| {
            !f.columns.iter().any(|c| c.name == *name)
                && !f.connector_columns.iter().any(|(n, _)| n == name)
        })
        .copied()
        .collect();
    if added.is_empty() {
        return;
    }
    let names: Vec<&str> = added.iter().map(|(name, _)| *name).collect();
    let default = if names.contains(&time) {
        format!(" ({time} defaults to the time of writing)")
    } else {
        String::new()
    };
    f.notes.push(Note {
        line,
        message: format!(
            "{connector} meta columns {} added, read from rows' fields of the same name{default}",
            names.join(", ")
        ),
    });
    f.connector_columns.extend(added);
}

fn block(f: &mut DatasourceFile, cmd: &str, line: usize, body: &[&str]) -> Result<()> {
    match cmd {
        "description" => f.description = dedent(body),
        "schema" => {
            f.schema_line = line;
            f.columns = parse_schema(body, line + 1)?;
        }
        "indexes" => {
            for (k, l) in body.iter().enumerate() {
                if let Some(ix) = parse_index(l, line + 1 + k)? {
                    f.indexes.push(ix);
                }
            }
        }
        "forward_query" => {
            let sql = dedent(body);
            if sql.is_empty() {
                return Err(err(line, "FORWARD_QUERY is empty"));
            }
            f.forward_query = Some(sql);
            f.notes.push(Note {
                line,
                message: "FORWARD_QUERY is read but not run: rows are stored as they arrive"
                    .to_string(),
            });
        }
        "shared_with" => f.notes.push(Note {
            line,
            message: "SHARED_WITH is read but has no effect in a single store".to_string(),
        }),
        c if c.starts_with("engine_") => {
            let text: Vec<&str> = body
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            let value = unquote(text.join("\n").trim()).to_string();
            engine_setting(f, c, line, value);
        }
        _ => {
            return Err(err(
                line,
                format!(
                    "{} does not support multiline arguments",
                    cmd.to_ascii_uppercase()
                ),
            ))
        }
    }
    Ok(())
}

fn engine_setting(f: &mut DatasourceFile, cmd: &str, line: usize, value: String) {
    let key = cmd.trim_start_matches("engine_").to_string();
    if key == "ttl" && value.is_empty() {
        return;
    }
    f.engine_settings.push(EngineSetting { key, value, line });
}

fn command(
    f: &mut DatasourceFile,
    cmd: &str,
    line: usize,
    args: &[String],
    value: String,
) -> Result<()> {
    match cmd {
        "description" => f.description = value,
        "engine" => f.engine = Some((value, line)),
        "partition_key" | "sorting_key" | "primary_key" | "sampling_key" | "ttl" => {
            engine_setting(f, &format!("engine_{cmd}"), line, value)
        }
        c if c.starts_with("engine_") => engine_setting(f, c, line, value),
        "token" => {
            if args.len() != 2 {
                return Err(err(
                    line,
                    "TOKEN takes two values: the token's name and READ, APPEND or CREATE",
                ));
            }
            let permission = args[1].to_ascii_uppercase();
            if !matches!(permission.as_str(), "READ" | "APPEND" | "CREATE") {
                return Err(err(
                    line,
                    format!(
                        "invalid permission: {}; only READ, APPEND and CREATE are",
                        args[1]
                    ),
                ));
            }
            f.tokens.push(TokenSpec {
                name: unquote(&args[0]).to_string(),
                permission,
            });
            f.notes.push(Note {
                line,
                message: "TOKEN is read but not used: the store has no access control".to_string(),
            });
        }
        "tags" => {
            for t in value.split(',') {
                let t = t.trim();
                if !t.contains('=') && !t.is_empty() {
                    f.tags.push(t.to_string());
                }
            }
        }
        "include" => f.notes.push(Note {
            line,
            message: format!(
                "INCLUDE {value} is read but not resolved: its settings are not applied"
            ),
        }),
        "source" => return Err(err(line, "SOURCE has been deprecated")),
        "schema" | "indexes" | "forward_query" | "shared_with" => {
            return Err(err(
                line,
                format!(
                    "{} needs a block: '{} >'",
                    cmd.to_ascii_uppercase(),
                    cmd.to_ascii_uppercase()
                ),
            ))
        }
        c if is_ignored(c) => {
            if c == "kafka_store_headers" && value.eq_ignore_ascii_case("true") {
                f.kafka_headers = true;
            }
            if c == "import_service" && value.eq_ignore_ascii_case("dynamodb") {
                f.dynamodb_line = Some(line);
            }
            f.notes.push(Note {
                line,
                message: format!(
                    "{} is read but not run in a browser",
                    c.to_ascii_uppercase()
                ),
            })
        }
        _ => {
            return Err(err(
                line,
                format!(
                    "{} is not a valid option in datasource files",
                    cmd.to_ascii_uppercase()
                ),
            ))
        }
    }
    Ok(())
}

/// Parses one `INDEXES` line; `None` for a blank one.
fn parse_index(raw: &str, line: usize) -> Result<Option<IndexSpec>> {
    let usage = "invalid INDEX syntax; usage: [INDEX] name expr TYPE type GRANULARITY granularity";
    let mut s = raw.trim().trim_end_matches(',').trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = s.strip_prefix("INDEX") {
        if rest.starts_with(char::is_whitespace) {
            s = rest.trim_start();
        }
    }
    if s.matches("TYPE").count() != 1 {
        return Err(err(line, usage));
    }
    let name_end = s
        .find(char::is_whitespace)
        .ok_or_else(|| err(line, usage))?;
    let name = &s[..name_end];
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(err(line, usage));
    }
    let rest = &s[name_end..];
    let type_at = rest.find(" TYPE ").ok_or_else(|| err(line, usage))?;
    let expr = rest[..type_at].trim();
    if expr.is_empty() {
        return Err(err(line, usage));
    }
    let after = rest[type_at + 6..].trim();
    let (kind, granularity) = match after.find(" GRANULARITY ") {
        Some(g) => {
            let n = after[g + 13..]
                .trim()
                .parse::<u64>()
                .map_err(|_| err(line, usage))?;
            (after[..g].trim(), Some(n))
        }
        None => (after, None),
    };
    if kind.is_empty() || kind.contains(char::is_whitespace) && !kind.contains('(') {
        return Err(err(line, usage));
    }
    Ok(Some(IndexSpec {
        name: name.to_string(),
        expr: expr.to_string(),
        kind: kind.to_string(),
        granularity,
    }))
}

/// Removes a `--` comment from a schema line (not inside quotes, backticks or a json path).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == b'-' && b.get(i + 1) == Some(&b'-') {
                    return line[..i].trim_end();
                }
                if matches!(c, b'\'' | b'"' | b'`') {
                    quote = Some(c);
                }
            }
        }
        i += 1;
    }
    line.trim_end()
}

/// Keywords that end a column's type or default expression.
const STOPS: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "MATERIALIZED",
    "ALIAS",
    "CODEC",
    "TTL",
    "EPHEMERAL",
    "COMMENT",
];

/// The SCHEMA block as one text, with the file line of every byte.
struct Schema {
    text: String,
    lines: Vec<usize>,
}

impl Schema {
    fn line_at(&self, i: usize) -> usize {
        self.lines
            .get(i)
            .or(self.lines.last())
            .copied()
            .unwrap_or(1)
    }
}

/// Parses the columns of a SCHEMA block whose first line is file line `first`.
fn parse_schema(body: &[&str], first: usize) -> Result<Vec<ColumnSpec>> {
    let mut s = Schema {
        text: String::new(),
        lines: Vec::new(),
    };
    for (k, l) in body.iter().enumerate() {
        let l = strip_comment(l);
        s.text.push_str(l);
        s.text.push('\n');
        s.lines
            .extend(std::iter::repeat(first + k).take(l.len() + 1));
    }
    let b = s.text.as_bytes();
    let mut i = 0;
    let mut cols: Vec<ColumnSpec> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let line = s.line_at(i);
        // The name.
        let name = if b[i] == b'`' {
            let close = s.text[i + 1..]
                .find(['`', '\n'])
                .filter(|&c| b[i + 1 + c] == b'`')
                .ok_or_else(|| err(line, "expected a closing backtick after the column name"))?;
            let n = s.text[i + 1..i + 1 + close].to_string();
            i += close + 2;
            n
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b',' {
                i += 1;
            }
            let n = &s.text[start..i];
            if let Some(c) = n
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
            {
                return Err(err(
                    line,
                    format!("column name '{n}' contains the character '{c}' (use backticks)"),
                ));
            }
            if n == "INDEX" {
                return Err(err(
                    line,
                    "indexes are not allowed in SCHEMA; use an INDEXES block",
                ));
            }
            n.to_string()
        };
        if name.is_empty() {
            return Err(err(line, "a column needs a name"));
        }
        // The type: up to a keyword, a json path or a comma at the top level.
        let (type_text, next) = expr_until(&s, i, line, "the type")?;
        i = next;
        if type_text.is_empty() {
            return Err(err(line, format!("column '{name}' has no type")));
        }
        let ty =
            TypeDesc::parse(&type_text).map_err(|e| err(line, format!("column '{name}': {e}")))?;
        let mut default = None;
        let mut codec = None;
        let mut jsonpath = None;
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= b.len() {
                break;
            }
            let here = s.line_at(i);
            if b[i] == b',' {
                i += 1;
                break;
            }
            if s.text[i..].starts_with("`json:") {
                if jsonpath.is_some() {
                    return Err(err(here, format!("column '{name}' has two json paths")));
                }
                let close = s.text[i + 6..]
                    .find(['`', '\n'])
                    .filter(|&c| b[i + 6 + c] == b'`')
                    .ok_or_else(|| err(here, "expected a closing backtick after the json path"))?;
                jsonpath = Some(s.text[i + 6..i + 6 + close].trim().to_string());
                i += 6 + close + 1;
                continue;
            }
            let word_end = s.text[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(s.text.len(), |e| i + e);
            let word = s.text[i..word_end].to_ascii_uppercase();
            match word.as_str() {
                "DEFAULT" => {
                    if default.is_some() {
                        return Err(err(here, format!("column '{name}' has two DEFAULTs")));
                    }
                    let (e, next) = expr_until(&s, word_end, here, "DEFAULT")?;
                    if e.is_empty() {
                        return Err(err(here, "missing mandatory value for DEFAULT"));
                    }
                    default = Some(e);
                    i = next;
                }
                "CODEC" => {
                    let (e, next) = expr_until(&s, word_end, here, "CODEC")?;
                    if e.is_empty() {
                        return Err(err(here, "missing mandatory value for CODEC"));
                    }
                    codec = Some(e);
                    i = next;
                }
                "NULL" => {
                    return Err(err(
                        here,
                        "NULL column syntax is not supported; use Nullable(...)",
                    ))
                }
                "NOT" => return Err(err(
                    here,
                    "NOT NULL column syntax is not supported: columns are not nullable by default",
                )),
                "MATERIALIZED" => return Err(err(here, "MATERIALIZED columns are not supported")),
                "ALIAS" => return Err(err(here, "ALIAS columns are not supported")),
                "TTL" => return Err(err(here, "column TTL is not supported")),
                _ => {
                    let found: String = s.text[i..].chars().take(20).collect();
                    return Err(err(
                        here,
                        format!(
                            "column '{name}': expected DEFAULT, CODEC, a json path or a comma, found '{}'",
                            found.split_whitespace().next().unwrap_or("")
                        ),
                    ));
                }
            }
        }
        if !seen.insert(name.clone()) {
            return Err(err(line, format!("column '{name}' is declared twice")));
        }
        cols.push(ColumnSpec {
            name,
            ty,
            type_text,
            default,
            codec,
            jsonpath,
            line,
        });
    }
    if cols.is_empty() {
        return Err(err(first.saturating_sub(1).max(1), "SCHEMA has no columns"));
    }
    Ok(cols)
}

/// Reads an expression from byte `i` up to a top-level comma, a `json:` path or a column
/// keyword preceded by whitespace; returns it trimmed and the index where it stops.
fn expr_until(s: &Schema, mut i: usize, line: usize, what: &str) -> Result<(String, usize)> {
    let b = s.text.as_bytes();
    let start = i;
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| err(s.line_at(i), format!("unbalanced ')' in {what}")))?;
            }
            b',' if depth == 0 => break,
            b'`' if depth == 0 && s.text[i..].starts_with("`json:") => break,
            b'\n' if depth == 0 && what == "the type" && !s.text[start..i].trim().is_empty() => {
                // A type never spans lines at its top level: what follows is not part of it.
                break;
            }
            c if depth == 0 && c.is_ascii_whitespace() => {
                let rest = s.text[i..].trim_start();
                let word_end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let word = rest[..word_end].to_ascii_uppercase();
                if STOPS.contains(&word.as_str()) || rest.starts_with("`json:") {
                    break;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if quote.is_some() {
        return Err(err(line, format!("unclosed quote in {what}")));
    }
    if depth > 0 {
        return Err(err(line, format!("expected a closing ')' in {what}")));
    }
    Ok((s.text[start..i.min(b.len())].trim().to_string(), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_tinybird() {
        let w = words("ENGINE_SORTING_KEY \"a, b\" # note", 1).unwrap();
        assert_eq!(w, vec!["ENGINE_SORTING_KEY", "\"a, b\""]);
        let w = words("ENGINE_TTL ts + toIntervalDay(90)", 1).unwrap();
        assert_eq!(w.len(), 4);
        assert!(words("TOKEN \"open", 3).is_err());
    }
}
