//! Tinybird SQL templates: `{{Type(param, default)}}`, `{% if … %}…{% elif … %}…{% else %}…{% end %}`
//! and `{{ error('…') }}` in SQL that starts with `%`.
//!
//! Expansion yields SQL tokens in which each parameter is one typed [`Tok::Param`] value (or, for
//! `column()`, one quoted identifier checked against the datasource's columns), never text that is
//! lexed again, so no parameter value can change the structure of the query. The same walk also
//! writes the expanded SQL text, with every value as a ClickHouse literal, for running the pipe on
//! ClickHouse itself.

use super::lexer::{lex, quote_ident, quote_string, Tok, Token};
use super::types::DataType;
use super::{Params, Value};
use crate::error::{Error, Result};
use crate::time;
use std::collections::{HashMap, HashSet};

/// Expanded SQL: the tokens our engine parses and the text ClickHouse runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// Tokens, parameters bound as typed values.
    pub tokens: Vec<Token>,
    /// The SQL text with parameters written as literals.
    pub sql: String,
}

/// True when `sql` is a template (its first character is `%`).
pub fn is_template(sql: &str) -> bool {
    sql.trim_start().starts_with('%')
}

/// Expands `sql` (starting on line `line`) with `params`; `columns` are the names `column()`
/// accepts.
pub fn expand(sql: &str, line: usize, params: &Params, columns: &[String]) -> Result<Expansion> {
    let mut out = Expansion {
        tokens: Vec::new(),
        sql: String::new(),
    };
    if !is_template(sql) {
        lex(sql, line, &mut out.tokens)?;
        out.sql = sql.to_string();
        return Ok(out);
    }
    let nodes = parse_template(sql, line)?;
    let ctx = Ctx {
        params,
        columns,
        arrays: array_params(&nodes).into_iter().collect(),
        locals: std::cell::RefCell::new(HashMap::new()),
    };
    ctx.render(&nodes, &mut out)?;
    out.sql = out.sql.trim().to_string();
    Ok(out)
}

/// Checks the template structure of `sql` (tags balanced, expressions well formed) without
/// parameters.
pub fn check(sql: &str, line: usize) -> Result<()> {
    if is_template(sql) {
        parse_template(sql, line)?;
    } else {
        lex(sql, line, &mut Vec::new())?;
    }
    Ok(())
}

fn err(line: usize, message: impl std::fmt::Display) -> Error {
    Error::query(format!("template line {line}: {message}"))
}

/// Most `{% if %}` blocks open inside one another. Tinybird's renderer (Python code generated
/// from the template) stops a little short of 100 levels too.
pub const MAX_BLOCK_DEPTH: usize = 100;

/// Most levels of parentheses, brackets, calls and signs inside one template expression.
/// Chains of `and`, `or` and `not` are flat and do not count.
pub const MAX_EXPR_DEPTH: usize = 100;

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String, usize),
    Expr(TExpr, usize),
    /// Branches (condition, its line, body) and the `{% else %}` body. Nesting is bounded by
    /// [`MAX_BLOCK_DEPTH`] when the template is parsed.
    If(Vec<(TExpr, usize, Vec<Node>)>, Option<Vec<Node>>),
    /// `{% for name in expr %}…{% end %}`: the variable, the list, its line and the body.
    For(String, TExpr, usize, Vec<Node>),
    /// `{% set name = expr %}`.
    Set(String, TExpr, usize),
}

