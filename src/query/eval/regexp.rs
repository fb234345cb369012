//! Regular-expression functions: `match`, `extract`, `extractAll`, `replaceRegexpOne`,
//! `replaceRegexpAll`.
//!
//! ClickHouse compiles these patterns with RE2; the `regex-lite` crate reads the same syntax and,
//! like RE2, matches in time linear in the text (no backtracking blow-up). The pattern is
//! compiled once, when the query is bound, with RE2's settings for these functions: `.` matches
//! a newline, `^`/`$` anchor the whole text, and `\d`, `\s`, `\w`, `\b` are ASCII classes. What
//! the crate lacks is refused: `\p{…}` classes, and `(?i)` in a pattern with non-ASCII
//! characters (it folds ASCII letters only). The compiled program is bounded by
//! [`SIZE_LIMIT`], so a hostile pattern is refused rather than filling memory. The functions run
//! once per dictionary entry of a `String` column, cached per dictionary.

use super::super::column::{from_values, value_str, Col};
use super::super::types::DataType;
use super::super::Value;
use super::strings::{per_entry, per_entry_values, recode};
use super::FCall;
use crate::error::{Error, Result};
use regex_lite::{Regex, RegexBuilder};

/// The most bytes a compiled pattern may take (the `regex` crate's `size_limit`).
pub const SIZE_LIMIT: usize = 1 << 20;

/// The deepest nesting of groups and repetitions a pattern may have (the crate's default;
/// ClickHouse takes deeper ones, refused here so that no pass over the pattern overflows the
/// stack).
const NEST_LIMIT: u32 = 250;

/// The most strings `extractAll` may build in one block of rows.
const MAX_EXTRACTED: usize = 1 << 22;

/// What a regular-expression function does with its pattern.
#[derive(Debug, Clone)]
pub enum RegexpOp {
    /// `match`: 1 when the pattern matches somewhere in the text.
    Match,
    /// `extract`: the first match (its first group when the pattern has groups), or `''`.
    Extract,
    /// `extractAll`: every match (each one's first group when the pattern has groups).
    ExtractAll,
    /// `replaceRegexpOne` (false) and `replaceRegexpAll` (true) with the parsed replacement.
    Replace(Vec<Piece>, bool),
}

/// A piece of a replacement: literal text or the text of a capture group (`\0`–`\9`).
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Text copied as it is.
    Lit(String),
    /// The text of capture group `n` (0 is the whole match).
    Group(usize),
}

/// A regular-expression function with its compiled pattern.
#[derive(Debug, Clone)]
pub struct RegexpFn {
    /// What it does.
    pub op: RegexpOp,
    re: Regex,
    /// The pattern as written: ClickHouse's `replaceRegexp*` with `''` return the text as is.
    empty: bool,
}

/// Whether `name` is one of the regular-expression functions.
pub fn is_regexp_function(name: &str) -> bool {
    matches!(
        name,
        "match" | "extract" | "extractAll" | "replaceRegexpOne" | "replaceRegexpAll"
    )
}

/// Rewrites `\s` and `\S` into RE2's ASCII set (regex-lite's also holds `\v`, RE2's does not);
/// `\d` and `\w` are ASCII in both. Inside a bracket class, where regex-lite takes no nested
/// class, `\s` becomes the set's members and `\S` is left as it is.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {}
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A `]` first in a class is a member, not its end.
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
                continue;
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
                continue;
            }
            _ => {
                out.push(c);
                continue;
            }
        }
        let Some(next) = chars.next() else {
            out.push(c);
            break;
        };
        match (next, in_class) {
            ('s', false) => out.push_str("[\\t\\n\\x0C\\r ]"),
            ('S', false) => out.push_str("[^\\t\\n\\x0C\\r ]"),
            ('s', true) => out.push_str("\\t\\n\\x0C\\r "),
            (other, _) => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}

