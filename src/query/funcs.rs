//! The scalar functions of the subset: names, argument checks and result types, as ClickHouse
//! types them.

use super::agg::{AggKind, MKind, QKind};
use super::column::{typed_value, value_str};
use super::eval::{parse_value, Arith, BExpr, BKind, Cmp, InSet, Like, Part, Rounding, Trunc, F};
use super::types::{arithmetic_type, common_type, modulo_type, DataType, Unit};
use super::Value;
use crate::error::{Error, Result};

/// Functions whose names ClickHouse matches case-insensitively.
const CASE_INSENSITIVE: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "any",
    "if",
    "coalesce",
    "lower",
    "upper",
    "length",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "abs",
    "now",
    "today",
    "not",
    "and",
    "or",
    "concat",
    "isNull",
    "isNotNull",
    "ifNull",
    "nullIf",
    "dateDiff",
    "date_diff",
    "median",
    "greatest",
    "least",
];

/// The canonical spelling of a function name.
pub fn canonical(name: &str) -> String {
    let mut name = name;
    for c in CASE_INSENSITIVE {
        if name.eq_ignore_ascii_case(c) {
            name = c;
            break;
        }
    }
    match name {
        "DATE_DIFF" | "date_diff" => "dateDiff".into(),
        _ if name.eq_ignore_ascii_case("DATE_FORMAT") => "formatDateTime".into(),
        _ if name.eq_ignore_ascii_case("DATE_TRUNC") => "dateTrunc".into(),
        "ceiling" => "ceil".into(),
        "toStartOfFiveMinute" => "toStartOfFiveMinutes".into(),
        "lowerUTF8" | "upperUTF8" => name.into(),
        _ => name.to_string(),
    }
}

/// An aggregate function name, split into its kind and whether it has the `-If` suffix.
pub fn aggregate(name: &str) -> Option<(&'static str, bool)> {
    const NAMES: &[&str] = &[
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "any",
        "anyLast",
        "argMin",
        "argMax",
        "uniq",
        "uniqExact",
        "countDistinct",
        "quantile",
        "quantileExact",
        "quantileExactInclusive",
        "quantiles",
        "quantilesExact",
        "quantilesExactInclusive",
        "median",
        "medianExact",
        "varPop",
        "varSamp",
        "stddevPop",
        "stddevSamp",
        "covarPop",
        "covarSamp",
        "corr",
        "groupArray",
        "groupUniqArray",
    ];
    let canon = canonical(name);
    if let Some(n) = NAMES.iter().find(|n| **n == canon) {
        return Some((n, false));
    }
    if let Some((_, inner, _)) = super::state::split_combinator(&canon) {
        return aggregate(&inner);
    }
    let base = canon.strip_suffix("If")?;
    let base = canonical(base);
    NAMES.iter().find(|n| **n == base).map(|n| (*n, true))
}

/// Names of aggregate functions ClickHouse has that are outside the subset.
pub fn unsupported_aggregate(name: &str) -> bool {
    [
        "topK",
        "uniqCombined",
        "uniqHLL12",
        "uniqTheta",
        "quantileTDigest",
        "quantileTiming",
        "quantileDeterministic",
        "quantileBFloat16",
        "sumMap",
        "minMap",
        "maxMap",
        "groupBitAnd",
        "groupBitOr",
        "groupBitXor",
        "anyHeavy",
        "simpleLinearRegression",
        "histogram",
        "sequenceMatch",
        "windowFunnel",
        "retention",
        "argMinIf",
        "argMaxIf",
    ]
    .contains(&name)
}

/// The kind of an aggregate named `base` with constant parameters `params`.
pub fn aggregate_kind(base: &str, params: &[Value]) -> Result<AggKind> {
    let levels = || -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for p in params {
            let l = match p {
                Value::UInt(u) => *u as f64,
                Value::Int(i) => *i as f64,
                Value::Float64(f) => *f,
                Value::Float32(f) => f64::from(*f),
                _ => return Err(Error::query(format!("{base}: levels must be numbers"))),
            };
            if !(0.0..=1.0).contains(&l) {
                return Err(Error::query(format!("{base}: level {l} is outside [0, 1]")));
            }
            out.push(l);
        }
        Ok(out)
    };
    let single = |q: QKind| -> Result<AggKind> {
        let mut l = levels()?;
        if l.len() > 1 {
            return Err(Error::query(format!(
                "{base} takes one level (use {base}s for several)"
            )));
        }
        Ok(AggKind::Quantile(q, vec![l.pop().unwrap_or(0.5)], false))
    };
    let plural = |q: QKind| -> Result<AggKind> {
        let l = levels()?;
        if l.is_empty() {
            return Err(Error::query(format!("{base} needs at least one level")));
        }
        Ok(AggKind::Quantile(q, l, true))
    };
    let no_params = |k: AggKind| -> Result<AggKind> {
        if params.is_empty() {
            Ok(k)
        } else {
            Err(Error::query(format!("{base} takes no parameters")))
        }
    };
    match base {
        "count" => no_params(AggKind::Count),
        "sum" => no_params(AggKind::Sum),
        "avg" => no_params(AggKind::Avg),
        "min" => no_params(AggKind::Min),
        "max" => no_params(AggKind::Max),
        "any" => no_params(AggKind::Any),
        "anyLast" => no_params(AggKind::AnyLast),
        "argMin" => no_params(AggKind::ArgMin),
        "argMax" => no_params(AggKind::ArgMax),
        "uniq" | "uniqExact" | "countDistinct" => no_params(AggKind::Uniq),
        "varPop" => no_params(AggKind::Moments(MKind::VarPop)),
        "varSamp" => no_params(AggKind::Moments(MKind::VarSamp)),
        "stddevPop" => no_params(AggKind::Moments(MKind::StddevPop)),
        "stddevSamp" => no_params(AggKind::Moments(MKind::StddevSamp)),
        "covarPop" => no_params(AggKind::Moments(MKind::CovarPop)),
        "covarSamp" => no_params(AggKind::Moments(MKind::CovarSamp)),
        "corr" => no_params(AggKind::Moments(MKind::Corr)),
        "quantile" => single(QKind::Interpolated),
        "median" => single(QKind::Interpolated),
        "quantileExact" | "medianExact" => single(QKind::Exact),
        "quantileExactInclusive" => single(QKind::Inclusive),
        "quantiles" => plural(QKind::Interpolated),
        "quantilesExact" => plural(QKind::Exact),
        "quantilesExactInclusive" => plural(QKind::Inclusive),
        "groupArray" | "groupUniqArray" => {
            let limit = match params {
                [] => None,
                [Value::UInt(k)] if *k > 0 => Some(*k),
                _ => {
                    return Err(Error::query(format!(
                        "{base}: the parameter must be a positive integer (the most values kept)"
                    )))
                }
            };
            Ok(AggKind::GroupArray(limit, base == "groupUniqArray"))
        }
        other => Err(Error::unsupported(format!("aggregate function {other}"))),
    }
}

fn arity(name: &str, args: &[BExpr], min: usize, max: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(Error::query(format!(
            "{name}() takes {want} arguments, got {}",
            args.len()
        )));
    }
    Ok(())
}

