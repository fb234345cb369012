//! Calendar functions: truncation of times (`toStartOf…`), their parts (`toYear`, `toHour`, …),
//! time ± interval and ± integer, time − time, `dateDiff`, and the unit conversions they share.

use super::super::column::Col;
use super::super::types::{DataType, Unit};
use super::super::Value;
use super::arith::to_repr;
use crate::error::{Error, Result};
use crate::store::ColumnData;
use crate::time;
use std::borrow::Cow;

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

/// Seconds since the epoch of a time column of type `ty` (`Date` days become midnight).
pub(super) fn secs(c: &Col<'_>, ty: &DataType, n: usize) -> Vec<i64> {
    match ty.base() {
        DataType::Date => c.i64s(n).iter().map(|d| d * 86_400).collect(),
        DataType::DateTime64 => c.i64s(n).iter().map(|ms| ms.div_euclid(1000)).collect(),
        _ => c.i64s(n).into_owned(),
    }
}

/// Rescales a time or number column to the unit of `target` (`Date` days, `DateTime` seconds,
/// `DateTime64` milliseconds) in the `i64` domain.
pub(super) fn time_in(c: &Col<'_>, from: &DataType, target: &DataType, n: usize) -> Vec<i64> {
    let mul = |u: i64| {
        c.i64s(n)
            .iter()
            .map(|x| x.wrapping_mul(u))
            .collect::<Vec<i64>>()
    };
    match (from.base(), target.base()) {
        (DataType::Date, DataType::DateTime) => c
            .i64s(n)
            .iter()
            .map(|x| (*x).min(LAST_DATETIME_DAY).wrapping_mul(86_400))
            .collect(),
        (DataType::Date, DataType::DateTime64) => mul(86_400_000),
        (DataType::DateTime, DataType::DateTime64) => mul(1000),
        _ => c.i64s(n).into_owned(),
    }
}

/// The last day a `Date` keeps when ClickHouse converts it to the common type `DateTime` of a
/// comparison or of `if` branches: 2106-02-06; later days (to 2149-06-06) become 2106-02-06
/// 00:00:00 there, where `toDateTime` wraps them around the 32-bit seconds instead.
pub(crate) const LAST_DATETIME_DAY: i64 = 49_709;

/// `Date` days clamped to [`LAST_DATETIME_DAY`], for a conversion to the common type `DateTime`.
pub(super) fn clamp_days<'a>(c: &Col<'a>, n: usize) -> Col<'a> {
    match c {
        Col::Const(Value::Date(d)) => Col::Const(Value::Date((*d).min(LAST_DATETIME_DAY))),
        Col::Const(v) => Col::Const(v.clone()),
        Col::N(values, nulls) => Col::N(Box::new(clamp_days(values, n)), nulls.clone()),
        c => Col::I(Cow::Owned(
            c.i64s(n)
                .iter()
                .map(|x| (*x).min(LAST_DATETIME_DAY))
                .collect(),
        )),
    }
}

