//! Bound expressions and their vectorised evaluation over a batch of rows.
//!
//! String functions and string predicates run once per dictionary entry, not once per row: the
//! per-entry result is cached for the dictionary and applied to the rows' codes.

use super::column::{native_map, value_f, value_i, value_str, value_u, Col, Dict, Prim, Strs};
use super::types::{DataType, Repr, Unit};
use super::Value;
use crate::error::{Error, Result};
use crate::store::{ColumnData, Dictionary};
use crate::time;
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

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`.
    Plus,
    /// `-`.
    Minus,
    /// `*`.
    Mul,
    /// `/` (always `Float64`).
    Div,
    /// `%`.
    Mod,
    /// `intDiv`.
    IntDiv,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
}

impl Cmp {
    #[inline]
    fn test<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Gt => a > b,
            Cmp::Le => a <= b,
            Cmp::Ge => a >= b,
        }
    }

    /// The operator with its operands swapped.
    pub fn flip(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Gt => Cmp::Lt,
            Cmp::Le => Cmp::Ge,
            Cmp::Ge => Cmp::Le,
            c => c,
        }
    }
}

/// Time truncations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trunc {
    /// To a multiple of `n` seconds since the epoch (`DateTime`).
    Seconds(i64),
    /// To a multiple of `n` hours since midnight (`DateTime`).
    Hours(i64),
    /// To a multiple of `n` days since the epoch (`DateTime`).
    Days(i64),
    /// To the date (`Date`).
    Date,
    /// To the Sunday starting the week (`Date`).
    WeekSunday,
    /// To the Monday starting the week (`Date`).
    Monday,
    /// To a multiple of `n` weeks counted from Monday 1970-01-05 (`Date`).
    Weeks(i64),
    /// To a multiple of `n` months since 1970-01 (`Date`).
    Months(i64),
    /// To a multiple of `n` years since year 0 (`Date`).
    Years(i64),
}

/// Parts of a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `toYear`.
    Year,
    /// `toMonth`.
    Month,
    /// `toDayOfMonth`.
    Day,
    /// `toDayOfWeek` (Monday 1 … Sunday 7).
    DayOfWeek,
    /// `toHour`.
    Hour,
    /// `toMinute`.
    Minute,
    /// `toSecond`.
    Second,
    /// `toYYYYMM`.
    YearMonth,
    /// `toYYYYMMDD`.
    YearMonthDay,
    /// `toUnixTimestamp`.
    Unix,
}

/// Rounding functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// `round`: half to even for floats, half away from zero for integers.
    Round,
    /// `floor`.
    Floor,
    /// `ceil`.
    Ceil,
}

/// A hash set with the store's hasher.
pub type FxSet<T> =
    std::collections::HashSet<T, std::hash::BuildHasherDefault<crate::store::FxHasher>>;

/// A set for `IN`, hashed once when the query is bound.
#[derive(Debug, Clone)]
pub enum InSet {
    /// Strings.
    Str(FxSet<String>),
    /// Values in the `i64` domain of the left side (times in its unit, integers).
    Int(FxSet<i64>),
    /// Unsigned values.
    UInt(FxSet<u64>),
    /// Float values by [`float_key`]: `IN` tells `-0` from `0` and takes every NaN as one.
    Float(FxSet<u64>),
}

/// The identity `IN` and `DISTINCT` give a float: its bits, with every NaN the same.
pub fn float_key(x: f64) -> u64 {
    if x.is_nan() {
        f64::NAN.to_bits()
    } else {
        x.to_bits()
    }
}

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone)]
pub struct Like {
    parts: Vec<LikePart>,
    ci: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum LikePart {
    Lit(Vec<u8>),
    One,
    Any,
}

impl Like {
    /// Compiles a `LIKE` pattern (`%`, `_`, backslash escapes); `ci` for `ILIKE`.
    pub fn new(pattern: &str, ci: bool) -> Like {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let b = pattern.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if i + 1 < b.len() => {
                    lit.push(b[i + 1]);
                    i += 1;
                }
                b'%' | b'_' => {
                    if !lit.is_empty() {
                        parts.push(LikePart::Lit(std::mem::take(&mut lit)));
                    }
                    let p = if b[i] == b'%' {
                        LikePart::Any
                    } else {
                        LikePart::One
                    };
                    if !(p == LikePart::Any && parts.last() == Some(&LikePart::Any)) {
                        parts.push(p);
                    }
                }
                c => lit.push(c),
            }
            i += 1;
        }
        if !lit.is_empty() {
            parts.push(LikePart::Lit(lit));
        }
        if ci {
            for p in &mut parts {
                if let LikePart::Lit(l) = p {
                    *l = String::from_utf8_lossy(l).to_lowercase().into_bytes();
                }
            }
        }
        Like { parts, ci }
    }

    /// True when `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        if self.ci {
            let lower = s.to_lowercase();
            like_at(&self.parts, lower.as_bytes())
        } else {
            like_at(&self.parts, s.as_bytes())
        }
    }
}

fn utf8_char_len(b: u8) -> usize {
    match b {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1,
    }
}

/// Matches `s` against the pattern parts without recursion: on a mismatch, the last `%` takes
/// one more character (O(pattern × text) at worst).
fn like_at(parts: &[LikePart], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(part) = parts.get(p) {
            match part {
                LikePart::Any => {
                    star = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                LikePart::Lit(l) if s[i..].starts_with(l) => {
                    i += l.len();
                    p += 1;
                    continue;
                }
                LikePart::One if i < s.len() => {
                    i += utf8_char_len(s[i]).min(s.len() - i);
                    p += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        match star {
            Some((sp, si)) if si < s.len() => {
                let next = si + utf8_char_len(s[si]).min(s.len() - si);
                star = Some((sp, next));
                p = sp;
                i = next;
            }
            _ => return false,
        }
    }
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
    /// Time ± interval; the sign is ±1.
    AddInterval(Unit, i64),
    /// Time ± integer (seconds for times, days for dates); the sign is ±1.
    AddInt(i64),
    /// Time − time.
    TimeDiff,
    /// `dateDiff(unit, a, b)`.
    DateDiff(Unit),
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
            let mut args = Vec::with_capacity(fc.args.len());
            for a in &fc.args {
                args.push(eval(a, b)?);
            }
            Ok(Cow::Owned(call(fc, &args, &e.ty, b.n)?))
        }
    }
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

/// `c` with `nulls` marking its `NULL` rows, for a result of type `ty`.
fn with_nulls<'a>(c: Col<'a>, nulls: Vec<bool>, ty: &DataType, n: usize) -> Col<'a> {
    if !nulls.iter().any(|x| *x) {
        return c;
    }
    if nulls.iter().all(|x| *x) {
        return Col::Const(Value::Null);
    }
    if ty.repr() == Repr::V {
        return Col::V(Cow::Owned(
            (0..n)
                .map(|i| {
                    if nulls[i] {
                        Value::Null
                    } else {
                        c.value_at(i, ty)
                    }
                })
                .collect(),
        ));
    }
    match c {
        Col::N(inner, m) => {
            let merged = m.iter().zip(&nulls).map(|(a, b)| *a || *b).collect();
            Col::N(inner, Cow::Owned(merged))
        }
        c => Col::N(Box::new(c.materialize(ty.base(), n)), Cow::Owned(nulls)),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Str(_) | Value::Array(_) => false,
        v => value_f(v) != 0.0,
    }
}

fn is_null(c: &Col<'_>) -> bool {
    matches!(c, Col::Const(Value::Null))
}

/// A 0/1 column (`UInt8`), one byte per row.
fn mask_col<'a>(m: impl Iterator<Item = bool>) -> Col<'a> {
    Col::Native(Cow::Owned(ColumnData::U8(m.map(u8::from).collect())))
}

