//! Scanning a source: store blocks (skipping those outside the `WHERE` time range) or a table
//! in slices, filtered, batch by batch.

use super::super::column::{default_value, from_values, Col, Dict, Strs};
use super::super::eval::{eval, eval_mask, BExpr, BKind, Batch, Cmp, InSet, F, MAX_ARRAY_ELEMENTS};
use super::super::types::DataType;
use super::super::Value;
use super::bind::ArrayJoin;
use super::execute::Read;
use super::scope::{Env, Source};
use crate::error::{Error, Result};
use crate::store::{Block, Store, BLOCK_ROWS};
use std::borrow::Cow;

/// The columns of a store block as batch columns (`needed` loaded, the rest placeholders).
pub(super) fn block_batch<'a>(store: &'a Store, block: &'a Block, needed: &[usize]) -> Batch<'a> {
    let cols = (0..block.columns().len())
        .map(|i| {
            if !needed.contains(&i) {
                return Col::Const(Value::Null);
            }
            if let Some(v) = block.values(i) {
                return Col::V(Cow::Borrowed(v));
            }
            let values = match (block.column(i).codes(), store.dictionary(i)) {
                (Some(codes), Some(d)) => Col::S(Strs {
                    codes,
                    dict: Dict::Store(d),
                }),
                _ => Col::Native(Cow::Borrowed(block.column(i))),
            };
            match block.nulls(i) {
                Some(m) => Col::N(Box::new(values), Cow::Borrowed(m)),
                None => values,
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
                let mut x = super::super::eval::const_i(v);
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

/// `batch` with each row repeated once per element of each of `joins` in turn (a row whose
/// arrays are empty is dropped, or kept once with the elements' defaults by `LEFT ARRAY
/// JOIN`), each join's elements appended as columns: the slots after the source's. The arrays
/// of one `ARRAY JOIN` are zipped and must be of one length per row. At most
/// [`MAX_ARRAY_ELEMENTS`] rows, times the arrays zipped, come of one batch.
fn array_join<'b>(mut batch: Batch<'b>, joins: &[ArrayJoin]) -> Result<Batch<'b>> {
    let too_many = || {
        Error::query(format!(
            "arrayJoin or ARRAY JOIN would make more than {MAX_ARRAY_ELEMENTS} rows (times \
             the arrays an ARRAY JOIN zips) of one block of rows"
        ))
    };
    for j in joins {
        let mut elem_types = Vec::with_capacity(j.arrays.len());
        for a in &j.arrays {
            match a.ty.base() {
                DataType::Array(e) => elem_types.push((**e).clone()),
                _ => return Err(Error::query("internal: arrayJoin of a non-array")),
            }
        }
        let cols = j
            .arrays
            .iter()
            .map(|a| eval(a, &batch))
            .collect::<Result<Vec<_>>>()?;
        let mut sel: Vec<u32> = Vec::new();
        let elems: Vec<Col<'b>> = match (cols.as_slice(), j.left) {
            ([c], false) if matches!(c.as_ref(), Col::Const(_)) => {
                // One array for every row: its elements made a column once, then gathered.
                let items = match c.as_ref() {
                    Col::Const(Value::Array(items)) => items.as_slice(),
                    _ => &[],
                };
                if batch.n.saturating_mul(items.len()) > MAX_ARRAY_ELEMENTS {
                    return Err(too_many());
                }
                let mut at: Vec<u32> = Vec::with_capacity(batch.n * items.len());
                for i in 0..batch.n {
                    sel.extend(std::iter::repeat(i as u32).take(items.len()));
                    at.extend(0..items.len() as u32);
                }
                vec![from_values(items.to_vec(), &elem_types[0]).gather(&at)]
            }
            _ => {
                let mut values: Vec<Vec<Value>> = vec![Vec::new(); cols.len()];
                for i in 0..batch.n {
                    let rows: Vec<Vec<Value>> = cols
                        .iter()
                        .zip(&j.arrays)
                        .map(|(c, a)| match c.value_at(i, &a.ty) {
                            Value::Array(items) => items,
                            _ => Vec::new(),
                        })
                        .collect();
                    let len = rows.first().map_or(0, Vec::len);
                    if rows.iter().any(|r| r.len() != len) {
                        return Err(Error::query(
                            "SIZES_OF_ARRAYS_DONT_MATCH: Sizes of ARRAY-JOIN-ed arrays do not \
                             match",
                        ));
                    }
                    let repeat = if len == 0 && j.left { 1 } else { len };
                    // Every zipped array adds a column of that many elements.
                    if (sel.len() + repeat).saturating_mul(cols.len()) > MAX_ARRAY_ELEMENTS {
                        return Err(too_many());
                    }
                    sel.extend(std::iter::repeat(i as u32).take(repeat));
                    for ((out, items), ty) in values.iter_mut().zip(rows).zip(&elem_types) {
                        if len == 0 && j.left {
                            out.push(if ty.is_nullable() {
                                Value::Null
                            } else {
                                default_value(ty)
                            });
                        } else {
                            out.extend(items);
                        }
                    }
                }
                values
                    .into_iter()
                    .zip(&elem_types)
                    .map(|(v, ty)| from_values(v, ty))
                    .collect()
            }
        };
        // Columns not loaded are constant placeholders, which gather as themselves.
        let mut out: Vec<Col<'b>> = batch.cols.iter().map(|c| c.gather(&sel)).collect();
        drop(cols);
        out.extend(elems);
        batch = Batch {
            n: sel.len(),
            cols: out,
        };
    }
    Ok(batch)
}

/// Scans the source: per batch of rows passing the filter, with the `needed` slots loaded.
///
/// With `masks`, a batch most of whose rows pass comes whole, with the filter's mask beside
/// it, instead of as a copy of the passing rows; otherwise the mask is always `None`.
pub(super) fn scan<'a: 'b, 'b>(
    env: &Env<'a>,
    read: &Read<'b, 'a>,
    needed: &[usize],
    masks: bool,
    mut f: impl FnMut(&Batch<'b>, Option<&[bool]>) -> Result<bool>,
) -> Result<()> {
    let (source, filter, joins) = (read.source, read.filter, read.array_joins);
    let mut filter_slots = Vec::new();
    if let Some(flt) = filter {
        flt.slots(&mut filter_slots);
    }
    for a in joins.iter().flat_map(|j| j.arrays.iter()) {
        a.slots(&mut filter_slots);
    }
    let mut all = needed.to_vec();
    for s in &filter_slots {
        if !all.contains(s) {
            all.push(*s);
        }
    }
    // Repeat rows per `arrayJoin` element, apply the filter to a batch, then hand on only the
    // rows that pass.
    let mut run = |batch: Batch<'b>| -> Result<bool> {
        // The arrays built for the last block are gone.
        super::super::budget::next_block();
        let batch = array_join(batch, joins)?;
        if batch.n == 0 {
            return Ok(true);
        }
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
