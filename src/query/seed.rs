//! A small evaluator for `SELECT key, agg(col) AS alias, … FROM datasource GROUP BY key`.

use super::{Endpoint, Meta, Statistics, Value};
use crate::error::{Error, Result};
use crate::schema::ColumnType;
use crate::store::{ColumnData, Store};

enum Item {
    Key,
    Agg {
        func: Func,
        col: usize,
        alias: String,
    },
}

#[derive(Clone, Copy)]
enum Func {
    Sum,
    Avg,
    Count,
}

fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in sql.chars() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Evaluates a grouped aggregate query over one string key column.
pub fn run(store: &Store, sql: &str) -> Result<Endpoint> {
    let ds = store.datasource();
    let w = words(sql);
    let upper: Vec<String> = w.iter().map(|s| s.to_ascii_uppercase()).collect();
    let pos = |k: &str| upper.iter().position(|s| s == k);
    let (sel, from, group) = match (pos("SELECT"), pos("FROM"), pos("GROUP")) {
        (Some(s), Some(f), Some(g)) if s == 0 && s < f && f < g => (s, f, g),
        _ => {
            return Err(Error::unsupported(
                "this query (only SELECT key, aggregates FROM datasource GROUP BY key)",
            ))
        }
    };
    if w.get(from + 1).map(String::as_str) != Some(ds.name.as_str()) {
        return Err(Error::query(format!(
            "unknown table '{}'",
            w.get(from + 1).map_or("", |s| s)
        )));
    }
    if upper.get(group + 1).map(String::as_str) != Some("BY") || w.len() != group + 3 {
        return Err(Error::unsupported("GROUP BY must name one column"));
    }
    let key_name = &w[group + 2];
    let key = ds
        .column_index(key_name)
        .filter(|&k| ds.columns[k].ty.is_string())
        .ok_or_else(|| {
            Error::query(format!(
                "GROUP BY column '{key_name}' is not a string column"
            ))
        })?;
    let mut items = Vec::new();
    for part in w[sel + 1..from].split(|s| s == ",") {
        match part {
            [k] if k == key_name => items.push(Item::Key),
            [f, open, c, close, as_, alias]
                if open == "(" && close == ")" && as_.eq_ignore_ascii_case("AS") =>
            {
                let func = match f.to_ascii_lowercase().as_str() {
                    "sum" => Func::Sum,
                    "avg" => Func::Avg,
                    "count" => Func::Count,
                    other => return Err(Error::unsupported(format!("function {other}"))),
                };
                let col = ds
                    .column_index(c)
                    .ok_or_else(|| Error::query(format!("unknown column '{c}'")))?;
                if ds.columns[col].ty.is_string() || ds.columns[col].ty.is_time() {
                    return Err(Error::query(format!("cannot aggregate column '{c}'")));
                }
                items.push(Item::Agg {
                    func,
                    col,
                    alias: alias.clone(),
                });
            }
            other => {
                return Err(Error::unsupported(format!(
                    "select item '{}'",
                    other.join(" ")
                )))
            }
        }
    }
    let dict = store
        .dictionary(key)
        .ok_or_else(|| Error::query("key has no dictionary"))?;
    let groups = dict.len();
    let aggs: Vec<(usize, bool)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Agg { col, .. } => Some((*col, ds.columns[*col].ty.is_float_like())),
            Item::Key => None,
        })
        .collect();
    let mut counts = vec![0u64; groups];
    let mut int_sums = vec![vec![0u128; groups]; aggs.len()];
    let mut float_sums = vec![vec![0f64; groups]; aggs.len()];
    let mut stats = Statistics::default();
    for block in store.blocks() {
        let ColumnData::Str(codes) = block.column(key) else {
            continue;
        };
        stats.rows_read += block.rows() as u64;
        stats.bytes_read += (block.rows() * 4) as u64;
        for &c in codes {
            counts[c as usize] += 1;
        }
        for (a, &(col, is_float)) in aggs.iter().enumerate() {
            let data = block.column(col);
            stats.bytes_read += (block.rows() * data.width()) as u64;
            if is_float {
                let sums = &mut float_sums[a];
                for (i, &c) in codes.iter().enumerate() {
                    sums[c as usize] += data.get_f64(i);
                }
            } else {
                let sums = &mut int_sums[a];
                for (i, &c) in codes.iter().enumerate() {
                    match data.get_cell(i) {
                        crate::store::Cell::U(v) => sums[c as usize] += u128::from(v),
                        crate::store::Cell::I(v) => {
                            sums[c as usize] = sums[c as usize].wrapping_add(v as u128)
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let mut meta = Vec::new();
    for item in &items {
        meta.push(match item {
            Item::Key => Meta {
                name: key_name.clone(),
                ty: ds.columns[key].ty.name().to_string(),
            },
            Item::Agg { func, col, alias } => Meta {
                name: alias.clone(),
                ty: match func {
                    Func::Avg => "Float64".to_string(),
                    Func::Count => "UInt64".to_string(),
                    Func::Sum => sum_type(ds.columns[*col].ty).to_string(),
                },
            },
        });
    }
    let mut data = Vec::new();
    for g in 0..groups {
        if counts[g] == 0 {
            continue;
        }
        let mut row = Vec::new();
        let mut a = 0;
        for item in &items {
            row.push(match item {
                Item::Key => Value::Str(dict.get(g as u32).to_string()),
                Item::Agg { func, col, .. } => {
                    let is_float = aggs[a].1;
                    let v = match func {
                        Func::Count => Value::UInt(counts[g]),
                        Func::Sum if is_float => Value::Float64(float_sums[a][g]),
                        Func::Sum if ds.columns[*col].ty.is_signed() => {
                            Value::Int(int_sums[a][g] as i64)
                        }
                        Func::Sum => Value::UInt(int_sums[a][g] as u64),
                        Func::Avg => {
                            let s = if is_float {
                                float_sums[a][g]
                            } else {
                                int_sums[a][g] as f64
                            };
                            Value::Float64(s / counts[g] as f64)
                        }
                    };
                    a += 1;
                    v
                }
            });
        }
        data.push(row);
    }
    Ok(Endpoint {
        meta,
        data,
        statistics: stats,
    })
}

fn sum_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Float32 | ColumnType::Float64 => "Float64",
        ColumnType::Int8 | ColumnType::Int16 | ColumnType::Int32 | ColumnType::Int64 => "Int64",
        _ => "UInt64",
    }
}
