//! Helpers shared by the ingest robustness tests and the `decoder` fuzz target.

use llm_metrics::{ColumnData, EventStore, Report, Store};

/// Whether two stores hold the same rows in the same blocks with the same dictionaries, floats
/// compared bit for bit (so a stored NaN equals itself).
pub fn same_store(a: &Store, b: &Store) -> bool {
    fn same_column(x: &ColumnData, y: &ColumnData) -> bool {
        match (x, y) {
            (ColumnData::F32(x), ColumnData::F32(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            (ColumnData::F64(x), ColumnData::F64(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            _ => x == y,
        }
    }
    let columns = a.datasource().columns.len();
    a.rows() == b.rows()
        && a.partitions().len() == b.partitions().len()
        && a.partitions().iter().zip(b.partitions()).all(|(p, q)| {
            p.key() == q.key()
                && p.blocks().len() == q.blocks().len()
                && p.blocks().iter().zip(q.blocks()).all(|(x, y)| {
                    x.rows() == y.rows()
                        && x.min_time() == y.min_time()
                        && x.max_time() == y.max_time()
                        && x.columns().len() == y.columns().len()
                        && x.columns()
                            .iter()
                            .zip(y.columns())
                            .all(|(c, d)| same_column(c, d))
                })
        })
        && (0..columns)
            .all(|i| a.dictionary(i).map(|d| d.strings()) == b.dictionary(i).map(|d| d.strings()))
}

/// Whether two ingests ended the same: reports, stored rows and quarantine.
pub fn same_ingest(a: &(EventStore, Vec<Report>), b: &(EventStore, Vec<Report>)) -> bool {
    a.1 == b.1
        && same_store(a.0.store(), b.0.store())
        && a.0.quarantine().rows() == b.0.quarantine().rows()
}

/// Lines as the decoder must count them: LF, CRLF or a lone CR ends one; a tail without an end
/// counts too.
pub fn count_lines(data: &[u8]) -> u64 {
    let mut lines = 0;
    let mut open = false;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                lines += 1;
                open = false;
            }
            b'\r' => {
                lines += 1;
                open = false;
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => open = true,
        }
        i += 1;
    }
    lines + u64::from(open)
}
