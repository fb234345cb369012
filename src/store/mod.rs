//! The columnar store: typed columns in month partitions of blocks, strings in dictionaries.
//!
//! Rows arrive one at a time from the ingest decoder as already-typed [`Cell`]s. Each row goes to
//! the partition its time column selects (`toYYYYMM(event_time)` for `llm_events`), into that
//! partition's open [`Block`]; a block holds up to [`BLOCK_ROWS`] rows and records the min and max
//! of its time column so time-range queries can skip it. String columns share one [`Dictionary`]
//! per column across all blocks, so grouping by a string is grouping by a `u32` code.

mod append;
mod dict;
mod file;
mod reprice;
mod shard;

pub use dict::{Dictionary, FxHashMap, FxHasher};
pub use file::{
    crc32, Crc32, StoreFileReader, MAX_ADDED_PIPES, MAX_SECTION_BYTES, STORE_FILE_MAGIC,
    STORE_FILE_VERSION,
};
pub use reprice::Repriced;

use crate::query::Value;
use crate::schema::{ColumnType, Datasource, PartitionKey};
use crate::time;

/// Rows per block.
pub const BLOCK_ROWS: usize = 8192;

/// One typed value of a row, already converted to its column's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    /// Any unsigned column (`UInt*`, `Bool`, `DateTime` seconds).
    U(u64),
    /// Any signed column (`Int*`, `DateTime64(3)` milliseconds).
    I(i64),
    /// A `Float32` column.
    F32(f32),
    /// A `Float64` column.
    F64(f64),
    /// A string column: a byte range of the decoder's scratch text.
    Str(u32, u32),
    /// `NULL`, in a `Nullable` column (stored as the type's default and a `NULL` mark).
    Null,
}

/// The values of one column within one block, in the column's storage width.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// `UInt8` and `Bool`.
    U8(Vec<u8>),
    /// `UInt16`.
    U16(Vec<u16>),
    /// `UInt32` and `DateTime` (seconds).
    U32(Vec<u32>),
    /// `UInt64`.
    U64(Vec<u64>),
    /// `Int8`.
    I8(Vec<i8>),
    /// `Int16`.
    I16(Vec<i16>),
    /// `Int32`.
    I32(Vec<i32>),
    /// `Int64` and `DateTime64(3)` (milliseconds).
    I64(Vec<i64>),
    /// `Float32`.
    F32(Vec<f32>),
    /// `Float64`.
    F64(Vec<f64>),
    /// `String` and `LowCardinality(String)`: dictionary codes while the dictionary has at most
    /// 256 strings.
    Str8(Vec<u8>),
    /// Dictionary codes while the dictionary has at most 65,536 strings.
    Str16(Vec<u16>),
    /// Dictionary codes.
    Str(Vec<u32>),
}

/// Narrowest string-code column for a dictionary of `len` strings.
fn str_column(len: usize, n: usize) -> ColumnData {
    if len <= 1 << 8 {
        ColumnData::Str8(Vec::with_capacity(n))
    } else if len <= 1 << 16 {
        ColumnData::Str16(Vec::with_capacity(n))
    } else {
        ColumnData::Str(Vec::with_capacity(n))
    }
}

impl ColumnData {
    fn with_capacity(ty: ColumnType, n: usize) -> ColumnData {
        match ty {
            ColumnType::UInt8 | ColumnType::Bool => ColumnData::U8(Vec::with_capacity(n)),
            ColumnType::UInt16 | ColumnType::Date => ColumnData::U16(Vec::with_capacity(n)),
            ColumnType::UInt32 | ColumnType::DateTime => ColumnData::U32(Vec::with_capacity(n)),
            ColumnType::UInt64 => ColumnData::U64(Vec::with_capacity(n)),
            ColumnType::Int8 => ColumnData::I8(Vec::with_capacity(n)),
            ColumnType::Int16 => ColumnData::I16(Vec::with_capacity(n)),
            ColumnType::Int32 => ColumnData::I32(Vec::with_capacity(n)),
            ColumnType::Int64 | ColumnType::DateTime64 => ColumnData::I64(Vec::with_capacity(n)),
            ColumnType::Float32 => ColumnData::F32(Vec::with_capacity(n)),
            ColumnType::Float64 => ColumnData::F64(Vec::with_capacity(n)),
            ColumnType::String | ColumnType::LowCardinalityString => str_column(0, n),
            // The values are held beside the column (see [`Block::values`]).
            ColumnType::Values => ColumnData::U8(Vec::new()),
        }
    }

