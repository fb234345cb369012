//! Which function family computes each scalar function, over the values of its arguments.

use super::super::column::Col;
use super::super::types::DataType;
use super::super::Value;
use super::arith::{abs, arith, negate};
use super::calendar::{add_int, add_interval, age, date_diff, part, time_diff, truncate};
use super::cast::cast;
use super::compare::{compare, in_set};
use super::conditional::multi_if;
use super::nulls::{and_or, assume_not_null, coalesce, null_if, null_test};
use super::round::round;
use super::strings::{concat, per_entry, recode};
use super::{mask_col, to_mask, FCall, Trunc, F};
use crate::error::Result;
use std::borrow::Cow;

/// Computes `fc` over its arguments' values (no `NULL` rows: `nulls::call` takes them out
/// first, except for the functions that handle `NULL`s themselves).
pub(super) fn call_values<'a>(
    fc: &FCall,
    args: &[Cow<'_, Col<'a>>],
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let at = |i: usize| &fc.args[i].ty;
    Ok(match &fc.f {
        F::Arith(op) => arith(*op, &args[0], at(0), &args[1], at(1), ty, n)?,
        F::Negate => negate(&args[0], ty, n),
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
        F::MultiIf => multi_if(fc, args, ty, n)?,
        F::Coalesce => coalesce(fc, args, ty, n)?,
        F::Extreme(most) => super::nulls::extreme(fc, args, ty, n, *most)?,
        F::IsNull | F::IsNotNull => null_test(matches!(fc.f, F::IsNull), &args[0], n),
        F::NullIf => null_if(args, ty, n),
        F::AssumeNotNull => assume_not_null(&args[0], ty),
        F::ToNullable => args[0].as_ref().clone(),
        F::Lower => recode(fc, &args[0], n, |s| s.to_ascii_lowercase())?,
        F::Upper => recode(fc, &args[0], n, |s| s.to_ascii_uppercase())?,
        F::LowerUtf8 => recode(fc, &args[0], n, str::to_lowercase)?,
        F::UpperUtf8 => recode(fc, &args[0], n, str::to_uppercase)?,
        F::Concat => concat(&fc.args, args, n),
        F::Length => per_entry(fc, &args[0], n, true, |s| Ok(s.len() as u64))?,
        F::Empty => per_entry(fc, &args[0], n, false, |s| Ok(u64::from(s.is_empty())))?,
        F::NotEmpty => per_entry(fc, &args[0], n, false, |s| Ok(u64::from(!s.is_empty())))?,
        F::Trunc(t) => {
            if at(0).is_string() && *t == Trunc::Date {
                // `toDate('…')` reads the text as a `Date` (up to 2149-06-06), not through a
                // `DateTime` (up to 2106-02-07).
                let p = cast(&args[0], at(0), &DataType::Date, n)?;
                truncate(*t, &p, &DataType::Date, n)
            } else if at(0).is_string() {
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
        F::FormatTime(f) => f.column(&args[0], at(0), n),
        F::DateOfNumber => super::calendar::date_of_number(&args[0], at(0), n)?,
        F::ArrayElement(k) => {
            let values = (0..n)
                .map(|i| match args[0].value_at(i, at(0)) {
                    Value::Array(mut items) if *k < items.len() => items.swap_remove(*k),
                    _ => Value::Null,
                })
                .collect();
            super::super::column::from_values(values, ty)
        }
        F::Array(f) => super::arrays::call(fc, f, args, ty, n)?,
        F::Json(j) => super::json::call(fc, j, &args[0], n)?,
        F::BestEffort(on_error, us, today) => {
            super::best_effort::call(*on_error, *us, *today, &args[0], ty, n)?
        }
        F::Url(u) => recode(fc, &args[0], n, |s| u.apply(s))?,
        F::Multi(m) => per_entry(fc, &args[0], n, false, |s| Ok(u64::from(m.any(s))))?,
        F::Regexp(r) => super::regexp::call(fc, r, &args[0], n)?,
        F::AddInterval(unit, sign) => add_interval(&args[0], at(0), &args[1], *unit, *sign, ty, n)?,
        F::AddInt(sign) => add_int(&args[0], &args[1], *sign, ty, n),
        F::TimeDiff => time_diff(&args[0], &args[1], n),
        F::DateDiff(unit) => date_diff(*unit, &args[1], at(1), &args[2], at(2), n),
        F::Age(unit, scale) => age(*unit, *scale, &args[1], at(1), &args[2], at(2), n),
        F::Round(kind, scale) => round(*kind, *scale, &args[0], ty, n),
        F::Abs => abs(&args[0], at(0), ty, n),
    })
}
