//! What a query can see and where its rows come from: the environment (store, pipe nodes,
//! parameters, other tables), the scope of `WITH` tables a query and its parents define, and
//! the resolution of a table name to a source.

use super::super::ast::{Expr, From, Query, With};
use super::super::column::{Col, Table};
use super::super::types::DataType;
use super::super::{Statistics, Value};
use super::{run_select, run_select_reading};
use crate::error::{Error, Result};
use crate::store::Store;
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A node of the running pipe that later nodes may read.
#[derive(Debug, Clone)]
pub struct NodeSql<'a> {
    /// The node's name.
    pub name: &'a str,
    /// Its SQL text (templated when it starts with `%`).
    pub sql: &'a str,
    /// The line of the pipe file its SQL starts on.
    pub line: usize,
}

/// What a query can see: the store, the pipe's nodes and parameters, other tables, the time.
pub struct Env<'a> {
    /// The datasource's rows.
    pub store: &'a Store,
    /// More datasources a query may read by name (the other tables of a project).
    pub others: Vec<&'a Store>,
    /// Seconds since the epoch for `now()`.
    pub now: i64,
    /// Nodes of the running pipe, in file order.
    pub nodes: Vec<NodeSql<'a>>,
    /// Template parameters.
    pub params: &'a super::super::Params,
    /// Other named tables.
    pub tables: Vec<(String, Rc<Table<'a>>)>,
    /// Tables built on first use (the quarantine): name and how to build it.
    pub lazy: Vec<(String, &'a dyn Fn() -> super::super::Endpoint)>,
    built: RefCell<Vec<(String, Rc<Table<'a>>)>>,
    /// Results of nodes already run.
    done: RefCell<Vec<(String, Rc<Table<'a>>)>>,
    /// What was read.
    pub stats: Cell<Statistics>,
    pub(super) depth: Cell<usize>,
    /// How many joins are being run, one inside another.
    pub(super) joins: Cell<usize>,
    /// Scalar subqueries already run (an alias can repeat one), kept alive with their result.
    pub(super) scalars: RefCell<Vec<(Rc<Query>, Value, DataType)>>,
}

impl<'a> Env<'a> {
    /// An environment for queries over `store`.
    pub fn new(store: &'a Store, params: &'a super::super::Params, now: i64) -> Env<'a> {
        Env {
            store,
            others: Vec::new(),
            now,
            nodes: Vec::new(),
            params,
            tables: Vec::new(),
            lazy: Vec::new(),
            built: RefCell::new(Vec::new()),
            done: RefCell::new(Vec::new()),
            stats: Cell::new(Statistics::default()),
            depth: Cell::new(0),
            joins: Cell::new(0),
            scalars: RefCell::new(Vec::new()),
        }
    }

    /// The datasource's column names, which `column()` accepts.
    pub fn column_names(&self) -> Vec<String> {
        self.store
            .datasource()
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Runs node `index` of the pipe (cached). Errors are the node's own; a node read by
    /// another names itself in them.
    pub fn run_node(&self, index: usize) -> Result<Rc<Table<'a>>> {
        let node = self
            .nodes
            .get(index)
            .ok_or_else(|| Error::query("internal: node index"))?;
        if let Some((_, t)) = self.done.borrow().iter().find(|(n, _)| n == node.name) {
            return Ok(t.clone());
        }
        let columns = self.column_names();
        let expanded = super::super::template::expand(node.sql, node.line, self.params, &columns)?;
        let q = super::super::parser::parse_query(&expanded.tokens)?;
        let scope = Scope {
            ctes: RefCell::new(Vec::new()),
            aliases: Vec::new(),
            parent: None,
            nodes_visible: index,
        };
        let t = Rc::new(run_select(&q, self, &scope)?);
        self.done
            .borrow_mut()
            .push((node.name.to_string(), t.clone()));
        Ok(t)
    }

    pub(super) fn add_stats(&self, rows: u64, bytes: u64) {
        let mut s = self.stats.get();
        s.rows_read += rows;
        s.bytes_read += bytes;
        self.stats.set(s);
    }
}

fn in_node(name: &str, e: Error) -> Error {
    match e.kind() {
        crate::error::ErrorKind::Query(m) if !m.starts_with("node '") => {
            Error::query(format!("node '{name}': {m}"))
        }
        _ => e,
    }
}

enum Cte<'a> {
    Pending(Rc<Query>),
    Done(Rc<Table<'a>>),
}

/// Names visible to a query: its `WITH` tables, its parents', and earlier nodes.
pub struct Scope<'s, 'a> {
    ctes: RefCell<Vec<(String, Cte<'a>)>>,
    /// The query's `WITH` aliases (`WITH expr AS name`), which its subqueries see too.
    aliases: Vec<(String, Expr)>,
    parent: Option<&'s Scope<'s, 'a>>,
    /// Nodes `0..nodes_visible` may be read.
    pub nodes_visible: usize,
}

impl<'s, 'a> Scope<'s, 'a> {
    /// The top-level scope; `nodes_visible` earlier nodes can be read.
    pub fn top(nodes_visible: usize) -> Scope<'s, 'a> {
        Scope {
            ctes: RefCell::new(Vec::new()),
            aliases: Vec::new(),
            parent: None,
            nodes_visible,
        }
    }

    /// The scope of query `q`: its `WITH` tables, then the names `parent` sees.
    pub(super) fn of_query(q: &Query, parent: &'s Scope<'s, 'a>) -> Scope<'s, 'a> {
        Scope {
            ctes: RefCell::new(
                q.with
                    .iter()
                    .filter_map(|w| match w {
                        With::Table(n, sub) => Some((n.clone(), Cte::Pending(sub.clone()))),
                        With::Alias(..) => None,
                    })
                    .collect(),
            ),
            aliases: q
                .with
                .iter()
                .filter_map(|w| match w {
                    With::Alias(n, e) => Some((n.clone(), e.clone())),
                    With::Table(..) => None,
                })
                .collect(),
            parent: Some(parent),
            nodes_visible: parent.nodes_visible,
        }
    }

    /// The expression of the `WITH` alias `name` of an enclosing query (the nearest one),
    /// which a subquery reads where `name` is neither its column nor its own alias, as
    /// ClickHouse does.
    pub(super) fn outer_alias(&self, name: &str) -> Option<&Expr> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some((_, e)) = s.aliases.iter().find(|(n, _)| n == name) {
                return Some(e);
            }
            scope = s.parent;
        }
        None
    }
}

/// The names a source's columns answer to besides their own.
#[derive(Debug, Clone)]
pub(super) struct Naming {
    /// Qualified names (`t.column`), with their slot.
    pub qualified: Vec<(String, usize)>,
    /// The slots `*` reads, in order; `None`: every column.
    pub star: Option<Vec<usize>>,
    /// Whether an unknown `t.column` reads `column` (one table: qualifiers are not checked).
    pub strip: bool,
    /// Per slot of a join: the qualifier of the table it comes from and its name there.
    pub origin: Vec<(Option<String>, String)>,
    /// Slots of a join that `USING` merged.
    pub merged: Vec<usize>,
    /// Slots whose qualified names keep their qualifier in result column names.
    pub keep: Vec<usize>,
}

impl Naming {
    /// The naming of one table or subquery.
    pub(super) fn single() -> Naming {
        Naming {
            qualified: Vec::new(),
            star: None,
            strip: true,
            origin: Vec::new(),
            merged: Vec::new(),
            keep: Vec::new(),
        }
    }

    /// The slot of `t`'s column `name` (its own name or a qualified one).
    pub(super) fn slot(&self, t: &Table<'_>, name: &str) -> Option<usize> {
        t.names.iter().position(|n| n == name).or_else(|| {
            self.qualified
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| *s)
        })
    }
}

