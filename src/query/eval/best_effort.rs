//! `parseDateTimeBestEffort` and its `OrNull`/`OrZero`/`DateTime64` forms: a time read from
//! text in any of the forms ClickHouse's best-effort parser takes (ISO 8601 with `T`, a
//! fraction and an offset, RFC 1123 / RFC 2822 with names of days and months, `DD/MM/YYYY`,
//! `YYYYMMDD`, `YYYYMMDDhhmmss`, unix timestamps of 9, 10 or 13 digits, `AM`/`PM`, …), with its
//! rules for what is ambiguous or missing, in UTC.

use super::super::column::{from_values, Col};
use super::super::types::DataType;
use super::super::Value;
use crate::error::{Error, Result};
use crate::time;
use std::collections::HashMap;

/// What a best-effort parse gives for text it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Fails the query (`parseDateTimeBestEffort`).
    Throw,
    /// `NULL` (`…OrNull`).
    Null,
    /// The zero time, 1970-01-01 00:00:00 (`…OrZero`).
    Zero,
}

/// A time read from text: whole seconds since 1970 (before the result type's range is
/// applied) and the fraction's digits as written (at most 18 of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// Seconds since 1970-01-01 00:00:00 UTC.
    pub secs: i64,
    /// The fraction of a second, as an integer of `digits` decimal digits.
    pub fraction: i64,
    /// How many digits `fraction` has.
    pub digits: u32,
}

/// A cursor over the text's bytes.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn eof(&self) -> bool {
        self.i >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips `c` if it is next.
    fn check(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Up to `max` ASCII digits.
    fn digits(&mut self, max: usize) -> &[u8] {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or(&[])
    }

    /// Up to `max` ASCII letters.
    fn alpha(&mut self, max: usize) -> &[u8] {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        self.b.get(start..self.i).unwrap_or(&[])
    }
}

/// The number `d` (ASCII digits) writes.
fn num(d: &[u8]) -> i64 {
    d.iter()
        .fold(0i64, |acc, c| acc.wrapping_mul(10) + i64::from(c - b'0'))
}

/// The month a word's first three letters name.
fn month_of(word: &[u8]) -> Option<u8> {
    const MONTHS: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let head = word.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(head))
        .map(|i| i as u8 + 1)
}

/// Whether a word longer than three letters is a full name of a month or a day of the week.
fn full_name(word: &[u8]) -> bool {
    const NAMES: [&[u8]; 18] = [
        b"january",
        b"february",
        b"march",
        b"april",
        b"june",
        b"july",
        b"august",
        b"september",
        b"october",
        b"november",
        b"december",
        b"monday",
        b"tuesday",
        b"wednesday",
        b"thursday",
        b"friday",
        b"saturday",
        b"sunday",
    ];
    NAMES.iter().any(|n| n.eq_ignore_ascii_case(word))
}

/// One or two digits read as a number, else `None`.
fn small(d: &[u8]) -> Option<u8> {
    matches!(d.len(), 1 | 2).then(|| num(d) as u8)
}

/// Reads `text` as ClickHouse's `parseDateTimeBestEffort` does (`parseDateTimeBestEffortUS`
/// with `us`: `MM/DD/YYYY` before `DD/MM/YYYY`; with `fraction`, as the
/// `DateTime64` form does, which keeps a fraction of a second and 13-digit timestamps' last
/// three digits), in UTC; `today` (days since 1970) completes a date written without a year.
/// `Err` where ClickHouse raises `CANNOT_PARSE_DATETIME` ([`Failure::Invalid`]) or leaves
/// text unread (`CANNOT_PARSE_TEXT`, [`Failure::Unread`]).
pub fn parse(
    text: &str,
    today: i64,
    fraction: bool,
    us: bool,
) -> std::result::Result<Parsed, Failure> {
    match read(text, today, fraction, us) {
        Some((p, true)) => Ok(p),
        Some((_, false)) => Err(Failure::Unread),
        None => Err(Failure::Invalid),
    }
}

/// Why text does not read as a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It is not a time ClickHouse reads.
    Invalid,
    /// A time is read, but text follows it.
    Unread,
}

