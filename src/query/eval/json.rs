//! The JSON functions on strings: `JSONHas`, `JSONLength`, `JSONExtract*` (a full parse of
//! the document, as ClickHouse's simdjson-based functions do: a document that is not valid JSON
//! gives the type's default) and `simpleJSON*`/`visitParam*` (a search for `"key":` in the
//! text, with no parse).
//!
//! The parser is iterative and keeps the document as a flat list of nodes, so no input can
//! exhaust the stack; as in simdjson, more than [`MAX_DEPTH`] nested arrays and objects make
//! the document invalid. Every result is at most a few times the size of its input text.

use super::super::column::{from_values, value_str, Col};
use super::super::endpoint::float_text;
use super::super::types::DataType;
use super::super::Value;
use super::arrays::MAX_ARRAY_ELEMENTS;
use super::strings::{per_entry, per_entry_values, recode};
use super::{BExpr, FCall, F};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// The deepest nesting of arrays and objects a document may have (simdjson's default).
pub const MAX_DEPTH: usize = 1024;

/// The most nested `Array(`/`Nullable(` levels the type of `JSONExtract` may have.
const MAX_TYPE_NESTING: usize = 16;

/// One step of a path into a document: an object key, or a 1-based index (negative from the
/// end) into an array or an object's members.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An object's member by key (the first one of that key).
    Key(String),
    /// An element (or member) by position.
    Index(i64),
}

/// What a JSON function computes from the value its path leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonOp {
    /// `JSONHas`.
    Has,
    /// `JSONLength`.
    Length,
    /// `JSONExtractString`.
    String,
    /// `JSONExtractRaw`.
    Raw,
    /// `JSONExtractInt`.
    Int,
    /// `JSONExtractUInt`.
    UInt,
    /// `JSONExtractFloat`.
    Float,
    /// `JSONExtractBool`.
    Bool,
    /// `JSONExtractKeys`.
    Keys,
    /// `JSONExtractArrayRaw`.
    ArrayRaw,
    /// `JSONExtract(…, 'T')`: the value as type `T`.
    Typed(DataType),
    /// `JSON_VALUE`: a scalar's text (a string unquoted), `''` for an object or array.
    JsonValue,
    /// `simpleJSONHas` / `visitParamHas`.
    SimpleHas,
    /// `simpleJSONExtractString`.
    SimpleString,
    /// `simpleJSONExtractRaw`.
    SimpleRaw,
    /// `simpleJSONExtractInt`.
    SimpleInt,
    /// `simpleJSONExtractUInt`.
    SimpleUInt,
    /// `simpleJSONExtractFloat`.
    SimpleFloat,
    /// `simpleJSONExtractBool`.
    SimpleBool,
}

/// A bound JSON function: what it computes and the constant path it follows.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonFn {
    /// What it computes.
    pub op: JsonOp,
    /// The path (for the `simpleJSON` functions, the one key).
    pub path: Vec<Step>,
}

const SIMPLE: &[(&str, JsonOp)] = &[
    ("Has", JsonOp::SimpleHas),
    ("ExtractString", JsonOp::SimpleString),
    ("ExtractRaw", JsonOp::SimpleRaw),
    ("ExtractInt", JsonOp::SimpleInt),
    ("ExtractUInt", JsonOp::SimpleUInt),
    ("ExtractFloat", JsonOp::SimpleFloat),
    ("ExtractBool", JsonOp::SimpleBool),
];

/// The operation of a JSON function name (`JSONExtract` aside, whose type is an argument).
fn op_of(name: &str) -> Option<JsonOp> {
    if let Some(rest) = name
        .strip_prefix("simpleJSON")
        .or_else(|| name.strip_prefix("visitParam"))
    {
        return SIMPLE
            .iter()
            .find(|(n, _)| *n == rest)
            .map(|(_, op)| op.clone());
    }
    Some(match name {
        "JSONHas" => JsonOp::Has,
        "JSONLength" => JsonOp::Length,
        "JSONExtractString" => JsonOp::String,
        "JSONExtractRaw" => JsonOp::Raw,
        "JSONExtractInt" => JsonOp::Int,
        "JSONExtractUInt" => JsonOp::UInt,
        "JSONExtractFloat" => JsonOp::Float,
        "JSONExtractBool" => JsonOp::Bool,
        "JSONExtractKeys" => JsonOp::Keys,
        "JSONExtractArrayRaw" => JsonOp::ArrayRaw,
        "JSONExtract" => JsonOp::Typed(DataType::Nothing),
        "JSON_VALUE" => JsonOp::JsonValue,
        _ => return None,
    })
}

/// Whether `name` is one of the JSON functions of the subset (or `JSONType`, refused).
pub fn is_json_function(name: &str) -> bool {
    name == "JSONType" || op_of(name).is_some()
}

/// Whether the JSON function `name` gives a plain result for a low-cardinality argument (the
/// full-parse functions do; `simpleJSON*`/`visitParam*` give `LowCardinality`).
pub fn json_drops_low_cardinality(name: &str) -> bool {
    name.starts_with("JSON")
}

/// The types `JSONExtract(…, 'T')` can produce.
fn typed_ok(t: &DataType) -> bool {
    match t {
        DataType::Nullable(inner) => !matches!(**inner, DataType::Array(_)) && typed_ok(inner),
        DataType::Array(inner) => typed_ok(inner),
        t => t.is_int() || t.is_float() || *t == DataType::Bool || *t == DataType::String,
    }
}

