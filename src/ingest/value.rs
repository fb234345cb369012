//! Conversion of a found JSON value into a typed cell, following ClickHouse's JSONEachRow rules
//! with the documented departures (no wrapping of out-of-range integers, no missing time).

use super::json::{unescape_into, Found, Kind};
use crate::schema::ColumnType;
use crate::store::Cell;
use crate::time::{self, DATETIME_MAX};

/// Smallest millisecond value a `DateTime64(3)` column accepts: 1900-01-01 00:00:00.
const DT64_MIN_MS: i64 = -2_208_988_800_000;
/// Largest millisecond value a `DateTime64(3)` column accepts: 2299-12-31 23:59:59.999.
const DT64_MAX_MS: i64 = 10_413_791_999_999;

/// Why a value was rejected.
pub enum Reject {
    /// The text does not read as the column's type.
    NotType,
    /// An integer or time outside the column's range.
    OutOfRange,
    /// A fraction written into an integer column.
    Fraction,
    /// A negative number written into an unsigned column.
    Negative,
    /// The datasource's time column is missing or null.
    MissingTime,
    /// The key appears twice in its object.
    Duplicate,
    /// An array holds more than the store has room for.
    TooLarge,
}

/// Converts the value found for a column of type `ty` (or its absence) into a [`Cell`].
///
/// Strings are appended to `text` (the row's scratch text); `unescape` is a reusable buffer.
pub fn convert(
    ty: ColumnType,
    found: Option<Found>,
    line: &[u8],
    required_time: bool,
    text: &mut String,
    unescape: &mut Vec<u8>,
) -> Result<Cell, Reject> {
    let f = match found {
        Some(f) if f.duplicate => return Err(Reject::Duplicate),
        Some(f) if f.kind != Kind::Null => f,
        _ => {
            if required_time {
                return Err(Reject::MissingTime);
            }
            return Ok(default_cell(ty, text));
        }
    };
    if f.kind == Kind::Num && f.decimals != u8::MAX {
        if let Some(cell) = plain_number(ty, f, line) {
            return cell;
        }
    }
    let raw = &line[f.start as usize..f.end as usize];
    // String content with escapes decoded; raw JSON text for other kinds.
    let content: &[u8] = if f.kind == Kind::Str && f.escaped {
        unescape.clear();
        if unescape_into(raw, unescape).is_err() {
            return Err(Reject::NotType);
        }
        unescape
    } else {
        raw
    };
    match ty {
        ColumnType::String | ColumnType::LowCardinalityString => {
            let start = text.len() as u32;
            let s = std::str::from_utf8(content).map_err(|_| Reject::NotType)?;
            text.push_str(s);
            Ok(Cell::Str(start, s.len() as u32))
        }
        ColumnType::UInt8 => unsigned(f.kind, content, u64::from(u8::MAX)),
        ColumnType::UInt16 => unsigned(f.kind, content, u64::from(u16::MAX)),
        ColumnType::UInt32 => unsigned(f.kind, content, u64::from(u32::MAX)),
        ColumnType::UInt64 => unsigned(f.kind, content, u64::MAX),
        ColumnType::Int8 => signed(f.kind, content, i64::from(i8::MIN), i64::from(i8::MAX)),
        ColumnType::Int16 => signed(f.kind, content, i64::from(i16::MIN), i64::from(i16::MAX)),
        ColumnType::Int32 => signed(f.kind, content, i64::from(i32::MIN), i64::from(i32::MAX)),
        ColumnType::Int64 => signed(f.kind, content, i64::MIN, i64::MAX),
        ColumnType::Float32 => float32(f.kind, content).map(Cell::F32),
        ColumnType::Float64 => float(f.kind, content).map(Cell::F64),
        ColumnType::Bool => match (f.kind, content) {
            (Kind::True, _) | (Kind::Num | Kind::Str, b"1") | (Kind::Str, b"true") => {
                Ok(Cell::U(1))
            }
            (Kind::False, _) | (Kind::Num | Kind::Str, b"0") | (Kind::Str, b"false") => {
                Ok(Cell::U(0))
            }
            _ => Err(Reject::NotType),
        },
        ColumnType::DateTime => {
            let secs = match f.kind {
                // ClickHouse reads times from the raw text: escapes make it unreadable.
                Kind::Str if !f.escaped => time::parse_timestamp_bytes(content)
                    .ok_or(Reject::NotType)?
                    .div_euclid(1000),
                Kind::Num => number_seconds(content)?,
                _ => return Err(Reject::NotType),
            };
            if !(0..=DATETIME_MAX).contains(&secs) {
                return Err(Reject::OutOfRange);
            }
            Ok(Cell::U(secs as u64))
        }
        ColumnType::Date => {
            let days = match f.kind {
                // A day number, or the text of a date (not of a time, which ClickHouse refuses).
                Kind::Str if !f.escaped => {
                    time::parse_date_bytes(content).ok_or(Reject::NotType)?
                }
                Kind::Num => match unsigned(f.kind, content, u64::from(u16::MAX))? {
                    Cell::U(d) => d as i64,
                    _ => return Err(Reject::NotType),
                },
                _ => return Err(Reject::NotType),
            };
            // ClickHouse saturates dates outside 1970-01-01 … 2149-06-06; they are refused here.
            if !(0..=i64::from(u16::MAX)).contains(&days) {
                return Err(Reject::OutOfRange);
            }
            Ok(Cell::U(days as u64))
        }
        ColumnType::DateTime64 => {
            let ms = match f.kind {
                Kind::Str if !f.escaped => {
                    time::parse_timestamp_bytes(content).ok_or(Reject::NotType)?
                }
                Kind::Num => number_millis(content)?,
                _ => return Err(Reject::NotType),
            };
            if !(DT64_MIN_MS..=DT64_MAX_MS).contains(&ms) {
                return Err(Reject::OutOfRange);
            }
            Ok(Cell::I(ms))
        }
        // Read by `super::values`, never as a cell.
        ColumnType::Values => Err(Reject::NotType),
    }
}

