//! A schema-driven JSON scanner: validates one NDJSON line and records where each schema
//! column's value is, without building a tree or allocating.

use super::simd;

/// Deepest nesting of objects along the schema's JSON paths.
pub const MAX_DEPTH: usize = 256;

/// Deepest nesting of non-empty objects and arrays in the value of a key outside the schema, as
/// ClickHouse allows when it skips such a value.
pub const MAX_SKIP_DEPTH: usize = 1000;

/// The JSON kind of a found value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string; `start..end` is the text between the quotes.
    Str,
    /// A number; `start..end` is its text.
    Num,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `null`.
    Null,
    /// An object; `start..end` is its whole text, braces included.
    Obj,
    /// An array; `start..end` is its whole text, brackets included.
    Arr,
}

/// Where a column's value sits in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// The JSON kind.
    pub kind: Kind,
    /// Start byte offset in the line.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
    /// For strings: the text has backslash escapes.
    pub escaped: bool,
    /// The key appeared more than once in its object.
    pub duplicate: bool,
    /// For numbers without an exponent and with at most 19 digits: all digits as an integer
    /// (`12.50` gives 1250), else 0.
    pub mantissa: u64,
    /// For such numbers: digits after the point (`12.50` gives 2); `u8::MAX` when the number has
    /// an exponent or more than 19 digits.
    pub decimals: u8,
}

/// A syntax error: byte offset in the line and a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 0-based byte offset in the line.
    pub at: usize,
    /// What was expected or found.
    pub message: &'static str,
}

/// The schema's JSON paths as a trie of keys.
#[derive(Debug, Clone, Default)]
pub struct PathTrie {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    leaf: Option<usize>,
    children: Vec<(Box<[u8]>, usize)>,
    /// For each child: `"key"` as it appears in JSON, when the key needs no escaping.
    patterns: Vec<Option<Box<[u8]>>>,
}

impl PathTrie {
    /// Builds the trie; `paths[i]` is column `i`'s key path.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a [String]>) -> PathTrie {
        let mut t = PathTrie {
            nodes: vec![Node::default()],
        };
        for (col, path) in paths.into_iter().enumerate() {
            let mut n = 0;
            for key in path {
                let existing = t.nodes[n]
                    .children
                    .iter()
                    .find(|(k, _)| &**k == key.as_bytes())
                    .map(|(_, c)| *c);
                n = match existing {
                    Some(c) => c,
                    None => {
                        t.nodes.push(Node::default());
                        let c = t.nodes.len() - 1;
                        t.nodes[n].children.push((key.as_bytes().into(), c));
                        let plain = !key.bytes().any(|ch| ch == b'"' || ch == b'\\' || ch < 0x20);
                        let pattern =
                            plain.then(|| format!("\"{key}\"").into_bytes().into_boxed_slice());
                        t.nodes[n].patterns.push(pattern);
                        c
                    }
                };
            }
            if t.nodes[n].leaf.is_none() {
                t.nodes[n].leaf = Some(col);
            }
        }
        t
    }

    /// The child the line's bytes at `at` (an opening quote) name, when they spell the key
    /// expected next (the one after the previous match) followed by its closing quote.
    #[inline]
    fn predicted(
        &self,
        node: usize,
        line: &[u8],
        at: usize,
        hint: &mut usize,
    ) -> Option<(usize, usize)> {
        let n = &self.nodes[node];
        let idx = if *hint < n.children.len() { *hint } else { 0 };
        let pattern = n.patterns.get(idx)?.as_deref()?;
        let got = line.get(at..at + pattern.len())?;
        if same_bytes(got, pattern) {
            *hint = idx + 1;
            return Some((n.children[idx].1, at + pattern.len()));
        }
        None
    }

    /// The child of `node` for `key`. Keys usually arrive in the same order on every line, so
    /// the search starts after the previous match (`hint`).
    #[inline]
    fn child(&self, node: usize, key: &[u8], hint: &mut usize) -> Option<usize> {
        let children = &self.nodes[node].children;
        let n = children.len();
        let first = key.first().copied();
        let start = if *hint < n { *hint } else { 0 };
        for j in 0..n {
            let mut idx = start + j;
            if idx >= n {
                idx -= n;
            }
            let (k, c) = &children[idx];
            if k.len() == key.len() && k.first().copied() == first && **k == *key {
                *hint = idx + 1;
                return Some(*c);
            }
        }
        // ClickHouse matches JSON keys to columns without regard to ASCII case.
        children
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|&(_, c)| c)
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    key_buf: Vec<u8>,
    /// Mantissa and decimals of the last number parsed.
    num: (u64, u8),
    /// Open containers while skipping a value.
    stack: Vec<u8>,
    /// Deepest nesting allowed in the value being read: bounded for keys outside the schema,
    /// unbounded (but for the line's length) for a column's value.
    depth_limit: usize,
}