/// Binds a JSON function whose arguments are bound: the document, then the constant path (and
/// for `JSONExtract` the type name last).
pub fn bind(name: &str, mut args: Vec<BExpr>) -> Result<BExpr> {
    if name == "JSONType" {
        return Err(Error::unsupported(
            "function JSONType (its Enum8 result type is outside the subset)",
        ));
    }
    let mut op = op_of(name).ok_or_else(|| Error::unsupported(format!("function {name}")))?;
    let illegal = |args: &[BExpr]| {
        let types: Vec<String> = args.iter().map(|a| a.ty.to_string()).collect();
        Error::query(format!(
            "illegal types ({}) of arguments of function {name}",
            types.join(", ")
        ))
    };
    if args.is_empty() || !args[0].ty.is_string() {
        return Err(illegal(&args));
    }
    let simple = name.starts_with("simpleJSON") || name.starts_with("visitParam");
    // ClickHouse refuses a `LowCardinality(Nullable(String))` column here (when it runs).
    let t = &args[0].ty;
    if !simple && t.is_nullable() && t.is_low_cardinality() && args[0].as_const().is_none() {
        return Err(Error::query(format!(
            "the first argument of function {name} should be a string containing JSON, illegal \
             type: Nullable(String) (ILLEGAL_TYPE_OF_ARGUMENT)"
        )));
    }
    if simple && args.len() != 2 {
        return Err(Error::query(format!(
            "{name}() takes 2 arguments, got {}",
            args.len()
        )));
    }
    if op == JsonOp::JsonValue {
        if args.len() != 2 {
            return Err(Error::query(format!(
                "{name}() takes 2 arguments, got {}",
                args.len()
            )));
        }
        let path = match args[1].as_const() {
            Some(Value::Str(p)) => json_path(p)?,
            _ if args[1].ty.is_string() => {
                return Err(Error::unsupported(format!(
                    "{name} with a path that is not a constant string"
                )))
            }
            _ => return Err(illegal(&args)),
        };
        args.truncate(1);
        return Ok(BExpr::call(
            F::Json(Box::new(JsonFn { op, path })),
            args,
            DataType::String,
        ));
    }
    if let JsonOp::Typed(_) = op {
        let last = if args.len() >= 2 { args.pop() } else { None };
        let t = match last.as_ref().and_then(BExpr::as_const) {
            Some(Value::Str(s)) => s.clone(),
            _ => {
                return Err(Error::query(format!(
                    "{name}() needs the name of the result type as its last argument, a \
                     constant string"
                )))
            }
        };
        // The type's nesting is bounded before it is read (its reader recurses).
        let ty = (t.matches('(').count() <= MAX_TYPE_NESTING)
            .then(|| DataType::from_name(&t))
            .flatten()
            .filter(typed_ok)
            .ok_or_else(|| Error::unsupported(format!("{name} to type {t}")))?;
        op = JsonOp::Typed(ty);
    }
    let mut path = Vec::with_capacity(args.len().saturating_sub(1));
    for (i, a) in args.iter().enumerate().skip(1) {
        let step = match a.as_const() {
            Some(Value::Str(s)) => Step::Key(s.clone()),
            // ClickHouse keeps the low 32 bits of an index, as a signed number.
            Some(Value::UInt(u)) if !simple => Step::Index(i64::from(*u as u32 as i32)),
            Some(Value::Int(v)) if !simple => Step::Index(i64::from(*v as i32)),
            _ if a.ty.is_string() || (!simple && a.ty.is_int()) => {
                return Err(Error::unsupported(format!(
                    "{name} with a path argument that is not constant (argument {})",
                    i + 1
                )))
            }
            _ => {
                return Err(Error::query(format!(
                    "argument {} of function {name} should be a string specifying key or an \
                     integer specifying index, illegal type: {}",
                    i + 1,
                    a.ty
                )))
            }
        };
        path.push(step);
    }
    let ty = match &op {
        JsonOp::Has | JsonOp::Bool | JsonOp::SimpleHas | JsonOp::SimpleBool => DataType::UInt8,
        JsonOp::Length => DataType::UInt64,
        JsonOp::String
        | JsonOp::Raw
        | JsonOp::SimpleString
        | JsonOp::SimpleRaw
        | JsonOp::JsonValue => DataType::String,
        JsonOp::Int | JsonOp::SimpleInt => DataType::Int64,
        JsonOp::UInt | JsonOp::SimpleUInt => DataType::UInt64,
        JsonOp::Float | JsonOp::SimpleFloat => DataType::Float64,
        JsonOp::Keys | JsonOp::ArrayRaw => DataType::Array(Box::new(DataType::String)),
        JsonOp::Typed(t) => t.clone(),
    };
    if args[0].ty.is_nullable() && matches!(ty, DataType::Array(_)) {
        return Err(Error::query(format!(
            "{name}: nested type {ty} cannot be inside Nullable type"
        )));
    }
    args.truncate(1);
    Ok(BExpr::call(
        F::Json(Box::new(JsonFn { op, path })),
        args,
        ty,
    ))
}

