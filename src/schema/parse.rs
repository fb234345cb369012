//! Reader for Tinybird's `.datasource` text format.

use super::file::{err, parse_datasource_file, DatasourceFile};
use super::{ColumnDef, ColumnType, Datasource, DefaultValue, PartitionKey, TypeDesc};
use crate::error::Result;

/// Parses the text of a `.datasource` file into a [`Datasource`] named `name`: the file is read
/// by [`parse_datasource_file`], then checked against what the store can hold
/// ([`Datasource::from_file`]).
///
/// Errors name the 1-based line.
///
/// ```
/// let ds = llm_metrics::parse_datasource("t", "SCHEMA >\n    `ts` DateTime `json:$.ts`,\n    `user` String `json:$.who.id`\n").unwrap();
/// assert_eq!(ds.columns[1].path, vec!["who", "id"]);
/// ```
pub fn parse_datasource(name: &str, text: &str) -> Result<Datasource> {
    let file = parse_datasource_file(text)?;
    Datasource::from_file(name, &file)
}

/// Engines whose rows the store keeps as they arrive, as the engine itself would before merges
/// that change nothing (`Null` keeps rows for the materialized pipes it feeds; `Join` keeps the
/// rows a `SELECT` from the table returns).
/// `SummingMergeTree` and `AggregatingMergeTree` keep rows as they arrive too: queries that
/// sum or merge by `GROUP BY` give the answers the merged table gives.
const ENGINES: &[&str] = &[
    "MergeTree",
    "ReplacingMergeTree",
    "SummingMergeTree",
    "AggregatingMergeTree",
    "Null",
    "Join",
];