/// `op` of every value of a numeric slice with one constant, as a 0/1 column.
fn cmp_slice<'a, T: Prim>(v: &[T], op: Cmp, dom: Dom, scale: i64, k: &Value) -> Col<'a> {
    let m: Vec<u8> = match dom {
        Dom::F => {
            let k = value_f(k);
            cmp_each(v, op, |x| x.f(), k)
        }
        Dom::U => {
            let k = value_u(k);
            cmp_each(v, op, |x| x.u(), k)
        }
        _ => {
            let k = value_i(k);
            cmp_each(v, op, |x| x.i().wrapping_mul(scale), k)
        }
    };
    Col::Native(Cow::Owned(ColumnData::U8(m)))
}

/// `op.test(conv(x), k)` as 0/1 for each `x`, with one loop per operator so that each loop
/// does nothing but compare.
#[inline]
fn cmp_each<T: Copy, K: PartialOrd + Copy>(
    v: &[T],
    op: Cmp,
    conv: impl Fn(T) -> K,
    k: K,
) -> Vec<u8> {
    macro_rules! each {
        ($x:ident => $test:expr) => {
            v.iter()
                .map(|x| {
                    let $x = conv(*x);
                    u8::from($test)
                })
                .collect()
        };
    }
    match op {
        Cmp::Eq => each!(x => x == k),
        Cmp::Ne => each!(x => x != k),
        Cmp::Lt => each!(x => x < k),
        Cmp::Gt => each!(x => x > k),
        Cmp::Le => each!(x => x <= k),
        Cmp::Ge => each!(x => x >= k),
    }
}

/// Comparison of a column with a constant without widening the column, when the domain allows.
fn cmp_const<'a>(op: Cmp, c: &Col<'_>, ct: &DataType, k: &Value, kt: &DataType) -> Option<Col<'a>> {
    let (dom, scale, k) = if ct.is_time() || kt.is_time() {
        let target = finer_time(ct, kt);
        let unit = |t: &DataType| match (t.base(), target.base()) {
            (DataType::Date, DataType::DateTime) => 86_400,
            (DataType::Date, DataType::DateTime64) => 86_400_000,
            (DataType::DateTime, DataType::DateTime64) => 1000,
            _ => 1,
        };
        (
            Dom::I,
            unit(ct),
            Value::Int(value_i(k).wrapping_mul(unit(kt))),
        )
    } else {
        let d = domain(ct, kt);
        if d == Dom::Wide {
            return None;
        }
        (d, 1, k.clone())
    };
    Some(match c {
        Col::Native(d) => native_map!(&**d, v => cmp_slice(v, op, dom, scale, &k)),
        Col::U(v) => cmp_slice(v, op, dom, scale, &k),
        Col::I(v) => cmp_slice(v, op, dom, scale, &k),
        Col::F(v) => cmp_slice(v, op, dom, scale, &k),
        _ => return None,
    })
}

/// Seconds since the epoch of a time column of type `ty` (`Date` days become midnight).
fn secs(c: &Col<'_>, ty: &DataType, n: usize) -> Vec<i64> {
    match ty.base() {
        DataType::Date => c.i64s(n).iter().map(|d| d * 86_400).collect(),
        DataType::DateTime64 => c.i64s(n).iter().map(|ms| ms.div_euclid(1000)).collect(),
        _ => c.i64s(n).into_owned(),
    }
}

/// Rescales a time or number column to the unit of `target` (`Date` days, `DateTime` seconds,
/// `DateTime64` milliseconds) in the `i64` domain.
fn time_in(c: &Col<'_>, from: &DataType, target: &DataType, n: usize) -> Vec<i64> {
    let mul = |u: i64| {
        c.i64s(n)
            .iter()
            .map(|x| x.wrapping_mul(u))
            .collect::<Vec<i64>>()
    };
    match (from.base(), target.base()) {
        (DataType::Date, DataType::DateTime) => mul(86_400),
        (DataType::Date, DataType::DateTime64) => mul(86_400_000),
        (DataType::DateTime, DataType::DateTime64) => mul(1000),
        _ => c.i64s(n).into_owned(),
    }
}

fn finer_time(a: &DataType, b: &DataType) -> DataType {
    let rank = |t: &DataType| match t.base() {
        DataType::DateTime64 => 3,
        DataType::DateTime => 2,
        DataType::Date => 1,
        _ => 0,
    };
    if rank(a) >= rank(b) {
        a.base().clone()
    } else {
        b.base().clone()
    }
}

/// The numeric domain two types are compared in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dom {
    U,
    I,
    Wide,
    F,
}

fn domain(a: &DataType, b: &DataType) -> Dom {
    if a.is_float() || b.is_float() {
        return Dom::F;
    }
    let ua = a.repr() == Repr::U;
    let ub = b.repr() == Repr::U;
    if ua && ub {
        return Dom::U;
    }
    let big_u = (ua && *a.base() == DataType::UInt64) || (ub && *b.base() == DataType::UInt64);
    if big_u {
        Dom::Wide
    } else {
        Dom::I
    }
}

fn cached<'d>(
    fc: &FCall,
    dicts: impl Iterator<Item = &'d Dict<'d>> + Clone,
    make: impl FnOnce() -> Result<Cached>,
) -> Result<Cached> {
    let key: Vec<usize> = dicts.clone().map(Dict::id).collect();
    if let Some(e) = fc.cache.borrow().iter().find(|e| e.key == key) {
        return Ok(e.value.clone());
    }
    let value = make()?;
    let alive = dicts
        .filter_map(|d| match d {
            Dict::Own(rc) => Some(rc.clone()),
            Dict::Store(_) => None,
        })
        .collect();
    let mut cache = fc.cache.borrow_mut();
    if cache.len() > 16 {
        cache.remove(0);
    }
    cache.push(CacheEntry {
        key,
        _alive: alive,
        value: value.clone(),
    });
    Ok(value)
}

/// A per-dictionary-entry function of strings, cached per dictionary, applied to the codes:
/// `UInt64` values when `wide`, else 0/1 bytes.
fn per_entry<'a>(
    fc: &FCall,
    c: &Col<'a>,
    n: usize,
    wide: bool,
    f: impl Fn(&str) -> Result<u64>,
) -> Result<Col<'a>> {
    if let Col::Const(v) = c {
        return Ok(Col::Const(Value::UInt(f(&value_str(v))?)));
    }
    let s = c.strs(n);
    let m = cached(fc, std::iter::once(&s.dict), || {
        let d = s.dict.get();
        let map = d
            .strings()
            .iter()
            .map(|x| f(x))
            .collect::<Result<Vec<u64>>>()?;
        Ok(Cached::Map(Rc::new(map)))
    })?;
    let Cached::Map(map) = m else {
        return Err(Error::query("internal: cache kind"));
    };
    let at = |c: &u32| map.get(*c as usize).copied().unwrap_or(0);
    Ok(if wide {
        Col::U(Cow::Owned(s.codes.iter().map(at).collect()))
    } else {
        Col::Native(Cow::Owned(ColumnData::U8(
            s.codes.iter().map(|c| at(c) as u8).collect(),
        )))
    })
}

