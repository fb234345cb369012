//! Array functions: building arrays (`array`, `range`, `splitByChar`, …), reading them
//! (`arrayElement`, `has`, `indexOf`, `length`, …), transforming them (`arraySlice`,
//! `arraySort`, …), folding them (`arraySum`, `cosineDistance`, …) and the higher-order
//! functions whose first argument is a lambda (`arrayMap(x -> …, a)`, `arrayFilter`, …).
//!
//! Arrays are held as one [`Value::Array`] per row. Every call builds at most
//! [`MAX_ARRAY_ELEMENTS`] elements over one batch (checked before `range` allocates), and the
//! bytes of the arrays and strings built are charged to the query's budget (`budget`), which
//! the bytes the store's `maxBytes` leaves free bound.

use super::super::budget;
use super::super::column::{default_value, from_values, typed_value, value_f, value_str, Col};
use super::super::types::{common_type, DataType, Repr};
use super::super::Value;
use super::{eval, to_mask, BExpr, Batch, FCall, F};
use crate::error::{Error, Result};
use std::borrow::Cow;
use std::cmp::Ordering;

/// The most elements one array function may build over one batch of rows (and the longest
/// array `range` makes).
pub const MAX_ARRAY_ELEMENTS: usize = 4_000_000;

/// What a higher-order array function does with its lambda's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaOp {
    /// `arrayMap`: the results.
    Map,
    /// `arrayFilter`: the elements whose result is true.
    Filter,
    /// `arrayExists`: whether any result is true.
    Exists,
    /// `arrayAll`: whether every result is true.
    All,
    /// `arrayCount`: how many results are true.
    Count,
    /// `arraySum` of the results.
    Sum,
    /// `arrayAvg` of the results.
    Avg,
    /// `arrayMin` of the results.
    Min,
    /// `arrayMax` of the results.
    Max,
    /// `arrayFirst`: the first element whose result is true.
    First,
    /// `arraySort` by the results.
    Sort,
}

/// A lambda: its body, bound over a batch whose first `params` slots are its parameters and
/// whose next slots are the captured outer expressions (the call's arguments after the arrays).
#[derive(Debug, Clone)]
pub struct Lambda {
    /// The body.
    pub body: BExpr,
    /// How many parameters (and arrays) it takes.
    pub params: usize,
}

/// The array functions.
#[derive(Debug, Clone)]
pub enum ArrayFn {
    /// `array(…)`, `[…]` of non-constant elements.
    Make,
    /// `arrayElement(a, i)`, `a[i]`.
    Element,
    /// `length`.
    Length,
    /// `empty`.
    Empty,
    /// `notEmpty`.
    NotEmpty,
    /// `has(a, x)`.
    Has,
    /// `hasAny(a, b)`.
    HasAny,
    /// `hasAll(a, b)`.
    HasAll,
    /// `indexOf(a, x)`.
    IndexOf,
    /// `arrayConcat(a, …)`.
    Concat,
    /// `arraySlice(a, offset[, length])`.
    Slice,
    /// `arrayDistinct`.
    Distinct,
    /// `arraySort`.
    Sort,
    /// `arrayReverse`.
    Reverse,
    /// `arrayEnumerate`: 1, 2, … for the elements.
    Enumerate,
    /// `arrayEnumerateUniq`: for each element, how many times it has been met so far.
    EnumerateUniq,
    /// `arrayStringConcat(a[, sep])`.
    StringConcat,
    /// `range([start, ]end[, step])`.
    Range,
    /// `splitByChar(sep, s)` and `splitByString(sep, s)`.
    Split,
    /// `arraySum`.
    Sum,
    /// `arrayAvg`.
    Avg,
    /// `arrayMin`.
    Min,
    /// `arrayMax`.
    Max,
    /// `arrayCount(a)`: the non-zero elements.
    Count,
    /// `cosineDistance`.
    Cosine,
    /// `L2Distance`.
    L2,
    /// `map(k1, v1, …)`.
    MakeMap,
    /// `m[k]`: the value of key `k`, or the value type's default.
    MapGet,
    /// `mapKeys`.
    MapKeys,
    /// `mapValues`.
    MapValues,
    /// `mapContains(m, k)`.
    MapContains,
    /// A function of a lambda.
    Lambda(LambdaOp, Box<Lambda>),
}

fn illegal(name: &str, args: &[BExpr]) -> Error {
    let types: Vec<String> = args.iter().map(|a| a.ty.to_string()).collect();
    Error::query(format!(
        "illegal types ({}) of arguments of function {name}",
        types.join(", ")
    ))
}

fn arity(name: &str, args: &[BExpr], min: usize, max: usize) -> Result<()> {
    if args.len() < min || args.len() > max {
        return Err(Error::query(format!(
            "{name}() takes {min} to {max} arguments, got {}",
            args.len()
        )));
    }
    Ok(())
}

/// The element type of an array type.
pub fn elem(ty: &DataType) -> Option<&DataType> {
    match ty {
        DataType::Array(e) => Some(e),
        _ => None,
    }
}

fn elem_of<'t>(name: &str, args: &'t [BExpr], i: usize) -> Result<&'t DataType> {
    args.get(i)
        .and_then(|a| elem(&a.ty))
        .ok_or_else(|| illegal(name, args))
}

/// The sum type ClickHouse gives `arraySum` of `t`.
fn sum_type(t: &DataType) -> Option<DataType> {
    let b = t.base();
    Some(if b.is_float() {
        DataType::Float64
    } else if b.is_signed() {
        DataType::Int64
    } else if b.is_number() {
        DataType::UInt64
    } else {
        return None;
    })
}