/// A template expression. Its depth is bounded by [`MAX_EXPR_DEPTH`] when it is parsed.
#[derive(Debug, Clone, PartialEq)]
enum TExpr {
    Name(String),
    Lit(TVal),
    List(Vec<TExpr>),
    Call(String, Vec<TExpr>, Vec<(String, TExpr)>),
    /// `not` written one or more times: an odd count negates (`true`), an even one converts to
    /// a boolean (`false`).
    Not(Box<TExpr>, bool),
    /// `a and b and …`: the first falsy operand, else the last.
    And(Vec<TExpr>),
    /// `a or b or …`: the first truthy operand, else the last.
    Or(Vec<TExpr>),
    Cmp(&'static str, Box<TExpr>, Box<TExpr>),
    In(Box<TExpr>, Box<TExpr>, bool),
    /// `a + b - c …`: terms, each `true` when subtracted; flat, so a long chain does not nest.
    Sum(Vec<(bool, TExpr)>),
    /// `a * b * …`, flat.
    Product(Vec<TExpr>),
    /// `-x` on something other than a number literal.
    Neg(Box<TExpr>),
    /// `x[i][j]…`: subscripts, flat.
    Index(Box<TExpr>, Vec<TExpr>),
}

/// A template value.
#[derive(Debug, Clone, PartialEq)]
enum TVal {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<TVal>),
    /// A parameter converted to its declared type.
    Typed(DataType, Value),
    /// A column name from `column()`.
    Ident(String),
    /// Column names from `columns()`, each wrapped in a function when one was given.
    Columns(Vec<String>, Option<String>),
    /// `sql_and()`: (column, operator, value) conditions joined by `and`.
    Conditions(Vec<(String, &'static str, TVal)>),
}

enum Tag {
    If(TExpr),
    Elif(TExpr),
    Else,
    End,
    For(String, TExpr),
    Set(String, TExpr),
}

/// An `{% if %}` block being collected.
struct Frame {
    branches: Vec<(TExpr, usize, Vec<Node>)>,
    /// Condition of the branch being collected and its line; `None` once in `{% else %}`.
    cond: Option<(TExpr, usize)>,
    /// Nodes before the block.
    outer: Vec<Node>,
    line: usize,
    /// For a `{% for %}` block: its variable and list.
    for_loop: Option<(String, TExpr)>,
}

/// The byte index of the next `{{`, `{%` or `{#` in `b` at or after `from`. When more than two
/// `{` come in a row the innermost pair opens the tag, as in Tinybird's renderer.
fn next_tag(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < b.len() {
        if b[i] == b'{' {
            match b[i + 1] {
                b'{' if b.get(i + 2) == Some(&b'{') => {}
                b'{' | b'%' | b'#' => return Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Number of line breaks in `s`.
fn newlines(s: &str) -> usize {
    s.bytes().filter(|&c| c == b'\n').count()
}

/// Splits the template into text, `{{ }}` and `{% %}` pieces and nests the `if` blocks, in one
/// pass over the text and without recursion.
fn parse_template(sql: &str, first_line: usize) -> Result<Vec<Node>> {
    let body = sql.trim_start();
    let skipped_lines = newlines(&sql[..sql.len() - body.len()]);
    let body = body.get(1..).unwrap_or_default();
    let b = body.as_bytes();
    let mut line = first_line + skipped_lines;
    let mut stack: Vec<Frame> = Vec::new();
    let mut current: Vec<Node> = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let Some(at) = next_tag(b, pos) else {
            current.push(Node::Text(body[pos..].to_string(), line));
            break;
        };
        if at > pos {
            let text = &body[pos..at];
            current.push(Node::Text(text.to_string(), line));
            line += newlines(text);
        }
        let open = &body[at..at + 2];
        let inner_start = at + 2;
        let found = match open {
            "{{" => find_close(&body[inner_start..], "}}"),
            "{%" => find_close(&body[inner_start..], "%}"),
            // Comments end at the first `#}`, quotes or not, as in Tinybird.
            _ => body[inner_start..].find("#}"),
        };
        let Some(len) = found else {
            let close = match open {
                "{{" => "}}",
                "{%" => "%}",
                _ => "#}",
            };
            return Err(err(line, format!("'{open}' is not closed with '{close}'")));
        };
        let inner = &body[inner_start..inner_start + len];
        let tag_line = line;
        line += newlines(inner);
        pos = inner_start + len + 2;
        match open {
            "{{" => current.push(Node::Expr(parse_texpr(inner, tag_line)?, tag_line)),
            "{%" => match parse_tag(inner, tag_line)? {
                Tag::If(cond) => {
                    if stack.len() >= MAX_BLOCK_DEPTH {
                        return Err(err(
                            tag_line,
                            format!("{{% if %}} blocks nest too deeply (at most {MAX_BLOCK_DEPTH} levels)"),
                        ));
                    }
                    stack.push(Frame {
                        branches: Vec::new(),
                        cond: Some((cond, tag_line)),
                        outer: std::mem::take(&mut current),
                        line: tag_line,
                        for_loop: None,
                    })
                }
                Tag::For(var, list) => {
                    if stack.len() >= MAX_BLOCK_DEPTH {
                        return Err(err(
                            tag_line,
                            format!("template blocks nest too deeply (at most {MAX_BLOCK_DEPTH} levels)"),
                        ));
                    }
                    stack.push(Frame {
                        branches: Vec::new(),
                        cond: None,
                        outer: std::mem::take(&mut current),
                        line: tag_line,
                        for_loop: Some((var, list)),
                    })
                }
                Tag::Set(var, value) => current.push(Node::Set(var, value, tag_line)),
                tag @ (Tag::Elif(_) | Tag::Else) => {
                    let Some(top) = stack.last_mut().filter(|f| f.for_loop.is_none()) else {
                        return Err(err(tag_line, "{% elif %} or {% else %} without {% if %}"));
                    };
                    let Some((prev, prev_line)) = top.cond.take() else {
                        return Err(err(tag_line, "{% elif %} or {% else %} after {% else %}"));
                    };
                    top.branches
                        .push((prev, prev_line, std::mem::take(&mut current)));
                    top.cond = match tag {
                        Tag::Elif(c) => Some((c, tag_line)),
                        _ => None,
                    };
                }
                Tag::End => {
                    let Some(mut top) = stack.pop() else {
                        return Err(err(tag_line, "{% end %} without {% if %}"));
                    };
                    let body = std::mem::replace(&mut current, top.outer);
                    if let Some((var, list)) = top.for_loop.take() {
                        current.push(Node::For(var, list, top.line, body));
                        continue;
                    }
                    let otherwise = match top.cond.take() {
                        Some((cond, cond_line)) => {
                            top.branches.push((cond, cond_line, body));
                            None
                        }
                        None => Some(body),
                    };
                    current.push(Node::If(top.branches, otherwise));
                }
            },
            _ => {}
        }
    }
    if let Some(top) = stack.last() {
        let what = if top.for_loop.is_some() { "for" } else { "if" };
        return Err(err(
            top.line,
            format!("{{% {what} %}} is not closed with {{% end %}}"),
        ));
    }
    Ok(current)
}

/// The length of text before `close`, skipping quoted strings.
fn find_close(s: &str, close: &str) -> Option<usize> {
    let b = s.as_bytes();
    let c = close.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => {
                if b[i] == b'\'' || b[i] == b'"' {
                    quote = Some(b[i]);
                } else if b[i..].starts_with(c) {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

fn parse_tag(inner: &str, line: usize) -> Result<Tag> {
    let t = inner.trim_start();
    // The line the tag's first word is on; the expression after it keeps its line breaks.
    let line = line + newlines(&inner[..inner.len() - t.len()]);
    let (word, expr) = match t.find(char::is_whitespace) {
        Some(p) => (&t[..p], &t[p..]),
        None => (t, ""),
    };
    let rest = expr.trim();
    match word {
        "if" => Ok(Tag::If(parse_texpr(expr, line)?)),
        "elif" => Ok(Tag::Elif(parse_texpr(expr, line)?)),
        "else" if rest.is_empty() => Ok(Tag::Else),
        "end" | "endif" | "endfor" if rest.is_empty() => Ok(Tag::End),
        "for" => {
            let (var, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let list = after
                .trim_start()
                .strip_prefix("in")
                .filter(|l| l.starts_with(char::is_whitespace));
            match list {
                Some(list) if is_name(var) => {
                    Ok(Tag::For(var.to_string(), parse_texpr(list, line)?))
                }
                _ => Err(err(line, "expected {% for name in list %}")),
            }
        }
        "set" => match rest.split_once('=') {
            Some((var, value)) if is_name(var.trim()) && !value.starts_with('=') => {
                Ok(Tag::Set(var.trim().to_string(), parse_texpr(value, line)?))
            }
            _ => Err(err(line, "expected {% set name = value %}")),
        },
        other => Err(err(
            line,
            format!("template tag '{other}' is not supported (if, elif, else, for, set, end are)"),
        )),
    }
}

/// True for a template variable name.
fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_texpr(text: &str, line: usize) -> Result<TExpr> {
    let mut toks = Vec::new();
    // Lexer errors name their own line.
    lex(text, line, &mut toks).map_err(|e| Error::query(format!("template {e}")))?;
    let mut p = TParser {
        t: &toks,
        i: 0,
        line,
        depth: 0,
    };
    let e = p.or()?;
    if let Some(t) = toks.get(p.i) {
        return Err(err(t.line, format!("unexpected '{}'", show(&t.tok))));
    }
    Ok(e)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Word(w) | Tok::Quoted(w) | Tok::Num(w) => w.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Sym(s) => (*s).to_string(),
        Tok::Param(..) => "parameter".into(),
    }
}

/// A recursive-descent parser for template expressions. Only `primary` recurses on the input
/// (parentheses, lists, calls, signs), and it counts its depth before it does.
struct TParser<'a> {
    t: &'a [Token],
    i: usize,
    /// The line of the tag, for errors at its end.
    line: usize,
    depth: usize,
}

impl TParser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i).map(|t| &t.tok)
    }

    /// The line of the current token; at the end, of the last one (or of the tag).
    fn here(&self) -> usize {
        self.t
            .get(self.i)
            .or(self.t.last())
            .map_or(self.line, |t| t.line)
    }

    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }

    fn sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn fail(&self, what: &str) -> Error {
        err(
            self.here(),
            format!(
                "expected {what}, found {}",
                self.peek().map_or("the end".into(), show)
            ),
        )
    }

    /// `a or b or …`, collected into one flat list.
    fn or(&mut self) -> Result<TExpr> {
        let first = self.and()?;
        if !self.word("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.word("or") {
            self.i += 1;
            items.push(self.and()?);
        }
        Ok(TExpr::Or(items))
    }

    /// `a and b and …`, collected into one flat list.
    fn and(&mut self) -> Result<TExpr> {
        let first = self.not()?;
        if !self.word("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.word("and") {
            self.i += 1;
            items.push(self.not()?);
        }
        Ok(TExpr::And(items))
    }

    /// Any number of `not`, counted rather than nested.
    fn not(&mut self) -> Result<TExpr> {
        let mut count = 0usize;
        while self.word("not") {
            self.i += 1;
            count += 1;
        }
        let e = self.cmp()?;
        Ok(if count == 0 {
            e
        } else {
            TExpr::Not(Box::new(e), count % 2 == 1)
        })
    }

    fn cmp(&mut self) -> Result<TExpr> {
        let l = self.sum()?;
        let op = match self.peek() {
            Some(Tok::Sym("==")) => "==",
            Some(Tok::Sym("!=")) => "!=",
            Some(Tok::Sym("<")) => "<",
            Some(Tok::Sym(">")) => ">",
            Some(Tok::Sym("<=")) => "<=",
            Some(Tok::Sym(">=")) => ">=",
            _ => {
                if self.word("in") {
                    self.i += 1;
                    return Ok(TExpr::In(Box::new(l), Box::new(self.sum()?), false));
                }
                if self.word("not")
                    && matches!(self.t.get(self.i + 1).map(|t| &t.tok), Some(Tok::Word(w)) if w == "in")
                {
                    self.i += 2;
                    return Ok(TExpr::In(Box::new(l), Box::new(self.sum()?), true));
                }
                return Ok(l);
            }
        };
        self.i += 1;
        Ok(TExpr::Cmp(op, Box::new(l), Box::new(self.sum()?)))
    }

    /// `a + b - c …` over products, collected into one flat list.
    fn sum(&mut self) -> Result<TExpr> {
        let first = self.product()?;
        let mut terms = vec![(false, first)];
        loop {
            let minus = match self.peek() {
                Some(Tok::Sym("+")) => false,
                Some(Tok::Sym("-")) => true,
                _ => break,
            };
            self.i += 1;
            terms.push((minus, self.product()?));
        }
        if terms.len() == 1 {
            return Ok(terms.remove(0).1);
        }
        Ok(TExpr::Sum(terms))
    }

    /// `a * b * …` over subscripted primaries, collected into one flat list.
    fn product(&mut self) -> Result<TExpr> {
        let first = self.postfix()?;
        if !matches!(self.peek(), Some(Tok::Sym("*"))) {
            return Ok(first);
        }
        let mut factors = vec![first];
        while self.sym("*") {
            factors.push(self.postfix()?);
        }
        Ok(TExpr::Product(factors))
    }

    /// A primary followed by any number of `[index]`; each subscript counts as a level.
    fn postfix(&mut self) -> Result<TExpr> {
        let base = self.primary()?;
        let mut indices = Vec::new();
        while matches!(self.peek(), Some(Tok::Sym("["))) {
            if self.depth >= MAX_EXPR_DEPTH {
                return Err(err(
                    self.here(),
                    format!(
                        "template expression nests too deeply (at most {MAX_EXPR_DEPTH} levels)"
                    ),
                ));
            }
            self.i += 1;
            self.depth += 1;
            let idx = self.or();
            self.depth -= 1;
            indices.push(idx?);
            if !self.sym("]") {
                return Err(self.fail("']'"));
            }
        }
        if indices.is_empty() {
            return Ok(base);
        }
        Ok(TExpr::Index(Box::new(base), indices))
    }

    /// A primary expression; fails before recursing when [`MAX_EXPR_DEPTH`] levels are open.
    fn primary(&mut self) -> Result<TExpr> {
        if self.depth >= MAX_EXPR_DEPTH {
            return Err(err(
                self.here(),
                format!("template expression nests too deeply (at most {MAX_EXPR_DEPTH} levels)"),
            ));
        }
        self.depth += 1;
        let r = self.primary_inner();
        self.depth -= 1;
        r
    }

    fn primary_inner(&mut self) -> Result<TExpr> {
        let Some(tok) = self.t.get(self.i) else {
            return Err(self.fail("an expression"));
        };
        self.i += 1;
        match &tok.tok {
            Tok::Sym("-") => self.negative(),
            Tok::Sym("(") => self.group(),
            Tok::Sym("[") => self.list(),
            Tok::Word(w) if matches!(self.peek(), Some(Tok::Sym("("))) => {
                self.i += 1;
                self.call(w)
            }
            _ => self.atom(tok),
        }
    }

    /// A literal or a name (`tok`, already consumed).
    #[inline(never)]
    fn atom(&self, tok: &Token) -> Result<TExpr> {
        match &tok.tok {
            Tok::Str(s) | Tok::Quoted(s) => Ok(TExpr::Lit(TVal::Str(s.clone()))),
            Tok::Num(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    Ok(TExpr::Lit(TVal::Int(i)))
                } else {
                    n.parse::<f64>()
                        .map(|f| TExpr::Lit(TVal::Float(f)))
                        .map_err(|_| err(tok.line, format!("'{n}' is not a number")))
                }
            }
            Tok::Word(w) => Ok(match w.as_str() {
                "True" | "true" => TExpr::Lit(TVal::Bool(true)),
                "False" | "false" => TExpr::Lit(TVal::Bool(false)),
                "None" => TExpr::Lit(TVal::None),
                _ => TExpr::Name(w.clone()),
            }),
            other => Err(err(tok.line, format!("unexpected '{}'", show(other)))),
        }
    }

    /// `-` then a primary: a negative literal, or a negation evaluated later.
    #[inline(never)]
    fn negative(&mut self) -> Result<TExpr> {
        match self.primary()? {
            TExpr::Lit(TVal::Int(i)) => Ok(TExpr::Lit(TVal::Int(-i))),
            TExpr::Lit(TVal::Float(f)) => Ok(TExpr::Lit(TVal::Float(-f))),
            e => Ok(TExpr::Neg(Box::new(e))),
        }
    }

    /// `( expr )`, after the `(`.
    #[inline(never)]
    fn group(&mut self) -> Result<TExpr> {
        let e = self.or()?;
        if !self.sym(")") {
            return Err(self.fail("')'"));
        }
        Ok(e)
    }

    /// `[ a, b, … ]`, after the `[`.
    #[inline(never)]
    fn list(&mut self) -> Result<TExpr> {
        let mut items = Vec::new();
        if !self.sym("]") {
            loop {
                items.push(self.or()?);
                if self.sym("]") {
                    break;
                }
                if !self.sym(",") {
                    return Err(self.fail("',' or ']'"));
                }
                // A trailing comma, as Python allows: `[a, b,]`.
                if self.sym("]") {
                    break;
                }
            }
        }
        Ok(TExpr::List(items))
    }

    /// `name(args, key=value, …)`, after the `(`.
    #[inline(never)]
    fn call(&mut self, name: &str) -> Result<TExpr> {
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        if !self.sym(")") {
            loop {
                let keyword = match (self.peek(), self.t.get(self.i + 1).map(|t| &t.tok)) {
                    (Some(Tok::Word(k)), Some(Tok::Sym("="))) => Some(k.clone()),
                    _ => None,
                };
                if let Some(k) = keyword {
                    self.i += 2;
                    kwargs.push((k, self.or()?));
                } else {
                    if !kwargs.is_empty() {
                        return Err(self.fail("keyword arguments after positional ones"));
                    }
                    args.push(self.or()?);
                }
                if self.sym(")") {
                    break;
                }
                if !self.sym(",") {
                    return Err(self.fail("',' or ')'"));
                }
                // A trailing comma, as Python allows: `f(a, b=1,)`.
                if self.sym(")") {
                    break;
                }
            }
        }
        Ok(TExpr::Call(name.to_string(), args, kwargs))
    }
}

/// Where rendered SQL text stands, lexically, after the bytes scanned so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    Code,
    /// Inside a quoted string or identifier opened by this quote.
    Quote(u8),
    /// Inside a `--` comment, up to the end of the line.
    LineComment,
    /// Inside a `/* */` comment.
    BlockComment,
}

/// Rendered SQL text not lexed yet: everything since the last value bound as a token. It is
/// lexed in one piece when a value follows it in code or the template ends, so comments and
/// quotes read exactly as in the text Tinybird renders, tags between them or not.
struct Pending {
    text: String,
    /// The line `text` starts on.
    line: usize,
    /// Bytes of `text` scanned, and the state after them.
    scanned: usize,
    state: Lexical,
}

impl Pending {
    fn push(&mut self, s: &str, line: usize) {
        if self.text.is_empty() {
            self.line = line;
        }
        self.text.push_str(s);
    }

