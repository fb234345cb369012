//! The quarantine table: every line that could not be stored, with why.

use serde::Serialize;

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
    /// For each schema column, the text found for it (decoded string or raw JSON); empty when absent.
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

/// All quarantined lines, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Quarantine {
    rows: Vec<QuarantineRow>,
}

impl Quarantine {
    /// Adds a row.
    pub fn push(&mut self, row: QuarantineRow) {
        self.rows.push(row);
    }

    /// All rows.
    pub fn rows(&self) -> &[QuarantineRow] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing was quarantined.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
