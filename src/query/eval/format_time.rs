//! `formatDateTime` (alias `DATE_FORMAT`): a date or time as text by a MySQL-style format, as
//! ClickHouse writes it (times in UTC, month names in English, `%M` the month's name).

use super::super::column::{Col, Dict, Strs};
use super::super::types::DataType;
use super::super::Value;
use crate::error::{Error, Result};
use crate::store::Dictionary;
use crate::time::{civil_from_days, days_from_civil};
use std::borrow::Cow;
use std::rc::Rc;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One part of a format: text as it is, or a `%` specifier's letter.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Spec(u8),
}

/// A parsed `formatDateTime` format.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeFormat {
    pieces: Vec<Piece>,
}

impl TimeFormat {
    /// Reads `format` for values of type `ty` (a date has no time zone, so no `%z`); the
    /// specifiers ClickHouse refuses are refused with its reason.
    pub fn parse(format: &str, ty: &DataType) -> Result<TimeFormat> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let Some(s) = chars.next() else {
                return Err(Error::query(
                    "'%' must not be the last character in the format string of \
                     formatDateTime, use '%%' instead",
                ));
            };
            match s {
                '%' => text.push('%'),
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'z' if *ty.base() == DataType::Date => {
                    return Err(Error::query(
                        "formatDateTime: '%z' (the time zone offset) needs a time, not a Date",
                    ))
                }
                'a' | 'b' | 'c' | 'C' | 'd' | 'D' | 'e' | 'f' | 'F' | 'g' | 'G' | 'h' | 'H'
                | 'i' | 'I' | 'j' | 'k' | 'l' | 'm' | 'M' | 'p' | 'Q' | 'r' | 'R' | 's' | 'S'
                | 'T' | 'u' | 'V' | 'w' | 'W' | 'y' | 'Y' | 'z' => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Spec(s as u8));
                }
                'U' | 'v' | 'x' | 'X' => {
                    return Err(Error::query(format!(
                        "formatDateTime: format '%{s}' is not supported (by ClickHouse either)"
                    )))
                }
                _ => {
                    return Err(Error::query(format!(
                        "incorrect syntax '%{s}', symbol is not supported for formatDateTime"
                    )))
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(TimeFormat { pieces })
    }

    /// Writes the time `secs` seconds and `micros` microseconds after the epoch.
    pub fn write(&self, secs: i64, micros: i64, out: &mut String) {
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let (hh, mi, ss) = (tod / 3600, tod / 60 % 60, tod % 60);
        let h12 = if hh % 12 == 0 { 12 } else { hh % 12 };
        // Sunday is 0; 1970-01-01 was a Thursday.
        let w = (days + 4).rem_euclid(7);
        let u = if w == 0 { 7 } else { w };
        let yday = days - days_from_civil(y, 1, 1) + 1;
        let two = |out: &mut String, v: i64| push_padded(out, v, 2);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Spec(s) => match s {
                    b'a' => out.push_str(&WEEKDAYS[w as usize][..3]),
                    b'b' => out.push_str(&MONTHS[m as usize - 1][..3]),
                    b'c' | b'm' => two(out, i64::from(m)),
                    b'C' => two(out, y.div_euclid(100)),
                    b'd' => two(out, i64::from(d)),
                    b'D' => {
                        two(out, i64::from(m));
                        out.push('/');
                        two(out, i64::from(d));
                        out.push('/');
                        two(out, y.rem_euclid(100));
                    }
                    b'e' => push_padded(out, i64::from(d), 1),
                    b'f' => push_padded(out, micros, 6),
                    b'F' => {
                        push_padded(out, y, 4);
                        out.push('-');
                        two(out, i64::from(m));
                        out.push('-');
                        two(out, i64::from(d));
                    }
                    b'g' => two(out, iso_week(days, u).0.rem_euclid(100)),
                    b'G' => push_padded(out, iso_week(days, u).0, 4),
                    b'h' | b'I' | b'l' => two(out, h12),
                    b'H' | b'k' => two(out, hh),
                    b'i' => two(out, mi),
                    b'j' => push_padded(out, yday, 3),
                    b'M' => out.push_str(MONTHS[m as usize - 1]),
                    b'p' => out.push_str(if hh < 12 { "AM" } else { "PM" }),
                    b'Q' => push_padded(out, i64::from((m - 1) / 3 + 1), 1),
                    b'r' => {
                        two(out, h12);
                        out.push(':');
                        two(out, mi);
                        out.push_str(if hh < 12 { " AM" } else { " PM" });
                    }
                    b'R' => {
                        two(out, hh);
                        out.push(':');
                        two(out, mi);
                    }
                    b's' | b'S' => two(out, ss),
                    b'T' => {
                        two(out, hh);
                        out.push(':');
                        two(out, mi);
                        out.push(':');
                        two(out, ss);
                    }
                    b'u' => push_padded(out, u, 1),
                    b'V' => two(out, iso_week(days, u).1),
                    b'w' => push_padded(out, w, 1),
                    b'W' => out.push_str(WEEKDAYS[w as usize]),
                    b'y' => two(out, y.rem_euclid(100)),
                    b'Y' => push_padded(out, y, 4),
                    // Times are in UTC.
                    b'z' => out.push_str("+0000"),
                    _ => {}
                },
            }
        }
    }

    /// `formatDateTime` of column `c` of type `ty` over `n` rows: a string column.
    pub fn column<'a>(&self, c: &Col<'a>, ty: &DataType, n: usize) -> Col<'a> {
        let text = |v: i64| {
            let (secs, micros) = match ty.base() {
                DataType::Date => (v.saturating_mul(86_400), 0),
                DataType::DateTime64 => (v.div_euclid(1000), v.rem_euclid(1000) * 1000),
                _ => (v, 0),
            };
            let mut s = String::new();
            self.write(secs, micros, &mut s);
            s
        };
        if let Col::Const(v) = c {
            return Col::Const(match v {
                Value::Null => Value::Null,
                v => Value::Str(text(const_time(v))),
            });
        }
        let values = c.i64s(n);
        let mut d = Dictionary::new();
        let mut last: Option<(i64, u32)> = None;
        let codes = values
            .iter()
            .map(|&v| match last {
                Some((p, code)) if p == v => code,
                _ => {
                    let code = d.intern(&text(v));
                    last = Some((v, code));
                    code
                }
            })
            .collect();
        Col::S(Strs {
            codes: Cow::Owned(codes),
            dict: Dict::Own(Rc::new(d)),
        })
    }
}