    /// The lexical state at the end of the text, scanning only what was added since the last
    /// call. A last byte that may start a two-byte mark (`--`, `/*`, `*/`, an escape) is left
    /// for the next call; the state before it is the state a value written next is in.
    fn state(&mut self) -> Lexical {
        let b = self.text.as_bytes();
        let mut i = self.scanned;
        let mut st = self.state;
        while i < b.len() {
            let c = b[i];
            let next = b.get(i + 1).copied();
            match st {
                Lexical::Code => match c {
                    b'\'' | b'"' | b'`' => st = Lexical::Quote(c),
                    b'-' | b'/' => {
                        let Some(n) = next else { break };
                        if c == b'-' && n == b'-' {
                            st = Lexical::LineComment;
                            i += 1;
                        } else if c == b'/' && n == b'*' {
                            st = Lexical::BlockComment;
                            i += 1;
                        }
                    }
                    _ => {}
                },
                Lexical::Quote(q) => {
                    if c == b'\\' {
                        if next.is_none() {
                            break;
                        }
                        i += 1;
                    } else if c == q {
                        st = Lexical::Code;
                    }
                }
                Lexical::LineComment => {
                    if c == b'\n' {
                        st = Lexical::Code;
                    }
                }
                Lexical::BlockComment => {
                    if c == b'*' {
                        let Some(n) = next else { break };
                        if n == b'/' {
                            st = Lexical::Code;
                            i += 1;
                        }
                    }
                }
            }
            i += 1;
        }
        self.scanned = i;
        self.state = st;
        st
    }

    /// Lexes the text into `tokens` and starts afresh.
    fn flush(&mut self, tokens: &mut Vec<Token>) -> Result<()> {
        lex(&self.text, self.line, tokens)?;
        self.text.clear();
        self.scanned = 0;
        self.state = Lexical::Code;
        Ok(())
    }
}

/// `text` made safe to write inside an SQL comment of kind `state`: nothing in it can end the
/// comment (or, for ClickHouse, which nests `/* */` comments, open another). Values never hold
/// a line break (string literals escape them), so a `--` comment keeps them as they are.
fn comment_safe(text: &str, state: Lexical) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if state == Lexical::BlockComment {
        text.replace("*/", "* /").replace("/*", "/ *")
    } else {
        text
    }
}

struct Ctx<'a> {
    params: &'a Params,
    columns: &'a [String],
    /// Parameters the template types as arrays, with their element type: their text values are
    /// read as lists everywhere in the template.
    arrays: HashMap<String, String>,
    /// Variables of `{% for %}` and `{% set %}`, which hide parameters of the same name.
    locals: std::cell::RefCell<HashMap<String, TVal>>,
}

/// Most template pieces one rendering visits (loops visit their bodies once per item).
pub const MAX_RENDER_STEPS: usize = 1_000_000;

/// Where the renderer is: a list of pieces, or a `{% for %}` over its remaining items.
enum Walk<'n> {
    Nodes(std::slice::Iter<'n, Node>),
    Loop(&'n str, std::vec::IntoIter<TVal>, &'n [Node]),
}

