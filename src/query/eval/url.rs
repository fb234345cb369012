//! URL functions: parts of a URL (`domain`, `domainWithoutWWW`, `topLevelDomain`, `protocol`,
//! `path`, `pathFull`, `queryString`, `fragment`, `queryStringAndFragment`,
//! `extractURLParameter`) and the URL without some of them (`cutWWW`, `cutQueryString`,
//! `cutFragment`, `cutQueryStringAndFragment`), read as ClickHouse reads them: by the bytes,
//! without checking that the text is a well-formed URL.

/// A URL function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlFn {
    /// `domain`: the host.
    Domain,
    /// `domainWithoutWWW`: the host without a leading `www.`.
    DomainWithoutWww,
    /// `topLevelDomain`: the host's last label (none for an IPv4 address).
    TopLevelDomain,
    /// `protocol`: the scheme before `:`.
    Protocol,
    /// `path`: from the first `/` after the host up to `?` or `#`.
    Path,
    /// `pathFull`: the path with the query string and fragment.
    PathFull,
    /// `queryString`: after `?` up to `#`.
    QueryString,
    /// `fragment`: after `#`.
    Fragment,
    /// `queryStringAndFragment`: after `?` (or `#` without a `?`).
    QueryStringAndFragment,
    /// `cutWWW`: the URL without the `www.` its host starts with.
    CutWww,
    /// `cutQueryString`: the URL without `?…` up to `#`.
    CutQueryString,
    /// `cutFragment`: the URL without `#…`.
    CutFragment,
    /// `cutQueryStringAndFragment`: the URL without `?…` and `#…`.
    CutQueryStringAndFragment,
    /// `extractURLParameter(url, name)`: the value of the first parameter `name`.
    Parameter(String),
}

impl UrlFn {
    /// The function a name calls with `arity` arguments, if it is a URL function.
    pub fn of(name: &str) -> Option<UrlFn> {
        Some(match name {
            "domain" => UrlFn::Domain,
            "domainWithoutWWW" => UrlFn::DomainWithoutWww,
            "topLevelDomain" => UrlFn::TopLevelDomain,
            "protocol" => UrlFn::Protocol,
            "path" => UrlFn::Path,
            "pathFull" => UrlFn::PathFull,
            "queryString" => UrlFn::QueryString,
            "fragment" => UrlFn::Fragment,
            "queryStringAndFragment" => UrlFn::QueryStringAndFragment,
            "cutWWW" => UrlFn::CutWww,
            "cutQueryString" => UrlFn::CutQueryString,
            "cutFragment" => UrlFn::CutFragment,
            "cutQueryStringAndFragment" => UrlFn::CutQueryStringAndFragment,
            "extractURLParameter" => UrlFn::Parameter(String::new()),
            _ => return None,
        })
    }

    /// The function's value for one text.
    pub fn apply(&self, url: &str) -> String {
        let b = url.as_bytes();
        let piece = |r: std::ops::Range<usize>| {
            String::from_utf8_lossy(b.get(r).unwrap_or(&[])).into_owned()
        };
        let cut = |r: std::ops::Range<usize>| {
            let mut out = b.get(..r.start).unwrap_or(&[]).to_vec();
            out.extend_from_slice(b.get(r.end..).unwrap_or(&[]));
            String::from_utf8_lossy(&out).into_owned()
        };
        match self {
            UrlFn::Domain => piece(host(b).unwrap_or(0..0)),
            UrlFn::DomainWithoutWww => {
                let mut h = host(b).unwrap_or(0..0);
                if h.len() > 4 && b.get(h.start..h.start + 4) == Some(b"www.") {
                    h.start += 4;
                }
                piece(h)
            }
            UrlFn::TopLevelDomain => piece(top_level_domain(b).unwrap_or(0..0)),
            UrlFn::Protocol => piece(protocol(b)),
            UrlFn::Path => piece(path(b, false)),
            UrlFn::PathFull => piece(path(b, true)),
            UrlFn::QueryString => piece(query_string(b, 1)),
            UrlFn::Fragment => piece(fragment(b, 1)),
            UrlFn::QueryStringAndFragment => piece(query_and_fragment(b, 1)),
            UrlFn::CutWww => cut(www(b)),
            UrlFn::CutQueryString => cut(query_string(b, 0)),
            UrlFn::CutFragment => cut(fragment(b, 0)),
            UrlFn::CutQueryStringAndFragment => cut(query_and_fragment(b, 0)),
            UrlFn::Parameter(name) => piece(parameter(b, name.as_bytes())),
        }
    }
}