pub(super) fn finer_time(a: &DataType, b: &DataType) -> DataType {
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

pub(super) fn truncate<'a>(t: Trunc, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
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
            let mut v = in_buckets(s.iter().copied(), s.len(), |x| {
                let start = x.div_euclid(86_400).div_euclid(d) * d * 86_400;
                (start, start + d * 86_400)
            });
            // A `Date` bucket starting past 2106-02-07 06:28:15 saturates to that last second.
            if *ty.base() == DataType::Date {
                for x in &mut v {
                    *x = (*x).min(time::DATETIME_MAX as u64);
                }
            }
            Col::U(Cow::Owned(v))
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

pub(super) fn part<'a>(p: Part, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
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

/// The last day of ClickHouse's date table, 2299-12-31: month and year arithmetic on `Date` and
/// `DateTime` lands there when it would pass it.
const LUT_LAST_DAY: i64 = 120_529;

/// `days` plus `months` calendar months as ClickHouse computes it for `Date` and `DateTime`: the
/// day of month clamped to the new month's length, a year past 2299 saturated to 2299-12-31 and
/// one before 1900 to 1900-01-01 (a negative day, which the callers clamp to the epoch).
fn add_months_lut(days: i64, months: i64) -> i64 {
    let (y, m, _) = time::civil_from_days(days);
    let idx = (y * 12 + i64::from(m) - 1).saturating_add(months);
    match idx.div_euclid(12) {
        y if y > 2299 => LUT_LAST_DAY,
        y if y < 1900 => time::days_from_civil(1900, 1, 1),
        _ => add_months(days, months),
    }
}

fn add_months(days: i64, months: i64) -> i64 {
    let (y, m, d) = time::civil_from_days(days);
    let idx = (y * 12 + i64::from(m) - 1).saturating_add(months);
    let (ny, nm) = (idx.div_euclid(12), (idx.rem_euclid(12) + 1) as u32);
    let last = (1..=31u32)
        .rev()
        .find(|dd| time::civil_from_days(time::days_from_civil(ny, nm, *dd)).1 == nm)
        .unwrap_or(28);
    time::days_from_civil(ny, nm, d.min(last))
}

pub(super) fn add_interval<'a>(
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
        let c = c.saturating_mul(sign);
        // Months and years stop at the epoch and at 2299-12-31 (for `Date` and `DateTime`);
        // past the type's end, every unit wraps like the stored integers.
        let calendar = unit.months().is_some();
        let months = unit.months().map(|m| c.saturating_mul(m));
        let secs = unit.seconds().unwrap_or(0);
        let v = match (tt.base(), ty.base()) {
            (DataType::Date, DataType::Date) => match months {
                Some(m) => add_months_lut(*x, m),
                None => x.wrapping_add(c.wrapping_mul(unit.seconds().unwrap_or(86_400) / 86_400)),
            },
            (DataType::Date, _) => (x * 86_400).wrapping_add(c.wrapping_mul(secs)),
            (DataType::DateTime64, _) => match months {
                Some(m) => {
                    let s = x.div_euclid(1000);
                    let ms = x.rem_euclid(1000);
                    (add_months(s.div_euclid(86_400), m.clamp(-1_200_000, 1_200_000)) * 86_400
                        + s.rem_euclid(86_400))
                        * 1000
                        + ms
                }
                None => x.wrapping_add(c.wrapping_mul(secs).wrapping_mul(1000)),
            },
            _ => match months {
                Some(m) => add_months_lut(x.div_euclid(86_400), m) * 86_400 + x.rem_euclid(86_400),
                None => x.wrapping_add(c.wrapping_mul(secs)),
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

/// Time ± integer (seconds for times, days for dates), `sign` ±1, wrapped into the type's range.
pub(super) fn add_int<'a>(t: &Col<'a>, k: &Col<'a>, sign: i64, ty: &DataType, n: usize) -> Col<'a> {
    let base = t.i64s(n);
    let d = k.i64s(n);
    let v: Vec<i64> = base
        .iter()
        .zip(d.iter())
        .map(|(b, x)| wrap_time(b.wrapping_add(x.wrapping_mul(sign)), ty))
        .collect();
    to_repr(v, ty)
}

/// Time − time, in the times' unit, as ClickHouse's 32-bit result.
pub(super) fn time_diff<'a>(a: &Col<'a>, b: &Col<'a>, n: usize) -> Col<'a> {
    let a = a.i64s(n);
    let b = b.i64s(n);
    let v = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| i64::from(x.wrapping_sub(*y) as i32))
        .collect();
    Col::I(Cow::Owned(v))
}

/// `dateDiff(unit, a, b)`: the count of `unit` boundaries crossed from `a` to `b`.
pub(super) fn date_diff<'a>(
    unit: Unit,
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    n: usize,
) -> Col<'a> {
    // In seconds, ClickHouse reads a `Date` past 2106-02-07 06:28:15 as that last second.
    let in_secs = |c: &Col<'a>, t: &DataType| -> Vec<i64> {
        let s = secs(c, t, n);
        if unit == Unit::Second && *t.base() == DataType::Date {
            s.into_iter().map(|x| x.min(time::DATETIME_MAX)).collect()
        } else {
            s
        }
    };
    let a = in_secs(a, ta);
    let b = in_secs(b, tb);
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

