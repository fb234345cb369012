//! Planning a `SELECT`: the binder turns the query's clauses into a [`Plan`], a value that says
//! what to read (a source and a filter), how rows become the batch the result is built from
//! (grouped and aggregated, or evaluated row by row) and how that batch is shaped into the
//! result (`HAVING`, the outputs, `ORDER BY`, `DISTINCT`, `LIMIT … BY`, `LIMIT`). The executor
//! runs it.

use super::super::agg::AggSpec;
use super::super::ast::{Expr, Query, With};
use super::super::eval::{BExpr, BKind, F};
use super::super::types::DataType;
use super::bind::{
    add_alias, contains_aggregate, limit_value, positional, without_true, ArrayJoin, Binder, Mode,
};
use super::scope::{Env, Naming, Scope, Source};
use super::window::{has_window, place, split, WindowSpec};
use crate::error::{Error, Result};

/// A query bound and ready to run.
pub(super) struct Plan<'a> {
    /// Where rows come from.
    pub source: Source<'a>,
    /// The repetitions of rows (`ARRAY JOIN`, `arrayJoin`): the scan repeats each row once per
    /// element of each in order, the elements read from the slots after the source's.
    pub array_joins: Vec<ArrayJoin>,
    /// The `WHERE` condition, without its constant-true conjuncts.
    pub filter: Option<BExpr>,
    /// How the rows that pass the filter become the batch the result is built from.
    pub rows: Rows,
    /// How that batch is shaped into the result.
    pub shape: Shape,
}

impl Plan<'_> {
    /// Every expression the plan evaluates: filter, keys, aggregates' arguments and
    /// conditions, projections, `HAVING`, outputs, `ORDER BY` and `LIMIT BY` keys.
    fn exprs(&self) -> impl Iterator<Item = &BExpr> {
        let rows: Vec<&BExpr> = match &self.rows {
            Rows::Aggregate { keys, aggs } => keys
                .iter()
                .chain(aggs.iter().flat_map(|a| a.args.iter().chain(a.cond.iter())))
                .collect(),
            Rows::Project { exprs, .. } => exprs.iter().collect(),
        };
        let sh = &self.shape;
        self.array_joins
            .iter()
            .flat_map(|j| j.arrays.iter())
            .chain(self.filter.iter())
            .chain(rows)
            .chain(sh.having.iter())
            .chain(sh.outputs.iter().map(|(_, e)| e))
            .chain(sh.order.iter().map(|k| &k.expr))
            .chain(sh.limit_by.iter().flat_map(|l| l.by.iter()))
    }
}

impl Plan<'_> {
    /// Leaves out the result columns whose names are not in `wanted` (one column always stays;
    /// with `DISTINCT` all do) and stops computing what only they read: a row expression
    /// becomes a constant, an aggregate's arguments constants without a condition. As in
    /// ClickHouse, a column of a subquery that nothing reads neither costs nor raises; every
    /// column was bound, so a type error in it still raises.
    fn read_only(&mut self, wanted: &[String]) {
        let sh = &mut self.shape;
        if sh.distinct {
            return;
        }
        let mut keep: Vec<bool> = sh
            .outputs
            .iter()
            .map(|(n, _)| wanted.iter().any(|w| w == n))
            .collect();
        if !keep.contains(&false) {
            return;
        }
        if !keep.contains(&true) {
            keep[0] = true;
        }
        let mut k = keep.iter();
        sh.outputs.retain(|_| k.next().copied().unwrap_or(true));
        let mut read = Vec::new();
        for e in sh
            .having
            .iter()
            .chain(sh.outputs.iter().map(|(_, e)| e))
            .chain(sh.order.iter().map(|o| &o.expr))
            .chain(sh.limit_by.iter().flat_map(|l| l.by.iter()))
        {
            e.slots(&mut read);
        }
        for w in &mut sh.windows {
            for e in w.exprs_mut() {
                e.slots(&mut read);
            }
        }
        let constant =
            |e: &BExpr| BExpr::constant(super::super::column::default_value(&e.ty), e.ty.clone());
        match &mut self.rows {
            Rows::Project { exprs, .. } => {
                for (i, e) in exprs.iter_mut().enumerate() {
                    if !read.contains(&i) {
                        *e = constant(e);
                    }
                }
            }
            Rows::Aggregate { keys, aggs } => {
                for (j, a) in aggs.iter_mut().enumerate() {
                    let stateful = matches!(
                        a.kind,
                        super::super::agg::AggKind::State(_) | super::super::agg::AggKind::Merge(_)
                    );
                    if !read.contains(&(keys.len() + j)) && !stateful {
                        a.args = a.args.iter().map(constant).collect();
                        a.cond = None;
                    }
                }
            }
        }
    }
}