impl Ctx<'_> {
    /// Renders `nodes` into `out`, walking nested blocks with an explicit stack.
    fn render(&self, nodes: &[Node], out: &mut Expansion) -> Result<()> {
        let mut pending = Pending {
            text: String::new(),
            line: 0,
            scanned: 0,
            state: Lexical::Code,
        };
        let mut stack: Vec<Walk<'_>> = vec![Walk::Nodes(nodes.iter())];
        let mut steps = 0usize;
        while let Some(top) = stack.last_mut() {
            let node = match top {
                Walk::Nodes(it) => it.next(),
                Walk::Loop(var, items, body) => {
                    let (var, body) = (*var, *body);
                    match items.next() {
                        Some(item) => {
                            self.locals.borrow_mut().insert(var.to_string(), item);
                            stack.push(Walk::Nodes(body.iter()));
                        }
                        None => {
                            stack.pop();
                        }
                    }
                    continue;
                }
            };
            let Some(node) = node else {
                stack.pop();
                continue;
            };
            steps += 1;
            if steps > MAX_RENDER_STEPS {
                return Err(Error::query(format!(
                    "the template renders more than {MAX_RENDER_STEPS} pieces"
                )));
            }
            match node {
                Node::Set(var, e, line) => {
                    let v = self.eval(e, *line)?;
                    self.locals.borrow_mut().insert(var.clone(), v);
                }
                Node::For(var, list, line, body) => {
                    let items = match self.eval(list, *line)? {
                        TVal::List(items) => items,
                        TVal::Str(s) | TVal::Typed(_, Value::Str(s)) => {
                            s.chars().map(|c| TVal::Str(c.to_string())).collect()
                        }
                        TVal::Typed(_, Value::Array(values)) => values
                            .into_iter()
                            .map(|v| match v {
                                Value::Str(s) => TVal::Str(s),
                                Value::Int(i) => TVal::Int(i),
                                Value::UInt(u) => {
                                    i64::try_from(u).map_or(TVal::Str(u.to_string()), TVal::Int)
                                }
                                Value::Float64(f) => TVal::Float(f),
                                Value::Float32(f) => TVal::Float(f64::from(f)),
                                Value::Bool(b) => TVal::Bool(b),
                                _ => TVal::None,
                            })
                            .collect(),
                        TVal::Columns(names, _) => names.into_iter().map(TVal::Ident).collect(),
                        other => {
                            return Err(err(
                                *line,
                                format!("{{% for %}} cannot go over a {}", kind(&other)),
                            ))
                        }
                    };
                    stack.push(Walk::Loop(var, items.into_iter(), body));
                }
                Node::Text(text, line) => {
                    pending.push(text, *line);
                    out.sql.push_str(text);
                }
                Node::Expr(e, line) => {
                    let v = self.eval(e, *line)?;
                    self.emit(e, v, *line, &mut pending, out)?;
                }
                Node::If(branches, otherwise) => {
                    let mut chosen = None;
                    for (cond, line, body) in branches {
                        if truthy(&self.eval(cond, *line)?) {
                            chosen = Some(body);
                            break;
                        }
                    }
                    if let Some(body) = chosen.or(otherwise.as_ref()) {
                        stack.push(Walk::Nodes(body.iter()));
                    }
                }
            }
        }
        pending.flush(&mut out.tokens)
    }

    /// Writes a value: in SQL code, one token; inside an SQL comment, only text, as in the SQL
    /// Tinybird renders (where it is still evaluated and checked, but never runs).
    fn emit(
        &self,
        e: &TExpr,
        v: TVal,
        line: usize,
        pending: &mut Pending,
        out: &mut Expansion,
    ) -> Result<()> {
        let multi = matches!(&v, TVal::Columns(..) | TVal::Conditions(_));
        if multi {
            let mut toks = Vec::new();
            let mut text = String::new();
            if let TVal::Conditions(conds) = &v {
                for (i, (column, op, value)) in conds.iter().enumerate() {
                    if i > 0 {
                        toks.push(Tok::Word("and".to_string()));
                        text.push_str(" and ");
                    }
                    toks.push(Tok::Quoted(column.clone()));
                    text.push_str(&format!(
                        "`{}` {op} ",
                        quote_ident(column).trim_matches('`')
                    ));
                    match *op {
                        "=" => toks.push(Tok::Sym("=")),
                        ">" => toks.push(Tok::Sym(">")),
                        "<" => toks.push(Tok::Sym("<")),
                        ">=" => toks.push(Tok::Sym(">=")),
                        "<=" => toks.push(Tok::Sym("<=")),
                        "in" => toks.push(Tok::Word("in".to_string())),
                        _ => {
                            toks.extend([Tok::Word("not".to_string()), Tok::Word("in".to_string())])
                        }
                    }
                    let (ty, value) = to_sql_value(value.clone())
                        .ok_or_else(|| err(line, "this value cannot be used in SQL"))?;
                    text.push_str(&sql_text(&ty, &value));
                    toks.push(Tok::Param(ty, value));
                }
            }
            let no_names = Vec::new();
            let (names, func) = match &v {
                TVal::Columns(names, func) => (names, func),
                _ => (&no_names, &None),
            };
            for (i, n) in names.iter().enumerate() {
                let q = format!("`{}`", quote_ident(n).trim_matches('`'));
                if i > 0 {
                    toks.push(Tok::Sym(","));
                    text.push(',');
                }
                match func {
                    Some(f) => {
                        toks.extend([
                            Tok::Word(f.clone()),
                            Tok::Sym("("),
                            Tok::Quoted(n.clone()),
                            Tok::Sym(")"),
                            Tok::Word("as".to_string()),
                            Tok::Quoted(n.clone()),
                        ]);
                        text.push_str(&format!("{f}({q}) as {q}"));
                    }
                    None => {
                        toks.push(Tok::Quoted(n.clone()));
                        text.push_str(&q);
                    }
                }
            }
            return match pending.state() {
                Lexical::Code => {
                    pending.flush(&mut out.tokens)?;
                    out.tokens
                        .extend(toks.into_iter().map(|tok| Token { tok, line }));
                    out.sql.push_str(&text);
                    Ok(())
                }
                Lexical::Quote(_) => Err(err(
                    line,
                    "a template value inside a quoted SQL string or name; write the whole literal in the template expression",
                )),
                state @ (Lexical::LineComment | Lexical::BlockComment) => {
                    let text = comment_safe(&text, state);
                    pending.push(&text, line);
                    out.sql.push_str(&text);
                    Ok(())
                }
            };
        }
        let (tok, text) = match v {
            TVal::Ident(name) => {
                let text = format!("`{}`", quote_ident(&name).trim_matches('`'));
                (Tok::Quoted(name), text)
            }
            // Computed numbers and booleans: their text is ours, not the caller's.
            TVal::Bool(b) => (Tok::Num(u8::from(b).to_string()), u8::from(b).to_string()),
            TVal::Int(i) if i >= 0 => (Tok::Num(i.to_string()), i.to_string()),
            TVal::None => {
                let what = match e {
                    TExpr::Name(n) => format!("parameter '{n}' is not defined"),
                    _ => "expression has no value".to_string(),
                };
                return Err(err(line, what));
            }
            v => {
                let (ty, value) =
                    to_sql_value(v).ok_or_else(|| err(line, "this value cannot be used in SQL"))?;
                let text = sql_text(&ty, &value);
                (Tok::Param(ty, value), text)
            }
        };
        match pending.state() {
            Lexical::Code => {
                pending.flush(&mut out.tokens)?;
                out.tokens.push(Token { tok, line });
                out.sql.push_str(&text);
            }
            Lexical::Quote(_) => {
                return Err(err(
                    line,
                    "a template value inside a quoted SQL string or name; write the whole literal in the template expression",
                ))
            }
            state @ (Lexical::LineComment | Lexical::BlockComment) => {
                let text = comment_safe(&text, state);
                pending.push(&text, line);
                out.sql.push_str(&text);
            }
        }
        Ok(())
    }

    /// Evaluates `e`. Recursion follows the expression's depth, bounded when it was parsed;
    /// each kind of node is evaluated in its own function so this frame stays small.
    fn eval(&self, e: &TExpr, line: usize) -> Result<TVal> {
        match e {
            TExpr::Lit(v) => Ok(v.clone()),
            TExpr::Name(n) => self.param(n, line),
            TExpr::List(items) => self.list(items, line),
            TExpr::Not(x, negate) => Ok(TVal::Bool(truthy(&self.eval(x, line)?) != *negate)),
            TExpr::And(items) => self.chain(items, false, line),
            TExpr::Or(items) => self.chain(items, true, line),
            TExpr::Cmp(op, a, b) => self.compare(op, a, b, line),
            TExpr::In(a, b, negated) => self.is_in(a, b, *negated, line),
            TExpr::Call(name, args, kwargs) => self.call(name, args, kwargs, line),
            TExpr::Sum(terms) => self.sum(terms, line),
            TExpr::Product(factors) => self.product(factors, line),
            TExpr::Neg(x) => {
                let v = self.eval(x, line)?;
                arith('-', TVal::Int(0), v).map_err(|m| err(line, m))
            }
            TExpr::Index(base, indices) => self.index(base, indices, line),
        }
    }

    #[inline(never)]
    fn sum(&self, terms: &[(bool, TExpr)], line: usize) -> Result<TVal> {
        let mut acc: Option<TVal> = None;
        for (minus, t) in terms {
            let v = self.eval(t, line)?;
            acc = Some(match acc {
                None => v,
                Some(a) => arith(if *minus { '-' } else { '+' }, a, v).map_err(|m| err(line, m))?,
            });
        }
        Ok(acc.unwrap_or(TVal::None))
    }

    #[inline(never)]
    fn product(&self, factors: &[TExpr], line: usize) -> Result<TVal> {
        let mut acc: Option<TVal> = None;
        for f in factors {
            let v = self.eval(f, line)?;
            acc = Some(match acc {
                None => v,
                Some(a) => arith('*', a, v).map_err(|m| err(line, m))?,
            });
        }
        Ok(acc.unwrap_or(TVal::None))
    }

    #[inline(never)]
    fn index(&self, base: &TExpr, indices: &[TExpr], line: usize) -> Result<TVal> {
        let mut v = self.eval(base, line)?;
        for i in indices {
            let at = match self.eval(i, line)? {
                TVal::Int(n) => n,
                TVal::Typed(_, Value::Int(n)) => n,
                TVal::Typed(_, Value::UInt(n)) => i64::try_from(n).unwrap_or(i64::MAX),
                _ => return Err(err(line, "an index must be an integer")),
            };
            let pick = |len: usize| -> Result<usize> {
                let len = len as i64;
                // Tinybird's renderer refuses a negative subscript.
                let k = at;
                if (0..len).contains(&k) {
                    Ok(k as usize)
                } else {
                    Err(err(line, format!("index {at} is out of range")))
                }
            };
            v = match v {
                TVal::List(mut items) => {
                    let k = pick(items.len())?;
                    items.swap_remove(k)
                }
                TVal::Str(s) => {
                    let chars: Vec<char> = s.chars().collect();
                    TVal::Str(chars[pick(chars.len())?].to_string())
                }
                _ => return Err(err(line, "only a list or a string can be indexed")),
            };
        }
        Ok(v)
    }

    /// The value of parameter `n`; `None` when it is not given.
    #[inline(never)]
    fn param(&self, n: &str, line: usize) -> Result<TVal> {
        if let Some(v) = self.locals.borrow().get(n) {
            return Ok(v.clone());
        }
        match self.params.get(n) {
            Some(v) => {
                let v = from_json(v, 0).ok_or_else(|| {
                    err(
                        line,
                        format!("parameter '{n}' has an unsupported JSON value"),
                    )
                })?;
                match (&v, self.arrays.get(n)) {
                    (TVal::Str(s), Some(elem)) => Ok(split_list(s, elem).unwrap_or(v)),
                    _ => Ok(v),
                }
            }
            None => Ok(TVal::None),
        }
    }

    #[inline(never)]
    fn list(&self, items: &[TExpr], line: usize) -> Result<TVal> {
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            out.push(self.eval(i, line)?);
        }
        Ok(TVal::List(out))
    }

    #[inline(never)]
    fn compare(&self, op: &str, a: &TExpr, b: &TExpr, line: usize) -> Result<TVal> {
        let a = self.eval(a, line)?;
        let b = self.eval(b, line)?;
        Ok(TVal::Bool(compare(op, &a, &b)))
    }

    #[inline(never)]
    fn is_in(&self, a: &TExpr, b: &TExpr, negated: bool, line: usize) -> Result<TVal> {
        let a = self.eval(a, line)?;
        let found = match self.eval(b, line)? {
            TVal::List(items) => items.iter().any(|i| compare("==", &a, i)),
            TVal::Str(s) => matches!(&a, TVal::Str(x) if s.contains(x.as_str())),
            _ => return Err(err(line, "'in' needs a list")),
        };
        Ok(TVal::Bool(found != negated))
    }

    /// `and` (`stop_on` false) or `or` (`stop_on` true): the first operand whose truth is
    /// `stop_on`, else the last; later operands are not evaluated.
    #[inline(never)]
    fn chain(&self, items: &[TExpr], stop_on: bool, line: usize) -> Result<TVal> {
        let mut last = TVal::None;
        for item in items {
            last = self.eval(item, line)?;
            if truthy(&last) == stop_on {
                break;
            }
        }
        Ok(last)
    }

    #[inline(never)]
    fn call(
        &self,
        name: &str,
        args: &[TExpr],
        kwargs: &[(String, TExpr)],
        line: usize,
    ) -> Result<TVal> {
        let kw = |k: &str| kwargs.iter().find(|(n, _)| n == k).map(|(_, e)| e);
        match name {
            "defined" => {
                let [TExpr::Name(p)] = args else {
                    return Err(err(line, "defined() takes one parameter name"));
                };
                if let Some(v) = self.locals.borrow().get(p) {
                    return Ok(TVal::Bool(*v != TVal::None));
                }
                Ok(TVal::Bool(self.params.get(p).is_some_and(|v| !v.is_null())))
            }
            "error" | "custom_error" => {
                let msg = match args.first() {
                    Some(e) => self.eval(e, line)?,
                    None => TVal::Str("error".into()),
                };
                Err(Error::query(match msg {
                    TVal::Str(s) => s,
                    other => format!("{other:?}"),
                }))
            }
            "split_to_array" => {
                let x = match args.first() {
                    Some(e) => self.eval(e, line)?,
                    None => return Err(err(line, "split_to_array() takes a value to split")),
                };
                let x = match x {
                    TVal::None => match args.get(1).or(kw("default")) {
                        Some(d) => self.eval(d, line)?,
                        None => TVal::Str(String::new()),
                    },
                    v => v,
                };
                let sep = match args.get(2).or(kw("separator")) {
                    Some(e) => match self.eval(e, line)? {
                        TVal::Str(s) if !s.is_empty() => s,
                        _ => return Err(err(line, "split_to_array() needs a non-empty separator")),
                    },
                    None => ",".to_string(),
                };
                match x {
                    TVal::Str(s) | TVal::Typed(_, Value::Str(s)) => Ok(TVal::List(
                        s.split(sep.as_str())
                            .map(|p| TVal::Str(p.trim().to_string()))
                            .collect(),
                    )),
                    TVal::List(items) => Ok(TVal::List(items)),
                    _ => Err(err(
                        line,
                        "the first argument of split_to_array has to be a value that can be split to a list of elements",
                    )),
                }
            }
            "len" => {
                let [a] = args else {
                    return Err(err(line, "len() takes one value"));
                };
                let n = match self.eval(a, line)? {
                    TVal::Str(s) | TVal::Typed(_, Value::Str(s)) | TVal::Ident(s) => {
                        s.chars().count()
                    }
                    TVal::List(items) => items.len(),
                    TVal::Typed(_, Value::Array(items)) => items.len(),
                    TVal::Columns(names, _) => names.len(),
                    _ => return Err(err(line, "len() needs a string or a list")),
                };
                Ok(TVal::Int(n as i64))
            }
            "day_diff"
            | "date_diff_in_days"
            | "date_diff_in_hours"
            | "date_diff_in_minutes"
            | "date_diff_in_seconds" => {
                let unit = match name {
                    "day_diff" | "date_diff_in_days" => 86_400.0,
                    "date_diff_in_hours" => 3_600.0,
                    "date_diff_in_minutes" => 60.0,
                    _ => 1.0,
                };
                let arg = |i: usize, k: &str| -> Result<Option<TVal>> {
                    match args.get(i).or(kw(k)) {
                        Some(e) => self.eval(e, line).map(Some),
                        None => Ok(None),
                    }
                };
                let text_of = |v: Option<TVal>| -> Option<String> {
                    match v {
                        Some(TVal::Str(s)) | Some(TVal::Typed(_, Value::Str(s))) => Some(s),
                        _ => None,
                    }
                };
                let d0 = text_of(arg(0, "d0")?);
                let d1 = text_of(arg(1, "d1")?);
                let default_format = if unit == 86_400.0 {
                    "%Y-%m-%d"
                } else {
                    "%Y-%m-%d %H:%M:%S"
                };
                let format = if name == "day_diff" {
                    default_format.to_string()
                } else {
                    text_of(arg(2, "date_format")?).unwrap_or_else(|| default_format.to_string())
                };
                let backup = if name == "day_diff" {
                    None
                } else {
                    text_of(arg(4, "backup_date_format")?)
                };
                let none_if_error =
                    name != "day_diff" && arg(5, "none_if_error")?.is_some_and(|v| truthy(&v));
                let parse = |d: &Option<String>| -> Option<f64> {
                    let d = d.as_deref()?;
                    strptime(d, &format).or_else(|| strptime(d, backup.as_deref()?))
                };
                match (parse(&d0), parse(&d1)) {
                    (Some(a), Some(b)) => Ok(TVal::Int(((a - b).abs() / unit) as i64)),
                    _ if none_if_error => Ok(TVal::None),
                    _ => Err(Error::query(format!(
                        "invalid date format in function `{name}`: the dates must read as {format}"
                    ))),
                }
            }
            "symbol" => {
                let v = match args.first() {
                    Some(e) => self.eval(e, line)?,
                    None => TVal::None,
                };
                match v {
                    // One quoted name, whatever its text: it can only ever be one identifier.
                    TVal::Str(s) | TVal::Typed(_, Value::Str(s)) => {
                        Ok(TVal::Ident(s.trim_matches(['"', '`']).to_string()))
                    }
                    _ => Err(err(line, "symbol() needs a text value")),
                }
            }
            "sql_and" => {
                if !args.is_empty() {
                    return Err(err(line, "sql_and() takes column=value arguments only"));
                }
                let mut conds = Vec::new();
                for (key, e) in kwargs {
                    let v = self.eval(e, line)?;
                    if v == TVal::None {
                        continue;
                    }
                    let (column, op) = match key.rsplit_once("__") {
                        None => (key.as_str(), "="),
                        Some((c, suffix)) => (
                            c,
                            match suffix {
                                "in" => "in",
                                "not_in" => "not in",
                                "gt" => ">",
                                "lt" => "<",
                                "gte" => ">=",
                                "lte" => "<=",
                                other => {
                                    return Err(err(
                                        line,
                                        format!("sql_and(): operand {other} not supported"),
                                    ))
                                }
                            },
                        ),
                    };
                    if !self.columns.iter().any(|c| c == column) {
                        return Err(Error::query(format!(
                            "'{column}' is not a column (sql_and() accepts: {})",
                            self.columns.join(", ")
                        )));
                    }
                    conds.push((column.to_string(), op, v));
                }
                Ok(TVal::Conditions(conds))
            }
            "columns" => {
                let raw = match args.first() {
                    Some(e) => self.eval(e, line)?,
                    None => TVal::None,
                };
                let value = match raw {
                    TVal::None => match args.get(1).or(kw("default")) {
                        Some(d) => self.eval(d, line)?,
                        None => {
                            return Err(err(
                                line,
                                "missing columns() default value, use columns(column_names, 'default_column_name')",
                            ))
                        }
                    },
                    v => v,
                };
                let TVal::Str(list) = value else {
                    return Err(err(
                        line,
                        "the 'columns' function expects a String not an Array",
                    ));
                };
                let func = match args.get(2).or(kw("fn")) {
                    Some(e) => match self.eval(e, line)? {
                        TVal::Str(f)
                            if !f.is_empty()
                                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                        {
                            Some(f)
                        }
                        TVal::None => None,
                        _ => return Err(err(line, "columns() fn must be a function name")),
                    },
                    None => None,
                };
                let mut names = Vec::new();
                for c in list.split(',').map(str::trim) {
                    if !self.columns.iter().any(|k| k == c) {
                        return Err(Error::query(format!(
                            "'{c}' is not a column (columns() accepts: {})",
                            self.columns.join(", ")
                        )));
                    }
                    names.push(c.to_string());
                }
                Ok(TVal::Columns(names, func))
            }
            "column" => {
                let (raw, default) = self.param_and_default(name, args, kw("default"), line)?;
                let v = match raw.or(default) {
                    Some(TVal::Str(s)) => s,
                    Some(_) => return Err(err(line, "column() expects a column name")),
                    None => return Err(err(line, "column() needs a parameter value or a default")),
                };
                if !self.columns.contains(&v) {
                    return Err(Error::query(format!(
                        "'{v}' is not a column (column() accepts: {})",
                        self.columns.join(", ")
                    )));
                }
                Ok(TVal::Ident(v))
            }
            "Array" => {
                let Some(TExpr::Name(p)) = args.first() else {
                    return Err(err(line, "Array() takes a parameter name first"));
                };
                let elem = match args.get(1).or(kw("type")) {
                    Some(e) => match self.eval(e, line)? {
                        TVal::Str(t) => t,
                        _ => return Err(err(line, "Array() expects a type name like 'String'")),
                    },
                    None => "String".to_string(),
                };
                let default = match args.get(2).or(kw("default")) {
                    Some(e) => Some(self.eval(e, line)?),
                    None => None,
                };
                // A `{% set %}` or `{% for %}` variable of that name is the value, as the
                // template's Python would pass it (a list, or text split at commas).
                let local = self.locals.borrow().get(p).cloned();
                let raw = match (local, self.params.get(p)) {
                    (Some(TVal::None), _) => None,
                    (Some(v), _) => Some(v),
                    (None, Some(v)) if !v.is_null() => Some(from_json(v, 0).ok_or_else(|| {
                        err(
                            line,
                            format!("parameter '{p}' has an unsupported JSON value"),
                        )
                    })?),
                    _ => None,
                };
                let (value, from_default) = match (raw, default) {
                    (Some(v), _) => (v, false),
                    (None, Some(d)) => (d, true),
                    (None, None) if !self.defined_flag(kw("defined"), line)? => {
                        return Ok(TVal::None)
                    }
                    (None, None) => {
                        return Err(Error::query(format!(
                            "parameter '{p}' is required (Array({elem}))"
                        )))
                    }
                };
                let items: Vec<TVal> = match value {
                    TVal::List(items) => items,
                    TVal::Str(s) => s.split(',').map(|x| TVal::Str(x.to_string())).collect(),
                    // A variable set to another `Array()`: its elements.
                    TVal::Typed(DataType::Array(e), Value::Array(values)) => values
                        .into_iter()
                        .map(|v| TVal::Typed((*e).clone(), v))
                        .collect(),
                    other => vec![other],
                };
                let mut values = Vec::with_capacity(items.len());
                let mut ty = None;
                for (i, item) in items.into_iter().enumerate() {
                    let (t, v) = convert(&elem, item).map_err(|m| {
                        Error::query(format!(
                            "parameter '{p}'{} item {}: {m}",
                            if from_default { " (default)" } else { "" },
                            i + 1
                        ))
                    })?;
                    ty = Some(t);
                    values.push(v);
                }
                let elem_ty = match ty {
                    Some(t) => t,
                    None => DataType::from_name(&elem).unwrap_or(DataType::String),
                };
                Ok(TVal::Typed(
                    DataType::Array(Box::new(elem_ty)),
                    Value::Array(values),
                ))
            }
            _ if type_name(name).is_some() => {
                let ty = type_name(name).unwrap_or(name);
                let Some(TExpr::Name(p)) = args.first() else {
                    return Err(err(line, format!("{name}() takes a parameter name first")));
                };
                let (raw, default) = self.param_and_default(name, args, kw("default"), line)?;
                if let Some(req) = kw("required") {
                    // Tinybird's renderer takes the default of a required parameter left out.
                    if truthy(&self.eval(req, line)?) && raw.is_none() && default.is_none() {
                        return Err(Error::query(format!("parameter '{p}' is required ({ty})")));
                    }
                }
                let (value, from_default) = match (raw, default) {
                    (Some(v), _) => (v, false),
                    (None, Some(d)) => (d, true),
                    (None, None) if ty == "Boolean" => (TVal::Bool(false), true),
                    // `defined=False`: a missing parameter is no value (sql_and leaves it out).
                    (None, None) if !self.defined_flag(kw("defined"), line)? => {
                        return Ok(TVal::None)
                    }
                    (None, None) => {
                        return Err(Error::query(format!("parameter '{p}' is required ({ty})")))
                    }
                };
                let (t, v) = convert(ty, value).map_err(|m| {
                    Error::query(format!(
                        "parameter '{p}'{}: {m}",
                        if from_default { " (default)" } else { "" }
                    ))
                })?;
                if ty == "Boolean" {
                    // Written as 1 or 0, as Tinybird does.
                    return Ok(TVal::Bool(v == Value::UInt(1)));
                }
                Ok(TVal::Typed(t, v))
            }
            other => Err(err(
                line,
                format!("template function '{other}' is not supported"),
            )),
        }
    }

    /// The value of a `defined=` argument: true when absent.
    fn defined_flag(&self, e: Option<&TExpr>, line: usize) -> Result<bool> {
        match e {
            Some(e) => Ok(truthy(&self.eval(e, line)?)),
            None => Ok(true),
        }
    }

    /// The parameter named by the first argument (if given) and the default (second argument
    /// or `default=`).
    fn param_and_default(
        &self,
        fname: &str,
        args: &[TExpr],
        default_kw: Option<&TExpr>,
        line: usize,
    ) -> Result<(Option<TVal>, Option<TVal>)> {
        let Some(TExpr::Name(p)) = args.first() else {
            return Err(err(line, format!("{fname}() takes a parameter name first")));
        };
        // A `{% set %}` or `{% for %}` variable of that name is the value, as the template's
        // Python would pass it.
        let local = self.locals.borrow().get(p).cloned();
        let raw = match (local, self.params.get(p)) {
            (Some(TVal::None), _) => None,
            (Some(v), _) => Some(v),
            (None, Some(v)) if !v.is_null() => Some(from_json(v, 0).ok_or_else(|| {
                err(
                    line,
                    format!("parameter '{p}' has an unsupported JSON value"),
                )
            })?),
            _ => None,
        };
        let default = match args.get(1).or(default_kw) {
            Some(e) => match self.eval(e, line)? {
                TVal::None => None,
                v => Some(v),
            },
            None => None,
        };
        Ok((raw, default))
    }
}

