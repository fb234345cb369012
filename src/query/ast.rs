//! The syntax tree of a query, and the column names ClickHouse gives unaliased expressions.

use super::lexer::{quote_ident, quote_string};
use super::types::{DataType, Unit};
use super::Value;
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
    /// A function call, operators included (`a + b` is `plus(a, b)`).
    Func(Box<Call>),
    /// `INTERVAL n unit`.
    Interval(Box<Expr>, Unit),
    /// A scalar subquery; the number identifies it within the statement.
    Subquery(Rc<Query>, usize),
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
}

impl Expr {
    /// A call of `name` on `args`.
    pub fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Func(Box::new(Call {
            name: name.to_string(),
            params: None,
            args,
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

/// The `FROM` clause.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    /// A datasource, node or `WITH` table, with an optional alias.
    Table(String, Option<String>),
    /// A subquery with an optional alias.
    Subquery(Rc<Query>, Option<String>),
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
            Expr::Ident(n) => f.write_str(&quote_ident(n)),
            Expr::Star => f.write_str("*"),
            Expr::Func(c) => {
                write!(f, "{}(", c.name)?;
                if let Some(p) = &c.params {
                    list(f, p)?;
                    f.write_str(")(")?;
                }
                list(f, &c.args)?;
                f.write_str(")")
            }
            Expr::Interval(n, u) => write!(f, "toInterval{}({n})", u.name()),
            Expr::Subquery(_, id) => write!(f, "_subquery_{id}"),
            Expr::Array(items) => {
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
