//! `NULL` handling: every call of a function that does not look at `NULL`s itself runs on its
//! arguments' values and is `NULL` where any argument is; the functions that do look at them
//! (three-valued `and`/`or`, `isNull`, `coalesce`, `nullIf`, `assumeNotNull`) are here too.

use super::super::column::{default_value, Col};
use super::super::types::{DataType, Repr};
use super::super::Value;
use super::arith::to_repr;
use super::cast::cast_branch;
use super::conditional::select;
use super::dispatch::call_values;
use super::{mask_col, to_mask, Arith, FCall, F};
use crate::error::{Error, Result};
use std::borrow::Cow;

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
pub(super) fn call<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    check_n(args, n)?;
    let null_aware = matches!(
        fc.f,
        F::MultiIf
            | F::Coalesce
            | F::Extreme(_)
            | F::IsNull
            | F::IsNotNull
            | F::And
            | F::Or
            | F::NullIf
            | F::AssumeNotNull
            | F::ToNullable
            // A conversion skips NULL rows itself: the value under a NULL (an empty group's
            // NaN average) must not raise.
            | F::Cast
            | F::BestEffort(..)
            | F::Array(_)
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
        // Division by a NULL divisor's 0 is no error: those rows are NULL. A NULL dividend
        // does not excuse a zero divisor (ClickHouse divides the values under the NULLs).
        F::Arith(Arith::IntDiv | Arith::Mod) => {
            let mut values = values;
            if let Some(divisor_nulls) = args[1].nulls(n) {
                let divisor = values[1].i64s(n);
                if divisor
                    .iter()
                    .zip(divisor_nulls.iter())
                    .any(|(d, null)| *d == 0 && *null)
                {
                    let fixed: Vec<i64> = divisor
                        .iter()
                        .zip(divisor_nulls.iter())
                        .map(|(d, null)| if *null { 1 } else { *d })
                        .collect();
                    values[1] = Cow::Owned(to_repr(fixed, &fc.args[1].ty));
                }
            }
            call_values(fc, &values, ty.base(), n)?
        }
        _ => call_values(fc, &values, ty.base(), n)?,
    };
    Ok(with_nulls(out, nulls, ty, n))
}

/// `c` with `nulls` marking its `NULL` rows, for a result of type `ty`.
pub(super) fn with_nulls<'a>(c: Col<'a>, nulls: Vec<bool>, ty: &DataType, n: usize) -> Col<'a> {
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

pub(super) fn is_null(c: &Col<'_>) -> bool {
    matches!(c, Col::Const(Value::Null))
}

/// Three-valued `and` / `or`: a `false` (`and`) or `true` (`or`) argument decides the row;
/// otherwise a `NULL` argument makes it `NULL`.
pub(super) fn and_or<'a>(
    is_and: bool,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Col<'a> {
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

/// `coalesce`: per row, the first argument that is not `NULL`, cast to the result type `ty`.
/// Arguments after the first of a type that cannot be `NULL` were computed but are not read.
pub(super) fn coalesce<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let at = |i: usize| &fc.args[i].ty;
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
        vals.push(cast_branch(a, at(i), ty, n)?);
        if !at(i).is_nullable() && *at(i) != DataType::Nothing {
            break;
        }
    }
    vals.push(Col::Const(Value::Null));
    select(fc, &conds, &vals, ty, n)
}