/// The steps of a JSONPath as `JSON_VALUE` takes it: `$` and then `.key`, `."key"`,
/// `["key"]` and `[n]` (0-based); wildcards, ranges and filters are refused.
fn json_path(p: &str) -> Result<Vec<Step>> {
    let bad = || Error::query(format!("unable to parse JSONPath '{p}' (BAD_ARGUMENTS)"));
    let refused = || {
        Error::unsupported(format!(
            "JSONPath '{p}' (only $, .key, [\"key\"] and [n] are)"
        ))
    };
    let b = p.trim().as_bytes();
    if b.first() != Some(&b'$') {
        return Err(bad());
    }
    let mut steps = Vec::new();
    let mut i = 1;
    let quoted = |i: &mut usize, q: u8| -> Result<String> {
        let start = *i + 1;
        let end = (start..b.len()).find(|k| b[*k] == q).ok_or_else(bad)?;
        *i = end + 1;
        Ok(String::from_utf8_lossy(&b[start..end]).into_owned())
    };
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                match b.get(i) {
                    Some(q @ (b'"' | b'\'')) => steps.push(Step::Key(quoted(&mut i, *q)?)),
                    Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => {
                        let start = i;
                        while b
                            .get(i)
                            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                        {
                            i += 1;
                        }
                        steps.push(Step::Key(
                            String::from_utf8_lossy(&b[start..i]).into_owned(),
                        ));
                    }
                    Some(b'*') => return Err(refused()),
                    _ => return Err(bad()),
                }
            }
            b'[' => {
                i += 1;
                while b.get(i) == Some(&b' ') {
                    i += 1;
                }
                match b.get(i) {
                    Some(q @ (b'"' | b'\'')) => steps.push(Step::Key(quoted(&mut i, *q)?)),
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                        let k: i64 = std::str::from_utf8(&b[start..i])
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .ok_or_else(bad)?;
                        steps.push(Step::Index(k.saturating_add(1)));
                    }
                    _ => return Err(refused()),
                }
                while b.get(i) == Some(&b' ') {
                    i += 1;
                }
                if b.get(i) != Some(&b']') {
                    return Err(refused());
                }
                i += 1;
            }
            b' ' => i += 1,
            _ => return Err(bad()),
        }
    }
    Ok(steps)
}

/// Computes `j` over the documents in `c` (no `NULL` rows).
pub(super) fn call<'a>(fc: &FCall, j: &JsonFn, c: &Col<'a>, n: usize) -> Result<Col<'a>> {
    match &j.op {
        JsonOp::String
        | JsonOp::Raw
        | JsonOp::SimpleString
        | JsonOp::SimpleRaw
        | JsonOp::JsonValue => recode(fc, c, n, |s| match compute(j, s) {
            Value::Str(s) => s,
            _ => String::new(),
        }),
        JsonOp::Has | JsonOp::Bool | JsonOp::SimpleHas | JsonOp::SimpleBool => {
            per_entry(fc, c, n, false, |s| Ok(bits(&compute(j, s))))
        }
        JsonOp::Length | JsonOp::UInt | JsonOp::SimpleUInt => {
            per_entry(fc, c, n, true, |s| Ok(bits(&compute(j, s))))
        }
        JsonOp::Int | JsonOp::SimpleInt => {
            let u = per_entry(fc, c, n, true, |s| Ok(bits(&compute(j, s))))?;
            Ok(match u {
                Col::Const(v) => Col::Const(Value::Int(bits(&v) as i64)),
                other => Col::I(Cow::Owned(
                    other.u64s(n).iter().map(|x| *x as i64).collect(),
                )),
            })
        }
        JsonOp::Float | JsonOp::SimpleFloat => {
            let u = per_entry(fc, c, n, true, |s| Ok(bits(&compute(j, s))))?;
            Ok(match u {
                Col::Const(v) => Col::Const(Value::Float64(f64::from_bits(bits(&v)))),
                other => Col::F(Cow::Owned(
                    other.u64s(n).iter().map(|x| f64::from_bits(*x)).collect(),
                )),
            })
        }
        JsonOp::Keys | JsonOp::ArrayRaw | JsonOp::Typed(_) => {
            let ty = match &j.op {
                JsonOp::Typed(t) => t.clone(),
                _ => DataType::Array(Box::new(DataType::String)),
            };
            if let Col::Const(v) = c {
                return Ok(Col::Const(compute(j, &value_str(v))));
            }
            // Arrays count against the array functions' bound, as each row holds its own.
            let values = per_entry_values(
                &c.strs(n),
                MAX_ARRAY_ELEMENTS,
                "a JSON function",
                "array elements",
                |s| compute(j, s),
                count_elements,
            )?;
            Ok(from_values(values, &ty))
        }
    }
}

/// The array elements in `v`, nested ones included.
fn count_elements(v: &Value) -> usize {
    match v {
        Value::Array(items) => items
            .iter()
            .fold(items.len(), |k, x| k.saturating_add(count_elements(x))),
        _ => 0,
    }
}

/// A scalar result as the 64 bits `per_entry` carries: unsigned integers as they are, signed
/// ones as their two's complement, floats as their bits.
fn bits(v: &Value) -> u64 {
    match v {
        Value::UInt(u) => *u,
        Value::Int(i) => *i as u64,
        Value::Float64(f) => f.to_bits(),
        Value::Bool(b) => u64::from(*b),
        _ => 0,
    }
}

/// The result of `j` for one document.
pub fn compute(j: &JsonFn, text: &str) -> Value {
    match &j.op {
        JsonOp::SimpleHas
        | JsonOp::SimpleString
        | JsonOp::SimpleRaw
        | JsonOp::SimpleInt
        | JsonOp::SimpleUInt
        | JsonOp::SimpleFloat
        | JsonOp::SimpleBool => simple(j, text),
        _ => {
            let doc = Doc::parse(text);
            let found = doc.as_ref().and_then(|d| d.find(&j.path).map(|i| (d, i)));
            full(&j.op, found)
        }
    }
}