type Res<T> = Result<T, SyntaxError>;

fn fail<T>(at: usize, message: &'static str) -> Res<T> {
    Err(SyntaxError { at, message })
}

/// Scans `line` (valid UTF-8) as one JSON object; fills `found[col]` for every schema column whose
/// path is present. Keys outside the schema are validated and skipped.
pub fn scan_line(
    line: &[u8],
    trie: &PathTrie,
    found: &mut [Option<Found>],
) -> Result<(), SyntaxError> {
    let mut s = Scanner {
        b: line,
        i: 0,
        key_buf: Vec::new(),
        num: (0, u8::MAX),
        stack: Vec::new(),
        depth_limit: usize::MAX,
    };
    s.ws();
    if s.peek() != Some(b'{') {
        return fail(s.i, "expected '{' (each line must be one JSON object)");
    }
    s.object(Some((trie, 0)), found, 1)?;
    s.ws();
    if s.i < s.b.len() {
        return fail(s.i, "unexpected text after the object");
    }
    Ok(())
}

impl Scanner<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if is_space(c) {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// Parses an object starting at `{`. `node` is the trie node it corresponds to, if any.
    fn object(
        &mut self,
        node: Option<(&PathTrie, usize)>,
        found: &mut [Option<Found>],
        depth: usize,
    ) -> Res<()> {
        if depth > MAX_DEPTH {
            return fail(self.i, "nesting too deep");
        }
        self.i += 1; // '{'
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        // Where the search for this object's next key starts: just after the previous match among
        // this node's children (each nesting level keeps its own).
        let mut hint = 0;
        loop {
            if self.peek() != Some(b'"') {
                return fail(self.i, "expected a key in double quotes");
            }
            let predicted = match node {
                Some((trie, n)) => trie.predicted(n, self.b, self.i, &mut hint),
                None => None,
            };
            let child = if let (Some((c, next)), Some((trie, _))) = (predicted, node) {
                self.i = next;
                Some((trie, c))
            } else {
                let (ks, ke, esc) = self.string()?;
                match node {
                    Some((trie, n)) => {
                        if esc {
                            let mut buf = std::mem::take(&mut self.key_buf);
                            buf.clear();
                            unescape_into(&self.b[ks..ke], &mut buf).map_err(|at| SyntaxError {
                                at: ks + at,
                                message: "invalid escape in key",
                            })?;
                            let c = trie.child(n, &buf, &mut hint);
                            self.key_buf = buf;
                            c.map(|c| (trie, c))
                        } else {
                            trie.child(n, &self.b[ks..ke], &mut hint).map(|c| (trie, c))
                        }
                    }
                    None => None,
                }
            };
            if self.peek() == Some(b':') {
                self.i += 1;
            } else {
                self.ws();
                if self.peek() != Some(b':') {
                    return fail(self.i, "expected ':' after a key");
                }
                self.i += 1;
            }
            if self.peek().is_some_and(is_space) {
                self.ws();
            }
            let vstart = self.i;
            match child {
                Some((trie, c)) => {
                    let leaf = trie.nodes[c].leaf;
                    let has_children = !trie.nodes[c].children.is_empty();
                    let (kind, start, end, escaped) = if has_children && self.peek() == Some(b'{') {
                        self.object(Some((trie, c)), found, depth + 1)?;
                        (Kind::Obj, vstart, self.i, false)
                    } else {
                        self.value()?
                    };
                    if let Some(col) = leaf {
                        if let Some(slot) = found.get_mut(col) {
                            let duplicate = slot.is_some();
                            let (mantissa, decimals) = if kind == Kind::Num {
                                self.num
                            } else {
                                (0, u8::MAX)
                            };
                            *slot = Some(Found {
                                kind,
                                start: start as u32,
                                end: end as u32,
                                escaped,
                                duplicate,
                                mantissa,
                                decimals,
                            });
                        }
                    }
                }
                None => {
                    self.depth_limit = MAX_SKIP_DEPTH;
                    self.value()?;
                    self.depth_limit = usize::MAX;
                }
            }
            if !matches!(self.peek(), Some(b',' | b'}')) {
                self.ws();
            }
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    if self.peek() != Some(b'"') {
                        self.ws();
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return fail(self.i, "expected ',' or '}'"),
            }
        }
    }

