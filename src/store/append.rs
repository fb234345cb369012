//! Rows appended from elsewhere than the decoder: the rows of another store of the same
//! datasource (a batch staged for materialized views), and rows of query values (a
//! materialized view's result), converted to the columns' types as ClickHouse converts on
//! insert.

use super::{empty_value, Cell, Full, Store};
use crate::query::Value;
use crate::schema::ColumnType;

impl Store {
    /// Appends every row of `staged`, a store of the same datasource, partition by partition
    /// in its order, and takes over the bytes it charged (its quarantine's). Fails on a full
    /// store, the rows before the one that did not fit appended.
    pub fn absorb(&mut self, staged: &Store) -> Result<(), Full> {
        self.charged = self.charged.saturating_add(staged.charged);
        let ncols = self.datasource.columns.len();
        let mut cells = Vec::with_capacity(ncols);
        let mut values = Vec::new();
        let mut text = String::new();
        for block in staged.blocks() {
            for r in 0..block.rows() {
                cells.clear();
                values.clear();
                text.clear();
                for i in 0..ncols {
                    if let Some(v) = block.values(i) {
                        values.push(v.get(r).cloned().unwrap_or(Value::Null));
                        cells.push(Cell::Null);
                        continue;
                    }
                    if block.nulls(i).is_some_and(|m| m.get(r) == Some(&true)) {
                        cells.push(Cell::Null);
                        continue;
                    }
                    let cell = block.column(i).get_cell(r);
                    match (staged.dictionary(i), cell) {
                        (Some(d), Cell::U(code)) => {
                            let s = d.get(code as u32);
                            let start = text.len() as u32;
                            text.push_str(s);
                            cells.push(Cell::Str(start, s.len() as u32));
                        }
                        _ => cells.push(cell),
                    }
                }
                self.push_row_values(&cells, &text, &mut values)?;
            }
        }
        Ok(())
    }

    /// Appends one row of query values, one per column in schema order (`None` for a column
    /// the row does not give, which takes its `DEFAULT` or its type's default), each converted
    /// to its column's type as an `INSERT … SELECT` converts it.
    pub fn push_values(&mut self, row: Vec<Option<Value>>, now: i64) -> Result<(), Full> {
        let mut cells = Vec::with_capacity(row.len());
        let mut values = Vec::new();
        let mut text = String::new();
        for (c, v) in self.datasource.columns.iter().zip(row) {
            if c.ty == ColumnType::Values {
                values.push(match v {
                    Some(v @ (Value::Array(_) | Value::Map(_) | Value::State(_))) => v,
                    _ => empty_value(&c.declared),
                });
                cells.push(Cell::Null);
                continue;
            }
            let cell = match v {
                Some(Value::Null) if c.nullable => Cell::Null,
                Some(v) if !matches!(v, Value::Null) => value_cell(c.ty, &v, &mut text),
                _ => match &c.default {
                    Some(d) => crate::ingest::default_cell(c.ty, d, now, &mut text),
                    None if c.nullable => Cell::Null,
                    None => value_cell(c.ty, &Value::Null, &mut text),
                },
            };
            cells.push(cell);
        }
        self.push_row_values(&cells, &text, &mut values)
    }
}

/// `v` converted to a column of type `ty` (`NULL` gives the type's default); integers wrap to
/// the column's width and floats truncate, as ClickHouse's conversions on insert do.
fn value_cell(ty: ColumnType, v: &Value, text: &mut String) -> Cell {
    let int = |v: &Value| -> i128 {
        match v {
            Value::UInt(x) => i128::from(*x),
            Value::Int(x) | Value::Date(x) | Value::DateTime(x) | Value::DateTime64(x) => {
                i128::from(*x)
            }
            Value::Float32(x) => *x as i128,
            Value::Float64(x) => *x as i128,
            Value::Bool(b) => i128::from(*b),
            Value::Str(s) => s.trim().parse::<i128>().unwrap_or(0),
            _ => 0,
        }
    };
    let float = |v: &Value| -> f64 {
        match v {
            Value::Float32(x) => f64::from(*x),
            Value::Float64(x) => *x,
            Value::Str(s) => s.trim().parse::<f64>().unwrap_or(0.0),
            v => int(v) as f64,
        }
    };
    match ty {
        ColumnType::String | ColumnType::LowCardinalityString => {
            let start = text.len() as u32;
            match v {
                Value::Str(s) => text.push_str(s),
                Value::Null => {}
                v => {
                    let mut json = String::new();
                    v.write_json(&mut json);
                    text.push_str(json.trim_matches('"'));
                }
            }
            Cell::Str(start, text.len() as u32 - start)
        }
        ColumnType::UInt8 => Cell::U(u64::from(int(v) as u8)),
        ColumnType::UInt16 => Cell::U(u64::from(int(v) as u16)),
        ColumnType::UInt32 => Cell::U(u64::from(int(v) as u32)),
        ColumnType::UInt64 => Cell::U(int(v) as u64),
        ColumnType::Int8 => Cell::I(i64::from(int(v) as i8)),
        ColumnType::Int16 => Cell::I(i64::from(int(v) as i16)),
        ColumnType::Int32 => Cell::I(i64::from(int(v) as i32)),
        ColumnType::Int64 => Cell::I(int(v) as i64),
        ColumnType::Float32 => Cell::F32(float(v) as f32),
        ColumnType::Float64 => Cell::F64(float(v)),
        ColumnType::Bool => Cell::U(u64::from(float(v) != 0.0)),
        ColumnType::Date => Cell::U(match v {
            Value::DateTime(s) => s.div_euclid(86_400).clamp(0, i64::from(u16::MAX)) as u64,
            Value::DateTime64(ms) => ms.div_euclid(86_400_000).clamp(0, i64::from(u16::MAX)) as u64,
            Value::Str(s) => crate::time::parse_date_bytes(s.as_bytes())
                .unwrap_or(0)
                .clamp(0, i64::from(u16::MAX)) as u64,
            v => int(v).clamp(0, i128::from(u16::MAX)) as u64,
        }),
        ColumnType::DateTime => Cell::U(match v {
            Value::Date(d) => d.saturating_mul(86_400).max(0) as u64,
            Value::DateTime64(ms) => ms.div_euclid(1000).max(0) as u64,
            Value::Str(s) => crate::time::parse_timestamp_ms(s)
                .unwrap_or(0)
                .div_euclid(1000)
                .clamp(0, crate::time::DATETIME_MAX) as u64,
            v => int(v).clamp(0, i128::from(u32::MAX)) as u64,
        }),
        ColumnType::DateTime64 => Cell::I(match v {
            Value::Date(d) => d.saturating_mul(86_400_000),
            Value::DateTime(s) => s.saturating_mul(1000),
            Value::Str(s) => crate::time::parse_timestamp_ms(s).unwrap_or(0),
            v => int(v) as i64,
        }),
        ColumnType::Values => Cell::Null,
    }
}
