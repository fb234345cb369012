//! Pipes, SQL and endpoint JSON.
//!
//! A query goes through: template expansion (typed parameters become single value tokens,
//! [`template`]), parsing ([`parser`]), binding names and types into a plan ([`select`]: its
//! scope, binder and planner; [`funcs`] for the functions), and vectorised execution of the
//! plan over the store's blocks ([`select`]'s scan, executor and finish; [`eval`] for
//! expressions, one file per function family; [`group`], [`agg`]). Results come back as
//! [`Endpoint`]s.

mod agg;
mod ast;
mod budget;
mod column;
mod endpoint;
mod eval;
mod funcs;
mod fused;
mod group;
pub(crate) mod lexer;
mod parser;
mod pipe;
mod select;
mod state;
mod template;
mod types;

pub use endpoint::{Endpoint, Meta, Statistics, Value};
pub use pipe::{parse_pipe, Node, Pipe, PipeKind, MAX_NODES};

use crate::error::{Error, ErrorKind, Result};
use crate::store::{ResultLimits, Store};
use column::{Col, Table};
use lexer::Tok;
use select::{Env, NodeSql, Scope};

/// Query parameters by name, as JSON values (strings, numbers, booleans or arrays).
pub type Params = serde_json::Map<String, serde_json::Value>;

/// Fails when `t` passes `limits`, naming the setting, before any of its rows is built.
fn check_limits(t: &Table<'_>, limits: ResultLimits) -> Result<()> {
    for (name, ty) in t.names.iter().zip(&t.types) {
        if holds_state(ty) {
            return Err(Error::unsupported(format!(
                "writing out the aggregate function state column {name} ({ty}): finish it \
                 with -Merge"
            )));
        }
    }
    let rows = t.rows as u64;
    if rows > limits.max_rows {
        return Err(Error::query(format!(
            "the result has {rows} rows, more than max_result_rows ({}; the store option \
             maxResultRows)",
            limits.max_rows
        )));
    }
    if limits.max_bytes == u64::MAX {
        return Ok(());
    }
    // As the endpoint JSON holds it: per row, each column's name and value.
    let mut bytes: u64 = 0;
    for ((name, ty), col) in t.names.iter().zip(&t.types).zip(&t.cols) {
        bytes = bytes.saturating_add(rows.saturating_mul(name.len() as u64 + 12));
        if let Col::S(s) = col {
            bytes = s
                .codes
                .iter()
                .fold(bytes, |b, c| b.saturating_add(s.dict.str(*c).len() as u64));
        } else if let Col::Const(v) = col {
            let mut text = String::new();
            v.write_json(&mut text);
            bytes = bytes.saturating_add(rows.saturating_mul(text.len() as u64));
        } else if !ty.is_number() && !ty.is_time() {
            for i in 0..t.rows {
                let mut text = String::new();
                col.value_at(i, ty).write_json(&mut text);
                bytes = bytes.saturating_add(text.len() as u64);
                if bytes > limits.max_bytes {
                    break;
                }
            }
        }
        if bytes > limits.max_bytes {
            return Err(Error::query(format!(
                "the result holds more than {} bytes, the max_result_bytes bound (the store \
                 option maxResultBytes): {rows} rows of {} columns",
                limits.max_bytes,
                t.cols.len()
            )));
        }
    }
    Ok(())
}

/// Whether values of `ty` hold aggregate states.
fn holds_state(ty: &types::DataType) -> bool {
    match ty {
        types::DataType::AggregateFunction(..) => true,
        types::DataType::Array(t) | types::DataType::Nullable(t) => holds_state(t),
        _ => false,
    }
}

fn to_endpoint(t: &Table<'_>, statistics: Statistics) -> Endpoint {
    let meta = t
        .names
        .iter()
        .zip(&t.types)
        .map(|(name, ty)| Meta {
            name: name.clone(),
            ty: ty.to_string(),
        })
        .collect();
    let data = (0..t.rows)
        .map(|i| {
            t.cols
                .iter()
                .zip(&t.types)
                .map(|(c, ty)| c.value_at(i, ty))
                .collect()
        })
        .collect();
    Endpoint {
        meta,
        data,
        statistics,
    }
}

fn pipe_env<'a>(
    store: &'a Store,
    others: &[&'a Store],
    pipe: &'a Pipe,
    params: &'a Params,
    now: i64,
) -> Env<'a> {
    let mut env = Env::new(store, params, now);
    env.others = others.to_vec();
    env.nodes = pipe
        .nodes
        .iter()
        .map(|n| NodeSql {
            name: &n.name,
            sql: &n.sql,
            line: n.sql_line,
        })
        .collect();
    env
}

