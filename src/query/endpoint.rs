//! Query results in Tinybird's endpoint JSON: `{meta, data, rows, statistics}`.

use crate::time;
use std::fmt::Write as _;

/// One result value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL; printed as `null`.
    Null,
    /// Any unsigned integer type.
    UInt(u64),
    /// Any signed integer type.
    Int(i64),
    /// `Float32`, printed with the shortest text that reads back as the same `f32`.
    Float32(f32),
    /// `Float64`, printed with the shortest text that reads back as the same `f64`.
    Float64(f64),
    /// `Bool`.
    Bool(bool),
    /// `String`.
    Str(String),
    /// `Date`: days since 1970-01-01.
    Date(i64),
    /// `DateTime`: seconds since the epoch, UTC.
    DateTime(i64),
    /// `DateTime64(3)`: milliseconds since the epoch, UTC.
    DateTime64(i64),
    /// `Array(T)`.
    Array(Vec<Value>),
    /// The state of an aggregate (`AggregateFunction(…)`), as `-State` gives it and `-Merge`
    /// reads it. It is not written out: results holding one are refused.
    State(std::sync::Arc<super::state::AggState>),
    /// `Map(K, V)`: its key-value pairs in order; printed as a JSON object.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// Appends this value as JSON, the way ClickHouse's JSON output format writes it
    /// (64-bit integers unquoted, non-finite floats as `null`, times as strings).
    pub fn write_json(&self, out: &mut String) {
        self.write_json_as(out, false);
    }

    /// `write_json`, with non-finite floats as the strings `"nan"`, `"inf"` and `"-inf"` when
    /// `quote_denormals` (ClickHouse's `output_format_json_quote_denormals`), so that they can
    /// be told from `NULL`.
    pub fn write_json_as(&self, out: &mut String, quote_denormals: bool) {
        match self {
            Value::Null => out.push_str("null"),
            Value::UInt(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Float32(v) => write_float(out, f64::from(*v), Some(*v), quote_denormals),
            Value::Float64(v) => write_float(out, *v, None, quote_denormals),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Str(s) => write_json_string(out, s),
            Value::Date(d) => write_json_string(out, &time::format_date(*d)),
            Value::DateTime(s) => write_json_string(out, &time::format_datetime(*s)),
            Value::DateTime64(ms) => write_json_string(out, &time::format_datetime64(*ms)),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json_as(out, quote_denormals);
                }
                out.push(']');
            }
            // Not written out (results holding states are refused); a placeholder if asked.
            Value::State(_) => out.push_str("null"),
            Value::Map(pairs) => {
                out.push('{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // Keys are JSON strings, whatever their type, as ClickHouse writes them.
                    let mut key = String::new();
                    k.write_json_as(&mut key, quote_denormals);
                    if key.starts_with('"') {
                        out.push_str(&key);
                    } else {
                        write_json_string(out, &key);
                    }
                    out.push(':');
                    v.write_json_as(out, quote_denormals);
                }
                out.push('}');
            }
        }
    }
}

fn write_float(out: &mut String, v: f64, as_f32: Option<f32>, quote_denormals: bool) {
    if !v.is_finite() {
        out.push_str(match (quote_denormals, v.is_nan(), v > 0.0) {
            (false, _, _) => "null",
            (true, true, _) => "\"nan\"",
            (true, false, true) => "\"inf\"",
            (true, false, false) => "\"-inf\"",
        });
        return;
    }
    match as_f32 {
        Some(f) => write_shortest(out, f),
        None => write_shortest(out, v),
    }
}

/// Writes a finite float as ClickHouse does: the shortest digits that read back as the same
/// value (of its own width), in plain decimal notation when the decimal exponent is from -6 to
/// 20, else as `1e-7`, `1.5e21`.
fn write_shortest<T>(out: &mut String, v: T)
where
    T: std::fmt::Display + std::fmt::LowerExp + std::str::FromStr + PartialEq + Copy,
{
    let sci = format!("{v:e}");
    let exponent: i32 = sci
        .rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0);
    if (-6..21).contains(&exponent) {
        out.push_str(&even_on_tie(format!("{v}"), v));
    } else {
        out.push_str(&sci);
    }
}

/// Where the value lies exactly halfway between two shortest texts, the one whose last digit is
/// even, as ClickHouse (dragonbox) picks it: `600.02398681640625` is `600.0239868164062`.
fn even_on_tie<T>(text: String, v: T) -> String
where
    T: std::fmt::Display + std::str::FromStr + PartialEq + Copy,
{
    let Some(point) = text.find('.') else {
        return text;
    };
    let Some(last) = text.bytes().last().filter(|d| d.is_ascii_digit()) else {
        return text;
    };
    if (last - b'0') % 2 == 0 {
        return text;
    }
    for alt_digit in [last - 1, last + 1] {
        if alt_digit > b'9' {
            continue;
        }
        let mut alt = text.clone();
        alt.pop();
        alt.push(char::from(alt_digit));
        if alt.parse::<T>().ok() != Some(v) {
            continue;
        }
        // The midpoint of the two texts, and whether it is exactly the value.
        let mut mid = if alt_digit < last {
            alt.clone()
        } else {
            text.clone()
        };
        mid.push('5');
        let fraction = mid.len() - point - 1;
        let exact = format!("{:.*}", fraction + 40, v);
        if exact.starts_with(&mid) && exact[mid.len()..].bytes().all(|b| b == b'0') {
            return alt;
        }
    }
    text
}