/// The byte at `i`, or 0 past the end (as ClickHouse reads its zero-terminated strings).
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Bytes no host may hold: a URL with one of them before the host ends has none.
fn restricted(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t'
            | b'<'
            | b'>'
            | b'%'
            | b'{'
            | b'}'
            | b'|'
            | b'\\'
            | b'^'
            | b'~'
            | b'['
            | b']'
            | b';'
            | b'='
            | b'&'
    )
}

/// Where the host starts: after `//`, or after a scheme of at most 15 bytes and `://`, else
/// at the start; `None` for a restricted byte in what may be the scheme.
fn host_start(b: &[u8]) -> Option<usize> {
    if at(b, 0) == b'/' && at(b, 1) == b'/' {
        return Some(2);
    }
    let scheme_end = b.len().min(16);
    let mut pos = 1;
    while pos < scheme_end {
        let c = at(b, pos);
        if !c.is_ascii_alphanumeric() {
            match c {
                b'.' | b'-' | b'+' => {}
                c if restricted(c) => return None,
                _ => break,
            }
        }
        pos += 1;
    }
    let rest = scheme_end as isize - pos as isize;
    if rest > 2 && at(b, pos) == b':' && at(b, pos + 1) == b'/' && at(b, pos + 2) == b'/' {
        Some(pos + 3)
    } else {
        Some(0)
    }
}

/// The host's bytes, if it has a dot followed by a byte that does not end it.
fn host(b: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut pos = host_start(b)?;
    let mut start = pos;
    let mut dot = None;
    while pos < b.len() {
        match at(b, pos) {
            b'.' => dot = Some(pos),
            b':' | b'/' | b'?' | b'#' => break,
            b'@' => start = pos + 1,
            c if restricted(c) => return None,
            _ => {}
        }
        pos += 1;
    }
    let dot = dot?;
    if start >= pos || pos - dot == 1 {
        return None;
    }
    if matches!(at(b, dot + 1), b':' | b'/' | b'?' | b'#') {
        return None;
    }
    Some(start..pos)
}

/// The host's last label, without a trailing dot; none when it starts with a digit.
fn top_level_domain(b: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut h = host(b)?;
    if at(b, h.end.checked_sub(1)?) == b'.' {
        h.end -= 1;
    }
    let last_dot = (h.start..h.end).rev().find(|i| at(b, *i) == b'.')?;
    if at(b, last_dot + 1) <= b'9' {
        return None;
    }
    Some(last_dot + 1..h.end)
}

/// The scheme, when `:` follows it with at least three more bytes.
fn protocol(b: &[u8]) -> std::ops::Range<usize> {
    if !at(b, 0).is_ascii_alphabetic() {
        return 0..0;
    }
    let mut pos = 1;
    while pos < b.len()
        && matches!(at(b, pos), c if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        pos += 1;
    }
    if b.len() - pos < 4 || at(b, pos) != b':' {
        return 0..0;
    }
    0..pos
}

/// The first index of one of `set` from `from` on, or the end.
fn find(b: &[u8], from: usize, set: &[u8]) -> usize {
    (from..b.len())
        .find(|i| set.contains(&at(b, *i)))
        .unwrap_or(b.len())
}

/// The path: from the first `/` (the one after the host when that `/` starts `//`), up to
/// `?` or `#` unless `full`.
fn path(b: &[u8], full: bool) -> std::ops::Range<usize> {
    let mut start = find(b, 0, b"/");
    if start == b.len() {
        return 0..0;
    }
    if at(b, start + 1) == b'/' {
        start = find(b, start + 2, b"/");
        if start == b.len() {
            return 0..0;
        }
    }
    let end = if full { b.len() } else { find(b, start, b"?#") };
    start..end
}

