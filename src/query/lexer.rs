//! SQL tokens. Template parameters enter the token stream as [`Tok::Param`] values, already
//! typed, so no parameter text is ever lexed as SQL.

use super::types::DataType;
use super::Value;
use crate::error::{Error, Result};

/// One SQL token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: keyword or identifier.
    Word(String),
    /// A quoted identifier (`` `x` `` or `"x"`), never a keyword.
    Quoted(String),
    /// A string literal.
    Str(String),
    /// A number literal as written.
    Num(String),
    /// Punctuation or an operator.
    Sym(&'static str),
    /// A bound template parameter: a typed value.
    Param(DataType, Value),
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// 1-based line.
    pub line: usize,
}

const SYMBOLS: &[&str] = &[
    "<=", ">=", "!=", "<>", "==", "||", "::", "->", "(", ")", ",", ".", "+", "-", "*", "/", "%",
    "=", "<", ">", "[", "]", ";", "?", ":",
];

/// Splits `text` into tokens, appending to `out`; `line` is the line `text` starts on.
pub fn lex(text: &str, line: usize, out: &mut Vec<Token>) -> Result<()> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut line = line;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let start_line = line;
            i += 2;
            loop {
                if i + 1 >= b.len() {
                    return Err(Error::query(format!(
                        "line {start_line}: unterminated comment"
                    )));
                }
                if b[i] == b'*' && b[i + 1] == b'/' {
                    i += 2;
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            continue;
        }
        let start = i;
        let tok_line = line;
        let tok = if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            Tok::Word(text[start..i].to_string())
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            if c == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
                i += 2;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
            } else {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i < b.len() && b[i] == b'.' {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                    let mut j = i + 1;
                    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                        j += 1;
                    }
                    if j < b.len() && b[j].is_ascii_digit() {
                        i = j;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
            }
            if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
                return Err(Error::query(format!(
                    "line {tok_line}: malformed number '{}'",
                    &text[start..=i]
                )));
            }
            Tok::Num(text[start..i].to_string())
        } else if c == b'\'' || c == b'"' || c == b'`' {
            let (s, next, lines) = quoted(text, i, c).ok_or_else(|| {
                Error::query(format!(
                    "line {tok_line}: unterminated {}",
                    if c == b'\'' {
                        "string literal"
                    } else {
                        "quoted identifier"
                    }
                ))
            })?;
            i = next;
            line += lines;
            if c == b'\'' {
                Tok::Str(s)
            } else {
                Tok::Quoted(s)
            }
        } else {
            let rest = &text[i..];
            match SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
                Some(s) => {
                    i += s.len();
                    Tok::Sym(s)
                }
                None => {
                    let ch = rest.chars().next().unwrap_or(' ');
                    return Err(Error::query(format!(
                        "line {tok_line}: unexpected character '{ch}'"
                    )));
                }
            }
        };
        out.push(Token {
            tok,
            line: tok_line,
        });
    }
    Ok(())
}

/// Reads a quoted literal starting at `start` (the quote); returns the unescaped text, the index
/// after the closing quote and the number of newlines inside.
fn quoted(text: &str, start: usize, q: u8) -> Option<(String, usize, usize)> {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut i = start + 1;
    let mut lines = 0;
    while i < b.len() {
        let c = b[i];
        if c == q {
            if b.get(i + 1) == Some(&q) {
                out.push(q);
                i += 2;
                continue;
            }
            return Some((String::from_utf8(out).ok()?, i + 1, lines));
        }
        if c == b'\\' {
            let n = *b.get(i + 1)?;
            i += 2;
            match n {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'a' => out.push(7),
                b'v' => out.push(11),
                b'e' => out.push(27),
                b'x' => {
                    let h = text.get(i..i + 2)?;
                    out.push(u8::from_str_radix(h, 16).ok()?);
                    i += 2;
                }
                // `\N` stands for nothing; these characters lose their backslash; any other
                // keeps it, as ClickHouse reads `'a\_b'` as `a\_b` (so LIKE sees `\_`).
                b'N' => {}
                b'\\' | b'\'' | b'"' | b'`' | b'/' | b'=' => out.push(n),
                other => {
                    if other == b'\n' {
                        lines += 1;
                    }
                    out.push(b'\\');
                    out.push(other)
                }
            }
            continue;
        }
        if c == b'\n' {
            lines += 1;
        }
        out.push(c);
        i += 1;
    }
    None
}

/// Writes `s` as a ClickHouse string literal.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Writes `s` as a backquoted identifier when it is not a plain word.
pub fn quote_ident(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if plain {
        return s.to_string();
    }
    let mut out = String::from("`");
    for c in s.chars() {
        match c {
            '`' => out.push_str("\\`"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('`');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        lex(s, 1, &mut out).unwrap();
        out.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_sql() {
        assert_eq!(
            toks("SELECT a, `b c` -- x\n FROM t WHERE s = 'it''s\\n' AND n >= 1.5e3"),
            vec![
                Tok::Word("SELECT".into()),
                Tok::Word("a".into()),
                Tok::Sym(","),
                Tok::Quoted("b c".into()),
                Tok::Word("FROM".into()),
                Tok::Word("t".into()),
                Tok::Word("WHERE".into()),
                Tok::Word("s".into()),
                Tok::Sym("="),
                Tok::Str("it's\n".into()),
                Tok::Word("AND".into()),
                Tok::Word("n".into()),
                Tok::Sym(">="),
                Tok::Num("1.5e3".into()),
            ]
        );
        let mut out = Vec::new();
        lex("a\n/* c\n */ b", 1, &mut out).unwrap();
        assert_eq!(out[1].line, 3);
        assert!(lex("'open", 1, &mut Vec::new()).is_err());
        assert!(lex("a $ b", 1, &mut Vec::new()).is_err());
        assert_eq!(quote_string("a'b\\"), "'a\\'b\\\\'");
        assert_eq!(quote_ident("model_name"), "model_name");
        assert_eq!(quote_ident("a`b"), "`a\\`b`");
    }
}
