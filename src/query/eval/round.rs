//! Rounding: `round`, `floor` and `ceil` with a scale, as ClickHouse rounds floats and integers.

use super::super::column::Col;
use super::super::types::{DataType, Repr};
use std::borrow::Cow;

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

pub(super) fn round<'a>(
    kind: Rounding,
    scale: i32,
    c: &Col<'a>,
    ty: &DataType,
    n: usize,
) -> Col<'a> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

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
}
