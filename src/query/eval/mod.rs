//! Bound expressions and their vectorised evaluation over a batch of rows.
//!
//! This module holds the bound expression ([`BExpr`]), the scalar functions ([`F`]) and the
//! evaluation entry points; each function family is a file of its own:
//!
//! | File | What |
//! | --- | --- |
//! | `dispatch.rs` | which family computes each function, over its arguments' values |
//! | `nulls.rs` | `NULL` handling around every call, three-valued `and`/`or`, `isNull`, `ifNull`, `coalesce`, `nullIf`, `assumeNotNull` |
//! | `compare.rs` | comparisons and `IN` |
//! | `arith.rs` | arithmetic, `negate`, `abs` |
//! | `round.rs` | `round`, `floor`, `ceil` |
//! | `calendar.rs` | time truncation, parts, intervals, time arithmetic and `dateDiff` |
//! | `cast.rs` | conversions between types, `toString` and the parsing of text as values |
//! | `like.rs` | `LIKE` and `ILIKE` patterns |
//! | `strings.rs` | per-dictionary string work and its cache, `concat` |
//! | `conditional.rs` | `if`/`multiIf`: a value per row from the first true condition |
//! | `json.rs` | `JSONExtract*`, `JSONHas`, `JSONLength`, `simpleJSON*`/`visitParam*` |
//! | `best_effort.rs` | `parseDateTimeBestEffort` and its `OrNull`/`OrZero`/`DateTime64` forms |
//! | `url.rs` | `domain`, `protocol`, `path`, `queryString`, `cutQueryString` and the other URL functions |
//! | `multi.rs` | `multiSearchAny` and its forms, `multiMatchAny` |
//! | `regexp.rs` | `match`, `extract`, `extractAll`, `replaceRegexpOne`, `replaceRegexpAll` |
//! | `arrays.rs` | array functions, lambdas (`arrayMap`, …) and vector distances |
//!
//! String functions and string predicates run once per dictionary entry, not once per row: the
//! per-entry result is cached for the dictionary and applied to the rows' codes.

mod arith;
mod arrays;
mod best_effort;
mod calendar;
mod cast;
mod compare;
mod conditional;
mod dispatch;
mod format_time;
mod json;
mod like;
mod multi;
mod nulls;
mod regexp;
mod round;
mod strings;
mod url;

pub use arith::{checks_divisor_first, Arith};
pub use arrays::{
    bind as bind_array, conform, is_array_function, lambda_op, lambda_type, ArrayFn, Lambda,
    LambdaOp, MAX_ARRAY_ELEMENTS,
};
pub use best_effort::OnError;
pub use calendar::{date_of_float, Part, Trunc};
pub use cast::{cast, cast_branch, parse_value};
pub use compare::{float_key, Cmp, InSet};
pub use format_time::TimeFormat;
pub use json::{bind as bind_json, is_json_function, json_drops_low_cardinality, JsonFn};
pub use like::Like;
pub use multi::MultiFn;
pub use regexp::{is_regexp_function, RegexpFn, RegexpOp};
pub use round::Rounding;
pub use url::UrlFn;

use super::column::{self, native_map, value_f, value_i, value_u, Col, Prim};
use super::types::{DataType, Unit};
use super::Value;
use crate::error::{Error, Result};
use crate::store::{ColumnData, Dictionary};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// A bound expression: typed, with columns resolved to batch slots.
#[derive(Debug, Clone)]
pub struct BExpr {
    /// What it computes.
    pub kind: BKind,
    /// Its SQL type.
    pub ty: DataType,
}

/// The kinds of bound expression.
#[derive(Debug, Clone)]
pub enum BKind {
    /// A constant.
    Const(Value),
    /// A column of the batch.
    Slot(usize),
    /// A scalar function.
    Call(Box<FCall>),
}

/// A scalar function applied to arguments.
#[derive(Debug, Clone)]
pub struct FCall {
    /// The function.
    pub f: F,
    /// Its arguments.
    pub args: Vec<BExpr>,
    /// Per-dictionary results of string work.
    pub cache: RefCell<Vec<CacheEntry>>,
}