fn illegal(name: &str, args: &[BExpr]) -> Error {
    let types: Vec<String> = args.iter().map(|a| a.ty.to_string()).collect();
    Error::query(format!(
        "illegal types ({}) of arguments of function {name}",
        types.join(", ")
    ))
}

fn const_int(name: &str, e: &BExpr) -> Result<i64> {
    match e.as_const() {
        Some(Value::UInt(u)) => Ok(*u as i64),
        Some(Value::Int(i)) => Ok(*i),
        _ => Err(Error::query(format!(
            "{name}() needs a constant integer here"
        ))),
    }
}

/// A time zone argument: only `'UTC'`, the zone every time here is in.
fn utc_only(name: &str, zone: Option<&BExpr>) -> Result<()> {
    match zone.map(|z| z.as_const()) {
        None => Ok(()),
        Some(Some(Value::Str(z))) if z == "UTC" => Ok(()),
        Some(_) => Err(Error::unsupported(format!(
            "function {name} with a time zone other than 'UTC'"
        ))),
    }
}

/// The unit of `age` (any case, with ClickHouse's abbreviations) and the number of that unit
/// in a second for the sub-second units (1 for the others).
fn age_unit(word: &str) -> Option<(Unit, i64)> {
    Some(match word.to_ascii_lowercase().as_str() {
        "year" | "years" | "yy" | "yyyy" => (Unit::Year, 1),
        "quarter" | "quarters" | "qq" | "q" => (Unit::Quarter, 1),
        "month" | "months" | "mm" | "m" => (Unit::Month, 1),
        "week" | "weeks" | "wk" | "ww" => (Unit::Week, 1),
        "day" | "days" | "dd" | "d" => (Unit::Day, 1),
        "hour" | "hours" | "hh" | "h" => (Unit::Hour, 1),
        "minute" | "minutes" | "mi" | "n" => (Unit::Minute, 1),
        "second" | "seconds" | "ss" | "s" => (Unit::Second, 1),
        "millisecond" | "milliseconds" | "ms" => (Unit::Second, 1_000),
        "microsecond" | "microseconds" | "us" | "u" => (Unit::Second, 1_000_000),
        "nanosecond" | "nanoseconds" | "ns" => (Unit::Second, 1_000_000_000),
        _ => return None,
    })
}

fn const_string(name: &str, e: &BExpr) -> Result<String> {
    match e.as_const() {
        Some(Value::Str(s)) => Ok(s.clone()),
        _ => Err(Error::query(format!(
            "{name}() needs a constant string here"
        ))),
    }
}

/// Makes a comparison operand of string constant type comparable with a time: parses it.
fn coerce_time_literal(e: BExpr, target: &DataType) -> Result<BExpr> {
    if e.ty.is_string() {
        return match &e.kind {
            BKind::Const(Value::Str(s)) => {
                let v = parse_compared(s, target.base())?;
                Ok(BExpr::constant(v, target.base().clone()))
            }
            _ => Err(Error::unsupported(format!(
                "comparing a {target} with a non-constant String"
            ))),
        };
    }
    Ok(e)
}

/// A string constant compared with (or looked up in IN for) a time of type `ty`: ClickHouse
/// reads it as that type and takes nothing more, so a `Date` refuses a time of day
/// (`toDate(t) = '2024-01-01 00:00:00'` raises "Cannot convert string").
fn parse_compared(s: &str, ty: &DataType) -> Result<Value> {
    if *ty.base() == DataType::Date
        && s.contains(|c: char| c.is_whitespace() || c == 'T' || c == ':')
    {
        return Err(Error::query(format!(
            "cannot convert string '{s}' to type Date"
        )));
    }
    parse_value(s, ty)
}

/// ClickHouse types the branches of `if`, `multiIf` and `coalesce` that mix a float with a
/// 64-bit integer as a `Variant` (no float holds every such integer); that type is outside the
/// subset.
fn refuse_variant(name: &str, types: &[&DataType]) -> Result<()> {
    let float = types.iter().any(|t| t.is_float());
    let wide = types.iter().any(|t| t.is_int() && t.int_bits() == 64);
    if float && wide {
        return Err(Error::unsupported(format!(
            "Variant (the common type of float and 64-bit integer arguments of {name})"
        )));
    }
    Ok(())
}

/// The type of `greatest`/`least` (`name`) of two integers of which one is signed and the
/// other `UInt64`, that have no common type: ClickHouse gives `least(Int64, UInt64)` as `Int64`
/// and `greatest` as `UInt64` (the value taken always fits), and types the pair `Int128` when
/// the signed one is narrower, a type outside the subset. `None` when the types are not such
/// a pair (three arguments or a `Nullable` one have no type in ClickHouse either).
fn signed_unsigned_extreme(name: &str, types: &[&DataType]) -> Option<Result<DataType>> {
    let [a, b] = types else {
        return None;
    };
    let plain = |t: &DataType| t.is_int() && !t.is_nullable();
    if !plain(a) || !plain(b) || a.is_signed() == b.is_signed() {
        return None;
    }
    let (signed, unsigned) = if a.is_signed() { (a, b) } else { (b, a) };
    if *unsigned.base() != DataType::UInt64 {
        return None;
    }
    Some(if *signed.base() == DataType::Int64 {
        Ok(if name == "greatest" {
            DataType::UInt64
        } else {
            DataType::Int64
        })
    } else {
        Err(Error::unsupported(format!(
            "Int128 (the type of {name} of {} and UInt64)",
            signed.base()
        )))
    })
}

fn comparable(a: &DataType, b: &DataType) -> bool {
    let (a, b) = (a.base(), b.base());
    // ClickHouse compares a DateTime with a number, but not a Date.
    let date_and_number =
        (*a == DataType::Date && b.is_number()) || (*b == DataType::Date && a.is_number());
    if date_and_number {
        return false;
    }
    (a.is_string() && b.is_string())
        || ((a.is_number() || a.is_time()) && (b.is_number() || b.is_time()))
        || *a == DataType::Nothing
        || *b == DataType::Nothing
}

/// Whether values of `ty` can be a condition: numbers, and `NULL`.
/// The result type of `and`, `or` and `not`: Bool when an argument is Bool, else UInt8.
fn logical_type(has_bool: bool) -> DataType {
    if has_bool {
        DataType::Bool
    } else {
        DataType::UInt8
    }
}

pub fn is_condition(ty: &DataType) -> bool {
    ty.is_number() || *ty.base() == DataType::Nothing
}

/// Whether values of `ty` can be the condition of `if`, `multiIf` or an `-If` aggregate:
/// ClickHouse takes `UInt8` (and `Bool`), maybe `Nullable` or `LowCardinality`, and `NULL`,
/// where `WHERE` takes any number.
pub fn is_uint8_condition(ty: &DataType) -> bool {
    matches!(
        ty.base(),
        DataType::UInt8 | DataType::Bool | DataType::Nothing
    )
}

/// The error ClickHouse raises (ILLEGAL_TYPE_OF_ARGUMENT) for a condition of `if`, `multiIf`
/// or an `-If` aggregate that is not `UInt8`.
pub fn illegal_condition(name: &str, ty: &DataType) -> Error {
    Error::query(format!(
        "illegal type {ty} of the condition of {name} (must be UInt8)"
    ))
}

