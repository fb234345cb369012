//! Tinybird `.pipe` files: a description and named SQL nodes, the last published as the endpoint.

use crate::error::{Error, ErrorKind, Result};
use crate::schema::file::{block_lines, dedent, unquote, words};

/// One `NODE` of a pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The node's name; later nodes of the same pipe may select `FROM` it.
    pub name: String,
    /// The node's `DESCRIPTION`, if any.
    pub description: String,
    /// The SQL text, common indentation removed. Templated SQL starts with `%`.
    pub sql: String,
    /// 1-based line of the file where the SQL text starts.
    pub sql_line: usize,
    /// The node's `TYPE` in lower case (`endpoint`, `materialized`, `copy`, `sink`, `stream`,
    /// `standard`), if it has one.
    pub node_type: Option<String>,
    /// The node's other settings in file order, names in lower case: `datasource` (where a
    /// materialized node writes), `target_datasource`, `copy_schedule` and `mode` (copy nodes),
    /// `filter`, `tags`, export settings, and the `engine` / `engine_*` lines a materialized
    /// node may give for its target datasource.
    pub settings: Vec<(String, String)>,
}

impl Node {
    /// The value of setting `key` (lower case).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What a pipe publishes, from the `TYPE` of its one non-standard node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeKind {
    /// No node has a `TYPE`: the last node answers.
    Standard,
    /// `TYPE endpoint`: an HTTP endpoint in Tinybird, `store.pipe(name)` here.
    Endpoint,
    /// `TYPE materialized`: its node's result is appended to `datasource` as rows arrive.
    Materialized {
        /// The datasource the rows go into.
        datasource: String,
    },
    /// `TYPE copy`: its node's result is written to `target_datasource` on a schedule or on demand.
    Copy {
        /// The datasource the rows go into.
        target_datasource: String,
        /// `COPY_SCHEDULE` (a cron expression or `@on-demand`), if given.
        schedule: Option<String>,
        /// `COPY_MODE` (`append` or `replace`), if given.
        mode: Option<String>,
    },
    /// `TYPE sink`: an export to an external service.
    Sink,
    /// `TYPE stream`: an export to Kafka.
    Stream,
}

impl PipeKind {
    /// The kind's name as written after `TYPE`.
    pub fn name(&self) -> &'static str {
        match self {
            PipeKind::Standard => "standard",
            PipeKind::Endpoint => "endpoint",
            PipeKind::Materialized { .. } => "materialized",
            PipeKind::Copy { .. } => "copy",
            PipeKind::Sink => "sink",
            PipeKind::Stream => "stream",
        }
    }
}

/// A parsed `.pipe` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipe {
    /// The pipe's name (its file name without `.pipe`).
    pub name: String,
    /// The pipe's `DESCRIPTION`.
    pub description: String,
    /// Nodes in file order.
    pub nodes: Vec<Node>,
    /// Index of the node the pipe publishes: its one node with a `TYPE` other than
    /// `standard`, else the last node.
    pub endpoint: usize,
    /// What the pipe publishes.
    pub kind: PipeKind,
    /// `TOKEN` lines: (name, permission).
    pub tokens: Vec<(String, String)>,
    /// Filtering tags from `TAGS` (entries without `=`).
    pub tags: Vec<String>,
}

impl Pipe {
    /// The endpoint node.
    pub fn endpoint_node(&self) -> &Node {
        &self.nodes[self.endpoint]
    }
}

fn err(line: usize, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Pipe {
        line,
        message: message.into(),
    })
}

/// Node settings Tinybird's pipe files accept, read into [`Node::settings`].
const NODE_SETTINGS: &[&str] = &[
    "datasource",
    "target_datasource",
    "copy_schedule",
    "copy_mode",
    "mode",
    "on_demand_compute",
    "filter",
    "tags",
    "deployment_method",
    "export_service",
    "export_connection_name",
    "export_schedule",
    "export_bucket_uri",
    "export_file_template",
    "export_format",
    "export_strategy",
    "export_compression",
    "export_write_strategy",
    "export_kafka_topic",
];

fn is_command(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    NODE_SETTINGS.contains(&w.as_str())
        || matches!(
            w.as_str(),
            "node"
                | "scope"
                | "description"
                | "type"
                | "sql"
                | "token"
                | "include"
                | "version"
                | "cache"
                | "engine"
        )
        || w.starts_with("engine_")
}

/// Most nodes one pipe may have.
pub const MAX_NODES: usize = 1_000_000;