/// Whether `pattern` turns on case-insensitive matching (`(?i)`, `(?i:…)`, `(?mi)`, …).
fn case_insensitive(pattern: &str) -> bool {
    pattern.match_indices("(?").any(|(i, _)| {
        pattern[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .take_while(|c| *c != '-')
            .any(|c| c == 'i')
    })
}

/// Compiles `pattern` as ClickHouse's RE2 settings read it, bounded in size.
fn compile(pattern: &str) -> Result<Regex> {
    if !pattern.is_ascii() && case_insensitive(pattern) {
        return Err(Error::unsupported(
            "case-insensitive regular expressions with non-ASCII characters (only ASCII \
             letters fold case here)",
        ));
    }
    RegexBuilder::new(&ascii_classes(pattern))
        .dot_matches_new_line(true)
        .size_limit(SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let reason = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            Error::query(format!(
                "OptimizedRegularExpression: cannot compile re2: {pattern}, error: {reason}"
            ))
        })
}

/// Parses a replacement as ClickHouse does: `\0`–`\9` are groups, `\` before any other
/// character stands for that character, and a trailing `\` is kept.
fn parse_replacement(s: &str, groups: usize) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            lit.push(c);
            continue;
        }
        match chars.next() {
            Some(d) if d.is_ascii_digit() => {
                let k = d as usize - '0' as usize;
                if k > groups {
                    return Err(Error::query(format!(
                        "Substitution '\\{k}' in replacement argument is invalid, regexp has only \
                         {groups} capturing groups"
                    )));
                }
                if !lit.is_empty() {
                    pieces.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                pieces.push(Piece::Group(k));
            }
            Some(other) => lit.push(other),
            None => lit.push('\\'),
        }
    }
    if !lit.is_empty() {
        pieces.push(Piece::Lit(lit));
    }
    Ok(pieces)
}

impl RegexpFn {
    /// Compiles the function `name` of the constant `pattern` (and `replacement` for
    /// `replaceRegexp*`).
    pub fn new(name: &str, pattern: &str, replacement: Option<&str>) -> Result<RegexpFn> {
        let re = compile(pattern)?;
        let groups = re.captures_len().saturating_sub(1);
        let op = match name {
            "match" => RegexpOp::Match,
            "extract" => RegexpOp::Extract,
            "extractAll" => RegexpOp::ExtractAll,
            _ => RegexpOp::Replace(
                parse_replacement(replacement.unwrap_or(""), groups)?,
                name == "replaceRegexpAll",
            ),
        };
        Ok(RegexpFn {
            op,
            re,
            empty: pattern.is_empty(),
        })
    }

    /// The group `extract` and `extractAll` take: the first when there is one, else the match.
    fn group(&self) -> usize {
        usize::from(self.re.captures_len() > 1)
    }

