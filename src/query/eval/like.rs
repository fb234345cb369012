//! `LIKE` and `ILIKE` patterns, compiled once and matched without recursion.

/// A compiled `LIKE` pattern.
#[derive(Debug, Clone)]
pub struct Like {
    parts: Vec<LikePart>,
    ci: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum LikePart {
    Lit(Vec<u8>),
    One,
    Any,
}

impl Like {
    /// Compiles a `LIKE` pattern (`%`, `_`, backslash escapes); `ci` for `ILIKE`.
    pub fn new(pattern: &str, ci: bool) -> Like {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let b = pattern.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if i + 1 < b.len() => {
                    lit.push(b[i + 1]);
                    i += 1;
                }
                b'%' | b'_' => {
                    if !lit.is_empty() {
                        parts.push(LikePart::Lit(std::mem::take(&mut lit)));
                    }
                    let p = if b[i] == b'%' {
                        LikePart::Any
                    } else {
                        LikePart::One
                    };
                    if !(p == LikePart::Any && parts.last() == Some(&LikePart::Any)) {
                        parts.push(p);
                    }
                }
                c => lit.push(c),
            }
            i += 1;
        }
        if !lit.is_empty() {
            parts.push(LikePart::Lit(lit));
        }
        if ci {
            for p in &mut parts {
                if let LikePart::Lit(l) = p {
                    *l = String::from_utf8_lossy(l).to_lowercase().into_bytes();
                }
            }
        }
        Like { parts, ci }
    }

    /// True when `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        if self.ci {
            let lower = s.to_lowercase();
            like_at(&self.parts, lower.as_bytes())
        } else {
            like_at(&self.parts, s.as_bytes())
        }
    }
}

fn utf8_char_len(b: u8) -> usize {
    match b {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xff => 4,
        _ => 1,
    }
}

/// Matches `s` against the pattern parts without recursion: on a mismatch, the last `%` takes
/// one more character (O(pattern × text) at worst).
fn like_at(parts: &[LikePart], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(part) = parts.get(p) {
            match part {
                LikePart::Any => {
                    star = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                LikePart::Lit(l) if s[i..].starts_with(l) => {
                    i += l.len();
                    p += 1;
                    continue;
                }
                LikePart::One if i < s.len() => {
                    i += utf8_char_len(s[i]).min(s.len() - i);
                    p += 1;
                    continue;
                }
                _ => {}
            }
        } else if i == s.len() {
            return true;
        }
        match star {
            Some((sp, si)) if si < s.len() => {
                let next = si + utf8_char_len(s[si]).min(s.len() - si);
                star = Some((sp, next));
                p = sp;
                i = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        let l = Like::new("gpt-%", false);
        assert!(l.matches("gpt-4o") && !l.matches("claude"));
        assert!(Like::new("a_c", false).matches("abc"));
        assert!(
            Like::new("a\\_c", false).matches("a_c") && !Like::new("a\\_c", false).matches("abc")
        );
        assert!(Like::new("%o%", false).matches("gpt-4o"));
        assert!(Like::new("A%", true).matches("abc"));
        assert!(!Like::new("A%", false).matches("abc"));
        assert!(Like::new("_é", false).matches("aé"));
        assert!(Like::new("%É%", true).matches("café é"));
        assert!(!Like::new("a%b", false).matches("ab\u{e9}c"));
        assert!(Like::new("%%b_", false).matches("xxbé"));
        // Many wildcards against a long text: linear backtracking, not exponential (which would
        // not end at all); the bound is a guard with room for a loaded machine, not a target.
        let long = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!Like::new("%a%a%a%a%a%a%a%a%a%a%a%a%b", false).matches(&long));
        assert!(start.elapsed().as_secs() < 60);
    }
}