/// Strings mapped entry by entry into a new dictionary, cached per dictionary.
fn recode<'a>(fc: &FCall, c: &Col<'a>, n: usize, f: impl Fn(&str) -> String) -> Result<Col<'a>> {
    if let Col::Const(v) = c {
        return Ok(Col::Const(Value::Str(f(&value_str(v)))));
    }
    let s = c.strs(n);
    let r = cached(fc, std::iter::once(&s.dict), || {
        let mut d = Dictionary::new();
        let map: Vec<u32> = s
            .dict
            .get()
            .strings()
            .iter()
            .map(|x| d.intern(&f(x)))
            .collect();
        Ok(Cached::Recode(Rc::new(d), Rc::new(vec![map])))
    })?;
    let Cached::Recode(d, maps) = r else {
        return Err(Error::query("internal: cache kind"));
    };
    let map = &maps[0];
    let codes = s
        .codes
        .iter()
        .map(|c| map.get(*c as usize).copied().unwrap_or(0))
        .collect();
    Ok(Col::S(Strs {
        codes: Cow::Owned(codes),
        dict: Dict::Own(d),
    }))
}

/// Several string columns re-coded into one shared dictionary (for `if`, `multiIf`, `coalesce`).
fn unify_strings<'a>(fc: &FCall, cols: &[Strs<'a>]) -> Result<(Dict<'a>, Vec<Vec<u32>>)> {
    let first = cols.first().map(|s| s.dict.id());
    if cols.iter().all(|s| Some(s.dict.id()) == first) {
        if let Some(s) = cols.first() {
            return Ok((
                s.dict.clone(),
                cols.iter().map(|s| s.codes.to_vec()).collect(),
            ));
        }
    }
    let r = cached(fc, cols.iter().map(|s| &s.dict), || {
        let mut d = Dictionary::new();
        let maps = cols
            .iter()
            .map(|s| s.dict.get().strings().iter().map(|x| d.intern(x)).collect())
            .collect();
        Ok(Cached::Recode(Rc::new(d), Rc::new(maps)))
    })?;
    let Cached::Recode(d, maps) = r else {
        return Err(Error::query("internal: cache kind"));
    };
    let codes = cols
        .iter()
        .zip(maps.iter())
        .map(|(s, m)| {
            s.codes
                .iter()
                .map(|c| m.get(*c as usize).copied().unwrap_or(0))
                .collect()
        })
        .collect();
    Ok((Dict::Own(d), codes))
}

/// Converts `c` of type `from` to type `to` (numeric widening and narrowing, `Date` to
/// `DateTime`, parsing strings).
pub fn cast<'a>(c: &Col<'a>, from: &DataType, to: &DataType, n: usize) -> Result<Col<'a>> {
    if is_null(c) {
        return Ok(Col::Const(Value::Null));
    }
    if let Col::N(values, nulls) = c {
        let out = cast_values(values, from.base(), to.base(), n, Some(nulls))?;
        return Ok(with_nulls(out, nulls.to_vec(), to, n));
    }
    cast_values(c, from, to, n, None)
}

/// `cast` of values without `NULL`s; the rows `skip` marks are not parsed.
fn cast_values<'a>(
    c: &Col<'a>,
    from: &DataType,
    to: &DataType,
    n: usize,
    skip: Option<&[bool]>,
) -> Result<Col<'a>> {
    let (fb, tb) = (from.base(), to.base());
    if fb == tb {
        return Ok(c.clone());
    }
    if let Col::Const(v) = c {
        if fb.is_string() && !tb.is_string() {
            return Ok(Col::Const(parse_value(&value_str(v), tb)?));
        }
    }
    if tb.is_string() {
        if fb.is_string() {
            return Ok(c.clone());
        }
        return Ok(to_string_col(c, from, n));
    }
    if fb.is_string() {
        let s = c.strs(n);
        let mut out = Vec::with_capacity(n);
        let d = s.dict.get();
        let parsed: Vec<Value> = d
            .strings()
            .iter()
            .map(|x| parse_value(x, tb).unwrap_or(Value::Null))
            .collect();
        for (i, code) in s.codes.iter().enumerate() {
            match parsed.get(*code as usize) {
                _ if skip.is_some_and(|m| m[i]) => out.push(super::column::default_value(tb)),
                Some(Value::Null) | None => {
                    return Err(Error::query(format!(
                        "cannot parse '{}' as {tb}",
                        d.get(*code)
                    )))
                }
                Some(v) => out.push(v.clone()),
            }
        }
        let col = Col::V(Cow::Owned(out));
        return Ok(match tb.repr() {
            Repr::U => Col::U(Cow::Owned(col.u64s(n).into_owned())),
            Repr::I => Col::I(Cow::Owned(col.i64s(n).into_owned())),
            Repr::F => Col::F(Cow::Owned(col.f64s(n).into_owned())),
            _ => col,
        });
    }
    if fb.is_time() && tb.is_time() {
        let v = time_in(c, fb, tb, n);
        return Ok(match (fb, tb) {
            (_, DataType::Date) => Col::I(Cow::Owned(
                secs(c, fb, n)
                    .iter()
                    .map(|s| s.div_euclid(86_400))
                    .collect(),
            )),
            (_, DataType::DateTime) => Col::U(Cow::Owned(
                secs(c, fb, n).iter().map(|s| *s as u64).collect(),
            )),
            _ => Col::I(Cow::Owned(v)),
        });
    }
    Ok(match tb.repr() {
        Repr::F => {
            let v = if fb.repr() == Repr::I {
                c.i64s(n).iter().map(|x| *x as f64).collect()
            } else if fb.repr() == Repr::U {
                c.u64s(n).iter().map(|x| *x as f64).collect()
            } else {
                c.f64s(n).into_owned()
            };
            if *tb == DataType::Float32 {
                Col::F(Cow::Owned(v.iter().map(|x| f64::from(*x as f32)).collect()))
            } else {
                Col::F(Cow::Owned(v))
            }
        }
        Repr::U | Repr::I => {
            let raw: Vec<i64> = match fb.repr() {
                Repr::F => c.f64s(n).iter().map(|x| *x as i64).collect(),
                Repr::U => c.u64s(n).iter().map(|x| *x as i64).collect(),
                _ => c.i64s(n).into_owned(),
            };
            let bits = tb.int_bits();
            let wrap = |x: i64| -> i64 {
                if *tb == DataType::DateTime {
                    x.clamp(0, time::DATETIME_MAX)
                } else if *tb == DataType::Date {
                    time::date_from_number(x)
                } else if bits >= 64 || tb.is_time() {
                    x
                } else if tb.is_signed() {
                    let sh = 64 - bits;
                    (x << sh) >> sh
                } else {
                    x & ((1i64 << bits) - 1)
                }
            };
            if tb.repr() == Repr::U {
                let v: Vec<u64> = if fb.repr() == Repr::U && bits >= 64 && !tb.is_time() {
                    c.u64s(n).into_owned()
                } else if *tb == DataType::Bool {
                    raw.iter().map(|x| u64::from(*x != 0)).collect()
                } else {
                    raw.iter().map(|x| wrap(*x) as u64).collect()
                };
                Col::U(Cow::Owned(v))
            } else {
                Col::I(Cow::Owned(raw.iter().map(|x| wrap(*x)).collect()))
            }
        }
        _ => return Err(Error::query(format!("cannot convert {from} to {to}"))),
    })
}