/// Whether `name` is an array function this file binds.
pub fn is_array_function(name: &str) -> bool {
    matches!(
        name,
        "array"
            | "arrayElement"
            | "has"
            | "hasAny"
            | "hasAll"
            | "indexOf"
            | "arrayConcat"
            | "arraySlice"
            | "arrayDistinct"
            | "arraySort"
            | "arrayReverse"
            | "arrayEnumerate"
            | "arrayEnumerateUniq"
            | "arrayStringConcat"
            | "range"
            | "splitByChar"
            | "splitByString"
            | "arraySum"
            | "arrayAvg"
            | "arrayMin"
            | "arrayMax"
            | "arrayCount"
            | "cosineDistance"
            | "L2Distance"
            | "map"
            | "mapKeys"
            | "mapValues"
            | "mapContains"
    )
}

/// Binds an array function call whose arguments are bound (`length`, `empty` and `notEmpty`
/// of an array come here too).
pub fn bind(name: &str, args: Vec<BExpr>) -> Result<BExpr> {
    let n = name;
    let mk = |f: ArrayFn, args: Vec<BExpr>, ty: DataType| {
        Ok(BExpr::call(F::Array(Box::new(f)), args, ty))
    };
    match n {
        "array" => {
            let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
            let e = if types.is_empty() {
                DataType::Nothing
            } else {
                common_type(&types).ok_or_else(|| illegal(n, &args))?
            };
            mk(ArrayFn::Make, args, DataType::Array(Box::new(e)))
        }
        "map" => {
            if args.len() % 2 == 1 {
                return Err(Error::query("map() takes an even number of arguments"));
            }
            let pick = |start: usize| -> Result<DataType> {
                let types: Vec<&DataType> =
                    args.iter().skip(start).step_by(2).map(|a| &a.ty).collect();
                if types.is_empty() {
                    return Ok(DataType::Nothing);
                }
                common_type(&types).ok_or_else(|| illegal(n, &args))
            };
            let (k, v) = (pick(0)?, pick(1)?);
            if k.is_nullable() || matches!(k, DataType::Array(_) | DataType::Map(..)) {
                return Err(illegal(n, &args));
            }
            mk(ArrayFn::MakeMap, args, DataType::Map(Box::new((k, v))))
        }
        "arrayElement" if matches!(args.first().map(|a| &a.ty), Some(DataType::Map(..))) => {
            arity(n, &args, 2, 2)?;
            let Some(DataType::Map(kv)) = args.first().map(|a| a.ty.clone()) else {
                return Err(illegal(n, &args));
            };
            mk(ArrayFn::MapGet, args, kv.1)
        }
        "mapKeys" | "mapValues" | "mapContains" => {
            arity(
                n,
                &args,
                if n == "mapContains" { 2 } else { 1 },
                if n == "mapContains" { 2 } else { 1 },
            )?;
            let Some(DataType::Map(kv)) = args.first().map(|a| a.ty.clone()) else {
                return Err(illegal(n, &args));
            };
            let (k, v) = *kv;
            match n {
                "mapKeys" => mk(ArrayFn::MapKeys, args, DataType::Array(Box::new(k))),
                "mapValues" => mk(ArrayFn::MapValues, args, DataType::Array(Box::new(v))),
                _ => mk(ArrayFn::MapContains, args, DataType::UInt8),
            }
        }
        "length" | "empty" | "notEmpty"
            if matches!(args.first().map(|a| &a.ty), Some(DataType::Map(..))) =>
        {
            arity(n, &args, 1, 1)?;
            let (f, ty) = match n {
                "length" => (ArrayFn::Length, DataType::UInt64),
                "empty" => (ArrayFn::Empty, DataType::UInt8),
                _ => (ArrayFn::NotEmpty, DataType::UInt8),
            };
            mk(f, args, ty)
        }
        "arrayElement" => {
            arity(n, &args, 2, 2)?;
            let e = elem_of(n, &args, 0)?.clone();
            if !args[1].ty.is_int() {
                return Err(illegal(n, &args));
            }
            mk(ArrayFn::Element, args, e)
        }
        "length" | "empty" | "notEmpty" => {
            arity(n, &args, 1, 1)?;
            elem_of(n, &args, 0)?;
            let (f, ty) = match n {
                "length" => (ArrayFn::Length, DataType::UInt64),
                "empty" => (ArrayFn::Empty, DataType::UInt8),
                _ => (ArrayFn::NotEmpty, DataType::UInt8),
            };
            mk(f, args, ty)
        }
        "has" | "indexOf" => {
            arity(n, &args, 2, 2)?;
            let e = elem_of(n, &args, 0)?;
            let t = &args[1].ty;
            let ok = *e.base() == DataType::Nothing
                || *t.base() == DataType::Nothing
                || common_type(&[e, t]).is_some();
            if !ok {
                return Err(illegal(n, &args));
            }
            if n == "has" {
                mk(ArrayFn::Has, args, DataType::UInt8)
            } else {
                mk(ArrayFn::IndexOf, args, DataType::UInt64)
            }
        }
        "hasAny" | "hasAll" => {
            arity(n, &args, 2, 2)?;
            let (a, b) = (elem_of(n, &args, 0)?, elem_of(n, &args, 1)?);
            if common_type(&[a, b]).is_none() {
                return Err(illegal(n, &args));
            }
            let f = if n == "hasAny" {
                ArrayFn::HasAny
            } else {
                ArrayFn::HasAll
            };
            mk(f, args, DataType::UInt8)
        }
        "arrayConcat" => {
            if args.is_empty() {
                return Err(Error::query("arrayConcat() needs arguments"));
            }
            let mut types = Vec::new();
            for i in 0..args.len() {
                types.push(elem_of(n, &args, i)?);
            }
            let e = common_type(&types).ok_or_else(|| illegal(n, &args))?;
            mk(ArrayFn::Concat, args, DataType::Array(Box::new(e)))
        }
        "arraySlice" => {
            arity(n, &args, 2, 3)?;
            elem_of(n, &args, 0)?;
            // A NULL offset or length (`Nullable(Nothing)`) is allowed, as in ClickHouse.
            if args[1..]
                .iter()
                .any(|a| !a.ty.is_int() && *a.ty.base() != DataType::Nothing)
            {
                return Err(illegal(n, &args));
            }
            let ty = args[0].ty.clone();
            mk(ArrayFn::Slice, args, ty)
        }
        "arrayDistinct" | "arraySort" | "arrayReverse" => {
            arity(n, &args, 1, 1)?;
            let e = elem_of(n, &args, 0)?;
            // arrayDistinct leaves NULLs out, and Nullable with them.
            let ty = if n == "arrayDistinct" {
                DataType::Array(Box::new(e.base().clone()))
            } else {
                args[0].ty.clone()
            };
            let f = match n {
                "arrayDistinct" => ArrayFn::Distinct,
                "arraySort" => ArrayFn::Sort,
                _ => ArrayFn::Reverse,
            };
            mk(f, args, ty)
        }
        "arrayEnumerate" | "arrayEnumerateUniq" => {
            let most = if n == "arrayEnumerate" { 1 } else { usize::MAX };
            arity(n, &args, 1, most)?;
            for k in 0..args.len() {
                elem_of(n, &args, k)?;
            }
            let f = if n == "arrayEnumerate" {
                ArrayFn::Enumerate
            } else {
                ArrayFn::EnumerateUniq
            };
            mk(f, args, DataType::Array(Box::new(DataType::UInt32)))
        }
        "arrayStringConcat" => {
            arity(n, &args, 1, 2)?;
            elem_of(n, &args, 0)?;
            if let Some(sep) = args.get(1) {
                if !(sep.ty.is_string() && sep.as_const().is_some()) {
                    return Err(Error::query(
                        "arrayStringConcat() needs a constant string separator",
                    ));
                }
            }
            mk(ArrayFn::StringConcat, args, DataType::String)
        }
        "range" => {
            arity(n, &args, 1, 3)?;
            if args.iter().any(|a| !a.ty.is_int()) {
                return Err(illegal(n, &args));
            }
            let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
            let e = common_type(&types)
                .ok_or_else(|| illegal(n, &args))?
                .base()
                .clone();
            mk(ArrayFn::Range, args, DataType::Array(Box::new(e)))
        }
        "splitByChar" | "splitByString" => {
            arity(n, &args, 2, 2)?;
            let sep = match args[0].as_const() {
                Some(Value::Str(s)) => s.clone(),
                _ => {
                    return Err(Error::query(format!(
                        "{n}() needs a constant string separator"
                    )))
                }
            };
            if n == "splitByChar" && sep.chars().count() != 1 {
                return Err(Error::query(
                    "splitByChar() needs a separator of exactly one character",
                ));
            }
            if !args[1].ty.is_string() {
                return Err(illegal(n, &args));
            }
            mk(
                ArrayFn::Split,
                args,
                DataType::Array(Box::new(DataType::String)),
            )
        }
        "arraySum" | "arrayAvg" | "arrayMin" | "arrayMax" | "arrayCount" => {
            arity(n, &args, 1, 1)?;
            let e = elem_of(n, &args, 0)?.clone();
            if *e.base() == DataType::Nothing {
                return Err(Error::query(format!(
                    "{n}: array aggregation function cannot be performed on type Nothing"
                )));
            }
            let (f, ty) = match n {
                "arraySum" => (ArrayFn::Sum, sum_type(&e)),
                "arrayAvg" => (ArrayFn::Avg, e.is_number().then_some(DataType::Float64)),
                "arrayMin" => (ArrayFn::Min, Some(e.without_low_cardinality())),
                "arrayMax" => (ArrayFn::Max, Some(e.without_low_cardinality())),
                _ => (ArrayFn::Count, Some(DataType::UInt32)),
            };
            let ty = ty.ok_or_else(|| illegal(n, &args))?;
            mk(f, args, ty)
        }
        "cosineDistance" | "L2Distance" => {
            arity(n, &args, 2, 2)?;
            let (a, b) = (elem_of(n, &args, 0)?, elem_of(n, &args, 1)?);
            if !(a.is_number() && b.is_number()) || a.is_nullable() || b.is_nullable() {
                return Err(illegal(n, &args));
            }
            let ty = if *a.base() == DataType::Float32 && *b.base() == DataType::Float32 {
                DataType::Float32
            } else {
                DataType::Float64
            };
            let f = if n == "L2Distance" {
                ArrayFn::L2
            } else {
                ArrayFn::Cosine
            };
            mk(f, args, ty)
        }
        _ => Err(Error::unsupported(format!("function {n}"))),
    }
}

