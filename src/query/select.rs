//! Running a `SELECT`: resolving the table, binding names the way ClickHouse does (aliases are
//! visible everywhere in the query; `GROUP BY` keys are matched by expression), scanning blocks
//! (skipping those outside the `WHERE` time range), grouping, aggregating, then `HAVING`,
//! `ORDER BY`, `DISTINCT`, `LIMIT … BY` and `LIMIT`.

use super::agg::{Agg, AggKind, AggSpec, Groups};
use super::ast::{Call, Expr, From, Query, With};
use super::column::{empty_col, Col, Dict, Strs, Table};
use super::eval::{eval, eval_const, eval_mask, BExpr, BKind, Batch, Cmp, InSet, F};
use super::group::Grouper;
use super::types::{common_type, DataType};
use super::{funcs, Statistics, Value};
use crate::error::{Error, Result};
use crate::store::{Block, Store, BLOCK_ROWS};
use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// How deep queries may nest (subqueries, nodes, `WITH` tables).
const MAX_DEPTH: usize = super::parser::MAX_QUERY_NESTING;

/// How many nodes an expression may have once its aliases are substituted: aliases that use
/// each other twice over (`a1 = a0 + a0`, `a2 = a1 + a1`, …) would otherwise double it per alias.
const MAX_EXPANDED_NODES: usize = 100_000;

/// How deep an expression may nest once its aliases are substituted.
const MAX_EXPANDED_DEPTH: usize = 256;

/// The running size of one alias substitution.
#[derive(Default)]
struct Expansion {
    nodes: usize,
    depth: usize,
}

/// The largest dictionary whose codes serve directly as group ids.
const CODE_GROUPS_MAX: usize = 1 << 16;

