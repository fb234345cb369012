//! The quarantine table: every line that could not be stored, with why.

use serde::Serialize;

/// One quarantined line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