    /// For string columns, the dictionary codes widened to `u32` (borrowed when already that
    /// wide); `None` for other columns.
    pub fn codes(&self) -> Option<std::borrow::Cow<'_, [u32]>> {
        use std::borrow::Cow;
        match self {
            ColumnData::Str(v) => Some(Cow::Borrowed(v)),
            ColumnData::Str16(v) => Some(Cow::Owned(v.iter().map(|&c| u32::from(c)).collect())),
            ColumnData::Str8(v) => Some(Cow::Owned(v.iter().map(|&c| u32::from(c)).collect())),
            _ => None,
        }
    }

    /// True for the string-code variants.
    pub fn is_str(&self) -> bool {
        matches!(
            self,
            ColumnData::Str8(_) | ColumnData::Str16(_) | ColumnData::Str(_)
        )
    }

    /// Bytes reserved for values (capacity times width).
    pub fn heap_bytes(&self) -> usize {
        let cap = match self {
            ColumnData::U8(v) => v.capacity(),
            ColumnData::U16(v) => v.capacity(),
            ColumnData::U32(v) => v.capacity(),
            ColumnData::U64(v) => v.capacity(),
            ColumnData::I8(v) => v.capacity(),
            ColumnData::I16(v) => v.capacity(),
            ColumnData::I32(v) => v.capacity(),
            ColumnData::I64(v) => v.capacity(),
            ColumnData::F32(v) => v.capacity(),
            ColumnData::F64(v) => v.capacity(),
            ColumnData::Str8(v) => v.capacity(),
            ColumnData::Str16(v) => v.capacity(),
            ColumnData::Str(v) => v.capacity(),
        };
        cap * self.width()
    }

    /// Widens a string-code column so it can hold `code`.
    fn widen_for(&mut self, code: u32) {
        let wider = match self {
            ColumnData::Str8(v) if code > u32::from(u8::MAX) => {
                if code <= u32::from(u16::MAX) {
                    let mut w = Vec::with_capacity(v.capacity());
                    w.extend(v.iter().map(|&c| u16::from(c)));
                    ColumnData::Str16(w)
                } else {
                    let mut w = Vec::with_capacity(v.capacity());
                    w.extend(v.iter().map(|&c| u32::from(c)));
                    ColumnData::Str(w)
                }
            }
            ColumnData::Str16(v) if code > u32::from(u16::MAX) => {
                let mut w = Vec::with_capacity(v.capacity());
                w.extend(v.iter().map(|&c| u32::from(c)));
                ColumnData::Str(w)
            }
            _ => return,
        };
        *self = wider;
    }

    /// Appends values `from..to` of `src`, a column of the same type (not strings).
    fn extend_range(&mut self, src: &ColumnData, from: usize, to: usize) {
        fn ext<T: Copy>(d: &mut Vec<T>, s: &[T], from: usize, to: usize) {
            d.extend_from_slice(s.get(from..to).unwrap_or(&[]));
        }
        match (self, src) {
            (ColumnData::U8(d), ColumnData::U8(s)) => ext(d, s, from, to),
            (ColumnData::U16(d), ColumnData::U16(s)) => ext(d, s, from, to),
            (ColumnData::U32(d), ColumnData::U32(s)) => ext(d, s, from, to),
            (ColumnData::U64(d), ColumnData::U64(s)) => ext(d, s, from, to),
            (ColumnData::I8(d), ColumnData::I8(s)) => ext(d, s, from, to),
            (ColumnData::I16(d), ColumnData::I16(s)) => ext(d, s, from, to),
            (ColumnData::I32(d), ColumnData::I32(s)) => ext(d, s, from, to),
            (ColumnData::I64(d), ColumnData::I64(s)) => ext(d, s, from, to),
            (ColumnData::F32(d), ColumnData::F32(s)) => ext(d, s, from, to),
            (ColumnData::F64(d), ColumnData::F64(s)) => ext(d, s, from, to),
            _ => {}
        }
    }

    /// Appends dictionary codes to a string column already wide enough for them.
    fn extend_codes(&mut self, codes: impl Iterator<Item = u32>) {
        match self {
            ColumnData::Str8(v) => v.extend(codes.map(|c| c as u8)),
            ColumnData::Str16(v) => v.extend(codes.map(|c| c as u16)),
            ColumnData::Str(v) => v.extend(codes),
            _ => {}
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::U8(v) => v.len(),
            ColumnData::U16(v) => v.len(),
            ColumnData::U32(v) => v.len(),
            ColumnData::U64(v) => v.len(),
            ColumnData::I8(v) => v.len(),
            ColumnData::I16(v) => v.len(),
            ColumnData::I32(v) => v.len(),
            ColumnData::I64(v) => v.len(),
            ColumnData::F32(v) => v.len(),
            ColumnData::F64(v) => v.len(),
            ColumnData::Str8(v) => v.len(),
            ColumnData::Str16(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of one value.
    pub fn width(&self) -> usize {
        match self {
            ColumnData::U8(_) | ColumnData::I8(_) | ColumnData::Str8(_) => 1,
            ColumnData::U16(_) | ColumnData::I16(_) | ColumnData::Str16(_) => 2,
            ColumnData::U32(_) | ColumnData::I32(_) | ColumnData::F32(_) | ColumnData::Str(_) => 4,
            ColumnData::U64(_) | ColumnData::I64(_) | ColumnData::F64(_) => 8,
        }
    }

    /// Value `i` widened to `f64` (string codes give their code).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            ColumnData::U8(v) => f64::from(v[i]),
            ColumnData::U16(v) => f64::from(v[i]),
            ColumnData::U32(v) => f64::from(v[i]),
            ColumnData::U64(v) => v[i] as f64,
            ColumnData::I8(v) => f64::from(v[i]),
            ColumnData::I16(v) => f64::from(v[i]),
            ColumnData::I32(v) => f64::from(v[i]),
            ColumnData::I64(v) => v[i] as f64,
            ColumnData::F32(v) => f64::from(v[i]),
            ColumnData::F64(v) => v[i],
            ColumnData::Str8(v) => f64::from(v[i]),
            ColumnData::Str16(v) => f64::from(v[i]),
            ColumnData::Str(v) => f64::from(v[i]),
        }
    }

    /// True when both hold the same values, floats compared by their bits.
    pub fn same_bits(&self, other: &ColumnData) -> bool {
        match (self, other) {
            (ColumnData::F32(a), ColumnData::F32(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (ColumnData::F64(a), ColumnData::F64(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            _ => self == other,
        }
    }

    /// Value `i` as the [`Cell`] it was stored from (strings give their code as `U`).
    pub fn get_cell(&self, i: usize) -> Cell {
        match self {
            ColumnData::U8(v) => Cell::U(u64::from(v[i])),
            ColumnData::U16(v) => Cell::U(u64::from(v[i])),
            ColumnData::U32(v) => Cell::U(u64::from(v[i])),
            ColumnData::U64(v) => Cell::U(v[i]),
            ColumnData::I8(v) => Cell::I(i64::from(v[i])),
            ColumnData::I16(v) => Cell::I(i64::from(v[i])),
            ColumnData::I32(v) => Cell::I(i64::from(v[i])),
            ColumnData::I64(v) => Cell::I(v[i]),
            ColumnData::F32(v) => Cell::F32(v[i]),
            ColumnData::F64(v) => Cell::F64(v[i]),
            ColumnData::Str8(v) => Cell::U(u64::from(v[i])),
            ColumnData::Str16(v) => Cell::U(u64::from(v[i])),
            ColumnData::Str(v) => Cell::U(u64::from(v[i])),
        }
    }

    /// Appends a value; `code` is the dictionary code for string columns (already widened for).
    #[inline]
    fn push(&mut self, cell: Cell, code: u32) {
        // Cells are produced by the decoder for this column's type; the casts below are
        // range-checked there.
        match (self, cell) {
            (ColumnData::U8(v), Cell::U(x)) => v.push(x as u8),
            (ColumnData::U16(v), Cell::U(x)) => v.push(x as u16),
            (ColumnData::U32(v), Cell::U(x)) => v.push(x as u32),
            (ColumnData::U64(v), Cell::U(x)) => v.push(x),
            (ColumnData::I8(v), Cell::I(x)) => v.push(x as i8),
            (ColumnData::I16(v), Cell::I(x)) => v.push(x as i16),
            (ColumnData::I32(v), Cell::I(x)) => v.push(x as i32),
            (ColumnData::I64(v), Cell::I(x)) => v.push(x),
            (ColumnData::F32(v), Cell::F32(x)) => v.push(x),
            (ColumnData::F64(v), Cell::F64(x)) => v.push(x),
            (ColumnData::Str8(v), _) => v.push(code as u8),
            (ColumnData::Str16(v), _) => v.push(code as u16),
            (ColumnData::Str(v), _) => v.push(code),
            (ColumnData::U8(v), _) => v.push(0),
            (ColumnData::U16(v), _) => v.push(0),
            (ColumnData::U32(v), _) => v.push(0),
            (ColumnData::U64(v), _) => v.push(0),
            (ColumnData::I8(v), _) => v.push(0),
            (ColumnData::I16(v), _) => v.push(0),
            (ColumnData::I32(v), _) => v.push(0),
            (ColumnData::I64(v), _) => v.push(0),
            (ColumnData::F32(v), _) => v.push(0.0),
            (ColumnData::F64(v), _) => v.push(0.0),
        }
    }
}

/// Heap bytes a stored value holds beyond its own slot: text, elements, a state's contents.
pub fn value_heap_bytes(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::Array(items) => items
            .iter()
            .map(|x| std::mem::size_of::<Value>() + value_heap_bytes(x))
            .sum(),
        Value::Map(items) => items
            .iter()
            .map(|(k, x)| {
                2 * std::mem::size_of::<Value>() + value_heap_bytes(k) + value_heap_bytes(x)
            })
            .sum(),
        Value::State(s) => s.bytes(),
        _ => 0,
    }
}

/// True when both hold the same values, NaNs equal to themselves (compared by their JSON text).
fn same_values(a: &Option<Vec<Value>>, b: &Option<Vec<Value>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let text = |v: &Value| {
                let mut s = String::new();
                v.write_json_as(&mut s, true);
                s
            };
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y || text(x) == text(y))
        }
        _ => false,
    }
}