/// The largest dictionary whose codes serve directly as one of several keys: the grouping keeps
/// a table indexed by code for every combination of the other keys.
const CODE_KEYS_MAX: usize = 256;

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
    pub params: &'a super::Params,
    /// Other named tables.
    pub tables: Vec<(String, Rc<Table<'a>>)>,
    /// Tables built on first use (the quarantine): name and how to build it.
    pub lazy: Vec<(String, &'a dyn Fn() -> super::Endpoint)>,
    built: RefCell<Vec<(String, Rc<Table<'a>>)>>,
    /// Results of nodes already run.
    done: RefCell<Vec<(String, Rc<Table<'a>>)>>,
    /// What was read.
    pub stats: Cell<Statistics>,
    depth: Cell<usize>,
    /// Scalar subqueries already run (an alias can repeat one), kept alive with their result.
    scalars: RefCell<Vec<(Rc<Query>, Value, DataType)>>,
}

impl<'a> Env<'a> {
    /// An environment for queries over `store`.
    pub fn new(store: &'a Store, params: &'a super::Params, now: i64) -> Env<'a> {
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
        let expanded = super::template::expand(node.sql, node.line, self.params, &columns)?;
        let q = super::parser::parse_query(&expanded.tokens)?;
        let scope = Scope {
            ctes: RefCell::new(Vec::new()),
            parent: None,
            nodes_visible: index,
        };
        let t = Rc::new(run_select(&q, self, &scope)?);
        self.done
            .borrow_mut()
            .push((node.name.to_string(), t.clone()));
        Ok(t)
    }

    fn add_stats(&self, rows: u64, bytes: u64) {
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
    parent: Option<&'s Scope<'s, 'a>>,
    /// Nodes `0..nodes_visible` may be read.
    pub nodes_visible: usize,
}

impl<'s, 'a> Scope<'s, 'a> {
    /// The top-level scope; `nodes_visible` earlier nodes can be read.
    pub fn top(nodes_visible: usize) -> Scope<'s, 'a> {
        Scope {
            ctes: RefCell::new(Vec::new()),
            parent: None,
            nodes_visible,
        }
    }
}

/// Where rows come from.
enum Source<'a> {
    Store(&'a Store),
    Table(Rc<Table<'a>>),
}

impl<'a> Source<'a> {
    fn columns(&self) -> Vec<(String, DataType)> {
        match self {
            Source::Store(s) => s
                .datasource()
                .columns
                .iter()
                .map(|c| (c.name.clone(), DataType::of_column(c.ty)))
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

fn resolve<'s, 'a>(name: &str, scope: &Scope<'s, 'a>, env: &Env<'a>) -> Result<Source<'a>> {
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

/// How names bind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Over source rows.
    Row,
    /// Over groups: keys and aggregates.
    Post,
    /// Constants only.
    Const,
}

struct Binder<'q, 'e, 's, 'a> {
    env: &'e Env<'a>,
    scope: &'e Scope<'s, 'a>,
    columns: Vec<(String, DataType)>,
    aliases: Vec<(String, &'q Expr)>,
    keys: Vec<Expr>,
    key_types: Vec<DataType>,
    aggs: Vec<(Expr, AggSpec)>,
    /// Where the expression being bound sits, for error messages.
    clause: &'static str,
}

fn contains_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Func(c) => {
            funcs::aggregate(&c.name).is_some() || c.args.iter().any(contains_aggregate)
        }
        Expr::Interval(x, _) => contains_aggregate(x),
        Expr::Array(items) | Expr::Tuple(items) => items.iter().any(contains_aggregate),
        _ => false,
    }
}

impl<'q, 'e, 's, 'a> Binder<'q, 'e, 's, 'a> {
    /// Replaces alias names by their expressions (an alias is not expanded inside itself).
    fn expand(&self, e: &Expr, stack: &mut Vec<String>) -> Result<Expr> {
        self.expand_within(e, stack, &mut Expansion::default())
    }

    fn expand_within(&self, e: &Expr, stack: &mut Vec<String>, x: &mut Expansion) -> Result<Expr> {
        x.nodes += 1;
        if x.nodes > MAX_EXPANDED_NODES || x.depth > MAX_EXPANDED_DEPTH {
            return Err(Error::query(format!(
                "an expression is too large once its aliases are substituted (more than \
                 {MAX_EXPANDED_NODES} nodes or {MAX_EXPANDED_DEPTH} levels)"
            )));
        }
        x.depth += 1;
        let r = self.expand_node(e, stack, x);
        x.depth -= 1;
        r
    }

    fn expand_node(&self, e: &Expr, stack: &mut Vec<String>, x: &mut Expansion) -> Result<Expr> {
        let all = |items: &[Expr], stack: &mut Vec<String>, x: &mut Expansion| {
            items
                .iter()
                .map(|i| self.expand_within(i, stack, x))
                .collect::<Result<Vec<_>>>()
        };
        Ok(match e {
            Expr::Ident(n) => {
                if let Some((_, a)) = self.aliases.iter().find(|(name, _)| name == n) {
                    if !stack.contains(n) {
                        stack.push(n.clone());
                        let r = self.expand_within(a, stack, x);
                        stack.pop();
                        return r;
                    }
                }
                Expr::Ident(n.clone())
            }
            Expr::Func(c) => Expr::Func(Box::new(Call {
                name: c.name.clone(),
                params: match &c.params {
                    Some(p) => Some(all(p, stack, x)?),
                    None => None,
                },
                args: all(&c.args, stack, x)?,
            })),
            Expr::Interval(inner, u) => {
                Expr::Interval(Box::new(self.expand_within(inner, stack, x)?), *u)
            }
            Expr::Array(items) => Expr::Array(all(items, stack, x)?),
            Expr::Tuple(items) => Expr::Tuple(all(items, stack, x)?),
            other => other.clone(),
        })
    }

    fn full(&self, e: &Expr) -> Result<Expr> {
        self.expand(e, &mut Vec::new())
    }

    fn bind(&mut self, e: &Expr, mode: Mode) -> Result<BExpr> {
        if mode == Mode::Post {
            if let Some(k) = self.keys.iter().position(|k| k == e) {
                return Ok(BExpr {
                    kind: BKind::Slot(k),
                    ty: self.key_types[k].clone(),
                });
            }
        }
        match e {
            Expr::Lit(l) => Ok(BExpr::constant(l.value.clone(), l.ty.clone())),
            Expr::Ident(n) => match mode {
                Mode::Row => match self.columns.iter().position(|(c, _)| c == n) {
                    Some(i) => Ok(BExpr {
                        kind: BKind::Slot(i),
                        ty: self.columns[i].1.clone(),
                    }),
                    None => Err(Error::query(format!(
                        "unknown column '{n}' (columns: {})",
                        self.columns
                            .iter()
                            .map(|(c, _)| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))),
                },
                Mode::Post => {
                    if self.columns.iter().any(|(c, _)| c == n) {
                        Err(Error::query(format!(
                            "column '{n}' is not under an aggregate function and not in GROUP BY"
                        )))
                    } else {
                        Err(Error::query(format!("unknown column '{n}'")))
                    }
                }
                Mode::Const => Err(Error::query(format!(
                    "{} must be a constant, but it reads column '{n}'",
                    self.clause
                ))),
            },
            Expr::Star => Err(Error::query(
                "'*' is only allowed in the select list and count(*)",
            )),
            Expr::Interval(x, u) => {
                let n = self.bind(x, Mode::Const)?;
                let v = n
                    .as_const()
                    .cloned()
                    .ok_or_else(|| Error::query("INTERVAL needs a constant"))?;
                let k = match v {
                    Value::UInt(u) => i64::try_from(u).unwrap_or(i64::MAX),
                    Value::Int(i) => i,
                    _ => return Err(Error::query("INTERVAL needs an integer")),
                };
                if k.unsigned_abs() > 1_000_000_000 {
                    return Err(Error::query(format!("INTERVAL {k} is too large")));
                }
                Ok(BExpr::constant(Value::Int(k), DataType::Interval(*u)))
            }
            Expr::Subquery(q, _) => {
                let cached = self
                    .env
                    .scalars
                    .borrow()
                    .iter()
                    .find(|(k, _, _)| Rc::ptr_eq(k, q))
                    .map(|(_, v, t)| BExpr::constant(v.clone(), t.clone()));
                if let Some(c) = cached {
                    return Ok(c);
                }
                let t = run_select(q, self.env, self.scope)?;
                if t.cols.len() != 1 {
                    return Err(Error::unsupported(
                        "scalar subqueries returning several columns (tuples)",
                    ));
                }
                if t.rows > 1 {
                    return Err(Error::query("scalar subquery returned more than one row"));
                }
                let ty = t.types[0].clone();
                let v = if t.rows == 0 {
                    Value::Null
                } else {
                    t.cols[0].value_at(0, &ty)
                };
                let ty = ty.nullable_if(true);
                self.env
                    .scalars
                    .borrow_mut()
                    .push((q.clone(), v.clone(), ty.clone()));
                Ok(BExpr::constant(v, ty))
            }
            Expr::Array(items) => {
                let mut values = Vec::new();
                let mut types = Vec::new();
                for x in items {
                    let b = self.bind(x, mode)?;
                    let v = b
                        .as_const()
                        .cloned()
                        .ok_or_else(|| Error::unsupported("arrays of non-constant values"))?;
                    values.push(v);
                    types.push(b.ty);
                }
                let refs: Vec<&DataType> = types.iter().collect();
                let elem = if refs.is_empty() {
                    DataType::Nothing
                } else {
                    common_type(&refs)
                        .ok_or_else(|| Error::query("array elements have no common type"))?
                };
                Ok(BExpr::constant(
                    Value::Array(values),
                    DataType::Array(Box::new(elem)),
                ))
            }
            Expr::Tuple(_) => Err(Error::unsupported("tuples (outside IN lists)")),
            Expr::Func(c) => self.bind_call(e, c, mode),
        }
    }

    fn bind_call(&mut self, whole: &Expr, c: &Call, mode: Mode) -> Result<BExpr> {
        let name = funcs::canonical(&c.name);
        if let Some((base, is_if)) = funcs::aggregate(&name) {
            if mode != Mode::Post {
                return Err(Error::query(format!(
                    "aggregate function {} is not allowed in {}",
                    c.name, self.clause
                )));
            }
            return self.bind_aggregate(whole, c, base, is_if);
        }
        if c.params.is_some() {
            return Err(Error::query(format!("{} takes no parameters", c.name)));
        }
        if name == "in" || name == "notIn" || name == "globalIn" || name == "globalNotIn" {
            if c.args.len() != 2 {
                return Err(Error::query("IN needs a left and a right side"));
            }
            let left = self.bind(&c.args[0], mode)?;
            let values = self.in_values(&c.args[1], mode)?;
            let set = funcs::in_set(&left.ty, &values)?;
            let nullable = left.ty.is_nullable();
            let e = BExpr::call(
                F::In(Box::new(set), name.ends_with("otIn")),
                vec![left],
                DataType::UInt8.nullable_if(nullable),
            );
            return fold(e);
        }
        if name == "countDistinct" {
            return Err(Error::query("count(DISTINCT …) is an aggregate"));
        }
        if name == "arrayJoin" {
            return Err(Error::unsupported("ARRAY JOIN"));
        }
        let mut args = Vec::with_capacity(c.args.len());
        for a in &c.args {
            args.push(self.bind(a, mode)?);
        }
        fold(funcs::bind(&name, args, self.env.now)?)
    }

    /// The constant values on the right of `IN`.
    fn in_values(&mut self, e: &Expr, mode: Mode) -> Result<Vec<(Value, DataType)>> {
        match e {
            Expr::Tuple(items) => {
                let mut out = Vec::new();
                for x in items {
                    let b = self.bind(x, mode)?;
                    let v = b
                        .as_const()
                        .cloned()
                        .ok_or_else(|| Error::unsupported("IN with non-constant values"))?;
                    out.push((v, b.ty));
                }
                Ok(out)
            }
            Expr::Subquery(q, _) => {
                let t = run_select(q, self.env, self.scope)?;
                if t.cols.len() != 1 {
                    return Err(Error::unsupported("IN with a subquery of several columns"));
                }
                let ty = t.types[0].clone();
                Ok((0..t.rows)
                    .map(|i| (t.cols[0].value_at(i, &ty), ty.clone()))
                    .collect())
            }
            other => {
                let b = self.bind(other, mode)?;
                match (b.as_const(), &b.ty) {
                    (Some(Value::Array(items)), DataType::Array(elem)) => Ok(items
                        .iter()
                        .map(|v| (v.clone(), (**elem).clone()))
                        .collect()),
                    (Some(v), t) => Ok(vec![(v.clone(), t.clone())]),
                    (None, _) => Err(Error::unsupported("IN with a non-constant right side")),
                }
            }
        }
    }

    fn bind_aggregate(&mut self, whole: &Expr, c: &Call, base: &str, is_if: bool) -> Result<BExpr> {
        let nkeys = self.keys.len();
        if let Some(i) = self.aggs.iter().position(|(x, _)| x == whole) {
            return Ok(BExpr {
                kind: BKind::Slot(nkeys + i),
                ty: self.aggs[i].1.ty.clone(),
            });
        }
        let mut params = Vec::new();
        for p in c.params.iter().flatten() {
            let b = self.bind(p, Mode::Const)?;
            params.push(b.as_const().cloned().ok_or_else(|| {
                Error::query(format!("{}: parameters must be constants", c.name))
            })?);
        }
        let mut arg_exprs: Vec<&Expr> = c.args.iter().collect();
        let kind = funcs::aggregate_kind(base, &params)?;
        let saved = self.clause;
        self.clause = "aggregate function arguments (nested aggregates)";
        let cond_expr = if is_if {
            arg_exprs.last().copied()
        } else {
            None
        };
        let cond = if is_if {
            let last = arg_exprs
                .pop()
                .ok_or_else(|| Error::query(format!("{} needs a condition", c.name)))?;
            let b = self.bind(last, Mode::Row)?;
            if !b.ty.is_number() {
                return Err(Error::query(format!(
                    "{}: the condition must be a number",
                    c.name
                )));
            }
            Some(b)
        } else {
            None
        };
        let mut args = Vec::new();
        for a in &arg_exprs {
            args.push(self.bind(a, Mode::Row)?);
        }
        self.clause = saved;
        let want = match kind {
            AggKind::Count => (0, 1),
            AggKind::ArgMin | AggKind::ArgMax => (2, 2),
            AggKind::Uniq => (1, 64),
            _ => (1, 1),
        };
        if args.len() < want.0 || args.len() > want.1 {
            return Err(Error::query(format!(
                "{} takes {} argument{}",
                c.name,
                if want.0 == want.1 {
                    want.0.to_string()
                } else {
                    format!("{} or {}", want.0, want.1)
                },
                if want.1 == 1 { "" } else { "s" }
            )));
        }
        if kind == AggKind::Count {
            // count(x) of a column that is never NULL counts rows.
            if args.first().is_some_and(|a| !a.ty.is_nullable()) {
                args.clear();
            }
        }
        for a in &args {
            if matches!(a.ty.base(), DataType::Array(_)) && kind != AggKind::Any {
                return Err(Error::unsupported(format!("{} of arrays", c.name)));
            }
        }
        let types: Vec<&DataType> = args.iter().map(|a| &a.ty).collect();
        let ty = super::agg::result_type(&kind, &types)?;
        if let AggKind::Quantile(q, levels, false) = &kind {
            // Quantiles of one argument share one state: each is an element of their array.
            let mut key_args: Vec<Expr> = arg_exprs.iter().map(|e| (*e).clone()).collect();
            key_args.extend(cond_expr.cloned());
            let key = Expr::Func(Box::new(Call {
                name: format!("quantiles {q:?}"),
                params: None,
                args: key_args,
            }));
            let level = levels.first().copied().unwrap_or(0.5);
            let array_ty = DataType::Array(Box::new(ty.clone()));
            let slot = match self.aggs.iter().position(|(x, _)| *x == key) {
                Some(i) => i,
                None => {
                    self.aggs.push((
                        key,
                        AggSpec {
                            kind: AggKind::Quantile(*q, Vec::new(), true),
                            args,
                            cond,
                            ty: array_ty.clone(),
                        },
                    ));
                    self.aggs.len() - 1
                }
            };
            let AggKind::Quantile(_, shared, _) = &mut self.aggs[slot].1.kind else {
                return Err(Error::query("internal: shared quantile state"));
            };
            let pos = match shared.iter().position(|l| *l == level) {
                Some(p) => p,
                None => {
                    shared.push(level);
                    shared.len() - 1
                }
            };
            return Ok(BExpr::call(
                F::ArrayElement(pos),
                vec![BExpr {
                    kind: BKind::Slot(nkeys + slot),
                    ty: array_ty,
                }],
                ty,
            ));
        }
        self.aggs.push((
            whole.clone(),
            AggSpec {
                kind,
                args,
                cond,
                ty: ty.clone(),
            },
        ));
        Ok(BExpr {
            kind: BKind::Slot(nkeys + self.aggs.len() - 1),
            ty,
        })
    }
}

/// Folds a call whose arguments are all constants into a constant.
fn fold(e: BExpr) -> Result<BExpr> {
    if let BKind::Call(c) = &e.kind {
        if c.args.iter().all(|a| a.as_const().is_some()) {
            let v = eval_const(&e)?;
            return Ok(BExpr::constant(v, e.ty));
        }
    }
    Ok(e)
}

/// A `WHERE` condition without its constant-true conjuncts (`WHERE 1 AND …`, as templates
/// write), or `None` when nothing is left to test.
fn without_true(e: BExpr) -> Option<BExpr> {
    fn conjuncts(e: BExpr, out: &mut Vec<BExpr>) {
        match &e.kind {
            BKind::Call(c) if matches!(c.f, F::And) => {
                for a in &c.args {
                    conjuncts(a.clone(), out);
                }
            }
            _ => out.push(e),
        }
    }
    let truthy = |e: &BExpr| {
        e.as_const()
            .is_some_and(|v| *v != Value::Null && super::column::value_f(v) != 0.0)
    };
    let ty = e.ty.clone();
    let mut all = Vec::new();
    conjuncts(e, &mut all);
    all.retain(|a| !truthy(a));
    match all.len() {
        0 => None,
        1 => all.pop(),
        _ => Some(BExpr::call(F::And, all, ty)),
    }
}

/// The integer value of a constant `LIMIT`/`OFFSET` expression.
fn limit_value(b: &mut Binder<'_, '_, '_, '_>, e: &Expr, what: &'static str) -> Result<u64> {
    b.clause = what;
    let v = b.bind(e, Mode::Const)?;
    match v.as_const() {
        Some(Value::UInt(u)) => Ok(*u),
        Some(Value::Int(i)) if *i >= 0 => Ok(*i as u64),
        _ => Err(Error::query(format!(
            "{what} must be a non-negative integer"
        ))),
    }
}

/// The expression a positional reference (`GROUP BY 1`) stands for.
fn positional<'x>(e: &'x Expr, items: &'x [(String, Expr)]) -> Result<&'x Expr> {
    if let Expr::Lit(l) = e {
        if !l.typed {
            if let Value::UInt(n) = l.value {
                return items
                    .get((n as usize).wrapping_sub(1))
                    .map(|(_, x)| x)
                    .ok_or_else(|| {
                        Error::query(format!("position {n} is not in the select list"))
                    });
            }
        }
    }
    Ok(e)
}

fn add_alias<'q>(name: &str, e: &'q Expr, aliases: &mut Vec<(String, &'q Expr)>) -> Result<()> {
    if let Some((_, prev)) = aliases.iter().find(|(n, _)| n == name) {
        if *prev != e {
            return Err(Error::query(format!(
                "different expressions have the same alias '{name}'"
            )));
        }
        return Ok(());
    }
    aliases.push((name.to_string(), e));
    Ok(())
}

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
    let scope = Scope {
        ctes: RefCell::new(
            q.with
                .iter()
                .filter_map(|w| match w {
                    With::Table(n, sub) => Some((n.clone(), Cte::Pending(sub.clone()))),
                    With::Alias(..) => None,
                })
                .collect(),
        ),
        parent: Some(parent),
        nodes_visible: parent.nodes_visible,
    };
    let source = match &q.from {
        None => Source::Table(Rc::new(one_row())),
        Some(From::Table(name, _)) => resolve(name, &scope, env)?,
        Some(From::Subquery(sub, _)) => Source::Table(Rc::new(run_select(sub, env, &scope)?)),
    };
    let columns = source.columns();

    // Aliases from WITH and from the select list.
    let mut aliases: Vec<(String, &Expr)> = Vec::new();
    for w in &q.with {
        if let With::Alias(n, e) = w {
            add_alias(n, e, &mut aliases)?;
        }
    }
    for item in &q.select {
        if let Some(a) = &item.alias {
            add_alias(a, &item.expr, &mut aliases)?;
        }
    }
    let mut b = Binder {
        env,
        scope: &scope,
        columns: columns.clone(),
        aliases,
        keys: Vec::new(),
        key_types: Vec::new(),
        aggs: Vec::new(),
        clause: "WHERE",
    };

    // The select list, `*` expanded: (name, expression with aliases expanded).
    let mut items: Vec<(String, Expr)> = Vec::new();
    for item in &q.select {
        if item.expr == Expr::Star {
            for (c, _) in &columns {
                items.push((c.clone(), Expr::Ident(c.clone())));
            }
            continue;
        }
        let name = item.alias.clone().unwrap_or_else(|| item.expr.to_string());
        // An alias is not expanded inside its own expression: in `sum(x) AS x` the inner `x` is
        // the column.
        let mut stack: Vec<String> = item.alias.iter().cloned().collect();
        items.push((name, b.expand(&item.expr, &mut stack)?));
    }

    let filter = match &q.filter {
        Some(f) => {
            b.clause = "WHERE";
            let e = b.full(f)?;
            let bound = b.bind(&e, Mode::Row)?;
            if !bound.ty.is_number() && bound.ty != DataType::Nothing {
                return Err(Error::query(format!(
                    "WHERE must be a condition, not {}",
                    bound.ty
                )));
            }
            without_true(bound)
        }
        None => None,
    };

    let order_exprs: Vec<(Expr, bool)> = q
        .order_by
        .iter()
        .map(|o| Ok((b.full(positional(&o.expr, &items)?)?, o.desc)))
        .collect::<Result<_>>()?;
    let limit_by = match &q.limit_by {
        Some(lb) => {
            let n = limit_value(&mut b, &lb.limit, "LIMIT BY")?;
            let off = match &lb.offset {
                Some(o) => limit_value(&mut b, o, "LIMIT BY OFFSET")?,
                None => 0,
            };
            let by: Vec<Expr> = lb
                .by
                .iter()
                .map(|x| b.full(positional(x, &items)?))
                .collect::<Result<_>>()?;
            Some((n, off, by))
        }
        None => None,
    };
    let limit = match &q.limit {
        Some(l) => Some(limit_value(&mut b, l, "LIMIT")?),
        None => None,
    };
    let offset = match &q.offset {
        Some(o) => limit_value(&mut b, o, "OFFSET")?,
        None => 0,
    };
    let having = match &q.having {
        Some(h) => Some(b.full(h)?),
        None => None,
    };

    let aggregated = !q.group_by.is_empty()
        || items.iter().any(|(_, e)| contains_aggregate(e))
        || having.as_ref().is_some_and(contains_aggregate)
        || order_exprs.iter().any(|(e, _)| contains_aggregate(e));

    let (batch, outputs, having_b, order_b, by_b) = if aggregated {
        b.clause = "GROUP BY";
        let mut key_exprs = Vec::new();
        for g in &q.group_by {
            let e = b.full(positional(g, &items)?)?;
            if !key_exprs.contains(&e) {
                key_exprs.push(e);
            }
        }
        let mut keys = Vec::new();
        for e in &key_exprs {
            let k = b.bind(e, Mode::Row)?;
            if matches!(k.ty.base(), DataType::Array(_)) {
                return Err(Error::unsupported("GROUP BY an array"));
            }
            keys.push(k);
        }
        b.key_types = keys.iter().map(|k| k.ty.clone()).collect();
        b.keys = key_exprs;
        b.clause = "the select list";
        let outputs: Vec<(String, BExpr)> = items
            .iter()
            .map(|(n, e)| Ok((n.clone(), b.bind(e, Mode::Post)?)))
            .collect::<Result<_>>()?;
        b.clause = "HAVING";
        let having_b = match &having {
            Some(h) => Some(b.bind(h, Mode::Post)?),
            None => None,
        };
        b.clause = "ORDER BY";
        let order_b: Vec<(BExpr, bool)> = order_exprs
            .iter()
            .map(|(e, d)| Ok((b.bind(e, Mode::Post)?, *d)))
            .collect::<Result<_>>()?;
        b.clause = "LIMIT BY";
        let by_b = match &limit_by {
            Some((n, off, by)) => Some((
                *n,
                *off,
                by.iter()
                    .map(|e| b.bind(e, Mode::Post))
                    .collect::<Result<Vec<_>>>()?,
            )),
            None => None,
        };
        let specs: Vec<AggSpec> = b.aggs.iter().map(|(_, s)| s.clone()).collect();
        let batch = aggregate(env, &source, filter.as_ref(), &keys, specs)?;
        (batch, outputs, having_b, order_b, by_b)
    } else {
        if having.is_some() {
            return Err(Error::query("HAVING needs GROUP BY or aggregate functions"));
        }
        b.clause = "the select list";
        let mut row_exprs: Vec<BExpr> = Vec::new();
        let slot = |e: BExpr, row_exprs: &mut Vec<BExpr>| -> BExpr {
            let ty = e.ty.clone();
            row_exprs.push(e);
            BExpr {
                kind: BKind::Slot(row_exprs.len() - 1),
                ty,
            }
        };
        let mut outputs = Vec::new();
        for (n, e) in &items {
            let be = b.bind(e, Mode::Row)?;
            outputs.push((n.clone(), slot(be, &mut row_exprs)));
        }
        b.clause = "ORDER BY";
        let mut order_b = Vec::new();
        for (e, d) in &order_exprs {
            let be = b.bind(e, Mode::Row)?;
            order_b.push((slot(be, &mut row_exprs), *d));
        }
        b.clause = "LIMIT BY";
        let by_b = match &limit_by {
            Some((n, off, by)) => {
                let mut v = Vec::new();
                for e in by {
                    let be = b.bind(e, Mode::Row)?;
                    v.push(slot(be, &mut row_exprs));
                }
                Some((*n, *off, v))
            }
            None => None,
        };
        let stop_after = if order_b.is_empty() && by_b.is_none() && !q.distinct {
            limit.map(|l| l.saturating_add(offset))
        } else {
            None
        };
        let batch = project(env, &source, filter.as_ref(), &row_exprs, stop_after)?;
        (batch, outputs, None, order_b, by_b)
    };
    finish(
        batch, outputs, having_b, order_b, q.distinct, by_b, limit, offset,
    )
}

/// The columns of a store block as batch columns (`needed` loaded, the rest placeholders).
fn block_batch<'a>(store: &'a Store, block: &'a Block, needed: &[usize]) -> Batch<'a> {
    let cols = (0..block.columns().len())
        .map(|i| {
            if !needed.contains(&i) {
                return Col::Const(Value::Null);
            }
            match (block.column(i).codes(), store.dictionary(i)) {
                (Some(codes), Some(d)) => Col::S(Strs {
                    codes,
                    dict: Dict::Store(d),
                }),
                _ => Col::Native(Cow::Borrowed(block.column(i))),
            }
        })
        .collect();
    Batch {
        n: block.rows(),
        cols,
    }
}

/// The time range `[lo, hi]` (in the time column's unit) a filter restricts rows to.
fn time_bounds(filter: &BExpr, slot: usize, ty: &DataType) -> (i64, i64) {
    let mut lo = i64::MIN;
    let mut hi = i64::MAX;
    let mut conjuncts = vec![filter];
    while let Some(e) = conjuncts.pop() {
        let BKind::Call(c) = &e.kind else { continue };
        match &c.f {
            F::And => conjuncts.extend(c.args.iter()),
            F::Cmp(op) => {
                let (op, v, vty) = match (&c.args[0].kind, &c.args[1].kind) {
                    (BKind::Slot(s), BKind::Const(v)) if *s == slot => (*op, v, &c.args[1].ty),
                    (BKind::Const(v), BKind::Slot(s)) if *s == slot => {
                        (op.flip(), v, &c.args[0].ty)
                    }
                    _ => continue,
                };
                if matches!(v, Value::Null) || !(vty.is_time() || vty.is_int()) {
                    continue;
                }
                let mut x = super::eval::const_i(v);
                match (vty.base(), ty.base()) {
                    (DataType::Date, DataType::DateTime) => x *= 86_400,
                    (DataType::Date, DataType::DateTime64) => x *= 86_400_000,
                    (DataType::DateTime, DataType::DateTime64) => x *= 1000,
                    _ => {}
                }
                match op {
                    Cmp::Gt => lo = lo.max(x.saturating_add(1)),
                    Cmp::Ge => lo = lo.max(x),
                    Cmp::Lt => hi = hi.min(x.saturating_sub(1)),
                    Cmp::Le => hi = hi.min(x),
                    Cmp::Eq => {
                        lo = lo.max(x);
                        hi = hi.min(x);
                    }
                    Cmp::Ne => {}
                }
            }
            F::In(set, false) => {
                if let (BKind::Slot(s), InSet::Int(items)) = (&c.args[0].kind, set.as_ref()) {
                    if *s == slot {
                        lo = lo.max(items.iter().copied().min().unwrap_or(i64::MAX));
                        hi = hi.min(items.iter().copied().max().unwrap_or(i64::MIN));
                    }
                }
            }
            _ => {}
        }
    }
    (lo, hi)
}

/// Scans the source: per batch of rows passing the filter, with the `needed` slots loaded.
///
/// With `masks`, a batch most of whose rows pass comes whole, with the filter's mask beside
/// it, instead of as a copy of the passing rows; otherwise the mask is always `None`.
fn scan<'a: 'b, 'b>(
    env: &Env<'a>,
    source: &'b Source<'a>,
    filter: Option<&BExpr>,
    needed: &[usize],
    masks: bool,
    mut f: impl FnMut(&Batch<'b>, Option<&[bool]>) -> Result<bool>,
) -> Result<()> {
    let mut filter_slots = Vec::new();
    if let Some(flt) = filter {
        flt.slots(&mut filter_slots);
    }
    let mut all = needed.to_vec();
    for s in &filter_slots {
        if !all.contains(s) {
            all.push(*s);
        }
    }
    // Apply the filter to a batch, then hand on only the rows that pass.
    let mut run = |batch: Batch<'b>| -> Result<bool> {
        let Some(flt) = filter else {
            return f(&batch, None);
        };
        let mask = eval_mask(flt, &batch)?;
        let kept = mask.iter().filter(|m| **m).count();
        if kept == 0 {
            return Ok(true);
        }
        if kept == batch.n {
            return f(&batch, None);
        }
        if masks && kept * 2 >= batch.n {
            return f(&batch, Some(&mask));
        }
        let sel: Vec<u32> = mask
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .map(|(i, _)| i as u32)
            .collect();
        let cols = batch
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if needed.contains(&i) {
                    c.gather(&sel)
                } else {
                    Col::Const(Value::Null)
                }
            })
            .collect();
        f(&Batch { n: kept, cols }, None)
    };
    match source {
        Source::Store(store) => {
            let ds = store.datasource();
            let bounds = match (filter, ds.time_column) {
                (Some(flt), Some(tc)) => {
                    time_bounds(flt, tc, &DataType::of_column(ds.columns[tc].ty))
                }
                _ => (i64::MIN, i64::MAX),
            };
            let width: u64 = all
                .iter()
                .map(|i| ds.columns.get(*i).map_or(0, |c| c.ty.width() as u64))
                .sum();
            for block in store.blocks() {
                if block.max_time() < bounds.0 || block.min_time() > bounds.1 {
                    continue;
                }
                env.add_stats(block.rows() as u64, block.rows() as u64 * width);
                if !run(block_batch(store, block, &all))? {
                    break;
                }
            }
        }
        Source::Table(t) => {
            let width: u64 = all
                .iter()
                .map(|i| t.types.get(*i).map_or(0, |ty| ty.width() as u64))
                .sum();
            let mut start = 0;
            while start < t.rows {
                let end = (start + BLOCK_ROWS).min(t.rows);
                let cols = t
                    .cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        if all.contains(&i) {
                            c.slice(start, end)
                        } else {
                            Col::Const(Value::Null)
                        }
                    })
                    .collect();
                env.add_stats((end - start) as u64, (end - start) as u64 * width);
                if !run(Batch {
                    n: end - start,
                    cols,
                })? {
                    break;
                }
                start = end;
            }
        }
    }
    Ok(())
}

/// Groups and aggregates: returns a batch of the key columns then the aggregate columns.
fn aggregate<'a>(
    env: &Env<'a>,
    source: &Source<'a>,
    filter: Option<&BExpr>,
    keys: &[BExpr],
    specs: Vec<AggSpec>,
) -> Result<Batch<'a>> {
    let mut needed = Vec::new();
    for k in keys {
        k.slots(&mut needed);
    }
    for s in &specs {
        for a in s.args.iter().chain(s.cond.iter()) {
            a.slots(&mut needed);
        }
    }
    // One key that is a string column of the store: its dictionary codes are the group ids,
    // so rows are grouped without any work per row. Groups without rows are dropped at the end.
    let code_key = match (keys, source) {
        ([k], Source::Store(store)) => match k.kind {
            BKind::Slot(slot) => store
                .dictionary(slot)
                .filter(|d| d.len() <= CODE_GROUPS_MAX),
            _ => None,
        },
        _ => None,
    };
    let mut seen = vec![false; code_key.map_or(0, |d| d.len())];
    let mut grouper = Grouper::new(keys.iter().map(|k| k.ty.clone()).collect());
    if let (Source::Store(store), None) = (source, code_key) {
        // String keys that are small store columns are read as their codes.
        for (i, k) in keys.iter().enumerate() {
            if let BKind::Slot(slot) = k.kind {
                if let Some(d) = store.dictionary(slot).filter(|d| d.len() <= CODE_KEYS_MAX) {
                    grouper = grouper.with_store_dict(i, d);
                }
            }
        }
    }
    let mut aggs: Vec<Agg> = specs.into_iter().map(Agg::new).collect();
    // Rows failing the filter can be masked out of the aggregates rather than copied out of
    // the batch; groups only dropped rows formed are removed at the end. Only where keys and
    // arguments cannot fail on a row the filter drops (`intDiv(a, x)` where the filter drops
    // the rows with `x = 0` must not raise).
    let masks = keys.iter().all(infallible)
        && aggs.iter().all(|a| {
            a.spec()
                .args
                .iter()
                .chain(a.spec().cond.iter())
                .all(infallible)
        });
    let mut alive: Vec<bool> = Vec::new();
    scan(env, source, filter, &needed, masks, |batch, row_mask| {
        let n = batch.n;
        let key_col;
        let assigned;
        let (ids, ngroups): (Option<&[u32]>, usize) = if let Some(dict) = code_key {
            key_col = eval(&keys[0], batch)?;
            let Col::S(s) = key_col.as_ref() else {
                return Err(Error::query("a string key read as another type"));
            };
            let mut mark = |c: u32| {
                if let Some(x) = seen.get_mut(c as usize) {
                    *x = true;
                }
            };
            match row_mask {
                None => s.codes.iter().for_each(|&c| mark(c)),
                Some(m) => s
                    .codes
                    .iter()
                    .zip(m)
                    .filter(|(_, k)| **k)
                    .for_each(|(&c, _)| mark(c)),
            }
            (Some(&s.codes), dict.len())
        } else if keys.is_empty() {
            (None, 1)
        } else {
            let key_cols = keys
                .iter()
                .map(|k| eval(k, batch))
                .collect::<Result<Vec<_>>>()?;
            assigned = grouper.assign(key_cols, n)?;
            let groups = grouper.groups();
            alive.resize(groups, false);
            match row_mask {
                None => assigned.iter().for_each(|&g| alive[g as usize] = true),
                Some(m) => assigned
                    .iter()
                    .zip(m)
                    .filter(|(_, k)| **k)
                    .for_each(|(&g, _)| alive[g as usize] = true),
            }
            (Some(&assigned), groups)
        };
        for agg in &mut aggs {
            let args = agg
                .spec()
                .args
                .iter()
                .map(|a| eval(a, batch))
                .collect::<Result<Vec<_>>>()?;
            let cond = match (&agg.spec().cond, row_mask) {
                (Some(c), None) => Some(Cow::Owned(eval_mask(c, batch)?)),
                (Some(c), Some(m)) => {
                    let mut c = eval_mask(c, batch)?;
                    c.iter_mut().zip(m).for_each(|(x, k)| *x &= *k);
                    Some(Cow::Owned(c))
                }
                (None, m) => m.map(Cow::Borrowed),
            };
            let groups = Groups {
                ids,
                mask: cond.as_deref(),
            };
            agg.update(&args, &groups, ngroups, n);
        }
        Ok(true)
    })?;
    if let Some(dict) = code_key {
        let sel: Vec<u32> = (0..seen.len() as u32)
            .filter(|&c| seen[c as usize])
            .collect();
        let mut cols = vec![Col::S(Strs {
            codes: Cow::Owned(sel.clone()),
            dict: Dict::Store(dict),
        })];
        for agg in aggs {
            cols.push(agg.finish(seen.len()).gather(&sel));
        }
        return Ok(Batch { n: sel.len(), cols });
    }
    let ngroups = if keys.is_empty() { 1 } else { grouper.groups() };
    let mut cols = grouper.key_columns();
    for agg in aggs {
        cols.push(agg.finish(ngroups));
    }
    if keys.is_empty() || alive.iter().all(|a| *a) {
        return Ok(Batch { n: ngroups, cols });
    }
    let sel: Vec<u32> = (0..ngroups as u32).filter(|&g| alive[g as usize]).collect();
    Ok(Batch {
        n: sel.len(),
        cols: cols.iter().map(|c| c.gather(&sel)).collect(),
    })
}