/// Runs the endpoint node of `pipe` over `store` with `params`; the queries may also read
/// the datasources of `others` by name, and, as Tinybird allows, the endpoint or standard pipes
/// of `pipes` by name (each run once, with the same `params`, before the pipe; a pipe read this
/// way cannot read other pipes in turn, so there are no cycles). `now` (seconds since the epoch)
/// is what `now()` and `today()` read.
pub fn run_pipe_in(
    store: &Store,
    others: &[&Store],
    pipe: &Pipe,
    pipes: &[Pipe],
    params: &Params,
    now: i64,
) -> Result<Endpoint> {
    let _budget = budget::enter(store.max_bytes().saturating_sub(store.bytes()));
    let mut env = pipe_env(store, others, pipe, params, now);
    for other in pipes {
        let shadowed = other.name == pipe.name
            || env.nodes.iter().any(|n| n.name == other.name)
            || store.datasource().name == other.name
            || others.iter().any(|s| s.datasource().name == other.name);
        if shadowed
            || !matches!(other.kind, PipeKind::Endpoint | PipeKind::Standard)
            || !pipe.nodes.iter().any(|n| names_word(&n.sql, &other.name))
        {
            continue;
        }
        let inner = pipe_env(store, others, other, params, now);
        let t = inner.run_node(other.endpoint)?;
        env.tables.push((other.name.clone(), t));
    }
    let t = env.run_node(pipe.endpoint)?;
    check_limits(&t, store.result_limits())?;
    Ok(to_endpoint(&t, env.stats.get()))
}

/// Runs the endpoint node of the materialized `pipe` over `store` (the rows just written to
/// the datasource it reads), as a ClickHouse materialized view runs its `SELECT` over an
/// inserted block: no parameters, and aggregate states kept as values for the target table.
/// The queries may read the datasources of `others` by name.
pub fn run_materialized(
    store: &Store,
    others: &[&Store],
    pipe: &Pipe,
    now: i64,
) -> Result<Endpoint> {
    let params = Params::new();
    let env = pipe_env(store, others, pipe, &params, now);
    let t = env.run_node(pipe.endpoint)?;
    Ok(to_endpoint(&t, env.stats.get()))
}

/// The table a materialized pipe is triggered by, as ClickHouse triggers a materialized view by
/// the first table its `SELECT` reads: the first name after a `FROM` in its nodes, in order,
/// that `is_table` accepts (a table joined to it, or read in a subquery after it, is not).
pub(crate) fn trigger_table(pipe: &Pipe, is_table: impl Fn(&str) -> bool) -> Option<String> {
    for node in &pipe.nodes {
        let mut toks = Vec::new();
        // A text that does not lex is reported when the node runs.
        let _ = lexer::lex(&node.sql.replace(['{', '}', '%'], " "), 1, &mut toks);
        for w in toks.windows(2) {
            if let (Tok::Word(f), Tok::Word(t) | Tok::Quoted(t)) = (&w[0].tok, &w[1].tok) {
                if f.eq_ignore_ascii_case("FROM") && is_table(t) {
                    return Some(t.clone());
                }
            }
        }
    }
    None
}

/// True when `sql` (template marks read as spaces) has `name` as a word or quoted name.
fn names_word(sql: &str, name: &str) -> bool {
    let mut toks = Vec::new();
    // A text that does not lex is reported when the node runs.
    let _ = lexer::lex(&sql.replace(['{', '}', '%'], " "), 1, &mut toks);
    toks.iter()
        .any(|t| matches!(&t.tok, Tok::Word(w) | Tok::Quoted(w) if w == name))
}

/// Runs one SQL query (templated when it starts with `%`) over `store` with `params`. `tables`
/// are more tables the query may read, each built from an endpoint result only if the query
/// reads it (a row-oriented source such as the quarantine). `now` (seconds since the epoch) is
/// what `now()` and `today()` read.
#[cfg(test)]
pub fn run_sql_with(
    store: &Store,
    sql: &str,
    params: &Params,
    tables: &[(&str, &dyn Fn() -> Endpoint)],
    now: i64,
) -> Result<Endpoint> {
    run_sql_in(store, &[], sql, params, tables, now)
}

