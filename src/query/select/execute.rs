//! Running a plan: the scan, then grouping and aggregation or the row-by-row evaluation, then
//! the result's shape.

use super::super::agg::{Agg, AggSpec, Groups};
use super::super::budget;
use super::super::column::{empty_col, Col, Dict, Strs, Table};
use super::super::eval::{eval, eval_mask, BExpr, BKind, Batch, F};
use super::super::fused::Fused;
use super::super::group::Grouper;
use super::super::types::{DataType, Repr};
use super::bind::ArrayJoin;
use super::finish::finish;
use super::plan::{Plan, Rows};
use super::scan::scan;
use super::scope::{Env, Source};
use crate::error::{Error, Result};
use std::borrow::Cow;

/// The largest dictionary whose codes serve directly as group ids.
const CODE_GROUPS_MAX: usize = 1 << 16;

/// The largest dictionary whose codes serve directly as one of several keys: the grouping keeps
/// a table indexed by code for every combination of the other keys.
const CODE_KEYS_MAX: usize = 256;

/// Runs `plan`: its rows into a batch, then the batch into the result.
pub(super) fn execute<'a>(env: &Env<'a>, plan: Plan<'a>) -> Result<Table<'a>> {
    let read = Read {
        source: &plan.source,
        array_joins: &plan.array_joins,
        filter: plan.filter.as_ref(),
    };
    let batch = match plan.rows {
        Rows::Aggregate { keys, aggs } => aggregate(env, &read, &keys, aggs)?,
        Rows::Project { exprs, stop_after } => project(env, &read, &exprs, stop_after)?,
    };
    finish(batch, plan.shape)
}

/// What a plan reads: its source, its rows repeated per `arrayJoin` element, filtered.
pub(super) struct Read<'p, 'a> {
    /// Where rows come from.
    pub source: &'p Source<'a>,
    /// The repetitions of rows (see [`super::plan::Plan::array_joins`]).
    pub array_joins: &'p [ArrayJoin],
    /// The `WHERE` condition.
    pub filter: Option<&'p BExpr>,
}

/// Groups and aggregates: returns a batch of the key columns then the aggregate columns.
fn aggregate<'a>(
    env: &Env<'a>,
    read: &Read<'_, 'a>,
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
    let code_key = match (keys, read.source) {
        ([k], Source::Store(store)) if !k.ty.is_nullable() => match k.kind {
            BKind::Slot(slot) => store
                .dictionary(slot)
                .filter(|d| d.len() <= CODE_GROUPS_MAX),
            _ => None,
        },
        _ => None,
    };
    let mut seen = vec![false; code_key.map_or(0, |d| d.len())];
    let source = read.source;
    let mut grouper = Grouper::new(keys.iter().map(|k| k.ty.clone()).collect());
    if let (Source::Store(store), None) = (source, code_key) {
        // String keys that are small store columns are read as their codes.
        for (i, k) in keys.iter().enumerate() {
            if let (BKind::Slot(slot), false) = (&k.kind, k.ty.is_nullable()) {
                let slot = *slot;
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
    // Counts, sums and averages of narrow columns, in one pass over the rows (with keys: a
    // single group needs no lookup per row, and keeps ClickHouse's own summation).
    let mut fused = if keys.is_empty() {
        None
    } else {
        Fused::plan(&aggs)
    };
    let mut alive: Vec<bool> = Vec::new();
    scan(env, read, &needed, masks, |batch, row_mask| {
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
                // The fused pass counts each group's rows.
                _ if fused.is_some() => {}
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
                _ if fused.is_some() => {}
                None => assigned.iter().for_each(|&g| alive[g as usize] = true),
                Some(m) => assigned
                    .iter()
                    .zip(m)
                    .filter(|(_, k)| **k)
                    .for_each(|(&g, _)| alive[g as usize] = true),
            }
            (Some(&assigned), groups)
        };
        if let (Some(f), Some(ids)) = (fused.as_mut(), ids) {
            f.update(&batch.cols, ids, row_mask, ngroups, n);
        }
        for (i, agg) in aggs.iter_mut().enumerate() {
            if fused.as_ref().is_some_and(|f| f.covers(i)) {
                continue;
            }
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
            if let Some(e) = agg.error() {
                return Err(e);
            }
        }
        Ok(true)
    })?;
    let ngroups = match code_key {
        Some(dict) => dict.len(),
        None if keys.is_empty() => 1,
        None => grouper.groups(),
    };
    if let Some(f) = fused.as_mut() {
        f.finish(&mut aggs, ngroups);
        if code_key.is_some() {
            seen = f.seen(ngroups);
        } else {
            alive = f.seen(ngroups);
        }
    }
    if let Some(dict) = code_key {
        let sel: Vec<u32> = (0..seen.len() as u32)
            .filter(|&c| seen[c as usize])
            .collect();
        let mut cols = vec![Col::S(Strs {
            codes: Cow::Owned(sel.clone()),
            dict: Dict::Store(dict),
        })];
        for agg in aggs {
            cols.push(agg.finish(seen.len())?.gather(&sel));
        }
        charge_states(env, &cols)?;
        return Ok(Batch { n: sel.len(), cols });
    }
    let mut cols = grouper.key_columns();
    for agg in aggs {
        cols.push(agg.finish(ngroups)?);
    }
    charge_states(env, &cols)?;
    if keys.is_empty() || alive.iter().all(|a| *a) {
        return Ok(Batch { n: ngroups, cols });
    }
    let sel: Vec<u32> = (0..ngroups as u32).filter(|&g| alive[g as usize]).collect();
    Ok(Batch {
        n: sel.len(),
        cols: cols.iter().map(|c| c.gather(&sel)).collect(),
    })
}

