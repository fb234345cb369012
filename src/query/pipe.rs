//! Tinybird `.pipe` files: a description and named SQL nodes, the last published as the endpoint.

use crate::error::{Error, ErrorKind, Result};

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
    /// Index of the node published as the endpoint.
    pub endpoint: usize,
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

/// Reads an indented block starting after line `i`; returns (text, first line number, next index).
fn block(lines: &[&str], i: usize) -> (String, usize, usize) {
    let start = i + 1;
    let mut end = start;
    while end < lines.len()
        && (lines[end].trim().is_empty() || lines[end].starts_with(char::is_whitespace))
    {
        end += 1;
    }
    let body = &lines[start..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = body
        .iter()
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                &l[indent.min(l.len())..]
            }
        })
        .collect();
    (text.join("\n").trim().to_string(), start + 1, end)
}

/// Parses the text of a `.pipe` file. `name` is the pipe's name; when `None`, the endpoint
/// node's name is used.
///
/// ```
/// let p = llm_metrics::parse_pipe(Some("by_model"), "NODE n\nSQL >\n    SELECT 1\n\nTYPE endpoint\n").unwrap();
/// assert_eq!(p.endpoint_node().sql, "SELECT 1");
/// ```
pub fn parse_pipe(name: Option<&str>, text: &str) -> Result<Pipe> {
    let lines: Vec<&str> = text.lines().collect();
    let mut description = String::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut names: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut endpoint: Option<usize> = None;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let line = raw.trim();
        let lineno = i + 1;
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            return Err(err(
                lineno,
                format!("indented line outside a block: '{line}'"),
            ));
        }
        let (kw, rest) = match line.find(char::is_whitespace) {
            Some(p) => (&line[..p], line[p..].trim()),
            None => (line, ""),
        };
        match kw {
            "DESCRIPTION" => {
                if rest != ">" {
                    return Err(err(lineno, "expected 'DESCRIPTION >'"));
                }
                let (text, _, next) = block(&lines, i);
                match nodes.last_mut() {
                    Some(n) if n.sql.is_empty() => n.description = text,
                    _ => description = text,
                }
                i = next;
                continue;
            }
            "NODE" => {
                if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(err(lineno, format!("invalid node name '{rest}'")));
                }
                if !names.insert(rest) {
                    return Err(err(lineno, format!("node '{rest}' is defined twice")));
                }
                if let Some(prev) = nodes.last() {
                    if prev.sql.is_empty() {
                        return Err(err(lineno, format!("node '{}' has no SQL", prev.name)));
                    }
                }
                nodes.push(Node {
                    name: rest.to_string(),
                    description: String::new(),
                    sql: String::new(),
                    sql_line: 0,
                });
            }
            "SQL" => {
                if rest != ">" {
                    return Err(err(lineno, "expected 'SQL >'"));
                }
                let (text, first, next) = block(&lines, i);
                let node = nodes
                    .last_mut()
                    .ok_or_else(|| err(lineno, "SQL before any NODE"))?;
                if !node.sql.is_empty() {
                    return Err(err(
                        lineno,
                        format!("node '{}' has two SQL blocks", node.name),
                    ));
                }
                if text.is_empty() {
                    return Err(err(
                        lineno,
                        format!("node '{}' has an empty SQL block", node.name),
                    ));
                }
                node.sql = text;
                node.sql_line = first;
                i = next;
                continue;
            }
            "TYPE" => {
                let t = rest.trim_matches('"').to_ascii_lowercase();
                if t != "endpoint" {
                    return Err(err(
                        lineno,
                        format!("TYPE '{rest}' is not supported (endpoint is)"),
                    ));
                }
                if nodes.is_empty() {
                    return Err(err(lineno, "TYPE before any NODE"));
                }
                endpoint = Some(nodes.len() - 1);
            }
            "TOKEN" | "TAGS" | "CACHE" => {}
            other => return Err(err(lineno, format!("unknown keyword '{other}'"))),
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
    let endpoint = endpoint.unwrap_or(nodes.len() - 1);
    let name = match name {
        Some(n) => n.to_string(),
        None => nodes[endpoint].name.clone(),
    };
    Ok(Pipe {
        name,
        description,
        nodes,
        endpoint,
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
        // Linear: about a second in a debug build (checking names against every earlier node
        // took minutes).
        assert!(elapsed.as_secs() < 10, "{elapsed:?}");
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
        let e = parse_pipe(None, "NODE a\nSQL >\n    SELECT 1\nTYPE materialized\n").unwrap_err();
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
