//! The syntax tree of a query, and the column names ClickHouse gives unaliased expressions.

use super::lexer::{quote_ident, quote_string};
use super::types::{DataType, Unit};
use super::Value;
use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::rc::Rc;

/// A literal or a bound parameter, with its SQL type.
#[derive(Debug, Clone, PartialEq)]
pub struct Lit {
    /// The value.
    pub value: Value,
    /// Its type.
    pub ty: DataType,
    /// True when it came from a template parameter with an explicit type (printed as
    /// `toInt32(5)` in column names, as ClickHouse sees the expanded text).
    pub typed: bool,
}

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Lit),
    /// A column or alias name.
    Ident(String),
    /// `*` in a select list or `count(*)`.
    Star,
    /// `t.*` in a select list: the columns of table `t` in a join.
    QualifiedStar(String),
    /// A function call, operators included (`a + b` is `plus(a, b)`).
    Func(Box<Call>),
    /// `INTERVAL n unit`.
    Interval(Box<Expr>, Unit),
    /// A scalar subquery; the number (see [`number_subqueries`]) names it in column names.
    Subquery(Rc<Query>, Cell<usize>),
    /// `[a, b]`.
    Array(Vec<Expr>),
    /// `(a, b)`.
    Tuple(Vec<Expr>),
}

/// A function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name, canonical spelling.
    pub name: String,
    /// Parameters of a parametric aggregate: `quantile(0.9)(x)` has `[0.9]`.
    pub params: Option<Vec<Expr>>,
    /// Arguments.
    pub args: Vec<Expr>,
    /// `OVER (…)` or `OVER w`: a window function.
    pub over: Option<Box<Over>>,
}

/// The window of a window function: `OVER (PARTITION BY … ORDER BY … frame)` or `OVER w`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Over {
    /// `OVER w`, or the window `(w ORDER BY …)` starts from: a name from the `WINDOW` clause.
    pub name: Option<String>,
    /// True for `OVER w` (named as written); false for a window written in parentheses.
    pub bare: bool,
    /// `PARTITION BY` keys.
    pub partition_by: Vec<Expr>,
    /// `ORDER BY` keys.
    pub order_by: Vec<WindowOrder>,
    /// The frame; `None` is ClickHouse's default.
    pub frame: Option<Frame>,
}

/// One `ORDER BY` key of a window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOrder {
    /// The key.
    pub expr: Expr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST` (`Some(true)`) or `NULLS LAST` (`Some(false)`) as written.
    pub nulls: Option<bool>,
}

/// `ROWS|RANGE BETWEEN start AND end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// `ROWS` (true) or `RANGE`.
    pub rows: bool,
    /// Where the frame starts.
    pub start: FrameBound,
    /// Where it ends.
    pub end: FrameBound,
}

/// One end of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`.
    UnboundedPreceding,
    /// `n PRECEDING`.
    Preceding(u64),
    /// `CURRENT ROW`.
    CurrentRow,
    /// `n FOLLOWING`.
    Following(u64),
    /// `UNBOUNDED FOLLOWING`.
    UnboundedFollowing,
}

impl fmt::Display for FrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameBound::UnboundedPreceding => f.write_str("UNBOUNDED PRECEDING"),
            FrameBound::Preceding(n) => write!(f, "{n} PRECEDING"),
            FrameBound::CurrentRow => f.write_str("CURRENT ROW"),
            FrameBound::Following(n) => write!(f, "{n} FOLLOWING"),
            FrameBound::UnboundedFollowing => f.write_str("UNBOUNDED FOLLOWING"),
        }
    }
}

impl Over {
    /// Every expression of the window: partition keys, then order keys.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.partition_by
            .iter()
            .chain(self.order_by.iter().map(|o| &o.expr))
    }

    /// The window with each expression replaced by `f` of it.
    pub fn map<E>(
        &self,
        mut f: impl FnMut(&Expr) -> std::result::Result<Expr, E>,
    ) -> std::result::Result<Over, E> {
        Ok(Over {
            name: self.name.clone(),
            bare: self.bare,
            partition_by: self
                .partition_by
                .iter()
                .map(&mut f)
                .collect::<std::result::Result<_, E>>()?,
            order_by: self
                .order_by
                .iter()
                .map(|o| {
                    Ok(WindowOrder {
                        expr: f(&o.expr)?,
                        desc: o.desc,
                        nulls: o.nulls,
                    })
                })
                .collect::<std::result::Result<_, E>>()?,
            frame: self.frame,
        })
    }
}

