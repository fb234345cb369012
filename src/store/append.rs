//! Rows appended from elsewhere than the decoder: the rows of another store of the same
//! datasource (a batch staged for materialized views), and rows of query values (a
//! materialized view's result), converted to the columns' types as ClickHouse converts on
//! insert.

use super::{empty_value, value_heap_bytes, Block, Cell, Full, Store, BLOCK_ROWS};
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

    /// Appends every row of `other`, a store of the same datasource that holds the rows coming
    /// after this store's in one stream (a later part of a file, read apart), so that this
    /// store ends as one store reading both parts in turn would: the same rows in the same
    /// blocks, with the same dictionaries and codes (a block begun here may store its codes
    /// wider, its dictionary being larger when it began). The strings of `other`'s dictionaries are added
    /// first, in their order: a dictionary holds its strings in the order their first rows came,
    /// so those new to this store come in the order one store would have met them. Then the
    /// rows, partition by partition, each partition's in their order, with their codes mapped
    /// to this store's. Fails on a full store, the rows before the one that did not fit
    /// appended (the strings added stay, counted against the budget).
    pub fn append_store(&mut self, other: &Store) -> Result<(), Full> {
        let mut remap: Vec<Option<Vec<u32>>> = Vec::with_capacity(self.dicts.len());
        for (mine, theirs) in self.dicts.iter_mut().zip(&other.dicts) {
            remap.push(match (mine, theirs) {
                (Some(m), Some(t)) => Some(
                    t.strings()
                        .iter()
                        .map(|s| m.intern(s))
                        .collect::<Vec<u32>>(),
                ),
                _ => None,
            });
        }
        if self.bytes() > self.max_bytes {
            return Err(Full);
        }
        // The rows no longer follow the last one pushed: the next push looks its partition up.
        self.last_range = (0, 0);
        for p in &other.partitions {
            let pi = self.partition_for(p.key);
            for b in &p.blocks {
                let mut from = 0;
                while from < b.rows {
                    let room = match self.partitions.get(pi).and_then(|p| p.blocks.last()) {
                        Some(t) if t.rows < BLOCK_ROWS => BLOCK_ROWS - t.rows,
                        _ => {
                            self.new_block(pi)?;
                            BLOCK_ROWS
                        }
                    };
                    let to = b.rows.min(from + room);
                    self.copy_rows(pi, b, from, to, &remap)?;
                    from = to;
                }
            }
        }
        Ok(())
    }

    /// Starts an empty block in partition `pi`, as a row pushed there would.
    fn new_block(&mut self, pi: usize) -> Result<(), Full> {
        let (columns, nulls, values, add) = self.empty_block();
        if self.bytes().saturating_add(add) > self.max_bytes {
            return Err(Full);
        }
        let Some(partition) = self.partitions.get_mut(pi) else {
            return Err(Full);
        };
        partition.blocks.push(Block {
            columns,
            nulls,
            values,
            rows: 0,
            min_time: i64::MAX,
            max_time: i64::MIN,
        });
        self.block_bytes += add;
        Ok(())
    }

    /// Appends rows `from..to` of block `b` (of a store of the same datasource) to the last
    /// block of partition `pi`, which has room for them; string codes go through `remap`.
    fn copy_rows(
        &mut self,
        pi: usize,
        b: &Block,
        from: usize,
        to: usize,
        remap: &[Option<Vec<u32>>],
    ) -> Result<(), Full> {
        let map = |i: usize, c: u32| -> u32 {
            remap
                .get(i)
                .and_then(Option::as_ref)
                .and_then(|m| m.get(c as usize))
                .copied()
                .unwrap_or(0)
        };
        // The widest code of each string column among the rows, and the held values' bytes.
        let mut widest: Vec<u32> = vec![0; b.columns.len()];
        let mut held_bytes = 0u64;
        for (i, col) in b.columns.iter().enumerate() {
            if let Some(vs) = b.values(i) {
                held_bytes += vs
                    .get(from..to)
                    .unwrap_or(&[])
                    .iter()
                    .map(|v| (std::mem::size_of::<Value>() + value_heap_bytes(v)) as u64)
                    .sum::<u64>();
            } else if let Some(codes) = col.codes() {
                widest[i] = codes
                    .get(from..to)
                    .unwrap_or(&[])
                    .iter()
                    .map(|&c| map(i, c))
                    .max()
                    .unwrap_or(0);
            }
        }
        let time_column = self.datasource.time_column;
        let max_bytes = self.max_bytes;
        let used = self.bytes();
        let Store {
            partitions,
            block_bytes,
            rows,
            ..
        } = self;
        let Some(target) = partitions.get_mut(pi).and_then(|p| p.blocks.last_mut()) else {
            return Err(Full);
        };
        let mut add = held_bytes;
        for (col, &code) in target.columns.iter().zip(&widest) {
            let width = if code > u32::from(u16::MAX) {
                4
            } else if code > u32::from(u8::MAX) {
                2
            } else {
                1
            };
            if col.is_str() && width > col.width() {
                add += (col.heap_bytes() / col.width() * (width - col.width())) as u64;
            }
        }
        if add > 0 && used.saturating_add(add) > max_bytes {
            return Err(Full);
        }
        for (i, col) in target.columns.iter_mut().enumerate() {
            let Some(src) = b.columns.get(i) else {
                continue;
            };
            if let Some(vs) = b.values(i) {
                if let Some(Some(h)) = target.values.get_mut(i) {
                    h.extend_from_slice(vs.get(from..to).unwrap_or(&[]));
                }
                continue;
            }
            if let Some(codes) = src.codes() {
                let before = col.heap_bytes();
                col.widen_for(widest.get(i).copied().unwrap_or(0));
                *block_bytes += (col.heap_bytes() - before) as u64;
                col.extend_codes(
                    codes
                        .get(from..to)
                        .unwrap_or(&[])
                        .iter()
                        .map(|&c| map(i, c)),
                );
            } else {
                col.extend_range(src, from, to);
            }
        }
        for (mask, src) in target.nulls.iter_mut().zip(&b.nulls) {
            if let (Some(m), Some(s)) = (mask, src) {
                m.extend_from_slice(s.get(from..to).unwrap_or(&[]));
            }
        }
        if let Some(tc) = time_column.and_then(|c| b.columns.get(c)) {
            for r in from..to.min(tc.len()) {
                let t = match tc.get_cell(r) {
                    Cell::U(s) => s as i64,
                    Cell::I(ms) => ms,
                    _ => 0,
                };
                target.min_time = target.min_time.min(t);
                target.max_time = target.max_time.max(t);
            }
        } else {
            target.min_time = target.min_time.min(0);
            target.max_time = target.max_time.max(0);
        }
        target.rows += to - from;
        *rows += (to - from) as u64;
        *block_bytes += held_bytes;
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
