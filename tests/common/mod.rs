//! Helpers shared by the ingest robustness tests and the `decoder` fuzz target.

use llm_metrics::{EventStore, Report};

/// Whether two ingests ended the same: reports, stored rows (NaN equal to itself) and quarantine.
pub fn same_ingest(a: &(EventStore, Vec<Report>), b: &(EventStore, Vec<Report>)) -> bool {
    a.1 == b.1
        && a.0.store().same_contents(b.0.store())
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