/// The operation of a higher-order function name, if it is one.
pub fn lambda_op(name: &str) -> Option<LambdaOp> {
    Some(match name {
        "arrayMap" => LambdaOp::Map,
        "arrayFilter" => LambdaOp::Filter,
        "arrayExists" => LambdaOp::Exists,
        "arrayAll" => LambdaOp::All,
        "arrayCount" => LambdaOp::Count,
        "arraySum" => LambdaOp::Sum,
        "arrayAvg" => LambdaOp::Avg,
        "arrayMin" => LambdaOp::Min,
        "arrayMax" => LambdaOp::Max,
        "arrayFirst" => LambdaOp::First,
        "arraySort" => LambdaOp::Sort,
        _ => return None,
    })
}

/// The result type of a higher-order function over `arrays` whose lambda gives `body`.
pub fn lambda_type(
    name: &str,
    op: LambdaOp,
    arrays: &[BExpr],
    body: &DataType,
) -> Result<DataType> {
    let first = arrays
        .first()
        .map(|a| a.ty.clone())
        .ok_or_else(|| Error::query(format!("{name}() needs an array")))?;
    let cond = || {
        if body.is_number() || *body.base() == DataType::Nothing {
            Ok(())
        } else {
            Err(Error::query(format!(
                "{name}: the lambda must return a number, not {body}"
            )))
        }
    };
    Ok(match op {
        LambdaOp::Map => DataType::Array(Box::new(body.clone())),
        LambdaOp::Filter | LambdaOp::Sort => {
            if op == LambdaOp::Filter {
                cond()?;
            }
            first
        }
        LambdaOp::Exists | LambdaOp::All => {
            cond()?;
            DataType::UInt8
        }
        LambdaOp::Count => {
            cond()?;
            DataType::UInt32
        }
        LambdaOp::Sum => sum_type(body).ok_or_else(|| illegal(name, arrays))?,
        LambdaOp::Avg => {
            if !body.is_number() {
                return Err(illegal(name, arrays));
            }
            DataType::Float64
        }
        LambdaOp::Min | LambdaOp::Max => body.clone().without_low_cardinality(),
        LambdaOp::First => {
            cond()?;
            elem(&first).cloned().unwrap_or(DataType::Nothing)
        }
    })
}

