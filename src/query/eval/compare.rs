//! Comparisons (`=`, `!=`, `<`, `>`, `<=`, `>=`) in the domain ClickHouse compares two types in,
//! with a constant without widening the column, and `IN` through a hash set.

use super::super::column::{native_map, value_f, value_i, value_str, value_u, Col, Prim};
use super::super::types::{DataType, Repr};
use super::super::Value;
use super::calendar::{finer_time, time_in, LAST_DATETIME_DAY};
use super::strings::per_entry;
use super::{mask_col, to_mask, FCall};
use crate::error::Result;
use crate::store::ColumnData;
use std::borrow::Cow;

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
        let to_datetime = *target.base() == DataType::DateTime;
        if to_datetime && *ct.base() == DataType::Date {
            // The column's late days clamp (see `LAST_DATETIME_DAY`): the general path.
            return None;
        }
        let k = if to_datetime && *kt.base() == DataType::Date {
            Value::Int(value_i(k).min(LAST_DATETIME_DAY))
        } else {
            k.clone()
        };
        let unit = |t: &DataType| match (t.base(), target.base()) {
            (DataType::Date, DataType::DateTime) => 86_400,
            (DataType::Date, DataType::DateTime64) => 86_400_000,
            (DataType::DateTime, DataType::DateTime64) => 1000,
            _ => 1,
        };
        (
            Dom::I,
            unit(ct),
            Value::Int(value_i(&k).wrapping_mul(unit(kt))),
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

pub(super) fn compare<'a>(
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

pub(super) fn in_set(
    fc: &FCall,
    set: &InSet,
    c: &Col<'_>,
    ty: &DataType,
    n: usize,
) -> Result<Vec<bool>> {
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