/// Functions that look at `NULL` arguments themselves; every other function gives `NULL` in a
/// row where an argument is `NULL` (and has a `Nullable` result type when an argument has).
const NULL_AWARE: &[&str] = &[
    "if",
    "multiIf",
    "coalesce",
    "greatest",
    "least",
    "ifNull",
    "nullIf",
    "isNull",
    "isNotNull",
    "assumeNotNull",
    "toNullable",
    "and",
    "or",
];

/// Functions that type their result themselves when an argument is low-cardinality; every
/// other function of one low-cardinality column (the other arguments constant) gives
/// `LowCardinality` of its type, as ClickHouse's default implementation for such columns does.
const OWN_LOW_CARDINALITY: &[&str] = &[
    "if",
    "multiIf",
    "and",
    "or",
    "isNull",
    "isNotNull",
    "cast",
    "CAST",
];

/// Binds a scalar function call whose arguments are bound.
pub fn bind(name: &str, args: Vec<BExpr>, now: i64) -> Result<BExpr> {
    let drops_low = name == "extractAll"
        || (super::eval::is_json_function(name) && super::eval::json_drops_low_cardinality(name));
    if drops_low {
        let mut e = bind_nullable(name, args, now)?;
        e.ty = e.ty.without_low_cardinality();
        return Ok(e);
    }
    if OWN_LOW_CARDINALITY.contains(&name) {
        return bind_nullable(name, args, now);
    }
    let low = args
        .iter()
        .filter(|a| a.ty.is_low_cardinality() && a.as_const().is_none())
        .count();
    let other = args
        .iter()
        .filter(|a| !a.ty.is_low_cardinality() && a.as_const().is_none())
        .count();
    let mut e = bind_nullable(name, args, now)?;
    e.ty = if low == 1 && other == 0 {
        e.ty.low_cardinality()
    } else {
        e.ty.without_low_cardinality()
    };
    Ok(e)
}

/// [`bind`] without the `LowCardinality` of the result.
fn bind_nullable(name: &str, args: Vec<BExpr>, now: i64) -> Result<BExpr> {
    let on_array = matches!(name, "length" | "empty" | "notEmpty")
        && args
            .first()
            .is_some_and(|a| matches!(a.ty, DataType::Array(_) | DataType::Map(..)));
    if on_array || super::eval::is_array_function(name) {
        return super::eval::bind_array(name, args);
    }
    if NULL_AWARE.contains(&name) {
        return bind_call(name, args, now);
    }
    // A NULL argument: ClickHouse types the call `Nullable(Nothing)` and answers NULL.
    if args.iter().any(|a| *a.ty.base() == DataType::Nothing) {
        return Ok(BExpr::constant(
            Value::Null,
            DataType::Nullable(Box::new(DataType::Nothing)),
        ));
    }
    let nullable = args.iter().any(|a| a.ty.is_nullable());
    let mut e = bind_call(name, args, now)?;
    if nullable && e.ty.repr() != super::types::Repr::V {
        e.ty = e.ty.nullable_if(true);
    }
    Ok(e)
}

