//! Conversions: `cast` between types (`toInt32`, `toDateTime`, `toString`, …), and the text of
//! values and values of text as ClickHouse writes and reads them.

use super::super::column::{value_str, Col, Dict, Strs};
use super::super::types::{DataType, Repr};
use super::super::Value;
use super::calendar::{secs, time_in};
use super::nulls::{is_null, with_nulls};
use crate::error::{Error, Result};
use crate::store::Dictionary;
use crate::time;
use std::borrow::Cow;
use std::rc::Rc;

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

/// `cast` of a branch of `if`/`multiIf`, a `coalesce` argument or a `UNION` part to the common
/// type `to`: between `Bool` and `UInt8` the byte is kept as it is (ClickHouse's `Bool` is
/// `UInt8` under another name there: `if(c, true, 5)` is a `Bool` 5, which prints `true` and
/// equals 5), and a `Date` becoming `DateTime` keeps its days up to 2106-02-06 (see
/// `LAST_DATETIME_DAY`).
pub fn cast_branch<'a>(c: &Col<'a>, from: &DataType, to: &DataType, n: usize) -> Result<Col<'a>> {
    let (fb, tb) = (from.base(), to.base());
    if fb != tb && !matches!(fb, DataType::Array(_)) && super::super::types::same_but_bool(fb, tb) {
        let kept = fb.clone().nullable_if(to.is_nullable());
        return cast(c, from, &kept, n);
    }
    if *fb == DataType::Date && *tb == DataType::DateTime {
        return cast(&super::calendar::clamp_days(c, n), from, to, n);
    }
    cast(c, from, to, n)
}

/// ClickHouse's error (CANNOT_CONVERT_TYPE) for NaN or an infinity converted to an integer
/// type, in a row that is not `NULL` (`skip`); a constant raises without rows.
fn check_finite(c: &Col<'_>, skip: Option<&[bool]>, to: &DataType, n: usize) -> Result<()> {
    let bad = || Error::query(format!("cannot convert inf or nan to {to}"));
    if let Col::Const(v) = c {
        let x = match v {
            Value::Float64(x) => *x,
            Value::Float32(x) => f64::from(*x),
            _ => return Ok(()),
        };
        return if x.is_finite() { Ok(()) } else { Err(bad()) };
    }
    let xs = c.f64s(n);
    let hit = xs
        .iter()
        .enumerate()
        .any(|(i, x)| !x.is_finite() && !skip.is_some_and(|m| m.get(i).copied().unwrap_or(false)));
    if hit {
        return Err(bad());
    }
    Ok(())
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
                _ if skip.is_some_and(|m| m[i]) => {
                    out.push(super::super::column::default_value(tb))
                }
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
            // Days past 2106-02-07 wrap around the 32-bit seconds, as in ClickHouse.
            (_, DataType::DateTime) => Col::U(Cow::Owned(
                secs(c, fb, n)
                    .iter()
                    .map(|s| s.rem_euclid(1 << 32) as u64)
                    .collect(),
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
            if fb.repr() == Repr::F && tb.is_int() {
                check_finite(c, skip, tb, n)?;
            }
            let raw: Vec<i64> = match fb.repr() {
                Repr::F if tb.is_int() => c.f64s(n).iter().map(|x| float_to_int(*x, tb)).collect(),
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

/// A float converted to the integer type `to` as ClickHouse's x86-64 build converts it: by
/// truncation, with the processor's answer for values out of range (the lowest value of the
/// 32- or 64-bit conversion the type goes through, then cut to the type's width by the caller).
fn float_to_int(x: f64, to: &DataType) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let cvt64 = |x: f64| -> i64 {
        if x.is_nan() || !(-TWO_63..TWO_63).contains(&x) {
            i64::MIN
        } else {
            x as i64
        }
    };
    let cvt32 = |x: f64| -> i64 {
        if x.is_nan() || !(-2_147_483_649.0 < x && x < 2_147_483_648.0) {
            i64::from(i32::MIN)
        } else {
            x as i64
        }
    };
    match to {
        DataType::Int64 => cvt64(x),
        // Above 2^63 the conversion subtracts 2^63 first and sets the top bit back.
        DataType::UInt64 => {
            let low = cvt64(x);
            let high = cvt64(x - TWO_63);
            low | (high & (low >> 63))
        }
        DataType::UInt32 => cvt64(x),
        _ => cvt32(x),
    }
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
            // A `Date` holds 1970-01-01 to 2149-06-06; text outside saturates.
            Value::Date(ms.div_euclid(86_400_000).clamp(0, 65_535))
        }
        // Numbers take no surrounding spaces, as in ClickHouse; times do.
        DataType::Float32 => Value::Float32(s.parse::<f32>().map_err(|_| bad())?),
        DataType::Float64 => Value::Float64(s.parse::<f64>().map_err(|_| bad())?),
        DataType::Bool => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => return Err(bad()),
        },
        b if b.is_signed() => Value::Int(s.parse::<i64>().map_err(|_| bad())?),
        b if b.is_int() => Value::UInt(s.parse::<u64>().map_err(|_| bad())?),
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
        Value::Float32(x) => super::super::endpoint::float_text(f64::from(*x), Some(*x)),
        Value::Float64(x) => super::super::endpoint::float_text(*x, None),
        other => {
            let mut s = String::new();
            other.write_json(&mut s);
            s.trim_matches('"').to_string()
        }
    }
}

pub(super) fn to_string_col<'a>(c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
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