/// Numbers the scanner already read as a mantissa and a count of decimals (no exponent, at most
/// 19 digits) into the common numeric columns.
#[inline]
fn plain_number(ty: ColumnType, f: Found, line: &[u8]) -> Option<Result<Cell, Reject>> {
    let neg = line.get(f.start as usize) == Some(&b'-');
    let (m, dec) = (f.mantissa, usize::from(f.decimals));
    let max = match ty {
        ColumnType::UInt8 => u64::from(u8::MAX),
        ColumnType::UInt16 => u64::from(u16::MAX),
        ColumnType::UInt32 => u64::from(u32::MAX),
        ColumnType::UInt64 => u64::MAX,
        ColumnType::Float32 if m <= 1 << 24 && dec <= 10 => {
            let x = m as f32 / POW10_F32[dec];
            return Some(Ok(Cell::F32(if neg { -x } else { x })));
        }
        ColumnType::Float64 if m <= 1 << 53 && dec <= 22 => {
            let x = m as f64 / POW10_F64[dec];
            return Some(Ok(Cell::F64(if neg { -x } else { x })));
        }
        _ => return None,
    };
    if neg || dec != 0 {
        return None;
    }
    Some(if m <= max {
        Ok(Cell::U(m))
    } else {
        Err(Reject::OutOfRange)
    })
}

fn default_cell(ty: ColumnType, text: &str) -> Cell {
    match ty {
        ColumnType::String | ColumnType::LowCardinalityString => Cell::Str(text.len() as u32, 0),
        ColumnType::Float32 => Cell::F32(0.0),
        ColumnType::Float64 => Cell::F64(0.0),
        ColumnType::Int8
        | ColumnType::Int16
        | ColumnType::Int32
        | ColumnType::Int64
        | ColumnType::DateTime64 => Cell::I(0),
        _ => Cell::U(0),
    }
}

/// Splits an integer literal into (negative, digits); rejects fractions and exponents.
fn integer_digits(kind: Kind, s: &[u8]) -> Result<(bool, &[u8]), Reject> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') if kind == Kind::Str => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        let numeric = digits
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
        if kind == Kind::Num || (numeric && !digits.is_empty() && digits[0].is_ascii_digit()) {
            return Err(Reject::Fraction);
        }
        return Err(Reject::NotType);
    }
    Ok((neg, digits))
}