/// A source read whole into a table; with `used`, only the columns whose names it holds are
/// read from a store, the others kept as their type's default.
pub(super) fn materialize<'a>(
    env: &Env<'a>,
    source: Source<'a>,
    used: Option<&[String]>,
) -> Result<Rc<Table<'a>>> {
    let store = match source {
        Source::Table(t) => return Ok(t),
        Source::Store(s) => s,
    };
    let columns = Source::Store(store).columns();
    let wanted: Vec<usize> = (0..columns.len())
        .filter(|i| used.map_or(true, |u| u.iter().any(|n| *n == columns[*i].0)))
        .collect();
    let exprs: Vec<super::super::eval::BExpr> = wanted
        .iter()
        .map(|i| super::super::eval::BExpr {
            kind: super::super::eval::BKind::Slot(*i),
            ty: columns[*i].1.clone(),
        })
        .collect();
    let source = Source::Store(store);
    let read = super::execute::Read {
        source: &source,
        array_joins: &[],
        filter: None,
    };
    let batch = super::execute::project(env, &read, &exprs, None)?;
    let mut read = batch.cols.into_iter();
    let mut cols = Vec::with_capacity(columns.len());
    for (i, (_, ty)) in columns.iter().enumerate() {
        if wanted.contains(&i) {
            cols.push(
                read.next()
                    .ok_or_else(|| Error::query("internal: a column read"))?,
            );
        } else {
            cols.push(Col::Const(super::super::column::default_value(ty)));
        }
    }
    Ok(Rc::new(Table {
        names: columns.iter().map(|(n, _)| n.clone()).collect(),
        types: columns.into_iter().map(|(_, t)| t).collect(),
        cols,
        rows: batch.n,
    }))
}