/// Whether evaluating `e` cannot fail on any row: columns, constants, time buckets and parts
/// of time columns, and comparisons and logic over them.
fn infallible(e: &BExpr) -> bool {
    match &e.kind {
        BKind::Slot(_) | BKind::Const(_) => true,
        BKind::Call(c) => {
            let time_of_time = matches!(c.f, F::Trunc(_) | F::Part(_))
                && c.args.first().is_some_and(|a| a.ty.is_time());
            (time_of_time || matches!(c.f, F::Cmp(_) | F::And | F::Or | F::Not | F::In(..)))
                && c.args.iter().all(infallible)
        }
    }
}

/// Evaluates `exprs` over the filtered rows into materialized columns.
fn project<'a>(
    env: &Env<'a>,
    source: &Source<'a>,
    filter: Option<&BExpr>,
    exprs: &[BExpr],
    stop_after: Option<u64>,
) -> Result<Batch<'a>> {
    let mut needed = Vec::new();
    for e in exprs {
        e.slots(&mut needed);
    }
    let mut out: Vec<Col<'a>> = exprs.iter().map(|e| empty_col(&e.ty)).collect();
    let mut rows = 0usize;
    if stop_after == Some(0) {
        return Ok(Batch { n: 0, cols: out });
    }
    scan(env, source, filter, &needed, false, |batch, _| {
        for (o, e) in out.iter_mut().zip(exprs) {
            let c = eval(e, batch)?;
            o.append(&c, &e.ty, batch.n);
        }
        rows += batch.n;
        Ok(stop_after.map_or(true, |s| (rows as u64) < s))
    })?;
    Ok(Batch { n: rows, cols: out })
}

