//! `multiSearchAny`, `multiSearchAnyCaseInsensitive` (and their `UTF8` forms, which find the
//! same bytes) and `multiMatchAny`: whether a text holds any of a constant list of needles or
//! matches any of a list of patterns.

use super::regexp::RegexpFn;

/// What a multi-needle search looks for.
#[derive(Debug, Clone)]
pub enum MultiFn {
    /// Substrings; `true` compares ASCII letters without their case.
    Search(Vec<String>, bool),
    /// Regular expressions.
    Match(Vec<RegexpFn>),
}

impl MultiFn {
    /// Whether `s` holds a needle or matches a pattern.
    pub fn any(&self, s: &str) -> bool {
        match self {
            MultiFn::Search(needles, false) => needles.iter().any(|n| s.contains(n.as_str())),
            MultiFn::Search(needles, true) => {
                let hay = s.to_ascii_lowercase();
                needles
                    .iter()
                    .any(|n| hay.contains(n.to_ascii_lowercase().as_str()))
            }
            MultiFn::Match(res) => res.iter().any(|r| r.matches(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_and_patterns() {
        let s = MultiFn::Search(vec!["bot".into(), "crawl".into()], false);
        assert!(s.any("Googlebot/2.1"));
        assert!(!s.any("Mozilla"));
        let ci = MultiFn::Search(vec!["BOT".into()], true);
        assert!(ci.any("Googlebot"));
        let m = MultiFn::Match(vec![RegexpFn::new("match", "^a+b$", None).unwrap()]);
        assert!(m.any("aab"));
        assert!(!m.any("aabc"));
    }
}
