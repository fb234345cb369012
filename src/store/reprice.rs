//! Costs recomputed under another price table, in place.

use super::{Cell, ColumnData, Store};
use crate::error::{Error, Result};
use crate::formats::prices::{Model, PriceTable};
use crate::formats::{Record, Time};
use crate::store::FxHashMap;
use serde::Serialize;

/// What [`Store::reprice`] did, in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Repriced {
    /// Rows whose cost the table now gives (`cost_source` is the table's).
    pub repriced: u64,
    /// Rows whose model the table has no price for: cost 0, `cost_source` `unpriced`.
    pub unpriced: u64,
    /// Rows whose cost came from the log (`cost_source` `log`), or from a line in the canonical
    /// shape (`cost_source` empty): kept as they are.
    pub kept_from_log: u64,
}

/// The columns repricing reads and writes.
struct Columns {
    time: usize,
    model: usize,
    provider: usize,
    prompt: usize,
    completion: usize,
    cache_read: usize,
    cache_write: usize,
    reasoning: usize,
    cost: usize,
    cost_source: usize,
}

impl Store {
    /// Recomputes `cost` under `table` for every row whose `cost_source` is neither `log` nor
    /// empty (a line in the canonical shape): from its tokens (prompt, completion, cache read
    /// and write, reasoning), model, provider and `event_time`, as at ingest. A row the table
    /// prices gets its cost and `cost_source` `genai-prices <version>`; a row it does not, cost
    /// 0 and `unpriced`.
    ///
    /// Fails, changing nothing, for a datasource without the shipped `llm_events` columns, or
    /// when the two `cost_source` strings it may add do not fit in the byte budget.
    pub fn reprice(&mut self, table: &PriceTable) -> Result<Repriced> {
        let c = self.reprice_columns()?;
        // The strings written, added to the dictionary first (charged to the budget).
        let Some(Some(dict)) = self.dicts.get_mut(c.cost_source) else {
            return Err(Error::misuse("cost_source is not a string column"));
        };
        let len = dict.len();
        let priced_code = dict.intern(&table.cost_source);
        let unpriced_code = dict.intern("unpriced");
        let grown = dict.len();
        // Wider codes in every block, if the new strings need them.
        let width = match grown {
            n if n > 1 << 16 => 4,
            n if n > 1 << 8 => 2,
            _ => 1,
        };
        let widen: u64 = self
            .blocks()
            .map(|b| &b.columns[c.cost_source])
            .filter(|col| col.width() < width)
            .map(|col| (col.heap_bytes() / col.width() * (width - col.width())) as u64)
            .sum();
        if grown > len && self.bytes().saturating_add(widen) > self.max_bytes {
            if let Some(Some(dict)) = self.dicts.get_mut(c.cost_source) {
                while dict.len() > len {
                    dict.remove_last((dict.len() - 1) as u32);
                }
                dict.shrink_to_fit();
            }
            return Err(Error::misuse(
                "the price table's name does not fit in the store's byte budget",
            ));
        }
        let Some(Some(dict)) = self.dicts.get(c.cost_source) else {
            return Err(Error::misuse("cost_source is not a string column"));
        };
        let string = |i: usize, code: u32| -> &str {
            self.dicts
                .get(i)
                .and_then(Option::as_ref)
                .map_or("", |d| d.get(code))
        };
        // Which rows keep their cost: codes of `log` and of the empty string.
        let kept: Vec<bool> = (0..dict.len() as u32)
            .map(|code| matches!(dict.get(code), "log" | ""))
            .collect();
        // Per (model, provider) codes, the table's model, found once.
        let mut found: FxHashMap<(u32, u32), Option<&Model>> = FxHashMap::default();
        let mut out = Repriced::default();
        // What to write, per block: (row, cost, code), applied once every lookup is done.
        let mut writes: Vec<Vec<(usize, f32, u32)>> = Vec::new();
        for block in self.blocks() {
            let cols = &block.columns;
            let mut w = Vec::new();
            for row in 0..block.rows {
                let source = code(&cols[c.cost_source], row);
                if kept.get(source as usize).copied().unwrap_or(true) {
                    out.kept_from_log += 1;
                    continue;
                }
                let model = code(&cols[c.model], row);
                let provider = code(&cols[c.provider], row);
                let m = *found.entry((model, provider)).or_insert_with(|| {
                    table.find(string(c.provider, provider), string(c.model, model))
                });
                let secs = match cols[c.time].get_cell(row) {
                    Cell::U(s) => s as i64,
                    Cell::I(ms) => ms.div_euclid(1000),
                    _ => 0,
                };
                let cost = m.and_then(|m| {
                    let mut r = Record::new(Time::At(secs));
                    r.prompt_tokens = uint(&cols[c.prompt], row);
                    r.completion_tokens = uint(&cols[c.completion], row);
                    r.cache_read_tokens = uint(&cols[c.cache_read], row);
                    r.cache_write_tokens = uint(&cols[c.cache_write], row);
                    r.reasoning_tokens = uint(&cols[c.reasoning], row);
                    m.cost_at(&r, secs)
                });
                match cost {
                    Some(x) => {
                        out.repriced += 1;
                        w.push((row, x as f32, priced_code));
                    }
                    None => {
                        out.unpriced += 1;
                        w.push((row, 0.0, unpriced_code));
                    }
                }
            }
            writes.push(w);
        }
        let mut added = 0u64;
        let blocks = self.partitions.iter_mut().flat_map(|p| p.blocks.iter_mut());
        for (block, w) in blocks.zip(writes) {
            let (cost_col, source_col) = pair(&mut block.columns, c.cost, c.cost_source);
            let before = source_col.heap_bytes();
            source_col.widen_for(priced_code.max(unpriced_code));
            added += (source_col.heap_bytes() - before) as u64;
            for (row, cost, code) in w {
                match cost_col {
                    ColumnData::F32(v) => v[row] = cost,
                    ColumnData::F64(v) => v[row] = f64::from(cost),
                    _ => {}
                }
                match source_col {
                    ColumnData::Str8(v) => v[row] = code as u8,
                    ColumnData::Str16(v) => v[row] = code as u16,
                    ColumnData::Str(v) => v[row] = code,
                    _ => {}
                }
            }
        }
        self.block_bytes += added;
        Ok(out)
    }

