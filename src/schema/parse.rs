//! Reader for Tinybird's `.datasource` text format.

use super::{ColumnDef, ColumnType, Datasource, PartitionKey};
use crate::error::{Error, ErrorKind, Result};

fn err(line: usize, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Datasource {
        line,
        message: message.into(),
    })
}

/// Parses the text of a `.datasource` file into a [`Datasource`] named `name`.
///
/// Reads `DESCRIPTION >`, `SCHEMA >` (backticked or bare names, a type, an optional
/// `` `json:$.a.b` `` path that defaults to the column name), `ENGINE`, `ENGINE_PARTITION_KEY`
/// and `ENGINE_SORTING_KEY`. Other `ENGINE_*` settings and `TOKEN` lines are accepted and
/// ignored. Errors name the 1-based line.
///
/// ```
/// let ds = llm_metrics::parse_datasource("t", "SCHEMA >\n    `ts` DateTime `json:$.ts`,\n    `user` String `json:$.who.id`\n").unwrap();
/// assert_eq!(ds.columns[1].path, vec!["who", "id"]);
/// ```
pub fn parse_datasource(name: &str, text: &str) -> Result<Datasource> {
    let lines: Vec<&str> = text.lines().collect();
    let mut ds = Datasource {
        name: name.to_string(),
        description: String::new(),
        columns: Vec::new(),
        engine: "MergeTree".to_string(),
        partition: PartitionKey::None,
        sorting_key: Vec::new(),
        time_column: None,
    };
    let mut partition_text: Option<(usize, String)> = None;
    let mut sorting_text: Option<(usize, String)> = None;
    let mut saw_schema = false;
    let mut i = 0;
    while i < lines.len() {
        let raw = lines[i];
        let lineno = i + 1;
        let line = raw.trim();
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
        let (keyword, rest) = match line.find(char::is_whitespace) {
            Some(p) => (&line[..p], line[p..].trim()),
            None => (line, ""),
        };
        match keyword {
            "DESCRIPTION" | "SCHEMA" => {
                if rest != ">" {
                    return Err(err(lineno, format!("expected '{keyword} >'")));
                }
                let start = i + 1;
                let mut end = start;
                while end < lines.len()
                    && (lines[end].trim().is_empty() || lines[end].starts_with(char::is_whitespace))
                {
                    end += 1;
                }
                if keyword == "DESCRIPTION" {
                    ds.description = lines[start..end]
                        .iter()
                        .map(|l| l.trim())
                        .collect::<Vec<_>>()
                        .join("\n")
                        .trim()
                        .to_string();
                } else {
                    saw_schema = true;
                    for (k, l) in lines.iter().enumerate().take(end).skip(start) {
                        let l = l.trim();
                        if l.is_empty() {
                            continue;
                        }
                        let col = parse_column(k + 1, l)?;
                        if ds.columns.iter().any(|c| c.name == col.name) {
                            return Err(err(
                                k + 1,
                                format!("column '{}' is declared twice", col.name),
                            ));
                        }
                        ds.columns.push(col);
                    }
                }
                i = end;
                continue;
            }
            "ENGINE" => ds.engine = unquote(lineno, rest)?.to_string(),
            "ENGINE_PARTITION_KEY" => {
                partition_text = Some((lineno, unquote(lineno, rest)?.to_string()))
            }
            "ENGINE_SORTING_KEY" => {
                sorting_text = Some((lineno, unquote(lineno, rest)?.to_string()))
            }
            k if k.starts_with("ENGINE_") || k == "TOKEN" || k == "TAGS" => {}
            other => return Err(err(lineno, format!("unknown keyword '{other}'"))),
        }
        i += 1;
    }
    if !saw_schema || ds.columns.is_empty() {
        return Err(err(
            lines.len().max(1),
            "no SCHEMA block with at least one column",
        ));
    }
    if !matches!(
        ds.engine.as_str(),
        "MergeTree" | "ReplacingMergeTree" | "Null"
    ) {
        // Only the storage layout matters here; other engines' merge semantics are not emulated.
        let line = lines
            .iter()
            .position(|l| l.trim_start().starts_with("ENGINE "))
            .map_or(1, |p| p + 1);
        return Err(err(
            line,
            format!("engine '{}' is not supported (MergeTree is)", ds.engine),
        ));
    }
    if let Some((line, text)) = sorting_text {
        for part in strip_tuple(&text).split(',') {
            let part = part.trim().trim_matches('`');
            if part.is_empty() {
                continue;
            }
            let idx = ds
                .column_index(part)
                .ok_or_else(|| err(line, format!("sorting key names unknown column '{part}'")))?;
            if ds.columns[idx].nullable {
                // As ClickHouse refuses it (allow_nullable_key is off by default).
                return Err(err(
                    line,
                    format!("sorting key contains the Nullable column '{part}'"),
                ));
            }
            ds.sorting_key.push(idx);
        }
    }
    if let Some((line, text)) = partition_text {
        ds.partition = parse_partition(&ds, line, &text)?;
    }
    ds.time_column = match ds.partition {
        PartitionKey::YearMonth(c) | PartitionKey::Year(c) | PartitionKey::Day(c) => Some(c),
        PartitionKey::None => ds
            .sorting_key
            .iter()
            .copied()
            .find(|&c| ds.columns[c].ty.is_time())
            .or_else(|| {
                ds.columns
                    .iter()
                    .position(|c| c.ty.is_time() && !c.nullable)
            }),
    };
    Ok(ds)
}

