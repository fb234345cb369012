//! UTC calendar arithmetic and the timestamp layouts ingest accepts.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Largest second a ClickHouse `DateTime` holds: 2106-02-07 06:28:15.
pub const DATETIME_MAX: i64 = u32::MAX as i64;

/// The day a number converts to as a `Date`, as ClickHouse's `toDate(number)` reads it: up to
/// 65535 a day number, beyond that seconds since the epoch (clamped to `DateTime`'s range), and
/// never before 1970-01-01.
pub fn date_from_number(x: i64) -> i64 {
    match x {
        ..=0 => 0,
        1..=65_535 => x,
        _ => x.min(DATETIME_MAX) / 86_400,
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_datetime(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Appends `secs` as [`format_datetime`] writes it, without formatting machinery; years outside
/// 0..=9999 are written by [`format_datetime`].
pub fn push_datetime(out: &mut String, secs: i64) {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        out.push_str(&format_datetime(secs));
        return;
    }
    let s = secs.rem_euclid(86_400);
    let two = |out: &mut String, v: i64| {
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    two(out, y / 100);
    two(out, y % 100);
    out.push('-');
    two(out, i64::from(m));
    out.push('-');
    two(out, i64::from(d));
    out.push(' ');
    two(out, s / 3600);
    out.push(':');
    two(out, s / 60 % 60);
    out.push(':');
    two(out, s % 60);
}

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_datetime64(ms: i64) -> String {
    format!(
        "{}.{:03}",
        format_datetime(ms.div_euclid(1000)),
        ms.rem_euclid(1000)
    )
}

/// The day number of a date written `YYYY-MM-DD` (month and day of one or two digits) or
/// `YYYYMMDD`, as ClickHouse reads a `Date` from text; `None` for any other text or a day the
/// month does not have.
pub fn parse_date_bytes(b: &[u8]) -> Option<i64> {
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || s.len() > 4 || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(s.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
        (num(&b[..4])?, num(&b[4..6])?, num(&b[6..])?)
    } else {
        let mut parts = b.split(|&c| c == b'-');
        let y = parts.next().filter(|p| p.len() == 4).and_then(num)?;
        let m = parts.next().filter(|p| p.len() <= 2).and_then(num)?;
        let d = parts.next().filter(|p| p.len() <= 2).and_then(num)?;
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    let y = i64::from(y);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            v = v * 10 + i64::from(self.b[self.i] - b'0');
            self.i += 1;
        }
        let n = self.i - start;
        (n >= min).then_some((v, n))
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// [`parse_timestamp_ms`] for bytes (not necessarily UTF-8).
pub fn parse_timestamp_bytes(b: &[u8]) -> Option<i64> {
    if let Some(ms) = parse_compact(b) {
        return Some(ms);
    }
    parse_timestamp_ms(std::str::from_utf8(b).ok()?)
}

/// The common layout `YYYY-MM-DD HH:MM:SS` (or with `T`), read directly.
#[inline]
fn parse_compact(b: &[u8]) -> Option<i64> {
    if b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && b[16] == b':'
    {
        let d = |i: usize| -> Option<i64> {
            let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
            (x < 10 && y < 10).then(|| i64::from(x) * 10 + i64::from(y))
        };
        if let (Some(c), Some(yy), Some(mo), Some(dd), Some(hh), Some(mi), Some(ss)) =
            (d(0), d(2), d(5), d(8), d(11), d(14), d(17))
        {
            return ymd_ms(c * 100 + yy, mo as u32, dd as u32, hh, mi, ss, 0);
        }
    }
    None
}

/// Parses a timestamp written as text into milliseconds since the epoch, UTC.
///
/// Accepts `YYYY-MM-DD HH:MM:SS` (also with `T`, `/` or `.` date separators, without seconds, with a
/// fraction), an optional zone (`Z`, `UTC`, `GMT`, `±hh`, `±hh:mm`, `±hhmm`) that is converted to
/// UTC, a bare date `YYYY-MM-DD`, `YYYYMMDD`, `YYYYMMDDhhmmss`, and unix seconds as digits.
/// Returns `None` for anything else, including impossible dates.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    if let Some(ms) = parse_compact(text.as_bytes()) {
        return Some(ms);
    }
    let s = text.trim().as_bytes();
    if s.is_empty() {
        return None;
    }
    if s.iter().all(u8::is_ascii_digit) {
        return match s.len() {
            8 => {
                let v = std::str::from_utf8(s).ok()?.parse::<i64>().ok()?;
                ymd_ms(
                    v / 10_000,
                    (v / 100 % 100) as u32,
                    (v % 100) as u32,
                    0,
                    0,
                    0,
                    0,
                )
            }
            14 => {
                let v = std::str::from_utf8(s).ok()?.parse::<i64>().ok()?;
                let date = v / 1_000_000;
                let t = v % 1_000_000;
                ymd_ms(
                    date / 10_000,
                    (date / 100 % 100) as u32,
                    (date % 100) as u32,
                    t / 10_000,
                    t / 100 % 100,
                    t % 100,
                    0,
                )
            }
            9 | 10 => Some(std::str::from_utf8(s).ok()?.parse::<i64>().ok()? * 1000),
            // 13 digits: unix milliseconds.
            13 => std::str::from_utf8(s).ok()?.parse::<i64>().ok(),
            _ => None,
        };
    }
    let mut c = Cursor { b: s, i: 0 };
    let (year, _) = c.digits(4, 4)?;
    let sep = c.peek()?;
    if !matches!(sep, b'-' | b'/' | b'.') {
        return None;
    }
    c.i += 1;
    let (month, _) = c.digits(1, 2)?;
    if !c.eat(sep) {
        return None;
    }
    let (day, _) = c.digits(1, 2)?;
    let (mut hh, mut mm, mut ss, mut frac_ms) = (0, 0, 0, 0);
    let mut offset_s: i64 = 0;
    if !c.done() {
        if !(c.eat(b'T') || c.eat(b' ')) {
            return None;
        }
        hh = c.digits(1, 2)?.0;
        if !c.eat(b':') {
            return None;
        }
        mm = c.digits(2, 2)?.0;
        if c.eat(b':') {
            ss = c.digits(2, 2)?.0;
            if c.eat(b'.') || c.eat(b',') {
                let start = c.i;
                let (v, n) = c.digits(1, 18)?;
                let _ = start;
                frac_ms = match n {
                    1 => v * 100,
                    2 => v * 10,
                    3 => v,
                    _ => v / 10i64.pow(n as u32 - 3),
                };
            }
        }
        while c.eat(b' ') {}
        if !c.done() {
            let rest = &s[c.i..];
            if rest == b"Z" || rest == b"UTC" || rest == b"GMT" {
                c.i = s.len();
            } else {
                let sign = match c.peek()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                c.i += 1;
                let (oh, n) = c.digits(2, 4)?;
                let (oh, om) = if n == 4 {
                    (oh / 100, oh % 100)
                } else if n == 2 {
                    if c.eat(b':') {
                        (oh, c.digits(2, 2)?.0)
                    } else {
                        (oh, 0)
                    }
                } else {
                    return None;
                };
                if oh > 14 || om > 59 {
                    return None;
                }
                offset_s = sign * (oh * 3600 + om * 60);
            }
        }
        if !c.done() {
            return None;
        }
    }
    Some(ymd_ms(year, month as u32, day as u32, hh, mm, ss, frac_ms)? - offset_s * 1000)
}

fn ymd_ms(y: i64, m: u32, d: u32, hh: i64, mm: i64, ss: i64, ms: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || hh > 23 || mm > 59 || ss > 59
    {
        return None;
    }
    Some((days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss) * 1000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_datetime_writes_what_format_datetime_writes() {
        // 1970-01-01, a leap day, the end of 2106 (DateTime's last second), and year 10000.
        for secs in [
            0i64,
            951_782_400,
            1_733_486_399,
            4_294_967_295,
            253_402_300_800,
        ] {
            let mut out = String::from("x");
            push_datetime(&mut out, secs);
            assert_eq!(out, format!("x{}", format_datetime(secs)), "{secs}");
        }
        let mut out = String::new();
        push_datetime(&mut out, 951_782_400);
        assert_eq!(out, "2000-02-29 00:00:00");
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 19_723, 49_710, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(2024, 1, 1), 19_723);
        assert_eq!(format_datetime(1_704_067_200), "2024-01-01 00:00:00");
        assert_eq!(format_datetime(DATETIME_MAX), "2106-02-07 06:28:15");
        assert_eq!(
            format_datetime64(1_704_067_200_789),
            "2024-01-01 00:00:00.789"
        );
    }

    #[test]
    fn timestamp_layouts() {
        let t = 1_704_067_200_000;
        for s in [
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00 UTC",
            "2024-01-01T02:00:00+02:00",
            "2023-12-31T19:00:00-0500",
            "2023-12-31T23:00:00-01",
            "2024/01/01 00:00:00",
            "2024-01-01",
            "2024-1-1 0:00",
            "20240101",
            "20240101000000",
            "1704067200",
        ] {
            assert_eq!(parse_timestamp_ms(s), Some(t), "{s}");
        }
        assert_eq!(parse_timestamp_ms("2024-01-01 00:00:00.5"), Some(t + 500));
        assert_eq!(
            parse_timestamp_ms("2024-01-01T00:00:00.789123Z"),
            Some(t + 789)
        );
        for bad in [
            "",
            "2024-13-01",
            "2024-02-30",
            "2023-02-29 00:00:00",
            "yesterday",
            "2024-01-01X",
            "2024-01-01 25:00:00",
            "2024-01-01 00:00:00 +2",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_timestamp_ms("2024-02-29"), Some(1_709_164_800_000));
    }
}