fn bind_call(name: &str, mut args: Vec<BExpr>, now: i64) -> Result<BExpr> {
    let n = name;
    let nullable = args.iter().any(|a| a.ty.is_nullable());
    let mk = |f: F, args: Vec<BExpr>, ty: DataType| Ok(BExpr::call(f, args, ty));
    match n {
        "plus" | "minus" => {
            arity(n, &args, 2, 2)?;
            let sign = if n == "plus" { 1 } else { -1 };
            // A string beside an INTERVAL is read as a `DateTime64(3)`, as ClickHouse reads
            // it (`'2024-03-08 00:00:00' - INTERVAL 30 DAY`, the text of a `DateTime`
            // parameter).
            for (s, other) in [(0, 1), (1, 0)] {
                if args[s].ty.base().is_string()
                    && matches!(args[other].ty.base(), DataType::Interval(_))
                {
                    let e = args[s].clone();
                    let ty = DataType::DateTime64.nullable_if(e.ty.is_nullable());
                    args[s] = BExpr::call(F::Cast, vec![e], ty);
                }
            }
            let (ta, tb) = (args[0].ty.base().clone(), args[1].ty.base().clone());
            if let DataType::Interval(u) = tb {
                if !ta.is_time() {
                    return Err(illegal(n, &args));
                }
                let ty = match (&ta, u.seconds()) {
                    (DataType::Date, Some(s)) if s < 86_400 => DataType::DateTime,
                    _ => ta.clone(),
                };
                return mk(F::AddInterval(u, sign), args, ty.nullable_if(nullable));
            }
            if let DataType::Interval(u) = ta {
                if n == "minus" || !tb.is_time() {
                    return Err(illegal(n, &args));
                }
                args.swap(0, 1);
                let ty = match (&tb, u.seconds()) {
                    (DataType::Date, Some(s)) if s < 86_400 => DataType::DateTime,
                    _ => tb.clone(),
                };
                return mk(F::AddInterval(u, 1), args, ty.nullable_if(nullable));
            }
            if ta.is_time() && tb.is_time() {
                if n == "plus" || ta != tb {
                    return Err(illegal(n, &args));
                }
                return mk(F::TimeDiff, args, DataType::Int32.nullable_if(nullable));
            }
            if ta.is_time() && tb.is_int() {
                return mk(F::AddInt(sign), args, ta.nullable_if(nullable));
            }
            if tb.is_time() && ta.is_int() && n == "plus" {
                args.swap(0, 1);
                return mk(F::AddInt(1), args, tb.nullable_if(nullable));
            }
            let ty = arithmetic_type(n, &ta, &tb).ok_or_else(|| illegal(n, &args))?;
            let op = if n == "plus" {
                Arith::Plus
            } else {
                Arith::Minus
            };
            mk(F::Arith(op), args, ty.nullable_if(nullable))
        }
        "multiply" | "divide" | "modulo" | "intDiv" => {
            arity(n, &args, 2, 2)?;
            let (ta, tb) = (args[0].ty.base().clone(), args[1].ty.base().clone());
            if !(ta.is_number() && tb.is_number()) {
                return Err(illegal(n, &args));
            }
            let (op, ty) = match n {
                "multiply" => (Arith::Mul, arithmetic_type(n, &ta, &tb)),
                "divide" => (Arith::Div, Some(DataType::Float64)),
                "modulo" => (Arith::Mod, modulo_type(&ta, &tb)),
                _ => {
                    if ta.is_float() || tb.is_float() {
                        // Signed, of the dividend's width (`Float32` counts 32 bits).
                        let bits = if ta == DataType::Float32 {
                            32
                        } else {
                            ta.int_bits()
                        };
                        (Arith::IntDiv, Some(DataType::int_of(bits, true)))
                    } else {
                        (
                            Arith::IntDiv,
                            Some(DataType::int_of(
                                ta.int_bits(),
                                ta.is_signed() || tb.is_signed(),
                            )),
                        )
                    }
                }
            };
            let ty = ty.ok_or_else(|| illegal(n, &args))?;
            mk(F::Arith(op), args, ty.nullable_if(nullable))
        }
        "negate" => {
            arity(n, &args, 1, 1)?;
            let t = args[0].ty.base().clone();
            let ty = if t.is_float() {
                t
            } else if t.is_int() || t == DataType::Bool {
                if t.is_signed() {
                    t
                } else {
                    DataType::int_of((t.int_bits() * 2).min(64), true)
                }
            } else {
                return Err(illegal(n, &args));
            };
            mk(F::Negate, args, ty.nullable_if(nullable))
        }
        "equals" | "notEquals" | "less" | "greater" | "lessOrEquals" | "greaterOrEquals" => {
            arity(n, &args, 2, 2)?;
            let op = match n {
                "equals" => Cmp::Eq,
                "notEquals" => Cmp::Ne,
                "less" => Cmp::Lt,
                "greater" => Cmp::Gt,
                "lessOrEquals" => Cmp::Le,
                _ => Cmp::Ge,
            };
            let mut b = args.pop().ok_or_else(|| illegal(n, &[]))?;
            let mut a = args.pop().ok_or_else(|| illegal(n, &[]))?;
            if a.ty.is_time() && b.ty.is_string() {
                b = coerce_time_literal(b, &a.ty.clone())?;
            } else if b.ty.is_time() && a.ty.is_string() {
                a = coerce_time_literal(a, &b.ty.clone())?;
            }
            if !comparable(&a.ty, &b.ty) {
                return Err(illegal(n, &[a, b]));
            }
            mk(
                F::Cmp(op),
                vec![a, b],
                DataType::UInt8.nullable_if(nullable),
            )
        }
        "and" | "or" => {
            if args.len() < 2 {
                return Err(Error::query(format!("{n}() takes at least 2 arguments")));
            }
            if args.iter().any(|a| !is_condition(&a.ty)) {
                return Err(illegal(n, &args));
            }
            let f = if n == "and" { F::And } else { F::Or };
            // Bool when any argument is Bool, as ClickHouse types `1 AND true`; a
            // `Nullable(Bool)` argument does not count (ClickHouse looks at the type's name).
            let ty = logical_type(
                args.iter()
                    .any(|a| a.ty.clone().without_low_cardinality() == DataType::Bool),
            );
            mk(f, args, ty.nullable_if(nullable))
        }
        "not" => {
            arity(n, &args, 1, 1)?;
            if !is_condition(&args[0].ty) {
                return Err(illegal(n, &args));
            }
            let ty = logical_type(*args[0].ty.base() == DataType::Bool);
            mk(F::Not, args, ty.nullable_if(nullable))
        }
        "like" | "notLike" | "ilike" | "notILike" => {
            arity(n, &args, 2, 2)?;
            if !args[0].ty.is_string() {
                return Err(illegal(n, &args));
            }
            let pattern = const_string(n, &args[1])?;
            let like = Like::new(&pattern, n.to_ascii_lowercase().contains("ilike"));
            args.truncate(1);
            mk(
                F::Like(Box::new(like), n.starts_with("not")),
                args,
                DataType::UInt8.nullable_if(nullable),
            )
        }
        "if" => {
            arity(n, &args, 3, 3)?;
            if !is_uint8_condition(&args[0].ty) {
                return Err(illegal_condition(n, &args[0].ty));
            }
            refuse_variant(n, &[&args[1].ty, &args[2].ty])?;
            let ty = common_type(&[&args[1].ty, &args[2].ty]).ok_or_else(|| illegal(n, &args))?;
            multi_if(prune_branches(args), ty)
        }
        "multiIf" => {
            if args.len() < 3 || args.len() % 2 == 0 {
                return Err(Error::query(
                    "multiIf() takes an odd number (3 or more) of arguments",
                ));
            }
            let k = args.len() / 2;
            if let Some(i) = (0..k).find(|i| !is_uint8_condition(&args[2 * i].ty)) {
                return Err(illegal_condition(n, &args[2 * i].ty));
            }
            let vals: Vec<&DataType> = (0..k)
                .map(|i| &args[2 * i + 1].ty)
                .chain([&args[2 * k].ty])
                .collect();
            refuse_variant(n, &vals)?;
            let ty = common_type(&vals).ok_or_else(|| illegal(n, &args))?;
            let reads_columns = args.iter().any(|a| a.as_const().is_none());
            let e = multi_if(prune_branches(args), ty)?;
            // ClickHouse does not fold a `multiIf` (unlike an `if`) with columns among its
            // arguments into a constant, whichever branch a constant condition picks: a
            // function of it and of one `LowCardinality` column is not `LowCardinality`.
            Ok(match e.as_const() {
                Some(_) if reads_columns => {
                    let ty = e.ty.clone();
                    BExpr::call(F::MultiIf, vec![e], ty)
                }
                _ => e,
            })
        }
        "coalesce" => {
            if args.is_empty() {
                return Err(Error::query("coalesce() needs arguments"));
            }
            refuse_variant(n, &args.iter().map(|a| &a.ty).collect::<Vec<_>>())?;
            // Arguments after the first that cannot be NULL are never the value and take no
            // part in the type; they are still computed (ClickHouse raises for a `% 0` there).
            let live = args
                .iter()
                .position(|a| !a.ty.is_nullable() && a.ty != DataType::Nothing)
                .map_or(args.len(), |first| first + 1);
            let types: Vec<&DataType> = args[..live].iter().map(|a| &a.ty).collect();
            let all = common_type(&types).ok_or_else(|| illegal(n, &args))?;
            // The result is nullable only when every argument is.
            let ty = if args[..live]
                .iter()
                .all(|a| a.ty.is_nullable() || a.ty == DataType::Nothing)
            {
                all
            } else {
                all.base().clone()
            };
            mk(F::Coalesce, args, ty.without_low_cardinality())
        }
        "greatest" | "least" => {
            if args.is_empty() {
                return Err(Error::query(format!("{n}() needs arguments")));
            }
            if args.iter().all(|a| *a.ty.base() == DataType::Nothing) {
                return Ok(BExpr::constant(
                    Value::Null,
                    DataType::Nullable(Box::new(DataType::Nothing)),
                ));
            }
            let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
            refuse_variant(n, &types)?;
            let mut ty = match common_type(&types) {
                Some(ty) => ty,
                None => signed_unsigned_extreme(n, &types).ok_or_else(|| illegal(n, &args))??,
            };
            // `Bool` with integers compares as `UInt8`, whichever comes first.
            if *ty.base() == DataType::Bool
                && args
                    .iter()
                    .any(|a| !matches!(a.ty.base(), DataType::Bool | DataType::Nothing))
            {
                ty = DataType::UInt8.nullable_if(ty.is_nullable());
            }
            mk(
                F::Extreme(n == "greatest"),
                args,
                ty.without_low_cardinality(),
            )
        }
        "ifNull" => {
            arity(n, &args, 2, 2)?;
            bind("coalesce", args, now)
        }
        "nullIf" => {
            arity(n, &args, 2, 2)?;
            let (Some(b), Some(a)) = (args.pop(), args.pop()) else {
                return Err(illegal(n, &[]));
            };
            if a.ty.base() == &DataType::Nothing {
                return Ok(BExpr::constant(
                    Value::Null,
                    DataType::Nullable(Box::new(DataType::Nothing)),
                ));
            }
            let ty = a.ty.clone().nullable_if(true);
            let same = bind("equals", vec![a.clone(), b], now)?;
            mk(F::NullIf, vec![a, same], ty)
        }
        "assumeNotNull" => {
            arity(n, &args, 1, 1)?;
            let ty = args[0].ty.base().clone();
            mk(F::AssumeNotNull, args, ty)
        }
        "toNullable" => {
            arity(n, &args, 1, 1)?;
            let ty = args[0].ty.clone().nullable_if(true);
            mk(F::ToNullable, args, ty)
        }
        "isNull" | "isNotNull" => {
            arity(n, &args, 1, 1)?;
            let f = if n == "isNull" {
                F::IsNull
            } else {
                F::IsNotNull
            };
            mk(f, args, DataType::UInt8)
        }
        "lower" | "upper" | "lowerUTF8" | "upperUTF8" => {
            arity(n, &args, 1, 1)?;
            if !args[0].ty.is_string() {
                return Err(illegal(n, &args));
            }
            let ty = args[0].ty.clone();
            let f = match n {
                "lower" => F::Lower,
                "upper" => F::Upper,
                "lowerUTF8" => F::LowerUtf8,
                _ => F::UpperUtf8,
            };
            mk(f, args, ty)
        }
        "concat" => {
            for a in &args {
                if matches!(a.ty.base(), DataType::Array(_)) {
                    return Err(Error::unsupported(format!("concat of {} arguments", a.ty)));
                }
            }
            // NULL in any argument makes the row NULL.
            mk(F::Concat, args, DataType::String.nullable_if(nullable))
        }
        "length" | "empty" | "notEmpty" => {
            arity(n, &args, 1, 1)?;
            if let (Some(Value::Array(items)), "length") = (args[0].as_const(), n) {
                return Ok(BExpr::constant(
                    Value::UInt(items.len() as u64),
                    DataType::UInt64,
                ));
            }
            if !args[0].ty.is_string() {
                return Err(illegal(n, &args));
            }
            let (f, ty) = match n {
                "length" => (F::Length, DataType::UInt64),
                "empty" => (F::Empty, DataType::UInt8),
                _ => (F::NotEmpty, DataType::UInt8),
            };
            mk(f, args, ty.nullable_if(nullable))
        }
        "toStartOfMinute"
        | "toStartOfFiveMinutes"
        | "toStartOfTenMinutes"
        | "toStartOfFifteenMinutes"
        | "toStartOfHour"
        | "toStartOfDay" => {
            arity(n, &args, 1, 2)?;
            time_arg(n, &args)?;
            let t = match n {
                "toStartOfMinute" => Trunc::Seconds(60),
                "toStartOfFiveMinutes" => Trunc::Seconds(300),
                "toStartOfTenMinutes" => Trunc::Seconds(600),
                "toStartOfFifteenMinutes" => Trunc::Seconds(900),
                "toStartOfHour" => Trunc::Seconds(3600),
                _ => Trunc::Seconds(86_400),
            };
            args.truncate(1);
            mk(F::Trunc(t), args, DataType::DateTime.nullable_if(nullable))
        }
        "toStartOfWeek" | "toMonday" | "toStartOfMonth" | "toStartOfQuarter" | "toStartOfYear"
        | "toDate" | "toDate32" => {
            if n == "toDate32" {
                return Err(Error::unsupported("toDate32 (use toDate)"));
            }
            arity(n, &args, 1, 2)?;
            let t = match n {
                "toStartOfWeek" => {
                    let mode = match args.get(1) {
                        Some(m) => const_int(n, m)?,
                        None => 0,
                    };
                    // The mode is a UInt8; only its lowest bit (the week starts on Monday)
                    // moves the start of the week.
                    match mode {
                        0..=255 if mode % 2 == 0 => Trunc::WeekSunday,
                        0..=255 => Trunc::Monday,
                        _ => {
                            return Err(Error::query(format!(
                                "illegal week mode {mode} of function toStartOfWeek \
                                 (expected a UInt8)"
                            )))
                        }
                    }
                }
                "toMonday" => Trunc::Monday,
                "toStartOfMonth" => Trunc::Months(1),
                "toStartOfQuarter" => Trunc::Months(3),
                "toStartOfYear" => Trunc::Years(1),
                _ => Trunc::Date,
            };
            if n == "toDate" && args[0].ty.is_number() {
                if let Some(v) = args[0].as_const() {
                    let days = match v {
                        Value::Float64(x) => super::eval::date_of_float(*x)?,
                        Value::Float32(x) => super::eval::date_of_float(f64::from(*x))?,
                        Value::UInt(u) => {
                            crate::time::date_from_number(i64::try_from(*u).unwrap_or(i64::MAX))
                        }
                        v => crate::time::date_from_number(super::eval::const_i(v)),
                    };
                    return Ok(BExpr::constant(Value::Date(days), DataType::Date));
                }
                args.truncate(1);
                return mk(F::DateOfNumber, args, DataType::Date.nullable_if(nullable));
            }
            if n != "toDate" && args.len() > 1 && n != "toStartOfWeek" {
                return Err(Error::unsupported(format!("{n} with a time zone")));
            }
            if n == "toDate" && args[0].ty.is_string() && args[0].as_const().is_none() {
                // Text of a column (or of a constant made a grouping key) is parsed per row.
                args.truncate(1);
                return mk(F::Cast, args, DataType::Date.nullable_if(nullable));
            }
            time_arg(n, &args)?;
            args.truncate(1);
            mk(F::Trunc(t), args, DataType::Date.nullable_if(nullable))
        }
        "toStartOfInterval" => {
            arity(n, &args, 2, 3)?;
            time_arg(n, &args)?;
            let DataType::Interval(unit) = args[1].ty.base().clone() else {
                return Err(Error::query(
                    "toStartOfInterval() takes an INTERVAL as second argument",
                ));
            };
            let k = const_int(n, &args[1])?;
            if k <= 0 {
                return Err(Error::query(
                    "toStartOfInterval() needs a positive interval",
                ));
            }
            let (t, ty) = match unit {
                Unit::Second => (Trunc::Seconds(k), DataType::DateTime),
                Unit::Minute => (Trunc::Seconds(60 * k), DataType::DateTime),
                Unit::Hour => (Trunc::Hours(k), DataType::DateTime),
                Unit::Day => (Trunc::Days(k), DataType::DateTime),
                Unit::Week => (Trunc::Weeks(k), DataType::Date),
                Unit::Month => (Trunc::Months(k), DataType::Date),
                Unit::Quarter => (Trunc::Months(3 * k), DataType::Date),
                Unit::Year => (Trunc::Years(k), DataType::Date),
            };
            args.truncate(1);
            mk(F::Trunc(t), args, ty.nullable_if(nullable))
        }
        "toDateTime" => {
            arity(n, &args, 1, 2)?;
            if let Some(tz) = args.get(1) {
                let z = const_string(n, tz)?;
                if z != "UTC" {
                    return Err(Error::unsupported("time zones other than UTC"));
                }
                args.truncate(1);
            }
            let t = args[0].ty.base();
            if !(t.is_time() || t.is_string() || t.is_number()) {
                return Err(illegal(n, &args));
            }
            mk(
                F::ToDateTime,
                args,
                DataType::DateTime.nullable_if(nullable),
            )
        }
        "toDateTime64" => {
            // `toDateTime64(x, 3[, 'UTC'])`: the one precision the store keeps. An integer is
            // seconds, read through `toDateTime` (exact up to 2106); a string is parsed.
            arity(n, &args, 2, 3)?;
            if let Some(tz) = args.get(2) {
                let z = const_string(n, tz)?;
                if z != "UTC" {
                    return Err(Error::unsupported("time zones other than UTC"));
                }
            }
            match args[1].as_const() {
                Some(Value::UInt(3)) | Some(Value::Int(3)) => {}
                _ => {
                    return Err(Error::unsupported(
                        "toDateTime64 with a precision other than 3",
                    ))
                }
            }
            args.truncate(1);
            let t = args[0].ty.base().clone();
            let mut x = args.remove(0);
            if t.is_int() {
                let ty = DataType::DateTime.nullable_if(x.ty.is_nullable());
                x = BExpr::call(F::ToDateTime, vec![x], ty);
            } else if !(t.is_time() || t.is_string()) {
                return Err(Error::unsupported(format!("toDateTime64 of {t}")));
            }
            mk(F::Cast, vec![x], DataType::DateTime64.nullable_if(nullable))
        }
        "toYear" | "toMonth" | "toDayOfMonth" | "toDayOfWeek" | "toHour" | "toMinute"
        | "toSecond" | "toYYYYMM" | "toYYYYMMDD" | "toUnixTimestamp" => {
            arity(n, &args, 1, 1)?;
            time_arg(n, &args)?;
            let (p, ty) = match n {
                "toYear" => (Part::Year, DataType::UInt16),
                "toMonth" => (Part::Month, DataType::UInt8),
                "toDayOfMonth" => (Part::Day, DataType::UInt8),
                "toDayOfWeek" => (Part::DayOfWeek, DataType::UInt8),
                "toHour" => (Part::Hour, DataType::UInt8),
                "toMinute" => (Part::Minute, DataType::UInt8),
                "toSecond" => (Part::Second, DataType::UInt8),
                "toYYYYMM" => (Part::YearMonth, DataType::UInt32),
                "toYYYYMMDD" => (Part::YearMonthDay, DataType::UInt32),
                _ => (Part::Unix, DataType::UInt32),
            };
            mk(F::Part(p), args, ty.nullable_if(nullable))
        }
        "formatDateTime" => {
            arity(n, &args, 2, 3)?;
            if !args[0].ty.base().is_time() || !args[1].ty.is_string() {
                return Err(illegal(n, &args));
            }
            let format = const_string(n, &args[1])?;
            utc_only(n, args.get(2))?;
            let f = super::eval::TimeFormat::parse(&format, args[0].ty.base())?;
            args.truncate(1);
            mk(
                F::FormatTime(Box::new(f)),
                args,
                DataType::String.nullable_if(nullable),
            )
        }
        "now" => {
            arity(n, &args, 0, 0)?;
            Ok(BExpr::constant(Value::DateTime(now), DataType::DateTime))
        }
        "today" => {
            arity(n, &args, 0, 0)?;
            Ok(BExpr::constant(
                Value::Date(now.div_euclid(86_400)),
                DataType::Date,
            ))
        }
        "yesterday" => {
            arity(n, &args, 0, 0)?;
            Ok(BExpr::constant(
                Value::Date(now.div_euclid(86_400) - 1),
                DataType::Date,
            ))
        }
        "dateDiff" | "age" => {
            if n == "age" {
                arity(n, &args, 3, 4)?;
                utc_only(n, args.get(3))?;
                args.truncate(3);
                let u = const_string(n, &args[0])?;
                let (unit, scale) = age_unit(&u)
                    .ok_or_else(|| Error::query(format!("age does not support '{u}' unit")))?;
                if !(args[1].ty.is_time() && args[2].ty.is_time()) {
                    return Err(illegal(n, &args));
                }
                return mk(
                    F::Age(unit, scale),
                    args,
                    DataType::Int64.nullable_if(nullable),
                );
            }
            arity(n, &args, 3, 3)?;
            let u = const_string(n, &args[0])?;
            let unit = Unit::parse(&u)
                .ok_or_else(|| Error::query(format!("dateDiff: unknown unit '{u}'")))?;
            if !(args[1].ty.is_time() && args[2].ty.is_time()) {
                return Err(illegal(n, &args));
            }
            mk(
                F::DateDiff(unit),
                args,
                DataType::Int64.nullable_if(nullable),
            )
        }
        "round" | "floor" | "ceil" => {
            arity(n, &args, 1, 2)?;
            if !args[0].ty.is_number() {
                return Err(illegal(n, &args));
            }
            let scale = match args.get(1) {
                Some(s) => const_int(n, s)?,
                None => 0,
            };
            if !(-30..=30).contains(&scale) {
                return Err(Error::query(format!(
                    "{n}(): scale {scale} is out of range"
                )));
            }
            let kind = match n {
                "round" => Rounding::Round,
                "floor" => Rounding::Floor,
                _ => Rounding::Ceil,
            };
            args.truncate(1);
            // The argument's type, Bool included (`floor(true, -1)` is `false`).
            let ty = args[0].ty.base().clone();
            mk(F::Round(kind, scale as i32), args, ty.nullable_if(nullable))
        }
        "abs" => {
            arity(n, &args, 1, 1)?;
            let t = args[0].ty.base().clone();
            let ty = if t.is_float() {
                t
            } else if t.is_int() || t == DataType::Bool {
                DataType::int_of(t.int_bits(), false)
            } else {
                return Err(illegal(n, &args));
            };
            mk(F::Abs, args, ty.nullable_if(nullable))
        }
        "toString" => {
            arity(n, &args, 1, 1)?;
            if matches!(
                args[0].ty.base(),
                DataType::Array(_) | DataType::Interval(_)
            ) {
                return Err(illegal(n, &args));
            }
            mk(F::ToString, args, DataType::String.nullable_if(nullable))
        }
        "toInt8" | "toInt16" | "toInt32" | "toInt64" | "toUInt8" | "toUInt16" | "toUInt32"
        | "toUInt64" | "toFloat32" | "toFloat64" => {
            arity(n, &args, 1, 1)?;
            let ty = DataType::from_name(&n[2..]).ok_or_else(|| illegal(n, &args))?;
            let t = args[0].ty.base();
            if !(t.is_number() || t.is_string() || t.is_time()) {
                return Err(illegal(n, &args));
            }
            mk(F::Cast, args, ty.nullable_if(nullable))
        }
        "parseDateTimeBestEffort"
        | "parseDateTimeBestEffortOrNull"
        | "parseDateTimeBestEffortOrZero"
        | "parseDateTime32BestEffort"
        | "parseDateTime32BestEffortOrNull"
        | "parseDateTime32BestEffortOrZero"
        | "parseDateTime64BestEffort"
        | "parseDateTime64BestEffortOrNull"
        | "parseDateTime64BestEffortOrZero"
        | "parseDateTimeBestEffortUS"
        | "parseDateTimeBestEffortUSOrNull"
        | "parseDateTimeBestEffortUSOrZero"
        | "parseDateTime64BestEffortUS"
        | "parseDateTime64BestEffortUSOrNull"
        | "parseDateTime64BestEffortUSOrZero" => bind_best_effort(n, args, now, nullable),
        n if super::eval::UrlFn::of(n).is_some() => {
            let mut f = super::eval::UrlFn::of(n).ok_or_else(|| unknown_function(n))?;
            let k = if matches!(f, super::eval::UrlFn::Parameter(_)) {
                2
            } else {
                1
            };
            arity(n, &args, k, k)?;
            if args.iter().any(|a| !a.ty.is_string()) {
                return Err(illegal(n, &args));
            }
            if let super::eval::UrlFn::Parameter(name) = &mut f {
                *name = match args[1].as_const() {
                    Some(Value::Str(s)) => s.clone(),
                    _ => {
                        return Err(Error::unsupported(format!(
                            "function {n} with a name that is not a constant string"
                        )))
                    }
                };
            }
            args.truncate(1);
            mk(
                F::Url(Box::new(f)),
                args,
                DataType::String.nullable_if(nullable),
            )
        }
        "multiSearchAny"
        | "multiSearchAnyUTF8"
        | "multiSearchAnyCaseInsensitive"
        | "multiSearchAnyCaseInsensitiveUTF8"
        | "multiMatchAny" => {
            arity(n, &args, 2, 2)?;
            if !args[0].ty.is_string() {
                return Err(illegal(n, &args));
            }
            if n == "multiSearchAnyCaseInsensitiveUTF8" {
                return Err(Error::unsupported(format!(
                    "{n} (case folding here is ASCII only)"
                )));
            }
            // ClickHouse refuses `[]` (an `Array(Nothing)`) as the needles.
            let nothing = match args[1].ty.base() {
                DataType::Array(t) => *t.base() == DataType::Nothing,
                _ => false,
            };
            if nothing {
                return Err(illegal(n, &args));
            }
            let needles: Vec<String> = match args[1].as_const() {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::Str(s) => Ok(s.clone()),
                        _ => Err(illegal(n, &args)),
                    })
                    .collect::<Result<_>>()?,
                _ if matches!(args[1].ty.base(), DataType::Array(_)) => {
                    return Err(Error::unsupported(format!(
                        "function {n} with needles that are not a constant array"
                    )))
                }
                _ => return Err(illegal(n, &args)),
            };
            let f = if n == "multiMatchAny" {
                let res = needles
                    .iter()
                    .map(|p| super::eval::RegexpFn::new("match", p, None))
                    .collect::<Result<_>>()?;
                super::eval::MultiFn::Match(res)
            } else {
                super::eval::MultiFn::Search(needles, n.contains("CaseInsensitive"))
            };
            args.truncate(1);
            mk(
                F::Multi(Box::new(f)),
                args,
                DataType::UInt8.nullable_if(nullable),
            )
        }
        n if super::eval::is_json_function(n) => super::eval::bind_json(n, args),
        n if super::eval::is_regexp_function(n) => bind_regexp(n, args, nullable),
        _ => Err(unknown_function(name)),
    }
}