fn strip_tuple(text: &str) -> &str {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix("tuple(").and_then(|s| s.strip_suffix(')')) {
        return inner;
    }
    if let Some(inner) = t.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
        return inner;
    }
    t
}

fn parse_partition(ds: &Datasource, line: usize, text: &str) -> Result<PartitionKey> {
    let t = text.trim();
    if t.is_empty() || t == "tuple()" || t == "''" {
        return Ok(PartitionKey::None);
    }
    let open = t
        .find('(')
        .ok_or_else(|| err(line, format!("unsupported partition key '{t}'")))?;
    let func = t[..open].trim();
    let arg = t[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| err(line, format!("unsupported partition key '{t}'")))?
        .trim()
        .trim_matches('`');
    let col = ds
        .column_index(arg)
        .ok_or_else(|| err(line, format!("partition key names unknown column '{arg}'")))?;
    if !ds.columns[col].ty.is_time() {
        return Err(err(
            line,
            format!("partition key column '{arg}' is not a DateTime"),
        ));
    }
    if ds.columns[col].nullable {
        return Err(err(
            line,
            format!("partition key contains the Nullable column '{arg}'"),
        ));
    }
    match func {
        "toYYYYMM" => Ok(PartitionKey::YearMonth(col)),
        "toYear" => Ok(PartitionKey::Year(col)),
        "toYYYYMMDD" | "toDate" => Ok(PartitionKey::Day(col)),
        _ => Err(err(
            line,
            format!("unsupported partition key '{t}' (toYYYYMM, toYear, toYYYYMMDD, toDate are)"),
        )),
    }
}

fn unquote(line: usize, s: &str) -> Result<&str> {
    let s = s.trim();
    if s.len() >= 2
        && ((s.starts_with('"') && s.ends_with('"')) || (s.starts_with('\'') && s.ends_with('\'')))
    {
        Ok(&s[1..s.len() - 1])
    } else if !s.is_empty() && !s.contains(char::is_whitespace) {
        Ok(s)
    } else {
        Err(err(line, format!("expected a quoted value, found '{s}'")))
    }
}

/// Parses one schema line: `` `name` Type `json:$.path`, ``.
fn parse_column(line: usize, text: &str) -> Result<ColumnDef> {
    let text = text.trim().trim_end_matches(',').trim();
    let (name, rest) = if let Some(after) = text.strip_prefix('`') {
        let close = after
            .find('`')
            .ok_or_else(|| err(line, "unclosed backtick in column name"))?;
        (&after[..close], after[close + 1..].trim())
    } else {
        let p = text
            .find(char::is_whitespace)
            .ok_or_else(|| err(line, format!("column '{text}' has no type")))?;
        (&text[..p], text[p..].trim())
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(err(line, format!("invalid column name '{name}'")));
    }
    // The type runs up to the jsonpath (a backtick) or the end; it may contain spaces inside parentheses.
    let (type_text, tail) = match rest.find('`') {
        Some(p) => (rest[..p].trim(), rest[p..].trim()),
        None => (rest.trim(), ""),
    };
    if type_text.is_empty() {
        return Err(err(line, format!("column '{name}' has no type")));
    }
    if type_text
        .split_whitespace()
        .any(|w| matches!(w, "DEFAULT" | "MATERIALIZED" | "ALIAS" | "CODEC("))
    {
        return Err(err(
            line,
            format!("column '{name}': DEFAULT/MATERIALIZED/ALIAS/CODEC are not supported"),
        ));
    }
    let (ty, nullable) = ColumnType::from_nullable_name(type_text).ok_or_else(|| {
        err(
            line,
            format!(
                "column '{name}' has unsupported type '{type_text}' (supported: DateTime, DateTime64(3), String, \
                 LowCardinality(String), UInt8/16/32/64, Int8/16/32/64, Float32/64, Bool, and \
                 Nullable of each)"
            ),
        )
    })?;
    let path = if tail.is_empty() {
        vec![name.to_string()]
    } else {
        let inner = tail
            .strip_prefix('`')
            .and_then(|s| s.strip_suffix('`'))
            .ok_or_else(|| {
                err(
                    line,
                    format!("column '{name}': malformed jsonpath '{tail}'"),
                )
            })?;
        parse_jsonpath(line, name, inner)?
    };
    Ok(ColumnDef {
        name: name.to_string(),
        ty,
        path,
        nullable,
    })
}

