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
mod prune;
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
    run_select_reading(q, env, parent, None)
}

/// Runs a query whose reader reads only the columns named in `wanted` (`None`: all): the others
/// are left out of the result and not computed.
pub(super) fn run_select_reading<'s, 'a>(
    q: &Query,
    env: &Env<'a>,
    parent: &Scope<'s, 'a>,
    wanted: Option<&[String]>,
) -> Result<Table<'a>> {
    let depth = env.depth.get();
    if depth >= MAX_DEPTH || depth + env.joins.get() >= MAX_STACKED {
        return Err(Error::query("queries nest too deeply"));
    }
    env.depth.set(depth + 1);
    let r = run_select_inner(q, env, parent, wanted);
    env.depth.set(depth);
    r
}

fn run_select_inner<'s, 'a>(
    q: &Query,
    env: &Env<'a>,
    parent: &Scope<'s, 'a>,
    wanted: Option<&[String]>,
) -> Result<Table<'a>> {
    if q.union.is_empty() {
        return run_one(q, env, parent, wanted);
    }
    // The parts of a UNION line up by position: each computes every column.
    let mut parts = Vec::with_capacity(q.union.len() + 1);
    parts.push(run_one(q, env, parent, None)?);
    for (_, part) in &q.union {
        parts.push(run_select(part, env, parent)?);
    }
    let modes: Vec<_> = q.union.iter().map(|(m, _)| *m).collect();
    union::combine(parts, &modes)
}

/// Runs one `SELECT`, without the queries `UNION`ed after it.
fn run_one<'s, 'a>(
    q: &Query,
    env: &Env<'a>,
    parent: &Scope<'s, 'a>,
    wanted: Option<&[String]>,
) -> Result<Table<'a>> {
    let scope = Scope::of_query(q, parent);
    let used = prune::used_names(q);
    let (source, naming) = scope::from_source(q.from.as_ref(), &scope, env, used.as_deref())?;
    let plan = plan::plan(q, env, &scope, source, naming, wanted)?;
    execute::execute(env, plan)
}