/// Parses text as a value of type `ty`, as ClickHouse converts string literals.
pub fn parse_value(s: &str, ty: &DataType) -> Result<Value> {
    let bad = || Error::query(format!("cannot parse '{s}' as {ty}"));
    let t = s.trim();
    Ok(match ty.base() {
        DataType::DateTime => {
            let ms = time::parse_timestamp_ms(t).ok_or_else(bad)?;
            Value::DateTime(ms.div_euclid(1000).clamp(0, time::DATETIME_MAX))
        }
        DataType::DateTime64 => Value::DateTime64(time::parse_timestamp_ms(t).ok_or_else(bad)?),
        DataType::Date => {
            let ms = time::parse_timestamp_ms(t).ok_or_else(bad)?;
            Value::Date(ms.div_euclid(86_400_000))
        }
        DataType::Float32 => Value::Float32(t.parse::<f32>().map_err(|_| bad())?),
        DataType::Float64 => Value::Float64(t.parse::<f64>().map_err(|_| bad())?),
        DataType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad()),
        },
        b if b.is_signed() => Value::Int(t.parse::<i64>().map_err(|_| bad())?),
        b if b.is_int() => Value::UInt(t.parse::<u64>().map_err(|_| bad())?),
        b if b.is_string() => Value::Str(s.to_string()),
        _ => return Err(bad()),
    })
}

/// Text of a value as `toString` writes it.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Float32(x) => super::endpoint::float_text(f64::from(*x), Some(*x)),
        Value::Float64(x) => super::endpoint::float_text(*x, None),
        other => {
            let mut s = String::new();
            other.write_json(&mut s);
            s.trim_matches('"').to_string()
        }
    }
}

fn to_string_col<'a>(c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
    if let Col::Const(v) = c {
        return Col::Const(Value::Str(value_text(v)));
    }
    let mut d = Dictionary::new();
    let codes = (0..n)
        .map(|i| d.intern(&value_text(&c.value_at(i, ty))))
        .collect();
    Col::S(Strs {
        codes: Cow::Owned(codes),
        dict: Dict::Own(Rc::new(d)),
    })
}

/// `concat`: each row's argument texts (as `toString` writes them) joined.
fn concat<'a>(exprs: &[BExpr], args: &[Cow<'_, Col<'a>>], n: usize) -> Col<'a> {
    let texts: Vec<Col<'a>> = args
        .iter()
        .zip(exprs)
        .map(|(c, e)| {
            if e.ty.is_string() {
                c.as_ref().clone()
            } else {
                to_string_col(c, &e.ty, n)
            }
        })
        .collect();
    if texts.iter().all(|c| matches!(c, Col::Const(_))) {
        let joined: String = texts
            .iter()
            .map(|c| match c {
                Col::Const(v) => value_str(v).into_owned(),
                _ => String::new(),
            })
            .collect();
        return Col::Const(Value::Str(joined));
    }
    let parts: Vec<Cow<'_, Strs<'a>>> = texts.iter().map(|c| c.strs(n)).collect();
    let mut d = Dictionary::new();
    let mut row = String::new();
    let codes = (0..n)
        .map(|i| {
            row.clear();
            for p in &parts {
                if let Some(code) = p.codes.get(i).or_else(|| p.codes.first()) {
                    row.push_str(p.dict.str(*code));
                }
            }
            d.intern(&row)
        })
        .collect();
    Col::S(Strs {
        codes: Cow::Owned(codes),
        dict: Dict::Own(Rc::new(d)),
    })
}

fn check_n(args: &[Cow<'_, Col<'_>>], n: usize) -> Result<()> {
    for a in args {
        if a.len(n) != n {
            return Err(Error::query("internal: column length mismatch"));
        }
    }
    Ok(())
}

/// Applies a scalar function. Functions that do not look at `NULL`s themselves run on the
/// values of their arguments; a row where any argument is `NULL` is `NULL` in the result.
fn call<'a>(fc: &FCall, args: &[Cow<'_, Col<'a>>], ty: &DataType, n: usize) -> Result<Col<'a>> {
    check_n(args, n)?;
    let null_aware = matches!(
        fc.f,
        F::MultiIf
            | F::Coalesce
            | F::IsNull
            | F::IsNotNull
            | F::And
            | F::Or
            | F::NullIf
            | F::AssumeNotNull
            | F::ToNullable
    );
    if null_aware {
        return call_values(fc, args, ty, n);
    }
    if args.iter().any(|a| is_null(a)) {
        return Ok(Col::Const(Value::Null));
    }
    let mut nulls: Option<Vec<bool>> = None;
    for a in args {
        if let Some(m) = a.nulls(n) {
            match &mut nulls {
                None => nulls = Some(m.into_owned()),
                Some(acc) => acc.iter_mut().zip(m.iter()).for_each(|(x, y)| *x |= *y),
            }
        }
    }
    let Some(nulls) = nulls else {
        return call_values(fc, args, ty, n);
    };
    let values: Vec<Cow<'_, Col<'a>>> = args.iter().map(|a| Cow::Borrowed(a.values())).collect();
    let out = match &fc.f {
        // Division by a NULL row's 0 is no error: those rows are NULL.
        F::Arith(Arith::IntDiv | Arith::Mod) => {
            let mut values = values;
            let divisor = values[1].i64s(n);
            if divisor.iter().zip(&nulls).any(|(d, null)| *d == 0 && *null) {
                let fixed: Vec<i64> = divisor
                    .iter()
                    .zip(&nulls)
                    .map(|(d, null)| if *null { 1 } else { *d })
                    .collect();
                values[1] = Cow::Owned(to_repr(fixed, &fc.args[1].ty));
            }
            call_values(fc, &values, ty.base(), n)?
        }
        _ => call_values(fc, &values, ty.base(), n)?,
    };
    Ok(with_nulls(out, nulls, ty, n))
}

/// Three-valued `and` / `or`: a `false` (`and`) or `true` (`or`) argument decides the row;
/// otherwise a `NULL` argument makes it `NULL`.
fn and_or<'a>(is_and: bool, args: &[Cow<'_, Col<'a>>], ty: &DataType, n: usize) -> Col<'a> {
    let mut acc = vec![is_and; n];
    let mut unknown = vec![false; n];
    for a in args {
        let m = to_mask(a, n);
        let nulls = a.nulls(n);
        for i in 0..n {
            let null = nulls.as_ref().is_some_and(|x| x[i]);
            if null {
                unknown[i] = true;
            } else if is_and {
                acc[i] &= m[i];
            } else {
                acc[i] |= m[i];
            }
        }
    }
    for i in 0..n {
        // A deciding value wins over NULL.
        if unknown[i] && acc[i] == is_and {
            acc[i] = false;
        } else {
            unknown[i] = false;
        }
    }
    with_nulls(mask_col(acc.into_iter()), unknown, ty, n)
}

