//! The regular expressions of the price table's model-matching rules: a small backtracking
//! matcher for the subset they use (anchors, `.`, `\d`, escaped literals, classes such as
//! `[tT]` and `[^/]`, groups with alternation, `?` `*` `+` `{n}` `{n,m}`, and negative
//! lookahead `(?!...)`), searching anywhere in the text as JavaScript's `RegExp.test` does.
//! A pattern outside the subset is refused when the table is read, and text longer than
//! [`MAX_TEXT`] characters never matches, which bounds the matcher's recursion.

/// Longest text matched (model names are far shorter).
pub const MAX_TEXT: usize = 256;
/// Deepest group nesting in a pattern.
const MAX_NESTING: usize = 16;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Char(char),
    Any,
    Digit,
    Class(bool, Vec<(char, char)>),
    Start,
    End,
    Group(Vec<Vec<Node>>),
    NotAhead(Vec<Vec<Node>>),
    Repeat(Box<Node>, usize, usize),
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Regex {
    alternatives: Vec<Vec<Node>>,
}

impl Regex {
    /// Compiles `pattern`, or says why it is outside the supported subset.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser { c: &chars, i: 0 };
        let alternatives = p.alternation(0)?;
        if p.i != chars.len() {
            return Err(format!("unexpected ')' in /{pattern}/"));
        }
        Ok(Regex { alternatives })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        if s.len() > MAX_TEXT {
            return false;
        }
        (0..=s.len()).any(|start| alt(&self.alternatives, &s, start, &mut |_| true))
    }
}