/// `greatest` (`most` true) or `least` of the arguments, each cast to `ty`: `NULL`s are passed
/// over (`NULL` only where every argument is), and a later value replaces the one so far
/// unless the one so far is at least (at most) it, as ClickHouse compares them: a NaN first
/// gives way to any later value, a NaN later wins over any earlier one.
pub(super) fn extreme<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
    most: bool,
) -> Result<Col<'a>> {
    let at = |i: usize| &fc.args[i].ty;
    let mut vals = Vec::with_capacity(args.len() + 1);
    for (i, a) in args.iter().enumerate() {
        vals.push(cast_branch(a, at(i), ty, n)?);
    }
    let live: Vec<usize> = (0..vals.len()).filter(|i| !is_null(&vals[*i])).collect();
    let nulls: Vec<Option<Cow<[bool]>>> = vals.iter().map(|v| v.nulls(n)).collect();
    let valid = |i: usize, r: usize| !nulls[i].as_ref().is_some_and(|m| m[r]);
    let none = vals.len() as u32;
    // `Int64` with `UInt64` compares the values themselves; ClickHouse converts a
    // `LowCardinality` argument to the result type first.
    let exact = fc.args.len() == 2
        && fc
            .args
            .iter()
            .all(|a| a.ty.is_int() && !a.ty.is_low_cardinality())
        && fc.args.iter().any(|a| a.ty.is_signed())
        && fc.args.iter().any(|a| !a.ty.is_signed());
    let pick = match ty.repr() {
        Repr::U | Repr::I if exact => {
            let all: Vec<Vec<i128>> = args
                .iter()
                .enumerate()
                .map(|(i, c)| match at(i).repr() {
                    Repr::U => c.u64s(n).iter().map(|x| i128::from(*x)).collect(),
                    _ => c.i64s(n).iter().map(|x| i128::from(*x)).collect(),
                })
                .collect();
            picks(n, none, &live, valid, |i, r| all[i][r], most)
        }
        Repr::U => {
            let all: Vec<Cow<[u64]>> = vals.iter().map(|c| c.u64s(n)).collect();
            picks(n, none, &live, valid, |i, r| all[i][r], most)
        }
        Repr::I => {
            let all: Vec<Cow<[i64]>> = vals.iter().map(|c| c.i64s(n)).collect();
            picks(n, none, &live, valid, |i, r| all[i][r], most)
        }
        Repr::F => {
            let all: Vec<Cow<[f64]>> = vals.iter().map(|c| c.f64s(n)).collect();
            picks(n, none, &live, valid, |i, r| all[i][r], most)
        }
        Repr::S => {
            let all: Vec<_> = vals.iter().map(|c| c.strs(n)).collect();
            picks(
                n,
                none,
                &live,
                valid,
                |i, r| all[i].dict.str(all[i].codes[r]),
                most,
            )
        }
        Repr::V => {
            return Err(Error::unsupported(format!(
                "function {} of {ty}",
                if most { "greatest" } else { "least" }
            )))
        }
    };
    let conds: Vec<Vec<bool>> = (0..vals.len() as u32)
        .map(|i| pick.iter().map(|p| *p == i).collect())
        .collect();
    vals.push(Col::Const(Value::Null));
    select(fc, &conds, &vals, ty, n)
}

/// Per row, the argument `greatest` (`most`) or `least` takes among `live` (`none` where no
/// argument is `valid`): a later value replaces the one so far unless the one so far is at
/// least (at most) it.
fn picks<T: PartialOrd>(
    n: usize,
    none: u32,
    live: &[usize],
    valid: impl Fn(usize, usize) -> bool,
    value: impl Fn(usize, usize) -> T,
    most: bool,
) -> Vec<u32> {
    let mut pick = vec![none; n];
    for &i in live {
        for (r, p) in pick.iter_mut().enumerate() {
            if !valid(i, r) {
                continue;
            }
            let keeps = *p != none && {
                let (a, b) = (value(*p as usize, r), value(i, r));
                if most {
                    a >= b
                } else {
                    a <= b
                }
            };
            if !keeps {
                *p = i as u32;
            }
        }
    }
    pick
}

/// `isNull` (`want` true) or `isNotNull` (`want` false) as a 0/1 column.
pub(super) fn null_test<'a>(want: bool, c: &Col<'_>, n: usize) -> Col<'a> {
    match c.nulls(n) {
        Some(m) => mask_col(m.iter().map(|x| *x == want)),
        None => Col::Const(Value::UInt(u64::from(!want))),
    }
}

/// `nullIf(x, y)`: `x`, `NULL` where the bound `x = y` (the second argument) holds.
pub(super) fn null_if<'a>(args: &[Cow<'_, Col<'a>>], ty: &DataType, n: usize) -> Col<'a> {
    let same = to_mask(&args[1], n);
    let mut nulls = args[0]
        .nulls(n)
        .map_or_else(|| vec![false; n], Cow::into_owned);
    for (x, s) in nulls.iter_mut().zip(same) {
        *x |= s;
    }
    with_nulls(args[0].values().clone(), nulls, ty, n)
}

/// `assumeNotNull`: the values, `NULL` rows as the type's default.
pub(super) fn assume_not_null<'a>(c: &Col<'a>, ty: &DataType) -> Col<'a> {
    match c {
        Col::Const(Value::Null) => Col::Const(default_value(ty)),
        c => c.values().clone(),
    }
}