    /// Parses any value; returns its kind and span (string spans exclude the quotes).
    fn value(&mut self) -> Res<(Kind, usize, usize, bool)> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                let (s, e, esc) = self.string()?;
                Ok((Kind::Str, s, e, esc))
            }
            Some(b'{') => {
                self.skip_container(self.depth_limit)?;
                Ok((Kind::Obj, start, self.i, false))
            }
            Some(b'[') => {
                self.skip_container(self.depth_limit)?;
                Ok((Kind::Arr, start, self.i, false))
            }
            Some(b't') => self.literal(b"true", Kind::True),
            Some(b'f') => self.literal(b"false", Kind::False),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => {
                let (m, d) = self.number()?;
                self.num = (m, d);
                Ok((Kind::Num, start, self.i, false))
            }
            Some(_) => fail(self.i, "expected a value"),
            None => fail(self.i, "unexpected end of line"),
        }
    }

    fn literal(&mut self, word: &'static [u8], kind: Kind) -> Res<(Kind, usize, usize, bool)> {
        let start = self.i;
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok((kind, start, self.i, false))
        } else {
            fail(self.i, "invalid literal")
        }
    }

    /// Validates and skips the object or array at `{`/`[` without recursion, so nesting depth is
    /// bounded only by the line's length (no schema column lies inside such a value).
    fn skip_container(&mut self, limit: usize) -> Res<()> {
        #[derive(Clone, Copy, PartialEq)]
        enum Want {
            Key,
            Value,
            CommaOrClose,
        }
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let result = (|| -> Res<()> {
            let mut want;
            // Opens the container at `self.i`.
            // Opens the container at `self.i`. An empty one is a complete value at once and does
            // not count toward the depth, as in ClickHouse's skipping of unknown values.
            macro_rules! open {
                ($c:expr) => {{
                    let close = if $c == b'{' { b'}' } else { b']' };
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(close) {
                        self.i += 1;
                        if stack.is_empty() {
                            return Ok(());
                        }
                        want = Want::CommaOrClose;
                    } else {
                        if stack.len() >= limit {
                            return fail(self.i, "nesting too deep");
                        }
                        stack.push($c);
                        want = if $c == b'{' { Want::Key } else { Want::Value };
                    }
                }};
            }
            let first = self.b[self.i];
            open!(first);
            loop {
                match want {
                    Want::Key => {
                        if self.peek() != Some(b'"') {
                            return fail(self.i, "expected a key in double quotes");
                        }
                        self.string()?;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return fail(self.i, "expected ':' after a key");
                        }
                        self.i += 1;
                        self.ws();
                        want = Want::Value;
                    }
                    Want::Value => {
                        match self.peek() {
                            Some(c @ (b'{' | b'[')) => {
                                open!(c);
                                continue;
                            }
                            Some(b'"') => {
                                self.string()?;
                            }
                            Some(b't') => {
                                self.literal(b"true", Kind::True)?;
                            }
                            Some(b'f') => {
                                self.literal(b"false", Kind::False)?;
                            }
                            Some(b'n') => {
                                self.literal(b"null", Kind::Null)?;
                            }
                            Some(b'-' | b'0'..=b'9') => {
                                self.number()?;
                            }
                            Some(_) => return fail(self.i, "expected a value"),
                            None => return fail(self.i, "unexpected end of line"),
                        }
                        want = Want::CommaOrClose;
                    }
                    Want::CommaOrClose => {
                        self.ws();
                        let top = stack.last().copied().unwrap_or(b'[');
                        match (self.peek(), top) {
                            (Some(b','), _) => {
                                self.i += 1;
                                self.ws();
                                want = if top == b'{' { Want::Key } else { Want::Value };
                            }
                            (Some(b'}'), b'{') | (Some(b']'), b'[') => {
                                self.i += 1;
                                stack.pop();
                                if stack.is_empty() {
                                    return Ok(());
                                }
                            }
                            (_, b'{') => return fail(self.i, "expected ',' or '}'"),
                            _ => return fail(self.i, "expected ',' or ']'"),
                        }
                    }
                }
            }
        })();
        self.stack = stack;
        result
    }

    /// Parses a string at `"`; returns the content span and whether it has escapes.
    #[inline]
    fn string(&mut self) -> Res<(usize, usize, bool)> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let rest = self.b.get(self.i..).unwrap_or(&[]);
            match simd::find2(rest, b'"', b'\\') {
                None => return fail(self.b.len(), "unterminated string"),
                Some(p) => {
                    self.i += p;
                    if self.b[self.i] == b'"' {
                        let end = self.i;
                        self.i += 1;
                        return Ok((start, end, escaped));
                    }
                    escaped = true;
                    let at = self.i;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let unit = hex4(self.b, self.i + 1);
                            match unit {
                                Some(0xD800..=0xDBFF) => {
                                    let low = if self.b.get(self.i + 5..self.i + 7) == Some(b"\\u")
                                    {
                                        hex4(self.b, self.i + 7)
                                    } else {
                                        None
                                    };
                                    match low {
                                        Some(0xDC00..=0xDFFF) => self.i += 11,
                                        _ => return fail(at, "lone surrogate in \\u escape"),
                                    }
                                }
                                Some(_) => self.i += 5,
                                None => return fail(at, "invalid \\u escape"),
                            }
                        }
                        _ => return fail(at, "invalid escape"),
                    }
                }
            }
        }
    }

    /// Parses a number; returns (mantissa, decimals) as described on [`Found`].
    #[inline]
    fn number(&mut self) -> Res<(u64, u8)> {
        let b = self.b;
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        let mut m: u64 = 0;
        i = digit_run(b, i, &mut m);
        let int_digits = i - int_start;
        if int_digits == 0 {
            self.i = i;
            return fail(i, "invalid number");
        }
        if int_digits > 1 && b[int_start] == b'0' {
            self.i = int_start + 1;
            return fail(int_start + 1, "invalid number: leading zero");
        }
        let mut digits = int_digits;
        let mut decimals = 0usize;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            i = digit_run(b, i, &mut m);
            decimals = i - frac_start;
            if decimals == 0 {
                self.i = i;
                return fail(i, "invalid number: digit expected after '.'");
            }
            digits += decimals;
        }
        let mut exact = digits <= 19;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            exact = false;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp_start = i;
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
            if i == exp_start {
                self.i = i;
                return fail(i, "invalid number: digit expected in exponent");
            }
        }
        self.i = i;
        Ok(if exact {
            (m, decimals as u8)
        } else {
            (0, u8::MAX)
        })
    }
}