fn call_values<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let at = |i: usize| &fc.args[i].ty;
    Ok(match &fc.f {
        F::Arith(op) => arith(*op, &args[0], at(0), &args[1], at(1), ty, n)?,
        F::Negate => match ty.repr() {
            Repr::F => {
                let v = args[0].f64s(n);
                Col::F(Cow::Owned(v.iter().map(|x| -x).collect()))
            }
            _ => {
                let v = args[0].i64s(n);
                Col::I(Cow::Owned(v.iter().map(|x| x.wrapping_neg()).collect()))
            }
        },
        F::Cmp(op) => compare(fc, *op, &args[0], at(0), &args[1], at(1), n)?,
        F::And | F::Or => and_or(matches!(fc.f, F::And), args, ty, n),
        F::Not => mask_col(to_mask(&args[0], n).into_iter().map(|x| !x)),
        F::In(set, negated) => {
            let hits = in_set(fc, set, &args[0], at(0), n)?;
            mask_col(hits.into_iter().map(|x| x != *negated))
        }
        F::Like(like, negated) => per_entry(fc, &args[0], n, false, |s| {
            Ok(u64::from(like.matches(s) != *negated))
        })?,
        F::MultiIf => {
            let k = (args.len() - 1) / 2;
            let mut conds = Vec::with_capacity(k);
            let mut vals = Vec::with_capacity(k + 1);
            for i in 0..k {
                conds.push(to_mask(&args[2 * i], n));
                vals.push(cast(&args[2 * i + 1], at(2 * i + 1), ty, n)?);
            }
            vals.push(cast(&args[2 * k], at(2 * k), ty, n)?);
            select(fc, &conds, &vals, ty, n)?
        }
        F::Coalesce => {
            let mut conds = Vec::with_capacity(args.len());
            let mut vals = Vec::with_capacity(args.len() + 1);
            for (i, a) in args.iter().enumerate() {
                if is_null(a) {
                    continue;
                }
                conds.push(match a.nulls(n) {
                    Some(m) => m.iter().map(|x| !x).collect(),
                    None => vec![true; n],
                });
                vals.push(cast(a, at(i), ty, n)?);
            }
            vals.push(Col::Const(Value::Null));
            select(fc, &conds, &vals, ty, n)?
        }
        F::IsNull | F::IsNotNull => {
            let want = matches!(fc.f, F::IsNull);
            match args[0].nulls(n) {
                Some(m) => mask_col(m.iter().map(|x| *x == want)),
                None => Col::Const(Value::UInt(u64::from(!want))),
            }
        }
        F::NullIf => {
            let same = to_mask(&args[1], n);
            let mut nulls = args[0]
                .nulls(n)
                .map_or_else(|| vec![false; n], Cow::into_owned);
            for (x, s) in nulls.iter_mut().zip(same) {
                *x |= s;
            }
            with_nulls(args[0].values().clone(), nulls, ty, n)
        }
        F::AssumeNotNull => match args[0].as_ref() {
            Col::Const(Value::Null) => Col::Const(super::column::default_value(ty)),
            c => c.values().clone(),
        },
        F::ToNullable => args[0].as_ref().clone(),
        F::Lower => recode(fc, &args[0], n, |s| s.to_ascii_lowercase())?,
        F::Upper => recode(fc, &args[0], n, |s| s.to_ascii_uppercase())?,
        F::Concat => concat(&fc.args, args, n),
        F::Length => per_entry(fc, &args[0], n, true, |s| Ok(s.len() as u64))?,
        F::Empty => per_entry(fc, &args[0], n, false, |s| Ok(u64::from(s.is_empty())))?,
        F::NotEmpty => per_entry(fc, &args[0], n, false, |s| Ok(u64::from(!s.is_empty())))?,
        F::Trunc(t) => {
            if at(0).is_string() {
                let p = cast(&args[0], at(0), &DataType::DateTime, n)?;
                truncate(*t, &p, &DataType::DateTime, n)
            } else {
                truncate(*t, &args[0], at(0), n)
            }
        }
        F::Part(p) => {
            let c = if at(0).is_string() {
                cast(&args[0], at(0), &DataType::DateTime, n)?
            } else {
                args[0].as_ref().clone()
            };
            let from = if at(0).is_string() {
                DataType::DateTime
            } else {
                at(0).clone()
            };
            part(*p, &c, &from, n)
        }
        F::ToDateTime | F::Cast => cast(&args[0], at(0), ty, n)?,
        F::ToString => cast(&args[0], at(0), &DataType::String, n)?,
        F::ArrayElement(k) => {
            let values = (0..n)
                .map(|i| match args[0].value_at(i, at(0)) {
                    Value::Array(mut items) if *k < items.len() => items.swap_remove(*k),
                    _ => Value::Null,
                })
                .collect();
            super::column::from_values(values, ty)
        }
        F::AddInterval(unit, sign) => add_interval(&args[0], at(0), &args[1], *unit, *sign, ty, n)?,
        F::AddInt(sign) => {
            let base = args[0].i64s(n);
            let d = args[1].i64s(n);
            let v: Vec<i64> = base
                .iter()
                .zip(d.iter())
                .map(|(b, x)| wrap_time(b.wrapping_add(x.wrapping_mul(*sign)), ty))
                .collect();
            to_repr(v, ty)
        }
        F::TimeDiff => {
            let a = args[0].i64s(n);
            let b = args[1].i64s(n);
            let v = a
                .iter()
                .zip(b.iter())
                .map(|(x, y)| i64::from(x.wrapping_sub(*y) as i32))
                .collect();
            Col::I(Cow::Owned(v))
        }
        F::DateDiff(unit) => {
            let a = secs(&args[1], at(1), n);
            let b = secs(&args[2], at(2), n);
            let rel = |s: i64| -> i64 {
                match unit {
                    Unit::Second => s,
                    Unit::Minute => s.div_euclid(60),
                    Unit::Hour => s.div_euclid(3600),
                    Unit::Day => s.div_euclid(86_400),
                    Unit::Week => (s.div_euclid(86_400) + 3).div_euclid(7),
                    Unit::Month | Unit::Quarter | Unit::Year => {
                        let (y, m, _) = time::civil_from_days(s.div_euclid(86_400));
                        let months = y * 12 + i64::from(m) - 1;
                        match unit {
                            Unit::Month => months,
                            Unit::Quarter => months.div_euclid(3),
                            _ => y,
                        }
                    }
                }
            };
            Col::I(Cow::Owned(
                a.iter()
                    .zip(b.iter())
                    .map(|(x, y)| rel(*y) - rel(*x))
                    .collect(),
            ))
        }
        F::Round(kind, scale) => round(*kind, *scale, &args[0], ty, n),
        F::Abs => match ty.repr() {
            Repr::F => Col::F(Cow::Owned(
                args[0].f64s(n).iter().map(|x| x.abs()).collect(),
            )),
            Repr::U => {
                if at(0).is_signed() {
                    Col::U(Cow::Owned(
                        args[0].i64s(n).iter().map(|x| x.unsigned_abs()).collect(),
                    ))
                } else {
                    args[0].as_ref().clone()
                }
            }
            _ => Col::I(Cow::Owned(
                args[0].i64s(n).iter().map(|x| x.wrapping_abs()).collect(),
            )),
        },
    })
}

fn to_repr<'a>(v: Vec<i64>, ty: &DataType) -> Col<'a> {
    if ty.repr() == Repr::U {
        Col::U(Cow::Owned(v.into_iter().map(|x| x as u64).collect()))
    } else {
        Col::I(Cow::Owned(v))
    }
}

fn arith<'a>(
    op: Arith,
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    if op == Arith::Div || ty.repr() == Repr::F {
        let x = a.f64s(n);
        let y = b.f64s(n);
        let v: Vec<f64> = x
            .iter()
            .zip(y.iter())
            .map(|(p, q)| match op {
                Arith::Plus => p + q,
                Arith::Minus => p - q,
                Arith::Mul => p * q,
                Arith::Div => p / q,
                Arith::Mod => p % q,
                Arith::IntDiv => (p / q).trunc(),
            })
            .collect();
        return Ok(Col::F(Cow::Owned(v)));
    }
    let zero_divisor = || Error::query("division by zero");
    if ty.repr() == Repr::U {
        let signed_divisor = tb.base().is_signed();
        let x = a.u64s(n);
        let y = b.u64s(n);
        let mut v = Vec::with_capacity(n);
        for (p, q) in x.iter().zip(y.iter()) {
            v.push(match op {
                Arith::Plus => p.wrapping_add(*q),
                Arith::Minus => p.wrapping_sub(*q),
                Arith::Mul => p.wrapping_mul(*q),
                // An unsigned dividend keeps its sign: the divisor counts by its magnitude.
                Arith::Mod if signed_divisor => p
                    .checked_rem((*q as i64).unsigned_abs())
                    .ok_or_else(zero_divisor)?,
                Arith::Mod => p.checked_rem(*q).ok_or_else(zero_divisor)?,
                Arith::IntDiv => p.checked_div(*q).ok_or_else(zero_divisor)?,
                Arith::Div => 0,
            });
        }
        let _ = ta;
        return Ok(Col::U(Cow::Owned(v)));
    }
    let x = a.i64s(n);
    let y = b.i64s(n);
    let mut v = Vec::with_capacity(n);
    for (p, q) in x.iter().zip(y.iter()) {
        v.push(match op {
            Arith::Plus => p.wrapping_add(*q),
            Arith::Minus => p.wrapping_sub(*q),
            Arith::Mul => p.wrapping_mul(*q),
            Arith::Mod | Arith::IntDiv if *q == 0 => return Err(zero_divisor()),
            Arith::Mod | Arith::IntDiv if *p == i64::MIN && *q == -1 => {
                return Err(Error::query(
                    "division of the minimal signed number by minus one",
                ))
            }
            Arith::Mod => p.wrapping_rem(*q),
            Arith::IntDiv => p.wrapping_div(*q),
            Arith::Div => 0,
        });
    }
    Ok(Col::I(Cow::Owned(v)))
}