    /// `match` of one text.
    pub fn matches(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// `extract` of one text.
    pub fn extract(&self, s: &str) -> String {
        let g = self.group();
        self.re
            .captures(s)
            .and_then(|c| c.get(g))
            .map(|m| m.as_str().to_string())
            .unwrap_or_default()
    }

    /// `extractAll` of one text: as ClickHouse, an empty match ends the list, and a group that
    /// took no part in a match gives `''`.
    pub fn extract_all(&self, s: &str) -> Vec<String> {
        let g = self.group();
        self.re
            .captures_iter(s)
            .take_while(|c| c.get(0).is_some_and(|m| !m.is_empty()))
            .map(|c| c.get(g).map_or(String::new(), |m| m.as_str().to_string()))
            .collect()
    }

    /// `replaceRegexpOne`/`replaceRegexpAll` of one text. After an empty match the next
    /// character is copied and the search goes on, as ClickHouse does (it steps one byte; this
    /// steps one character, so a text stays valid UTF-8).
    pub fn replace(&self, s: &str, pieces: &[Piece], all: bool) -> String {
        if self.empty {
            return s.to_string();
        }
        let mut out = String::with_capacity(s.len());
        let mut pos = 0;
        while pos <= s.len() {
            let Some(caps) = self.re.captures_at(s, pos) else {
                break;
            };
            let Some(m) = caps.get(0) else {
                break;
            };
            out.push_str(&s[pos..m.start()]);
            for p in pieces {
                match p {
                    Piece::Lit(t) => out.push_str(t),
                    Piece::Group(k) => out.push_str(caps.get(*k).map_or("", |g| g.as_str())),
                }
            }
            pos = m.end();
            if !all {
                break;
            }
            if m.start() == m.end() {
                match s[pos..].chars().next() {
                    Some(c) => {
                        out.push(c);
                        pos += c.len_utf8();
                    }
                    None => {
                        pos = s.len() + 1;
                    }
                }
            }
        }
        if pos <= s.len() {
            out.push_str(&s[pos..]);
        }
        out
    }
}

/// Computes a regular-expression function over the values of its text argument.
pub(super) fn call<'a>(fc: &FCall, r: &RegexpFn, c: &Col<'a>, n: usize) -> Result<Col<'a>> {
    match &r.op {
        RegexpOp::Match => per_entry(fc, c, n, false, |s| Ok(u64::from(r.matches(s)))),
        RegexpOp::Extract => recode(fc, c, n, |s| r.extract(s)),
        RegexpOp::Replace(pieces, all) => recode(fc, c, n, |s| r.replace(s, pieces, *all)),
        RegexpOp::ExtractAll => {
            let array = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
            if let Col::Const(v) = c {
                return Ok(Col::Const(array(r.extract_all(&value_str(v)))));
            }
            let values = per_entry_values(
                &c.strs(n),
                MAX_EXTRACTED,
                "extractAll",
                "strings",
                |s| array(r.extract_all(s)),
                |v| match v {
                    Value::Array(items) => items.len(),
                    _ => 0,
                },
            )?;
            Ok(from_values(
                values,
                &DataType::Array(Box::new(DataType::String)),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values from chDB (ClickHouse 26.9).
    #[test]
    fn replace_steps_over_empty_matches_as_clickhouse() {
        let all = |p: &str, s: &str, r: &str| {
            let f = RegexpFn::new("replaceRegexpAll", p, Some(r)).unwrap();
            let RegexpOp::Replace(pieces, a) = &f.op else {
                unreachable!()
            };
            f.replace(s, pieces, *a)
        };
        assert_eq!(all("b*", "abc", "-"), "-a--c-");
        assert_eq!(all("a*", "aaa", "-"), "--");
        assert_eq!(all("b|", "abab", "-"), "-a--a--");
        assert_eq!(all("^", "abc", "-"), "-abc");
        assert_eq!(all("", "abc", "-"), "abc");
        assert_eq!(all("(?i)B", "abc abc", "\\0\\0"), "abbc abbc");
    }

    #[test]
    fn replacement_escapes() {
        let f = RegexpFn::new("replaceRegexpOne", "(b)(c)", Some("[\\2\\1\\0\\\\]")).unwrap();
        let RegexpOp::Replace(pieces, a) = &f.op else {
            unreachable!()
        };
        assert_eq!(f.replace("abc abc", pieces, *a), "a[cbbc\\] abc");
        let e = RegexpFn::new("replaceRegexpOne", "(b)", Some("\\2")).unwrap_err();
        assert!(e.to_string().contains("regexp has only 1 capturing groups"));
    }

    #[test]
    fn ascii_perl_classes() {
        let m = |p: &str, s: &str| RegexpFn::new("match", p, None).unwrap().matches(s);
        assert!(!m("^\\w$", "é"));
        assert!(!m("\\d", "٣"));
        assert!(m("a.b", "a\nb"));
        assert!(m("(?i)ABC", "abc"));
        assert!(RegexpFn::new("match", "(?i)é", None).is_err());
        assert!(RegexpFn::new("match", "(?mi:x)é", None).is_err());
        assert!(m("(?-i)é", "é"));
        assert!(m("[\\d\\s]x", " x"));
        assert!(!m("[\\d\\s]x", "\u{b}x"));
        assert!(!m("\\s", "\u{b}"));
        assert!(m("[]a]", "]"));
    }

    #[test]
    fn extract_all_stops_at_an_empty_match() {
        let x = |p: &str, s: &str| RegexpFn::new("extractAll", p, None).unwrap().extract_all(s);
        assert_eq!(x("b*", "abc"), Vec::<String>::new());
        assert_eq!(x("(X)|b", "aXbX"), ["X", "", "X"]);
        assert_eq!(x("\\d+", "a1b22c333"), ["1", "22", "333"]);
    }
}