/// Whether `e` holds an integer `intDiv` or `%` by a constant zero that ClickHouse checks
/// before reading a row ([`checks_divisor_first`]), so that it raises also when no row reaches
/// it. (Branches a constant condition rules out are gone by now, and ClickHouse does not
/// raise for those.)
fn divides_by_constant_zero(e: &BExpr) -> bool {
    use super::super::eval::{checks_divisor_first, Arith, F};
    use super::super::Value;
    let BKind::Call(fc) = &e.kind else {
        return false;
    };
    let by_zero = matches!(fc.f, F::Arith(Arith::IntDiv | Arith::Mod))
        && match (fc.args.first(), fc.args.get(1)) {
            (Some(a), Some(d)) => {
                checks_divisor_first(&a.ty, &d.ty)
                    && matches!(
                        d.as_const(),
                        Some(Value::UInt(0) | Value::Int(0) | Value::Bool(false))
                    )
            }
            _ => false,
        };
    by_zero || fc.args.iter().any(divides_by_constant_zero)
}

/// How filtered rows become a batch.
pub(super) enum Rows {
    /// Grouped by `keys`, with `aggs` per group: a batch of the key columns then the aggregate
    /// columns, one row per group.
    Aggregate {
        /// The `GROUP BY` keys, over source rows.
        keys: Vec<BExpr>,
        /// The aggregates, over source rows.
        aggs: Vec<AggSpec>,
    },
    /// `exprs` evaluated on every row: a batch with one column per expression.
    Project {
        /// The expressions, over source rows.
        exprs: Vec<BExpr>,
        /// Rows past which the scan may stop (a `LIMIT` with nothing to sort or deduplicate).
        stop_after: Option<u64>,
    },
}

/// The result built from a batch; every expression reads the batch's slots.
pub(super) struct Shape {
    /// `HAVING`.
    pub having: Option<BExpr>,
    /// The result's columns: name and expression.
    pub outputs: Vec<(String, BExpr)>,
    /// `ORDER BY` keys.
    pub order: Vec<OrderKey>,
    /// `DISTINCT`.
    pub distinct: bool,
    /// `LIMIT … BY`.
    pub limit_by: Option<LimitBy>,
    /// `LIMIT`.
    pub limit: Option<u64>,
    /// `OFFSET`.
    pub offset: u64,
    /// The window functions, each one more column of the batch after `HAVING`: the outputs,
    /// `ORDER BY` and `LIMIT BY` keys read them from the slots after the batch's own.
    pub windows: Vec<WindowSpec>,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone)]
pub(super) struct OrderKey {
    /// What is sorted on.
    pub expr: BExpr,
    /// `DESC`.
    pub desc: bool,
    /// `NULLS FIRST`.
    pub nulls_first: bool,
}

/// `LIMIT n OFFSET m BY …`.
pub(super) struct LimitBy {
    /// Rows kept per distinct `by` value.
    pub limit: u64,
    /// Rows skipped per distinct `by` value first.
    pub offset: u64,
    /// The `BY` expressions.
    pub by: Vec<BExpr>,
}

