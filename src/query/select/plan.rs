//! Planning a `SELECT`: the binder turns the query's clauses into a [`Plan`], a value that says
//! what to read (a source and a filter), how rows become the batch the result is built from
//! (grouped and aggregated, or evaluated row by row) and how that batch is shaped into the
//! result (`HAVING`, the outputs, `ORDER BY`, `DISTINCT`, `LIMIT … BY`, `LIMIT`). The executor
//! runs it.

use super::super::agg::AggSpec;
use super::super::ast::{Expr, Query, With};
use super::super::eval::{BExpr, BKind};
use super::super::types::DataType;
use super::bind::{
    add_alias, contains_aggregate, limit_value, positional, without_true, Binder, Mode,
};
use super::scope::{Env, Scope, Source};
use crate::error::{Error, Result};

/// A query bound and ready to run.
pub(super) struct Plan<'a> {
    /// Where rows come from.
    pub source: Source<'a>,
    /// The `WHERE` condition, without its constant-true conjuncts.
    pub filter: Option<BExpr>,
    /// How the rows that pass the filter become the batch the result is built from.
    pub rows: Rows,
    /// How that batch is shaped into the result.
    pub shape: Shape,
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
}

/// One `ORDER BY` key.
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
) -> Result<Plan<'a>> {
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
        scope,
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
            if !super::super::funcs::is_condition(&bound.ty) {
                return Err(Error::query(format!(
                    "WHERE must be a condition, not {}",
                    bound.ty
                )));
            }
            without_true(bound)
        }
        None => None,
    };

    let order_exprs: Vec<(Expr, bool, bool)> = q
        .order_by
        .iter()
        .map(|o| Ok((b.full(positional(&o.expr, &items)?)?, o.desc, o.nulls_first)))
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
        || order_exprs.iter().any(|(e, _, _)| contains_aggregate(e));

    let (rows, outputs, having_b, order_b, by_b) = if aggregated {
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
        let order_b: Vec<(BExpr, bool, bool)> = order_exprs
            .iter()
            .map(|(e, d, f)| Ok((b.bind(e, Mode::Post)?, *d, *f)))
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
        let rows = Rows::Aggregate { keys, aggs: specs };
        (rows, outputs, having_b, order_b, by_b)
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
        for (e, d, f) in &order_exprs {
            let be = b.bind(e, Mode::Row)?;
            order_b.push((slot(be, &mut row_exprs), *d, *f));
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
        let rows = Rows::Project {
            exprs: row_exprs,
            stop_after,
        };
        (rows, outputs, None, order_b, by_b)
    };
    Ok(Plan {
        source,
        filter,
        rows,
        shape: Shape {
            having: having_b,
            outputs,
            order: order_b
                .into_iter()
                .map(|(expr, desc, nulls_first)| OrderKey {
                    expr,
                    desc,
                    nulls_first,
                })
                .collect(),
            distinct: q.distinct,
            limit_by: by_b.map(|(limit, offset, by)| LimitBy { limit, offset, by }),
            limit,
            offset,
        },
    })
}