fn full(op: &JsonOp, found: Option<(&Doc, usize)>) -> Value {
    match op {
        JsonOp::Has => Value::UInt(u64::from(found.is_some())),
        JsonOp::Length => Value::UInt(found.map_or(0, |(d, i)| match d.nodes[i].kind {
            Kind::Arr | Kind::Obj => u64::from(d.nodes[i].count),
            _ => 0,
        })),
        JsonOp::String => Value::Str(found.map_or(String::new(), |(d, i)| d.as_string(i))),
        JsonOp::Raw => Value::Str(found.map_or(String::new(), |(d, i)| d.raw(i))),
        JsonOp::Int => Value::Int(found.map_or(0, |(d, i)| match &d.nodes[i].kind {
            Kind::Int(v) => *v,
            Kind::Float(f) | Kind::Big(f) => float_to_i64(*f).unwrap_or(0),
            Kind::Str(s) => {
                str_number(&d.strs[*s as usize], &DataType::Int64).map_or(0, |v| super::const_i(&v))
            }
            _ => 0,
        })),
        JsonOp::UInt => Value::UInt(found.map_or(0, |(d, i)| {
            match &d.nodes[i].kind {
                Kind::Int(v) => u64::try_from(*v).unwrap_or(0),
                Kind::UInt(v) => *v,
                Kind::Float(f) | Kind::Big(f) => float_to_u64(*f).unwrap_or(0),
                Kind::Str(s) => str_number(&d.strs[*s as usize], &DataType::UInt64)
                    .map_or(0, |v| super::const_u(&v)),
                _ => 0,
            }
        })),
        JsonOp::Float => Value::Float64(found.map_or(0.0, |(d, i)| match &d.nodes[i].kind {
            Kind::Int(v) => *v as f64,
            Kind::UInt(v) => *v as f64,
            Kind::Float(f) | Kind::Big(f) => *f,
            Kind::Str(s) => d.strs[*s as usize].parse::<f64>().unwrap_or(0.0),
            _ => 0.0,
        })),
        JsonOp::Bool => Value::UInt(found.map_or(0, |(d, i)| match &d.nodes[i].kind {
            Kind::True => 1,
            Kind::Int(v) => u64::from(*v != 0),
            Kind::UInt(v) => u64::from(*v != 0),
            _ => 0,
        })),
        JsonOp::Keys => Value::Array(found.map_or(Vec::new(), |(d, i)| {
            if d.nodes[i].kind != Kind::Obj {
                return Vec::new();
            }
            d.children(i)
                .map(|(k, _)| Value::Str(k.map(|k| d.as_string(k)).unwrap_or_default()))
                .collect()
        })),
        JsonOp::ArrayRaw => Value::Array(found.map_or(Vec::new(), |(d, i)| {
            if d.nodes[i].kind != Kind::Arr {
                return Vec::new();
            }
            d.children(i).map(|(_, v)| Value::Str(d.raw(v))).collect()
        })),
        JsonOp::Typed(t) => {
            let v = found.and_then(|(d, i)| typed(d, i, t));
            v.unwrap_or_else(|| fallback(t))
        }
        JsonOp::JsonValue => Value::Str(found.map_or(
            String::new(),
            |(d, i)| match &d.nodes[i].kind {
                Kind::Str(s) => d.strs[*s as usize].clone(),
                Kind::Null => "null".to_string(),
                Kind::Big(_) => d.span_text(i).to_string(),
                Kind::Obj | Kind::Arr => String::new(),
                _ => d.raw(i),
            },
        )),
        _ => Value::Null,
    }
}

/// The value at node `i` as type `t`, as `JSONExtract(…, 'T')` converts it; `None` where it
/// does not convert (the type's default, or `NULL` for a `Nullable` type).
fn typed(d: &Doc, i: usize, t: &DataType) -> Option<Value> {
    let kind = &d.nodes[i].kind;
    match t {
        DataType::Nullable(inner) => typed(d, i, inner),
        DataType::Array(inner) => {
            if *kind != Kind::Arr {
                return None;
            }
            Some(Value::Array(
                d.children(i)
                    .map(|(_, v)| typed(d, v, inner).unwrap_or_else(|| fallback(inner)))
                    .collect(),
            ))
        }
        DataType::String => match kind {
            Kind::Null => None,
            _ => Some(Value::Str(d.as_string(i))),
        },
        DataType::Bool => match kind {
            Kind::True => Some(Value::Bool(true)),
            Kind::False => Some(Value::Bool(false)),
            Kind::Int(v) => Some(Value::Bool(*v != 0)),
            Kind::UInt(v) => Some(Value::Bool(*v != 0)),
            Kind::Float(f) | Kind::Big(f) => Some(Value::Bool(*f != 0.0)),
            _ => None,
        },
        t if t.is_float() => {
            let f = match kind {
                Kind::True => 1.0,
                Kind::False => 0.0,
                Kind::Int(v) => *v as f64,
                Kind::UInt(v) => *v as f64,
                Kind::Float(f) | Kind::Big(f) => *f,
                Kind::Str(s) => d.strs[*s as usize].parse::<f64>().ok()?,
                _ => return None,
            };
            Some(if *t == DataType::Float32 {
                Value::Float32(f as f32)
            } else {
                Value::Float64(f)
            })
        }
        t if t.is_int() => {
            let w: i128 = match kind {
                Kind::True => 1,
                Kind::False => 0,
                Kind::Int(v) => i128::from(*v),
                Kind::UInt(v) => i128::from(*v),
                Kind::Float(f) | Kind::Big(f) if f.is_finite() && f.abs() < 1.9e19 => {
                    f.trunc() as i128
                }
                Kind::Str(s) => match str_number(&d.strs[*s as usize], &DataType::Float64)? {
                    Value::Int(v) => i128::from(v),
                    Value::UInt(v) => i128::from(v),
                    Value::Float64(f) if f.is_finite() && f.abs() < 1.9e19 => f.trunc() as i128,
                    _ => return None,
                },
                _ => return None,
            };
            let bits = t.int_bits();
            let (lo, hi) = if t.is_signed() {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if !(lo..=hi).contains(&w) {
                return None;
            }
            Some(if t.is_signed() {
                Value::Int(w as i64)
            } else {
                Value::UInt(w as u64)
            })
        }
        _ => None,
    }
}

/// What `JSONExtract(…, 'T')` gives where the value does not convert: `NULL` for a
/// `Nullable` type, else the type's default.
fn fallback(t: &DataType) -> Value {
    if t.is_nullable() {
        Value::Null
    } else {
        super::super::column::default_value(t)
    }
}

/// A float as `Int64` by truncation, when it is in range.
fn float_to_i64(f: f64) -> Option<i64> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    (f.is_finite() && (-TWO_63..TWO_63).contains(&f)).then_some(f as i64)
}