impl Datasource {
    /// The datasource `file` describes, named `name`, where the store can hold it.
    ///
    /// Fails, naming the line, on a column type the store cannot hold yet
    /// (`not supported: Array(String) columns`), a `DEFAULT` that is not a literal of the
    /// column's type, an engine whose merges change rows, and keys naming unknown columns.
    pub fn from_file(name: &str, file: &DatasourceFile) -> Result<Datasource> {
        let mut ds = Datasource {
            name: name.to_string(),
            description: file.description.clone(),
            columns: Vec::new(),
            engine: "MergeTree".to_string(),
            partition: PartitionKey::None,
            sorting_key: Vec::new(),
            time_column: None,
            version_column: None,
        };
        let stored = file.columns.iter().filter(|c| c.ty != TypeDesc::Json);
        if stored.clone().next().is_none() {
            if let Some(c) = file.columns.first() {
                return Err(err(
                    c.line,
                    format!("not supported: {} columns (column '{}')", c.ty, c.name),
                ));
            }
        }
        // `JSON` columns are left out (the file's notes say so): the other columns load.
        for c in stored {
            let (ty, nullable, declared) = c.ty.column_storage().ok_or_else(|| {
                err(
                    c.line,
                    format!("not supported: {} columns (column '{}')", c.ty, c.name),
                )
            })?;
            let path = match &c.jsonpath {
                Some(p) => parse_jsonpath(c.line, &c.name, p)?,
                None => vec![c.name.clone()],
            };
            let default = match &c.default {
                // The empty array is an array column's default already.
                Some(text) if ty == ColumnType::Values && empty_array_literal(text) => None,
                Some(text) => Some(default_value(ty, text).ok_or_else(|| {
                    err(
                        c.line,
                        format!(
                            "not supported: DEFAULT {text} on column '{}' (a literal of type {} is)",
                            c.name,
                            ty.name()
                        ),
                    )
                })?),
                None => None,
            };
            ds.columns.push(ColumnDef {
                name: c.name.clone(),
                ty,
                path,
                default,
                nullable,
                declared,
            });
        }
        // A connector's meta columns, read from a row's field of the same name where one is
        // sent; the change's time defaults to the time the row is written.
        for (name, ty) in &file.connector_columns {
            if ds.column_index(name).is_some() {
                continue;
            }
            let (ty, nullable, declared) = super::TypeDesc::parse(ty)
                .ok()
                .and_then(|t| t.column_storage())
                .unwrap_or((ColumnType::String, false, None));
            ds.columns.push(ColumnDef {
                name: (*name).to_string(),
                ty,
                path: vec![(*name).to_string()],
                default: matches!(*name, "__timestamp" | "_timestamp").then_some(DefaultValue::Now),
                nullable,
                declared,
            });
        }
        if let Some((engine, line)) = &file.engine {
            if !ENGINES.contains(&engine.as_str()) {
                return Err(err(
                    *line,
                    format!("not supported: engine '{engine}' (MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, Null and Join are)"),
                ));
            }
            ds.engine = engine.clone();
        }
        if let Some(s) = file.engine_setting("sorting_key") {
            for part in split_top(strip_tuple(&s.value)) {
                let part = part.trim().trim_matches('`');
                if part.is_empty() || part.contains('(') {
                    // Expressions order rows on disk; they change no answer here.
                    continue;
                }
                let idx = ds.column_index(part).ok_or_else(|| {
                    err(s.line, format!("sorting key names unknown column '{part}'"))
                })?;
                if let Some(d) = ds.columns[idx]
                    .declared
                    .as_ref()
                    .filter(|d| d.is_aggregate())
                {
                    // As ClickHouse refuses it (DATA_TYPE_CANNOT_BE_USED_IN_KEY).
                    return Err(err(
                        s.line,
                        format!("sorting key contains the {d} column '{part}'"),
                    ));
                }
                if ds.columns[idx].nullable {
                    // As ClickHouse refuses it (allow_nullable_key is off by default).
                    return Err(err(
                        s.line,
                        format!("sorting key contains the Nullable column '{part}'"),
                    ));
                }
                ds.sorting_key.push(idx);
            }
        }
        if let Some(s) = file.engine_setting("ver") {
            let name = s.value.trim().trim_matches('`');
            if !name.is_empty() {
                ds.version_column = Some(ds.column_index(name).ok_or_else(|| {
                    err(s.line, format!("version column '{name}' is not a column"))
                })?);
            }
        }
        if let Some(s) = file.engine_setting("primary_key") {
            for part in split_top(strip_tuple(&s.value)) {
                let part = part.trim().trim_matches('`');
                if !part.is_empty() && !part.contains('(') && ds.column_index(part).is_none() {
                    return Err(err(
                        s.line,
                        format!("primary key names unknown column '{part}'"),
                    ));
                }
            }
        }
        if let Some(s) = file.engine_setting("partition_key") {
            ds.partition = parse_partition(&ds, s.line, &s.value)?;
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
}

/// True for `[]` and `array()`, the empty array written as a `DEFAULT`.
fn empty_array_literal(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact == "[]" || compact.eq_ignore_ascii_case("array()")
}

/// Splits `text` at commas outside parentheses and quotes.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// Reads a `DEFAULT` literal as a value of `ty`: a quoted string, a number, `true` or `false`
/// (with the conversions ClickHouse applies to a literal default), or the insert time
/// (`now()`, `now64()`, `today()`) on a time or `Date` column; `None` for anything else.
pub fn default_value(ty: ColumnType, text: &str) -> Option<DefaultValue> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if matches!(
        compact.as_str(),
        "now()" | "now64()" | "now64(3)" | "today()" | "current_timestamp()" | "current_timestamp"
    ) {
        // Evaluated when the row is written, as ClickHouse evaluates a DEFAULT expression.
        return (ty.is_time() || ty == ColumnType::Date).then_some(DefaultValue::Now);
    }
    let lit = literal(text.trim())?;
    let int = |s: &str| -> Option<i128> {
        match &lit {
            Lit::Bool(b) => Some(i128::from(*b)),
            _ => s.parse::<i128>().ok(),
        }
    };
    let text_of = match &lit {
        Lit::Str(s) | Lit::Num(s) => s.clone(),
        Lit::Bool(b) => b.to_string(),
    };
    let ranged = |lo: i128, hi: i128| -> Option<DefaultValue> {
        let v = int(&text_of)?;
        if !(lo..=hi).contains(&v) {
            return None;
        }
        Some(if lo < 0 {
            DefaultValue::Int(v as i64)
        } else {
            DefaultValue::UInt(v as u64)
        })
    };
    match ty {
        ColumnType::String | ColumnType::LowCardinalityString => match lit {
            Lit::Str(s) => Some(DefaultValue::Str(s)),
            _ => None,
        },
        ColumnType::UInt8 => ranged(0, 255),
        ColumnType::UInt16 => ranged(0, 65_535),
        ColumnType::UInt32 => ranged(0, i128::from(u32::MAX)),
        ColumnType::UInt64 => ranged(0, i128::from(u64::MAX)),
        ColumnType::Int8 => ranged(i128::from(i8::MIN), i128::from(i8::MAX)),
        ColumnType::Int16 => ranged(i128::from(i16::MIN), i128::from(i16::MAX)),
        ColumnType::Int32 => ranged(i128::from(i32::MIN), i128::from(i32::MAX)),
        ColumnType::Int64 => ranged(i128::from(i64::MIN), i128::from(i64::MAX)),
        ColumnType::Bool => match lit {
            Lit::Bool(b) => Some(DefaultValue::UInt(u64::from(b))),
            Lit::Num(n) if n == "0" || n == "1" => Some(DefaultValue::UInt(u64::from(n == "1"))),
            _ => None,
        },
        ColumnType::Float32 | ColumnType::Float64 => {
            let v = match lit {
                Lit::Bool(b) => f64::from(u8::from(b)),
                Lit::Num(n) | Lit::Str(n) => n.parse::<f64>().ok()?,
            };
            Some(DefaultValue::Float(v))
        }
        ColumnType::DateTime => match lit {
            Lit::Str(s) => {
                let ms = crate::time::parse_timestamp_ms(&s)?;
                let secs = ms.div_euclid(1000);
                (0..=crate::time::DATETIME_MAX)
                    .contains(&secs)
                    .then_some(DefaultValue::UInt(secs as u64))
            }
            Lit::Num(n) => {
                let v = n.parse::<i64>().ok()?;
                (0..=crate::time::DATETIME_MAX)
                    .contains(&v)
                    .then_some(DefaultValue::UInt(v as u64))
            }
            Lit::Bool(_) => None,
        },
        ColumnType::DateTime64 => match lit {
            Lit::Str(s) => Some(DefaultValue::Int(crate::time::parse_timestamp_ms(&s)?)),
            _ => None,
        },
        ColumnType::Date => {
            let days = match lit {
                Lit::Str(s) => crate::time::parse_date_bytes(s.as_bytes())?,
                Lit::Num(n) => n.parse::<i64>().ok()?,
                Lit::Bool(_) => return None,
            };
            (0..=i64::from(u16::MAX))
                .contains(&days)
                .then_some(DefaultValue::UInt(days as u64))
        }
        ColumnType::Values => None,
    }
}

enum Lit {
    Str(String),
    Num(String),
    Bool(bool),
}

fn literal(t: &str) -> Option<Lit> {
    if let Some(inner) = t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    c => out.push(c),
                },
                '\'' => {
                    // Only a doubled quote may stand inside.
                    if chars.next()? != '\'' {
                        return None;
                    }
                    out.push('\'');
                }
                c => out.push(c),
            }
        }
        return Some(Lit::Str(out));
    }
    match t.to_ascii_lowercase().as_str() {
        "true" => return Some(Lit::Bool(true)),
        "false" => return Some(Lit::Bool(false)),
        _ => {}
    }
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let numeric = !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    numeric.then(|| Lit::Num(t.strip_prefix('+').unwrap_or(t).to_string()))
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
    if !is_name(arg) {
        // An expression over columns (`substring(toString(id), 1, 1)`): partitions only
        // place rows on disk and change no answer here, so the store keeps one partition.
        return Ok(PartitionKey::None);
    }
    let col = ds
        .column_index(arg)
        .ok_or_else(|| err(line, format!("partition key names unknown column '{arg}'")))?;
    if ds.columns[col].ty == ColumnType::Date {
        // Partitions by day or month of a `Date` place rows on disk and change no answer.
        return Ok(PartitionKey::None);
    }
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

