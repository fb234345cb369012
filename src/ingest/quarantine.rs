//! The quarantine table: every line that could not be stored, with why.
//!
//! Its rows count against the store's byte budget: the table keeps rows until they would take
//! more than [`QUARANTINE_SHARE`] of the budget (or the store has no room left), and from then on
//! only counts the lines it is given, exactly.

use crate::store::Store;
use serde::Serialize;

/// The quarantine table may hold up to `1 / QUARANTINE_SHARE` of the store's byte budget.
pub const QUARANTINE_SHARE: u64 = 4;

/// Bytes the allocator adds to each heap allocation, counted with it.
const ALLOC_OVERHEAD: usize = 16;

/// One quarantined line.
///
/// Two rows are equal when they record the same line of the same stream with the same values
/// and errors; when they were inserted is not compared.
#[derive(Debug, Clone, Eq, Serialize)]
pub struct QuarantineRow {
    /// Name of the stream the line came from.
    pub stream: String,
    /// 1-based line number within its stream.
    pub line: u64,
    /// For each schema column, the text found for it (decoded string or raw JSON, at most 4 KiB
    /// of it, and 64 KiB over the whole line); empty when absent. Trailing empty values are left
    /// out.
    pub values: Vec<String>,
    /// The columns with errors, in schema order.
    pub error_columns: Vec<String>,
    /// Every error of the line.
    pub errors: Vec<String>,
    /// The line itself (lossy UTF-8, bounded) when it could not be read as JSON at all.
    pub raw: Option<String>,
    /// When the line was read: seconds since the epoch, UTC.
    pub inserted_at: i64,
}

impl PartialEq for QuarantineRow {
    fn eq(&self, other: &Self) -> bool {
        self.stream == other.stream
            && self.line == other.line
            && self.values == other.values
            && self.error_columns == other.error_columns
            && self.errors == other.errors
            && self.raw == other.raw
    }
}

fn string_bytes(s: &String) -> usize {
    if s.capacity() == 0 {
        0
    } else {
        s.capacity() + ALLOC_OVERHEAD
    }
}

fn strings_bytes(v: &Vec<String>) -> usize {
    let own = if v.capacity() == 0 {
        0
    } else {
        v.capacity() * std::mem::size_of::<String>() + ALLOC_OVERHEAD
    };
    own + v.iter().map(string_bytes).sum::<usize>()
}

impl QuarantineRow {
    /// Heap bytes the row's texts take (its own size not included).
    pub fn heap_bytes(&self) -> usize {
        string_bytes(&self.stream)
            + strings_bytes(&self.values)
            + strings_bytes(&self.error_columns)
            + strings_bytes(&self.errors)
            + self.raw.as_ref().map_or(0, string_bytes)
    }

    fn shrink(&mut self) {
        self.stream.shrink_to_fit();
        while self.values.last().is_some_and(String::is_empty) {
            self.values.pop();
        }
        for v in [&mut self.values, &mut self.error_columns, &mut self.errors] {
            v.iter_mut().for_each(String::shrink_to_fit);
            v.shrink_to_fit();
        }
        if let Some(r) = &mut self.raw {
            r.shrink_to_fit();
        }
    }
}

/// All quarantined lines, in arrival order: the rows kept, and the count of every line given.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    rows: Vec<QuarantineRow>,
    /// Lines given, kept or not.
    count: u64,
    /// Bytes charged to the store for the kept rows.
    bytes: u64,
    /// Set once a row was not kept: no later row is.
    closed: bool,
}

impl Quarantine {
    /// Adds a row when it fits in the quarantine's share of `store`'s budget (charging its bytes
    /// to the store), else only counts it. Returns whether the row was kept.
    pub fn push(&mut self, mut row: QuarantineRow, store: &mut Store) -> bool {
        self.count += 1;
        if self.closed {
            return false;
        }
        row.shrink();
        let size = std::mem::size_of::<QuarantineRow>();
        let mut cost = row.heap_bytes() as u64;
        let mut grow = 0;
        if self.rows.len() == self.rows.capacity() {
            grow = self.rows.capacity().max(4);
            cost += (grow * size) as u64;
        }
        let share = store.max_bytes() / QUARANTINE_SHARE;
        if self.bytes + cost > share || store.charge(cost).is_err() {
            self.closed = true;
            return false;
        }
        self.rows.reserve_exact(grow);
        self.bytes += cost;
        self.rows.push(row);
        true
    }

    /// Appends the lines `other` quarantined from a later part of a stream, `lines_before`
    /// lines into it: each kept row with its line number shifted by `lines_before`, pushed as
    /// [`Quarantine::push`] pushes it, and the lines `other` only counted, counted (the table
    /// then stops keeping rows, as `other` did).
    pub fn append(&mut self, other: &Quarantine, lines_before: u64, store: &mut Store) {
        for row in &other.rows {
            let mut row = row.clone();
            row.line = row.line.saturating_add(lines_before);
            self.push(row, store);
        }
        let not_kept = other.not_kept();
        if not_kept > 0 {
            self.count += not_kept;
            self.closed = true;
        }
    }

    /// Sets the count of lines given and whether the table stopped keeping rows, as a store
    /// file records them, once its kept rows were pushed again.
    pub(crate) fn restore_counts(&mut self, count: u64, closed: bool) {
        self.count = count.max(self.rows.len() as u64);
        self.closed = closed;
    }

    /// Counts a line without its row, once the table stopped keeping rows.
    pub fn count_closed(&mut self) {
        self.count += 1;
    }

    /// True once the table stopped keeping rows (later lines are only counted).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The rows kept.
    pub fn rows(&self) -> &[QuarantineRow] {
        &self.rows
    }

    /// Number of lines quarantined, kept or not.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Number of lines quarantined, kept or not.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Number of quarantined lines counted but not kept.
    pub fn not_kept(&self) -> u64 {
        self.count - self.rows.len() as u64
    }

    /// Bytes charged to the store for the kept rows.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True when nothing was quarantined.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}
