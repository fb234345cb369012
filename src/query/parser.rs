//! A recursive-descent parser for the supported `SELECT` subset of ClickHouse SQL.
//!
//! Operators become calls named as ClickHouse names them (`a + b` is `plus(a, b)`, `x BETWEEN a
//! AND b` is `and(greaterOrEquals(x, a), lessOrEquals(x, b))`), so column names and the matching of
//! `GROUP BY` keys follow ClickHouse. Constructs outside the subset fail with
//! "not supported: …" naming them.

use super::ast::{
    ArrayJoinClause, Call, Expr, Frame, FrameBound, Join, JoinKind, LimitBy, Lit, OrderItem, Over,
    Query, SelectItem, Strictness, UnionMode, WindowOrder, With,
};
use super::lexer::{Tok, Token};
use super::types::{DataType, Unit};
use super::Value;
use crate::error::{Error, Result};
use std::rc::Rc;

/// Parses one statement (an optional trailing `;` is allowed).
pub fn parse_query(tokens: &[Token]) -> Result<Query> {
    let mut p = Parser {
        t: tokens,
        i: 0,
        subqueries: 0,
        depth: 0,
        tree: 0,
        query_depth: 0,
    };
    let q = p.query()?;
    p.eat_sym(";");
    if p.i < p.t.len() {
        return Err(p.unexpected("the end of the query"));
    }
    super::ast::number_subqueries(&q);
    Ok(q)
}

struct Parser<'t> {
    t: &'t [Token],
    i: usize,
    subqueries: usize,
    depth: usize,
    tree: usize,
    query_depth: usize,
}

/// How deeply expressions may nest (parentheses, unary operators, subqueries).
const MAX_NESTING: usize = 64;

/// How deep the tree of one expression may be, each operator of a chain such as `a + b + c`
/// counting as one level: everything that walks the tree later recurses that deep.
const MAX_TREE_DEPTH: usize = 256;

/// How deeply queries may nest (subqueries in `FROM`, `WITH` or expressions); running a query
/// has the same bound, with pipe nodes that read each other counting too.
pub const MAX_QUERY_NESTING: usize = 32;

/// How many tokens of a first `SELECT` with `WITH` the parts of its `UNION` may copy in all.
const MAX_WITH_COPIES: usize = 1 << 20;

/// The conversion function a `::Type` cast runs, for the plain types it is written with.
fn cast_function(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "Date" => "toDate",
        "Date32" => "toDate32",
        "DateTime" => "toDateTime",
        "String" => "toString",
        "Int8" => "toInt8",
        "Int16" => "toInt16",
        "Int32" => "toInt32",
        "Int64" => "toInt64",
        "UInt8" => "toUInt8",
        "UInt16" => "toUInt16",
        "UInt32" => "toUInt32",
        "UInt64" => "toUInt64",
        "Float32" => "toFloat32",
        "Float64" => "toFloat64",
        _ => return None,
    })
}

/// `addDays(t, n)`, `subtractWeeks(t, n)`, `timestampAdd(t, INTERVAL …)`, `date_add(unit, n, t)`
/// and their kin, as the `t ± INTERVAL n unit` ClickHouse computes them as; `None` for any
/// other call (`args` left as they are).
pub(crate) fn date_arithmetic(name: &str, args: &mut Vec<Expr>) -> Option<Expr> {
    let lower = name.to_ascii_lowercase();
    let (op, rest) = if let Some(r) = name.strip_prefix("add") {
        ("plus", r)
    } else if let Some(r) = name.strip_prefix("subtract") {
        ("minus", r)
    } else {
        let op = match lower.as_str() {
            "timestampadd" | "timestamp_add" | "date_add" | "dateadd" => "plus",
            "timestampsub" | "timestamp_sub" | "date_sub" | "datesub" => "minus",
            _ => return None,
        };
        return match args.len() {
            // (t, INTERVAL n unit)
            2 if matches!(args[1], Expr::Interval(..)) => {
                Some(Expr::call(op, std::mem::take(args)))
            }
            // (unit, n, t)
            3 => {
                let unit = match &args[0] {
                    Expr::Ident(u) => Unit::parse(u)?,
                    _ => return None,
                };
                let t = args.pop()?;
                let n = args.pop()?;
                Some(Expr::call(op, vec![t, Expr::Interval(Box::new(n), unit)]))
            }
            _ => None,
        };
    };
    let unit = match rest {
        "Seconds" => Unit::Second,
        "Minutes" => Unit::Minute,
        "Hours" => Unit::Hour,
        "Days" => Unit::Day,
        "Weeks" => Unit::Week,
        "Months" => Unit::Month,
        "Quarters" => Unit::Quarter,
        "Years" => Unit::Year,
        _ => return None,
    };
    if args.len() != 2 {
        return None;
    }
    let n = args.pop()?;
    let t = args.pop()?;
    Some(Expr::call(op, vec![t, Expr::Interval(Box::new(n), unit)]))
}

/// The table function `numbers(n)`, `numbers(offset, n)` or `numbers(offset, n, step)`: the
/// `UInt64` column `number` from `offset` (0) up to `offset + n`, by `step` (1), as the query
/// `SELECT arrayJoin(range(offset, offset + n, step)) AS number`.
fn numbers_query(mut args: Vec<Expr>) -> Result<Query> {
    if args.is_empty() || args.len() > 3 {
        return Err(Error::query(
            "table function numbers takes 1 to 3 arguments: [offset,] count[, step]",
        ));
    }
    let u64 = |e: Expr| Expr::call("toUInt64", vec![e]);
    let step = if args.len() == 3 { args.pop() } else { None };
    let count = args.pop().map(u64);
    let offset = args.pop().map(u64).unwrap_or_else(|| {
        u64(Expr::Lit(super::ast::Lit {
            value: Value::UInt(0),
            ty: DataType::UInt8,
            typed: false,
        }))
    });
    let end = Expr::call(
        "plus",
        vec![offset.clone()].into_iter().chain(count).collect(),
    );
    let mut range = vec![offset, end];
    range.extend(step.map(u64));
    Ok(Query {
        with: Vec::new(),
        distinct: false,
        select: vec![SelectItem {
            expr: Expr::call("arrayJoin", vec![Expr::call("range", range)]),
            alias: Some("number".to_string()),
        }],
        from: None,
        array_join: None,
        filter: None,
        group_by: Vec::new(),
        having: None,
        order_by: Vec::new(),
        limit_by: None,
        limit: None,
        offset: None,
        union: Vec::new(),
        windows: Vec::new(),
        table_function: true,
    })
}

/// How many joins one `FROM` may chain.
pub const MAX_JOINS: usize = 32;

/// Keywords that end an expression or select item (so they are never implicit aliases).
const RESERVED: &[&str] = &[
    "FROM",
    "WHERE",
    "PREWHERE",
    "GROUP",
    "ORDER",
    "LIMIT",
    "HAVING",
    "AS",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "CROSS",
    "ARRAY",
    "ON",
    "USING",
    "SETTINGS",
    "FORMAT",
    "WINDOW",
    "OFFSET",
    "BY",
    "ASC",
    "DESC",
    "ASCENDING",
    "DESCENDING",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "IS",
    "WITH",
    "SELECT",
    "FINAL",
    "SAMPLE",
    "INTO",
    "QUALIFY",
    "GLOBAL",
    "ANY",
    "ALL",
    "ASOF",
    "SEMI",
    "ANTI",
    "PASTE",
    "NULLS",
    "COLLATE",
    "THEN",
    "ELSE",
    "END",
    "WHEN",
    "FETCH",
    "INTERVAL",
    "OUTER",
    "LOCAL",
    "OVER",
];