/// Where rows come from.
pub(super) enum Source<'a> {
    Store(&'a Store),
    Table(Rc<Table<'a>>),
}

impl<'a> Source<'a> {
    /// The columns rows of this source have: name and type, by slot.
    pub(super) fn columns(&self) -> Vec<(String, DataType)> {
        match self {
            Source::Store(s) => s
                .datasource()
                .columns
                .iter()
                .map(|c| (c.name.clone(), DataType::of_def(c)))
                .collect(),
            Source::Table(t) => t
                .names
                .iter()
                .cloned()
                .zip(t.types.iter().cloned())
                .collect(),
        }
    }
}

fn one_row<'a>() -> Table<'a> {
    Table {
        names: vec!["dummy".into()],
        types: vec![DataType::UInt8],
        cols: vec![Col::U(Cow::Owned(vec![0]))],
        rows: 1,
    }
}

/// The source `name` stands for in `scope`. A `WITH` table read whole is run once and kept;
/// one read for some of its columns (`used`) is run for this reference alone with only those,
/// as ClickHouse, which puts a `WITH` table's query in place of each reference, computes only
/// what each reads.
fn resolve<'s, 'a>(
    name: &str,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
    used: Option<&[String]>,
) -> Result<Source<'a>> {
    let mut s = Some(scope);
    while let Some(sc) = s {
        let pending = {
            let ctes = sc.ctes.borrow();
            match ctes.iter().find(|(n, _)| n == name) {
                Some((_, Cte::Done(t))) => return Ok(Source::Table(t.clone())),
                Some((_, Cte::Pending(q))) => Some(q.clone()),
                None => None,
            }
        };
        if let Some(q) = pending {
            if used.is_some() {
                return Ok(Source::Table(Rc::new(run_select_reading(
                    &q, env, sc, used,
                )?)));
            }
            let t = Rc::new(run_select(&q, env, sc)?);
            if let Some(e) = sc.ctes.borrow_mut().iter_mut().find(|(n, _)| n == name) {
                e.1 = Cte::Done(t.clone());
            }
            return Ok(Source::Table(t));
        }
        s = sc.parent;
    }
    if let Some(i) = env.nodes.iter().position(|n| n.name == name) {
        if i >= scope.nodes_visible {
            return Err(Error::query(format!(
                "node '{name}' is not defined before this node"
            )));
        }
        return Ok(Source::Table(
            env.run_node(i).map_err(|e| in_node(name, e))?,
        ));
    }
    if name == env.store.datasource().name {
        return Ok(Source::Store(env.store));
    }
    if let Some(s) = env.others.iter().find(|s| s.datasource().name == name) {
        return Ok(Source::Store(s));
    }
    if let Some((_, t)) = env.tables.iter().find(|(n, _)| n == name) {
        return Ok(Source::Table(t.clone()));
    }
    if let Some((_, build)) = env.lazy.iter().find(|(n, _)| n == name) {
        if let Some((_, t)) = env.built.borrow().iter().find(|(n, _)| n == name) {
            return Ok(Source::Table(t.clone()));
        }
        let t = Rc::new(Table::from_endpoint(&build()));
        env.built.borrow_mut().push((name.to_string(), t.clone()));
        return Ok(Source::Table(t));
    }
    Err(Error::query(format!("unknown table '{name}'")))
}

/// The source a query's `FROM` names, resolved in `scope`, with the names of its columns;
/// without `FROM`, one row of `dummy`. `used` lists the column names the query reads (`None`:
/// all), which a join reads its sources for.
pub(super) fn from_source<'s, 'a>(
    from: Option<&From>,
    scope: &Scope<'s, 'a>,
    env: &Env<'a>,
    used: Option<&[String]>,
) -> Result<(Source<'a>, Naming)> {
    Ok(match from {
        None => (Source::Table(Rc::new(one_row())), Naming::single()),
        Some(From::Table(name, _)) => (resolve(name, scope, env, used)?, Naming::single()),
        Some(From::Final(name, _)) => match resolve(name, scope, env, None)? {
            Source::Store(store) => (
                Source::Table(Rc::new(super::finals::final_table(store)?)),
                Naming::single(),
            ),
            Source::Table(_) => {
                return Err(Error::query(format!(
                    "'{name}' is not a datasource: FINAL reads a datasource's merged rows"
                )))
            }
        },
        Some(From::Subquery(sub, _)) => (
            Source::Table(Rc::new(run_select_reading(sub, env, scope, used)?)),
            Naming::single(),
        ),
        Some(From::Join(j)) => super::join::join(j, scope, env, used, true)?,
    })
}