/// Reads the run of ASCII digits of `b` from `i`, appending each to `m` (wrapping: the caller
/// keeps `m` only for at most 19 digits); returns the position after the run. Eight digits at a
/// time while eight bytes remain.
#[inline(always)]
fn digit_run(b: &[u8], mut i: usize, m: &mut u64) -> usize {
    while let Some(w) = simd::word(b, i) {
        let n = simd::leading_digits(w);
        if n == 0 {
            return i;
        }
        *m = m
            .wrapping_mul(simd::POW10[n])
            .wrapping_add(simd::digits_value(w, n));
        i += n;
        if n < 8 {
            return i;
        }
    }
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        *m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    i
}

/// Whitespace between tokens, as ClickHouse skips it: JSON's four plus vertical tab and form feed.
#[inline]
pub fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Equality of two short byte strings of equal length, eight bytes at a time (inlined; a `memcmp`
/// call costs more than the comparison for keys this short, in wasm above all).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let mut wx = [0u8; 8];
        let mut wy = [0u8; 8];
        wx.copy_from_slice(x);
        wy.copy_from_slice(y);
        if u64::from_ne_bytes(wx) != u64::from_ne_bytes(wy) {
            return false;
        }
    }
    ca.remainder()
        .iter()
        .zip(cb.remainder())
        .all(|(x, y)| x == y)
}