impl fmt::Display for Over {
    /// As ClickHouse names it: ` OVER w`, or ` OVER (PARTITION BY a ORDER BY b ASC ROWS …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bare {
            return write!(
                f,
                " OVER {}",
                quote_ident(self.name.as_deref().unwrap_or(""))
            );
        }
        f.write_str(" OVER (")?;
        let mut sep = "";
        if let Some(n) = &self.name {
            f.write_str(&quote_ident(n))?;
            sep = " ";
        }
        if !self.partition_by.is_empty() {
            write!(f, "{sep}PARTITION BY ")?;
            list(f, &self.partition_by)?;
            sep = " ";
        }
        if !self.order_by.is_empty() {
            write!(f, "{sep}ORDER BY ")?;
            for (i, o) in self.order_by.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{} {}", o.expr, if o.desc { "DESC" } else { "ASC" })?;
                match o.nulls {
                    Some(true) => f.write_str(" NULLS FIRST")?,
                    Some(false) => f.write_str(" NULLS LAST")?,
                    None => {}
                }
            }
            sep = " ";
        }
        if let Some(fr) = &self.frame {
            write!(
                f,
                "{sep}{} BETWEEN {} AND {}",
                if fr.rows { "ROWS" } else { "RANGE" },
                fr.start,
                fr.end
            )?;
        }
        f.write_str(")")
    }
}

impl Expr {
    /// A call of `name` on `args`.
    pub fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Func(Box::new(Call {
            name: name.to_string(),
            params: None,
            args,
            over: None,
        }))
    }

    /// An untyped literal.
    pub fn lit(value: Value, ty: DataType) -> Expr {
        Expr::Lit(Lit {
            value,
            ty,
            typed: false,
        })
    }
}

/// One item of a `WITH` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum With {
    /// `expr AS name` (or `name AS (expr)`): a name for an expression.
    Alias(String, Expr),
    /// `name AS (SELECT …)`: a named subquery usable in `FROM`.
    Table(String, Rc<Query>),
}

/// One item of a select list.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    /// The expression (`Expr::Star` for `*`).
    pub expr: Expr,
    /// `AS alias`.
    pub alias: Option<String>,
}

/// `[LEFT] ARRAY JOIN a [AS x], b [AS y], …`: each row repeated once per element of the
/// arrays, which are zipped (of one length per row).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayJoinClause {
    /// `LEFT`: a row whose arrays are empty is kept once, with the elements' defaults.
    pub left: bool,
    /// The arrays and their aliases; without one, a name reads the element under its own name.
    pub items: Vec<SelectItem>,
}

/// The `FROM` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    /// A datasource, node or `WITH` table, with an optional alias.
    Table(String, Option<String>),
    /// A subquery with an optional alias.
    Subquery(Rc<Query>, Option<String>),
    /// `t [AS alias] FINAL`: a datasource's rows as its engine's merges leave them.
    Final(String, Option<String>),
    /// Two sources joined.
    Join(Box<Join>),
}

impl From {
    /// The name columns of this source may be qualified with: its alias, else a table's name.
    pub fn qualifier(&self) -> Option<&str> {
        match self {
            From::Table(name, alias) | From::Final(name, alias) => {
                Some(alias.as_deref().unwrap_or(name))
            }
            From::Subquery(_, alias) => alias.as_deref(),
            From::Join(_) => None,
        }
    }
}

/// Which rows a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`: rows with a match on both sides.
    Inner,
    /// `LEFT [OUTER] JOIN`: every left row.
    Left,
    /// `RIGHT [OUTER] JOIN`: every right row.
    Right,
    /// `FULL [OUTER] JOIN`: every row of both sides.
    Full,
    /// `CROSS JOIN` or a comma: every pair of rows.
    Cross,
}