/// A float as `UInt64` by truncation, when it is in range.
fn float_to_u64(f: f64) -> Option<u64> {
    const TWO_64: f64 = 18_446_744_073_709_551_616.0;
    (f.is_finite() && f > -1.0 && f < TWO_64).then_some(f as u64)
}

/// A JSON string holding a number, read as `JSONExtractInt`/`UInt` read it: an optional sign,
/// digits and, when there is a fraction or an exponent, a float then truncated. `None` when
/// the text is not such a number or is out of range of `to` (`Int64`, `UInt64`; `Float64`
/// gives the number as it is, integer or float).
fn str_number(s: &str, to: &DataType) -> Option<Value> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let integer = digits > 0 && i + digits == b.len();
    let plain = s.strip_prefix('+').unwrap_or(s);
    if integer {
        let w: i128 = plain.parse().ok()?;
        return match to {
            DataType::Int64 => i64::try_from(w).ok().map(Value::Int),
            DataType::UInt64 => u64::try_from(w).ok().map(Value::UInt),
            _ => i64::try_from(w)
                .map(Value::Int)
                .or_else(|_| u64::try_from(w).map(Value::UInt))
                .ok()
                .or_else(|| plain.parse::<f64>().ok().map(Value::Float64)),
        };
    }
    // A float in decimal notation only: no `inf`, `nan` or hexadecimal.
    if !b[i..]
        .iter()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    match to {
        DataType::Int64 => float_to_i64(f).map(Value::Int),
        DataType::UInt64 => float_to_u64(f).map(Value::UInt),
        _ => Some(Value::Float64(f)),
    }
}

/// The kinds of node of a parsed document.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Null,
    True,
    False,
    /// An integer that fits `Int64`.
    Int(i64),
    /// An integer above `Int64`'s range that fits `UInt64`.
    UInt(u64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// An integer outside `Int64` and `UInt64`: its value as a float, its text kept.
    Big(f64),
    /// A string: its decoded text, by index into the document's strings.
    Str(u32),
    Arr,
    Obj,
}

/// One node; an array's elements, and an object's keys and values alternately, follow it.
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    /// The index just after this node's subtree.
    next: u32,
    /// Elements of an array, members of an object.
    count: u32,
    /// Where its text starts and ends in the document (for `Big` numbers).
    span: (u32, u32),
}