/// [`parse`]: the time read, and whether the whole text was read.
fn read(text: &str, today: i64, fraction: bool, us: bool) -> Option<(Parsed, bool)> {
    let mut c = Cur {
        b: text.as_bytes(),
        i: 0,
    };
    let (mut year, mut month, mut day) = (0i64, 0u8, 0u8);
    let (mut hour, mut minute, mut second) = (0u8, 0u8, 0u8);
    let mut has_time = false;
    let mut has_fraction = false;
    let mut frac = (0i64, 0u32);
    let mut has_offset = false;
    let mut offset_negative = false;
    let (mut offset_hour, mut offset_minute) = (0i64, 0i64);
    let (mut am, mut pm) = (false, false);
    let mut comma_between = false;

    while !c.eof() {
        if ((year != 0 && !has_time) || (year == 0 && has_time)) && c.check(b',') {
            comma_between = true;
            if c.eof() {
                break;
            }
        }
        let mut n = 0usize;
        if year == 0 || !has_time {
            let d = c.digits(19).to_vec();
            n = d.len();
            if n == 13 && year == 0 && !has_time {
                let res = num(&d[..10]);
                if fraction {
                    frac = (num(&d[10..]), 3);
                }
                return finish(&c, res, frac);
            }
            if (n == 10 || n == 9) && year == 0 && !has_time {
                let res = num(&d);
                if fraction && c.check(b'.') {
                    let f = c.digits(19);
                    let k = f.len().min(18);
                    frac = (num(&f[..k]), k as u32);
                }
                return finish(&c, res, frac);
            }
            if n == 14 && year == 0 && !has_time {
                year = num(&d[..4]);
                month = num(&d[4..6]) as u8;
                day = num(&d[6..8]) as u8;
                hour = num(&d[8..10]) as u8;
                minute = num(&d[10..12]) as u8;
                second = num(&d[12..14]) as u8;
                has_time = true;
            } else if n == 8 && year == 0 {
                year = num(&d[..4]);
                month = num(&d[4..6]) as u8;
                day = num(&d[6..8]) as u8;
            } else if n == 6 {
                if year == 0 && month == 0 {
                    year = num(&d[..4]);
                    month = num(&d[4..6]) as u8;
                } else if !has_time {
                    hour = num(&d[..2]) as u8;
                    minute = num(&d[2..4]) as u8;
                    second = num(&d[4..6]) as u8;
                    has_time = true;
                } else {
                    return None;
                }
            } else if n == 4 && year == 0 {
                year = num(&d);
                if let Some(delim) = c.peek() {
                    if delim < 0x20 || matches!(delim, b',' | b';' | b'\'' | b'"') {
                        break;
                    }
                    if month != 0 {
                        continue;
                    }
                    c.i += 1;
                    let m = c.digits(19);
                    n = m.len();
                    match small(m) {
                        Some(v) => month = v,
                        None if delim == b' ' => continue,
                        None => return None,
                    }
                    if day == 0 && c.check(delim) {
                        let dd = c.digits(19);
                        n = dd.len();
                        match small(dd) {
                            Some(v) => day = v,
                            None if delim == b' ' => continue,
                            None => return None,
                        }
                    }
                }
            } else if n == 2 || n == 1 {
                let v = num(&d) as u8;
                if c.check(b':') {
                    if has_time {
                        return None;
                    }
                    hour = v;
                    has_time = true;
                    let m = c.digits(19);
                    n = m.len();
                    minute = small(m)?;
                    if c.check(b':') {
                        let s = c.digits(19);
                        n = s.len();
                        second = small(s)?;
                    }
                } else if c.check(b',') {
                    if month != 0 && day == 0 {
                        day = v;
                    }
                } else if c.check(b'/') || c.check(b'.') || c.check(b'-') {
                    if day != 0 || month != 0 {
                        return None;
                    }
                    if us {
                        // `parseDateTimeBestEffortUS`: the month comes first.
                        month = v;
                        let d = c.digits(19);
                        n = d.len();
                        day = small(d)?;
                    } else {
                        day = v;
                        let m = c.digits(19);
                        n = m.len();
                        if let Some(v) = small(m) {
                            month = v;
                        } else if n == 0 {
                            let word = c.alpha(9);
                            if word.len() < 3 {
                                return None;
                            }
                            month = month_of(word)?;
                            let long = word.len() > 3 && !full_name(word);
                            if c.peek().is_some_and(|x| x.is_ascii_alphabetic()) || long {
                                return None;
                            }
                        } else {
                            return None;
                        }
                    }
                    if month > 12 {
                        std::mem::swap(&mut month, &mut day);
                    }
                    if c.check(b'/') || c.check(b'.') || c.check(b'-') {
                        if year != 0 {
                            return None;
                        }
                        let y = c.digits(19);
                        n = y.len();
                        year = match n {
                            4 => num(y),
                            2 if num(y) >= 70 => 1900 + num(y),
                            2 => 2000 + num(y),
                            _ => return None,
                        };
                    }
                } else if day != 0 {
                    hour = v;
                } else {
                    day = v;
                }
            } else if n != 0 {
                return None;
            }
        }
        if n == 0 {
            let Some(ch) = c.peek() else { break };
            if ch == b' ' || (ch == b'T' && year != 0 && !has_time) {
                c.i += 1;
            } else if ch == b'Z' {
                c.i += 1;
                has_offset = true;
            } else if ch == b'.' {
                if !has_time || has_fraction {
                    return None;
                }
                has_fraction = true;
                c.i += 1;
                let f = c.digits(19);
                if fraction {
                    let k = f.len().min(18);
                    frac = (num(&f[..k]), k as u32);
                }
            } else if ch == b'+' || ch == b'-' {
                c.i += 1;
                let d = c.digits(19).to_vec();
                if d.len() == 6 && !has_time && year != 0 && month != 0 && day != 0 {
                    hour = num(&d[..2]) as u8;
                    minute = num(&d[2..4]) as u8;
                    second = num(&d[4..]) as u8;
                    has_time = true;
                } else {
                    has_offset = true;
                    if ch == b'-' {
                        offset_negative = true;
                    }
                    match d.len() {
                        4 => (offset_hour, offset_minute) = (num(&d[..2]), num(&d[2..])),
                        3 => (offset_hour, offset_minute) = (num(&d[..1]), num(&d[1..])),
                        1 | 2 => offset_hour = num(&d),
                        _ => return None,
                    }
                    if d.len() < 3 && c.check(b':') {
                        offset_minute = i64::from(small(c.digits(19))?);
                    }
                }
            } else {
                let word = c.alpha(3).to_vec();
                match word.len() {
                    0 => break,
                    1 => return None,
                    2 => match word.to_ascii_lowercase().as_slice() {
                        b"am" => am = true,
                        b"pm" => pm = true,
                        _ => return None,
                    },
                    _ => {
                        let lower = word.to_ascii_lowercase();
                        let mut weekday = false;
                        if let Some(m) = month_of(&word) {
                            month = m;
                        } else {
                            match lower.as_slice() {
                                b"utc" | b"gmt" => has_offset = true,
                                b"msk" => {
                                    has_offset = true;
                                    offset_hour = 3;
                                }
                                b"msd" => {
                                    has_offset = true;
                                    offset_hour = 4;
                                }
                                b"mon" | b"tue" | b"wed" | b"thu" | b"fri" | b"sat" | b"sun" => {
                                    weekday = true
                                }
                                _ => return None,
                            }
                        }
                        let rest = c.alpha(7).to_vec();
                        if c.peek().is_some_and(|x| x.is_ascii_alphabetic()) {
                            return None;
                        }
                        if !rest.is_empty() && !full_name(&[word, rest].concat()) {
                            return None;
                        }
                        if weekday {
                            c.check(b',');
                        }
                    }
                }
            }
        }
    }

    if comma_between && (!has_time || year == 0 || month == 0 || day == 0) {
        return None;
    }
    if year == 0 && month == 0 && day == 0 && !has_time {
        return None;
    }
    if day == 0 {
        day = 1;
    }
    if month == 0 {
        month = 1;
    }
    if year == 0 {
        // The current year, or the one before when the day is still to come this year.
        let (this, _, _) = time::civil_from_days(today);
        let day_this_year = calendar_day(this, month, day);
        year = if day_this_year <= today {
            this
        } else {
            this - 1
        };
    }
    let leap = (year % 400 == 0) || (year % 100 != 0 && year % 4 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 0,
    };
    if day < 1 || day > days_in_month {
        return None;
    }
    if am && hour == 12 {
        hour = 0;
    }
    if pm && hour < 12 {
        hour += 12;
    }
    let mut res = calendar_day(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    if has_offset {
        let shift = offset_hour * 3600 + offset_minute * 60;
        res += if offset_negative { shift } else { -shift };
    }
    finish(&c, res, frac)
}

/// The day number of a date (any year: ClickHouse's calendar goes past 1900 … 2299 here).
fn calendar_day(year: i64, month: u8, day: u8) -> i64 {
    time::days_from_civil(year, u32::from(month), u32::from(day))
}

/// The parse, and whether every byte of the text was read.
fn finish(c: &Cur<'_>, secs: i64, (fraction, digits): (i64, u32)) -> Option<(Parsed, bool)> {
    let p = Parsed {
        secs,
        fraction,
        digits,
    };
    Some((p, c.eof()))
}

/// The value of a parse as `ty` (`DateTime`: seconds held to 0 … 2^32 - 1; `DateTime64(3)`:
/// milliseconds, the fraction cut to three digits).
pub fn value_of(p: Parsed, ty: &DataType) -> Value {
    if *ty.base() == DataType::DateTime64 {
        let ms = if p.digits >= 3 {
            p.fraction / 10i64.pow(p.digits - 3)
        } else {
            p.fraction * 10i64.pow(3 - p.digits)
        };
        Value::DateTime64(p.secs.saturating_mul(1000).saturating_add(ms))
    } else {
        Value::DateTime(p.secs.clamp(0, time::DATETIME_MAX))
    }
}

/// Runs a best-effort parse over a column of text, once per distinct string.
pub(super) fn call<'a>(
    on_error: OnError,
    us: bool,
    today: i64,
    c: &Col<'a>,
    ty: &DataType,
    n: usize,
) -> Result<Col<'a>> {
    let fraction = *ty.base() == DataType::DateTime64;
    let zero = match ty.base() {
        DataType::DateTime64 => Value::DateTime64(0),
        _ => Value::DateTime(0),
    };
    let one = |s: &str| -> Result<Value> {
        match parse(s, today, fraction, us) {
            Ok(p) => Ok(value_of(p, ty)),
            Err(why) => match on_error {
                OnError::Throw if why == Failure::Unread => Err(Error::query(format!(
                    "cannot parse string '{s}' as {}: text follows the time (CANNOT_PARSE_TEXT)",
                    ty.base()
                ))),
                OnError::Throw => Err(Error::query(format!(
                    "cannot parse {} from string '{s}' (CANNOT_PARSE_DATETIME)",
                    ty.base()
                ))),
                OnError::Null => Ok(Value::Null),
                OnError::Zero => Ok(zero.clone()),
            },
        }
    };
    if let Col::Const(v) = c {
        return match v {
            Value::Null => Ok(Col::Const(Value::Null)),
            v => Ok(Col::Const(one(&super::super::column::value_str(v))?)),
        };
    }
    let nulls = c.nulls(n).map(|m| m.into_owned());
    let s = c.values().strs(n);
    let mut seen: HashMap<u32, Value> = HashMap::new();
    let mut out = Vec::with_capacity(n);
    for (i, code) in s.codes.iter().enumerate() {
        if nulls
            .as_ref()
            .is_some_and(|m| m.get(i).copied().unwrap_or(false))
        {
            out.push(Value::Null);
            continue;
        }
        let v = match seen.get(code) {
            Some(v) => v.clone(),
            None => {
                let v = one(s.dict.str(*code))?;
                seen.insert(*code, v.clone());
                v
            }
        };
        out.push(v);
    }
    Ok(from_values(out, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds of a UTC time written `YYYY-MM-DD hh:mm:ss`.
    fn at(s: &str) -> i64 {
        time::parse_timestamp_ms(s).unwrap() / 1000
    }

    fn secs(s: &str) -> Option<i64> {
        parse(s, 20_000, false, false).ok().map(|p| p.secs)
    }

    #[test]
    fn forms_clickhouse_reads() {
        // Expected values as chDB gives them.
        assert_eq!(
            secs("2020-01-02T03:04:05+01:00"),
            Some(at("2020-01-02 02:04:05"))
        );
        assert_eq!(secs("2020-01-02"), Some(at("2020-01-02 00:00:00")));
        assert_eq!(secs("1700000000"), Some(1_700_000_000));
        assert_eq!(
            secs("Sat, 18 Aug 2018 07:22:16 GMT"),
            Some(at("2018-08-18 07:22:16"))
        );
        assert_eq!(secs("12/05/2021 10:00 PM"), Some(at("2021-05-12 22:00:00")));
        assert_eq!(secs("20200102030405"), Some(at("2020-01-02 03:04:05")));
        assert_eq!(parse("2020-01-02 !", 0, false, false), Err(Failure::Unread));
        assert_eq!(parse("2020-02-30", 0, false, false), Err(Failure::Invalid));
        assert_eq!(secs(""), None);
        assert_eq!(secs("2020-02-30"), None);
        let p = parse("2020-01-02 03:04:05.1234Z", 0, true, false).unwrap();
        let us = parse("12/05/2021", 0, false, true).unwrap();
        assert_eq!(us.secs, at("2021-12-05 00:00:00"));
        assert_eq!(
            value_of(p, &DataType::DateTime64),
            Value::DateTime64(at("2020-01-02 03:04:05") * 1000 + 123)
        );
    }
}