/// Milliseconds since the epoch of a time column (`Date`, `DateTime` or `DateTime64(3)`).
fn millis(c: &Col<'_>, ty: &DataType, n: usize) -> Vec<i64> {
    let per = match ty.base() {
        DataType::Date => 86_400_000,
        DataType::DateTime64 => 1,
        _ => 1000,
    };
    c.i64s(n).iter().map(|x| x.wrapping_mul(per)).collect()
}

/// `age(unit, a, b)`: the full units elapsed from `a` to `b`, as ClickHouse counts them: the
/// difference of the units' numbers (as `dateDiff` takes it), one less (toward zero) when the
/// later time's place within its unit comes before the earlier time's (a month from 01-31 to
/// 02-29 is none; a second from .500 to 1.200 is none). `scale` counts a sub-second unit in a
/// second (1 for the others).
pub(super) fn age<'a>(
    unit: Unit,
    scale: i64,
    a: &Col<'a>,
    ta: &DataType,
    b: &Col<'a>,
    tb: &DataType,
    n: usize,
) -> Col<'a> {
    let (ma, mb) = (millis(a, ta, n), millis(b, tb, n));
    if scale != 1 {
        // Sub-second units: the difference in milliseconds, scaled; nothing finer to compare.
        let per_ms = (scale / 1000).max(1);
        return Col::I(Cow::Owned(
            ma.iter()
                .zip(mb.iter())
                .map(|(x, y)| y.wrapping_sub(*x).wrapping_mul(per_ms))
                .collect(),
        ));
    }
    let diff = date_diff(unit, a, ta, b, tb, n);
    let diffs = diff.i64s(n);
    // A time's place within its unit, as a tuple compared in order.
    let place = |ms: i64| -> [i64; 5] {
        let s = ms.div_euclid(1000);
        let sub = ms.rem_euclid(1000);
        let days = s.div_euclid(86_400);
        let within = s.rem_euclid(86_400);
        let (_, m, d) = time::civil_from_days(days);
        let (m, d) = (i64::from(m), i64::from(d));
        match unit {
            Unit::Second => [sub, 0, 0, 0, 0],
            Unit::Minute => [within % 60, sub, 0, 0, 0],
            Unit::Hour => [within % 3600, sub, 0, 0, 0],
            Unit::Day | Unit::Week => [within, sub, 0, 0, 0],
            Unit::Month => [d, within, sub, 0, 0],
            Unit::Quarter => [(m - 1) % 3, d, within, sub, 0],
            Unit::Year => [m, d, within, sub, 0],
        }
    };
    Col::I(Cow::Owned(
        ma.iter()
            .zip(mb.iter())
            .zip(diffs.iter())
            .map(|((x, y), d)| {
                let (early, late, adjust) = if x <= y { (x, y, -1) } else { (y, x, 1) };
                let later_first = if unit == Unit::Week {
                    week_adjusts(*x, *y, *early, *late)
                } else {
                    place(*early) > place(*late)
                };
                if later_first {
                    d + adjust
                } else {
                    *d
                }
            })
            .collect(),
    ))
}

/// Whether `age('week', x, y)` moves the weeks counted one toward zero, as ClickHouse decides
/// it (times in milliseconds, `early` and `late` the two in order): the start's day of the week
/// after the end's (in the order given, not in time order), or the earlier time's hour later
/// on the same day of the week, or, on the same hour whatever the day, its minute, second or
/// millisecond later.
fn week_adjusts(x: i64, y: i64, early: i64, late: i64) -> bool {
    let dow = |ms: i64| (ms.div_euclid(86_400_000) + 3).rem_euclid(7);
    let hms = |ms: i64| {
        let within = ms.rem_euclid(86_400_000);
        (within / 3_600_000, within % 3_600_000)
    };
    let ((ha, ra), (hb, rb)) = (hms(early), hms(late));
    dow(x) > dow(y) || (dow(x) == dow(y) && ha > hb) || (ha == hb && ra > rb)
}