/// How many matches a row is joined with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// `ALL` (the default): every match.
    All,
    /// `ANY`: one match.
    Any,
}

/// `left JOIN right ON … | USING (…)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// The left side (itself a join when joins are chained).
    pub left: From,
    /// The right side: a table or a subquery.
    pub right: From,
    /// Which rows are kept.
    pub kind: JoinKind,
    /// `ANY` or `ALL`.
    pub strictness: Strictness,
    /// `ON` condition: a conjunction of equalities.
    pub on: Option<Expr>,
    /// `USING` columns.
    pub using: Vec<String>,
}

/// How a `UNION` combines the rows so far with the next query's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnionMode {
    /// `UNION ALL`: every row.
    All,
    /// `UNION DISTINCT`: the rows so far and the next query's, without repeats.
    Distinct,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The key.
    pub expr: Expr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST` (NaN then comes next, before the numbers); the default is `NULLS LAST`.
    pub nulls_first: bool,
}

/// `LIMIT n [OFFSET m] BY exprs`.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitBy {
    /// Rows kept per distinct key.
    pub limit: Expr,
    /// Rows skipped per key first.
    pub offset: Option<Expr>,
    /// The key.
    pub by: Vec<Expr>,
}

/// A `SELECT` statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// `WITH` items.
    pub with: Vec<With>,
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The select list.
    pub select: Vec<SelectItem>,
    /// `FROM`; `None` reads one row with no columns.
    pub from: Option<From>,
    /// `[LEFT] ARRAY JOIN` after `FROM`.
    pub array_join: Option<ArrayJoinClause>,
    /// `WHERE` (and `PREWHERE`).
    pub filter: Option<Expr>,
    /// `GROUP BY`.
    pub group_by: Vec<Expr>,
    /// `HAVING`.
    pub having: Option<Expr>,
    /// `ORDER BY`.
    pub order_by: Vec<OrderItem>,
    /// `LIMIT … BY …`.
    pub limit_by: Option<LimitBy>,
    /// `LIMIT n`.
    pub limit: Option<Expr>,
    /// `OFFSET m`.
    pub offset: Option<Expr>,
    /// The queries `UNION`ed after this one, in order: each combines with all the rows before it.
    pub union: Vec<(UnionMode, Rc<Query>)>,
    /// `WINDOW name AS (…)`: named windows.
    pub windows: Vec<(String, Over)>,
    /// The query stands for a table function (`numbers(n)`): not a subquery where ClickHouse
    /// numbers subqueries.
    pub table_function: bool,
}

/// Numbers the subqueries of a statement in the order ClickHouse's analyzer meets them, which
/// names unaliased scalar subqueries `_subquery_N`: per query its `FROM` (a subquery or a `WITH`
/// table counts one, then what it holds), then the select list, `WHERE`, `GROUP BY`, `HAVING`,
/// `ORDER BY`, `LIMIT BY`, `LIMIT` and `OFFSET`; an alias's expression where the alias is first
/// used. The parser bounds the nesting, so the walk's depth is bounded too.
pub fn number_subqueries(q: &Query) {
    let mut n = Numbering {
        next: 0,
        seen: HashSet::new(),
        frames: Vec::new(),
    };
    n.query(q);
}

/// What names in one query refer to: its aliases (`WITH` and select list) with their
/// expressions, and its `WITH` tables.
type Scope<'q> = (Vec<(&'q str, &'q Expr)>, Vec<(&'q str, &'q Query)>);

/// The state of [`number_subqueries`].
struct Numbering<'q> {
    next: usize,
    /// Alias expressions already walked.
    seen: HashSet<*const Expr>,
    /// One per enclosing query.
    frames: Vec<Scope<'q>>,
}

impl<'q> Numbering<'q> {
    fn query(&mut self, q: &'q Query) {
        let mut aliases = Vec::new();
        let mut tables = Vec::new();
        for w in &q.with {
            match w {
                With::Alias(name, e) => aliases.push((name.as_str(), e)),
                With::Table(name, t) => tables.push((name.as_str(), &**t)),
            }
        }
        for item in &q.select {
            if let Some(a) = &item.alias {
                aliases.push((a.as_str(), &item.expr));
            }
        }
        self.frames.push((aliases, tables));
        if let Some(f) = &q.from {
            self.from(f);
        }
        for item in &q.select {
            self.alias_body(&item.expr);
        }
        let clauses = q
            .filter
            .iter()
            .chain(&q.group_by)
            .chain(&q.having)
            .chain(q.order_by.iter().map(|o| &o.expr))
            .chain(
                q.limit_by
                    .iter()
                    .flat_map(|l| std::iter::once(&l.limit).chain(&l.offset).chain(&l.by)),
            )
            .chain(&q.limit)
            .chain(&q.offset);
        for e in clauses {
            self.expr(e);
        }
        self.frames.pop();
        for (_, part) in &q.union {
            self.query(part);
        }
    }

    /// A `FROM` source; the parser bounds how many joins a query chains.
    fn from(&mut self, f: &'q From) {
        match f {
            From::Subquery(sub, _) if sub.table_function => {}
            From::Subquery(sub, _) => {
                self.next += 1;
                self.query(sub);
            }
            From::Table(name, _) => {
                let table = self
                    .frames
                    .iter()
                    .rev()
                    .find_map(|(_, t)| t.iter().find(|(n, _)| n == name).map(|(_, t)| *t));
                if let Some(t) = table {
                    self.next += 1;
                    self.query(t);
                }
            }
            From::Final(..) => {}
            From::Join(j) => {
                self.from(&j.left);
                self.from(&j.right);
                if let Some(on) = &j.on {
                    self.expr(on);
                }
            }
        }
    }

    /// Walks an expression that an alias may name, once.
    fn alias_body(&mut self, e: &'q Expr) {
        if self.seen.insert(e as *const Expr) {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &'q Expr) {
        match e {
            Expr::Subquery(q, id) => {
                self.next += 1;
                id.set(self.next);
                self.query(q);
            }
            Expr::Ident(name) => {
                let body = self
                    .frames
                    .iter()
                    .rev()
                    .find_map(|(a, _)| a.iter().find(|(n, _)| n == name).map(|(_, e)| *e));
                if let Some(b) = body {
                    self.alias_body(b);
                }
            }
            Expr::Func(c) => {
                // ClickHouse resolves the branches a constant condition rules out before the
                // call's arguments, then the arguments in order: a subquery that is such a
                // branch itself takes a second number then, one inside such a branch keeps its
                // first.
                let dead = dead_branches(c);
                for x in &dead {
                    self.expr(x);
                }
                for x in c.params.iter().flatten().chain(&c.args) {
                    let walked = dead.iter().any(|d| std::ptr::eq(*d, x));
                    if !walked || matches!(x, Expr::Subquery(..)) {
                        self.expr(x);
                    }
                }
                for x in c.over.iter().flat_map(|o| o.exprs()) {
                    self.expr(x);
                }
            }
            Expr::Interval(x, _) => self.expr(x),
            Expr::Array(items) | Expr::Tuple(items) => {
                for x in items {
                    self.expr(x);
                }
            }
            Expr::Lit(_) | Expr::Star | Expr::QualifiedStar(_) => {}
        }
    }
}

/// The branches of an `if` or `multiIf` whose constant conditions (literals, and functions of
/// them: `empty('')`, `1 = 1`) rule them out, when the constants decide which branch is taken;
/// none otherwise. ClickHouse's analyzer does this for these spellings only: `If` or `IF` keep
/// one number per subquery.
fn dead_branches(c: &Call) -> Vec<&Expr> {
    let truth = |e: &Expr| match constant(e)? {
        Value::Null => Some(false),
        Value::Bool(b) => Some(b),
        Value::UInt(u) => Some(u != 0),
        Value::Int(i) => Some(i != 0),
        _ => None,
    };
    let a = &c.args;
    let chosen = if c.name == "if" && a.len() == 3 {
        match truth(&a[0]) {
            Some(true) => 1,
            Some(false) => 2,
            None => return Vec::new(),
        }
    } else if c.name == "multiIf" && a.len() % 2 == 1 {
        let mut chosen = a.len() - 1;
        for k in (0..a.len() - 1).step_by(2) {
            match truth(&a[k]) {
                Some(true) => {
                    chosen = k + 1;
                    break;
                }
                Some(false) => {}
                None => return Vec::new(),
            }
        }
        chosen
    } else {
        return Vec::new();
    };
    let is_branch = |k: usize| {
        if a.len() == 3 && c.name == "if" {
            k > 0
        } else {
            k % 2 == 1 || k == a.len() - 1
        }
    };
    (0..a.len())
        .filter(|k| *k != chosen && is_branch(*k))
        .map(|k| &a[k])
        .collect()
}

/// The value of an expression of literals and plain functions of them, `None` for anything
/// else (a column, a subquery, an aggregate, the time of day, a function the binder treats
/// apart) or when it does not evaluate. The parser bounds the nesting, so the depth too.
fn constant(e: &Expr) -> Option<Value> {
    let bound = constant_bound(e)?;
    super::eval::eval_const(&bound).ok()
}

fn constant_bound(e: &Expr) -> Option<super::eval::BExpr> {
    use super::eval::BExpr;
    use super::funcs;
    match e {
        Expr::Lit(l) => Some(BExpr::constant(l.value.clone(), l.ty.clone())),
        Expr::Func(c) if c.params.is_none() && c.over.is_none() => {
            let name = funcs::canonical(&c.name);
            let apart = [
                "in",
                "notIn",
                "globalIn",
                "globalNotIn",
                "arrayJoin",
                "tupleElement",
                "tuple",
                "dateTrunc",
                "date_trunc",
                "countDistinct",
            ];
            let volatile = [
                "now",
                "today",
                "yesterday",
                "rand",
                "generate",
                "currentDatabase",
            ];
            if funcs::aggregate(&name).is_some()
                || apart.contains(&name.as_str())
                || volatile.iter().any(|v| name.starts_with(v))
            {
                return None;
            }
            let args = c
                .args
                .iter()
                .map(constant_bound)
                .collect::<Option<Vec<_>>>()?;
            let bound = funcs::bind(&name, args, 0).ok()?;
            let value = super::eval::eval_const(&bound).ok()?;
            Some(BExpr::constant(value, bound.ty))
        }
        _ => None,
    }
}

/// Formats a `Float64` the way ClickHouse prints it in a column name (`1000.`, `0.5`).
pub fn float_name(v: f64) -> String {
    // ClickHouse's shortest text, with a trailing `.` where it would read as an integer.
    let mut s = super::endpoint::float_text(v, None);
    if !s.contains(['.', 'e', 'n']) {
        s.push('.');
    }
    s
}

fn write_value(f: &mut fmt::Formatter<'_>, v: &Value) -> fmt::Result {
    match v {
        Value::Null => f.write_str("NULL"),
        Value::UInt(x) => write!(f, "{x}"),
        Value::Int(x) => write!(f, "{x}"),
        Value::Float32(x) => f.write_str(&float_name(f64::from(*x))),
        Value::Float64(x) => f.write_str(&float_name(*x)),
        Value::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
        Value::Str(s) => f.write_str(&quote_string(s)),
        Value::Date(d) => f.write_str(&quote_string(&crate::time::format_date(*d))),
        Value::DateTime(s) => f.write_str(&quote_string(&crate::time::format_datetime(*s))),
        Value::DateTime64(ms) => f.write_str(&quote_string(&crate::time::format_datetime64(*ms))),
        Value::Array(items) => {
            f.write_str("[")?;
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, x)?;
            }
            f.write_str("]")
        }
        Value::State(_) => f.write_str("NULL"),
        Value::Map(pairs) => {
            f.write_str("map(")?;
            for (i, (k, x)) in pairs.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_value(f, k)?;
                f.write_str(", ")?;
                write_value(f, x)?;
            }
            f.write_str(")")
        }
    }
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.typed && self.ty.is_number() && *self.ty.base() != DataType::Bool {
            write!(f, "to{}(", self.ty)?;
            write_value(f, &self.value)?;
            return f.write_str(")");
        }
        write_value(f, &self.value)
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(l) => write!(f, "{l}"),
            // A qualified name, `t.column`, prints as written.
            Expr::Ident(n) => {
                let parts: Vec<&str> = n.split('.').collect();
                if parts.len() > 1 && parts.iter().all(|p| quote_ident(p) == *p) {
                    f.write_str(n)
                } else {
                    f.write_str(&quote_ident(n))
                }
            }
            Expr::Star => f.write_str("*"),
            Expr::QualifiedStar(q) => write!(f, "{}.*", quote_ident(q)),
            // `array(a, b)` is named as `[a, b]` is.
            Expr::Func(c) if c.name == "array" && c.params.is_none() => {
                write!(f, "{}", Expr::Array(c.args.clone()))
            }
            // `tuple(a, b)` is named as `(a, b)` is; a lambda's parameters keep `tuple(…)`.
            Expr::Func(c) if c.name == "tuple" && c.params.is_none() => {
                write!(f, "{}", Expr::Tuple(c.args.clone()))
            }
            Expr::Func(c) if c.name == "lambda" && c.params.is_none() => {
                f.write_str("lambda(")?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match a {
                        Expr::Func(t) if i == 0 && t.name == "tuple" => {
                            f.write_str("tuple(")?;
                            list(f, &t.args)?;
                            f.write_str(")")?;
                        }
                        a => write!(f, "{a}")?,
                    }
                }
                f.write_str(")")
            }
            Expr::Func(c) => {
                write!(f, "{}(", c.name)?;
                if let Some(p) = &c.params {
                    list(f, p)?;
                    f.write_str(")(")?;
                }
                list(f, &c.args)?;
                f.write_str(")")?;
                match &c.over {
                    Some(o) => write!(f, "{o}"),
                    None => Ok(()),
                }
            }
            Expr::Interval(n, u) => write!(f, "toInterval{}({n})", u.name()),
            Expr::Subquery(_, id) => write!(f, "_subquery_{}", id.get()),
            Expr::Array(items) => {
                // A literal array of numbers is one literal of their common type, as ClickHouse
                // folds it: its integers print as floats when a float is among them.
                let float = items.iter().any(|x| {
                    matches!(x, Expr::Lit(l) if matches!(l.value, Value::Float64(_) | Value::Float32(_)))
                });
                let numbers = items.iter().all(|x| {
                    matches!(x, Expr::Lit(l) if matches!(l.value, Value::UInt(_) | Value::Int(_) | Value::Float64(_) | Value::Float32(_)))
                });
                if float && numbers {
                    f.write_str("[")?;
                    for (i, x) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        match x {
                            Expr::Lit(Lit {
                                value: Value::UInt(u),
                                ..
                            }) => f.write_str(&float_name(*u as f64))?,
                            Expr::Lit(Lit {
                                value: Value::Int(v),
                                ..
                            }) => f.write_str(&float_name(*v as f64))?,
                            x => write!(f, "{x}")?,
                        }
                    }
                    return f.write_str("]");
                }
                f.write_str("[")?;
                list(f, items)?;
                f.write_str("]")
            }
            Expr::Tuple(items) => {
                f.write_str("(")?;
                list(f, items)?;
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_follow_clickhouse() {
        let e = Expr::call(
            "plus",
            vec![
                Expr::Ident("a".into()),
                Expr::lit(Value::Float64(1000.0), DataType::Float64),
            ],
        );
        assert_eq!(e.to_string(), "plus(a, 1000.)");
        let q = Expr::Func(Box::new(Call {
            name: "quantile".into(),
            params: Some(vec![Expr::lit(Value::Float64(0.9), DataType::Float64)]),
            args: vec![Expr::Ident("latency".into())],
            over: None,
        }));
        assert_eq!(q.to_string(), "quantile(0.9)(latency)");
        let p = Expr::Lit(Lit {
            value: Value::Int(5),
            ty: DataType::Int32,
            typed: true,
        });
        assert_eq!(p.to_string(), "toInt32(5)");
        assert_eq!(
            Expr::lit(Value::Str("it's".into()), DataType::String).to_string(),
            "'it\\'s'"
        );
    }
}