/// Binds `match`, `extract`, `extractAll`, `replaceRegexpOne`, `replaceRegexpAll`: a text, a
/// constant pattern (and a constant replacement), compiled here once for the query.
fn bind_regexp(n: &str, mut args: Vec<BExpr>, nullable: bool) -> Result<BExpr> {
    use super::eval::{RegexpFn, RegexpOp};
    let replace = n.starts_with("replaceRegexp");
    let k = if replace { 3 } else { 2 };
    arity(n, &args, k, k)?;
    if args.iter().any(|a| !a.ty.is_string()) {
        return Err(illegal(n, &args));
    }
    let constant = |e: &BExpr| match e.as_const() {
        Some(Value::Str(s)) => Ok(s.clone()),
        _ => Err(Error::unsupported(format!(
            "function {n} with a pattern or replacement that is not a constant string"
        ))),
    };
    let pattern = constant(&args[1])?;
    let replacement = if replace {
        Some(constant(&args[2])?)
    } else {
        None
    };
    let r = RegexpFn::new(n, &pattern, replacement.as_deref())?;
    if nullable && matches!(r.op, RegexpOp::ExtractAll) {
        return Err(Error::unsupported("function extractAll of a Nullable text"));
    }
    let ty = match r.op {
        RegexpOp::Match => DataType::UInt8.nullable_if(nullable),
        RegexpOp::ExtractAll => DataType::Array(Box::new(DataType::String)),
        _ => DataType::String.nullable_if(nullable),
    };
    args.truncate(1);
    Ok(BExpr::call(F::Regexp(Box::new(r)), args, ty))
}