/// The text `toString` gives a float: as in JSON, with `nan`, `inf` and `-inf`.
pub fn float_text(v: f64, as_f32: Option<f32>) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut out = String::new();
    write_float(&mut out, v, as_f32, false);
    out
}

/// Appends `s` as a JSON string literal.
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// A result column's name and ClickHouse type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Column name.
    pub name: String,
    /// ClickHouse type name, e.g. `UInt64`, `Float64`, `Array(Float64)`.
    pub ty: String,
}

/// What a query read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Statistics {
    /// Seconds the query took.
    pub elapsed: f64,
    /// Rows scanned (rows of skipped blocks are not counted).
    pub rows_read: u64,
    /// Bytes of column data scanned.
    pub bytes_read: u64,
}

/// A query result in Tinybird's endpoint shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// Result columns.
    pub meta: Vec<Meta>,
    /// Rows, each with one value per column of `meta`.
    pub data: Vec<Vec<Value>>,
    /// What was read.
    pub statistics: Statistics,
}

impl Endpoint {
    /// Number of result rows.
    pub fn rows(&self) -> usize {
        self.data.len()
    }

    /// The value of column `name` in row `row`.
    pub fn get(&self, row: usize, name: &str) -> Option<&Value> {
        let c = self.meta.iter().position(|m| m.name == name)?;
        self.data.get(row)?.get(c)
    }

    /// The endpoint JSON text: `{"meta":[…],"data":[{…}],"rows":N,"statistics":{…}}`.
    pub fn to_json(&self) -> String {
        self.json(false)
    }

    /// `to_json` with non-finite floats written as `"nan"`, `"inf"` and `"-inf"`, as
    /// ClickHouse writes them with `output_format_json_quote_denormals = 1`: a `NULL` and a
    /// NaN of a `Nullable` float column are then told apart.
    pub fn to_json_quoting_denormals(&self) -> String {
        self.json(true)
    }

    fn json(&self, quote_denormals: bool) -> String {
        let mut out = String::with_capacity(128 + self.data.len() * 16 * self.meta.len().max(1));
        out.push_str("{\"meta\":[");
        for (i, m) in self.meta.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"name\":");
            write_json_string(&mut out, &m.name);
            out.push_str(",\"type\":");
            write_json_string(&mut out, &m.ty);
            out.push('}');
        }
        out.push_str("],\"data\":[");
        let keys: Vec<String> = self
            .meta
            .iter()
            .map(|m| {
                let mut k = String::new();
                write_json_string(&mut k, &m.name);
                k
            })
            .collect();
        for (r, row) in self.data.iter().enumerate() {
            if r > 0 {
                out.push(',');
            }
            out.push('{');
            for (c, v) in row.iter().enumerate() {
                if c > 0 {
                    out.push(',');
                }
                out.push_str(keys.get(c).map_or("\"\"", |k| k.as_str()));
                out.push(':');
                v.write_json_as(&mut out, quote_denormals);
            }
            out.push('}');
        }
        let _ = write!(
            out,
            "],\"rows\":{},\"statistics\":{{\"elapsed\":",
            self.data.len()
        );
        write_float(&mut out, self.statistics.elapsed, None, false);
        let _ = write!(
            out,
            ",\"rows_read\":{},\"bytes_read\":{}}}}}",
            self.statistics.rows_read, self.statistics.bytes_read
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_number_formats() {
        let e = Endpoint {
            meta: vec![
                Meta {
                    name: "m".into(),
                    ty: "String".into(),
                },
                Meta {
                    name: "n".into(),
                    ty: "UInt64".into(),
                },
                Meta {
                    name: "f".into(),
                    ty: "Float64".into(),
                },
                Meta {
                    name: "g".into(),
                    ty: "Float32".into(),
                },
                Meta {
                    name: "t".into(),
                    ty: "DateTime".into(),
                },
            ],
            data: vec![vec![
                Value::Str("a\"<b>\n".into()),
                Value::UInt(u64::MAX),
                Value::Float64(0.1 + 0.2),
                Value::Float32(0.1),
                Value::DateTime(1_704_067_200),
            ]],
            statistics: Statistics {
                elapsed: 0.0,
                rows_read: 3,
                bytes_read: 12,
            },
        };
        let j = e.to_json();
        assert_eq!(
            j,
            r#"{"meta":[{"name":"m","type":"String"},{"name":"n","type":"UInt64"},{"name":"f","type":"Float64"},{"name":"g","type":"Float32"},{"name":"t","type":"DateTime"}],"data":[{"m":"a\"<b>\n","n":18446744073709551615,"f":0.30000000000000004,"g":0.1,"t":"2024-01-01 00:00:00"}],"rows":1,"statistics":{"elapsed":0,"rows_read":3,"bytes_read":12}}"#
        );
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["rows"], 1);
        let mut s = String::new();
        Value::Float64(f64::NAN).write_json(&mut s);
        Value::Float64(1e300).write_json(&mut s);
        Value::Float64(-2.5).write_json(&mut s);
        assert_eq!(s, "null1e300-2.5");
    }
}