/// The canonical type a template type function converts to.
fn type_name(f: &str) -> Option<&'static str> {
    Some(match f {
        "String" => "String",
        "DateTime" => "DateTime",
        "DateTime64" => "DateTime64",
        "Date" => "Date",
        "Boolean" | "bool" => "Boolean",
        "Int8" => "Int8",
        "Int16" => "Int16",
        "Int32" | "Int" | "Integer" => "Int32",
        "Int64" => "Int64",
        "UInt8" => "UInt8",
        "UInt16" => "UInt16",
        "UInt32" => "UInt32",
        "UInt64" => "UInt64",
        "Float32" => "Float32",
        "Float64" => "Float64",
        _ => return None,
    })
}

/// Most levels of JSON arrays a parameter value may have.
const MAX_PARAM_DEPTH: usize = 32;

/// A JSON parameter value as a template value; `None` for objects and for arrays nested deeper
/// than [`MAX_PARAM_DEPTH`] (`depth` is the current level).
fn from_json(v: &serde_json::Value, depth: usize) -> Option<TVal> {
    Some(match v {
        serde_json::Value::Null => TVal::None,
        serde_json::Value::Bool(b) => TVal::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => TVal::Int(i),
            None => match n.as_u64() {
                Some(u) => TVal::Str(u.to_string()),
                None => TVal::Float(n.as_f64()?),
            },
        },
        serde_json::Value::String(s) => TVal::Str(s.clone()),
        serde_json::Value::Array(items) => {
            if depth >= MAX_PARAM_DEPTH {
                return None;
            }
            TVal::List(
                items
                    .iter()
                    .map(|i| from_json(i, depth + 1))
                    .collect::<Option<_>>()?,
            )
        }
        serde_json::Value::Object(_) => return None,
    })
}