fn compare<'a>(
    fc: &FCall,
    op: Cmp,
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    if ta.is_string() && tb.is_string() {
        if let Col::Const(v) = b {
            let k = value_str(v).into_owned();
            return per_entry(fc, a, n, false, |s| Ok(u64::from(op.test(s, k.as_str()))));
        }
        if let Col::Const(v) = a {
            let k = value_str(v).into_owned();
            return per_entry(fc, b, n, false, |s| Ok(u64::from(op.test(k.as_str(), s))));
        }
        let (x, y) = (a.strs(n), b.strs(n));
        let same = x.dict.id() == y.dict.id();
        let v = x
            .codes
            .iter()
            .zip(y.codes.iter())
            .map(|(p, q)| {
                u64::from(if same && matches!(op, Cmp::Eq | Cmp::Ne) {
                    op.test(p, q)
                } else {
                    op.test(x.dict.str(*p), y.dict.str(*q))
                })
            })
            .collect();
        return Ok(Col::U(Cow::Owned(v)));
    }
    if !(ta.is_string() || tb.is_string()) {
        if let Col::Const(k) = b {
            if let Some(m) = cmp_const(op, a, ta, k, tb) {
                return Ok(m);
            }
        }
        if let Col::Const(k) = a {
            if let Some(m) = cmp_const(op.flip(), b, tb, k, ta) {
                return Ok(m);
            }
        }
    }
    if ta.is_time() || tb.is_time() {
        let target = finer_time(ta, tb);
        let x = time_in(a, ta, &target, n);
        let y = time_in(b, tb, &target, n);
        return Ok(mask_col(x.iter().zip(y.iter()).map(|(p, q)| op.test(p, q))));
    }
    Ok(match domain(ta, tb) {
        Dom::F => {
            let (x, y) = (a.f64s(n), b.f64s(n));
            mask_col(x.iter().zip(y.iter()).map(|(p, q)| op.test(p, q)))
        }
        Dom::U => {
            let (x, y) = (a.u64s(n), b.u64s(n));
            mask_col(x.iter().zip(y.iter()).map(|(p, q)| op.test(p, q)))
        }
        Dom::I => {
            let (x, y) = (a.i64s(n), b.i64s(n));
            mask_col(x.iter().zip(y.iter()).map(|(p, q)| op.test(p, q)))
        }
        Dom::Wide => {
            let wide = |c: &Col<'_>, t: &DataType| -> Vec<i128> {
                if t.repr() == Repr::U {
                    c.u64s(n).iter().map(|x| i128::from(*x)).collect()
                } else {
                    c.i64s(n).iter().map(|x| i128::from(*x)).collect()
                }
            };
            let (x, y) = (wide(a, ta), wide(b, tb));
            mask_col(x.iter().zip(y.iter()).map(|(p, q)| op.test(p, q)))
        }
    })
}

fn in_set(fc: &FCall, set: &InSet, c: &Col<'_>, ty: &DataType, n: usize) -> Result<Vec<bool>> {
    Ok(match set {
        InSet::Str(items) => {
            let m = per_entry(fc, c, n, false, |s| Ok(u64::from(items.contains(s))))?;
            to_mask(&m, n)
        }
        InSet::Int(items) => {
            let v = if ty.is_time() {
                time_in(c, ty, ty, n)
            } else {
                c.i64s(n).into_owned()
            };
            v.iter().map(|x| items.contains(x)).collect()
        }
        InSet::UInt(items) => c.u64s(n).iter().map(|x| items.contains(x)).collect(),
        InSet::Float(items) => c
            .f64s(n)
            .iter()
            .map(|x| items.contains(&float_key(*x)))
            .collect(),
    })
}

/// Picks, per row, the value of the first true condition (`vals` has one more entry than
/// `conds`: the else value).
fn select<'a>(
    fc: &FCall,
    conds: &[Vec<bool>],
    vals: &[Col<'a>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    // Row → index of the chosen value.
    let k = conds.len();
    let mut pick = vec![k as u32; n];
    for (ci, c) in conds.iter().enumerate().rev() {
        for (p, t) in pick.iter_mut().zip(c) {
            if *t {
                *p = ci as u32;
            }
        }
    }
    if let Some(first) = pick.first() {
        if pick.iter().all(|p| p == first) {
            if let Some(v) = vals.get(*first as usize) {
                return Ok(v.clone());
            }
        }
    }
    let masks: Vec<Option<Cow<[bool]>>> = vals.iter().map(|v| v.nulls(n)).collect();
    if ty.repr() != Repr::V && masks.iter().any(Option::is_some) {
        let nulls: Vec<bool> = pick
            .iter()
            .enumerate()
            .map(|(i, p)| masks[*p as usize].as_ref().is_some_and(|m| m[i]))
            .collect();
        let plain: Vec<Col<'a>> = vals
            .iter()
            .map(|v| match v {
                Col::Const(Value::Null) => Col::Const(super::column::default_value(ty)),
                v => v.values().clone(),
            })
            .collect();
        let out = select(fc, conds, &plain, ty.base(), n)?;
        return Ok(with_nulls(out, nulls, ty, n));
    }
    Ok(match ty.repr() {
        Repr::U => {
            let vs: Vec<Cow<[u64]>> = vals.iter().map(|v| v.u64s(n)).collect();
            Col::U(Cow::Owned(
                pick.iter()
                    .enumerate()
                    .map(|(i, p)| vs[*p as usize][i])
                    .collect(),
            ))
        }
        Repr::I => {
            let vs: Vec<Cow<[i64]>> = vals.iter().map(|v| v.i64s(n)).collect();
            Col::I(Cow::Owned(
                pick.iter()
                    .enumerate()
                    .map(|(i, p)| vs[*p as usize][i])
                    .collect(),
            ))
        }
        Repr::F => {
            let vs: Vec<Cow<[f64]>> = vals.iter().map(|v| v.f64s(n)).collect();
            Col::F(Cow::Owned(
                pick.iter()
                    .enumerate()
                    .map(|(i, p)| vs[*p as usize][i])
                    .collect(),
            ))
        }
        Repr::S => {
            let strs: Vec<Strs<'a>> = vals.iter().map(|v| v.strs(n).into_owned()).collect();
            let (dict, codes) = unify_strings(fc, &strs)?;
            Col::S(Strs {
                codes: Cow::Owned(
                    pick.iter()
                        .enumerate()
                        .map(|(i, p)| codes[*p as usize][i])
                        .collect(),
                ),
                dict,
            })
        }
        Repr::V => Col::V(Cow::Owned(
            pick.iter()
                .enumerate()
                .map(|(i, p)| vals[*p as usize].value_at(i, ty))
                .collect(),
        )),
    })
}