/// A value converted to type `ty` (arrays element by element), as an array of `ty` holds it.
pub fn conform(v: Value, ty: &DataType) -> Value {
    match (v, ty.base()) {
        (Value::Null, _) => Value::Null,
        (Value::Array(items), DataType::Array(e)) => {
            Value::Array(items.into_iter().map(|x| conform(x, e)).collect())
        }
        (v, t) if t.repr() == Repr::S || t.repr() == Repr::V || *t == DataType::Nothing => v,
        (v, _) => typed_value(ty, v),
    }
}

fn is_number(v: &Value) -> bool {
    matches!(
        v,
        Value::UInt(_) | Value::Int(_) | Value::Float32(_) | Value::Float64(_) | Value::Bool(_)
    )
}

fn wide(v: &Value) -> Option<i128> {
    match v {
        Value::UInt(x) => Some(i128::from(*x)),
        Value::Int(x) => Some(i128::from(*x)),
        Value::Bool(b) => Some(i128::from(*b)),
        _ => None,
    }
}

/// Whether two values are equal as `has` and `indexOf` compare them (numbers by value, `NULL`
/// equal to `NULL`).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (x, y) if is_number(x) && is_number(y) => match (wide(x), wide(y)) {
            (Some(p), Some(q)) => p == q,
            _ => value_f(x) == value_f(y),
        },
        (x, y) => x == y,
    }
}

/// The order `arraySort` and `arrayMin`/`arrayMax` use: numbers by value with NaN last,
/// strings by bytes, arrays element by element, `NULL` last.
pub fn order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = order(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (x, y) if is_number(x) && is_number(y) => match (wide(x), wide(y)) {
            (Some(p), Some(q)) => p.cmp(&q),
            _ => {
                let (p, q) = (value_f(x), value_f(y));
                match (p.is_nan(), q.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
                }
            }
        },
        (x, y) => {
            let (p, q) = (super::const_i(x), super::const_i(y));
            p.cmp(&q)
        }
    }
}

fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items,
        // A map's length and emptiness are its pairs'.
        Value::Map(pairs) => pairs.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
    }
}

/// What a missing element or key reads as: `NULL` for a `Nullable` type, else its default.
fn missing(ty: &DataType) -> Value {
    if ty.is_nullable() {
        Value::Null
    } else {
        default_value(ty)
    }
}

fn pairs(v: Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(pairs) => pairs,
        _ => Vec::new(),
    }
}

/// Counts elements built against [`MAX_ARRAY_ELEMENTS`].
struct Budget(usize);

impl Budget {
    fn take(&mut self, k: usize) -> Result<()> {
        self.0 = self.0.saturating_add(k);
        if self.0 > MAX_ARRAY_ELEMENTS {
            return Err(Error::query(format!(
                "an array function would build more than {MAX_ARRAY_ELEMENTS} elements in one \
                 block of rows"
            )));
        }
        Ok(())
    }
}

fn sum_values(values: &[Value], ty: &DataType) -> Value {
    match ty.base() {
        DataType::Float64 => Value::Float64(values.iter().map(value_f).sum()),
        DataType::Int64 => Value::Int(
            values
                .iter()
                .fold(0i64, |s, v| s.wrapping_add(super::const_i(v))),
        ),
        _ => Value::UInt(
            values
                .iter()
                .fold(0u64, |s, v| s.wrapping_add(super::const_u(v))),
        ),
    }
}

/// `arrayMin`/`arrayMax`: `NULL`s are passed over, and NaNs too unless every other value is
/// `NULL` (then the answer is NaN), as in ClickHouse.
fn extreme(values: Vec<Value>, ty: &DataType, max: bool) -> Value {
    let mut nan = None;
    let best = values
        .into_iter()
        .filter(|v| *v != Value::Null)
        .filter(|v| {
            if is_nan(v) {
                nan.get_or_insert_with(|| v.clone());
                return false;
            }
            true
        })
        .reduce(|a, b| {
            let o = order(&b, &a);
            let better = if max {
                o == Ordering::Greater
            } else {
                o == Ordering::Less
            };
            if better {
                b
            } else {
                a
            }
        });
    match best.or(nan) {
        Some(v) => conform(v, ty),
        None => default_value(ty),
    }
}