/// Binds `q` over `source`, whose `WITH` tables `scope` holds, into a plan. Subqueries the
/// query holds as values (scalars, `IN`) run while it is bound.
pub(super) fn plan<'s, 'a>(
    q: &Query,
    env: &Env<'a>,
    scope: &Scope<'s, 'a>,
    source: Source<'a>,
    naming: Naming,
    wanted: Option<&[String]>,
) -> Result<Plan<'a>> {
    let columns = source.columns();
    let origin = naming.origin.clone();
    let star: Vec<(String, DataType)> = match &naming.star {
        Some(slots) => slots
            .iter()
            .filter_map(|s| columns.get(*s).cloned())
            .collect(),
        None => columns.clone(),
    };
    let mut b = Binder {
        strip: naming.strip,
        keep: naming.keep,
        aliases: aliases(q)?,
        array_joins: Some(Vec::new()),
        named_windows: q.windows.clone(),
        ..Binder::over(env, scope, columns.clone(), naming.qualified, "WHERE")
    };
    if let Some(aj) = &q.array_join {
        b.bind_array_join_clause(aj)?;
    }
    let items = select_items(q, &b, &star, &origin)?;
    let filter = match &q.filter {
        Some(f) => bind_filter(&mut b, f)?,
        None => None,
    };
    let c = clauses(&mut b, q, items)?;
    let aggregated = !q.group_by.is_empty()
        || c.items.iter().any(|(_, e)| contains_aggregate(e))
        || c.having.as_ref().is_some_and(contains_aggregate)
        || c.order.iter().any(|(e, _, _)| contains_aggregate(e));
    let (rows, shape) = if aggregated {
        plan_groups(&mut b, q, c)?
    } else {
        plan_rows(&mut b, q, c)?
    };
    let array_joins = b.array_joins.take().unwrap_or_default();
    let mut plan = Plan {
        source,
        array_joins,
        filter,
        rows,
        shape,
    };
    if let Some(wanted) = wanted {
        plan.read_only(wanted);
    }
    if plan.exprs().any(divides_by_constant_zero) {
        return Err(Error::query("division by zero"));
    }
    Ok(plan)
}

/// The aliases `q` defines, in `WITH` and in the select list.
fn aliases(q: &Query) -> Result<Vec<(String, &Expr)>> {
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
    Ok(aliases)
}

/// The select list, `*` expanded: (name, expression with aliases expanded).
fn select_items(
    q: &Query,
    b: &Binder<'_, '_, '_, '_>,
    columns: &[(String, DataType)],
    origin: &[(Option<String>, String)],
) -> Result<Vec<(String, Expr)>> {
    let mut items: Vec<(String, Expr)> = Vec::new();
    for item in &q.select {
        let all = match &item.expr {
            Expr::Star => true,
            // One table: `t.*` is `*`.
            Expr::QualifiedStar(_) => origin.is_empty(),
            _ => false,
        };
        if all {
            for (c, _) in columns {
                items.push((c.clone(), Expr::Ident(c.clone())));
            }
            continue;
        }
        // `t.*` of a join: table `t`'s columns, each read as `t.column` reads it and named
        // as `*` names the column it reads.
        if let Expr::QualifiedStar(t) = &item.expr {
            let before = items.len();
            let mut seen: Vec<&str> = Vec::new();
            for (q, c) in origin {
                if q.as_deref() != Some(t.as_str()) || seen.contains(&c.as_str()) {
                    continue;
                }
                seen.push(c);
                let qualified = format!("{t}.{c}");
                let name = match b.column(&qualified) {
                    Some(i) => b.columns[i].0.clone(),
                    None => qualified.clone(),
                };
                let e = Expr::Ident(qualified);
                items.push((name, b.expand(&e, &mut Vec::new())?));
            }
            if items.len() == before {
                return Err(Error::query(format!(
                    "UNKNOWN_IDENTIFIER: no table '{t}' in the join for '{t}.*'"
                )));
            }
            continue;
        }
        let name = match &item.alias {
            Some(a) => a.clone(),
            None => b.column_names(&item.expr).to_string(),
        };
        // An alias is not expanded inside its own expression: in `sum(x) AS x` the inner `x` is
        // the column.
        let mut stack: Vec<String> = item.alias.iter().cloned().collect();
        items.push((name, b.expand(&item.expr, &mut stack)?));
    }
    Ok(items)
}

