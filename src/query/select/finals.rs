//! `FROM t FINAL`: a datasource's rows as its engine's merges would leave them, computed at
//! query time (the store keeps rows as they arrive). Within each partition, the rows of one
//! sorting key become one row:
//!
//! - `ReplacingMergeTree`: the row with the highest version (`ENGINE_VER`), the last inserted
//!   among equals, or the last inserted without a version column;
//! - `SummingMergeTree`: numeric columns outside the sorting key summed (integers wrap to their
//!   width), the others from the first row; a row whose sums are all 0 is dropped;
//! - `AggregatingMergeTree`: `AggregateFunction` states merged, `SimpleAggregateFunction`
//!   values combined by their function, the other columns from the first row.
//!
//! Other engines refuse `FINAL`, as ClickHouse does.

use super::super::column::Table;
use super::super::types::DataType;
use super::super::Value;
use super::scan::block_batch;
use crate::error::{Error, Result};
use crate::schema::TypeDesc;
use crate::store::{value_heap_bytes, FxHashMap, Store};

/// The merged rows of `store`'s datasource.
pub(super) fn final_table(store: &Store) -> Result<Table<'static>> {
    let ds = store.datasource();
    let engine = ds.engine.as_str();
    if !matches!(
        engine,
        "ReplacingMergeTree" | "SummingMergeTree" | "AggregatingMergeTree"
    ) {
        return Err(Error::query(format!(
            "Storage {engine} doesn't support FINAL (datasource '{}')",
            ds.name
        )));
    }
    let types: Vec<DataType> = ds.columns.iter().map(DataType::of_def).collect();
    let all: Vec<usize> = (0..ds.columns.len()).collect();
    let mut out: Vec<Vec<Value>> = Vec::new();
    // The merged rows are held whole: charged against what the store's maxBytes leaves.
    let budget = store.max_bytes().saturating_sub(store.bytes());
    let mut held = 0u64;
    for p in store.partitions() {
        // Per sorting key of this partition: the index of its row in `out`.
        let mut groups: FxHashMap<String, usize> = FxHashMap::default();
        for block in p.blocks() {
            let batch = block_batch(store, block, &all);
            for r in 0..batch.n {
                let row: Vec<Value> = batch
                    .cols
                    .iter()
                    .zip(&types)
                    .map(|(c, ty)| c.value_at(r, ty))
                    .collect();
                let mut key = String::new();
                for &k in &ds.sorting_key {
                    row[k].write_json_as(&mut key, true);
                    key.push('\u{1}');
                }
                match groups.get(&key) {
                    None => {
                        held = held.saturating_add(
                            (key.len()
                                + row
                                    .iter()
                                    .map(|v| std::mem::size_of::<Value>() + value_heap_bytes(v))
                                    .sum::<usize>()) as u64,
                        );
                        if held > budget {
                            return Err(Error::query(format!(
                                "FINAL on '{}' needs more than the {budget} bytes the store's maxBytes leaves",
                                ds.name
                            )));
                        }
                        groups.insert(key, out.len());
                        out.push(row);
                    }
                    Some(&g) => merge_row(engine, store, &types, &mut out[g], row),
                }
            }
        }
    }
    if engine == "SummingMergeTree" {
        let summed: Vec<usize> = summed_columns(store, &types);
        if !summed.is_empty() {
            out.retain(|row| summed.iter().any(|&c| !is_zero(&row[c])));
        }
    }
    let columns: Vec<(&str, DataType)> = ds
        .columns
        .iter()
        .zip(&types)
        .map(|(c, t)| (c.name.as_str(), t.clone()))
        .collect();
    Ok(Table::from_rows(&columns, &out))
}