/// One cached result: the identities of the dictionaries it was computed from, and the
/// dictionaries built by the query among them, kept alive so that no other dictionary can be
/// allocated at the same address while the entry exists.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    key: Vec<usize>,
    _alive: Vec<Rc<Dictionary>>,
    value: Cached,
}

/// Work done once per dictionary.
#[derive(Debug, Clone)]
pub enum Cached {
    /// A value per dictionary code.
    Map(Rc<Vec<u64>>),
    /// A new dictionary and, per input dictionary, the new code of each input code.
    Recode(Rc<Dictionary>, Rc<Vec<Vec<u32>>>),
}

/// Scalar functions.
#[derive(Debug, Clone)]
pub enum F {
    /// Arithmetic on numbers.
    Arith(Arith),
    /// `negate`.
    Negate,
    /// Comparisons.
    Cmp(Cmp),
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `not`.
    Not,
    /// `in` / `notIn` (negated).
    In(Box<InSet>, bool),
    /// `like`, `ilike` and their negations.
    Like(Box<Like>, bool),
    /// `multiIf` (and `if`).
    MultiIf,
    /// `coalesce`.
    Coalesce,
    /// `greatest` (true) or `least` (false).
    Extreme(bool),
    /// `isNull`.
    IsNull,
    /// `isNotNull`.
    IsNotNull,
    /// `nullIf(x, y)`: the arguments are `x` and the bound `x = y`.
    NullIf,
    /// `assumeNotNull`: the values, `NULL` rows as the type's default.
    AssumeNotNull,
    /// `toNullable`.
    ToNullable,
    /// `lower` (ASCII).
    Lower,
    /// `upper` (ASCII).
    Upper,
    /// `lowerUTF8`: Unicode full case mapping (`ẞ` to `ß`, a final `Σ` to `ς`).
    LowerUtf8,
    /// `upperUTF8`: Unicode full case mapping (`ß` to `SS`, `ﬁ` to `FI`).
    UpperUtf8,
    /// `concat` (and `||`): the arguments' texts joined.
    Concat,
    /// `length` in bytes.
    Length,
    /// `empty`.
    Empty,
    /// `notEmpty`.
    NotEmpty,
    /// Time truncation.
    Trunc(Trunc),
    /// A part of a time.
    Part(Part),
    /// `toDateTime`.
    ToDateTime,
    /// `toDate` of a number.
    DateOfNumber,
    /// `formatDateTime(t, format)`.
    FormatTime(Box<TimeFormat>),
    /// Time ± interval; the sign is ±1.
    AddInterval(Unit, i64),
    /// Time ± integer (seconds for times, days for dates); the sign is ±1.
    AddInt(i64),
    /// Time − time.
    TimeDiff,
    /// `dateDiff(unit, a, b)`.
    DateDiff(Unit),
    /// `age(unit, a, b)`: full units elapsed; the number multiplies seconds into a sub-second
    /// unit (1 for the others).
    Age(Unit, i64),
    /// `round`/`floor`/`ceil` with a scale.
    Round(Rounding, i32),
    /// `abs`.
    Abs,
    /// A conversion to the expression's type (`toInt32`, `toFloat64`, …).
    Cast,
    /// `toString`.
    ToString,
    /// Element `i` (0-based) of each row's array.
    ArrayElement(usize),
    /// An array function.
    Array(Box<ArrayFn>),
    /// A JSON function of the document in its one argument.
    Json(Box<JsonFn>),
    /// A regular-expression function of the text in its one argument.
    Regexp(Box<RegexpFn>),
    /// `parseDateTimeBestEffort` and its forms: what an unreadable text gives, whether it is a
    /// `US` form (month before day), and today's day number (for a date without a year).
    BestEffort(OnError, bool, i64),
    /// A URL function.
    Url(Box<UrlFn>),
    /// `multiSearchAny`, `multiMatchAny` and their forms.
    Multi(Box<MultiFn>),
}