/// Whether `v` is a float NaN.
fn is_nan(v: &Value) -> bool {
    match v {
        Value::Float64(x) => x.is_nan(),
        Value::Float32(x) => x.is_nan(),
        _ => false,
    }
}

/// Whether `arrayDistinct` keeps `a` and `b` as one value: floats by their bits (`0` and `-0`
/// are two values) with every NaN one value, as ClickHouse's hash set keys them; other values
/// as `has` compares them.
fn distinct_same(a: &Value, b: &Value) -> bool {
    let float = |v: &Value| match v {
        Value::Float64(x) => Some(*x),
        Value::Float32(x) => Some(f64::from(*x)),
        _ => None,
    };
    match (float(a), float(b)) {
        (Some(x), Some(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        _ => same(a, b),
    }
}

/// The text `arrayStringConcat` writes for an element, as ClickHouse's `toString`: NaN and
/// the infinities as `nan`, `inf` and `-inf`.
fn element_text(v: &Value) -> Cow<'_, str> {
    let float = match v {
        Value::Float64(x) => Some(*x),
        Value::Float32(x) => Some(f64::from(*x)),
        _ => None,
    };
    match float {
        Some(x) if x.is_nan() => Cow::Borrowed("nan"),
        Some(x) if x.is_infinite() => Cow::Borrowed(if x > 0.0 { "inf" } else { "-inf" }),
        _ => value_str(v),
    }
}

fn avg(values: &[Value]) -> Value {
    let s: f64 = values.iter().map(value_f).sum();
    Value::Float64(s / values.len() as f64)
}

/// 1-based index `i` (negative from the end) into `len` elements, if in range.
fn position(i: i128, len: usize) -> Option<usize> {
    let len = len as i128;
    let p = if i > 0 {
        i - 1
    } else if i < 0 {
        len + i
    } else {
        return None;
    };
    (0..len).contains(&p).then_some(p as usize)
}

/// `arraySlice(v, offset, length)` as ClickHouse computes it: the offset counts from 1 (from
/// the end when negative; 0 gives an empty array); a negative offset past the start places the
/// slice before the first element, so a positive `length` is counted from there; a negative
/// `length` ends the slice that many elements before the end. Offsets and lengths are read as
/// `Int64` (a `UInt64` past it wraps, as in ClickHouse).
fn slice(v: Vec<Value>, offset: i64, length: Option<i64>) -> Result<Vec<Value>> {
    if length == Some(i64::MIN) {
        return Err(Error::query(format!(
            "arraySlice: overflow in length argument: {}",
            i64::MIN
        )));
    }
    let len = v.len() as i128;
    let offset = i128::from(offset);
    let start = if offset > 0 {
        offset - 1
    } else if offset < 0 {
        len + offset
    } else {
        return Ok(Vec::new());
    };
    let end = match length {
        None => len,
        Some(l) if l >= 0 => start + i128::from(l),
        Some(l) => len + i128::from(l),
    };
    let (start, end) = (start.max(0), end.min(len));
    if start >= end {
        return Ok(Vec::new());
    }
    Ok(v.into_iter()
        .skip(start as usize)
        .take((end - start) as usize)
        .collect())
}

/// An offset or length of `arraySlice` as `Int64`; `None` for `NULL`.
fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::UInt(x) => Some(*x as i64),
        Value::Int(x) => Some(*x),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

fn range(args: &[Value], cap: &mut Budget) -> Result<Vec<i128>> {
    let w: Vec<i128> = args.iter().map(|v| wide(v).unwrap_or_default()).collect();
    let (start, end, step) = match w.as_slice() {
        [e] => (0, *e, 1),
        [s, e] => (*s, *e, 1),
        [s, e, st] => (*s, *e, *st),
        _ => return Ok(Vec::new()),
    };
    if step == 0 {
        return Err(Error::query("range(): the step must not be 0"));
    }
    if (step > 0 && start >= end) || (step < 0 && start <= end) {
        return Ok(Vec::new());
    }
    let count = ((end - start).abs() + step.abs() - 1) / step.abs();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    cap.take(count)?;
    Ok((0..count).map(|k| start + step * k as i128).collect())
}

fn split(sep: &str, s: &str) -> Vec<Value> {
    if sep.is_empty() {
        return s.chars().map(|c| Value::Str(c.to_string())).collect();
    }
    s.split(sep).map(|x| Value::Str(x.to_string())).collect()
}

fn distance(a: &[Value], b: &[Value], cosine: bool, f32_out: bool) -> Result<Value> {
    if a.len() != b.len() {
        return Err(Error::query(format!(
            "the arrays of a distance function have different sizes ({} and {})",
            a.len(),
            b.len()
        )));
    }
    let d = if f32_out {
        // ClickHouse computes in Float32 for two Float32 arrays.
        let (mut dot, mut na, mut nb, mut sq) = (0f32, 0f32, 0f32, 0f32);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (value_f(x) as f32, value_f(y) as f32);
            dot += x * y;
            na += x * x;
            nb += y * y;
            sq += (x - y) * (x - y);
        }
        let r = if cosine {
            1.0 - dot / (na * nb).sqrt()
        } else {
            sq.sqrt()
        };
        return Ok(Value::Float32(r));
    } else {
        let (mut dot, mut na, mut nb, mut sq) = (0f64, 0f64, 0f64, 0f64);
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (value_f(x), value_f(y));
            dot += x * y;
            na += x * x;
            nb += y * y;
            sq += (x - y) * (x - y);
        }
        if cosine {
            1.0 - dot / (na * nb).sqrt()
        } else {
            sq.sqrt()
        }
    };
    Ok(Value::Float64(d))
}