/// Binds `parseDateTimeBestEffort(s[, 'UTC'])`, `parseDateTime64BestEffort(s[, 3[, 'UTC']])`,
/// their `US` forms and their `OrNull`/`OrZero` forms.
fn bind_best_effort(n: &str, mut args: Vec<BExpr>, now: i64, nullable: bool) -> Result<BExpr> {
    use super::eval::OnError;
    let wide = n.starts_with("parseDateTime64");
    arity(n, &args, 1, if wide { 3 } else { 2 })?;
    if !args[0].ty.is_string() {
        return Err(illegal(n, &args));
    }
    let zone = if wide {
        if let Some(p) = args.get(1) {
            if const_int(n, p)? != 3 {
                return Err(Error::unsupported(format!(
                    "{n} with a precision other than 3"
                )));
            }
        }
        args.get(2)
    } else {
        args.get(1)
    };
    utc_only(n, zone)?;
    args.truncate(1);
    let on_error = if n.ends_with("OrNull") {
        OnError::Null
    } else if n.ends_with("OrZero") {
        OnError::Zero
    } else {
        OnError::Throw
    };
    let ty = if wide {
        DataType::DateTime64
    } else {
        DataType::DateTime
    };
    let ty = ty.nullable_if(nullable || on_error == OnError::Null);
    Ok(BExpr::call(
        F::BestEffort(on_error, n.contains("US"), now.div_euclid(86_400)),
        args,
        ty,
    ))
}