fn truthy(v: &TVal) -> bool {
    match v {
        TVal::None => false,
        TVal::Bool(b) => *b,
        TVal::Int(i) => *i != 0,
        TVal::Float(f) => *f != 0.0,
        TVal::Str(s) => !s.is_empty(),
        TVal::List(l) => !l.is_empty(),
        TVal::Typed(_, v) => {
            !matches!(
                v,
                Value::Null | Value::UInt(0) | Value::Int(0) | Value::Bool(false)
            ) && *v != Value::Str(String::new())
        }
        TVal::Ident(_) | TVal::Columns(..) => true,
        TVal::Conditions(c) => !c.is_empty(),
    }
}

fn as_number(v: &TVal) -> Option<f64> {
    match v {
        TVal::Int(i) => Some(*i as f64),
        TVal::Float(f) => Some(*f),
        TVal::Bool(b) => Some(f64::from(u8::from(*b))),
        TVal::Typed(_, Value::UInt(u)) => Some(*u as f64),
        TVal::Typed(_, Value::Int(i)) => Some(*i as f64),
        TVal::Typed(_, Value::Float64(f)) => Some(*f),
        TVal::Typed(_, Value::Float32(f)) => Some(f64::from(*f)),
        _ => None,
    }
}

fn as_text(v: &TVal) -> Option<&str> {
    match v {
        TVal::Str(s) | TVal::Ident(s) | TVal::Typed(_, Value::Str(s)) => Some(s),
        _ => None,
    }
}

fn compare(op: &str, a: &TVal, b: &TVal) -> bool {
    use std::cmp::Ordering;
    let ord = match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (as_text(a), as_text(b)) {
            (Some(x), Some(y)) => Some(x.cmp(y)),
            _ => {
                return match op {
                    "==" => a == b,
                    "!=" => a != b,
                    _ => false,
                }
            }
        },
    };
    match (op, ord) {
        ("==", Some(o)) => o == Ordering::Equal,
        ("!=", Some(o)) => o != Ordering::Equal,
        ("!=", None) => true,
        ("<", Some(o)) => o == Ordering::Less,
        (">", Some(o)) => o == Ordering::Greater,
        ("<=", Some(o)) => o != Ordering::Greater,
        (">=", Some(o)) => o != Ordering::Less,
        _ => false,
    }
}

/// Converts a raw parameter to a declared type: the SQL type and value it binds as.
fn convert(ty: &str, v: TVal) -> std::result::Result<(DataType, Value), String> {
    let text = match &v {
        TVal::Str(s) => s.trim().to_string(),
        TVal::Int(i) => i.to_string(),
        TVal::Float(f) => f.to_string(),
        TVal::Bool(b) => b.to_string(),
        TVal::Typed(_, Value::Str(s)) => s.clone(),
        TVal::Typed(_, Value::UInt(u)) => u.to_string(),
        TVal::Typed(_, Value::Int(i)) => i.to_string(),
        TVal::Typed(_, Value::Float64(f)) => f.to_string(),
        _ => return Err(format!("expected a single {ty} value")),
    };
    let bad = || format!("'{text}' is not a valid {ty}");
    Ok(match ty {
        "String" => match v {
            TVal::Str(s) | TVal::Typed(_, Value::Str(s)) => (DataType::String, Value::Str(s)),
            _ => (DataType::String, Value::Str(text.clone())),
        },
        "DateTime" | "DateTime64" | "Date" => {
            let ms = time::parse_timestamp_ms(&text).ok_or_else(bad)?;
            if !(0..=time::DATETIME_MAX * 1000).contains(&ms) {
                return Err(format!("'{text}' is outside the {ty} range"));
            }
            let s = match ty {
                "DateTime" => {
                    if ms % 1000 != 0 {
                        return Err(format!("'{text}' has fractional seconds; use DateTime64"));
                    }
                    time::format_datetime(ms / 1000)
                }
                "DateTime64" => time::format_datetime64(ms),
                _ => {
                    if ms % 86_400_000 != 0 {
                        return Err(format!("'{text}' is not a date (YYYY-MM-DD)"));
                    }
                    time::format_date(ms / 86_400_000)
                }
            };
            // Bound as a string literal, exactly what Tinybird writes; comparisons with time
            // columns parse it.
            (DataType::String, Value::Str(s))
        }
        "Boolean" => {
            let b = match v {
                TVal::Bool(b) => b,
                _ => match text.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => return Err(bad()),
                },
            };
            (DataType::UInt8, Value::UInt(u64::from(b)))
        }
        "Float32" | "Float64" => {
            if matches!(v, TVal::Bool(_)) {
                return Err(bad());
            }
            let f: f64 = text.parse().map_err(|_| bad())?;
            if !f.is_finite() {
                return Err(bad());
            }
            if ty == "Float32" {
                (DataType::Float32, Value::Float32(f as f32))
            } else {
                (DataType::Float64, Value::Float64(f))
            }
        }
        _ => {
            let dt = DataType::from_name(ty).ok_or_else(|| format!("unknown type {ty}"))?;
            if !dt.is_int() || matches!(v, TVal::Bool(_)) {
                return Err(if dt.is_int() {
                    bad()
                } else {
                    format!("unknown type {ty}")
                });
            }
            let n: i128 = text.parse().map_err(|_| bad())?;
            let bits = dt.int_bits();
            let (lo, hi) = if dt.is_signed() {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if n < lo || n > hi {
                return Err(format!("{n} is outside the {ty} range"));
            }
            let value = if dt.is_signed() {
                Value::Int(n as i64)
            } else {
                Value::UInt(n as u64)
            };
            (dt, value)
        }
    })
}

/// The type and value a plain template value binds as.
fn to_sql_value(v: TVal) -> Option<(DataType, Value)> {
    Some(match v {
        TVal::Typed(t, v) => (t, v),
        TVal::Str(s) => (DataType::String, Value::Str(s)),
        TVal::Bool(b) => (DataType::UInt8, Value::UInt(u64::from(b))),
        TVal::Int(i) if i >= 0 => {
            let ty = if i <= 255 {
                DataType::UInt8
            } else if i <= 65_535 {
                DataType::UInt16
            } else if i <= i64::from(u32::MAX) {
                DataType::UInt32
            } else {
                DataType::UInt64
            };
            (ty, Value::UInt(i as u64))
        }
        TVal::Int(i) => (DataType::Int64, Value::Int(i)),
        TVal::Float(f) => (DataType::Float64, Value::Float64(f)),
        TVal::List(items) => {
            let mut values = Vec::new();
            let mut elem = DataType::Nothing;
            for item in items {
                let (t, v) = to_sql_value(item)?;
                elem = super::types::common_type(&[&elem, &t])?;
                values.push(v);
            }
            (DataType::Array(Box::new(elem)), Value::Array(values))
        }
        TVal::None | TVal::Ident(_) | TVal::Columns(..) | TVal::Conditions(_) => return None,
    })
}

/// A bound value as ClickHouse literal text.
fn sql_text(ty: &DataType, v: &Value) -> String {
    match (ty, v) {
        (DataType::Array(elem), Value::Array(items)) => {
            let parts: Vec<String> = items.iter().map(|i| sql_text(elem, i)).collect();
            format!("[{}]", parts.join(", "))
        }
        (_, Value::Str(s)) => quote_string(s),
        (t, Value::UInt(u)) if t.is_int() => format!("to{t}({u})"),
        (t, Value::Int(i)) if t.is_int() => format!("to{t}({i})"),
        (_, Value::Float32(f)) => format!("toFloat32({})", fmt_float(f64::from(*f))),
        (_, Value::Float64(f)) => format!("toFloat64({})", fmt_float(*f)),
        (_, Value::UInt(u)) => u.to_string(),
        (_, Value::Int(i)) => i.to_string(),
        (_, Value::Bool(b)) => u8::from(*b).to_string(),
        _ => "NULL".to_string(),
    }
}

fn fmt_float(f: f64) -> String {
    let s = format!("{f:?}");
    s
}

/// Longest text or list arithmetic may build (`'ab' * n`).
const MAX_ARITH_LEN: usize = 1 << 20;

/// A template value as a number for arithmetic: `Some(Ok(int))` or `Some(Err(float))`.
fn arith_number(v: &TVal) -> Option<std::result::Result<i64, f64>> {
    match v {
        TVal::Int(i) | TVal::Typed(_, Value::Int(i)) => Some(Ok(*i)),
        TVal::Bool(b) => Some(Ok(i64::from(*b))),
        TVal::Typed(_, Value::UInt(u)) => i64::try_from(*u).ok().map(Ok),
        TVal::Float(f) | TVal::Typed(_, Value::Float64(f)) => Some(Err(*f)),
        TVal::Typed(_, Value::Float32(f)) => Some(Err(f64::from(*f))),
        _ => None,
    }
}

fn kind(v: &TVal) -> &'static str {
    match v {
        TVal::None => "None",
        TVal::Bool(_) => "bool",
        TVal::Int(_) => "int",
        TVal::Float(_) => "float",
        TVal::Str(_) | TVal::Typed(_, Value::Str(_)) => "str",
        TVal::List(_) => "list",
        TVal::Typed(..) => "typed value",
        TVal::Ident(_) | TVal::Columns(..) => "column",
        TVal::Conditions(_) => "condition",
    }
}