/// A parsed document.
struct Doc<'t> {
    text: &'t str,
    nodes: Vec<Node>,
    strs: Vec<String>,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'t> Doc<'t> {
    /// Parses a whole document; `None` when it is not valid JSON (trailing text, more than
    /// [`MAX_DEPTH`] levels, numbers out of range, bad escapes or controls in strings).
    fn parse(text: &'t str) -> Option<Doc<'t>> {
        if text.len() >= u32::MAX as usize {
            return None;
        }
        let b = text.as_bytes();
        let mut d = Doc {
            text,
            nodes: Vec::new(),
            strs: Vec::new(),
        };
        let mut open: Vec<usize> = Vec::new();
        let mut pos = 0usize;
        let skip = |pos: &mut usize| {
            while *pos < b.len() && is_ws(b[*pos]) {
                *pos += 1;
            }
        };
        // Each turn reads a value, then closes what it completes.
        loop {
            skip(&mut pos);
            let start = pos;
            let c = *b.get(pos)?;
            let kind = match c {
                b'{' | b'[' => {
                    if open.len() >= MAX_DEPTH {
                        return None;
                    }
                    pos += 1;
                    skip(&mut pos);
                    let obj = c == b'{';
                    let idx = d.nodes.len();
                    d.nodes.push(Node {
                        kind: if obj { Kind::Obj } else { Kind::Arr },
                        next: 0,
                        count: 0,
                        span: (start as u32, 0),
                    });
                    let close = if obj { b'}' } else { b']' };
                    if b.get(pos) == Some(&close) {
                        pos += 1;
                        d.nodes[idx].next = d.nodes.len() as u32;
                        d.nodes[idx].span.1 = pos as u32;
                    } else {
                        open.push(idx);
                        if obj {
                            d.key(b, &mut pos)?;
                        }
                        continue;
                    }
                    None
                }
                b'"' => {
                    let s = string(b, &mut pos)?;
                    d.strs.push(s);
                    Some(Kind::Str((d.strs.len() - 1) as u32))
                }
                b't' | b'f' | b'n' => {
                    let (word, k): (&[u8], Kind) = match c {
                        b't' => (b"true", Kind::True),
                        b'f' => (b"false", Kind::False),
                        _ => (b"null", Kind::Null),
                    };
                    if !b[pos..].starts_with(word) {
                        return None;
                    }
                    pos += word.len();
                    // `truex` is not a literal.
                    if b.get(pos).is_some_and(|c| c.is_ascii_alphanumeric()) {
                        return None;
                    }
                    Some(k)
                }
                b'-' | b'0'..=b'9' => Some(number(b, &mut pos)?),
                _ => return None,
            };
            if let Some(kind) = kind {
                let idx = d.nodes.len();
                d.nodes.push(Node {
                    kind,
                    next: idx as u32 + 1,
                    count: 0,
                    span: (start as u32, pos as u32),
                });
            }
            // After a value: the separators and closings that follow it.
            loop {
                let Some(&top) = open.last() else {
                    skip(&mut pos);
                    return (pos == b.len()).then_some(d);
                };
                d.nodes[top].count += 1;
                skip(&mut pos);
                let obj = d.nodes[top].kind == Kind::Obj;
                match b.get(pos)? {
                    b',' => {
                        pos += 1;
                        if obj {
                            skip(&mut pos);
                            d.key(b, &mut pos)?;
                        }
                        break;
                    }
                    b'}' if obj => {}
                    b']' if !obj => {}
                    _ => return None,
                }
                pos += 1;
                d.nodes[top].next = d.nodes.len() as u32;
                d.nodes[top].span.1 = pos as u32;
                open.pop();
            }
        }
    }

    /// Reads `"key" :` into a key node.
    fn key(&mut self, b: &[u8], pos: &mut usize) -> Option<()> {
        if b.get(*pos) != Some(&b'"') {
            return None;
        }
        let start = *pos;
        let s = string(b, pos)?;
        self.strs.push(s);
        let idx = self.nodes.len();
        self.nodes.push(Node {
            kind: Kind::Str((self.strs.len() - 1) as u32),
            next: idx as u32 + 1,
            count: 0,
            span: (start as u32, *pos as u32),
        });
        while *pos < b.len() && is_ws(b[*pos]) {
            *pos += 1;
        }
        if b.get(*pos) != Some(&b':') {
            return None;
        }
        *pos += 1;
        Some(())
    }

    /// The children of container `i`: (key node, value node) for an object, (None, element)
    /// for an array.
    fn children(&self, i: usize) -> impl Iterator<Item = (Option<usize>, usize)> + '_ {
        let obj = self.nodes[i].kind == Kind::Obj;
        let mut at = i + 1;
        (0..self.nodes[i].count).map(move |_| {
            let key = obj.then_some(at);
            if obj {
                at += 1;
            }
            let v = at;
            at = self.nodes[v].next as usize;
            (key, v)
        })
    }

    /// The node the path leads to.
    fn find(&self, path: &[Step]) -> Option<usize> {
        let mut i = 0;
        for step in path {
            let node = &self.nodes[i];
            let len = i64::from(node.count);
            i = match (step, &node.kind) {
                (Step::Key(k), Kind::Obj) => {
                    self.children(i)
                        .find(|(key, _)| {
                            key.is_some_and(|key| match self.nodes[key].kind {
                                Kind::Str(s) => self.strs[s as usize] == *k,
                                _ => false,
                            })
                        })?
                        .1
                }
                (Step::Index(x), Kind::Obj | Kind::Arr) => {
                    let at = match *x {
                        x if x > 0 && x <= len => x - 1,
                        x if x < 0 && x >= -len => len + x,
                        _ => return None,
                    };
                    self.children(i).nth(at as usize)?.1
                }
                _ => return None,
            };
        }
        Some(i)
    }

    /// `JSONExtractString` of node `i`: a string's text, nothing for `null`, else the value
    /// written out (a big integer as its digits).
    fn as_string(&self, i: usize) -> String {
        match &self.nodes[i].kind {
            Kind::Str(s) => self.strs[*s as usize].clone(),
            Kind::Null => String::new(),
            Kind::Big(_) => self.span_text(i).to_string(),
            _ => self.raw(i),
        }
    }

    fn span_text(&self, i: usize) -> &str {
        let (a, b) = self.nodes[i].span;
        self.text.get(a as usize..b as usize).unwrap_or("")
    }

    /// Node `i` written out as ClickHouse writes it: no spaces, numbers in their shortest
    /// form, strings re-escaped, big integers quoted.
    fn raw(&self, i: usize) -> String {
        let mut out = String::new();
        // Open containers: (is object, nodes left: elements, or keys and values).
        let mut open: Vec<(bool, u32)> = Vec::new();
        let end = self.nodes[i].next as usize;
        let mut at = i;
        while at < end {
            let node = &self.nodes[at];
            match &node.kind {
                Kind::Null => out.push_str("null"),
                Kind::True => out.push_str("true"),
                Kind::False => out.push_str("false"),
                Kind::Int(v) => out.push_str(&v.to_string()),
                Kind::UInt(v) => out.push_str(&v.to_string()),
                Kind::Float(f) => out.push_str(&float_text(*f, None)),
                Kind::Big(_) => {
                    out.push('"');
                    out.push_str(self.span_text(at));
                    out.push('"');
                }
                Kind::Str(s) => write_string(&mut out, &self.strs[*s as usize]),
                Kind::Arr | Kind::Obj => {
                    let obj = node.kind == Kind::Obj;
                    out.push(if obj { '{' } else { '[' });
                    let members = node.count * if obj { 2 } else { 1 };
                    open.push((obj, members));
                    at += 1;
                    self.close_done(&mut out, &mut open, true);
                    continue;
                }
            }
            at += 1;
            self.close_done(&mut out, &mut open, false);
        }
        out
    }

    /// After a node is written (or a container opened, `opened`): the separator before the
    /// next node, and the closings of containers whose last node it was.
    fn close_done(&self, out: &mut String, open: &mut Vec<(bool, u32)>, opened: bool) {
        let mut opened = opened;
        while let Some((obj, left)) = open.last_mut() {
            if !opened {
                *left -= 1;
            }
            if *left == 0 {
                out.push(if *obj { '}' } else { ']' });
                open.pop();
                opened = false;
                continue;
            }
            if !opened {
                // In an object, an odd number left means a value comes next.
                out.push(if *obj && *left % 2 == 1 { ':' } else { ',' });
            }
            break;
        }
    }
}