/// The value a [`ColumnType::Values`] column of type `declared` takes when a row gives none:
/// the empty array, or the empty state (`NULL`, which `-Merge` passes over).
pub fn empty_value(declared: &Option<crate::schema::TypeDesc>) -> Value {
    match declared {
        Some(crate::schema::TypeDesc::Array(_)) => Value::Array(Vec::new()),
        Some(crate::schema::TypeDesc::Map(..)) => Value::Map(Vec::new()),
        _ => Value::Null,
    }
}

/// Up to [`BLOCK_ROWS`] rows of one partition, one [`ColumnData`] per schema column.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    columns: Vec<ColumnData>,
    /// Per column, for `Nullable` columns: `true` for each row that is `NULL`.
    nulls: Vec<Option<Vec<bool>>>,
    /// Per column, for [`ColumnType::Values`] columns: the value of each row (the column in
    /// `columns` is then empty).
    values: Vec<Option<Vec<Value>>>,
    rows: usize,
    min_time: i64,
    max_time: i64,
}

impl Block {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The values of column `i` (schema order).
    pub fn column(&self, i: usize) -> &ColumnData {
        &self.columns[i]
    }

    /// All columns in schema order.
    pub fn columns(&self) -> &[ColumnData] {
        &self.columns
    }

    /// For a `Nullable` column `i`, which rows are `NULL`; `None` for other columns.
    pub fn nulls(&self, i: usize) -> Option<&[bool]> {
        self.nulls.get(i).and_then(Option::as_deref)
    }