/// Parses the text of a `.pipe` file. `name` is the pipe's name; when `None`, the endpoint
/// node's name is used.
///
/// The file is read as Tinybird reads it: commands in any letter case, and a `SQL >` (or
/// `DESCRIPTION >`) block that runs until the next line that starts, unindented, with a command,
/// so SQL lines at column 0 (`%`, `SELECT …`) belong to the block.
///
/// ```
/// let p = llm_metrics::parse_pipe(Some("by_model"), "NODE n\nSQL >\n%\nSELECT 1\n\nTYPE Endpoint\n").unwrap();
/// assert_eq!(p.endpoint_node().sql, "%\nSELECT 1");
/// assert_eq!(p.kind, llm_metrics::PipeKind::Endpoint);
/// ```
pub fn parse_pipe(name: Option<&str>, text: &str) -> Result<Pipe> {
    let lines: Vec<&str> = text.lines().collect();
    let mut description = String::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut tokens = Vec::new();
    let mut tags = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let w = words(lines[i], lineno).map_err(|_| err(lineno, "unclosed quote"))?;
        let Some(first) = w.first() else {
            i += 1;
            continue;
        };
        let kw = first.to_ascii_lowercase();
        if !is_command(&kw) {
            if lines[i].starts_with(char::is_whitespace) {
                return Err(err(
                    lineno,
                    format!("indented line outside a block: '{}'", lines[i].trim()),
                ));
            }
            return Err(err(
                lineno,
                format!(
                    "{} is not a valid option in pipe files",
                    first.to_ascii_uppercase()
                ),
            ));
        }
        let rest = unquote(w[1..].join(" ").trim()).to_string();
        if w.get(1).map(String::as_str) == Some(">") {
            let start = i + 1;
            let (body, end) = block_lines(&lines, start, is_command);
            let first_line = start + 1 + body.iter().take_while(|l| l.trim().is_empty()).count();
            let text = dedent(&body);
            match kw.as_str() {
                "description" => match nodes.last_mut() {
                    Some(n) if n.sql.is_empty() => n.description = text,
                    _ => description = text,
                },
                "sql" => {
                    let node = nodes
                        .last_mut()
                        .ok_or_else(|| err(lineno, "SQL must come after a NODE"))?;
                    if !node.sql.is_empty() {
                        return Err(err(
                            lineno,
                            format!("node '{}' has two SQL blocks", node.name),
                        ));
                    }
                    if text.is_empty() || text == "%" {
                        return Err(err(
                            lineno,
                            format!("node '{}' has an empty SQL block", node.name),
                        ));
                    }
                    node.sql = text;
                    node.sql_line = first_line;
                }
                other => {
                    return Err(err(
                        lineno,
                        format!(
                            "{} does not support multiline arguments",
                            other.to_ascii_uppercase()
                        ),
                    ))
                }
            }
            i = end;
            continue;
        }
        match kw.as_str() {
            "node" | "scope" => {
                if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(err(lineno, format!("invalid node name '{rest}'")));
                }
                if nodes.len() >= MAX_NODES {
                    return Err(err(lineno, format!("a pipe has at most {MAX_NODES} nodes")));
                }
                if !names.insert(rest.clone()) {
                    return Err(err(lineno, format!("node '{rest}' is defined twice")));
                }
                if let Some(prev) = nodes.last() {
                    if prev.sql.is_empty() {
                        return Err(err(lineno, format!("node '{}' has no SQL", prev.name)));
                    }
                }
                nodes.push(Node {
                    name: rest,
                    description: String::new(),
                    sql: String::new(),
                    sql_line: 0,
                    node_type: None,
                    settings: Vec::new(),
                });
            }
            "description" => match nodes.last_mut() {
                Some(n) if n.sql.is_empty() => n.description = rest,
                _ => description = rest,
            },
            "sql" => return Err(err(lineno, "SQL must be a block: 'SQL >'")),
            "type" => {
                let t = rest.to_ascii_lowercase();
                if !matches!(
                    t.as_str(),
                    "endpoint"
                        | "materialized"
                        | "copy"
                        | "sink"
                        | "stream"
                        | "standard"
                        | "default"
                ) {
                    return Err(err(
                        lineno,
                        format!("TYPE '{rest}' is not a node type (endpoint, materialized, copy, sink are)"),
                    ));
                }
                let node = nodes
                    .last_mut()
                    .ok_or_else(|| err(lineno, "TYPE must come after a NODE"))?;
                node.node_type = Some(t);
            }
            "token" => {
                if w.len() != 3 {
                    return Err(err(
                        lineno,
                        "TOKEN takes two values: the token's name and READ or APPEND",
                    ));
                }
                tokens.push((unquote(&w[1]).to_string(), w[2].to_ascii_uppercase()));
            }
            "include" => {
                return Err(err(
                    lineno,
                    format!(
                        "not supported: INCLUDE {} (a project's .incl file is written in; this one is not in the project)",
                        w.get(1).map_or("", |s| unquote(s))
                    ),
                ))
            }
            "tags" => {
                let mut kv = Vec::new();
                for t in rest.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    if t.contains('=') {
                        kv.push(t);
                    } else {
                        tags.push(t.to_string());
                    }
                }
                if let (Some(node), false) = (nodes.last_mut(), kv.is_empty()) {
                    node.settings.push(("tags".to_string(), kv.join("&")));
                }
            }
            "version" | "cache" => {}
            setting => {
                let node = nodes.last_mut().ok_or_else(|| {
                    err(
                        lineno,
                        format!("{} must come after a NODE", setting.to_ascii_uppercase()),
                    )
                })?;
                let key = if setting == "copy_mode" {
                    "mode"
                } else {
                    setting
                };
                node.settings.push((key.to_string(), rest));
            }
        }
        i += 1;
    }
    if nodes.is_empty() {
        return Err(err(
            lines.len().max(1),
            "a pipe needs at least one NODE with SQL",
        ));
    }
    if let Some(n) = nodes.iter().find(|n| n.sql.is_empty()) {
        return Err(err(
            lines.len().max(1),
            format!("node '{}' has no SQL", n.name),
        ));
    }
    let mut published: Option<usize> = None;
    for (k, n) in nodes.iter().enumerate() {
        if matches!(
            n.node_type.as_deref(),
            None | Some("standard") | Some("default")
        ) {
            continue;
        }
        if let Some(p) = published {
            return Err(err(
                1,
                format!(
                    "nodes '{}' and '{}' both have a TYPE: a pipe has one endpoint, materialized, copy or sink node",
                    nodes[p].name, n.name
                ),
            ));
        }
        published = Some(k);
    }
    let endpoint = published.unwrap_or(nodes.len() - 1);
    let node = &nodes[endpoint];
    let needs = |key: &str| -> Result<String> {
        node.setting(key).map(str::to_string).ok_or_else(|| {
            err(
                lines.len().max(1),
                format!(
                    "node '{}' of TYPE {} needs {}",
                    node.name,
                    node.node_type.as_deref().unwrap_or(""),
                    key.to_ascii_uppercase()
                ),
            )
        })
    };
    let kind = match node.node_type.as_deref() {
        Some("endpoint") => PipeKind::Endpoint,
        Some("materialized") => PipeKind::Materialized {
            datasource: needs("datasource")?,
        },
        Some("copy") => PipeKind::Copy {
            target_datasource: needs("target_datasource")?,
            schedule: node.setting("copy_schedule").map(str::to_string),
            mode: node.setting("mode").map(str::to_string),
        },
        Some("sink") => PipeKind::Sink,
        Some("stream") => PipeKind::Stream,
        _ => PipeKind::Standard,
    };
    let name = match name {
        Some(n) => n.to_string(),
        None => nodes[endpoint].name.clone(),
    };
    Ok(Pipe {
        name,
        description,
        nodes,
        endpoint,
        kind,
        tokens,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nodes_and_endpoint() {
        let text = "DESCRIPTION >\n    Usage\n\nNODE first\nDESCRIPTION >\n    step one\nSQL >\n    SELECT a\n      FROM t\n\nNODE second\nSQL >\n    %\n    SELECT * FROM first\n\nTYPE endpoint\n";
        let p = parse_pipe(Some("x"), text).unwrap();
        assert_eq!(p.description, "Usage");
        assert_eq!(p.nodes.len(), 2);
        assert_eq!(p.nodes[0].sql, "SELECT a\n  FROM t");
        assert_eq!(p.nodes[0].description, "step one");
        assert_eq!(p.nodes[1].sql, "%\nSELECT * FROM first");
        assert_eq!(p.nodes[1].sql_line, 13);
        assert_eq!(p.endpoint, 1);
    }

    #[test]
    fn many_nodes_parse_in_linear_time() {
        let n = 100_000;
        let text: String = (0..n)
            .map(|i| format!("NODE n{i}\nSQL >\n    SELECT {i}\n\n"))
            .collect();
        let started = std::time::Instant::now();
        let p = parse_pipe(None, &text).unwrap();
        let elapsed = started.elapsed();
        println!("{n} nodes parsed in {elapsed:?}");
        // A guard against quadratic work, not a speed target: linear parsing takes about a second
        // in a debug build, checking names against every earlier node took minutes, and the
        // bound leaves room for a loaded machine.
        assert!(elapsed.as_secs() < 90, "{elapsed:?}");
        assert_eq!(p.nodes.len(), n);
        assert_eq!(p.endpoint_node().sql, format!("SELECT {}", n - 1));
        let e = parse_pipe(None, &format!("{text}NODE n7\nSQL >\n    SELECT 1\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("pipe line {}: node 'n7' is defined twice", 4 * n + 1)
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_pipe(None, "NODE a\nSQL >\n    SELECT 1\nTYPE pipeline\n").unwrap_err();
        assert!(e.to_string().starts_with("pipe line 4:"), "{e}");
        let e = parse_pipe(None, "SQL >\n  SELECT 1\n").unwrap_err();
        assert!(e.to_string().starts_with("pipe line 1:"), "{e}");
        let e = parse_pipe(None, "NODE a\nNODE b\nSQL >\n  SELECT 1\n").unwrap_err();
        assert!(e.to_string().starts_with("pipe line 2:"), "{e}");
        assert_eq!(
            parse_pipe(None, "NODE a\nSQL >\n  SELECT 1\n")
                .unwrap()
                .name,
            "a"
        );
    }
}