/// Rows for expressions to read: one column per slot.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// Number of rows.
    pub n: usize,
    /// Columns by slot.
    pub cols: Vec<Col<'a>>,
}

impl BExpr {
    /// A constant expression.
    pub fn constant(value: Value, ty: DataType) -> BExpr {
        BExpr {
            kind: BKind::Const(value),
            ty,
        }
    }

    /// A call expression.
    pub fn call(f: F, args: Vec<BExpr>, ty: DataType) -> BExpr {
        BExpr {
            kind: BKind::Call(Box::new(FCall {
                f,
                args,
                cache: RefCell::new(Vec::new()),
            })),
            ty,
        }
    }

    /// The constant value, if this is one.
    pub fn as_const(&self) -> Option<&Value> {
        match &self.kind {
            BKind::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Every slot the expression reads.
    pub fn slots(&self, out: &mut Vec<usize>) {
        match &self.kind {
            BKind::Slot(i) => {
                if !out.contains(i) {
                    out.push(*i);
                }
            }
            BKind::Call(c) => c.args.iter().for_each(|a| a.slots(out)),
            BKind::Const(_) => {}
        }
    }
}

/// Evaluates `e` over `b`.
pub fn eval<'b, 'a>(e: &BExpr, b: &'b Batch<'a>) -> Result<Cow<'b, Col<'a>>> {
    match &e.kind {
        BKind::Const(v) => Ok(Cow::Owned(Col::Const(v.clone()))),
        BKind::Slot(i) => b
            .cols
            .get(*i)
            .map(Cow::Borrowed)
            .ok_or_else(|| Error::query("internal: column slot out of range")),
        BKind::Call(fc) => {
            let short_circuit =
                matches!(fc.f, F::MultiIf | F::And | F::Or) && fc.args.iter().skip(1).any(is_lazy);
            let mut args = Vec::with_capacity(fc.args.len());
            if short_circuit {
                short_circuit_args(fc, b, &mut args)?;
            } else {
                for a in &fc.args {
                    args.push(eval(a, b)?);
                }
            }
            Ok(Cow::Owned(nulls::call(fc, &args, &e.ty, b.n)?))
        }
    }
}

/// Whether ClickHouse computes `e`, an argument of `if`, `multiIf`, `and` or `or`, only on the
/// rows where that function reads it (short-circuit evaluation): `e` holds a function that
/// fails on some values (an integer division by a column, a conversion), so rows the
/// function does not read must not raise. An integer division by a constant is computed on
/// every row, as in ClickHouse, and raises for a zero divisor even where no row reads it.
fn is_lazy(e: &BExpr) -> bool {
    let BKind::Call(fc) = &e.kind else {
        return false;
    };
    let fails = match &fc.f {
        F::Arith(Arith::IntDiv | Arith::Mod) => {
            fc.args.get(1).is_some_and(|d| d.as_const().is_none())
        }
        F::Cast | F::ToString | F::ToDateTime | F::DateOfNumber | F::BestEffort(..) => true,
        _ => false,
    };
    fails || fc.args.iter().any(is_lazy)
}

/// The arguments of a short-circuit `multiIf` (conditions and values alternate, the last is
/// the else value), `and` or `or`, each lazy one computed only on the rows that read it: a
/// condition on the rows no earlier condition took, a value on the rows its condition takes,
/// an `and` (`or`) argument on the rows no earlier argument made false (true). The other rows
/// hold defaults that the function never reads.
fn short_circuit_args<'b, 'a>(
    fc: &FCall,
    b: &'b Batch<'a>,
    out: &mut Vec<Cow<'b, Col<'a>>>,
) -> Result<()> {
    let n = b.n;
    // Rows still to be decided.
    let mut open = vec![true; n];
    let last = fc.args.len().saturating_sub(1);
    for (i, a) in fc.args.iter().enumerate() {
        let col = match &fc.f {
            // A value: the rows its condition takes.
            F::MultiIf if i % 2 == 1 => {
                let taken: Vec<bool> = to_mask(&out[i - 1], n)
                    .iter()
                    .zip(&open)
                    .map(|(c, o)| *c && *o)
                    .collect();
                let col = eval_on(a, b, &taken)?;
                open.iter_mut().zip(&taken).for_each(|(o, t)| *o &= !*t);
                col
            }
            // A condition or the else value: the rows no earlier condition took.
            F::MultiIf => eval_on(a, b, &open)?,
            // `and`/`or`: the rows no earlier argument decided.
            _ => {
                let col = eval_on(a, b, &open)?;
                if i < last {
                    let truthy = to_mask(&col, n);
                    let nulls = col.nulls(n);
                    let is_and = matches!(fc.f, F::And);
                    for (r, o) in open.iter_mut().enumerate() {
                        let null = nulls.as_ref().is_some_and(|m| m[r]);
                        if !null && truthy[r] != is_and {
                            *o = false;
                        }
                    }
                }
                col
            }
        };
        out.push(col);
    }
    Ok(())
}

/// `e` over the rows of `b` where `rows` is true, as a column of all of `b`'s rows (others
/// hold defaults); computed on every row when it is not lazy or every row is wanted.
fn eval_on<'b, 'a>(e: &BExpr, b: &'b Batch<'a>, rows: &[bool]) -> Result<Cow<'b, Col<'a>>> {
    if !is_lazy(e) || rows.iter().all(|r| *r) {
        return eval(e, b);
    }
    let sel: Vec<u32> = (0..b.n as u32).filter(|&i| rows[i as usize]).collect();
    if sel.is_empty() {
        return Ok(Cow::Owned(Col::Const(column::default_value(&e.ty))));
    }
    let mut slots = Vec::new();
    e.slots(&mut slots);
    let cols = (0..b.cols.len())
        .map(|i| match b.cols.get(i) {
            Some(c) if slots.contains(&i) => c.gather(&sel),
            _ => Col::Const(Value::Null),
        })
        .collect();
    let part = Batch { n: sel.len(), cols };
    let c = eval(e, &part)?;
    Ok(Cow::Owned(c.scatter(&sel, b.n)))
}

/// Evaluates a constant expression (no slots) to a value.
pub fn eval_const(e: &BExpr) -> Result<Value> {
    let b = Batch {
        n: 1,
        cols: Vec::new(),
    };
    let c = eval(e, &b)?;
    Ok(c.value_at(0, &e.ty))
}

/// Evaluates a condition to a 0/1 mask.
pub fn eval_mask(e: &BExpr, b: &Batch<'_>) -> Result<Vec<bool>> {
    let c = eval(e, b)?;
    Ok(to_mask(&c, b.n))
}

fn to_mask(c: &Col<'_>, n: usize) -> Vec<bool> {
    match c {
        Col::Const(v) => vec![truthy(v); n],
        Col::U(v) => v.iter().map(|x| *x != 0).collect(),
        Col::Native(d) => match &**d {
            ColumnData::U8(v) => v.iter().map(|x| *x != 0).collect(),
            d => native_map!(d, v => v.iter().map(|x| x.f() != 0.0).collect()),
        },
        Col::I(v) => v.iter().map(|x| *x != 0).collect(),
        Col::F(v) => v.iter().map(|x| *x != 0.0).collect(),
        Col::S(s) => vec![false; s.codes.len()],
        Col::V(v) => v.iter().map(truthy).collect(),
        Col::N(c, nulls) => {
            let mut m = to_mask(c, n);
            for (x, null) in m.iter_mut().zip(nulls.iter()) {
                *x &= !null;
            }
            m
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Str(_) | Value::Array(_) => false,
        v => value_f(v) != 0.0,
    }
}

/// A 0/1 column (`UInt8`), one byte per row.
fn mask_col<'a>(m: impl Iterator<Item = bool>) -> Col<'a> {
    Col::Native(Cow::Owned(ColumnData::U8(m.map(u8::from).collect())))
}

/// `value_u`/`value_i` re-exported for the binder's constant handling.
pub fn const_u(v: &Value) -> u64 {
    value_u(v)
}

/// A constant as `i64`.
pub fn const_i(v: &Value) -> i64 {
    value_i(v)
}