/// The columns a `SummingMergeTree` sums: numeric, outside the sorting key.
fn summed_columns(store: &Store, types: &[DataType]) -> Vec<usize> {
    let ds = store.datasource();
    (0..types.len())
        .filter(|c| !ds.sorting_key.contains(c))
        .filter(|&c| ds.columns[c].declared.is_none())
        .filter(|&c| {
            let t = types[c].base();
            t.is_number() && *t != DataType::Bool
        })
        .collect()
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::UInt(x) => *x == 0,
        Value::Int(x) => *x == 0,
        Value::Float32(x) => *x == 0.0,
        Value::Float64(x) => *x == 0.0,
        Value::Null => true,
        _ => false,
    }
}

/// Merges `row` (inserted later) into `into`, the row kept for its key.
fn merge_row(engine: &str, store: &Store, types: &[DataType], into: &mut [Value], row: Vec<Value>) {
    let ds = store.datasource();
    match engine {
        "ReplacingMergeTree" => {
            let newer = match ds.version_column {
                Some(v) => !version_less(&row[v], &into[v]),
                None => true,
            };
            if newer {
                into.clone_from_slice(&row);
            }
        }
        "SummingMergeTree" => {
            for c in summed_columns(store, types) {
                into[c] = add(&into[c], &row[c], types[c].base());
            }
        }
        _ => {
            for (c, v) in row.into_iter().enumerate() {
                match &ds.columns[c].declared {
                    Some(TypeDesc::AggregateFunction { .. }) => match (&mut into[c], v) {
                        (Value::State(a), Value::State(b)) => {
                            std::sync::Arc::make_mut(a).merge(&b);
                        }
                        (slot @ Value::Null, v) => *slot = v,
                        _ => {}
                    },
                    Some(TypeDesc::SimpleAggregateFunction { function, .. }) => {
                        into[c] = simple(function, &into[c], v, types[c].base());
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Whether version `a` is lower than `b`.
fn version_less(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::UInt(x), Value::UInt(y)) => x < y,
        (Value::Int(x), Value::Int(y))
        | (Value::Date(x), Value::Date(y))
        | (Value::DateTime(x), Value::DateTime(y))
        | (Value::DateTime64(x), Value::DateTime64(y)) => x < y,
        (Value::Float32(x), Value::Float32(y)) => x < y,
        (Value::Float64(x), Value::Float64(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        (Value::Bool(x), Value::Bool(y)) => x < y,
        _ => false,
    }
}

/// `a + b` in type `ty`: integers wrap to the type's width.
fn add(a: &Value, b: &Value, ty: &DataType) -> Value {
    match (a, b) {
        (Value::UInt(x), Value::UInt(y)) => {
            let s = x.wrapping_add(*y);
            Value::UInt(match ty {
                DataType::UInt8 => s & 0xff,
                DataType::UInt16 => s & 0xffff,
                DataType::UInt32 => s & 0xffff_ffff,
                _ => s,
            })
        }
        (Value::Int(x), Value::Int(y)) => {
            let s = x.wrapping_add(*y);
            Value::Int(match ty {
                DataType::Int8 => i64::from(s as i8),
                DataType::Int16 => i64::from(s as i16),
                DataType::Int32 => i64::from(s as i32),
                _ => s,
            })
        }
        (Value::Float32(x), Value::Float32(y)) => Value::Float32(x + y),
        (Value::Float64(x), Value::Float64(y)) => Value::Float64(x + y),
        (Value::Null, v) => v.clone(),
        (v, _) => v.clone(),
    }
}

/// A `SimpleAggregateFunction(function, T)` value combined with a later one.
fn simple(function: &str, a: &Value, b: Value, ty: &DataType) -> Value {
    match function {
        "sum" | "sumWithOverflow" => add(a, &b, ty),
        "max" if matches!(a, Value::Null) || version_less(a, &b) => b,
        "min" if matches!(a, Value::Null) || version_less(&b, a) => b,
        "anyLast" if !matches!(b, Value::Null) => b,
        "any" if matches!(a, Value::Null) => b,
        _ => a.clone(),
    }
}