/// Computes an array function over its arguments' values.
pub(super) fn call<'a>(
    fc: &FCall,
    f: &ArrayFn,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    if let ArrayFn::Lambda(op, lambda) = f {
        return call_lambda(fc, *op, lambda, args, ty, n);
    }
    let at = |k: usize, i: usize| args[k].value_at(i, &fc.args[k].ty);
    let out_elem = elem(ty).cloned().unwrap_or(DataType::Nothing);
    // Arrays, maps and strings built are charged by their bytes to the query's budget.
    let charged = matches!(ty.base().repr(), Repr::V | Repr::S);
    let mut bytes: u64 = 0;
    let mut cap = Budget(0);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let v = match f {
            ArrayFn::Make => {
                cap.take(args.len())?;
                Value::Array(
                    (0..args.len())
                        .map(|k| conform(at(k, i), &out_elem))
                        .collect(),
                )
            }
            ArrayFn::Element => {
                let a = items(at(0, i));
                let idx = wide(&at(1, i)).unwrap_or_default();
                match position(idx, a.len()) {
                    Some(p) => a.into_iter().nth(p).unwrap_or(Value::Null),
                    None => missing(ty),
                }
            }
            ArrayFn::Length => Value::UInt(items(at(0, i)).len() as u64),
            ArrayFn::Empty => Value::UInt(u64::from(items(at(0, i)).is_empty())),
            ArrayFn::NotEmpty => Value::UInt(u64::from(!items(at(0, i)).is_empty())),
            ArrayFn::Has => {
                let x = at(1, i);
                Value::UInt(u64::from(items(at(0, i)).iter().any(|e| same(e, &x))))
            }
            ArrayFn::IndexOf => {
                let x = at(1, i);
                let p = items(at(0, i)).iter().position(|e| same(e, &x));
                Value::UInt(p.map_or(0, |p| p as u64 + 1))
            }
            ArrayFn::HasAny | ArrayFn::HasAll => {
                let (a, b) = (items(at(0, i)), items(at(1, i)));
                let found = |x: &Value| a.iter().any(|e| same(e, x));
                let r = if matches!(f, ArrayFn::HasAny) {
                    b.iter().any(found)
                } else {
                    b.iter().all(found)
                };
                Value::UInt(u64::from(r))
            }
            ArrayFn::Concat => {
                let mut all = Vec::new();
                for k in 0..args.len() {
                    let part = items(at(k, i));
                    cap.take(part.len())?;
                    all.extend(part.into_iter().map(|x| conform(x, &out_elem)));
                }
                Value::Array(all)
            }
            ArrayFn::Slice => {
                // A NULL offset is 1 and a NULL length the rest of the array, as in ClickHouse.
                let offset = int64(&at(1, i)).unwrap_or(1);
                let length = if args.len() > 2 {
                    int64(&at(2, i))
                } else {
                    None
                };
                let r = slice(items(at(0, i)), offset, length)?;
                cap.take(r.len())?;
                Value::Array(r)
            }
            ArrayFn::Distinct => {
                let mut seen: Vec<Value> = Vec::new();
                for x in items(at(0, i)) {
                    if x != Value::Null && !seen.iter().any(|s| distinct_same(s, &x)) {
                        seen.push(x);
                    }
                }
                cap.take(seen.len())?;
                Value::Array(seen)
            }
            ArrayFn::Sort => {
                let mut a = items(at(0, i));
                cap.take(a.len())?;
                a.sort_by(order);
                Value::Array(a)
            }
            ArrayFn::Reverse => {
                let mut a = items(at(0, i));
                cap.take(a.len())?;
                a.reverse();
                Value::Array(a)
            }
            ArrayFn::Enumerate => {
                let a = items(at(0, i));
                cap.take(a.len())?;
                Value::Array((1..=a.len() as u64).map(Value::UInt).collect())
            }
            ArrayFn::EnumerateUniq => {
                // Several arrays are read as one array of their elements side by side.
                let arrays: Vec<Vec<Value>> = (0..args.len()).map(|k| items(at(k, i))).collect();
                let len = arrays.first().map_or(0, Vec::len);
                if arrays.iter().any(|a| a.len() != len) {
                    return Err(Error::query(
                        "arrayEnumerateUniq: lengths of all arrays must be equal \
                         (SIZES_OF_ARRAYS_DONT_MATCH)",
                    ));
                }
                cap.take(len)?;
                let rows: Vec<Vec<Value>> = (0..len)
                    .map(|e| {
                        arrays
                            .iter()
                            .map(|a| a.get(e).cloned().unwrap_or(Value::Null))
                            .collect()
                    })
                    .collect();
                // Elements equal as ClickHouse hashes them: NULLs alike, NaNs alike, 0 and -0 not.
                let alike =
                    |a: &[Value], b: &[Value]| a.iter().zip(b).all(|(x, y)| distinct_same(x, y));
                let mut seen: Vec<(Vec<Value>, u64)> = Vec::new();
                let mut out = Vec::with_capacity(len);
                for x in rows {
                    let k = match seen.iter_mut().find(|(s, _)| alike(s, &x)) {
                        Some((_, k)) => {
                            *k += 1;
                            *k
                        }
                        None => {
                            seen.push((x, 1));
                            1
                        }
                    };
                    out.push(Value::UInt(k));
                }
                Value::Array(out)
            }
            ArrayFn::StringConcat => {
                let sep = if args.len() > 1 {
                    value_str(&at(1, i)).into_owned()
                } else {
                    String::new()
                };
                // NULL elements are left out, separators with them, as in ClickHouse.
                let parts: Vec<String> = items(at(0, i))
                    .iter()
                    .filter(|x| **x != Value::Null)
                    .map(|x| element_text(x).into_owned())
                    .collect();
                // The text counts against the budget as elements of its size.
                let bytes = parts.iter().map(|p| p.len() + sep.len()).sum::<usize>();
                cap.take(bytes / std::mem::size_of::<Value>())?;
                Value::Str(parts.join(&sep))
            }
            ArrayFn::Range => {
                let vals: Vec<Value> = (0..args.len()).map(|k| at(k, i)).collect();
                let r = range(&vals, &mut cap)?;
                let signed = out_elem.is_signed();
                Value::Array(
                    r.into_iter()
                        .map(|x| {
                            if signed {
                                Value::Int(x as i64)
                            } else {
                                Value::UInt(x as u64)
                            }
                        })
                        .collect(),
                )
            }
            ArrayFn::Split => {
                let sep = value_str(&at(0, i)).into_owned();
                let s = value_str(&at(1, i)).into_owned();
                let r = split(&sep, &s);
                cap.take(r.len())?;
                Value::Array(r)
            }
            ArrayFn::Sum => {
                let a: Vec<Value> = items(at(0, i))
                    .into_iter()
                    .filter(|x| *x != Value::Null)
                    .collect();
                sum_values(&a, ty)
            }
            ArrayFn::Avg => {
                let a: Vec<Value> = items(at(0, i))
                    .into_iter()
                    .filter(|x| *x != Value::Null)
                    .collect();
                avg(&a)
            }
            ArrayFn::Min | ArrayFn::Max => extreme(items(at(0, i)), ty, matches!(f, ArrayFn::Max)),
            ArrayFn::Count => Value::UInt(
                items(at(0, i))
                    .iter()
                    .filter(|x| **x != Value::Null && value_f(x) != 0.0)
                    .count() as u64,
            ),
            ArrayFn::Cosine | ArrayFn::L2 => distance(
                &items(at(0, i)),
                &items(at(1, i)),
                matches!(f, ArrayFn::Cosine),
                *ty.base() == DataType::Float32,
            )?,
            ArrayFn::MakeMap => {
                cap.take(args.len())?;
                let (kt, vt) = match ty {
                    DataType::Map(kv) => (kv.0.clone(), kv.1.clone()),
                    _ => (DataType::Nothing, DataType::Nothing),
                };
                Value::Map(
                    (0..args.len() / 2)
                        .map(|j| (conform(at(2 * j, i), &kt), conform(at(2 * j + 1, i), &vt)))
                        .collect(),
                )
            }
            ArrayFn::MapGet => {
                let key = at(1, i);
                pairs(at(0, i))
                    .into_iter()
                    .find(|(k, _)| same(k, &key))
                    .map_or_else(|| missing(ty), |(_, v)| v)
            }
            ArrayFn::MapKeys | ArrayFn::MapValues => {
                let p = pairs(at(0, i));
                cap.take(p.len())?;
                let keys = matches!(f, ArrayFn::MapKeys);
                Value::Array(
                    p.into_iter()
                        .map(|(k, v)| if keys { k } else { v })
                        .collect(),
                )
            }
            ArrayFn::MapContains => {
                let key = at(1, i);
                Value::UInt(u64::from(
                    pairs(at(0, i)).iter().any(|(k, _)| same(k, &key)),
                ))
            }
            ArrayFn::Lambda(..) => Value::Null,
        };
        if charged {
            bytes = bytes.saturating_add(budget::value_bytes(&v));
        }
        out.push(v);
    }
    // Charged once per call: the element bound above keeps one call's work bounded.
    budget::live(bytes)?;
    Ok(from_values(out, ty))
}