/// Keywords of constructs outside the subset, with the name the error uses.
fn unsupported_keyword(word: &str) -> Option<&'static str> {
    Some(match word.to_ascii_uppercase().as_str() {
        "ASOF" => "ASOF JOIN",
        "SEMI" | "ANTI" => "SEMI and ANTI JOIN",
        "PASTE" => "PASTE JOIN",
        "GLOBAL" => "GLOBAL JOIN",
        "EXCEPT" => "EXCEPT",
        "INTERSECT" => "INTERSECT",
        "ARRAY" => "ARRAY JOIN",
        "SETTINGS" => "SETTINGS",
        "FORMAT" => "FORMAT",
        "FINAL" => "FINAL",
        "SAMPLE" => "SAMPLE",
        "INTO" => "INTO OUTFILE",
        "QUALIFY" => "QUALIFY",
        "FETCH" => "FETCH",
        "INSERT" => "INSERT",
        "CREATE" => "CREATE",
        "DROP" => "DROP",
        "ALTER" => "ALTER",
        "DELETE" => "DELETE",
        "UPDATE" => "UPDATE",
        "EXPLAIN" => "EXPLAIN",
        "SHOW" => "SHOW",
        "DESCRIBE" | "DESC" => "DESCRIBE",
        "TRUNCATE" => "TRUNCATE",
        "OPTIMIZE" => "OPTIMIZE",
        "SYSTEM" => "SYSTEM",
        "COLLATE" => "COLLATE",
        _ => return None,
    })
}