fn accumulate(digits: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for (k, &d) in digits.iter().enumerate() {
        let d = u64::from(d - b'0');
        // Nineteen digits always fit; past that, check (without 128-bit multiplication).
        if k >= 19 && v > (u64::MAX - d) / 10 {
            return None;
        }
        v = v * 10 + d;
    }
    Some(v)
}

fn unsigned(kind: Kind, s: &[u8], max: u64) -> Result<Cell, Reject> {
    match (kind, s) {
        (Kind::True, _) | (Kind::Str, b"true") => return Ok(Cell::U(1)),
        (Kind::False, _) | (Kind::Str, b"false") | (Kind::Str, b"") => return Ok(Cell::U(0)),
        (Kind::Num | Kind::Str, _) => {}
        _ => return Err(Reject::NotType),
    }
    let (neg, digits) = integer_digits(kind, s)?;
    let v = accumulate(digits).ok_or(Reject::OutOfRange)?;
    if neg {
        // ClickHouse refuses any '-' for an unsigned column, "-0" included.
        return Err(Reject::Negative);
    }
    if v > max {
        return Err(Reject::OutOfRange);
    }
    Ok(Cell::U(v))
}

fn signed(kind: Kind, s: &[u8], min: i64, max: i64) -> Result<Cell, Reject> {
    match (kind, s) {
        (Kind::True, _) | (Kind::Str, b"true") => return Ok(Cell::I(1)),
        (Kind::False, _) | (Kind::Str, b"false") | (Kind::Str, b"") => return Ok(Cell::I(0)),
        (Kind::Num | Kind::Str, _) => {}
        _ => return Err(Reject::NotType),
    }
    let (neg, digits) = integer_digits(kind, s)?;
    let v = accumulate(digits).ok_or(Reject::OutOfRange)?;
    let v = if neg {
        if v > i64::MAX as u64 + 1 {
            return Err(Reject::OutOfRange);
        }
        (v as i64).wrapping_neg()
    } else {
        i64::try_from(v).map_err(|_| Reject::OutOfRange)?
    };
    if v < min || v > max {
        return Err(Reject::OutOfRange);
    }
    Ok(Cell::I(v))
}

/// Text ClickHouse reads as a float: a decimal literal, or inf/infinity/nan with optional sign.
fn float_text_ok(s: &[u8]) -> bool {
    let body = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    if body.is_empty() {
        return false;
    }
    if body.eq_ignore_ascii_case(b"inf")
        || body.eq_ignore_ascii_case(b"infinity")
        || body.eq_ignore_ascii_case(b"nan")
    {
        return true;
    }
    let mut seen_digit = false;
    let mut i = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        i += 1;
        seen_digit = true;
    }
    if i < body.len() && body[i] == b'.' {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            i += 1;
            seen_digit = true;
        }
    }
    if !seen_digit {
        return false;
    }
    if i < body.len() && matches!(body[i], b'e' | b'E') {
        i += 1;
        if i < body.len() && matches!(body[i], b'+' | b'-') {
            i += 1;
        }
        let start = i;
        while i < body.len() && body[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == body.len()
}

fn float(kind: Kind, s: &[u8]) -> Result<f64, Reject> {
    match (kind, s) {
        (Kind::True, _) | (Kind::Str, b"true") => Ok(1.0),
        (Kind::False, _) | (Kind::Str, b"false") => Ok(0.0),
        (Kind::Num | Kind::Str, _) => {
            if let Some(v) = fast_decimal(s) {
                if v.0 <= 1 << 53 && v.1 <= 22 {
                    let x = v.0 as f64 / POW10_F64[v.1];
                    return Ok(if v.2 { -x } else { x });
                }
            }
            if !float_text_ok(s) {
                return Err(Reject::NotType);
            }
            std::str::from_utf8(s)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or(Reject::NotType)
        }
        _ => Err(Reject::NotType),
    }
}

const POW10_F32: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];
const POW10_F64: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal `-?digits[.digits]` as (mantissa, decimals, negative), when the mantissa fits
/// in `u64`. Division of the exact mantissa by an exact power of ten is then correctly rounded
/// (Clinger's fast path) when both are exact in the target type.
#[inline]
fn fast_decimal(s: &[u8]) -> Option<(u64, usize, bool)> {
    let (neg, body) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let mut m: u64 = 0;
    let mut decimals = 0;
    let mut seen_dot = false;
    let mut digits = 0;
    for &c in body {
        if c.is_ascii_digit() {
            m = m.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            digits += 1;
            if seen_dot {
                decimals += 1;
            }
        } else if c == b'.' && !seen_dot && digits > 0 {
            seen_dot = true;
        } else {
            return None;
        }
    }
    if digits == 0 || (seen_dot && decimals == 0) {
        return None;
    }
    Some((m, decimals, neg))
}