/// [`run_sql_with`] where the query may also read the datasources of `others` by name.
pub fn run_sql_in(
    store: &Store,
    others: &[&Store],
    sql: &str,
    params: &Params,
    tables: &[(&str, &dyn Fn() -> Endpoint)],
    now: i64,
) -> Result<Endpoint> {
    let _budget = budget::enter(store.max_bytes().saturating_sub(store.bytes()));
    let mut env = Env::new(store, params, now);
    env.others = others.to_vec();
    env.lazy = tables.iter().map(|(n, f)| (n.to_string(), *f)).collect();
    let columns = env.column_names();
    let expanded = template::expand(sql, 1, params, &columns)?;
    let q = parser::parse_query(&expanded.tokens)?;
    let t = select::run_select(&q, &env, &Scope::top(0))?;
    check_limits(&t, store.result_limits())?;
    Ok(to_endpoint(&t, env.stats.get()))
}

/// The SQL ClickHouse runs for `pipe` with `params`: templates expanded with every parameter
/// written as a literal, and the nodes the endpoint reads prepended as `WITH name AS (…)`.
/// `columns` are the names `column()` accepts (the datasource's columns).
///
/// ```
/// use llm_metrics::{expand_pipe, parse_pipe, Params};
///
/// let pipe = parse_pipe(Some("p"), "NODE a\nSQL >\n    %\n    SELECT count() FROM llm_events WHERE model_name = {{String(m, 'x')}}\n\nNODE b\nSQL >\n    SELECT * FROM a\n").unwrap();
/// let mut params = Params::new();
/// params.insert("m".into(), "it's".into());
/// let sql = expand_pipe(&pipe, &params, &[]).unwrap();
/// assert_eq!(sql, "WITH a AS (\nSELECT count() FROM llm_events WHERE model_name = 'it\\'s'\n)\nSELECT * FROM a");
/// ```
pub fn expand_pipe(pipe: &Pipe, params: &Params, columns: &[String]) -> Result<String> {
    let mut expanded: Vec<Option<template::Expansion>> = vec![None; pipe.nodes.len()];
    let mut wanted = vec![false; pipe.nodes.len()];
    wanted[pipe.endpoint] = true;
    for i in (0..pipe.nodes.len()).rev() {
        if !wanted[i] {
            continue;
        }
        let node = &pipe.nodes[i];
        let e = template::expand(&node.sql, node.sql_line, params, columns)?;
        for t in &e.tokens {
            let name = match &t.tok {
                Tok::Word(w) | Tok::Quoted(w) => w,
                _ => continue,
            };
            if let Some(j) = pipe.nodes[..i].iter().position(|n| n.name == *name) {
                wanted[j] = true;
            }
        }
        expanded[i] = Some(e);
    }
    let body = |e: &template::Expansion| e.sql.trim().trim_end_matches(';').trim().to_string();
    let ctes: Vec<String> = (0..pipe.endpoint)
        .filter_map(|i| {
            expanded[i].as_ref().map(|e| {
                format!(
                    "{} AS (\n{}\n)",
                    lexer::quote_ident(&pipe.nodes[i].name),
                    body(e)
                )
            })
        })
        .collect();
    let end = expanded[pipe.endpoint]
        .as_ref()
        .ok_or_else(|| Error::query("internal: endpoint not expanded"))?;
    let sql = body(end);
    if ctes.is_empty() {
        return Ok(sql);
    }
    let starts_with_with = matches!(end.tokens.first().map(|t| &t.tok), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("WITH"));
    if starts_with_with {
        if let Some(pos) = sql.to_ascii_uppercase().find("WITH") {
            let rest = &sql[pos + 4..];
            return Ok(format!("WITH {},{}", ctes.join(",\n"), rest));
        }
    }
    Ok(format!("WITH {}\n{}", ctes.join(",\n"), sql))
}

/// The 1-based line an error message points at ("… line N …").
fn line_in(message: &str) -> Option<usize> {
    let at = message.find("line ")?;
    let digits: String = message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Checks what can be checked of a pipe without parameters: template structure of every node,
/// and the SQL of nodes that are not templates. Errors name the line of the pipe file.
pub fn check_pipe(pipe: &Pipe) -> Result<()> {
    for node in &pipe.nodes {
        let r = if template::is_template(&node.sql) {
            template::check(&node.sql, node.sql_line)
        } else {
            let mut tokens = Vec::new();
            lexer::lex(&node.sql, node.sql_line, &mut tokens)
                .and_then(|()| parser::parse_query(&tokens).map(|_| ()))
        };
        if let Err(e) = r {
            let message = e.to_string();
            let line = line_in(&message).unwrap_or(node.sql_line);
            return Err(Error::new(ErrorKind::Pipe {
                line,
                message: format!("node '{}': {message}", node.name),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod state_tests;
#[cfg(test)]
mod tests;