fn kw_eq(tok: &Tok, kw: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&'t Tok> {
        self.t.get(self.i).map(|t| &t.tok)
    }

    fn peek_at(&self, k: usize) -> Option<&'t Tok> {
        self.t.get(self.i + k).map(|t| &t.tok)
    }

    fn line(&self) -> usize {
        self.t
            .get(self.i)
            .or_else(|| self.t.last())
            .map_or(1, |t| t.line)
    }

    fn is_kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| kw_eq(t, kw))
    }

    fn is_kw_at(&self, k: usize, kw: &str) -> bool {
        self.peek_at(k).is_some_and(|t| kw_eq(t, kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn describe(tok: Option<&Tok>) -> String {
        match tok {
            None => "the end of the query".into(),
            Some(Tok::Word(w)) => format!("'{w}'"),
            Some(Tok::Quoted(w)) => format!("`{w}`"),
            Some(Tok::Str(s)) => format!("string '{s}'"),
            Some(Tok::Num(n)) => format!("number {n}"),
            Some(Tok::Sym(s)) => format!("'{s}'"),
            Some(Tok::Param(t, _)) => format!("a {t} parameter"),
        }
    }

    fn unexpected(&self, expected: &str) -> Error {
        if let Some(Tok::Word(w)) = self.peek() {
            if let Some(what) = unsupported_keyword(w) {
                return Error::unsupported(what);
            }
        }
        if self.is_sym("->") {
            return Error::unsupported("lambda functions");
        }
        Error::query(format!(
            "syntax error at line {}: expected {expected}, found {}",
            self.line(),
            Self::describe(self.peek())
        ))
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(kw))
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{s}'")))
        }
    }

    /// An identifier: a non-reserved word or a quoted name.
    fn ident(&mut self) -> Result<String> {
        match self.peek() {
            Some(Tok::Quoted(s)) => {
                self.i += 1;
                Ok(s.clone())
            }
            Some(Tok::Word(w)) if !RESERVED.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                self.i += 1;
                Ok(w.clone())
            }
            _ => Err(self.unexpected("a name")),
        }
    }

    /// The name after `AS`: any word, keywords too (`AS end`, `AS year`), as ClickHouse
    /// reads it, or a quoted name.
    fn alias_name(&mut self) -> Result<String> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let w = w.clone();
                self.i += 1;
                Ok(w)
            }
            _ => self.ident(),
        }
    }

    /// A query: one `SELECT`, or several combined by `UNION`. Later parts see the first one's
    /// `WITH` items, as ClickHouse's `enable_global_with_statement` has it; a chain of any
    /// length is read in a loop, and parts in parentheses count as subqueries.
    fn query(&mut self) -> Result<Query> {
        let start = self.i;
        let mut head = self.union_part()?;
        let head_tokens = self.i - start;
        let mut copied = 0usize;
        while self.eat_kw("UNION") {
            let mode = if self.eat_kw("ALL") {
                UnionMode::All
            } else if self.eat_kw("DISTINCT") {
                UnionMode::Distinct
            } else {
                return Err(Error::query(format!(
                    "line {}: EXPECTED_ALL_OR_DISTINCT: write UNION ALL to keep repeated rows or \
                     UNION DISTINCT to drop them (ClickHouse's union_default_mode is empty)",
                    self.line()
                )));
            };
            let mut part = self.union_part()?;
            if !head.with.is_empty() {
                // Each part gets a copy of the first one's `WITH`: bounded in all.
                copied = copied.saturating_add(head_tokens);
                if copied > MAX_WITH_COPIES {
                    return Err(Error::query(format!(
                        "line {}: a WITH clause is copied into too many UNION parts (more than \
                         {MAX_WITH_COPIES} tokens in all)",
                        self.line()
                    )));
                }
            }
            for w in head.with.iter().rev() {
                let name = match w {
                    With::Alias(n, _) | With::Table(n, _) => n,
                };
                let own = part.with.iter().any(|x| match x {
                    With::Alias(n, _) | With::Table(n, _) => n == name,
                });
                if !own {
                    part.with.insert(0, w.clone());
                }
            }
            head.union.push((mode, Rc::new(part)));
        }
        Ok(head)
    }

    /// One part of a `UNION`: a `SELECT`, or a query in parentheses.
    fn union_part(&mut self) -> Result<Query> {
        if self.is_sym("(") && (self.is_kw_at(1, "SELECT") || self.is_kw_at(1, "WITH")) {
            self.i += 1;
            let q = self.subquery()?;
            self.expect_sym(")")?;
            return Ok(q);
        }
        self.select()
    }

    /// One `SELECT` with its clauses.
    fn select(&mut self) -> Result<Query> {
        let mut q = Query::default();
        if self.eat_kw("WITH") {
            loop {
                q.with.push(self.with_item()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_kw("SELECT")?;
        if self.eat_kw("DISTINCT") {
            q.distinct = true;
        } else {
            self.eat_kw("ALL");
        }
        if self.is_kw("TOP") {
            return Err(Error::unsupported("SELECT TOP (use LIMIT)"));
        }
        loop {
            q.select.push(self.select_item()?);
            if !self.eat_sym(",") {
                break;
            }
        }
        if self.eat_kw("FROM") {
            q.from = Some(self.from()?);
            let left = self.is_kw("LEFT") && self.is_kw_at(1, "ARRAY") && self.is_kw_at(2, "JOIN");
            if left || (self.is_kw("ARRAY") && self.is_kw_at(1, "JOIN")) {
                self.i += if left { 3 } else { 2 };
                let mut items = Vec::new();
                loop {
                    let expr = self.expr()?;
                    let alias = self.alias()?;
                    items.push(SelectItem { expr, alias });
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                q.array_join = Some(ArrayJoinClause { left, items });
            }
        }
        let mut filters = Vec::new();
        if self.eat_kw("PREWHERE") {
            filters.push(self.expr()?);
        }
        if self.eat_kw("WHERE") {
            filters.push(self.expr()?);
        }
        q.filter = match filters.len() {
            0 => None,
            1 => filters.pop(),
            _ => Some(Expr::call("and", filters)),
        };
        if self.is_kw("GROUP") && self.is_kw_at(1, "BY") {
            self.i += 2;
            if self.is_kw("ALL") {
                return Err(Error::unsupported("GROUP BY ALL"));
            }
            loop {
                let e = self.expr()?;
                if self.eat_kw("AS") {
                    // `GROUP BY toYear(t) AS year`: an alias usable anywhere in the query,
                    // as one from `WITH`.
                    let name = self.alias_name()?;
                    q.with.push(With::Alias(name.clone(), e));
                    q.group_by.push(Expr::Ident(name));
                } else {
                    q.group_by.push(e);
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            if self.is_kw("WITH") {
                let what = match self.peek_at(1) {
                    Some(Tok::Word(w)) => w.to_ascii_uppercase(),
                    _ => String::new(),
                };
                return Err(Error::unsupported(format!("WITH {what}")));
            }
        }
        if self.eat_kw("HAVING") {
            q.having = Some(self.expr()?);
        }
        if self.eat_kw("WINDOW") {
            loop {
                let name = self.ident()?;
                self.expect_kw("AS")?;
                self.expect_sym("(")?;
                let w = self.window()?;
                q.windows.push((name, w));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.is_kw("ORDER") && self.is_kw_at(1, "BY") {
            self.i += 2;
            loop {
                let (expr, desc, nulls) = self.order_key()?;
                let nulls_first = nulls == Some(true);
                if self.is_kw("WITH") && self.is_kw_at(1, "FILL") {
                    return Err(Error::unsupported("WITH FILL"));
                }
                q.order_by.push(OrderItem {
                    expr,
                    desc,
                    nulls_first,
                });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        // Up to two LIMIT clauses: `LIMIT n BY …` then a plain `LIMIT`.
        for _ in 0..2 {
            if !self.eat_kw("LIMIT") {
                break;
            }
            let first = self.expr()?;
            let (limit, offset) = if self.eat_sym(",") {
                (self.expr()?, Some(first))
            } else if self.eat_kw("OFFSET") {
                (first, Some(self.expr()?))
            } else {
                (first, None)
            };
            if self.eat_kw("BY") {
                if q.limit_by.is_some() {
                    return Err(self.unexpected("one LIMIT BY"));
                }
                let mut by = Vec::new();
                loop {
                    by.push(self.expr()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                q.limit_by = Some(LimitBy { limit, offset, by });
            } else {
                if q.limit.is_some() {
                    return Err(self.unexpected("one LIMIT"));
                }
                q.limit = Some(limit);
                q.offset = offset;
                if self.is_kw("WITH") && self.is_kw_at(1, "TIES") {
                    return Err(Error::unsupported("LIMIT WITH TIES"));
                }
                break;
            }
        }
        // A lone `OFFSET` goes with no LIMIT at all: after `LIMIT n BY …` ClickHouse's grammar
        // has no place for it.
        if q.limit.is_none() && q.limit_by.is_none() && self.eat_kw("OFFSET") {
            q.offset = Some(self.expr()?);
            if self.eat_kw("ROW") || self.eat_kw("ROWS") {}
        }
        Ok(q)
    }

    fn with_item(&mut self) -> Result<With> {
        // `name AS (…)`: a named subquery, or (an extension) a named scalar expression.
        let named = matches!(self.peek(), Some(Tok::Word(_) | Tok::Quoted(_)))
            && self.is_kw_at(1, "AS")
            && matches!(self.peek_at(2), Some(Tok::Sym("(")));
        if named {
            let name = self.ident()?;
            self.expect_kw("AS")?;
            self.expect_sym("(")?;
            if self.is_kw("SELECT") || self.is_kw("WITH") {
                let q = self.subquery()?;
                self.expect_sym(")")?;
                return Ok(With::Table(name, Rc::new(q)));
            }
            let e = self.expr()?;
            self.expect_sym(")")?;
            return Ok(With::Alias(name, e));
        }
        let e = self.expr()?;
        self.expect_kw("AS")?;
        let name = self.alias_name()?;
        Ok(With::Alias(name, e))
    }

    fn select_item(&mut self) -> Result<SelectItem> {
        if self.eat_sym("*") {
            if self.is_kw("EXCEPT") || self.is_kw("REPLACE") || self.is_kw("APPLY") {
                return Err(Error::unsupported("* modifiers"));
            }
            return Ok(SelectItem {
                expr: Expr::Star,
                alias: None,
            });
        }
        let expr = self.expr()?;
        let alias = self.alias()?;
        Ok(SelectItem { expr, alias })
    }

    fn alias(&mut self) -> Result<Option<String>> {
        if self.eat_kw("AS") {
            return Ok(Some(self.alias_name()?));
        }
        match self.peek() {
            Some(Tok::Quoted(_)) => Ok(Some(self.ident()?)),
            Some(Tok::Word(w)) if !RESERVED.iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                Ok(Some(self.ident()?))
            }
            _ => Ok(None),
        }
    }

    /// A `FROM` clause: a source, then any joins, left to right.
    fn from(&mut self) -> Result<super::ast::From> {
        let mut from = self.source()?;
        let mut joins = 0;
        while let Some((kind, strictness)) = self.join_operator()? {
            joins += 1;
            if joins > MAX_JOINS {
                return Err(Error::query(format!(
                    "line {}: too many JOINs (more than {MAX_JOINS})",
                    self.line()
                )));
            }
            let right = self.source()?;
            let mut on = None;
            let mut using = Vec::new();
            if kind != JoinKind::Cross {
                if self.eat_kw("ON") {
                    on = Some(self.expr()?);
                } else if self.eat_kw("USING") {
                    let paren = self.eat_sym("(");
                    loop {
                        using.push(self.ident()?);
                        if !paren || !self.eat_sym(",") {
                            break;
                        }
                    }
                    if paren {
                        self.expect_sym(")")?;
                    }
                } else {
                    return Err(self.unexpected("ON or USING"));
                }
            }
            from = super::ast::From::Join(Box::new(Join {
                left: from,
                right,
                kind,
                strictness,
                on,
                using,
            }));
        }
        Ok(from)
    }

    /// The words before `JOIN` (or a comma), if a join comes next: `[INNER | LEFT | RIGHT |
    /// FULL | CROSS] [OUTER] [ANY | ALL]`, strictness before or after the kind.
    fn join_operator(&mut self) -> Result<Option<(JoinKind, Strictness)>> {
        if self.eat_sym(",") {
            return Ok(Some((JoinKind::Cross, Strictness::All)));
        }
        let start = self.i;
        let mut kind = None;
        let mut strictness = None;
        let mut outer = false;
        while let Some(Tok::Word(w)) = self.peek() {
            let w = w.to_ascii_uppercase();
            let k = match w.as_str() {
                "INNER" => Some(JoinKind::Inner),
                "LEFT" => Some(JoinKind::Left),
                "RIGHT" => Some(JoinKind::Right),
                "FULL" => Some(JoinKind::Full),
                "CROSS" => Some(JoinKind::Cross),
                _ => None,
            };
            let st = match w.as_str() {
                "ANY" => Some(Strictness::Any),
                "ALL" => Some(Strictness::All),
                _ => None,
            };
            if let Some(k) = k {
                if kind.is_some() {
                    return Err(self.unexpected("JOIN"));
                }
                kind = Some(k);
            } else if let Some(st) = st {
                if strictness.is_some() {
                    return Err(self.unexpected("JOIN"));
                }
                strictness = Some(st);
            } else if w == "OUTER" {
                outer = true;
            } else if w == "ARRAY"
                && self.is_kw_at(1, "JOIN")
                && matches!(kind, None | Some(JoinKind::Left))
                && strictness.is_none()
                && !outer
            {
                // `[LEFT] ARRAY JOIN`: not a join of tables; the query reads it after `FROM`.
                self.i = start;
                return Ok(None);
            } else if w == "JOIN" {
                self.i += 1;
                let kind = kind.unwrap_or(JoinKind::Inner);
                if outer && matches!(kind, JoinKind::Inner | JoinKind::Cross) {
                    return Err(Error::query("OUTER goes with LEFT, RIGHT or FULL JOIN"));
                }
                let strictness = strictness.unwrap_or(Strictness::All);
                if kind == JoinKind::Cross && strictness == Strictness::Any {
                    return Err(Error::query("CROSS JOIN takes no ANY"));
                }
                if kind == JoinKind::Full && strictness == Strictness::Any {
                    return Err(Error::query(
                        "NOT_IMPLEMENTED: ANY FULL JOINs are not implemented (as in ClickHouse)",
                    ));
                }
                return Ok(Some((kind, strictness)));
            } else if let Some(what) = unsupported_keyword(&w) {
                return Err(Error::unsupported(what));
            } else {
                break;
            }
            self.i += 1;
        }
        if self.i != start {
            return Err(self.unexpected("JOIN"));
        }
        Ok(None)
    }

    /// One source of a `FROM`: a table or a subquery, with an optional alias.
    fn source(&mut self) -> Result<super::ast::From> {
        Ok(if self.eat_sym("(") {
            if !(self.is_kw("SELECT") || self.is_kw("WITH")) {
                return Err(self.unexpected("a subquery"));
            }
            let q = self.subquery()?;
            self.expect_sym(")")?;
            let alias = self.alias()?;
            super::ast::From::Subquery(Rc::new(q), alias)
        } else {
            let mut name = self.ident()?;
            if self.eat_sym(".") {
                // `db.table`: the database part is ignored.
                name = self.ident()?;
            }
            if self.is_sym("(") {
                if name != "numbers" {
                    return Err(Error::unsupported(format!("table function {name}()")));
                }
                self.i += 1;
                let args = self.args(&name)?;
                let q = numbers_query(args)?;
                let alias = self.alias()?;
                return Ok(super::ast::From::Subquery(Rc::new(q), alias));
            }
            let alias = self.alias()?;
            if self.eat_kw("FINAL") {
                return Ok(super::ast::From::Final(name, alias));
            }
            super::ast::From::Table(name, alias)
        })
    }

    /// Any expression.
    pub fn expr(&mut self) -> Result<Expr> {
        self.nested(Self::or)
    }

    /// Runs `f` one nesting level deeper, failing beyond [`MAX_NESTING`].
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Result<Expr>) -> Result<Expr> {
        if self.depth >= MAX_NESTING {
            return Err(Error::query(format!(
                "line {}: expressions nest too deeply (more than {MAX_NESTING} levels)",
                self.line()
            )));
        }
        self.depth += 1;
        self.taller()?;
        let r = f(self);
        self.tree -= 1;
        self.depth -= 1;
        r
    }

    /// A query in parentheses (in `FROM`, `WITH` or an expression), one nesting level deeper.
    fn subquery(&mut self) -> Result<Query> {
        if self.query_depth >= MAX_QUERY_NESTING {
            return Err(Error::query(format!(
                "line {}: subqueries nest too deeply (more than {MAX_QUERY_NESTING} levels)",
                self.line()
            )));
        }
        self.query_depth += 1;
        let r = self.query();
        self.query_depth -= 1;
        r
    }

    /// One level taller tree, failing beyond [`MAX_TREE_DEPTH`]: each operator of a chain
    /// and each nesting level counts, so the depth of every expression tree, and of everything
    /// that later walks it, is bounded whatever the input.
    fn taller(&mut self) -> Result<()> {
        if self.tree >= MAX_TREE_DEPTH {
            return Err(Error::query(format!(
                "line {}: expressions nest too deeply (more than {MAX_TREE_DEPTH} levels, each \
                 operator of a chain counting as one)",
                self.line()
            )));
        }
        self.tree += 1;
        Ok(())
    }

    fn or(&mut self) -> Result<Expr> {
        let mut items = vec![self.and()?];
        while self.eat_kw("OR") {
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::call("or", items)
        })
    }

    fn and(&mut self) -> Result<Expr> {
        let mut items = vec![self.not()?];
        while self.eat_kw("AND") {
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::call("and", items)
        })
    }

    fn not(&mut self) -> Result<Expr> {
        if self.eat_kw("NOT") {
            let e = self.nested(Self::not)?;
            return Ok(Expr::call("not", vec![e]));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.concat()?;
        let op = match self.peek() {
            Some(Tok::Sym("=" | "==")) => Some("equals"),
            Some(Tok::Sym("!=" | "<>")) => Some("notEquals"),
            Some(Tok::Sym("<")) => Some("less"),
            Some(Tok::Sym(">")) => Some("greater"),
            Some(Tok::Sym("<=")) => Some("lessOrEquals"),
            Some(Tok::Sym(">=")) => Some("greaterOrEquals"),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            let right = self.concat()?;
            return Ok(Expr::call(op, vec![left, right]));
        }
        let negated = self.is_kw("NOT")
            && ["LIKE", "ILIKE", "IN", "BETWEEN"]
                .iter()
                .any(|k| self.is_kw_at(1, k));
        if negated {
            self.i += 1;
        }
        if self.eat_kw("LIKE") || self.eat_kw("ILIKE") {
            let ilike = self
                .t
                .get(self.i - 1)
                .is_some_and(|t| kw_eq(&t.tok, "ILIKE"));
            let right = self.concat()?;
            let name = match (negated, ilike) {
                (false, false) => "like",
                (true, false) => "notLike",
                (false, true) => "ilike",
                (true, true) => "notILike",
            };
            return Ok(Expr::call(name, vec![left, right]));
        }
        if self.eat_kw("IN") {
            let right = self.in_list()?;
            return Ok(Expr::call(
                if negated { "notIn" } else { "in" },
                vec![left, right],
            ));
        }
        if self.eat_kw("BETWEEN") {
            let lo = self.concat()?;
            self.expect_kw("AND")?;
            let hi = self.concat()?;
            return Ok(if negated {
                Expr::call(
                    "or",
                    vec![
                        Expr::call("less", vec![left.clone(), lo]),
                        Expr::call("greater", vec![left, hi]),
                    ],
                )
            } else {
                Expr::call(
                    "and",
                    vec![
                        Expr::call("greaterOrEquals", vec![left.clone(), lo]),
                        Expr::call("lessOrEquals", vec![left, hi]),
                    ],
                )
            });
        }
        if negated {
            return Err(self.unexpected("LIKE, ILIKE, IN or BETWEEN"));
        }
        if self.eat_kw("IS") {
            let not = self.eat_kw("NOT");
            self.expect_kw("NULL")?;
            return Ok(Expr::call(
                if not { "isNotNull" } else { "isNull" },
                vec![left],
            ));
        }
        Ok(left)
    }

    /// The right side of `IN`: a parenthesised list (a tuple), a subquery, or an expression.
    fn in_list(&mut self) -> Result<Expr> {
        if self.is_sym("(") && !(self.is_kw_at(1, "SELECT") || self.is_kw_at(1, "WITH")) {
            self.i += 1;
            let mut items = Vec::new();
            if !self.is_sym(")") {
                loop {
                    items.push(self.expr()?);
                    // A trailing comma before `)`, as ClickHouse allows: `IN ('a', 'b',)`.
                    if !self.eat_sym(",") || self.is_sym(")") {
                        break;
                    }
                }
            }
            self.expect_sym(")")?;
            return Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                Expr::Tuple(items)
            });
        }
        self.concat()
    }

    /// `a || b || c` is one `concat(a, b, c)`, as ClickHouse names it.
    fn concat(&mut self) -> Result<Expr> {
        let first = self.additive()?;
        let mut items = vec![first];
        while self.eat_sym("||") {
            items.push(self.additive()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::call("concat", items)
        })
    }

    fn additive(&mut self) -> Result<Expr> {
        let mut left = self.multiplicative()?;
        let outer = self.tree;
        loop {
            let op = if self.eat_sym("+") {
                "plus"
            } else if self.eat_sym("-") {
                "minus"
            } else {
                break;
            };
            self.taller()?;
            let right = self.multiplicative()?;
            left = Expr::call(op, vec![left, right]);
        }
        self.tree = outer;
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        let outer = self.tree;
        loop {
            let op = if self.eat_sym("*") {
                "multiply"
            } else if self.eat_sym("/") {
                "divide"
            } else if self.eat_sym("%") {
                "modulo"
            } else if self.eat_kw("DIV") {
                "intDiv"
            } else if self.eat_kw("MOD") {
                "modulo"
            } else {
                break;
            };
            self.taller()?;
            let right = self.unary()?;
            left = Expr::call(op, vec![left, right]);
        }
        self.tree = outer;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.eat_sym("-") {
            if let Some(Tok::Num(n)) = self.peek() {
                let n = n.clone();
                self.i += 1;
                let lit = number(&n, true, self.line())?;
                return self.postfix(lit);
            }
            // `-inf` and `-nan` are literals, as ClickHouse names them; `-(-nan)` is not.
            let bare = matches!(self.peek(), Some(Tok::Word(_)));
            let e = self.nested(Self::unary)?;
            if let (
                true,
                Expr::Lit(Lit {
                    value: Value::Float64(x),
                    typed: false,
                    ..
                }),
            ) = (bare, &e)
            {
                if !x.is_finite() {
                    return Ok(Expr::lit(Value::Float64(-x), DataType::Float64));
                }
            }
            return Ok(Expr::call("negate", vec![e]));
        }
        if self.eat_sym("+") {
            return self.nested(Self::unary);
        }
        let e = self.primary()?;
        self.postfix(e)
    }

    fn postfix(&mut self, e: Expr) -> Result<Expr> {
        if self.is_sym("::") {
            let target = match self.peek_at(1) {
                Some(Tok::Word(w)) => cast_function(w),
                _ => None,
            };
            let Some(f) = target else {
                return Err(Error::unsupported(
                    "'::' casts but to a plain type (Date, DateTime, String, Int32, Float64, …)",
                ));
            };
            self.i += 2;
            // `x::Date` is `CAST(x, 'Date')`, which converts as `toDate(x)` does.
            return self.postfix(Expr::call(f, vec![e]));
        }
        if self.eat_sym("[") {
            // `a[i]` is `arrayElement(a, i)`; `a[i][j]` nests.
            let index = self.expr()?;
            self.expect_sym("]")?;
            self.taller()?;
            let r = self.postfix(Expr::call("arrayElement", vec![e, index]));
            self.tree -= 1;
            return r;
        }
        // `t.2` lexes as `t` and the number `.2`: element 2 of the tuple `t`.
        let index = match self.peek() {
            Some(Tok::Num(n)) => n
                .strip_prefix('.')
                .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
                .map(str::to_string),
            _ => None,
        };
        if let Some(digits) = index {
            let line = self.line();
            self.i += 1;
            let index = number(&digits, false, line)?;
            self.taller()?;
            let r = self.postfix(Expr::call("tupleElement", vec![e, index]));
            self.tree -= 1;
            return r;
        }
        if self.is_sym(".") {
            return Err(Error::unsupported("tuple element access by name"));
        }
        Ok(e)
    }

    /// A lambda's parameters, when one starts here: `x ->` or `(x, y) ->`.
    fn lambda_params(&self) -> Option<Vec<String>> {
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Word(w) | Tok::Quoted(w)), Some(Tok::Sym("->"))) => Some(vec![w.clone()]),
            (Some(Tok::Sym("(")), _) => {
                let mut names = Vec::new();
                let mut k = 1;
                loop {
                    match self.peek_at(k) {
                        Some(Tok::Word(w) | Tok::Quoted(w)) => names.push(w.clone()),
                        _ => return None,
                    }
                    match self.peek_at(k + 1) {
                        Some(Tok::Sym(",")) => k += 2,
                        Some(Tok::Sym(")")) => break,
                        _ => return None,
                    }
                }
                matches!(self.peek_at(k + 2), Some(Tok::Sym("->"))).then_some(names)
            }
            _ => None,
        }
    }

    /// A function argument: a lambda `x -> body` (as ClickHouse names it, `lambda(tuple(x),
    /// body)`) or an expression.
    fn arg(&mut self) -> Result<Expr> {
        let Some(names) = self.lambda_params() else {
            return self.expr();
        };
        // The names, the parentheses and commas around them, and the arrow.
        self.i += if names.len() == 1 && !self.is_sym("(") {
            2
        } else {
            2 * names.len() + 2
        };
        let params = names.into_iter().map(Expr::Ident).collect();
        let body = self.expr()?;
        Ok(Expr::call(
            "lambda",
            vec![Expr::call("tuple", params), body],
        ))
    }

    fn primary(&mut self) -> Result<Expr> {
        let line = self.line();
        let Some(tok) = self.peek() else {
            return Err(self.unexpected("an expression"));
        };
        match tok {
            Tok::Num(n) => {
                let n = n.clone();
                self.i += 1;
                number(&n, false, line)
            }
            Tok::Str(s) => {
                let s = s.clone();
                self.i += 1;
                Ok(Expr::lit(Value::Str(s), DataType::String))
            }
            Tok::Param(ty, v) => {
                let lit = Lit {
                    value: v.clone(),
                    ty: ty.clone(),
                    typed: true,
                };
                self.i += 1;
                Ok(Expr::Lit(lit))
            }
            Tok::Sym("(") => {
                self.i += 1;
                if self.is_kw("SELECT") || self.is_kw("WITH") {
                    let q = self.subquery()?;
                    self.expect_sym(")")?;
                    self.subqueries += 1;
                    return Ok(Expr::Subquery(
                        Rc::new(q),
                        std::cell::Cell::new(self.subqueries),
                    ));
                }
                let first = self.expr()?;
                if self.is_kw("AS") {
                    return Err(Error::unsupported("aliases inside expressions"));
                }
                if self.eat_sym(",") {
                    let mut items = vec![first];
                    loop {
                        items.push(self.expr()?);
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                    self.expect_sym(")")?;
                    return Ok(Expr::Tuple(items));
                }
                self.expect_sym(")")?;
                Ok(first)
            }
            Tok::Sym("[") => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.is_sym("]") {
                    loop {
                        items.push(self.expr()?);
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                self.expect_sym("]")?;
                Ok(Expr::Array(items))
            }
            Tok::Sym("*") => {
                self.i += 1;
                Ok(Expr::Star)
            }
            Tok::Quoted(name) => {
                let name = name.clone();
                self.i += 1;
                self.qualified(name)
            }
            Tok::Word(w) => {
                let w = w.clone();
                let upper = w.to_ascii_uppercase();
                match upper.as_str() {
                    "NULL" => {
                        self.i += 1;
                        return Ok(Expr::lit(
                            Value::Null,
                            DataType::Nullable(Box::new(DataType::Nothing)),
                        ));
                    }
                    "NAN" | "INF" | "INFINITY"
                        if !matches!(self.peek_at(1), Some(Tok::Sym("("))) =>
                    {
                        self.i += 1;
                        let v = if upper == "NAN" {
                            f64::NAN
                        } else {
                            f64::INFINITY
                        };
                        return Ok(Expr::lit(Value::Float64(v), DataType::Float64));
                    }
                    "TRUE" | "FALSE" => {
                        self.i += 1;
                        return Ok(Expr::lit(Value::Bool(upper == "TRUE"), DataType::Bool));
                    }
                    "INTERVAL" => {
                        self.i += 1;
                        return self.interval();
                    }
                    "CASE" => {
                        self.i += 1;
                        return self.case();
                    }
                    "CAST" if matches!(self.peek_at(1), Some(Tok::Sym("("))) => {
                        return Err(Error::unsupported("CAST (use toInt32(x), toString(x), …)"));
                    }
                    "EXISTS" if matches!(self.peek_at(1), Some(Tok::Sym("("))) => {
                        return Err(Error::unsupported("EXISTS"));
                    }
                    _ => {}
                }
                if matches!(self.peek_at(1), Some(Tok::Sym("("))) {
                    self.i += 2;
                    return self.call(w);
                }
                // `end` names a column or alias where an expression starts, as in ClickHouse
                // (`… AS end`, then `end + 1`); `CASE` reads its own `END` before this.
                if upper != "END" && RESERVED.iter().any(|k| upper == *k) {
                    return Err(self.unexpected("an expression"));
                }
                self.i += 1;
                self.qualified(w)
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `name` or `table.name` (kept as one name, `table.name`, that the binder resolves).
    fn qualified(&mut self, name: String) -> Result<Expr> {
        if self.is_sym(".") {
            match self.peek_at(1) {
                Some(Tok::Word(_) | Tok::Quoted(_)) => {
                    self.i += 1;
                    // After `table.` any word names a column, keywords too
                    // (`t.window`, `t.end`), as ClickHouse reads it.
                    let col = self.alias_name()?;
                    return Ok(Expr::Ident(format!("{name}.{col}")));
                }
                Some(Tok::Sym("*")) => {
                    self.i += 2;
                    return Ok(Expr::QualifiedStar(name));
                }
                _ => {}
            }
        }
        Ok(Expr::Ident(name))
    }

    fn call(&mut self, name: String) -> Result<Expr> {
        let mut args = self.args(&name)?;
        // `count(DISTINCT x)` is `countDistinct(x)`; `count(*)` is `count()`.
        if let [Expr::Func(inner)] = args.as_slice() {
            if inner.name == "countDistinct" && name.eq_ignore_ascii_case("count") {
                if self.is_kw("FILTER") && matches!(self.peek_at(1), Some(Tok::Sym("("))) {
                    return Err(Error::unsupported("FILTER after count(DISTINCT …)"));
                }
                let mut inner = (**inner).clone();
                inner.over = self.over()?;
                return Ok(Expr::Func(Box::new(inner)));
            }
        }
        if name.eq_ignore_ascii_case("count")
            && matches!(args.as_slice(), [Expr::Star | Expr::QualifiedStar(_)])
        {
            args.clear();
        }
        let mut params = None;
        if self.is_sym("(") {
            self.i += 1;
            params = Some(std::mem::take(&mut args));
            args = self.args(&name)?;
        }
        // `f(x) FILTER (WHERE c)` is `fIf(x, c)`, as ClickHouse rewrites it.
        let mut name = name;
        if self.is_kw("FILTER") && matches!(self.peek_at(1), Some(Tok::Sym("("))) {
            self.i += 2;
            self.expect_kw("WHERE")?;
            let cond = self.expr()?;
            self.expect_sym(")")?;
            name.push_str("If");
            args.push(cond);
        }
        let over = self.over()?;
        // `date_add`, `timestampAdd` and their kin are `plus` and `minus` as ClickHouse names
        // them; `addDays` and `subtractDays` keep their names (the binder reads them).
        if params.is_none()
            && over.is_none()
            && !name.starts_with("add")
            && !name.starts_with("subtract")
        {
            if let Some(e) = date_arithmetic(&name, &mut args) {
                return Ok(e);
            }
        }
        Ok(Expr::Func(Box::new(Call {
            name,
            params,
            args,
            over,
        })))
    }

    /// `OVER (…)` or `OVER name` after a call, if there.
    fn over(&mut self) -> Result<Option<Box<Over>>> {
        if !self.eat_kw("OVER") {
            return Ok(None);
        }
        Ok(Some(Box::new(if self.eat_sym("(") {
            self.window()?
        } else {
            Over {
                name: Some(self.ident()?),
                bare: true,
                ..Over::default()
            }
        })))
    }

    /// One `ORDER BY` key: the expression, whether it is `DESC[ENDING]` (after an optional
    /// `ASC[ENDING]` otherwise), and `NULLS FIRST` (`Some(true)`) or `NULLS LAST` (`Some(false)`).
    fn order_key(&mut self) -> Result<(Expr, bool, Option<bool>)> {
        let expr = self.expr()?;
        let desc = if self.eat_kw("DESC") || self.eat_kw("DESCENDING") {
            true
        } else {
            if !self.eat_kw("ASC") {
                self.eat_kw("ASCENDING");
            }
            false
        };
        let mut nulls = None;
        if self.eat_kw("NULLS") {
            if self.eat_kw("FIRST") {
                nulls = Some(true);
            } else if self.eat_kw("LAST") {
                nulls = Some(false);
            } else {
                return Err(self.unexpected("FIRST or LAST"));
            }
        }
        Ok((expr, desc, nulls))
    }

    /// A window after its opening parenthesis, through the closing one: `[name] [PARTITION BY
    /// …] [ORDER BY …] [ROWS|RANGE frame]`.
    fn window(&mut self) -> Result<Over> {
        let mut w = Over::default();
        if matches!(self.peek(), Some(Tok::Word(_) | Tok::Quoted(_)))
            && !self.is_kw("PARTITION")
            && !self.is_kw("ORDER")
            && !self.is_kw("ROWS")
            && !self.is_kw("RANGE")
            && !self.is_kw("GROUPS")
        {
            w.name = Some(self.ident()?);
        }
        if self.is_kw("PARTITION") && self.is_kw_at(1, "BY") {
            self.i += 2;
            loop {
                w.partition_by.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.is_kw("ORDER") && self.is_kw_at(1, "BY") {
            self.i += 2;
            loop {
                let (expr, desc, nulls) = self.order_key()?;
                w.order_by.push(WindowOrder { expr, desc, nulls });
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.is_kw("GROUPS") {
            return Err(Error::unsupported("GROUPS frames"));
        }
        let rows = self.eat_kw("ROWS");
        if rows || self.eat_kw("RANGE") {
            let (start, end) = if self.eat_kw("BETWEEN") {
                let start = self.frame_bound()?;
                self.expect_kw("AND")?;
                (start, self.frame_bound()?)
            } else {
                (self.frame_bound()?, FrameBound::CurrentRow)
            };
            if start == FrameBound::UnboundedFollowing || end == FrameBound::UnboundedPreceding {
                return Err(Error::query(format!(
                    "line {}: a window frame cannot start at UNBOUNDED FOLLOWING or end at \
                     UNBOUNDED PRECEDING",
                    self.line()
                )));
            }
            w.frame = Some(Frame { rows, start, end });
        }
        self.expect_sym(")")?;
        Ok(w)
    }

    /// One end of a window frame.
    fn frame_bound(&mut self) -> Result<FrameBound> {
        if self.eat_kw("UNBOUNDED") {
            if self.eat_kw("PRECEDING") {
                return Ok(FrameBound::UnboundedPreceding);
            }
            self.expect_kw("FOLLOWING")?;
            return Ok(FrameBound::UnboundedFollowing);
        }
        if self.eat_kw("CURRENT") {
            self.expect_kw("ROW")?;
            return Ok(FrameBound::CurrentRow);
        }
        let n = match self.peek() {
            Some(Tok::Num(n)) => match n.parse::<u64>() {
                Ok(v) => v,
                Err(_) => {
                    return Err(Error::unsupported(format!(
                        "window frame offsets but non-negative integers ({n})"
                    )))
                }
            },
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("INTERVAL") => {
                return Err(Error::unsupported("INTERVAL offsets in window frames"));
            }
            _ => return Err(self.unexpected("a window frame bound")),
        };
        self.i += 1;
        if self.eat_kw("PRECEDING") {
            return Ok(FrameBound::Preceding(n));
        }
        self.expect_kw("FOLLOWING")?;
        Ok(FrameBound::Following(n))
    }

    /// Arguments after an opening parenthesis, through the closing one.
    fn args(&mut self, name: &str) -> Result<Vec<Expr>> {
        let mut args = Vec::new();
        if self.eat_sym(")") {
            return Ok(args);
        }
        if self.eat_kw("DISTINCT") {
            if !name.eq_ignore_ascii_case("count") {
                return Err(Error::unsupported(format!("{name}(DISTINCT …)")));
            }
            let mut inner = Vec::new();
            loop {
                inner.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            return Ok(vec![Expr::Func(Box::new(Call {
                name: "countDistinct".into(),
                params: None,
                args: inner,
                over: None,
            }))]);
        }
        loop {
            if self.is_sym("*") && matches!(self.peek_at(1), Some(Tok::Sym(")"))) {
                self.i += 1;
                args.push(Expr::Star);
            } else {
                args.push(self.arg()?);
            }
            if self.is_kw("AS") {
                return Err(Error::unsupported("aliases inside expressions"));
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(args)
    }

    fn interval(&mut self) -> Result<Expr> {
        // `INTERVAL 1 DAY`, `INTERVAL '1' DAY`, `INTERVAL '1 day'`.
        if let Some(Tok::Str(s)) = self.peek() {
            let parts: Vec<&str> = s.split_whitespace().collect();
            if let [n, unit] = parts.as_slice() {
                if let (Ok(n), Some(unit)) = (n.parse::<i64>(), Unit::parse(unit)) {
                    self.i += 1;
                    return Ok(Expr::Interval(Box::new(int_lit(n)), unit));
                }
            }
            if let [n] = parts.as_slice() {
                if let Ok(n) = n.parse::<i64>() {
                    self.i += 1;
                    let unit = self.unit()?;
                    return Ok(Expr::Interval(Box::new(int_lit(n)), unit));
                }
            }
            return Err(self.unexpected("an interval like INTERVAL 1 DAY"));
        }
        let n = self.additive()?;
        let unit = self.unit()?;
        Ok(Expr::Interval(Box::new(n), unit))
    }

    fn unit(&mut self) -> Result<Unit> {
        match self.peek() {
            Some(Tok::Word(w)) => match Unit::parse(w) {
                Some(u) => {
                    self.i += 1;
                    Ok(u)
                }
                None => Err(self.unexpected("an interval unit (SECOND … YEAR)")),
            },
            _ => Err(self.unexpected("an interval unit (SECOND … YEAR)")),
        }
    }

    fn case(&mut self) -> Result<Expr> {
        if !self.is_kw("WHEN") {
            return Err(Error::unsupported(
                "CASE expr WHEN … (use CASE WHEN expr = … )",
            ));
        }
        let mut args = Vec::new();
        while self.eat_kw("WHEN") {
            args.push(self.expr()?);
            self.expect_kw("THEN")?;
            args.push(self.expr()?);
        }
        if self.eat_kw("ELSE") {
            args.push(self.expr()?);
        } else {
            args.push(Expr::lit(
                Value::Null,
                DataType::Nullable(Box::new(DataType::Nothing)),
            ));
        }
        self.expect_kw("END")?;
        Ok(Expr::call("multiIf", args))
    }
}

fn int_lit(n: i64) -> Expr {
    let (v, ty) = int_value(i128::from(n));
    Expr::lit(v, ty)
}

/// The value and smallest ClickHouse type of an integer literal.
fn int_value(n: i128) -> (Value, DataType) {
    if n >= 0 {
        let ty = if n <= i128::from(u8::MAX) {
            DataType::UInt8
        } else if n <= i128::from(u16::MAX) {
            DataType::UInt16
        } else if n <= i128::from(u32::MAX) {
            DataType::UInt32
        } else {
            DataType::UInt64
        };
        (Value::UInt(n as u64), ty)
    } else {
        let ty = if n >= i128::from(i8::MIN) {
            DataType::Int8
        } else if n >= i128::from(i16::MIN) {
            DataType::Int16
        } else if n >= i128::from(i32::MIN) {
            DataType::Int32
        } else {
            DataType::Int64
        };
        (Value::Int(n as i64), ty)
    }
}

/// A number literal, negated when `negative`.
fn number(text: &str, negative: bool, line: usize) -> Result<Expr> {
    let bad = || Error::query(format!("line {line}: malformed number '{text}'"));
    let int = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(u64::from_str_radix(hex, 16).map_err(|_| bad())?)
    } else if text.bytes().all(|c| c.is_ascii_digit()) {
        text.parse::<u64>().ok()
    } else {
        None
    };
    if let Some(n) = int {
        let n = if negative {
            -i128::from(n)
        } else {
            i128::from(n)
        };
        if n < i128::from(i64::MIN) {
            return Err(Error::unsupported(format!(
                "integer literal -{text} (beyond Int64)"
            )));
        }
        let (v, ty) = int_value(n);
        return Ok(Expr::lit(v, ty));
    }
    let f: f64 = text.parse().map_err(|_| bad())?;
    Ok(Expr::lit(
        Value::Float64(if negative { -f } else { f }),
        DataType::Float64,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::lexer::lex;

    fn parse(sql: &str) -> Result<Query> {
        let mut t = Vec::new();
        lex(sql, 1, &mut t)?;
        parse_query(&t)
    }

    fn names(sql: &str) -> Vec<String> {
        parse(sql)
            .unwrap()
            .select
            .iter()
            .map(|s| s.expr.to_string())
            .collect()
    }

    #[test]
    fn operators_become_clickhouse_calls() {
        assert_eq!(
            names("SELECT 1+1, 0.50, 1e3, -3, a BETWEEN 1 AND 2, NOT a = b, -x, a IN (1, 2), b NOT LIKE 'x%'"),
            vec![
                "plus(1, 1)",
                "0.5",
                "1000.",
                "-3",
                "and(greaterOrEquals(a, 1), lessOrEquals(a, 2))",
                "not(equals(a, b))",
                "negate(x)",
                "in(a, (1, 2))",
                "notLike(b, 'x%')",
            ]
        );
        assert_eq!(
            names("SELECT quantiles(0.5, 0.9)(latency), count(*), toStartOfInterval(t, INTERVAL 5 MINUTE)"),
            vec![
                "quantiles(0.5, 0.9)(latency)",
                "count()",
                "toStartOfInterval(t, toIntervalMinute(5))"
            ]
        );
        assert_eq!(
            names("SELECT 2 * (3 + 4) - 1"),
            vec!["minus(multiply(2, plus(3, 4)), 1)"]
        );
    }

    #[test]
    fn clauses() {
        let q = parse(
            "WITH 1 AS one, x AS (2), t AS (SELECT 1) SELECT DISTINCT a AS b, c d FROM llm_events e \
             PREWHERE a > 1 WHERE b < 2 GROUP BY 1, b HAVING count() > 1 ORDER BY b DESC, c \
             LIMIT 2 BY b LIMIT 10 OFFSET 5;",
        )
        .unwrap();
        assert_eq!(q.with.len(), 3);
        assert!(matches!(&q.with[1], With::Alias(n, _) if n == "x"));
        assert!(matches!(&q.with[2], With::Table(n, _) if n == "t"));
        assert!(q.distinct);
        assert_eq!(q.select[1].alias.as_deref(), Some("d"));
        assert_eq!(
            q.filter.unwrap().to_string(),
            "and(greater(a, 1), less(b, 2))"
        );
        assert_eq!(q.group_by.len(), 2);
        assert!(q.order_by[0].desc && !q.order_by[1].desc);
        assert!(q.limit_by.is_some());
        assert_eq!(q.limit.unwrap().to_string(), "10");
        assert_eq!(q.offset.unwrap().to_string(), "5");
        let q = parse("SELECT a FROM t LIMIT 5, 10").unwrap();
        assert_eq!(q.limit.unwrap().to_string(), "10");
        assert_eq!(q.offset.unwrap().to_string(), "5");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        let e = parse(&deep).unwrap_err().to_string();
        assert!(e.contains("nest too deeply"), "{e}");
        let minus = format!("SELECT {}1", "- ".repeat(5000));
        assert!(parse(&minus)
            .unwrap_err()
            .to_string()
            .contains("nest too deeply"));
        let nots = format!("SELECT {} 1", "NOT ".repeat(5000));
        assert!(parse(&nots)
            .unwrap_err()
            .to_string()
            .contains("nest too deeply"));
        assert!(parse(&format!("SELECT {}1{}", "(".repeat(40), ")".repeat(40))).is_ok());
    }

    #[test]
    fn lambdas_and_subscripts_parse_as_clickhouse_names_them() {
        assert_eq!(
            names(
                "SELECT arrayMap((x, y) -> x + y, a, b), arrayFilter(x -> x > 1, a), a[1][-2], \
                 [a, 1] FROM t"
            ),
            [
                "arrayMap(lambda(tuple(x, y), plus(x, y)), a, b)",
                "arrayFilter(lambda(tuple(x), greater(x, 1)), a)",
                "arrayElement(arrayElement(a, 1), -2)",
                "[a, 1]",
            ]
        );
    }

    #[test]
    fn window_functions_are_named_as_clickhouse_names_them() {
        // The names chDB (ClickHouse 26.9) prints for these columns.
        assert_eq!(
            names(
                "SELECT row_number() OVER (ORDER BY x), rank() over (partition by x%2 order by x \
                 desc), sum(x) OVER (), avg(x) over (order by x rows between 1 preceding and \
                 current row), first_value(x) over w, sum(x) over (order by x rows unbounded \
                 preceding), sum(x) over (order by x desc nulls last rows between current row \
                 and unbounded following), max(x) OVER (ORDER BY x RANGE CURRENT ROW), \
                 count(DISTINCT x % 2) OVER (), sum(x) over (partition by x, x+1 order by x, \
                 x+1 desc rows 2 preceding) FROM t WINDOW w AS (ORDER BY x DESC)"
            ),
            [
                "row_number() OVER (ORDER BY x ASC)",
                "rank() OVER (PARTITION BY modulo(x, 2) ORDER BY x DESC)",
                "sum(x) OVER ()",
                "avg(x) OVER (ORDER BY x ASC ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
                "first_value(x) OVER w",
                "sum(x) OVER (ORDER BY x ASC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
                "sum(x) OVER (ORDER BY x DESC NULLS LAST ROWS BETWEEN CURRENT ROW AND UNBOUNDED \
                 FOLLOWING)",
                "max(x) OVER (ORDER BY x ASC RANGE BETWEEN CURRENT ROW AND CURRENT ROW)",
                "countDistinct(modulo(x, 2)) OVER ()",
                "sum(x) OVER (PARTITION BY x, plus(x, 1) ORDER BY x ASC, plus(x, 1) DESC ROWS \
                 BETWEEN 2 PRECEDING AND CURRENT ROW)",
            ]
        );
        for (sql, what) in [
            (
                "SELECT sum(a) OVER (ORDER BY b RANGE BETWEEN UNBOUNDED FOLLOWING AND CURRENT \
                 ROW) FROM t",
                "cannot start at UNBOUNDED FOLLOWING",
            ),
            (
                "SELECT sum(a) OVER (ORDER BY b GROUPS 1 PRECEDING) FROM t",
                "GROUPS",
            ),
            (
                "SELECT sum(a) OVER (ROWS 1.5 PRECEDING) FROM t",
                "non-negative integers",
            ),
        ] {
            let e = parse(sql).unwrap_err().to_string();
            assert!(e.contains(what), "{sql}: {e}");
        }
    }

    #[test]
    fn unsupported_constructs_are_named() {
        for (sql, what) in [
            ("SELECT a FROM t ASOF JOIN u ON t.a = u.a", "ASOF JOIN"),
            ("SELECT a FROM t LEFT SEMI JOIN u USING a", "SEMI"),
            ("SELECT a FROM t GLOBAL JOIN u USING a", "GLOBAL"),
            ("SELECT a FROM t EXCEPT SELECT b FROM u", "EXCEPT"),
            ("SELECT a FROM t ARRAY JOIN b ARRAY JOIN c", "ARRAY JOIN"),
            (
                "SELECT sum(a) OVER (PARTITION BY b ROWS BETWEEN INTERVAL 1 DAY PRECEDING AND \
                 CURRENT ROW) FROM t",
                "INTERVAL offsets",
            ),
            ("SELECT a FROM (SELECT 1 AS a) FINAL", "FINAL"),
            ("SELECT a FROM url('x', JSONEachRow)", "table function"),
            ("SELECT a FROM t SETTINGS max_threads = 1", "SETTINGS"),
            ("SELECT a::Array(Int32) FROM t", "casts"),
            ("SELECT x -> x + 1 FROM t", "lambda"),
            ("INSERT INTO t VALUES (1)", "INSERT"),
            ("SELECT a FROM t GROUP BY a WITH TOTALS", "WITH TOTALS"),
        ] {
            let e = parse(sql).unwrap_err().to_string();
            assert!(
                e.starts_with("not supported: ") && e.contains(what),
                "{sql}: {e}"
            );
        }
        let e = parse("SELECT a FROM").unwrap_err().to_string();
        assert!(e.contains("syntax error at line 1"), "{e}");
    }
}