/// True for a bare column name: letters, digits and `_`, not starting with a digit.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_jsonpath(line: usize, name: &str, text: &str) -> Result<Vec<String>> {
    let p = text.strip_prefix("json:").unwrap_or(text).trim();
    // `$.a[:]` names every element of the array at `$.a`: that array, for an array column.
    let p = p.strip_suffix("[:]").unwrap_or(p);
    if p.contains("[:]") {
        return Err(err(
            line,
            format!("not supported: json path '{p}' (an array of values) on column '{name}'"),
        ));
    }
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
        assert_eq!(ds.columns.len(), 18);
        assert_eq!(ds.columns[8].name, "error_message");
        assert_eq!(ds.columns[9].ty, ColumnType::LowCardinalityString);
        assert_eq!(ds.columns[17].name, "time_source");
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
        let e = parse_datasource(
            "x",
            "SCHEMA >\n  `a` UInt32,\n  `b` Tuple(String, String)\n",
        )
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

    #[test]
    fn connector_lines_comments_and_join_engines_are_read() {
        let text = "-- a comment line\nTOKEN app CREATE\nSCHEMA >\n    `id` Int32 `json:$.id`,\n    `v` String `json:$.v`\n\n-- engine section\nENGINE \"Join\"\nENGINE_JOIN_STRICTNESS \"ANY\"\nENGINE_JOIN_TYPE \"LEFT\"\nENGINE_KEY_COLUMNS \"id\"\nENGINE_PARTITION_KEY \"substring(toString(id), 1, 1)\"\nIMPORT_STRATEGY 'replace'\nIMPORT_SERVICE 'snowflake'\nS3_REGION 'eu-west-1'\nGCS_BUCKET 'b'\nINCLUDE \"../includes/s3.incl\"\n";
        let f = parse_datasource_file(text).unwrap();
        let ds = Datasource::from_file("j", &f).unwrap();
        assert_eq!(ds.engine, "Join");
        assert_eq!(ds.partition, PartitionKey::None);
        let lines: Vec<usize> = f.notes.iter().map(|n| n.line).collect();
        // TOKEN, IMPORT_STRATEGY, IMPORT_SERVICE, S3_REGION, GCS_BUCKET, INCLUDE.
        assert_eq!(lines, vec![2, 13, 14, 15, 16, 17]);
        assert!(f.notes[5].message.contains("INCLUDE"), "{:?}", f.notes);
        assert_eq!(f.tokens[0].permission, "CREATE");
        // Other unknown commands still fail, naming the line.
        let e = parse_datasource_file("SCHEMA >\n  a Int32\n\nENGINE MergeTree\nIMPORTED x\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("IMPORTED is not a valid option"),
            "{e}"
        );
        assert!(parse_datasource_file("TOKEN t DELETE\nSCHEMA >\n  a Int32\n").is_err());
    }

    #[test]
    fn kafka_meta_columns_are_added_and_usable_in_keys() {
        let text = "SCHEMA >\n    `v` String `json:$.v`\n\nENGINE \"MergeTree\"\nENGINE_PARTITION_KEY \"toYYYYMM(__timestamp)\"\nENGINE_SORTING_KEY \"__timestamp\"\n\nKAFKA_CONNECTION_NAME 'k'\nKAFKA_TOPIC 't'\nKAFKA_KEY_AVRO_DESERIALIZATION ''\n";
        let ds = parse_datasource("k", text).unwrap();
        let names: Vec<&str> = ds.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "v",
                "__value",
                "__topic",
                "__partition",
                "__offset",
                "__timestamp",
                "__key"
            ]
        );
        assert_eq!(ds.partition, PartitionKey::YearMonth(5));
        assert_eq!(ds.sorting_key, vec![5]);
        assert_eq!(ds.columns[2].ty, ColumnType::LowCardinalityString);
        assert_eq!(ds.columns[3].ty, ColumnType::Int16);
        assert_eq!(ds.columns[5].path, vec!["__timestamp"]);
        assert_eq!(ds.columns[5].default, Some(DefaultValue::Now));
        // Without a Kafka connector the names are unknown, as in ClickHouse.
        let e = parse_datasource(
            "k",
            "SCHEMA >\n  v String\n\nENGINE_SORTING_KEY __timestamp\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("unknown column '__timestamp'"),
            "{e}"
        );
    }

    #[test]
    fn kafka_headers_and_dynamodb_meta_columns_are_added() {
        let text = "SCHEMA >\n    `v` String `json:$.v`\n\nKAFKA_CONNECTION_NAME 'k'\nKAFKA_TOPIC 't'\nKAFKA_STORE_HEADERS 'True'\n";
        let ds = parse_datasource("k", text).unwrap();
        let headers = ds.columns.last().unwrap();
        assert_eq!(headers.name, "__headers");
        assert_eq!(headers.ty, ColumnType::Values);
        assert_eq!(
            headers.declared.as_ref().map(|t| t.to_string()).as_deref(),
            Some("Map(String, String)")
        );
        // Without KAFKA_STORE_HEADERS there are no headers.
        let ds = parse_datasource("k", &text.replace("'True'", "'False'")).unwrap();
        assert!(ds.column_index("__headers").is_none());

        // A DynamoDB datasource names `_timestamp` and `_is_deleted` in its engine settings
        // without declaring them.
        let text = "SCHEMA >\n    `id` String `json:$.id`,\n    `_record` String `json:$._record`\n\nENGINE \"ReplacingMergeTree\"\nENGINE_SORTING_KEY \"id\"\nENGINE_VER \"_timestamp\"\n\nIMPORT_SERVICE 'dynamodb'\nIMPORT_CONNECTION_NAME 'c'\nIMPORT_TABLE_ARN 'arn'\n";
        let f = parse_datasource_file(text).unwrap();
        let note = f
            .notes
            .iter()
            .find(|n| n.message.contains("DynamoDB"))
            .unwrap();
        assert_eq!(note.line, 9);
        assert!(
            note.message
                .contains("_old_record, _timestamp, _event_name, _is_deleted added"),
            "{}",
            note.message
        );
        let ds = Datasource::from_file("d", &f).unwrap();
        let names: Vec<&str> = ds.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "id",
                "_record",
                "_old_record",
                "_timestamp",
                "_event_name",
                "_is_deleted"
            ]
        );
        assert!(ds.columns[2].nullable);
        assert_eq!(ds.columns[3].ty, ColumnType::DateTime64);
        assert_eq!(ds.columns[3].default, Some(DefaultValue::Now));
        assert_eq!(ds.columns[4].ty, ColumnType::LowCardinalityString);
        assert_eq!(ds.columns[5].ty, ColumnType::UInt8);
        assert_eq!(ds.version_column, Some(3));
        // Another import service adds nothing.
        let e = parse_datasource("d", &text.replace("'dynamodb'", "'s3'")).unwrap_err();
        assert!(
            e.to_string()
                .contains("version column '_timestamp' is not a column"),
            "{e}"
        );
    }

    #[test]
    fn json_columns_are_left_out_with_a_note() {
        let text = "SCHEMA >\n    `at` DateTime `json:$.at`,\n    `kind` String `json:$.data.type` DEFAULT 'unknown',\n    `event` JSON `json:$` DEFAULT '{}'\n";
        let f = parse_datasource_file(text).unwrap();
        assert_eq!(f.columns[2].ty.to_string(), "JSON");
        assert_eq!(f.notes.len(), 1);
        assert_eq!(f.notes[0].line, 4);
        assert!(
            f.notes[0].message.contains("'event' (JSON)"),
            "{:?}",
            f.notes
        );
        let ds = Datasource::from_file("j", &f).unwrap();
        let names: Vec<&str> = ds.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["at", "kind"]);
        // A table of JSON columns only is refused, naming the column.
        let e = parse_datasource("j", "SCHEMA >\n    `e` JSON `json:$`\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("not supported: JSON columns (column 'e')"),
            "{e}"
        );
    }
}