/// Runs a lambda over every element of the arrays of `n` rows at once: its parameters are the
/// flattened arrays, its captured expressions are repeated for each element of their row.
fn call_lambda<'a>(
    fc: &FCall,
    op: LambdaOp,
    lambda: &Lambda,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let k = lambda.params;
    let mut rows: Vec<u32> = Vec::new();
    let mut starts: Vec<usize> = Vec::with_capacity(n + 1);
    let mut flat: Vec<Vec<Value>> = vec![Vec::new(); k];
    let mut firsts: Vec<Vec<Value>> = Vec::with_capacity(n);
    let mut cap = Budget(0);
    let mut bytes: u64 = 0;
    for i in 0..n {
        starts.push(rows.len());
        let mut len = None;
        for (j, list) in flat.iter_mut().enumerate() {
            let a = items(args[j].value_at(i, &fc.args[j].ty));
            match len {
                None => len = Some(a.len()),
                Some(l) if l != a.len() => {
                    return Err(Error::query(
                        "the arrays passed to a lambda function must have equal sizes",
                    ))
                }
                _ => {}
            }
            // The elements are copied into the lambda's columns (and the first array's kept).
            let b = a
                .iter()
                .map(budget::value_bytes)
                .fold(0, u64::saturating_add);
            bytes = bytes.saturating_add(b.saturating_mul(if j == 0 { 2 } else { 1 }));
            if j == 0 {
                firsts.push(a.clone());
            }
            list.extend(a);
        }
        let len = len.unwrap_or(0);
        cap.take(len)?;
        rows.extend(std::iter::repeat(i as u32).take(len));
    }
    starts.push(rows.len());
    budget::live(bytes)?;
    let total = rows.len();
    let mut cols: Vec<Col<'a>> = Vec::with_capacity(args.len());
    for (j, list) in flat.into_iter().enumerate() {
        let t = elem(&fc.args[j].ty).cloned().unwrap_or(DataType::Nothing);
        let values = list.into_iter().map(|v| conform(v, &t)).collect();
        cols.push(from_values(values, &t));
    }
    for a in &args[k..] {
        cols.push(a.gather(&rows));
    }
    let batch = Batch { n: total, cols };
    let body = eval(&lambda.body, &batch)?;
    let bty = &lambda.body.ty;
    let results: Vec<Value> = (0..total).map(|e| body.value_at(e, bty)).collect();
    if matches!(bty.base().repr(), Repr::V | Repr::S) {
        let bytes = results.iter().map(budget::value_bytes);
        budget::live(bytes.fold(0, u64::saturating_add))?;
    }
    let truth = || to_mask(&body, total);
    let out_elem = elem(ty).cloned().unwrap_or(DataType::Nothing);
    let mut out = Vec::with_capacity(n);
    match op {
        LambdaOp::Map => {
            let mut bytes: u64 = 0;
            for i in 0..n {
                let v = Value::Array(
                    results[starts[i]..starts[i + 1]]
                        .iter()
                        .map(|v| conform(v.clone(), &out_elem))
                        .collect(),
                );
                bytes = bytes.saturating_add(budget::value_bytes(&v));
                out.push(v);
            }
            budget::live(bytes)?;
        }
        LambdaOp::Filter | LambdaOp::First | LambdaOp::Sort => {
            let m = truth();
            for (i, a) in firsts.into_iter().enumerate() {
                let range = starts[i]..starts[i + 1];
                out.push(match op {
                    LambdaOp::Filter => Value::Array(
                        a.into_iter()
                            .zip(&m[range])
                            .filter(|(_, keep)| **keep)
                            .map(|(v, _)| v)
                            .collect(),
                    ),
                    LambdaOp::First => a
                        .into_iter()
                        .zip(&m[range])
                        .find(|(_, keep)| **keep)
                        .map_or_else(|| missing(ty), |(v, _)| v),
                    _ => {
                        let keys = &results[range];
                        let mut idx: Vec<usize> = (0..a.len()).collect();
                        idx.sort_by(|x, y| order(&keys[*x], &keys[*y]));
                        Value::Array(idx.into_iter().map(|x| a[x].clone()).collect())
                    }
                });
            }
        }
        LambdaOp::Exists | LambdaOp::All | LambdaOp::Count => {
            let m = truth();
            for i in 0..n {
                let part = &m[starts[i]..starts[i + 1]];
                out.push(Value::UInt(match op {
                    LambdaOp::Exists => u64::from(part.iter().any(|x| *x)),
                    LambdaOp::All => u64::from(part.iter().all(|x| *x)),
                    _ => part.iter().filter(|x| **x).count() as u64,
                }));
            }
        }
        LambdaOp::Sum | LambdaOp::Avg | LambdaOp::Min | LambdaOp::Max => {
            for i in 0..n {
                let part: Vec<Value> = results[starts[i]..starts[i + 1]]
                    .iter()
                    .filter(|v| **v != Value::Null)
                    .cloned()
                    .collect();
                out.push(match op {
                    LambdaOp::Sum => sum_values(&part, ty),
                    LambdaOp::Avg => avg(&part),
                    LambdaOp::Min => extreme(part, ty, false),
                    _ => extreme(part, ty, true),
                });
            }
        }
    }
    Ok(from_values(out, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_slices_and_ranges() {
        assert_eq!(position(1, 3), Some(0));
        assert_eq!(position(-1, 3), Some(2));
        assert_eq!(position(0, 3), None);
        assert_eq!(position(4, 3), None);
        assert_eq!(position(-4, 3), None);
        let v = |xs: &[u64]| xs.iter().map(|x| Value::UInt(*x)).collect::<Vec<_>>();
        // Hand-derived from ClickHouse's documentation of arraySlice.
        let s = |xs: &[u64], o: i64, l: Option<i64>| slice(v(xs), o, l).unwrap();
        assert_eq!(s(&[1, 2, 3, 4, 5], 2, Some(-1)), v(&[2, 3, 4]));
        assert_eq!(s(&[1, 2, 3, 4, 5], -3, Some(-1)), v(&[3, 4]));
        assert_eq!(s(&[1, 2, 3], 0, None), v(&[]));
        // ClickHouse 26.9 (chDB): a negative offset past the start counts the length from
        // before the first element.
        assert_eq!(s(&[1, 2, 3, 4, 5], -7, Some(3)), v(&[1]));
        assert_eq!(s(&[1, 2, 3, 4, 5], -6, Some(1)), v(&[]));
        assert_eq!(s(&[1, 2, 3, 4, 5], -7, Some(-3)), v(&[1, 2]));
        assert_eq!(s(&[1, 2, 3, 4, 5], i64::MIN, Some(2)), v(&[]));
        assert_eq!(s(&[1, 2, 3, 4, 5], -128, Some(127)), v(&[1, 2, 3, 4]));
        assert_eq!(s(&[1, 2, 3, 4, 5], 2, Some(i64::MAX)), v(&[2, 3, 4, 5]));
        assert!(slice(v(&[1, 2]), 1, Some(i64::MIN)).is_err());
        let mut b = Budget(0);
        assert_eq!(
            range(&[Value::UInt(0), Value::UInt(10), Value::UInt(3)], &mut b).unwrap(),
            vec![0, 3, 6, 9]
        );
        let mut b = Budget(0);
        let err = range(&[Value::UInt(u64::MAX)], &mut b).unwrap_err();
        assert!(
            err.to_string().contains("more than 4000000 elements"),
            "{err}"
        );
        let mut b = Budget(MAX_ARRAY_ELEMENTS - 1);
        assert!(b.take(1).is_ok());
        assert!(b.take(1).is_err());
    }
}