/// Reads a JSON string at `pos` (its opening quote), decoded; `None` when it is invalid.
fn string(b: &[u8], pos: &mut usize) -> Option<String> {
    let mut out: Vec<u8> = Vec::new();
    let mut i = *pos + 1;
    loop {
        let c = *b.get(i)?;
        match c {
            b'"' => break,
            0..=0x1f => return None,
            b'\\' => {
                let e = *b.get(i + 1)?;
                i += 2;
                let ch = match e {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'u' => unicode_escape(b, &mut i)?,
                    _ => return None,
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    *pos = i + 1;
    String::from_utf8(out).ok()
}

/// The character of a `\uXXXX` escape whose hex digits start at `*i` (a surrogate pair taking
/// the `\uXXXX` after it too), moving `*i` past it; `None` for a lone or reversed surrogate.
fn unicode_escape(b: &[u8], i: &mut usize) -> Option<char> {
    let hi = hex4(b, *i)?;
    *i += 4;
    let code = if (0xD800..0xDC00).contains(&hi) {
        if b.get(*i) != Some(&b'\\') || b.get(*i + 1) != Some(&b'u') {
            return None;
        }
        let lo = hex4(b, *i + 2)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        *i += 6;
        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
    } else {
        // A lone low surrogate is no character: `from_u32` refuses it.
        hi
    };
    char::from_u32(code)
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let h = b.get(i..i + 4)?;
    let s = std::str::from_utf8(h).ok()?;
    if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// Reads a JSON number at `pos`, as simdjson classifies it.
fn number(b: &[u8], pos: &mut usize) -> Option<Kind> {
    let start = *pos;
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut float = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return None;
        }
        float = true;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
        float = true;
    }
    // A number runs into no letter: `1x` is not JSON.
    if b.get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
    {
        return None;
    }
    *pos = i;
    let text = std::str::from_utf8(&b[start..i]).ok()?;
    if !float {
        if let Ok(v) = text.parse::<i64>() {
            return Some(Kind::Int(v));
        }
        if let Ok(v) = text.parse::<u64>() {
            return Some(Kind::UInt(v));
        }
        return Some(Kind::Big(text.parse::<f64>().ok()?));
    }
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(Kind::Float(f))
}

/// Appends `s` as ClickHouse writes a JSON string: `"`, `\` and controls escaped (the rare
/// ones as `\u00XX`), U+2028 and U+2029 escaped, `/` as it is.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `simpleJSON*`/`visitParam*`: the text after the first `"key":`, read by the function's own
/// rule.
fn simple(j: &JsonFn, text: &str) -> Value {
    let key = match j.path.first() {
        Some(Step::Key(k)) => k.as_str(),
        _ => "",
    };
    let needle = format!("\"{key}\":");
    let at = text.find(&needle).map(|p| p + needle.len());
    let rest = at.map_or(&b""[..], |p| &text.as_bytes()[p..]);
    match j.op {
        JsonOp::SimpleHas => Value::UInt(u64::from(at.is_some())),
        JsonOp::SimpleBool => Value::UInt(u64::from(rest.starts_with(b"true"))),
        JsonOp::SimpleInt | JsonOp::SimpleUInt | JsonOp::SimpleFloat if at.is_none() => {
            match j.op {
                JsonOp::SimpleInt => Value::Int(0),
                JsonOp::SimpleUInt => Value::UInt(0),
                _ => Value::Float64(0.0),
            }
        }
        JsonOp::SimpleInt | JsonOp::SimpleUInt => {
            let r = rest.strip_prefix(b"\"").unwrap_or(rest);
            let mut i = 0;
            if matches!(r.first(), Some(b'+' | b'-')) {
                i = 1;
            }
            let d = r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let t = std::str::from_utf8(&r[..i + d]).unwrap_or("");
            let t = t.strip_prefix('+').unwrap_or(t);
            if j.op == JsonOp::SimpleInt {
                Value::Int(t.parse().unwrap_or(0))
            } else {
                Value::UInt(t.parse().unwrap_or(0))
            }
        }
        JsonOp::SimpleFloat => {
            let r = rest.strip_prefix(b"\"").unwrap_or(rest);
            Value::Float64(float_prefix(r))
        }
        JsonOp::SimpleString => Value::Str(simple_string(rest).unwrap_or_default()),
        JsonOp::SimpleRaw => Value::Str(simple_raw(rest)),
        _ => Value::Null,
    }
}

/// The longest prefix of `r` that reads as a decimal float (sign, digits, fraction,
/// exponent), or 0.
fn float_prefix(r: &[u8]) -> f64 {
    let mut i = 0;
    if matches!(r.first(), Some(b'+' | b'-')) {
        i = 1;
    }
    let int = r[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += int;
    let mut frac = 0;
    if r.get(i) == Some(&b'.') {
        frac = r[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += 1 + frac;
    }
    if int + frac == 0 {
        return 0.0;
    }
    if matches!(r.get(i), Some(b'e' | b'E')) {
        let mut k = i + 1;
        if matches!(r.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let e = r[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e > 0 {
            i = k + e;
        }
    }
    std::str::from_utf8(&r[..i])
        .ok()
        .map(|t| t.strip_prefix('+').unwrap_or(t))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0)
}

/// A quoted string at the start of `r`, decoded (unknown escapes give their character).
fn simple_string(r: &[u8]) -> Option<String> {
    if r.first() != Some(&b'"') {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    loop {
        let c = *r.get(i)?;
        match c {
            b'"' => break,
            b'\\' => {
                let e = *r.get(i + 1)?;
                i += 2;
                let ch = match e {
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'0' => '\0',
                    b'u' => unicode_escape(r, &mut i)?,
                    other if other.is_ascii() => char::from(other),
                    _ => {
                        // A multi-byte character after `\`: kept as it is.
                        out.push(e);
                        continue;
                    }
                };
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The raw text at the start of `r` up to the `,` or `}` that ends it, brackets and quotes
/// matched as ClickHouse's `visitParamExtractRaw` matches them; empty when none ends it.
fn simple_raw(r: &[u8]) -> String {
    let mut expects: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < r.len() {
        let c = r[i];
        let current = expects.last().copied();
        if current == Some(c) {
            expects.pop();
        } else {
            match c {
                b'[' => expects.push(b']'),
                b'{' => expects.push(b'}'),
                b'"' => expects.push(b'"'),
                b'\\' if r.get(i + 1) == Some(&b'"') => i += 1,
                b',' | b'}' if current.is_none() => {
                    return String::from_utf8_lossy(&r[..i]).into_owned();
                }
                _ => {}
            }
        }
        i += 1;
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: JsonOp, path: Vec<Step>, text: &str) -> Value {
        compute(&JsonFn { op, path }, text)
    }

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    #[test]
    fn raw_writes_documents_compactly() {
        // Hand-derived: spaces dropped, numbers in shortest form, strings re-escaped.
        let r = run(
            JsonOp::Raw,
            vec![],
            r#" { "a" : [ 1 , 2.50 , { "b" : "\u0041\/" } , [ ] , { } ] , "c" : 1.0e2 } "#,
        );
        assert_eq!(
            r,
            Value::Str(r#"{"a":[1,2.5,{"b":"A/"},[],{}],"c":100}"#.into())
        );
        assert_eq!(
            run(
                JsonOp::Raw,
                vec![key("a")],
                r#"{"a":{"x":[[1],[2,{"y":null}]]}}"#
            ),
            Value::Str(r#"{"x":[[1],[2,{"y":null}]]}"#.into())
        );
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(
            run(JsonOp::Has, vec![Step::Index(1)], &deep(MAX_DEPTH)),
            Value::UInt(1)
        );
        assert_eq!(
            run(JsonOp::Has, vec![Step::Index(1)], &deep(MAX_DEPTH + 1)),
            Value::UInt(0)
        );
        // Far deeper than any stack would take: a clean "not JSON".
        assert_eq!(
            run(JsonOp::Length, vec![], &deep(1_000_000)),
            Value::UInt(0)
        );
        let open = "[".repeat(1_000_000);
        assert_eq!(run(JsonOp::Raw, vec![], &open), Value::Str(String::new()));
        // Within the bound, writing out is iterative too.
        let r = run(JsonOp::Raw, vec![], &deep(MAX_DEPTH));
        assert_eq!(r, Value::Str(deep(MAX_DEPTH)));
    }

    #[test]
    fn paths_by_key_and_index() {
        let doc = r#"{"a":[{"b":"x"},{"b":"y"}],"c":"z"}"#;
        let s = |path| run(JsonOp::String, path, doc);
        assert_eq!(
            s(vec![key("a"), Step::Index(-1), key("b")]),
            Value::Str("y".into())
        );
        assert_eq!(
            s(vec![key("a"), Step::Index(1), key("b")]),
            Value::Str("x".into())
        );
        assert_eq!(
            s(vec![key("a"), Step::Index(3), key("b")]),
            Value::Str("".into())
        );
        assert_eq!(s(vec![key("a"), Step::Index(0)]), Value::Str("".into()));
        assert_eq!(s(vec![Step::Index(2)]), Value::Str("z".into()));
        assert_eq!(
            s(vec![Step::Index(-2), Step::Index(2), key("b")]),
            Value::Str("y".into())
        );
    }

    #[test]
    fn typed_arrays_are_bounded() {
        // 2,000 elements a row: 2,000 distinct rows pass the 4,000,000-element bound.
        let text = |i: usize| format!("[{}{i}]", "1,".repeat(1_999));
        let mut d = crate::store::Dictionary::new();
        let codes: Vec<u32> = (0..2_001).map(|i| d.intern(&text(i))).collect();
        let col = Col::S(super::super::super::column::Strs {
            codes: Cow::Owned(codes),
            dict: super::super::super::column::Dict::Own(std::rc::Rc::new(d)),
        });
        let doc = BExpr {
            kind: super::super::BKind::Slot(0),
            ty: DataType::String,
        };
        let e = bind("JSONExtractArrayRaw", vec![doc]).unwrap();
        let super::super::BKind::Call(fc) = &e.kind else {
            panic!("not a call")
        };
        let F::Json(j) = &fc.f else {
            panic!("not JSON")
        };
        let err = call(fc, j, &col, 2_001).unwrap_err().to_string();
        assert!(err.contains("4000000 array elements"), "{err}");
        let ok = call(fc, j, &col.gather(&(0..2_000).collect::<Vec<u32>>()), 2_000);
        assert!(ok.is_ok());
        let deep = format!("{}Int8{}", "Array(".repeat(17), ")".repeat(17));
        let lit = BExpr::constant(Value::Str(deep), DataType::String);
        let doc = BExpr::constant(Value::Str("[]".into()), DataType::String);
        let err = bind("JSONExtract", vec![doc, lit]).unwrap_err().to_string();
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn low_cardinality_nullable_columns_are_refused_as_in_clickhouse() {
        let col = |ty: DataType| BExpr {
            kind: super::super::BKind::Slot(0),
            ty,
        };
        let lc_null = DataType::Nullable(Box::new(DataType::LcString));
        let err = bind("JSONExtractString", vec![col(lc_null.clone())]).unwrap_err();
        assert!(
            err.to_string().contains("ILLEGAL_TYPE_OF_ARGUMENT"),
            "{err}"
        );
        let key = BExpr::constant(Value::Str("a".into()), DataType::String);
        assert!(bind("visitParamHas", vec![col(lc_null), key]).is_ok());
        assert!(bind("JSONHas", vec![col(DataType::LcString)]).is_ok());
    }

    #[test]
    fn simple_raw_matches_brackets_and_quotes() {
        assert_eq!(simple_raw(br#"[1,"]",2]}"#), r#"[1,"]",2]"#);
        assert_eq!(simple_raw(b"  12 ,"), "  12 ");
        assert_eq!(simple_raw(b"tr"), "");
    }
}
