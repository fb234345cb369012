//! Conditionals: `if` and `multiIf`, a value per row chosen by the first true condition.

use super::super::column::{Col, Strs};
use super::super::types::{DataType, Repr};
use super::super::Value;
use super::cast::cast_branch;
use super::nulls::with_nulls;
use super::strings::unify_strings;
use super::{to_mask, FCall};
use crate::error::Result;
use std::borrow::Cow;

/// Picks, per row, the value of the first true condition (`vals` has one more entry than
/// `conds`: the else value).
pub(super) fn select<'a>(
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
                Col::Const(Value::Null) => Col::Const(super::super::column::default_value(ty)),
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

/// `multiIf(c1, v1, …, else)` (and `if`): the values cast to the result type `ty`, picked per
/// row by the first true condition.
pub(super) fn multi_if<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let at = |i: usize| &fc.args[i].ty;
    let k = (args.len() - 1) / 2;
    let mut conds = Vec::with_capacity(k);
    let mut vals = Vec::with_capacity(k + 1);
    for i in 0..k {
        conds.push(to_mask(&args[2 * i], n));
        vals.push(cast_branch(&args[2 * i + 1], at(2 * i + 1), ty, n)?);
    }
    vals.push(cast_branch(&args[2 * k], at(2 * k), ty, n)?);
    select(fc, &conds, &vals, ty, n)
}