/// The day `x` converts to as `toDate(x)` reads a number: an integer up to 65535 is a day
/// number, a larger one seconds since the epoch ([`time::date_from_number`]); a float up to
/// 65535 is a day number (truncated), a larger one seconds; NaN and infinities are refused.
pub fn date_of_float(x: f64) -> Result<i64> {
    if !x.is_finite() {
        return Err(Error::query("cannot convert inf or nan to Date"));
    }
    Ok(if x <= 0.0 {
        0
    } else if x <= 65_535.0 {
        x as i64
    } else {
        (x.min(time::DATETIME_MAX as f64) as i64) / 86_400
    })
}

/// `toDate` of a number column of type `ty`: its days, as [`date_of_float`] and
/// [`time::date_from_number`] read them.
pub(super) fn date_of_number<'a>(c: &Col<'a>, ty: &DataType, n: usize) -> Result<Col<'a>> {
    let days: Vec<i64> = match ty.base() {
        DataType::Float32 | DataType::Float64 => c
            .f64s(n)
            .iter()
            .map(|x| date_of_float(*x))
            .collect::<Result<_>>()?,
        DataType::UInt64 => c
            .u64s(n)
            .iter()
            .map(|x| time::date_from_number(i64::try_from(*x).unwrap_or(i64::MAX)))
            .collect(),
        _ => c
            .i64s(n)
            .iter()
            .map(|x| time::date_from_number(*x))
            .collect(),
    };
    Ok(to_repr(days, &DataType::Date))
}

#[cfg(test)]
mod tests {
    use super::super::super::Value;
    use super::*;
    use crate::store::ColumnData;
    use std::borrow::Cow;

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
    fn month_arithmetic_saturates_at_the_date_table_ends() {
        // chDB: toDate('2024-01-31') + INTERVAL 3311 MONTH and + INTERVAL 3312 MONTH are both
        // 2299-12-31 (printed wrapped as 2120-07-26); + INTERVAL 3299 MONTH is 2299-01-31
        // (printed 2119-07-27); - INTERVAL 1500 MONTH is 1970-01-01.
        let jan31 = time::days_from_civil(2024, 1, 31);
        assert_eq!(LUT_LAST_DAY, time::days_from_civil(2299, 12, 31));
        assert_eq!(add_months_lut(jan31, 3311), LUT_LAST_DAY);
        assert_eq!(add_months_lut(jan31, 3312), LUT_LAST_DAY);
        assert_eq!(add_months_lut(jan31, i64::MAX), LUT_LAST_DAY);
        assert_eq!(
            add_months_lut(jan31, 3299).rem_euclid(1 << 16),
            time::days_from_civil(2119, 7, 27)
        );
        assert!(add_months_lut(jan31, -1500) < 0);
        assert!(add_months_lut(jan31, i64::MIN) < 0);
    }

    #[test]
    fn date_day_buckets_past_2106_saturate() {
        // chDB: toStartOfInterval(toDate('2149-06-06'), INTERVAL 7 DAY) is 2106-02-07 06:28:15,
        // toStartOfInterval(toDate('2106-02-08'), INTERVAL 7 DAY) is 2106-02-04 00:00:00.
        let c = Col::I(Cow::Owned(vec![
            time::days_from_civil(2149, 6, 6),
            time::days_from_civil(2106, 2, 8),
        ]));
        let got = truncate(Trunc::Days(7), &c, &DataType::Date, 2);
        assert_eq!(
            &*got.u64s(2),
            &[
                time::DATETIME_MAX as u64,
                time::days_from_civil(2106, 2, 4) as u64 * 86_400
            ]
        );
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