/// The `WHERE` condition bound over source rows, without its constant-true conjuncts.
fn bind_filter(b: &mut Binder<'_, '_, '_, '_>, f: &Expr) -> Result<Option<BExpr>> {
    b.clause = "WHERE";
    let e = b.full(f)?;
    let bound = b.bind(&e, Mode::Row)?;
    if !super::super::funcs::is_condition(&bound.ty) {
        return Err(Error::query(format!(
            "WHERE must be a condition, not {}",
            bound.ty
        )));
    }
    Ok(without_true(bound))
}

/// The clauses after `WHERE`, aliases substituted and positions resolved, not yet bound.
struct Clauses {
    /// The select list: name and expression.
    items: Vec<(String, Expr)>,
    /// `ORDER BY`: expression, `DESC`, `NULLS FIRST`.
    order: Vec<(Expr, bool, bool)>,
    /// `LIMIT n OFFSET m BY …`.
    limit_by: Option<(u64, u64, Vec<Expr>)>,
    /// `LIMIT`.
    limit: Option<u64>,
    /// `OFFSET`.
    offset: u64,
    /// `HAVING`.
    having: Option<Expr>,
}

/// Substitutes aliases and positions in `q`'s clauses after `WHERE`; limits are constants.
fn clauses(
    b: &mut Binder<'_, '_, '_, '_>,
    q: &Query,
    items: Vec<(String, Expr)>,
) -> Result<Clauses> {
    let order: Vec<(Expr, bool, bool)> = q
        .order_by
        .iter()
        .map(|o| Ok((b.full(positional(&o.expr, &items)?)?, o.desc, o.nulls_first)))
        .collect::<Result<_>>()?;
    let limit_by = match &q.limit_by {
        Some(lb) => {
            let n = limit_value(b, &lb.limit, "LIMIT BY")?;
            let off = match &lb.offset {
                Some(o) => limit_value(b, o, "LIMIT BY OFFSET")?,
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
        Some(l) => Some(limit_value(b, l, "LIMIT")?),
        None => None,
    };
    let offset = match &q.offset {
        Some(o) => limit_value(b, o, "OFFSET")?,
        None => 0,
    };
    let having = match &q.having {
        Some(h) => Some(b.full(h)?),
        None => None,
    };
    Ok(Clauses {
        items,
        order,
        limit_by,
        limit,
        offset,
        having,
    })
}

/// A grouped query: keys and aggregates over source rows, every later clause over the groups.
fn plan_groups(b: &mut Binder<'_, '_, '_, '_>, q: &Query, c: Clauses) -> Result<(Rows, Shape)> {
    b.clause = "GROUP BY";
    let mut key_exprs = Vec::new();
    for g in &q.group_by {
        let e = b.full(positional(g, &c.items)?)?;
        if !key_exprs.contains(&e) {
            key_exprs.push(e);
        }
    }
    let mut keys = Vec::new();
    for e in &key_exprs {
        let k = b.bind(e, Mode::Row)?;
        super::bind::refuse_state(&k, "a GROUP BY key", "")?;
        if matches!(k.ty.base(), DataType::Array(_) | DataType::Map(..)) {
            return Err(Error::unsupported("GROUP BY an array or a map"));
        }
        keys.push(k);
    }
    b.key_types = keys.iter().map(|k| k.ty.clone()).collect();
    b.keys = key_exprs;
    b.clause = "the select list";
    b.windows = Some(Vec::new());
    let mut outputs: Vec<(String, BExpr)> = c
        .items
        .iter()
        .map(|(n, e)| Ok((n.clone(), b.bind(e, Mode::Post)?)))
        .collect::<Result<_>>()?;
    b.clause = "HAVING";
    let windows = b.windows.take();
    let having = match &c.having {
        Some(h) => Some(b.bind(h, Mode::Post)?),
        None => None,
    };
    b.windows = windows;
    b.clause = "ORDER BY";
    let mut order: Vec<OrderKey> = c
        .order
        .iter()
        .map(|(e, d, f)| {
            let expr = b.bind(e, Mode::Post)?;
            super::bind::refuse_state(&expr, "an ORDER BY key", "")?;
            refuse_map_order(&expr)?;
            Ok(OrderKey {
                expr,
                desc: *d,
                nulls_first: *f,
            })
        })
        .collect::<Result<_>>()?;
    cut_after_all_keys(&mut order, &b.key_types);
    b.clause = "LIMIT BY";
    let mut limit_by = match &c.limit_by {
        Some((n, off, by)) => Some(LimitBy {
            limit: *n,
            offset: *off,
            by: by
                .iter()
                .map(|e| b.bind(e, Mode::Post))
                .collect::<Result<Vec<_>>>()?,
        }),
        None => None,
    };
    let aggs: Vec<AggSpec> = b.aggs.iter().map(|(_, s)| s.clone()).collect();
    // The window functions' columns come after the keys and the aggregates.
    let windows: Vec<WindowSpec> = b
        .windows
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    let base = keys.len() + aggs.len();
    outputs.iter_mut().for_each(|(_, e)| place(e, base));
    order.iter_mut().for_each(|k| place(&mut k.expr, base));
    if let Some(lb) = &mut limit_by {
        lb.by.iter_mut().for_each(|e| place(e, base));
    }
    // `DISTINCT` over every `GROUP BY` key is redundant (the groups are distinct already, by
    // their keys' bits) and ClickHouse drops it: `-0` and `0` groups both stay.
    let keys_all_output = !b.keys.is_empty()
        && (0..b.keys.len()).all(|k| {
            outputs
                .iter()
                .any(|(_, e)| matches!(e.kind, BKind::Slot(s) if s == k))
        });
    Ok((
        Rows::Aggregate { keys, aggs },
        Shape {
            having,
            outputs,
            order,
            distinct: q.distinct && !keys_all_output,
            limit_by,
            limit: c.limit,
            offset: c.offset,
            windows,
        },
    ))
}

/// Drops the `ORDER BY` keys after the first ones among which every `GROUP BY` key (of types
/// `key_types`) stands bare, as ClickHouse does: the groups are in order by then, unless float
/// keys tie (`0` and `-0`, NaNs of either sign). ClickHouse's hash table of one float key gives
/// `0` before `-0` (it keeps the key of zero bits apart, first), here by their text, from the
/// last; ties of several keys come in the order of the hash table there, of first rows here.
fn cut_after_all_keys(order: &mut Vec<OrderKey>, key_types: &[DataType]) {
    if key_types.is_empty() {
        return;
    }
    let mut seen = vec![false; key_types.len()];
    let cut = order.iter().position(|k| {
        if let BKind::Slot(s) = k.expr.kind {
            if let Some(x) = seen.get_mut(s) {
                *x = true;
            }
        }
        seen.iter().all(|x| *x)
    });
    let Some(cut) = cut else {
        return;
    };
    order.truncate(cut + 1);
    if let [ty] = key_types {
        if ty.is_float() {
            let key = BExpr {
                kind: BKind::Slot(0),
                ty: ty.clone(),
            };
            order.push(OrderKey {
                expr: BExpr::call(
                    F::ToString,
                    vec![key],
                    DataType::String.nullable_if(ty.is_nullable()),
                ),
                desc: true,
                nulls_first: false,
            });
        }
    }
}

/// A query without grouping: every expression over source rows, evaluated once per row into a
/// slot of the batch that the result's shape reads.
fn plan_rows(b: &mut Binder<'_, '_, '_, '_>, q: &Query, c: Clauses) -> Result<(Rows, Shape)> {
    if c.having.is_some() {
        return Err(Error::query("HAVING needs GROUP BY or aggregate functions"));
    }
    b.clause = "the select list";
    b.windows = Some(Vec::new());
    let mut row_exprs: Vec<BExpr> = Vec::new();
    // An expression already computed (an ORDER BY key that is an output) reuses its slot, so
    // that `DISTINCT` and `LIMIT BY` see which keys the rows are sorted on.
    let mut texts: Vec<String> = Vec::new();
    let mut slot = |e: BExpr, row_exprs: &mut Vec<BExpr>| -> BExpr {
        let ty = e.ty.clone();
        let text = format!("{e:?}");
        let k = match texts.iter().position(|t| *t == text) {
            Some(k) => k,
            None => {
                texts.push(text);
                row_exprs.push(e);
                row_exprs.len() - 1
            }
        };
        BExpr {
            kind: BKind::Slot(k),
            ty,
        }
    };
    // An expression that reads a window function is evaluated once the window functions'
    // columns are there: its other parts are evaluated per row.
    let mut put = |e: BExpr, row_exprs: &mut Vec<BExpr>| -> BExpr {
        if has_window(&e) {
            split(e, &mut |x| slot(x, row_exprs))
        } else {
            slot(e, row_exprs)
        }
    };
    let mut outputs = Vec::new();
    for (n, e) in &c.items {
        let be = b.bind(e, Mode::Row)?;
        outputs.push((n.clone(), put(be, &mut row_exprs)));
    }
    b.clause = "ORDER BY";
    let mut order = Vec::new();
    for (e, d, f) in &c.order {
        let be = b.bind(e, Mode::Row)?;
        super::bind::refuse_state(&be, "an ORDER BY key", "")?;
        refuse_map_order(&be)?;
        order.push(OrderKey {
            expr: put(be, &mut row_exprs),
            desc: *d,
            nulls_first: *f,
        });
    }
    b.clause = "LIMIT BY";
    let limit_by = match &c.limit_by {
        Some((n, off, by)) => {
            let mut v = Vec::new();
            for e in by {
                let be = b.bind(e, Mode::Row)?;
                v.push(put(be, &mut row_exprs));
            }
            Some(LimitBy {
                limit: *n,
                offset: *off,
                by: v,
            })
        }
        None => None,
    };
    // The window functions read the projected rows: their parts become slots too, and their
    // columns come after those.
    let mut windows: Vec<WindowSpec> = Vec::new();
    for (_, mut w) in b.windows.take().unwrap_or_default() {
        for e in w.exprs_mut() {
            let x = std::mem::replace(
                e,
                BExpr::constant(super::super::Value::Null, DataType::Nothing),
            );
            *e = put(x, &mut row_exprs);
        }
        windows.push(w);
    }
    let base = row_exprs.len();
    outputs
        .iter_mut()
        .for_each(|(_, e): &mut (String, BExpr)| place(e, base));
    order
        .iter_mut()
        .for_each(|k: &mut OrderKey| place(&mut k.expr, base));
    let mut limit_by = limit_by;
    if let Some(lb) = &mut limit_by {
        lb.by.iter_mut().for_each(|e| place(e, base));
    }
    let stop_after = if order.is_empty() && limit_by.is_none() && !q.distinct && windows.is_empty()
    {
        c.limit.map(|l| l.saturating_add(c.offset))
    } else {
        None
    };
    Ok((
        Rows::Project {
            exprs: row_exprs,
            stop_after,
        },
        Shape {
            having: None,
            outputs,
            order,
            distinct: q.distinct,
            limit_by,
            limit: c.limit,
            offset: c.offset,
            windows,
        },
    ))
}

/// Maps are not ordered here (ClickHouse orders them by their pairs).
fn refuse_map_order(e: &BExpr) -> Result<()> {
    if matches!(e.ty.base(), DataType::Map(..)) {
        return Err(Error::unsupported("ORDER BY a map"));
    }
    Ok(())
}