    /// For a [`ColumnType::Values`] column `i` (arrays, aggregate states), the value of each
    /// row; `None` for other columns.
    pub fn values(&self, i: usize) -> Option<&[Value]> {
        self.values.get(i).and_then(Option::as_deref)
    }

    /// Smallest value of the time column (seconds for `DateTime`, ms for `DateTime64(3)`); 0 without one.
    pub fn min_time(&self) -> i64 {
        self.min_time
    }

    /// Largest value of the time column; 0 without one.
    pub fn max_time(&self) -> i64 {
        self.max_time
    }
}

/// The blocks of one partition key value (e.g. `202405`).
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    key: i64,
    blocks: Vec<Block>,
}

impl Partition {
    /// The partition key value: `YYYYMM`, `YYYY`, `YYYYMMDD`, or 0 without a partition key.
    pub fn key(&self) -> i64 {
        self.key
    }

    /// Blocks in insertion order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
}

/// The stored rows of one datasource.
#[derive(Debug, Clone)]
pub struct Store {
    datasource: Datasource,
    dicts: Vec<Option<Dictionary>>,
    partitions: Vec<Partition>,
    last_partition: usize,
    /// Time range `[lo, hi)` (time-column units) of `last_partition`'s key.
    last_range: (i64, i64),
    rows: u64,
    block_bytes: u64,
    /// Bytes charged for data held outside the columns (the quarantine table).
    charged: u64,
    max_bytes: u64,
    result_limits: ResultLimits,
    row_width: usize,
    /// The row being pushed: its dictionary codes, and the strings it added (column, code).
    codes: Vec<u32>,
    added: Vec<(usize, u32)>,
}