/// Decodes the escapes of a JSON string's content into `out`. On error returns the offset.
pub fn unescape_into(s: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' {
            let run = simd::find2(&s[i..], b'\\', b'\\').unwrap_or(s.len() - i);
            out.extend_from_slice(&s[i..i + run]);
            i += run;
            continue;
        }
        let e = *s.get(i + 1).ok_or(i)?;
        i += 2;
        match e {
            b'"' => out.push(b'"'),
            b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'u' => {
                let hi = hex4(s, i).ok_or(i)?;
                i += 4;
                let cp = if (0xD800..0xDC00).contains(&hi) {
                    if s.get(i) == Some(&b'\\') && s.get(i + 1) == Some(&b'u') {
                        let lo = hex4(s, i + 2).ok_or(i)?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return Err(i);
                        }
                        i += 6;
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        return Err(i);
                    }
                } else if (0xDC00..0xE000).contains(&hi) {
                    return Err(i);
                } else {
                    hi
                };
                let ch = char::from_u32(cp).ok_or(i)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(i - 2),
        }
    }
    Ok(())
}

fn hex4(s: &[u8], i: usize) -> Option<u32> {
    let h = s.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie() -> PathTrie {
        let paths: Vec<Vec<String>> = vec![
            vec!["a".into()],
            vec!["m".into(), "x".into()],
            vec!["m".into(), "y".into()],
        ];
        PathTrie::new(paths.iter().map(|p| p.as_slice()))
    }

    fn scan(line: &str) -> Result<Vec<Option<Found>>, SyntaxError> {
        let mut f = vec![None; 3];
        scan_line(line.as_bytes(), &trie(), &mut f)?;
        Ok(f)
    }

    #[test]
    fn finds_nested_paths_and_skips_the_rest() {
        let line = r#"{"z":[1,{"a":2}],"a":"h\"i","m":{"y":-1.5e3,"x":null,"q":{}}}"#;
        let f = scan(line).unwrap();
        let a = f[0].unwrap();
        assert_eq!(
            (a.kind, &line[a.start as usize..a.end as usize], a.escaped),
            (Kind::Str, r#"h\"i"#, true)
        );
        assert_eq!(f[1].unwrap().kind, Kind::Null);
        let y = f[2].unwrap();
        assert_eq!(&line[y.start as usize..y.end as usize], "-1.5e3");
    }

    #[test]
    fn syntax_errors_have_positions() {
        for (line, at) in [
            ("{\"a\":1", 6),
            ("[1]", 0),
            ("{\"a\":01}", 6),
            ("{\"a\":tru}", 5),
            ("{\"a\":1} x", 8),
            ("{\"a\":\"\\x\"}", 6),
            ("{'a':1}", 1),
        ] {
            let e = scan(line).unwrap_err();
            assert_eq!(e.at, at, "{line}: {e:?}");
        }
        let deep = "[".repeat(10_000);
        assert!(scan(&format!("{{\"q\":{deep}}}")).is_err());
    }

    #[test]
    fn short_byte_comparison() {
        for (a, b) in [
            ("", ""),
            ("a", "a"),
            ("\"event_time\"", "\"event_time\""),
            ("\"completion_tokens\"", "\"completion_tokenz\""),
        ] {
            assert_eq!(same_bytes(a.as_bytes(), b.as_bytes()), a == b, "{a} {b}");
        }
        assert!(!same_bytes(b"abc", b"abcd"));
        assert!(!same_bytes(b"xbcdefghij", b"abcdefghij"));
    }

    #[test]
    fn skipped_values_are_validated_without_recursion() {
        for ok in [
            r#"{"z":{},"a":1}"#,
            r#"{"z":[[],{}, [ {"k":[1,"x",null]} ]],"a":1}"#,
            r#"{"z":{ "q" : [ ] },"a":1}"#,
        ] {
            assert!(scan(ok).is_ok(), "{ok}");
        }
        for bad in [
            r#"{"z":[1,],"a":1}"#,
            r#"{"z":{"k"},"a":1}"#,
            r#"{"z":[}],"a":1}"#,
            r#"{"z":{"k":1]}"#,
            r#"{"z":[1 2]}"#,
        ] {
            assert!(scan(bad).is_err(), "{bad}");
        }
        // Under a key outside the schema, nesting stops at MAX_SKIP_DEPTH non-empty levels;
        // empty innermost containers do not count.
        let nest = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(scan(&format!("{{\"z\":{}}}", nest(MAX_SKIP_DEPTH + 1))).is_ok());
        assert!(scan(&format!("{{\"z\":{}}}", nest(MAX_SKIP_DEPTH + 2))).is_err());
        // A column's own value may nest deeper (it is stored as text).
        let f = scan(&format!("{{\"a\":{}}}", nest(5000))).unwrap();
        assert_eq!(f[0].unwrap().kind, Kind::Arr);
    }

    #[test]
    fn duplicates_are_flagged() {
        let f = scan(r#"{"a":1,"a":2}"#).unwrap();
        assert!(f[0].unwrap().duplicate);
    }

    #[test]
    fn unescape() {
        let mut out = Vec::new();
        unescape_into(br#"a\u00e9\n\ud83d\ude00\"\/"#, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\u{e9}\n\u{1F600}\"/");
        assert!(unescape_into(br"\ud83d", &mut Vec::new()).is_err());
        assert!(unescape_into(br"\ude00", &mut Vec::new()).is_err());
    }
}

#[cfg(test)]
mod nested_tests {
    use super::*;

    /// Keys outside the schema inside a nested object, after a match at a level with more
    /// children, searched the nested level's children from the outer level's position.
    #[test]
    fn unknown_keys_in_nested_objects_are_skipped() {
        let paths: Vec<Vec<String>> = vec![
            vec!["a".into()],
            vec!["b".into()],
            vec!["c".into()],
            vec!["r".into(), "u".into(), "p".into()],
        ];
        let trie = PathTrie::new(paths.iter().map(|p| p.as_slice()));
        let line = r#"{"a":1,"b":2,"c":3,"r":{"id":"x","u":{"q":[1],"p":7,"z":{}},"k":null}}"#;
        let mut f = vec![None; 4];
        scan_line(line.as_bytes(), &trie, &mut f).unwrap();
        let p = f[3].unwrap();
        assert_eq!(&line[p.start as usize..p.end as usize], "7");
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    /// The mantissa and decimals of a plain number's text, digit by digit.
    fn reference(text: &str) -> (u64, u8) {
        let body = text.trim_start_matches('-');
        if body.contains(['e', 'E']) {
            return (0, u8::MAX);
        }
        let digits: Vec<u8> = body.bytes().filter(u8::is_ascii_digit).collect();
        if digits.len() > 19 {
            return (0, u8::MAX);
        }
        let m = digits
            .iter()
            .fold(0u64, |m, &c| m * 10 + u64::from(c - b'0'));
        let decimals = body.split_once('.').map_or(0, |(_, f)| f.len());
        (m, decimals as u8)
    }

    /// Numbers of every length of integer and fraction part up to 24 digits, followed by each
    /// byte that can end a number, read eight digits at a time where eight bytes remain.
    #[test]
    fn numbers_match_a_digit_by_digit_reading() {
        let digits = b"9081726354190817263541";
        for int_len in 1..=22 {
            for frac_len in [0, 1, 2, 7, 8, 9, 15, 16, 17] {
                for (tail, sign) in [("", ""), ("}", "-"), (",\"a\":1}", ""), (" ", "-")] {
                    let mut text = String::from(sign);
                    // No leading zero: the first digit is 9.
                    text.push_str(std::str::from_utf8(&digits[..int_len]).unwrap());
                    if frac_len > 0 {
                        text.push('.');
                        let f: String = (0..frac_len)
                            .map(|k| char::from(b'0' + (k * 7 % 10) as u8))
                            .collect();
                        text.push_str(&f);
                    }
                    let line = format!("{text}{tail}");
                    let mut s = Scanner {
                        b: line.as_bytes(),
                        i: 0,
                        key_buf: Vec::new(),
                        num: (0, u8::MAX),
                        stack: Vec::new(),
                        depth_limit: usize::MAX,
                    };
                    let got = s.number().unwrap();
                    assert_eq!(got, reference(&text), "{line}");
                    assert_eq!(s.i, text.len(), "{line}");
                }
            }
        }
        for (bad, at) in [
            ("1.", 2),
            ("1.x", 2),
            ("-", 1),
            ("-x", 1),
            ("012345678", 1),
            ("1e+", 3),
        ] {
            let mut s = Scanner {
                b: bad.as_bytes(),
                i: 0,
                key_buf: Vec::new(),
                num: (0, u8::MAX),
                stack: Vec::new(),
                depth_limit: usize::MAX,
            };
            assert_eq!(s.number().unwrap_err().at, at, "{bad}");
        }
    }
}
