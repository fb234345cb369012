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
//! | `finish.rs` | `HAVING`, outputs, `ORDER BY`, `DISTINCT`, `LIMIT … BY`, `LIMIT` |

mod bind;
mod execute;
mod finish;
mod plan;
mod scan;
mod scope;

pub use scope::{Env, NodeSql, Scope};

use super::ast::Query;
use super::column::Table;
use crate::error::{Error, Result};

/// How deep queries may nest (subqueries, nodes, `WITH` tables).
const MAX_DEPTH: usize = super::parser::MAX_QUERY_NESTING;

/// Runs a query.
pub fn run_select<'s, 'a>(q: &Query, env: &Env<'a>, parent: &Scope<'s, 'a>) -> Result<Table<'a>> {
    let depth = env.depth.get();
    if depth >= MAX_DEPTH {
        return Err(Error::query("queries nest too deeply"));
    }
    env.depth.set(depth + 1);
    let r = run_select_inner(q, env, parent);
    env.depth.set(depth);
    r
}

fn run_select_inner<'s, 'a>(q: &Query, env: &Env<'a>, parent: &Scope<'s, 'a>) -> Result<Table<'a>> {
    let scope = Scope::of_query(q, parent);
    let source = scope::from_source(q.from.as_ref(), &scope, env)?;
    let plan = plan::plan(q, env, &scope, source)?;
    execute::execute(env, plan)
}