/// Bounds on what one query may return, under ClickHouse's setting names: a result past either
/// is an error that names the bound, before the result is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultLimits {
    /// `max_result_rows`: rows of one result.
    pub max_rows: u64,
    /// `max_result_bytes`: bytes of one result, counted as its endpoint JSON would hold them
    /// (each row's column names and values).
    pub max_bytes: u64,
}

impl Default for ResultLimits {
    fn default() -> Self {
        ResultLimits {
            max_rows: u64::MAX,
            max_bytes: u64::MAX,
        }
    }
}

/// The store has no room for another block within its byte budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl Store {
    /// An empty store for `datasource` with a budget of `max_bytes` of column, dictionary and
    /// quarantine memory.
    pub fn new(datasource: Datasource, max_bytes: u64) -> Store {
        let dicts = datasource
            .columns
            .iter()
            .map(|c| c.ty.is_string().then(Dictionary::new))
            .collect();
        let row_width = datasource.columns.iter().map(|c| c.ty.width()).sum();
        Store {
            datasource,
            dicts,
            partitions: Vec::new(),
            last_partition: 0,
            last_range: (0, 0),
            rows: 0,
            block_bytes: 0,
            charged: 0,
            max_bytes,
            result_limits: ResultLimits::default(),
            row_width,
            codes: Vec::new(),
            added: Vec::new(),
        }
    }

    /// The datasource this store holds.
    pub fn datasource(&self) -> &Datasource {
        &self.datasource
    }

    /// Rows stored.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Partitions in ascending key order.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// Every block of every partition, partitions in key order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.partitions.iter().flat_map(|p| p.blocks.iter())
    }

    /// The dictionary of string column `i`, `None` for other types.
    pub fn dictionary(&self, i: usize) -> Option<&Dictionary> {
        self.dicts.get(i).and_then(Option::as_ref)
    }

    /// Bytes of memory reserved by blocks, dictionaries and the data charged with
    /// [`Store::charge`].
    pub fn bytes(&self) -> u64 {
        self.block_bytes
            + self.charged
            + self
                .dicts
                .iter()
                .flatten()
                .map(|d| d.heap_bytes() as u64)
                .sum::<u64>()
    }

    /// The byte budget.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// What one query over the store may return.
    pub fn result_limits(&self) -> ResultLimits {
        self.result_limits
    }

    /// Sets what one query over the store may return.
    pub fn set_result_limits(&mut self, limits: ResultLimits) {
        self.result_limits = limits;
    }

    /// Bytes one row takes in column storage (dictionary codes for strings).
    pub fn row_width(&self) -> usize {
        self.row_width
    }

    /// Charges `bytes` of memory held for this store's data outside its columns (the quarantine
    /// table) to the budget; fails, charging nothing, when they do not fit.
    pub fn charge(&mut self, bytes: u64) -> Result<(), Full> {
        if self.bytes().saturating_add(bytes) > self.max_bytes {
            return Err(Full);
        }
        self.charged += bytes;
        Ok(())
    }

    /// Gives back bytes charged with [`Store::charge`] that are no longer held.
    pub fn release(&mut self, bytes: u64) {
        self.charged = self.charged.saturating_sub(bytes);
    }

    /// The columns, NULL masks and value slots of an empty block, with room for a block's rows,
    /// and the heap bytes they take.
    #[allow(clippy::type_complexity)]
    fn empty_block(
        &self,
    ) -> (
        Vec<ColumnData>,
        Vec<Option<Vec<bool>>>,
        Vec<Option<Vec<Value>>>,
        u64,
    ) {
        let columns: Vec<ColumnData> = self
            .datasource
            .columns
            .iter()
            .zip(&self.dicts)
            .map(|(c, d)| match d {
                Some(d) => str_column(d.len(), BLOCK_ROWS),
                None => ColumnData::with_capacity(c.ty, BLOCK_ROWS),
            })
            .collect();
        let nulls: Vec<Option<Vec<bool>>> = self
            .datasource
            .columns
            .iter()
            .map(|c| c.nullable.then(|| Vec::with_capacity(BLOCK_ROWS)))
            .collect();
        let values: Vec<Option<Vec<Value>>> = self
            .datasource
            .columns
            .iter()
            .map(|c| (c.ty == ColumnType::Values).then(Vec::new))
            .collect();
        let bytes = columns.iter().map(|c| c.heap_bytes() as u64).sum::<u64>()
            + nulls
                .iter()
                .flatten()
                .map(|m| m.capacity() as u64)
                .sum::<u64>();
        (columns, nulls, values, bytes)
    }

    /// Appends one row. `cells` follows schema order; string cells index into `text`.
    ///
    /// Fails without storing anything when the row does not fit in the byte budget: a new block,
    /// new dictionary strings, or wider string codes it needs.
    pub fn push_row(&mut self, cells: &[Cell], text: &str) -> Result<(), Full> {
        self.push_row_values(cells, text, &mut [])
    }

    /// [`Store::push_row`] for a datasource with [`ColumnType::Values`] columns: `values` holds
    /// their values in column order (their cells are ignored; a column without a value takes
    /// its default, the empty array or the empty state). The values are taken, and each is
    /// charged to the budget with its bytes.
    pub fn push_row_values(
        &mut self,
        cells: &[Cell],
        text: &str,
        values: &mut [Value],
    ) -> Result<(), Full> {
        let (pi, time) = self.partition_of(cells);
        // Dictionary codes first: a string new to its dictionary is added, and taken out again
        // when the row does not fit.
        self.codes.clear();
        self.added.clear();
        for (i, (cell, dict)) in cells.iter().zip(self.dicts.iter_mut()).enumerate() {
            let code = match (cell, dict) {
                // A NULL string is stored as the empty string.
                (Cell::Null, Some(d)) => {
                    let before = d.len();
                    let code = d.intern("");
                    if d.len() != before {
                        self.added.push((i, code));
                    }
                    code
                }
                (Cell::Str(start, len), Some(d)) => {
                    let s = text
                        .get(*start as usize..(*start as usize).saturating_add(*len as usize))
                        .unwrap_or("");
                    let before = d.len();
                    let code = d.intern(s);
                    if d.len() != before {
                        self.added.push((i, code));
                    }
                    code
                }
                _ => 0,
            };
            self.codes.push(code);
        }
        self.place_row(pi, time, cells, values)
    }

    /// The partition of a row (its index, inserted when new) and the row's time.
    fn partition_of(&mut self, cells: &[Cell]) -> (usize, i64) {
        let time = match self.datasource.time_column {
            Some(c) => match cells.get(c) {
                Some(Cell::U(s)) => *s as i64,
                Some(Cell::I(ms)) => *ms,
                _ => 0,
            },
            None => 0,
        };
        let pi = if self.last_range.0 <= time && time < self.last_range.1 {
            self.last_partition
        } else {
            let key = self.partition_key(time);
            let pi = self.partition_for(key);
            self.last_range = self.partition_range(time);
            pi
        };
        (pi, time)
    }

    /// Appends a row to partition `pi` whose dictionary codes are in `self.codes`, the strings
    /// it added to the dictionaries in `self.added` (taken out again when the row does not
    /// fit).
    fn place_row(
        &mut self,
        pi: usize,
        time: i64,
        cells: &[Cell],
        values: &mut [Value],
    ) -> Result<(), Full> {
        let open = self.partitions[pi]
            .blocks
            .last()
            .filter(|b| b.rows < BLOCK_ROWS)
            .is_some();
        let mut new_block = None;
        // The row's values: each held in a slot of the block's vector, and its heap bytes.
        let held_bytes = values
            .iter()
            .map(|v| (std::mem::size_of::<Value>() + value_heap_bytes(v)) as u64)
            .sum::<u64>();
        let mut add = held_bytes;
        if open {
            // Wider string codes in the open block.
            if let Some(block) = self.partitions[pi].blocks.last() {
                for (col, &code) in block.columns.iter().zip(&self.codes) {
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
            }
        } else {
            let (columns, nulls, held, bytes) = self.empty_block();
            add += bytes;
            new_block = Some((columns, nulls, held));
        }
        if (add > 0 || !self.added.is_empty()) && self.bytes().saturating_add(add) > self.max_bytes
        {
            for &(i, code) in self.added.iter().rev() {
                if let Some(Some(d)) = self.dicts.get_mut(i) {
                    d.remove_last(code);
                }
            }
            // Adding the strings may have grown the dictionaries' tables: give that back too,
            // or a refused row would leave the store over its budget.
            for &(i, _) in &self.added {
                if let Some(Some(d)) = self.dicts.get_mut(i) {
                    d.shrink_to_fit();
                }
            }
            return Err(Full);
        }
        if let Some((columns, nulls, held)) = new_block {
            self.partitions[pi].blocks.push(Block {
                columns,
                nulls,
                values: held,
                rows: 0,
                min_time: time,
                max_time: time,
            });
            self.block_bytes += add;
        } else {
            // Wider string codes are counted as the columns widen, below.
            self.block_bytes += held_bytes;
        }
        let Store {
            partitions,
            block_bytes,
            codes,
            datasource,
            ..
        } = self;
        let block = match partitions[pi].blocks.last_mut() {
            Some(b) => b,
            None => return Err(Full),
        };
        for (((col, cell), &code), held) in block
            .columns
            .iter_mut()
            .zip(cells)
            .zip(codes.iter())
            .zip(&block.values)
        {
            if held.is_some() {
                // Held in `values` below; the column stays empty.
                continue;
            }
            if code > u32::from(u8::MAX) {
                let before = col.heap_bytes();
                col.widen_for(code);
                *block_bytes += (col.heap_bytes() - before) as u64;
            }
            col.push(*cell, code);
        }
        for (mask, cell) in block.nulls.iter_mut().zip(cells) {
            if let Some(m) = mask {
                m.push(matches!(cell, Cell::Null));
            }
        }
        let mut given = values.iter_mut();
        for (held, c) in block.values.iter_mut().zip(&datasource.columns) {
            if let Some(h) = held {
                h.push(match given.next() {
                    Some(v) => std::mem::replace(v, Value::Null),
                    None => empty_value(&c.declared),
                });
            }
        }
        block.rows += 1;
        block.min_time = block.min_time.min(time);
        block.max_time = block.max_time.max(time);
        self.rows += 1;
        Ok(())
    }

    /// True when both stores hold the same rows in the same blocks with the same dictionaries.
    /// Floats compare by their bits, so stored NaNs compare equal to themselves.
    pub fn same_contents(&self, other: &Store) -> bool {
        let same_blocks = |a: &Block, b: &Block| {
            a.rows == b.rows
                && a.min_time == b.min_time
                && a.max_time == b.max_time
                && a.columns.len() == b.columns.len()
                && a.columns
                    .iter()
                    .zip(&b.columns)
                    .all(|(x, y)| x.same_bits(y))
                && a.nulls == b.nulls
                && a.values.len() == b.values.len()
                && a.values
                    .iter()
                    .zip(&b.values)
                    .all(|(x, y)| same_values(x, y))
        };
        self.rows == other.rows
            && self.partitions.len() == other.partitions.len()
            && self.partitions.iter().zip(&other.partitions).all(|(p, q)| {
                p.key == q.key
                    && p.blocks.len() == q.blocks.len()
                    && p.blocks
                        .iter()
                        .zip(&q.blocks)
                        .all(|(a, b)| same_blocks(a, b))
            })
            && self.dicts.len() == other.dicts.len()
            && self.dicts.iter().zip(&other.dicts).all(|(a, b)| {
                a.as_ref().map(Dictionary::strings) == b.as_ref().map(Dictionary::strings)
            })
    }

    /// The range of times `[lo, hi)` sharing `time`'s partition key.
    fn partition_range(&self, time: i64) -> (i64, i64) {
        let unit = match self.datasource.time_column {
            Some(c) if self.datasource.columns[c].ty == ColumnType::DateTime64 => 1000,
            _ => 1,
        };
        let (y, m, d) = time::civil_from_days(time.div_euclid(unit).div_euclid(86_400));
        let (lo, hi) = match self.datasource.partition {
            PartitionKey::None => return (i64::MIN, i64::MAX),
            PartitionKey::YearMonth(_) => {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (
                    time::days_from_civil(y, m, 1),
                    time::days_from_civil(ny, nm, 1),
                )
            }
            PartitionKey::Year(_) => (
                time::days_from_civil(y, 1, 1),
                time::days_from_civil(y + 1, 1, 1),
            ),
            PartitionKey::Day(_) => {
                let day = time::days_from_civil(y, m, d);
                (day, day + 1)
            }
        };
        (lo * 86_400 * unit, hi * 86_400 * unit)
    }

    fn partition_key(&self, time: i64) -> i64 {
        let seconds = match self.datasource.time_column {
            Some(c) if self.datasource.columns[c].ty == ColumnType::DateTime64 => {
                time.div_euclid(1000)
            }
            _ => time,
        };
        let (y, m, d) = time::civil_from_days(seconds.div_euclid(86_400));
        match self.datasource.partition {
            PartitionKey::None => 0,
            PartitionKey::YearMonth(_) => y * 100 + i64::from(m),
            PartitionKey::Year(_) => y,
            PartitionKey::Day(_) => y * 10_000 + i64::from(m) * 100 + i64::from(d),
        }
    }

    #[inline]
    fn partition_for(&mut self, key: i64) -> usize {
        if let Some(p) = self.partitions.get(self.last_partition) {
            if p.key == key {
                return self.last_partition;
            }
        }
        let idx = match self.partitions.binary_search_by_key(&key, |p| p.key) {
            Ok(i) => i,
            Err(i) => {
                self.partitions.insert(
                    i,
                    Partition {
                        key,
                        blocks: Vec::new(),
                    },
                );
                i
            }
        };
        self.last_partition = idx;
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: u64, model: (u32, u32), tokens: u64) -> Vec<Cell> {
        vec![
            Cell::U(t),
            Cell::Str(model.0, model.1),
            Cell::U(tokens),
            Cell::U(0),
            Cell::U(tokens),
            Cell::F32(0.5),
            Cell::F32(1.25),
            Cell::U(1),
            Cell::Str(0, 0),
            // provider, cache read, cache write, reasoning, source format, request id, user
            // id, cost source, time source.
            Cell::Str(0, 0),
            Cell::U(0),
            Cell::U(0),
            Cell::U(0),
            Cell::Str(0, 0),
            Cell::Str(0, 0),
            Cell::Str(0, 0),
            Cell::Str(0, 0),
            Cell::Str(0, 0),
        ]
    }

    #[test]
    fn rows_go_to_month_partitions_with_block_ranges() {
        let mut s = Store::new(Datasource::llm_events(), u64::MAX);
        let text = "gpt-4oclaude";
        // 2024-02-01 00:00:00 and 2024-01-15 00:00:00
        s.push_row(&row(1_706_745_600, (0, 6), 10), text).unwrap();
        s.push_row(&row(1_705_276_800, (6, 6), 20), text).unwrap();
        s.push_row(&row(1_706_745_601, (0, 6), 30), text).unwrap();
        assert_eq!(s.rows(), 3);
        let keys: Vec<i64> = s.partitions().iter().map(|p| p.key()).collect();
        assert_eq!(keys, vec![202401, 202402]);
        let feb = &s.partitions()[1].blocks()[0];
        assert_eq!(feb.rows(), 2);
        assert_eq!(
            (feb.min_time(), feb.max_time()),
            (1_706_745_600, 1_706_745_601)
        );
        assert_eq!(feb.column(2), &ColumnData::U32(vec![10, 30]));
        let d = s.dictionary(1).unwrap();
        assert!(matches!(feb.column(1), ColumnData::Str8(_)));
        let codes = feb.column(1).codes().unwrap();
        assert_eq!(d.get(codes[0]), "gpt-4o");
        assert!(s.dictionary(2).is_none());
        assert!(feb.column(2).codes().is_none());
    }

    #[test]
    fn string_codes_widen_as_dictionaries_grow() {
        let mut s = Store::new(Datasource::llm_events(), u64::MAX);
        let names: String = (0..70_000).map(|i| format!("m{i:05}")).collect();
        for i in 0..70_000u32 {
            s.push_row(&row(1_706_745_600, (i * 6, 6), 1), &names)
                .unwrap();
        }
        let d = s.dictionary(1).unwrap();
        assert_eq!(d.len(), 70_001);
        let widths: Vec<usize> = s.blocks().map(|b| b.column(1).width()).collect();
        assert_eq!(widths[0], 2, "the first block widened from 1 to 2 bytes");
        assert_eq!(*widths.last().unwrap(), 4);
        let mut k = 0;
        for b in s.blocks() {
            for c in b.column(1).codes().unwrap().iter() {
                assert_eq!(d.get(*c), format!("m{k:05}"));
                k += 1;
            }
        }
        assert_eq!(k, 70_000);
        let reserved: u64 = s
            .blocks()
            .flat_map(|b| b.columns())
            .map(|c| c.heap_bytes() as u64)
            .sum();
        let dictionaries: u64 = (0..s.datasource().columns.len())
            .filter_map(|i| s.dictionary(i))
            .map(|d| d.heap_bytes() as u64)
            .sum();
        assert_eq!(s.bytes(), reserved + dictionaries);
    }

    #[test]
    fn blocks_split_and_budget_is_enforced() {
        let ds = Datasource::llm_events();
        // A block's columns, and a little room for the dictionaries.
        let one_block = (BLOCK_ROWS * (Store::new(ds.clone(), 0).row_width() + 6)) as u64;
        let mut s = Store::new(ds, one_block + 1000);
        for i in 0..BLOCK_ROWS as u64 {
            s.push_row(&row(1_706_745_600 + i, (0, 1), i), "x").unwrap();
        }
        assert_eq!(s.push_row(&row(1_706_745_600, (0, 1), 1), "x"), Err(Full));
        assert_eq!(s.rows(), BLOCK_ROWS as u64);
        assert_eq!(s.blocks().count(), 1);
    }
}
