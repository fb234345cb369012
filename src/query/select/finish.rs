//! Shaping a batch into the result: `HAVING`, the outputs, `ORDER BY` (NULL and NaN placed as
//! ClickHouse places them), `DISTINCT`, `LIMIT … BY`, `OFFSET` and `LIMIT`.

use super::super::column::{Col, Table};
use super::super::eval::{eval, eval_mask, BExpr, Batch};
use super::super::types::DataType;
use super::super::Value;
use super::plan::{LimitBy, OrderKey, Shape};
use crate::error::Result;

/// Compares rows `a` and `b` of a sort key column; NaN inside arrays sorts last in the
/// direction `desc` gives (first before the reversal of a descending sort).
fn cmp_rows(c: &Col<'_>, ty: &DataType, a: usize, b: usize, desc: bool) -> std::cmp::Ordering {
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
        _ => cmp_values(&c.value_at(a, ty), &c.value_at(b, ty), desc),
    }
}

fn cmp_values(a: &Value, b: &Value, nan_first: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = cmp_values(p, q, nan_first);
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
            let (x, y) = (
                super::super::column::value_f(x),
                super::super::column::value_f(y),
            );
            // NaN sorts after every number (before, for a descending sort): a total order,
            // as sorting needs.
            x.partial_cmp(&y).unwrap_or_else(|| {
                let o = x.is_nan().cmp(&y.is_nan());
                if nan_first {
                    o.reverse()
                } else {
                    o
                }
            })
        }
    }
}

/// The identity of row `i` for `DISTINCT` and `LIMIT BY`. A float column whose `by_value` flag
/// is set compares by value (`-0` is `0`, every NaN is one); the others by their bits, as
/// ClickHouse's hash tables do.
fn row_key(cols: &[(Col<'_>, DataType)], by_value: &[bool], i: usize) -> String {
    use std::fmt::Write;
    let mut k = String::new();
    for (j, (c, t)) in cols.iter().enumerate() {
        let by_value = by_value.get(j).copied().unwrap_or(false);
        match c.value_at(i, t) {
            Value::Float32(x) if by_value => {
                let x = x + 0.0;
                k.push_str(&super::super::endpoint::float_text(f64::from(x), Some(x)))
            }
            Value::Float64(x) if by_value => {
                k.push_str(&super::super::endpoint::float_text(x + 0.0, None))
            }
            Value::Float32(x) => {
                let _ = write!(k, "f{:x}", x.to_bits());
            }
            Value::Float64(x) => {
                let _ = write!(k, "d{:x}", x.to_bits());
            }
            v => v.write_json(&mut k),
        }
        k.push('\u{1f}');
    }
    k
}

/// Whether two bound expressions are the same computation.
fn same_expr(a: &BExpr, b: &BExpr) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

/// Which of `cols` `DISTINCT` compares by value: those the leading `ORDER BY` keys sort on, up
/// to the first key that is not one of them (ClickHouse then takes rows in sorted runs).
fn distinct_by_value(order: &[OrderKey], cols: &[BExpr]) -> Vec<bool> {
    let mut by_value = vec![false; cols.len()];
    for key in order {
        let hits: Vec<usize> = (0..cols.len())
            .filter(|j| same_expr(&key.expr, &cols[*j]))
            .collect();
        if hits.is_empty() {
            break;
        }
        for j in hits {
            by_value[j] = true;
        }
    }
    by_value
}

/// Which `LIMIT BY` keys compare by value: all of them when the leading `ORDER BY` keys sort on
/// every one of them, else none.
fn limit_by_value(order: &[OrderKey], by: &[BExpr]) -> Vec<bool> {
    let covered = distinct_by_value(order, by);
    let all = covered.iter().all(|c| *c);
    vec![all; by.len()]
}

/// A sort key: the column, its type, DESC, NULLS FIRST, and each row's rank among NULL (2),
/// NaN (1) and the other values (0).
pub(super) type SortKey<'k> = (Col<'k>, DataType, bool, bool, Option<Vec<u8>>);

/// The sort key of the `n` rows of a materialized column `c` of type `t`.
pub(super) fn sort_key(
    c: Col<'_>,
    t: DataType,
    desc: bool,
    nulls_first: bool,
    n: usize,
) -> SortKey<'_> {
    let nulls = c.nulls(n);
    let values = c.values();
    let nan: Option<&[f64]> = match values {
        Col::F(v) => Some(v),
        _ => None,
    };
    let rank = (nulls.is_some() || nan.is_some()).then(|| {
        (0..n)
            .map(|i| {
                if nulls.as_ref().is_some_and(|m| m[i]) {
                    2
                } else {
                    u8::from(nan.is_some_and(|v| v[i].is_nan()))
                }
            })
            .collect()
    });
    let values = values.clone();
    (values, t, desc, nulls_first, rank)
}