/// The query string (with its `?` when `skip` is 0), up to `#`.
fn query_string(b: &[u8], skip: usize) -> std::ops::Range<usize> {
    let q = find(b, 0, b"?");
    if q == b.len() {
        return 0..0;
    }
    let start = q + skip;
    start..find(b, start, b"#")
}

/// The fragment (with its `#` when `skip` is 0).
fn fragment(b: &[u8], skip: usize) -> std::ops::Range<usize> {
    let f = find(b, 0, b"#");
    if f == b.len() {
        return 0..0;
    }
    f + skip..b.len()
}

/// From `?` (or `#` when there is no `?`) to the end, the mark itself included when `skip`
/// is 0.
fn query_and_fragment(b: &[u8], skip: usize) -> std::ops::Range<usize> {
    let q = find(b, 0, b"?");
    if q != b.len() {
        return q + skip..b.len();
    }
    fragment(b, skip)
}

/// The `www.` after the scheme's `://` (or after a leading `//`, or any three bytes ending in
/// `//`), when more follows it.
fn www(b: &[u8]) -> std::ops::Range<usize> {
    let scheme = protocol(b).end;
    // A URL without a scheme may start with `//`.
    let pos = if scheme == 0 && b.starts_with(b"//") {
        2
    } else {
        scheme + 3
    };
    if pos >= b.len() || at(b, pos - 1) != b'/' || at(b, pos - 2) != b'/' {
        return 0..0;
    }
    if pos + 4 < b.len() && b.get(pos..pos + 4) == Some(b"www.") {
        pos..pos + 4
    } else {
        0..0
    }
}

/// The value of the first parameter `name` after the first `?` or `#`: the first `name=`
/// that follows `?`, `#` or `&`, up to the next `&` or `#`.
fn parameter(b: &[u8], name: &[u8]) -> std::ops::Range<usize> {
    let begin = find(b, 0, b"?#");
    if begin == b.len() {
        return 0..0;
    }
    let mut key = name.to_vec();
    key.push(b'=');
    let mut pos = begin + 1;
    while let Some(hit) = b
        .get(pos..)
        .and_then(|rest| rest.windows(key.len()).position(|w| w == key.as_slice()))
    {
        let at_key = pos + hit;
        pos = at_key + key.len();
        if matches!(at(b, at_key.wrapping_sub(1)), b'?' | b'#' | b'&') {
            return pos..find(b, pos, b"&#");
        }
    }
    0..0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_urls() {
        // Expected values as ClickHouse's documentation gives them.
        let u = "https://www.example.com:8080/a/b?x=1&y=2#frag";
        assert_eq!(UrlFn::Domain.apply(u), "www.example.com");
        assert_eq!(UrlFn::DomainWithoutWww.apply(u), "example.com");
        assert_eq!(UrlFn::TopLevelDomain.apply(u), "com");
        assert_eq!(UrlFn::Protocol.apply(u), "https");
        assert_eq!(UrlFn::Path.apply(u), "/a/b");
        assert_eq!(UrlFn::PathFull.apply(u), "/a/b?x=1&y=2#frag");
        assert_eq!(UrlFn::QueryString.apply(u), "x=1&y=2");
        assert_eq!(UrlFn::Fragment.apply(u), "frag");
        assert_eq!(
            UrlFn::CutQueryString.apply(u),
            "https://www.example.com:8080/a/b#frag"
        );
        assert_eq!(
            UrlFn::CutWww.apply(u),
            "https://example.com:8080/a/b?x=1&y=2#frag"
        );
        assert_eq!(UrlFn::Parameter("y".into()).apply(u), "2");
        assert_eq!(UrlFn::Domain.apply("localhost"), "");
        assert_eq!(UrlFn::TopLevelDomain.apply("http://127.0.0.1/"), "");
        assert_eq!(UrlFn::Domain.apply(""), "");
    }
}