/// Fails when the aggregate states of `cols` (what `-State` aggregates give) take more than
/// the store's `maxBytes` leaves free.
fn charge_states(env: &Env<'_>, cols: &[Col<'_>]) -> Result<()> {
    let mut bytes: u64 = 0;
    for c in cols {
        if let Col::V(values) = c {
            for v in values.iter() {
                if let super::super::Value::State(st) = v {
                    bytes = bytes.saturating_add(st.bytes() as u64);
                }
            }
        }
    }
    let budget = env.store.max_bytes().saturating_sub(env.store.bytes());
    if bytes > budget {
        return Err(Error::query(format!(
            "the aggregate states need about {bytes} bytes, more than the store's maxBytes \
             leaves ({budget} bytes)"
        )));
    }
    Ok(())
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

/// About how many bytes a value of `ty` takes in a materialized column: 8 for a number, 4
/// for a string's code, a `Value` with a small allocation for other types (arrays, maps), one
/// more for a `NULL` flag.
fn held_bytes(ty: &DataType) -> u64 {
    let value = match ty.repr() {
        Repr::V => 48,
        Repr::S => 4,
        _ => 8,
    };
    value + u64::from(ty.is_nullable())
}

/// Bytes the `n` values of `c`, of type `ty`, take (see [`budget::value_bytes`]).
fn col_bytes(c: &Col<'_>, ty: &DataType, n: usize) -> u64 {
    match c {
        Col::V(values) => values
            .iter()
            .map(budget::value_bytes)
            .fold(0, u64::saturating_add),
        Col::Const(v) => budget::value_bytes(v).saturating_mul(n as u64),
        c => (0..n)
            .map(|i| budget::value_bytes(&c.value_at(i, ty)))
            .fold(0, u64::saturating_add),
    }
}

/// Evaluates `exprs` over the filtered rows into materialized columns.
pub(super) fn project<'a>(
    env: &Env<'a>,
    read: &Read<'_, 'a>,
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
    // Rows `arrayJoin` repeats are new data, held until the result is shaped: what they take
    // is charged to what the store's maxBytes leaves, and to the result's byte bound.
    let row_bytes: u64 = exprs.iter().map(|e| held_bytes(&e.ty)).sum();
    let left = env.store.max_bytes().saturating_sub(env.store.bytes());
    let budget = left.min(env.store.result_limits().max_bytes);
    scan(env, read, &needed, false, |batch, _| {
        let held = ((rows + batch.n) as u64).saturating_mul(row_bytes);
        if !read.array_joins.is_empty() && held > budget {
            return Err(Error::query(format!(
                "arrayJoin makes more rows than fit: about {held} bytes for {} rows, more than \
                 {budget} bytes (what the store's maxBytes leaves, at most maxResultBytes)",
                rows + batch.n
            )));
        }
        for (o, e) in out.iter_mut().zip(exprs) {
            let c = eval(e, batch)?;
            // Arrays (and maps) of the rows returned last until the query ends.
            if matches!(e.ty.base(), DataType::Array(_) | DataType::Map(..)) {
                budget::keep(col_bytes(&c, &e.ty, batch.n))?;
            }
            o.append(&c, &e.ty, batch.n);
        }
        rows += batch.n;
        Ok(stop_after.map_or(true, |s| (rows as u64) < s))
    })?;
    Ok(Batch { n: rows, cols: out })
}