fn parse_jsonpath(line: usize, name: &str, text: &str) -> Result<Vec<String>> {
    let p = text
        .strip_prefix("json:")
        .ok_or_else(|| {
            err(
                line,
                format!("column '{name}': jsonpath must start with 'json:'"),
            )
        })?
        .trim();
    let p = p.strip_prefix('$').ok_or_else(|| {
        err(
            line,
            format!("column '{name}': jsonpath must start with '$'"),
        )
    })?;
    let mut keys = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("['").or_else(|| rest.strip_prefix("[\"")) {
            let close = r.find(['\'', '"']).ok_or_else(|| {
                err(
                    line,
                    format!("column '{name}': unclosed bracket in jsonpath"),
                )
            })?;
            keys.push(r[..close].to_string());
            rest = r[close + 1..]
                .strip_prefix(']')
                .ok_or_else(|| err(line, format!("column '{name}': expected ']' in jsonpath")))?;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() {
                return Err(err(line, format!("column '{name}': empty key in jsonpath")));
            }
            keys.push(key.to_string());
            rest = &r[end..];
        } else {
            return Err(err(
                line,
                format!("column '{name}': unsupported jsonpath '{text}' (only $.a.b and $['a'] keys are)"),
            ));
        }
    }
    if keys.is_empty() {
        return Err(err(
            line,
            format!("column '{name}': jsonpath selects the whole row"),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_datasource_parses() {
        let ds = parse_datasource("llm_events", crate::schema::LLM_EVENTS).unwrap();
        assert_eq!(ds.columns.len(), 9);
        assert_eq!(ds.description, "LLM usage and performance metrics");
        assert_eq!(ds.columns[5].ty, ColumnType::Float32);
        assert_eq!(ds.columns[7].path, vec!["success"]);
        assert_eq!(ds.partition, PartitionKey::YearMonth(0));
        assert_eq!(ds.sorting_key, vec![0, 1]);
        assert_eq!(ds.time_column, Some(0));
    }

    #[test]
    fn nested_paths_and_types() {
        let ds = parse_datasource(
            "x",
            "SCHEMA >\n  `t` DateTime64(3) `json:$.meta.ts`,\n  `m` LowCardinality(String) `json:$['model']`,\n  b Bool\n",
        )
        .unwrap();
        assert_eq!(ds.columns[0].path, vec!["meta", "ts"]);
        assert_eq!(ds.columns[1].ty, ColumnType::LowCardinalityString);
        assert_eq!(ds.columns[2].path, vec!["b"]);
        assert_eq!(ds.time_column, Some(0));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_datasource("x", "SCHEMA >\n  `a` UInt32,\n  `b` Map(String, String)\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("datasource line 3:"), "{e}");
        let e = parse_datasource("x", "SCHEMA >\n  `a` UInt32\nWHATEVER 1\n").unwrap_err();
        assert!(e.to_string().starts_with("datasource line 3:"), "{e}");
        let e = parse_datasource(
            "x",
            "SCHEMA >\n  `a` DateTime\nENGINE_PARTITION_KEY \"toYYYYMM(b)\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = parse_datasource("x", "DESCRIPTION >\n  hi\n").unwrap_err();
        assert!(e.to_string().contains("no SCHEMA"), "{e}");
        let e = parse_datasource("x", "SCHEMA >\n  `a` UInt32 `json:a`\n").unwrap_err();
        assert!(e.to_string().starts_with("datasource line 2:"), "{e}");
    }
}