/// Compares rows `a` and `b` of a sort key column.
fn cmp_rows(c: &Col<'_>, ty: &DataType, a: usize, b: usize) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match c {
        Col::Const(_) => Ordering::Equal,
        Col::S(s) => {
            let (x, y) = (s.codes[a], s.codes[b]);
            if x == y {
                Ordering::Equal
            } else {
                s.dict.str(x).cmp(s.dict.str(y))
            }
        }
        Col::U(v) => v[a].cmp(&v[b]),
        Col::I(v) => v[a].cmp(&v[b]),
        Col::F(v) => v[a].partial_cmp(&v[b]).unwrap_or_else(|| {
            // NaN sorts after every number.
            v[a].is_nan().cmp(&v[b].is_nan())
        }),
        _ => cmp_values(&c.value_at(a, ty), &c.value_at(b, ty)),
    }
}

fn cmp_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = cmp_values(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (x, y) => {
            let (x, y) = (super::column::value_f(x), super::column::value_f(y));
            // NaN sorts after every number: a total order, as sorting needs.
            x.partial_cmp(&y)
                .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
        }
    }
}

fn row_key(cols: &[(Col<'_>, DataType)], i: usize) -> String {
    let mut k = String::new();
    for (c, t) in cols {
        match c.value_at(i, t) {
            // JSON writes every non-finite float as null; these keys tell them apart.
            Value::Float32(x) => k.push_str(&super::endpoint::float_text(f64::from(x), Some(x))),
            Value::Float64(x) => k.push_str(&super::endpoint::float_text(x, None)),
            v => v.write_json(&mut k),
        }
        k.push('\u{1f}');
    }
    k
}

/// `HAVING`, the outputs, `ORDER BY`, `DISTINCT`, `LIMIT … BY` and `LIMIT` over a batch.
#[allow(clippy::too_many_arguments)]
fn finish<'a>(
    batch: Batch<'a>,
    outputs: Vec<(String, BExpr)>,
    having: Option<BExpr>,
    order: Vec<(BExpr, bool)>,
    distinct: bool,
    limit_by: Option<(u64, u64, Vec<BExpr>)>,
    limit: Option<u64>,
    offset: u64,
) -> Result<Table<'a>> {
    let batch = match &having {
        Some(h) => {
            let mask = eval_mask(h, &batch)?;
            let sel: Vec<u32> = mask
                .iter()
                .enumerate()
                .filter(|(_, m)| **m)
                .map(|(i, _)| i as u32)
                .collect();
            Batch {
                n: sel.len(),
                cols: batch.cols.iter().map(|c| c.gather(&sel)).collect(),
            }
        }
        None => batch,
    };
    let n = batch.n;
    let materialize = |e: &BExpr| -> Result<(Col<'a>, DataType)> {
        let c = eval(e, &batch)?.into_owned();
        Ok((c.materialize(&e.ty, n), e.ty.clone()))
    };
    let outs: Vec<(Col<'a>, DataType)> = outputs
        .iter()
        .map(|(_, e)| materialize(e))
        .collect::<Result<_>>()?;
    let keys: Vec<(Col<'a>, DataType, bool)> = order
        .iter()
        .map(|(e, d)| materialize(e).map(|(c, t)| (c, t, *d)))
        .collect::<Result<_>>()?;
    let mut perm: Vec<u32> = (0..n as u32).collect();
    if !keys.is_empty() {
        perm.sort_by(|a, b| {
            for (c, t, desc) in &keys {
                let (i, j) = (*a as usize, *b as usize);
                if let Col::F(v) = c {
                    // NaN comes last in either direction, as in ClickHouse.
                    let o = v[i].is_nan().cmp(&v[j].is_nan());
                    if o != std::cmp::Ordering::Equal {
                        return o;
                    }
                }
                let o = cmp_rows(c, t, i, j);
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if distinct {
        let mut seen = std::collections::HashSet::new();
        perm.retain(|i| seen.insert(row_key(&outs, *i as usize)));
    }
    if let Some((lim, off, by)) = &limit_by {
        let by_cols: Vec<(Col<'a>, DataType)> =
            by.iter().map(materialize).collect::<Result<_>>()?;
        let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        perm.retain(|i| {
            let c = counts.entry(row_key(&by_cols, *i as usize)).or_insert(0);
            *c += 1;
            *c > *off && *c <= off.saturating_add(*lim)
        });
    }
    let start = (offset as usize).min(perm.len());
    let end = match limit {
        Some(l) => start.saturating_add(l as usize).min(perm.len()),
        None => perm.len(),
    };
    let sel = &perm[start..end];
    let identity = sel.len() == n && sel.iter().enumerate().all(|(i, p)| i as u32 == *p);
    let mut cols = Vec::with_capacity(outs.len());
    let mut types = Vec::with_capacity(outs.len());
    for (c, t) in outs {
        cols.push(if identity { c } else { c.gather(sel) });
        types.push(t);
    }
    Ok(Table {
        names: outputs.into_iter().map(|(n, _)| n).collect(),
        types,
        cols,
        rows: sel.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_puts_nan_last() {
        let c = Col::F(Cow::Owned(vec![f64::NAN, 1.0]));
        assert_eq!(
            cmp_rows(&c, &DataType::Float64, 0, 1),
            std::cmp::Ordering::Greater
        );
        assert_eq!(
            cmp_values(
                &Value::Array(vec![Value::UInt(1)]),
                &Value::Array(vec![Value::UInt(1), Value::UInt(0)])
            ),
            std::cmp::Ordering::Less
        );
    }
}