/// `multiIf` of pruned branches: just the value when one is left and already of the type.
fn multi_if(mut args: Vec<BExpr>, ty: DataType) -> Result<BExpr> {
    let ty = ty.without_low_cardinality();
    if args.len() == 1 && args[0].ty == ty {
        if let Some(only) = args.pop() {
            return Ok(only);
        }
    }
    let e = BExpr::call(F::MultiIf, args, ty);
    // One constant left is a constant of the result type (a `multiIf` of one argument that
    // stays is the mark of one that read columns: `bind` and `fold` keep it).
    match &e.kind {
        BKind::Call(c) if c.args.len() == 1 && c.args[0].as_const().is_some() => {
            let v = super::eval::eval_const(&e)?;
            Ok(BExpr::constant(v, e.ty))
        }
        _ => Ok(e),
    }
}

/// Drops the branches of `multiIf(c1, v1, …, else)` whose conditions are constant: a false
/// one is skipped, a true one ends the list as its value. The type stays that of all branches.
fn prune_branches(args: Vec<BExpr>) -> Vec<BExpr> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(first) = it.next() {
        let Some(value) = it.next() else {
            out.push(first);
            break;
        };
        match first.as_const() {
            Some(v) if super::column::value_f(v) != 0.0 && *v != Value::Null => {
                out.push(value);
                return out;
            }
            Some(_) => {}
            None => {
                out.push(first);
                out.push(value);
            }
        }
    }
    out
}

