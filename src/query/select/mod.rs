//! Running a `SELECT`: resolving the table, binding names the way ClickHouse does (aliases are
//! visible everywhere in the query; `GROUP BY` keys are matched by expression), scanning blocks
//! (skipping those outside the `WHERE` time range), grouping, aggregating, then `HAVING`,
//! `ORDER BY`, `DISTINCT`, `LIMIT … BY` and `LIMIT`.
//!
//! A query runs in three steps, each in its own file:
//!
//! | File | What |
//! | --- | --- |
//! | `scope.rs` | what a query can see: the environment, the `WITH` tables of it and its parents, the table a name stands for |
//! | `bind.rs` | the binder: names, aliases, types, functions and aggregates |
//! | `plan.rs` | the plan the binder makes of a query: source and filter, aggregation or row-by-row evaluation, the result's shape |
//! | `scan.rs` | reading a source, filtered, batch by batch |
//! | `execute.rs` | running a plan: grouping and aggregation, or the row-by-row evaluation |
//! | `window.rs` | window functions (`OVER`): binding, then one column each, after `HAVING` |
//! | `finish.rs` | `HAVING`, window functions, outputs, `ORDER BY`, `DISTINCT`, `LIMIT … BY`, `LIMIT` |

mod bind;
mod execute;
mod finals;
mod finish;
mod join;
mod plan;
mod scan;
mod scope;
mod union;
mod window;

pub use scope::{Env, NodeSql, Scope};

use super::ast::Query;
use super::column::Table;
use crate::error::{Error, Result};

/// How deep queries may nest (subqueries, nodes, `WITH` tables).
const MAX_DEPTH: usize = super::parser::MAX_QUERY_NESTING;

/// How deep nested queries and the joins being run inside one another may be together: a
/// statement of queries nested [`MAX_DEPTH`] deep, or one `FROM` of the most joins a parser
/// accepts with subqueries on its sides, fits.
const MAX_STACKED: usize = MAX_DEPTH + super::parser::MAX_JOINS;

/// Runs a query.
pub fn run_select<'s, 'a>(q: &Query, env: &Env<'a>, parent: &Scope<'s, 'a>) -> Result<Table<'a>> {
    let depth = env.depth.get();
    if depth >= MAX_DEPTH || depth + env.joins.get() >= MAX_STACKED {
        return Err(Error::query("queries nest too deeply"));
    }
    env.depth.set(depth + 1);
    let r = run_select_inner(q, env, parent);
    env.depth.set(depth);
    r
}

fn run_select_inner<'s, 'a>(q: &Query, env: &Env<'a>, parent: &Scope<'s, 'a>) -> Result<Table<'a>> {
    if q.union.is_empty() {
        return run_one(q, env, parent);
    }
    let mut parts = Vec::with_capacity(q.union.len() + 1);
    parts.push(run_one(q, env, parent)?);
    for (_, part) in &q.union {
        parts.push(run_select(part, env, parent)?);
    }
    let modes: Vec<_> = q.union.iter().map(|(m, _)| *m).collect();
    union::combine(parts, &modes)
}

/// Runs one `SELECT`, without the queries `UNION`ed after it.
fn run_one<'s, 'a>(q: &Query, env: &Env<'a>, parent: &Scope<'s, 'a>) -> Result<Table<'a>> {
    let scope = Scope::of_query(q, parent);
    let used = used_names(q);
    let (source, naming) = scope::from_source(q.from.as_ref(), &scope, env, used.as_deref())?;
    let plan = plan::plan(q, env, &scope, source, naming)?;
    execute::execute(env, plan)
}

/// The column names a query reads, a qualified name counting as its column's name; `None`
/// when it reads every column (`*`).
fn used_names(q: &Query) -> Option<Vec<String>> {
    use super::ast::{Expr, From, With};
    if !matches!(q.from, Some(From::Join(_))) {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    let mut stack: Vec<&Expr> = Vec::new();
    for item in &q.select {
        if matches!(item.expr, Expr::Star | Expr::QualifiedStar(_)) {
            return None;
        }
        stack.push(&item.expr);
    }
    for w in &q.with {
        if let With::Alias(_, e) = w {
            stack.push(e);
        }
    }
    stack.extend(
        q.array_join
            .iter()
            .flat_map(|a| a.items.iter().map(|i| &i.expr)),
    );
    stack.extend(q.filter.iter());
    stack.extend(q.group_by.iter());
    stack.extend(q.having.iter());
    stack.extend(q.order_by.iter().map(|o| &o.expr));
    stack.extend(q.windows.iter().flat_map(|(_, w)| w.exprs()));
    if let Some(lb) = &q.limit_by {
        stack.extend(lb.by.iter());
    }
    let mut joins = vec![q.from.as_ref()];
    while let Some(Some(From::Join(j))) = joins.pop() {
        stack.extend(j.on.iter());
        out.extend(j.using.iter().cloned());
        joins.push(Some(&j.left));
    }
    // The walk keeps its own stack: expressions are as deep as the parser allows.
    while let Some(e) = stack.pop() {
        match e {
            Expr::Ident(n) => {
                let col = n.rsplit_once('.').map_or(n.as_str(), |(_, c)| c);
                out.push(col.to_string());
                out.push(n.clone());
            }
            Expr::Func(c) => {
                stack.extend(c.args.iter());
                stack.extend(c.params.iter().flatten());
                stack.extend(c.over.iter().flat_map(|o| o.exprs()));
            }
            Expr::Interval(x, _) => stack.push(x),
            Expr::Array(items) | Expr::Tuple(items) => stack.extend(items.iter()),
            Expr::Lit(_) | Expr::Star | Expr::QualifiedStar(_) | Expr::Subquery(..) => {}
        }
    }
    Some(out)
}