/// `a op b` for `+`, `-` and `*`, as Python evaluates them in Tinybird's templates: integers
/// stay integers, a float makes a float, `+` joins texts and lists, `*` repeats them.
fn arith(op: char, a: TVal, b: TVal) -> std::result::Result<TVal, String> {
    let overflow = || "integer overflow in a template expression".to_string();
    if let (Some(x), Some(y)) = (arith_number(&a), arith_number(&b)) {
        return Ok(match (x, y) {
            (Ok(x), Ok(y)) => TVal::Int(
                match op {
                    '+' => x.checked_add(y),
                    '-' => x.checked_sub(y),
                    _ => x.checked_mul(y),
                }
                .ok_or_else(overflow)?,
            ),
            (x, y) => {
                let (x, y) = (
                    x.map_or_else(|f| f, |i| i as f64),
                    y.map_or_else(|f| f, |i| i as f64),
                );
                TVal::Float(match op {
                    '+' => x + y,
                    '-' => x - y,
                    _ => x * y,
                })
            }
        });
    }
    let text = |v: &TVal| -> Option<String> {
        match v {
            TVal::Str(s) | TVal::Typed(_, Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    };
    let count = |v: &TVal| -> Option<usize> {
        match arith_number(v)? {
            Ok(n) => Some(usize::try_from(n).unwrap_or(0)),
            Err(_) => None,
        }
    };
    match op {
        '+' => {
            if let (Some(x), Some(y)) = (text(&a), text(&b)) {
                if x.len() + y.len() > MAX_ARITH_LEN {
                    return Err(format!("a template text longer than {MAX_ARITH_LEN} bytes"));
                }
                return Ok(TVal::Str(x + &y));
            }
            if let (TVal::List(x), TVal::List(y)) = (&a, &b) {
                if x.len() + y.len() > MAX_ARITH_LEN {
                    return Err(format!("a template list longer than {MAX_ARITH_LEN} items"));
                }
                return Ok(TVal::List(x.iter().chain(y).cloned().collect()));
            }
        }
        '*' => {
            let (seq, n) = match (count(&b), count(&a)) {
                (Some(n), _) if !matches!(a, TVal::Int(_) | TVal::Bool(_)) => (&a, n),
                (_, Some(n)) => (&b, n),
                _ => (&a, usize::MAX),
            };
            if n != usize::MAX {
                if let Some(t) = text(seq) {
                    if t.len().saturating_mul(n) > MAX_ARITH_LEN {
                        return Err(format!("a template text longer than {MAX_ARITH_LEN} bytes"));
                    }
                    return Ok(TVal::Str(t.repeat(n)));
                }
                if let TVal::List(items) = seq {
                    if items.len().saturating_mul(n) > MAX_ARITH_LEN {
                        return Err(format!("a template list longer than {MAX_ARITH_LEN} items"));
                    }
                    let mut out = Vec::with_capacity(items.len() * n);
                    for _ in 0..n {
                        out.extend(items.iter().cloned());
                    }
                    return Ok(TVal::List(out));
                }
            }
        }
        _ => {}
    }
    Err(format!(
        "unsupported operand types for {op}: {} and {}",
        kind(&a),
        kind(&b)
    ))
}

/// A parameter's text read as the list `Array(x, 'Type')` makes of it: split at commas,
/// each item of the element type; `None` when an item does not read as that type (the
/// parameter then stays text, as in Tinybird).
fn split_list(s: &str, elem: &str) -> Option<TVal> {
    let parts = s.split(',');
    Some(TVal::List(match elem {
        "String" | "DateTime" | "DateTime64" | "Date" => {
            parts.map(|p| TVal::Str(p.to_string())).collect()
        }
        e if e.starts_with("Int") || e.starts_with("UInt") => parts
            .map(|p| p.trim().parse::<i64>().ok().map(TVal::Int))
            .collect::<Option<_>>()?,
        "Float32" | "Float64" => parts
            .map(|p| p.trim().parse::<f64>().ok().map(TVal::Float))
            .collect::<Option<_>>()?,
        _ => return None,
    }))
}

/// Where a template names a parameter.
#[derive(Clone, Copy, PartialEq)]
enum Use {
    /// As the first argument of `Array()`.
    Array,
    /// Anywhere else.
    Other,
}

/// The names used in `e` with how, in order.
fn uses<'a>(e: &'a TExpr, out: &mut Vec<(&'a str, Use, Option<String>)>) {
    match e {
        TExpr::Name(n) => out.push((n, Use::Other, None)),
        TExpr::Lit(_) => {}
        TExpr::List(items) | TExpr::And(items) | TExpr::Or(items) | TExpr::Product(items) => {
            items.iter().for_each(|i| uses(i, out))
        }
        TExpr::Sum(terms) => terms.iter().for_each(|(_, t)| uses(t, out)),
        TExpr::Not(x, _) | TExpr::Neg(x) => uses(x, out),
        TExpr::Cmp(_, a, b) | TExpr::In(a, b, _) => {
            uses(a, out);
            uses(b, out);
        }
        TExpr::Index(b, idx) => {
            uses(b, out);
            idx.iter().for_each(|i| uses(i, out));
        }
        TExpr::Call(name, args, kwargs) => {
            let mut rest = args.iter();
            if name == "Array" {
                if let Some(TExpr::Name(p)) = args.first() {
                    let elem = match args
                        .get(1)
                        .or(kwargs.iter().find(|(k, _)| k == "type").map(|(_, e)| e))
                    {
                        Some(TExpr::Lit(TVal::Str(t))) => t.clone(),
                        _ => "String".to_string(),
                    };
                    out.push((p, Use::Array, Some(elem)));
                    rest.next();
                }
            }
            rest.for_each(|a| uses(a, out));
            kwargs.iter().for_each(|(_, a)| uses(a, out));
        }
    }
}

/// The `Array(p, 'Type')` calls anywhere in `nodes`.
fn array_calls<'a>(nodes: &'a [Node], out: &mut Vec<(&'a str, String)>) {
    for n in nodes {
        match n {
            Node::Text(..) => {}
            Node::Expr(e, _) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                out.extend(
                    u.into_iter().filter_map(|(p, k, t)| {
                        (k == Use::Array).then(|| (p, t.unwrap_or_default()))
                    }),
                );
            }
            Node::If(branches, otherwise) => {
                for (c, _, body) in branches {
                    let mut u = Vec::new();
                    uses(c, &mut u);
                    out.extend(u.into_iter().filter_map(|(p, k, t)| {
                        (k == Use::Array).then(|| (p, t.unwrap_or_default()))
                    }));
                    array_calls(body, out);
                }
                if let Some(b) = otherwise {
                    array_calls(b, out);
                }
            }
            Node::For(_, e, _, body) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                out.extend(
                    u.into_iter().filter_map(|(p, k, t)| {
                        (k == Use::Array).then(|| (p, t.unwrap_or_default()))
                    }),
                );
                array_calls(body, out);
            }
            Node::Set(_, e, _) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                out.extend(
                    u.into_iter().filter_map(|(p, k, t)| {
                        (k == Use::Array).then(|| (p, t.unwrap_or_default()))
                    }),
                );
            }
        }
    }
}

/// Parameters read as lists: those whose first use in the template is an `Array(p, …)` call,
/// or the condition of an `{% if %}` branch whose body calls `Array(p, …)` (Tinybird types a
/// parameter by the first use it meets, and reaches a branch's body before the rest of its
/// condition). The element type is the first `Array()` call's.
fn array_params(nodes: &[Node]) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    array_calls(nodes, &mut calls);
    if calls.is_empty() {
        return Vec::new();
    }
    let mut first = HashMap::new();
    first_uses(nodes, &mut first);
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for (p, t) in calls {
        if first.get(p) == Some(&true) && seen.insert(p) {
            out.push((p.to_string(), t));
        }
    }
    out
}

/// Records, for every parameter, whether its first use types it as an array.
fn first_uses(nodes: &[Node], first: &mut HashMap<String, bool>) {
    let note = |p: &str, array: bool, first: &mut HashMap<String, bool>| {
        if !first.contains_key(p) {
            first.insert(p.to_string(), array);
        }
    };
    for n in nodes {
        match n {
            Node::Text(..) => {}
            Node::Expr(e, _) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                for (p, k, _) in u {
                    note(p, k == Use::Array, first);
                }
            }
            Node::If(branches, otherwise) => {
                for (c, _, body) in branches {
                    let mut calls = Vec::new();
                    array_calls(body, &mut calls);
                    let in_body: HashSet<&str> = calls.iter().map(|(n, _)| *n).collect();
                    let mut u = Vec::new();
                    uses(c, &mut u);
                    for (p, k, _) in u {
                        let array = k == Use::Array || in_body.contains(p);
                        note(p, array, first);
                    }
                    first_uses(body, first);
                }
                if let Some(b) = otherwise {
                    first_uses(b, first);
                }
            }
            Node::For(_, e, _, body) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                for (p, k, _) in u {
                    note(p, k == Use::Array, first);
                }
                first_uses(body, first);
            }
            Node::Set(_, e, _) => {
                let mut u = Vec::new();
                uses(e, &mut u);
                for (p, k, _) in u {
                    note(p, k == Use::Array, first);
                }
            }
        }
    }
}