fn time_arg(name: &str, args: &[BExpr]) -> Result<()> {
    let t = args[0].ty.base();
    if t.is_time() || (t.is_string() && args[0].as_const().is_some()) {
        Ok(())
    } else {
        Err(illegal(name, args))
    }
}

/// The error for a function outside the subset.
pub fn unknown_function(name: &str) -> Error {
    if unsupported_aggregate(name) {
        return Error::unsupported(format!("aggregate function {name}"));
    }
    Error::unsupported(format!("function {name}"))
}

/// Builds the set for `x IN (…)` from constant values, converted to the type of `x`.
pub fn in_set(left: &DataType, values: &[(Value, DataType)]) -> Result<InSet> {
    let base = left.base();
    let bad = |v: &Value, t: &DataType| {
        Error::query(format!(
            "IN: cannot compare {base} with {t} value {}",
            value_str(v)
        ))
    };
    if base.is_string() {
        let mut out = Vec::new();
        for (v, t) in values {
            match v {
                Value::Null => {}
                Value::Str(s) => out.push(s.clone()),
                other => return Err(bad(other, t)),
            }
        }
        return Ok(InSet::Str(out.into_iter().collect()));
    }
    if base.is_time() {
        let mut out = Vec::new();
        for (v, t) in values {
            let v = match v {
                Value::Null => continue,
                Value::Str(s) => parse_compared(s, base)?,
                other if t.is_time() || t.is_number() => {
                    let other = typed_value(t, other.clone());
                    // Rescale other time units to the left side's unit.
                    match (t.base(), base) {
                        (DataType::Date, DataType::DateTime) => {
                            Value::Int(super::eval::const_i(&other) * 86_400)
                        }
                        (DataType::Date, DataType::DateTime64) => {
                            Value::Int(super::eval::const_i(&other) * 86_400_000)
                        }
                        (DataType::DateTime, DataType::DateTime64) => {
                            Value::Int(super::eval::const_i(&other) * 1000)
                        }
                        (DataType::DateTime, DataType::Date) | (DataType::DateTime64, _) => {
                            return Err(Error::unsupported(format!(
                                "IN with {t} values for a {base}"
                            )))
                        }
                        _ => other,
                    }
                }
                other => return Err(bad(other, t)),
            };
            out.push(super::eval::const_i(&v));
        }
        return Ok(InSet::Int(out.into_iter().collect()));
    }
    if base.is_number() {
        if base.is_float() {
            let mut out = Vec::new();
            for (v, t) in values {
                match v {
                    Value::Null => {}
                    Value::Str(_) | Value::Array(_) => return Err(bad(v, t)),
                    other => out.push(super::eval::float_key(super::column::value_f(other))),
                }
            }
            return Ok(InSet::Float(out.into_iter().collect()));
        }
        let unsigned = !base.is_signed();
        let mut ints = Vec::new();
        let mut uints = Vec::new();
        for (v, t) in values {
            match v {
                Value::Null => {}
                Value::Str(_) | Value::Array(_) => return Err(bad(v, t)),
                Value::Float64(f) if f.fract() != 0.0 => {}
                Value::Float32(f) if f.fract() != 0.0 => {}
                Value::Int(i) if *i < 0 && unsigned => {}
                other => {
                    uints.push(super::eval::const_u(other));
                    ints.push(super::eval::const_i(other));
                }
            }
        }
        return Ok(if unsigned {
            InSet::UInt(uints.into_iter().collect())
        } else {
            InSet::Int(ints.into_iter().collect())
        });
    }
    Err(Error::unsupported(format!("IN on {left} values")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(v: Value, t: DataType) -> BExpr {
        BExpr::constant(v, t)
    }

    fn col(t: DataType) -> BExpr {
        BExpr {
            kind: BKind::Slot(0),
            ty: t,
        }
    }

    #[test]
    fn result_types() {
        let t = |name: &str, args: Vec<BExpr>| bind(name, args, 0).map(|e| e.ty.to_string());
        assert_eq!(
            t("plus", vec![col(DataType::UInt32), col(DataType::UInt32)]).unwrap(),
            "UInt64"
        );
        assert_eq!(
            t(
                "divide",
                vec![col(DataType::UInt32), lit(Value::UInt(2), DataType::UInt8)]
            )
            .unwrap(),
            "Float64"
        );
        assert_eq!(
            t(
                "minus",
                vec![
                    col(DataType::DateTime),
                    lit(Value::Int(3600), DataType::Interval(Unit::Second))
                ]
            )
            .unwrap(),
            "DateTime"
        );
        assert_eq!(
            t(
                "plus",
                vec![
                    col(DataType::Date),
                    lit(Value::Int(1), DataType::Interval(Unit::Hour))
                ]
            )
            .unwrap(),
            "DateTime"
        );
        assert_eq!(
            t(
                "minus",
                vec![col(DataType::DateTime), col(DataType::DateTime)]
            )
            .unwrap(),
            "Int32"
        );
        assert_eq!(
            t(
                "round",
                vec![col(DataType::Float32), lit(Value::UInt(2), DataType::UInt8)]
            )
            .unwrap(),
            "Float32"
        );
        assert_eq!(
            t(
                "toStartOfInterval",
                vec![
                    col(DataType::DateTime),
                    lit(Value::Int(1), DataType::Interval(Unit::Month))
                ]
            )
            .unwrap(),
            "Date"
        );
        assert_eq!(
            t(
                "if",
                vec![
                    col(DataType::UInt8),
                    col(DataType::UInt8),
                    col(DataType::UInt32)
                ]
            )
            .unwrap(),
            "UInt32"
        );
        assert_eq!(t("abs", vec![col(DataType::Int32)]).unwrap(), "UInt32");
        assert_eq!(t("negate", vec![col(DataType::UInt32)]).unwrap(), "Int64");
        assert!(t(
            "equals",
            vec![col(DataType::String), lit(Value::UInt(1), DataType::UInt8)]
        )
        .is_err());
        let e = bind(
            "equals",
            vec![
                col(DataType::DateTime),
                lit(Value::Str("2024-01-01".into()), DataType::String),
            ],
            0,
        )
        .unwrap();
        let BKind::Call(c) = &e.kind else {
            panic!("not a call")
        };
        assert_eq!(c.args[1].as_const(), Some(&Value::DateTime(1_704_067_200)));
        assert!(bind(
            "equals",
            vec![
                col(DataType::DateTime),
                lit(Value::Str("soon".into()), DataType::String)
            ],
            0
        )
        .is_err());
        let e = bind("arrayJoin", vec![], 0).unwrap_err().to_string();
        assert_eq!(e, "not supported: function arrayJoin");
        assert_eq!(aggregate("countIf"), Some(("count", true)));
        assert_eq!(aggregate("SUM"), Some(("sum", false)));
        assert_eq!(aggregate("multiIf"), None);
    }
}