    fn reprice_columns(&self) -> Result<Columns> {
        let ds = &self.datasource;
        let find = |name: &str| -> Result<usize> {
            ds.columns
                .iter()
                .position(|col| col.name == name)
                .ok_or_else(|| {
                    Error::misuse(format!(
                        "reprice needs the llm_events column '{name}', which this datasource lacks"
                    ))
                })
        };
        let c = Columns {
            time: find("event_time")?,
            model: find("model_name")?,
            provider: find("provider")?,
            prompt: find("prompt_tokens")?,
            completion: find("completion_tokens")?,
            cache_read: find("cache_read_tokens")?,
            cache_write: find("cache_write_tokens")?,
            reasoning: find("reasoning_tokens")?,
            cost: find("cost")?,
            cost_source: find("cost_source")?,
        };
        let strings = [c.model, c.provider, c.cost_source];
        if strings.iter().any(|&i| !ds.columns[i].ty.is_string())
            || !matches!(
                ds.columns[c.cost].ty,
                crate::schema::ColumnType::Float32 | crate::schema::ColumnType::Float64
            )
            || ds.columns[c.cost].nullable
            || ds.columns[c.cost_source].nullable
        {
            return Err(Error::misuse(
                "reprice needs the llm_events column types (cost Float32, strings for model_name, provider, cost_source)",
            ));
        }
        Ok(c)
    }
}

/// The dictionary code of row `i` of a string column.
fn code(col: &ColumnData, i: usize) -> u32 {
    match col.get_cell(i) {
        Cell::U(c) => c as u32,
        _ => 0,
    }
}

/// Row `i` of an unsigned column.
fn uint(col: &ColumnData, i: usize) -> u64 {
    match col.get_cell(i) {
        Cell::U(x) => x,
        Cell::I(x) => x.max(0) as u64,
        _ => 0,
    }
}

/// Two distinct columns, both mutable.
fn pair(cols: &mut [ColumnData], a: usize, b: usize) -> (&mut ColumnData, &mut ColumnData) {
    if a < b {
        let (x, y) = cols.split_at_mut(b);
        (&mut x[a], &mut y[0])
    } else {
        let (x, y) = cols.split_at_mut(a);
        (&mut y[0], &mut x[b])
    }
}