/// Reads `text` with a Python `strptime` format (`%Y %m %d %H %M %S %f`, `%%`, other
/// characters literally, letters in any case, a space matching any run of whitespace);
/// seconds since the epoch, or `None` when the text does not match the whole format.
fn strptime(text: &str, format: &str) -> Option<f64> {
    let t = text.as_bytes();
    let f = format.as_bytes();
    let (mut i, mut j) = (0, 0);
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut frac) =
        (1900i64, 1u32, 1u32, 0i64, 0i64, 0i64, 0f64);
    let digits = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < t.len() && *i - start < max && t[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        std::str::from_utf8(&t[start..*i]).ok()?.parse().ok()
    };
    while j < f.len() {
        if f[j] == b'%' && j + 1 < f.len() {
            let c = f[j + 1];
            j += 2;
            match c {
                b'Y' => y = digits(&mut i, 4)?,
                b'm' => mo = u32::try_from(digits(&mut i, 2)?).ok()?,
                b'd' => d = u32::try_from(digits(&mut i, 2)?).ok()?,
                b'H' => h = digits(&mut i, 2)?,
                b'M' => mi = digits(&mut i, 2)?,
                b'S' => sec = digits(&mut i, 2)?,
                b'f' => {
                    let start = i;
                    let v = digits(&mut i, 6)?;
                    frac = v as f64 / 10f64.powi((i - start) as i32);
                }
                b'%' => {
                    if t.get(i) != Some(&b'%') {
                        return None;
                    }
                    i += 1;
                }
                _ => return None,
            }
        } else if f[j].is_ascii_whitespace() {
            j += 1;
            while j < f.len() && f[j].is_ascii_whitespace() {
                j += 1;
            }
            let start = i;
            while i < t.len() && t[i].is_ascii_whitespace() {
                i += 1;
            }
            if i == start {
                return None;
            }
        } else {
            if !t.get(i)?.eq_ignore_ascii_case(&f[j]) {
                return None;
            }
            i += 1;
            j += 1;
        }
    }
    if i != t.len() || !(1..=12).contains(&mo) || h > 23 || mi > 59 || sec > 61 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d == 0 || d > days_in[(mo - 1) as usize] {
        return None;
    }
    let days = time::days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3_600 + mi * 60 + sec) as f64 + frac)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    fn cols() -> Vec<String> {
        vec!["model_name".into(), "cost".into()]
    }

    fn sql(t: &str, p: serde_json::Value) -> Result<String> {
        expand(t, 1, &params(p), &cols()).map(|e| e.sql)
    }

    #[test]
    fn typed_parameters_and_defaults() {
        let t = "%\nSELECT {{String(s, 'x')}}, {{Int32(n, 5)}}, {{Float64(f, 1.5)}}, {{UInt8(u)}}, {{Boolean(b)}}, {{DateTime(t, '2024-01-01 00:00:00')}}, {{Date(d, '2024-01-02')}}";
        assert_eq!(
            sql(t, json!({"u": "7"})).unwrap(),
            "SELECT 'x', toInt32(5), toFloat64(1.5), toUInt8(7), 0, '2024-01-01 00:00:00', '2024-01-02'"
        );
        assert_eq!(
            sql(t, json!({"s": "it's", "n": -3, "f": "2", "u": 255, "b": "true", "t": "2024-05-01T10:00:00Z", "d": "2024-05-02"})).unwrap(),
            "SELECT 'it\\'s', toInt32(-3), toFloat64(2.0), toUInt8(255), 1, '2024-05-01 10:00:00', '2024-05-02'"
        );
        let e = expand(
            t,
            1,
            &params(json!({"u": 1, "s": "a'); DROP TABLE x; --"})),
            &cols(),
        )
        .unwrap();
        // The whole value is one token.
        assert!(e
            .tokens
            .iter()
            .any(|t| t.tok
                == Tok::Param(DataType::String, Value::Str("a'); DROP TABLE x; --".into()))));
    }

    #[test]
    fn bad_and_missing_parameters_are_errors() {
        let t = "%\nSELECT {{Int32(n)}}";
        let e = sql(t, json!({})).unwrap_err().to_string();
        assert!(e.contains("parameter 'n' is required"), "{e}");
        let e = sql(t, json!({"n": "5; DROP"})).unwrap_err().to_string();
        assert!(e.contains("not a valid Int32"), "{e}");
        let e = sql(t, json!({"n": 3_000_000_000i64}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the Int32 range"), "{e}");
        let e = sql("%\nSELECT {{UInt8(n)}}", json!({"n": -1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside"), "{e}");
        let e = sql("%\nSELECT {{DateTime(t)}}", json!({"t": "yesterday"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid DateTime"), "{e}");
        let e = sql("%\nSELECT {{Boolean(b)}}", json!({"b": "maybe"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid Boolean"), "{e}");
        let e = sql("%\nSELECT {{Float64(f)}}", json!({"f": "1e999"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid Float64"), "{e}");
    }

    #[test]
    fn conditionals() {
        let t = "%\nSELECT 1 {% if defined(a) and a == 'x' %}A{% elif defined(b) %}B{% else %}C{% end %} {% if not defined(z) %}Z{% end %}";
        assert_eq!(sql(t, json!({"a": "x"})).unwrap(), "SELECT 1 A Z");
        assert_eq!(sql(t, json!({"a": "y", "b": 1})).unwrap(), "SELECT 1 B Z");
        assert_eq!(sql(t, json!({"z": 0})).unwrap(), "SELECT 1 C");
        let nested = "%\n{% if defined(a) %}a{% if defined(b) %}b{% else %}c{% end %}d{% end %}e";
        assert_eq!(sql(nested, json!({"a": 1})).unwrap(), "acde");
        assert_eq!(sql(nested, json!({"a": 1, "b": 1})).unwrap(), "abde");
        assert_eq!(sql(nested, json!({})).unwrap(), "e");
        let e = sql(
            "%\nSELECT {% if defined(a) %}{{ error('a is not allowed') }}{% end %}1",
            json!({"a": 1}),
        );
        assert_eq!(e.unwrap_err().to_string(), "a is not allowed");
        assert_eq!(
            sql("%\n{% if x in ['p', 'q'] %}in{% end %}", json!({"x": "q"})).unwrap(),
            "in"
        );
    }

    #[test]
    fn malformed_templates_name_the_line() {
        for (t, needle) in [
            (
                "%\nSELECT 1\n{% if defined(a) %}x",
                "line 3: {% if %} is not closed",
            ),
            ("%\nSELECT {{String(a)", "line 2: '{{' is not closed"),
            ("%\n\n{% end %}", "line 3: {% end %} without"),
            ("%\n{% while x %}{% end %}", "'while' is not supported"),
            ("%\n{% for x in y %}", "line 2: {% for %} is not closed"),
            (
                "%\n{% for x in y %}{% end %}",
                "line 2: {% for %} cannot go over a None",
            ),
            ("%\n{% set x == 1 %}", "expected {% set name = value %}"),
            ("%\n{{ open('x') }}", "'open' is not supported"),
        ] {
            let e = sql(t, json!({"a": "1"})).unwrap_err().to_string();
            assert!(e.contains(needle), "{t}: {e}");
        }
        assert!(check("%\n{% if defined(a) %}", 1).is_err());
    }

    #[test]
    fn arrays_and_columns() {
        let t = "%\nSELECT {{Array(m, 'String', default='a,b')}}, {{Array(n, 'Int32', default='1')}}, {{column(c, 'cost')}}";
        assert_eq!(
            sql(t, json!({})).unwrap(),
            "SELECT ['a', 'b'], [toInt32(1)], `cost`"
        );
        assert_eq!(
            sql(t, json!({"m": ["x'y", "z"], "n": "4,5", "c": "model_name"})).unwrap(),
            "SELECT ['x\\'y', 'z'], [toInt32(4), toInt32(5)], `model_name`"
        );
        let e = sql(t, json!({"n": "4,x"})).unwrap_err().to_string();
        assert!(
            e.contains("'n' item 2") && e.contains("not a valid Int32"),
            "{e}"
        );
        let e = sql(t, json!({"c": "cost; DROP TABLE t"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a column"), "{e}");
        let e = sql(t, json!({"c": "`cost`"})).unwrap_err().to_string();
        assert!(e.contains("is not a column"), "{e}");
    }

    #[test]
    fn sql_is_lexed_as_rendered() {
        // Tinybird renders `-{# x #}-` as `--`: a comment to the end of the line.
        let e = expand("%\nSELECT 1 -{# x #}- 2\n, 3", 1, &Params::new(), &cols()).unwrap();
        assert_eq!(e.sql, "SELECT 1 -- 2\n, 3");
        assert_eq!(e.tokens.len(), 4, "{:?}", e.tokens);
        // A comment ends at the first `#}`, quotes or not.
        assert_eq!(
            sql("%\nSELECT {# don't #}1", json!({})).unwrap(),
            "SELECT 1"
        );
        // More than two braces: the innermost pair opens the tag.
        assert!(parse_template("%\n{{{ 1 }}}", 1).is_ok());
        let e = sql("%\nSELECT 'a {{String(s)}}'", json!({"s": "x"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2: a template value inside a quoted"),
            "{e}"
        );
        let e = sql("%\nSELECT 1 /* {{String(s)}}", json!({"s": "x"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unterminated comment"), "{e}");
    }

    #[test]
    fn chains_evaluate_like_python() {
        // `and` gives the first falsy operand or the last; `or` the first truthy or the last.
        assert_eq!(sql("%\n{{ 1 and 2 and 3 }}", json!({})).unwrap(), "3");
        assert_eq!(sql("%\n{{ 1 and 0 and 3 }}", json!({})).unwrap(), "0");
        assert_eq!(sql("%\n{{ 0 or 0 or 5 }}", json!({})).unwrap(), "5");
        assert_eq!(sql("%\n{{ 0 or 4 and 0 or 6 }}", json!({})).unwrap(), "6");
        assert_eq!(sql("%\n{{ not not 7 }}", json!({})).unwrap(), "1");
        assert_eq!(sql("%\n{{ not not not 7 }}", json!({})).unwrap(), "0");
        // Later operands are not evaluated.
        assert_eq!(
            sql(
                "%\n{{ 0 and error('no') }}{{ 1 or error('no') }}",
                json!({})
            )
            .unwrap(),
            "01"
        );
        let e = sql("%\nSELECT\n{% if\n1 and (1 ==\n %}1{% end %}", json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("template line 4:"), "{e}");
    }

    #[test]
    fn trailing_commas_and_set_variables_as_tinybird_renders_them() {
        // Tinybird's renderer (tinybird 5.0.3, `render_sql_template`) gives the SQL in each
        // comment; where the text differs (`toInt16('10')`), ClickHouse's answer is the same.
        // "SELECT '2024-01-02', [1,2]"
        let t = "%\nSELECT {{ Date(d, '2020-09-10', description=\"day\", required=True,) }}, {{ Array(xs, 'Int32', default='1,2',) }}";
        assert_eq!(
            sql(t, json!({"d": "2024-01-02"})).unwrap(),
            "SELECT '2024-01-02', [toInt32(1), toInt32(2)]"
        );
        // As Tinybird's renderer: a required parameter left out takes its default.
        // "SELECT '2020-09-10', [1,2]"
        assert_eq!(
            sql(t, json!({})).unwrap(),
            "SELECT '2020-09-10', [toInt32(1), toInt32(2)]"
        );
        // "Required parameter is not defined. Check the parameters d. …"
        let e = sql("%\nSELECT {{ Date(d, required=True,) }}", json!({}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("parameter 'd' is required"), "{e}");
        // "SELECT toInt16('10'), 2", with or without a request parameter `w`.
        let t = "%\n{% set w = 10 %}SELECT {{ Int16(w) }}, {{ [1, 2,][1] }}";
        assert_eq!(sql(t, json!({})).unwrap(), "SELECT toInt16(10), 2");
        // A set variable wins over a request parameter of the same name.
        assert_eq!(sql(t, json!({"w": 3})).unwrap(), "SELECT toInt16(10), 2");
        // So it does for Array(): a list, text split at commas, another Array().
        let t = "%\n{% set xs = [1, 2] %}{% set s = 'a,b' %}{% set ys = Array(p, 'Int32', default='7') %}SELECT {{ Array(xs, 'Int32') }}, {{ Array(s) }}, {{ Array(ys, 'Int32') }}";
        let want = "SELECT [toInt32(1), toInt32(2)], ['a', 'b'], [toInt32(7)]";
        assert_eq!(sql(t, json!({})).unwrap(), want);
        assert_eq!(sql(t, json!({"xs": "5"})).unwrap(), want);
    }
}