/// Like [`float`], but rounds the decimal text straight to `f32` (no double rounding via `f64`).
fn float32(kind: Kind, s: &[u8]) -> Result<f32, Reject> {
    match (kind, s) {
        (Kind::True, _) | (Kind::Str, b"true") => Ok(1.0),
        (Kind::False, _) | (Kind::Str, b"false") => Ok(0.0),
        (Kind::Num | Kind::Str, _) => {
            if !float_text_ok(s) {
                return Err(Reject::NotType);
            }
            if let Some(v) = fast_decimal(s) {
                if v.0 <= 1 << 24 && v.1 <= 10 {
                    let x = v.0 as f32 / POW10_F32[v.1];
                    return Ok(if v.2 { -x } else { x });
                }
            }
            std::str::from_utf8(s)
                .ok()
                .and_then(|t| t.parse::<f32>().ok())
                .ok_or(Reject::NotType)
        }
        _ => Err(Reject::NotType),
    }
}

/// Seconds from a JSON number: the integer part, fraction truncated.
fn number_seconds(s: &[u8]) -> Result<i64, Reject> {
    if s.first() == Some(&b'-') {
        return Err(Reject::OutOfRange);
    }
    if s.iter().all(u8::is_ascii_digit) {
        return accumulate(s)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or(Reject::OutOfRange);
    }
    let v: f64 = std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Reject::NotType)?;
    if !(0.0..=DATETIME_MAX as f64 + 1.0).contains(&v) {
        return Err(Reject::OutOfRange);
    }
    Ok(v.trunc() as i64)
}