fn truncate<'a>(t: Trunc, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
    // Fast path: a stored `DateTime` column truncated to a whole number of seconds.
    if let (Trunc::Seconds(step), Col::Native(data)) = (t, c) {
        if let ColumnData::U32(v) = &**data {
            let step = step.max(1);
            return Col::U(Cow::Owned(in_buckets(
                v.iter().map(|x| i64::from(*x)),
                v.len(),
                |x| {
                    let start = x - x % step;
                    (start, start + step)
                },
            )));
        }
    }
    let s = secs(c, ty, n);
    match t {
        Trunc::Seconds(step) => {
            let step = step.max(1);
            Col::U(Cow::Owned(in_buckets(s.iter().copied(), s.len(), |x| {
                let start = x - x.rem_euclid(step);
                (start, start + step)
            })))
        }
        Trunc::Hours(h) => {
            let h = h.max(1) * 3600;
            Col::U(Cow::Owned(in_buckets(s.iter().copied(), s.len(), |x| {
                let day = x - x.rem_euclid(86_400);
                let within = x.rem_euclid(86_400);
                let start = day + within - within % h;
                // Buckets restart at midnight.
                (start, (start + h).min(day + 86_400))
            })))
        }
        Trunc::Days(d) => {
            let d = d.max(1);
            Col::U(Cow::Owned(in_buckets(s.iter().copied(), s.len(), |x| {
                let start = x.div_euclid(86_400).div_euclid(d) * d * 86_400;
                (start, start + d * 86_400)
            })))
        }
        _ => {
            let v: Vec<i64> = s
                .iter()
                .map(|x| {
                    let days = x.div_euclid(86_400);
                    match t {
                        Trunc::Date => days,
                        Trunc::WeekSunday => days - (days + 4).rem_euclid(7),
                        Trunc::Monday => days - (days + 3).rem_euclid(7),
                        Trunc::Weeks(w) => {
                            let w = w.max(1) * 7;
                            4 + (days - 4).div_euclid(w) * w
                        }
                        Trunc::Months(m) => {
                            let (y, mo, _) = time::civil_from_days(days);
                            let idx = (y - 1900) * 12 + i64::from(mo) - 1;
                            let idx = idx.div_euclid(m.max(1)) * m.max(1);
                            time::days_from_civil(
                                1900 + idx.div_euclid(12),
                                (idx.rem_euclid(12) + 1) as u32,
                                1,
                            )
                        }
                        Trunc::Years(k) => {
                            let (y, _, _) = time::civil_from_days(days);
                            let y = y.div_euclid(k.max(1)) * k.max(1);
                            time::days_from_civil(y, 1, 1)
                        }
                        _ => days,
                    }
                })
                .collect();
            // A `Date` holds 1970-01-01 to 2149-06-06; earlier days saturate.
            Col::I(Cow::Owned(
                v.into_iter().map(|d| d.clamp(0, 65_535)).collect(),
            ))
        }
    }
}

/// The start of each value's bucket, where `bucket(x)` gives the `[start, end)` holding `x`:
/// computed only when a value leaves the previous value's bucket, so a run of times in one
/// bucket (logs are mostly in time order) costs two comparisons a row instead of a division.
#[inline]
fn in_buckets(
    values: impl Iterator<Item = i64>,
    n: usize,
    bucket: impl Fn(i64) -> (i64, i64),
) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    let (mut start, mut end) = (0, 0);
    for x in values {
        if x < start || x >= end {
            (start, end) = bucket(x);
        }
        out.push(start as u64);
    }
    out
}

fn part<'a>(p: Part, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
    let s = secs(c, ty, n);
    Col::U(Cow::Owned(
        s.iter()
            .map(|x| {
                let days = x.div_euclid(86_400);
                let within = x.rem_euclid(86_400);
                let ymd = || time::civil_from_days(days);
                (match p {
                    Part::Hour => within / 3600,
                    Part::Minute => within / 60 % 60,
                    Part::Second => within % 60,
                    Part::DayOfWeek => (days + 3).rem_euclid(7) + 1,
                    Part::Year => ymd().0,
                    Part::Month => i64::from(ymd().1),
                    Part::Day => i64::from(ymd().2),
                    Part::YearMonth => {
                        let (y, m, _) = ymd();
                        y * 100 + i64::from(m)
                    }
                    Part::YearMonthDay => {
                        let (y, m, d) = ymd();
                        y * 10_000 + i64::from(m) * 100 + i64::from(d)
                    }
                    Part::Unix => *x,
                }) as u64
            })
            .collect(),
    ))
}

fn add_months(days: i64, months: i64) -> i64 {
    let (y, m, d) = time::civil_from_days(days);
    let idx = y * 12 + i64::from(m) - 1 + months;
    let (ny, nm) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
    let last = (1..=31u32)
        .rev()
        .find(|dd| time::civil_from_days(time::days_from_civil(ny, nm, *dd)).1 == nm)
        .unwrap_or(28);
    time::days_from_civil(ny, nm, d.min(last))
}

fn add_interval<'a>(
    t: &Col<'a>,
    tt: &DataType,
    k: &Col<'a>,
    unit: Unit,
    sign: i64,
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let ks = k.i64s(n);
    let base = t.i64s(n);
    let mut out = Vec::with_capacity(n);
    for (x, c) in base.iter().zip(ks.iter()) {
        let c = c * sign;
        // Calendar units stop at the epoch; past the type's end, every unit wraps like the
        // stored integers.
        let calendar = unit.months().is_some();
        let v = match (tt.base(), ty.base()) {
            (DataType::Date, DataType::Date) => match unit.months() {
                Some(m) => add_months(*x, c * m),
                None => x + c * unit.seconds().unwrap_or(86_400) / 86_400,
            },
            (DataType::Date, _) => x * 86_400 + c * unit.seconds().unwrap_or(0),
            (DataType::DateTime64, _) => match unit.months() {
                Some(m) => {
                    let s = x.div_euclid(1000);
                    let ms = x.rem_euclid(1000);
                    (add_months(s.div_euclid(86_400), c * m) * 86_400 + s.rem_euclid(86_400)) * 1000
                        + ms
                }
                None => x + c * unit.seconds().unwrap_or(0) * 1000,
            },
            _ => match unit.months() {
                Some(m) => add_months(x.div_euclid(86_400), c * m) * 86_400 + x.rem_euclid(86_400),
                None => x + c * unit.seconds().unwrap_or(0),
            },
        };
        out.push(if calendar && v < 0 {
            0
        } else {
            wrap_time(v, ty)
        });
    }
    Ok(to_repr(out, ty))
}

/// A `Date` or `DateTime` result wrapped into its 16- or 32-bit range, as ClickHouse's
/// arithmetic on them does.
fn wrap_time(v: i64, ty: &DataType) -> i64 {
    match ty.base() {
        DataType::DateTime => v.rem_euclid(1 << 32),
        DataType::Date => v.rem_euclid(1 << 16),
        _ => v,
    }
}