struct Parser<'a> {
    c: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn alternation(&mut self, depth: usize) -> Result<Vec<Vec<Node>>, String> {
        if depth > MAX_NESTING {
            return Err("groups nested too deep".into());
        }
        let mut alts = vec![Vec::new()];
        while let Some(&ch) = self.c.get(self.i) {
            match ch {
                ')' => break,
                '|' => {
                    self.i += 1;
                    alts.push(Vec::new());
                }
                _ => {
                    let atom = self.atom(depth)?;
                    let node = self.quantified(atom)?;
                    if let Some(last) = alts.last_mut() {
                        last.push(node);
                    }
                }
            }
        }
        Ok(alts)
    }

    fn atom(&mut self, depth: usize) -> Result<Node, String> {
        let ch = self.c[self.i];
        self.i += 1;
        Ok(match ch {
            '^' => Node::Start,
            '$' => Node::End,
            '.' => Node::Any,
            '(' => {
                let ahead = self.c.get(self.i..self.i + 2) == Some(&['?', '!']);
                let plain = self.c.get(self.i..self.i + 2) == Some(&['?', ':']);
                if ahead || plain {
                    self.i += 2;
                } else if self.c.get(self.i) == Some(&'?') {
                    return Err("unsupported group".into());
                }
                let inner = self.alternation(depth + 1)?;
                if self.c.get(self.i) != Some(&')') {
                    return Err("unclosed group".into());
                }
                self.i += 1;
                if ahead {
                    Node::NotAhead(inner)
                } else {
                    Node::Group(inner)
                }
            }
            '[' => self.class()?,
            '\\' => self.escape()?,
            '*' | '+' | '?' | '{' => return Err(format!("nothing to repeat at '{ch}'")),
            c => Node::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Node, String> {
        let ch = *self.c.get(self.i).ok_or("trailing backslash")?;
        self.i += 1;
        match ch {
            'd' => Ok(Node::Digit),
            c if c.is_ascii_punctuation() => Ok(Node::Char(c)),
            c => Err(format!("unsupported escape \\{c}")),
        }
    }

    fn class(&mut self) -> Result<Node, String> {
        let negated = self.c.get(self.i) == Some(&'^');
        if negated {
            self.i += 1;
        }
        let mut items = Vec::new();
        loop {
            let ch = *self.c.get(self.i).ok_or("unclosed class")?;
            self.i += 1;
            let lo = match ch {
                ']' if !items.is_empty() => return Ok(Node::Class(negated, items)),
                '\\' => {
                    let e = *self.c.get(self.i).ok_or("unclosed class")?;
                    self.i += 1;
                    if e == 'd' {
                        items.push(('0', '9'));
                        continue;
                    }
                    e
                }
                c => c,
            };
            if self.c.get(self.i) == Some(&'-') && self.c.get(self.i + 1).is_some_and(|&c| c != ']')
            {
                let hi = self.c[self.i + 1];
                self.i += 2;
                items.push((lo, hi));
            } else {
                items.push((lo, lo));
            }
        }
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let Some(&q) = self.c.get(self.i) else {
            return Ok(atom);
        };
        let (min, max) = match q {
            '?' => (0, 1),
            '*' => (0, usize::MAX),
            '+' => (1, usize::MAX),
            '{' => {
                let close = self.c[self.i..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or("unclosed {")?;
                let body: String = self.c[self.i + 1..self.i + close].iter().collect();
                let num = |t: &str| {
                    t.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad count {{{body}}}"))
                };
                let (min, max) = match body.split_once(',') {
                    None => {
                        let n = num(&body)?;
                        (n, n)
                    }
                    Some((a, "")) => (num(a)?, usize::MAX),
                    Some((a, b)) => (num(a)?, num(b)?),
                };
                self.i += close;
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.i += 1;
        if matches!(self.c.get(self.i), Some('?' | '+')) {
            return Err("lazy or possessive quantifiers are not supported".into());
        }
        Ok(Node::Repeat(Box::new(atom), min, max))
    }
}

/// Matches one of `alts` at `i`, then the continuation `k`.
fn alt(alts: &[Vec<Node>], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    alts.iter().any(|seq| seq_match(seq, s, i, k))
}

fn seq_match(seq: &[Node], s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    let Some((first, rest)) = seq.split_first() else {
        return k(i);
    };
    node_match(first, s, i, &mut |j| seq_match(rest, s, j, k))
}

fn single(node: &Node, c: char) -> bool {
    match node {
        Node::Char(x) => *x == c,
        Node::Any => c != '\n',
        Node::Digit => c.is_ascii_digit(),
        Node::Class(neg, items) => items.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *neg,
        _ => false,
    }
}

fn node_match(node: &Node, s: &[char], i: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
    match node {
        Node::Start => i == 0 && k(i),
        Node::End => i == s.len() && k(i),
        Node::Group(alts) => alt(alts, s, i, k),
        Node::NotAhead(alts) => !alt(alts, s, i, &mut |_| true) && k(i),
        Node::Repeat(inner, min, max) => repeat(inner, *min, *max, s, i, 0, k),
        single_node => s.get(i).is_some_and(|&c| single(single_node, c)) && k(i + 1),
    }
}

/// Greedy repetition: as many as fit, backing off one at a time.
fn repeat(
    inner: &Node,
    min: usize,
    max: usize,
    s: &[char],
    i: usize,
    done: usize,
    k: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if done < max
        && node_match(inner, s, i, &mut |j| {
            // An empty match cannot repeat forever.
            j != i && repeat(inner, min, max, s, j, done + 1, k)
        })
    {
        return true;
    }
    done >= min && k(i)
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).expect(p).is_match(t)
    }

    #[test]
    fn the_price_table_subset_matches_as_javascript_does() {
        assert!(m(r"^claude-opus-5-\d{8}$", "claude-opus-5-20260101"));
        assert!(!m(r"^claude-opus-5-\d{8}$", "claude-opus-5-2026010"));
        assert!(m(
            r"^composer-2\.5\[fast=true\]$",
            "composer-2.5[fast=true]"
        ));
        assert!(!m(
            r"^composer-2\.5\[fast=true\]$",
            "composer-2x5[fast=true]"
        ));
        assert!(m(r"^(?!.*-[tT][tT][sS](?:$|-))", "gemini-2.5-flash"));
        assert!(!m(r"^(?!.*-[tT][tT][sS](?:$|-))", "gemini-2.5-flash-tts"));
        assert!(!m(r"^(?!.*-[tT][tT][sS](?:$|-))", "gemini-TTS-x"));
        let mistral = r"^(?![^/]+/)(?:labs-)?(?:(?:mi|code|dev|magi|mini)stral|mixtral|pixtral|voxtral|open-(?:mistral|mixtral))";
        assert!(m(mistral, "mistral-large-latest"));
        assert!(m(mistral, "labs-devstral-small"));
        assert!(m(mistral, "open-mixtral-8x22b"));
        assert!(!m(mistral, "mistralai/mistral-large"));
        assert!(!m(mistral, "gpt-4o"));
        assert!(m(r"^o[134]", "o3-mini"));
        assert!(!m(r"^o[134]", "o2"));
        assert!(m(r"^(typesafe/)?jev-1\.13(-\d{8})?$", "jev-1.13"));
        assert!(m(
            r"^(typesafe/)?jev-1\.13(-\d{8})?$",
            "typesafe/jev-1.13-20250101"
        ));
        assert!(m(r"^gemini-3\.5-flash-\d", "gemini-3.5-flash-0520"));
        assert!(m("a+b*c?$", "xaaab"));
        assert!(m("x{2,}", "axxx"));
        assert!(Regex::new("(?<=a)b").is_err());
        assert!(Regex::new(r"\w").is_err());
        assert!(!m(".*", &"a".repeat(300)));
    }
}