/// Milliseconds from a JSON number of seconds with up to three decimals kept.
fn number_millis(s: &[u8]) -> Result<i64, Reject> {
    let t = std::str::from_utf8(s).map_err(|_| Reject::NotType)?;
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    if body.contains(['e', 'E']) {
        let v: f64 = t.parse().map_err(|_| Reject::NotType)?;
        let ms = (v * 1000.0).trunc();
        if !(DT64_MIN_MS as f64..=DT64_MAX_MS as f64).contains(&ms) {
            return Err(Reject::OutOfRange);
        }
        return Ok(ms as i64);
    }
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let whole = accumulate(int.as_bytes())
        .and_then(|v| i64::try_from(v).ok())
        .ok_or(Reject::OutOfRange)?;
    let mut ms = 0i64;
    for (k, c) in frac.bytes().take(3).enumerate() {
        ms += i64::from(c - b'0') * [100, 10, 1][k];
    }
    let total = whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(ms))
        .ok_or(Reject::OutOfRange)?;
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(ty: ColumnType, json_value: &str) -> Result<Cell, Reject> {
        let line = format!("{{\"v\":{json_value}}}");
        let paths = [vec!["v".to_string()]];
        let trie = super::super::json::PathTrie::new(paths.iter().map(|p| p.as_slice()));
        let mut found = [None];
        super::super::json::scan_line(line.as_bytes(), &trie, &mut found)
            .map_err(|_| Reject::NotType)?;
        let mut text = String::new();
        let c = convert(
            ty,
            found[0],
            line.as_bytes(),
            false,
            &mut text,
            &mut Vec::new(),
        )?;
        if let Cell::Str(s, l) = c {
            // Re-encode the string as a U cell holding its length, for easy comparison below.
            assert_eq!(text.len() as u32, s + l);
        }
        Ok(c)
    }

    #[test]
    fn integers_follow_clickhouse_with_strict_ranges() {
        use ColumnType::*;
        assert_eq!(conv(UInt32, "\"776\"").ok(), Some(Cell::U(776)));
        assert_eq!(conv(UInt32, "\"+5\"").ok(), Some(Cell::U(5)));
        assert_eq!(conv(UInt32, "\"\"").ok(), Some(Cell::U(0)));
        assert_eq!(conv(UInt32, "true").ok(), Some(Cell::U(1)));
        assert_eq!(conv(UInt32, "null").ok(), Some(Cell::U(0)));
        assert_eq!(
            conv(UInt32, "4294967295").ok(),
            Some(Cell::U(4_294_967_295))
        );
        assert!(matches!(
            conv(UInt32, "4294967296"),
            Err(Reject::OutOfRange)
        ));
        assert!(matches!(conv(UInt32, "-1"), Err(Reject::Negative)));
        assert!(matches!(conv(UInt32, "1.5"), Err(Reject::Fraction)));
        assert!(matches!(conv(UInt32, "1e3"), Err(Reject::Fraction)));
        assert!(matches!(conv(UInt32, "\" 12\""), Err(Reject::NotType)));
        assert!(matches!(conv(UInt32, "[1]"), Err(Reject::NotType)));
        assert!(matches!(conv(UInt8, "256"), Err(Reject::OutOfRange)));
        assert_eq!(conv(Int8, "-128").ok(), Some(Cell::I(-128)));
        assert!(matches!(conv(Int8, "-129"), Err(Reject::OutOfRange)));
        assert_eq!(
            conv(Int64, "-9223372036854775808").ok(),
            Some(Cell::I(i64::MIN))
        );
        assert!(matches!(
            conv(UInt64, "18446744073709551616"),
            Err(Reject::OutOfRange)
        ));
    }

    #[test]
    fn floats_and_bools() {
        use ColumnType::*;
        assert_eq!(conv(Float32, "1234.5678").ok(), Some(Cell::F32(1234.5678)));
        assert_eq!(conv(Float32, "\"1.5\"").ok(), Some(Cell::F32(1.5)));
        assert!(matches!(conv(Float32, "\"NaN\""), Ok(Cell::F32(x)) if x.is_nan()));
        assert_eq!(
            conv(Float32, "\"inf\"").ok(),
            Some(Cell::F32(f32::INFINITY))
        );
        assert_eq!(conv(Float32, "1e400").ok(), Some(Cell::F32(f32::INFINITY)));
        assert_eq!(conv(Float64, "true").ok(), Some(Cell::F64(1.0)));
        assert!(matches!(conv(Float32, "\"\""), Err(Reject::NotType)));
        assert!(matches!(conv(Float32, "\"n/a\""), Err(Reject::NotType)));
        assert!(matches!(conv(Float32, "\"1,5\""), Err(Reject::NotType)));
        assert_eq!(conv(Bool, "true").ok(), Some(Cell::U(1)));
        assert!(matches!(conv(Bool, "2"), Err(Reject::NotType)));
    }

    #[test]
    fn times() {
        use ColumnType::*;
        assert_eq!(
            conv(DateTime, "\"2024-01-01T10:00:00+02:00\"").ok(),
            Some(Cell::U(1_704_096_000))
        );
        assert_eq!(
            conv(DateTime, "1704067200.7").ok(),
            Some(Cell::U(1_704_067_200))
        );
        assert_eq!(
            conv(DateTime, "\"1704067200\"").ok(),
            Some(Cell::U(1_704_067_200))
        );
        assert!(matches!(
            conv(DateTime, "\"2200-01-01 00:00:00\""),
            Err(Reject::OutOfRange)
        ));
        assert!(matches!(conv(DateTime, "-5"), Err(Reject::OutOfRange)));
        assert_eq!(
            conv(DateTime64, "\"2024-01-01 00:00:00.789\"").ok(),
            Some(Cell::I(1_704_067_200_789))
        );
        assert_eq!(
            conv(DateTime64, "1704067200.5").ok(),
            Some(Cell::I(1_704_067_200_500))
        );
    }
}
