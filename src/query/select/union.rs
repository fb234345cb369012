//! `UNION`: the parts' results put one after the other, each column converted to the least
//! supertype of the parts' types, as ClickHouse does; `UNION DISTINCT` drops repeated rows of
//! everything before it.

use super::super::ast::UnionMode;
use super::super::column::{empty_col, Col, Table};
use super::super::eval::{cast_branch, BExpr, BKind, Batch};
use super::super::types::{common_type, DataType};
use super::super::Value;
use super::finish::finish;
use super::plan::Shape;
use crate::error::{Error, Result};

/// Combines the parts' results, the first's names naming the columns; each mode says how the
/// part after it joins the rows before it.
pub(super) fn combine<'a>(parts: Vec<Table<'a>>, modes: &[UnionMode]) -> Result<Table<'a>> {
    let Some(first) = parts.first() else {
        return Err(Error::query("internal: a UNION without parts"));
    };
    let width = first.names.len();
    for p in &parts[1..] {
        if p.names.len() != width {
            return Err(Error::query(format!(
                "UNION_ALL_RESULT_STRUCTURES_MISMATCH: the parts of a UNION have different \
                 numbers of columns ({width} and {})",
                p.names.len()
            )));
        }
    }
    let mut types = Vec::with_capacity(width);
    for c in 0..width {
        let of: Vec<&DataType> = parts.iter().map(|p| &p.types[c]).collect();
        // Where ClickHouse finds no supertype it answers with a `Variant` type, which is
        // outside the subset.
        let ty = common_type(&of).ok_or_else(|| {
            let names: Vec<String> = of.iter().map(|t| t.to_string()).collect();
            Error::unsupported(format!(
                "UNION of columns without a common supertype ({}: ClickHouse makes a Variant)",
                names.join(", ")
            ))
        })?;
        types.push(ty);
    }
    let names = first.names.clone();
    let mut acc = Table {
        names: names.clone(),
        types: types.clone(),
        cols: types.iter().map(empty_col).collect(),
        rows: 0,
    };
    for (k, p) in parts.into_iter().enumerate() {
        for (c, out) in acc.cols.iter_mut().enumerate() {
            let col = if *p.types[c].base() == DataType::Nothing {
                // Only NULLs.
                Col::Const(Value::Null)
            } else {
                cast_branch(&p.cols[c], &p.types[c], &types[c], p.rows)?
            };
            out.append(&col, &types[c], p.rows);
        }
        acc.rows += p.rows;
        // The mode before part `k` applies once part `k` is in.
        if k > 0 && modes.get(k - 1) == Some(&UnionMode::Distinct) {
            acc = distinct(acc)?;
        }
    }
    Ok(acc)
}

/// The table's rows without repeats, in the order they first come.
fn distinct(t: Table<'_>) -> Result<Table<'_>> {
    let outputs = t
        .names
        .iter()
        .zip(&t.types)
        .enumerate()
        .map(|(i, (n, ty))| {
            (
                n.clone(),
                BExpr {
                    kind: BKind::Slot(i),
                    ty: ty.clone(),
                },
            )
        })
        .collect();
    let shape = Shape {
        having: None,
        outputs,
        order: Vec::new(),
        distinct: true,
        limit_by: None,
        limit: None,
        offset: 0,
        windows: Vec::new(),
    };
    finish(
        Batch {
            n: t.rows,
            cols: t.cols,
        },
        shape,
    )
}