fn round<'a>(kind: Rounding, scale: i32, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
    match ty.repr() {
        Repr::F => {
            let v = c.f64s(n);
            let f32_ = *ty.base() == DataType::Float32;
            let out = v
                .iter()
                .map(|x| {
                    if f32_ {
                        f64::from(round_f32(*x as f32, kind, scale))
                    } else {
                        round_f64(*x, kind, scale)
                    }
                })
                .collect();
            Col::F(Cow::Owned(out))
        }
        Repr::U | Repr::I if scale < 0 => {
            let (bits, signed) = (ty.int_bits().clamp(8, 64), ty.is_signed());
            // Integers round in their own type and wrap as ClickHouse's do (its
            // IntegerRoundingComputation): the adjusted value is stored back into the type before
            // the division; a power of ten the type cannot hold gives 0.
            let wrap = |v: i128| -> i128 {
                let m = v.rem_euclid(1i128 << bits);
                if signed && m >= 1i128 << (bits - 1) {
                    m - (1i128 << bits)
                } else {
                    m
                }
            };
            let max = if signed {
                (1i128 << (bits - 1)) - 1
            } else {
                (1i128 << bits) - 1
            };
            let p = 10i128.pow(scale.unsigned_abs().min(30));
            let f = |x: i128| -> i128 {
                if p > max {
                    return 0;
                }
                // Narrow types add in `int` without wrapping; 32 and 64 bits wrap.
                let add = |v: i128| if bits <= 16 { v } else { wrap(v) };
                let q = match kind {
                    Rounding::Floor => {
                        let x = if x < 0 { wrap(x - (p - 1)) } else { x };
                        x / p * p
                    }
                    Rounding::Ceil => {
                        let x = if x >= 0 { wrap(x + p - 1) } else { x };
                        x / p * p
                    }
                    Rounding::Round => {
                        let x = if x < 0 { wrap(x - p) } else { x };
                        add(x + p / 2) / p * p
                    }
                };
                wrap(q)
            };
            if ty.repr() == Repr::U {
                Col::U(Cow::Owned(
                    c.u64s(n).iter().map(|x| f(i128::from(*x)) as u64).collect(),
                ))
            } else {
                Col::I(Cow::Owned(
                    c.i64s(n).iter().map(|x| f(i128::from(*x)) as i64).collect(),
                ))
            }
        }
        _ => c.clone(),
    }
}

fn round_f64(x: f64, kind: Rounding, scale: i32) -> f64 {
    let r = |v: f64| match kind {
        Rounding::Round => v.round_ties_even(),
        Rounding::Floor => v.floor(),
        Rounding::Ceil => v.ceil(),
    };
    if scale == 0 {
        return r(x);
    }
    let p = 10f64.powi(scale.abs());
    if scale > 0 {
        r(x * p) / p
    } else {
        r(x / p) * p
    }
}

fn round_f32(x: f32, kind: Rounding, scale: i32) -> f32 {
    let r = |v: f32| match kind {
        Rounding::Round => v.round_ties_even(),
        Rounding::Floor => v.floor(),
        Rounding::Ceil => v.ceil(),
    };
    if scale == 0 {
        return r(x);
    }
    let p = 10f32.powi(scale.abs());
    if scale > 0 {
        r(x * p) / p
    } else {
        r(x / p) * p
    }
}

/// `value_u`/`value_i` re-exported for the binder's constant handling.
pub fn const_u(v: &Value) -> u64 {
    value_u(v)
}

/// A constant as `i64`.
pub fn const_i(v: &Value) -> i64 {
    value_i(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let l = Like::new("gpt-%", false);
        assert!(l.matches("gpt-4o") && !l.matches("claude"));
        assert!(Like::new("a_c", false).matches("abc"));
        assert!(
            Like::new("a\\_c", false).matches("a_c") && !Like::new("a\\_c", false).matches("abc")
        );
        assert!(Like::new("%o%", false).matches("gpt-4o"));
        assert!(Like::new("A%", true).matches("abc"));
        assert!(!Like::new("A%", false).matches("abc"));
        assert!(Like::new("_é", false).matches("aé"));
        assert!(Like::new("%É%", true).matches("café é"));
        assert!(!Like::new("a%b", false).matches("ab\u{e9}c"));
        assert!(Like::new("%%b_", false).matches("xxbé"));
        // Many wildcards against a long text: linear backtracking, not exponential.
        let long = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!Like::new("%a%a%a%a%a%a%a%a%a%a%a%a%b", false).matches(&long));
        assert!(start.elapsed().as_secs() < 5);
    }

    #[test]
    fn rounding_matches_clickhouse() {
        assert_eq!(round_f64(2.5, Rounding::Round, 0), 2.0);
        assert_eq!(round_f64(3.5, Rounding::Round, 0), 4.0);
        assert_eq!(round_f64(0.125, Rounding::Round, 2), 0.12);
        assert_eq!(round_f64(0.375, Rounding::Round, 2), 0.38);
        assert_eq!(round_f64(1.005, Rounding::Round, 2), 1.0);
        assert_eq!(round_f64(1.27, Rounding::Floor, 1), 1.2);
        let c = Col::I(Cow::Owned(vec![1350, -1250, -1251, 1250]));
        let r = round(Rounding::Round, -2, &c, &DataType::Int32, 4);
        assert_eq!(&*r.i64s(4), &[1400, -1300, -1300, 1300]);
        let f = round(Rounding::Floor, -2, &c, &DataType::Int32, 4);
        assert_eq!(&*f.i64s(4), &[1300, -1300, -1300, 1200]);
    }

    #[test]
    fn buckets_of_unordered_times_match_the_formulas() {
        // Times in order, backwards, repeated and jumping across midnight and the epoch.
        let mut times: Vec<i64> = (0..2000).map(|i| 1_725_400_000 + i * 97).collect();
        times.extend((0..500).rev().map(|i| 1_725_400_000 + i * 1_301));
        times.extend([86_399, 86_400, 0, -1, -86_401, 7_199, 7_200, 7_200, 3_599]);
        let ty = DataType::DateTime64;
        let ms: Vec<i64> = times.iter().map(|t| t * 1000).collect();
        let c = Col::I(Cow::Owned(ms));
        for (t, f) in [
            (
                Trunc::Seconds(900),
                Box::new(|x: i64| x - x.rem_euclid(900)) as Box<dyn Fn(i64) -> i64>,
            ),
            (
                Trunc::Hours(5),
                Box::new(|x: i64| {
                    let within = x.rem_euclid(86_400);
                    x - within + within - within % 18_000
                }),
            ),
            (
                Trunc::Days(3),
                Box::new(|x: i64| x.div_euclid(86_400).div_euclid(3) * 3 * 86_400),
            ),
        ] {
            let got = truncate(t, &c, &ty, times.len());
            let want: Vec<u64> = times.iter().map(|x| f(*x) as u64).collect();
            assert_eq!(&*got.u64s(times.len()), &want[..], "{t:?}");
        }
        let stored = Col::Native(Cow::Owned(ColumnData::U32(vec![
            3_599, 3_600, 10, 7_300, 3_601,
        ])));
        let got = truncate(Trunc::Seconds(3_600), &stored, &DataType::DateTime, 5);
        assert_eq!(&*got.u64s(5), &[0, 3_600, 0, 7_200, 3_600]);
    }

    #[test]
    fn truncations() {
        // 2024-09-04 10:07:00 UTC
        let t = 1_725_444_420u64;
        let c = Col::U(Cow::Owned(vec![t]));
        let ty = DataType::DateTime;
        let one = |tr| truncate(tr, &c, &ty, 1).value_at(0, &DataType::Int64);
        assert_eq!(one(Trunc::Hours(5)), Value::Int(1_725_444_000));
        assert_eq!(
            one(Trunc::Weeks(3)),
            Value::Int(time::days_from_civil(2024, 8, 19))
        );
        assert_eq!(
            one(Trunc::Months(5)),
            Value::Int(time::days_from_civil(2024, 8, 1))
        );
        assert_eq!(
            one(Trunc::WeekSunday),
            Value::Int(time::days_from_civil(2024, 9, 1))
        );
        assert_eq!(
            add_months(time::days_from_civil(2024, 1, 31), 1),
            time::days_from_civil(2024, 2, 29)
        );
    }
}