/// Compares rows `i` and `j` on `keys`, in order.
pub(super) fn compare_keys(keys: &[SortKey<'_>], i: usize, j: usize) -> std::cmp::Ordering {
    for (c, t, desc, nulls_first, rank) in keys {
        if let Some(r) = rank {
            // NULL, then NaN, come last in either direction (first with NULLS FIRST), as in
            // ClickHouse.
            let o = r[i].cmp(&r[j]);
            if o != std::cmp::Ordering::Equal {
                return if *nulls_first { o.reverse() } else { o };
            }
            if r[i] != 0 {
                continue;
            }
        }
        let o = cmp_rows(c, t.base(), i, j, *desc);
        let o = if *desc { o.reverse() } else { o };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

/// `HAVING`, the outputs, window functions, `ORDER BY`, `DISTINCT`, `LIMIT … BY` and `LIMIT`
/// over a batch.
pub(super) fn finish<'a>(batch: Batch<'a>, shape: Shape) -> Result<Table<'a>> {
    let Shape {
        having,
        outputs,
        order,
        distinct,
        limit_by,
        limit,
        offset,
        windows,
    } = shape;
    let mut batch = match &having {
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
    // Window functions see the rows `HAVING` keeps, and come before `ORDER BY` and `LIMIT`.
    super::window::compute(&mut batch, &windows)?;
    let n = batch.n;
    let materialize = |e: &BExpr| -> Result<(Col<'a>, DataType)> {
        let c = eval(e, &batch)?.into_owned();
        Ok((c.materialize(&e.ty, n), e.ty.clone()))
    };
    let outs: Vec<(Col<'a>, DataType)> = outputs
        .iter()
        .map(|(_, e)| materialize(e))
        .collect::<Result<_>>()?;
    let keys: Vec<SortKey<'a>> = order
        .iter()
        .map(|k| materialize(&k.expr).map(|(c, t)| sort_key(c, t, k.desc, k.nulls_first, n)))
        .collect::<Result<_>>()?;
    let mut perm: Vec<u32> = (0..n as u32).collect();
    if !keys.is_empty() {
        perm.sort_by(|a, b| compare_keys(&keys, *a as usize, *b as usize));
    }
    if distinct {
        let exprs: Vec<BExpr> = outputs.iter().map(|(_, e)| e.clone()).collect();
        let by_value = distinct_by_value(&order, &exprs);
        let mut seen = std::collections::HashSet::new();
        perm.retain(|i| seen.insert(row_key(&outs, &by_value, *i as usize)));
    }
    if let Some(LimitBy {
        limit: lim,
        offset: off,
        by,
    }) = &limit_by
    {
        let by_cols: Vec<(Col<'a>, DataType)> =
            by.iter().map(materialize).collect::<Result<_>>()?;
        let by_value = limit_by_value(&order, by);
        let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        perm.retain(|i| {
            let c = counts
                .entry(row_key(&by_cols, &by_value, *i as usize))
                .or_insert(0);
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
    use std::borrow::Cow;

    #[test]
    fn sorting_puts_nan_last() {
        let c = Col::F(Cow::Owned(vec![f64::NAN, 1.0]));
        assert_eq!(
            cmp_rows(&c, &DataType::Float64, 0, 1, false),
            std::cmp::Ordering::Greater
        );
        assert_eq!(
            cmp_values(
                &Value::Array(vec![Value::UInt(1)]),
                &Value::Array(vec![Value::UInt(1), Value::UInt(0)]),
                false
            ),
            std::cmp::Ordering::Less
        );
    }
}
