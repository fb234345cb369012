//! Arithmetic: `+`, `-`, `*`, `/`, `%`, `intDiv`, `negate` and `abs`, with ClickHouse's
//! result types (integers wrap, division by zero of integers is an error).

use super::super::column::Col;
use super::super::types::{DataType, Repr};
use crate::error::{Error, Result};
use std::borrow::Cow;

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

pub(super) fn to_repr<'a>(v: Vec<i64>, ty: &DataType) -> Col<'a> {
    if ty.repr() == Repr::U {
        Col::U(Cow::Owned(v.into_iter().map(|x| x as u64).collect()))
    } else {
        Col::I(Cow::Owned(v))
    }
}

/// Whether ClickHouse divides a `dividend` by a constant `divisor` of these types through its
/// by-constant path (a dividend of 32 bits or more, signed as the divisor is), which checks the
/// divisor before it looks at the rows: an `intDiv` or `%` by a constant zero of these types
/// raises wherever the query computes it, also when no row reaches it.
pub fn checks_divisor_first(dividend: &DataType, divisor: &DataType) -> bool {
    let (a, b) = (dividend.base(), divisor.base());
    a.is_int() && a.int_bits() >= 32 && a.is_signed() == b.is_signed()
}

pub(super) fn arith<'a>(
    op: Arith,
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    if op == Arith::IntDiv && (ta.is_float() || tb.is_float()) {
        return int_div_float(a, ta, b, tb, ty, n);
    }
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
    // A constant zero divisor is an error for every block of rows, whatever their values, as
    // in ClickHouse. A block without rows is no error, except where ClickHouse divides by a
    // constant through its own path (a dividend of 32 bits or more, signed as the divisor is),
    // which checks the divisor before it looks at the rows.
    if (n > 0 || checks_divisor_first(ta, tb))
        && matches!(op, Arith::IntDiv | Arith::Mod)
        && matches!(
            b,
            Col::Const(super::super::Value::UInt(0) | super::super::Value::Int(0))
                | Col::Const(super::super::Value::Bool(false))
        )
    {
        return Err(zero_divisor());
    }
    // So is a remainder of a signed 32- or 64-bit dividend by a constant that is the lowest
    // value of its own signed type (ClickHouse's division by a constant refuses it): `x % -128`
    // of an Int32 `x`.
    if let (Arith::Mod, Col::Const(super::super::Value::Int(k))) = (op, b) {
        let (ba, bb) = (ta.base(), tb.base());
        if ba.is_int() && ba.is_signed() && ba.int_bits() >= 32 && bb.is_int() && bb.is_signed() {
            let lowest = sign_extend(1 << (bb.int_bits() - 1), bb.int_bits());
            if *k == lowest {
                return Err(Error::query("division by the most negative number"));
            }
        }
    }
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
    if op == Arith::IntDiv {
        // ClickHouse divides as signed integers: the dividend reinterpreted as the signed type
        // of its width (`intDiv(toUInt16(65535), -3)` is `-1 / -3`, 0), an unsigned divisor
        // at least as wide reinterpreted as the signed type of its own width; the quotient
        // wraps to the result's width.
        let (wa, wb) = (ta.int_bits(), tb.int_bits());
        let b_unsigned = !tb.base().is_signed();
        for (p, q) in x.iter().zip(y.iter()) {
            let p = sign_extend(*p, wa);
            let q = if b_unsigned && wb >= wa {
                sign_extend(*q, wb)
            } else {
                *q
            };
            if q == 0 {
                return Err(zero_divisor());
            }
            if q == -1 && p == sign_extend(1 << (wa - 1), wa) {
                return Err(Error::query(
                    "division of the minimal signed number by minus one",
                ));
            }
            v.push(sign_extend(p.wrapping_div(q), ty.int_bits()));
        }
        return Ok(Col::I(Cow::Owned(v)));
    }
    let unsigned_divisor = !tb.base().is_signed();
    for (p, q) in x.iter().zip(y.iter()) {
        v.push(match op {
            Arith::Plus => p.wrapping_add(*q),
            Arith::Minus => p.wrapping_sub(*q),
            Arith::Mul => p.wrapping_mul(*q),
            // A signed dividend and a `UInt64` divisor of 2^63 or more, larger than any
            // dividend: the remainder is the dividend (`-5 % 18446744073709551615` is -5, not
            // the 0 of reading the divisor as -1).
            Arith::Mod if unsigned_divisor && *q < 0 => sign_extend(
                (i128::from(*p) % i128::from(*q as u64)) as i64,
                ty.int_bits(),
            ),
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

/// The values of `c` (of type `t`) as `f64`, integers converted from their own width.
fn as_f64(c: &Col<'_>, t: &DataType, n: usize) -> Vec<f64> {
    match t.repr() {
        Repr::U => c.u64s(n).iter().map(|x| *x as f64).collect(),
        Repr::I => c.i64s(n).iter().map(|x| *x as f64).collect(),
        _ => c.f64s(n).into_owned(),
    }
}

/// The values of `c` (of type `t`) as `f32`, integers converted from their own width (as C++
/// converts an integer operand of a `float` division).
fn as_f32(c: &Col<'_>, t: &DataType, n: usize) -> Vec<f32> {
    match t.repr() {
        Repr::U => c.u64s(n).iter().map(|x| *x as f32).collect(),
        Repr::I => c.i64s(n).iter().map(|x| *x as f32).collect(),
        _ => c.f64s(n).iter().map(|x| *x as f32).collect(),
    }
}

/// `intDiv` with a float argument, as ClickHouse computes it: the quotient in floating point
/// (`Float32` unless an argument is `Float64`) truncated toward zero to the result type (the
/// dividend's width, signed). NaN or infinite arguments, a zero divisor, the lowest value of
/// the dividend's type divided by -1, and a quotient at or beyond the result type's bounds
/// are errors.
fn int_div_float<'a>(
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let (ba, bb) = (ta.base(), tb.base());
    let wide = *ba == DataType::Float64 || *bb == DataType::Float64;
    let x = as_f64(a, ta, n);
    let y = as_f64(b, tb, n);
    let quotients: Vec<f64> = if wide {
        x.iter().zip(y.iter()).map(|(p, q)| p / q).collect()
    } else {
        let x32 = as_f32(a, ta, n);
        let y32 = as_f32(b, tb, n);
        x32.iter()
            .zip(y32.iter())
            .map(|(p, q)| f64::from(p / q))
            .collect()
    };
    // The value C++ `numeric_limits<A>::min()` gives for the dividend's type: the lowest
    // integer, or the smallest positive normal float.
    let dividend_min = match ba {
        DataType::Float64 => f64::MIN_POSITIVE,
        DataType::Float32 => f64::from(f32::MIN_POSITIVE),
        t if t.is_signed() => -(2f64.powi(t.int_bits() as i32 - 1)),
        _ => 0.0,
    };
    let divisor_signed = bb.is_float() || bb.is_signed();
    let dividend_signed = ba.is_float() || ba.is_signed();
    let bits = ty.int_bits() as i32;
    let (lowest, highest) = (-(2f64.powi(bits - 1)), 2f64.powi(bits - 1) - 1.0);
    let mut v = Vec::with_capacity(n);
    for ((p, q), r) in x.iter().zip(y.iter()).zip(quotients) {
        if !(p.is_finite() && q.is_finite()) {
            return Err(Error::query(
                "cannot perform integer division on infinite or too large floating point numbers",
            ));
        }
        if *q == 0.0 {
            return Err(Error::query("division by zero"));
        }
        if dividend_signed && divisor_signed && *p == dividend_min && *q == -1.0 {
            return Err(Error::query(
                "division of the minimal signed number by minus one",
            ));
        }
        if r.is_nan() || r >= highest || r <= lowest {
            return Err(Error::query(
                "cannot perform integer division, because it will produce infinite or too \
                 large number",
            ));
        }
        v.push(r as i64);
    }
    Ok(Col::I(Cow::Owned(v)))
}

/// The low `bits` bits of `x` read as a signed integer of that width.
fn sign_extend(x: i64, bits: u32) -> i64 {
    if bits >= 64 {
        x
    } else {
        let shift = 64 - bits;
        (x << shift) >> shift
    }
}

/// `negate`: floats change sign, integers wrap (the negation of the minimal `Int64` is itself).
pub(super) fn negate<'a>(c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
    match ty.repr() {
        Repr::F => {
            let v = c.f64s(n);
            Col::F(Cow::Owned(v.iter().map(|x| -x).collect()))
        }
        _ => {
            // Wraps in the result's width, as ClickHouse does: `-(-128)` of an Int8 is -128.
            let shift = 64 - ty.int_bits().clamp(1, 64);
            let v = c.i64s(n);
            Col::I(Cow::Owned(
                v.iter()
                    .map(|x| (x.wrapping_neg() << shift) >> shift)
                    .collect(),
            ))
        }
    }
}

/// `abs` of `c` (of type `from`) as the result type `ty`: a signed argument with an unsigned
/// result takes its magnitude.
pub(super) fn abs<'a>(c: &Col<'a>, from: &DataType, ty: &DataType, n: usize) -> Col<'a> {
    match ty.repr() {
        Repr::F => Col::F(Cow::Owned(c.f64s(n).iter().map(|x| x.abs()).collect())),
        Repr::U => {
            if from.is_signed() {
                Col::U(Cow::Owned(
                    c.i64s(n).iter().map(|x| x.unsigned_abs()).collect(),
                ))
            } else {
                c.clone()
            }
        }
        _ => Col::I(Cow::Owned(
            c.i64s(n).iter().map(|x| x.wrapping_abs()).collect(),
        )),
    }
}