/// The stored integer of a constant date or time.
fn const_time(v: &Value) -> i64 {
    match v {
        Value::Date(x) | Value::DateTime(x) | Value::DateTime64(x) | Value::Int(x) => *x,
        Value::UInt(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        _ => 0,
    }
}

/// `v` in decimal with at least `width` digits (a sign before them).
fn push_padded(out: &mut String, v: i64, width: usize) {
    use std::fmt::Write;
    if v < 0 {
        let _ = write!(out, "-{:0width$}", v.unsigned_abs());
    } else {
        let _ = write!(out, "{v:0width$}");
    }
}

/// The ISO 8601 year and week of the day `days` after the epoch, whose weekday is `u`
/// (Monday 1 to Sunday 7): the week is the year's whose Thursday it holds.
fn iso_week(days: i64, u: i64) -> (i64, i64) {
    let thursday = days - (u - 1) + 3;
    let (y, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
    (y, week)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(f: &str, secs: i64) -> String {
        let mut s = String::new();
        TimeFormat::parse(f, &DataType::DateTime)
            .expect("format")
            .write(secs, 0, &mut s);
        s
    }

    // Expected values from chDB (ClickHouse 26.9).
    #[test]
    fn writes_as_clickhouse() {
        // 2024-01-07 15:06:07 UTC, a Sunday.
        let t = 1_704_639_967;
        assert_eq!(
            fmt("%a %b %c %C %d %D %e", t),
            "Sun Jan 01 20 07 01/07/24 7"
        );
        assert_eq!(
            fmt("%F %g %G %h %H %i %I %j %k %l", t),
            "2024-01-07 24 2024 03 15 06 03 007 15 03"
        );
        assert_eq!(
            fmt("%m %M %p %Q %r %R %s %S %T", t),
            "01 January PM 1 03:06 PM 15:06 07 07 15:06:07"
        );
        assert_eq!(
            fmt("%u %V %w %W %y %Y %z %% %n%t|", t),
            "7 01 0 Sunday 24 2024 +0000 % \n\t|"
        );
        // 2024-12-30 (Monday) is in ISO week 1 of 2025; 2021-01-03 (Sunday) in week 53 of 2020.
        let d = |y, m, dd| days_from_civil(y, m, dd) * 86_400;
        assert_eq!(fmt("%V %G %g %u %j", d(2024, 12, 30)), "01 2025 25 1 365");
        assert_eq!(fmt("%V %G %g %u", d(2021, 1, 3)), "53 2020 20 7");
        assert_eq!(fmt("%F %j %V %G", d(1950, 3, 4)), "1950-03-04 063 09 1950");
        assert_eq!(fmt("%r %R", d(2024, 12, 30)), "12:00 AM 00:00");
    }

    #[test]
    fn refuses_what_clickhouse_refuses() {
        for f in ["abc %", "%A", "%U", "%x", "%q"] {
            assert!(TimeFormat::parse(f, &DataType::DateTime).is_err(), "{f}");
        }
        assert!(TimeFormat::parse("%z", &DataType::Date).is_err());
        assert!(TimeFormat::parse("", &DataType::Date).is_ok());
    }
}
