//! Streaming NDJSON ingest: `write(chunk)` any chunking, `end()`; bad lines go to quarantine.
//!
//! The [`Decoder`] splits bytes into lines (LF, CRLF or lone CR), keeping only the unfinished
//! tail of a line between chunks; complete lines are parsed straight from the chunk. Each line is
//! validated as UTF-8 and JSON, its schema columns are located by [`json::scan_line`] and converted
//! by [`value::convert`]; a row with any error is kept in the [`Quarantine`] with every error found,
//! never dropped. Results do not depend on how the bytes are chunked.

mod container;
pub mod json;
mod quarantine;
mod simd;
pub mod value;
pub mod values;

pub use quarantine::{Quarantine, QuarantineRow};

use crate::error::{Error, ErrorKind, Result};
use crate::formats::{CostSource, Format, Item, Record, Skip};
use crate::schema::{ColumnType, Datasource, DefaultValue};
use crate::store::{Cell, Full, Store};
use json::{Found, PathTrie};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet, VecDeque};
use value::Reject;

/// Default longest line accepted: 8 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 8 << 20;
/// How many model names a [`Report`] lists as unpriced.
pub const REPORT_UNPRICED: usize = 100;
/// How many error messages a [`Report`] quotes verbatim.
pub const REPORT_ERRORS: usize = 5;

/// What one stream (file or response body) delivered, returned by `end()`.
///
/// For every stream `records == rows + quarantined + skipped`. A line holds one record, or, in
/// an OpenTelemetry export, one per span (at least one: a line without spans is one skipped
/// record), so `lines == blank + records` wherever each line is one record, as in the canonical
/// shape, where `lines == rows + quarantined + blank`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The stream's name.
    pub stream: String,
    /// The format recognised: a format's name (`llm_events` for the canonical shape, see
    /// `crate::formats::Format::name`), `mixed` when records of several formats came, empty
    /// when no record did.
    pub format: String,
    /// Records read per format (lines that are not JSON, or of no known shape, count under
    /// `unknown`).
    pub formats: BTreeMap<String, u64>,
    /// Lines read (a final line without a newline counts).
    pub lines: u64,
    /// Records read: rows, quarantined and skipped.
    pub records: u64,
    /// Rows stored.
    pub rows: u64,
    /// Records quarantined (kept in the quarantine table or only counted).
    pub quarantined: u64,
    /// Records of a known format that are not model calls, or repeat one already counted.
    pub skipped: u64,
    /// Skipped records per reason.
    pub skipped_by: BTreeMap<String, u64>,
    /// Rows whose record has no time and that took the stream's (see `Decoder::set_stream_time`).
    pub time_from_stream: u64,
    /// Records of vendor formats whose cost came from the log.
    pub cost_from_log: u64,
    /// Records of vendor formats whose cost came from the price table (see `price_table`).
    pub cost_from_table: u64,
    /// Records of vendor formats the price table has no price for (cost 0), per model name (at
    /// most 100 names).
    pub unpriced: BTreeMap<String, u64>,
    /// The price table in use: its package and version, or empty without one.
    pub price_table: String,
    /// Of the quarantined lines, those counted but not kept in the quarantine table: it keeps
    /// rows up to a quarter of the store's byte budget.
    pub not_kept: u64,
    /// Empty or whitespace-only lines.
    pub blank: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The first few quarantine reasons, as `line N: reason`.
    pub errors: Vec<String>,
}

/// The streaming line decoder of one datasource.
#[derive(Debug, Clone)]
pub struct Decoder {
    trie: PathTrie,
    types: Vec<ColumnType>,
    /// Per column, the type named in messages: the stored type's name, or the declared one.
    type_names: Vec<String>,
    /// Per column, the declared type of [`ColumnType::Values`] columns.
    declared: Vec<Option<crate::schema::TypeDesc>>,
    /// The values of the row's [`ColumnType::Values`] columns.
    values: Vec<crate::query::Value>,
    /// Per column, whether it is `Nullable` (a missing key or `null` is stored as `NULL`).
    nullable: Vec<bool>,
    names: Vec<String>,
    time_column: Option<usize>,
    /// Each column's `DEFAULT`, stored for a missing or null value.
    defaults: Vec<Option<DefaultValue>>,
    max_line_bytes: usize,
    streams_started: u64,
    open: bool,
    report: Report,
    pending: Vec<u8>,
    pending_len_total: u64,
    /// `report.bytes` where the current line starts.
    line_start: u64,
    overflow: bool,
    after_cr: bool,
    full: Option<Error>,
    found: Vec<Option<Found>>,
    cells: Vec<Cell>,
    text: String,
    unescape: Vec<u8>,
    now: i64,
    /// Vendor formats: on for the shipped `llm_events` datasource.
    formats: Option<Box<Formats>>,
    /// The open stream is a JSON document (named `*.json`) or CSV (`*.csv`), read as lines.
    document: Option<Document>,
    document_lines: Vec<u8>,
    /// Bytes of the open stream as given, when a document's lines differ from them.
    source_bytes: u64,
}

/// A stream read as lines of JSON by a container reader.
#[derive(Debug, Clone)]
enum Document {
    Json(container::JsonDocument),
    Csv(Box<container::CsvDocument>),
}

/// Calls repeated over lines that may be open at once: a stream interleaving the chunks of more
/// calls than this stores the least recently updated ones first, and a later line of a stored call
/// is skipped as a repeat.
pub const OPEN_CALLS: usize = 64;

/// The decoder's state for vendor formats.
#[derive(Debug, Clone, Default)]
struct Formats {
    /// The format the caller chose for the open stream, instead of detecting each line's.
    forced: Option<Format>,
    /// The time (seconds) given with the open stream, for records that have none.
    stream_time: Option<i64>,
    /// The price table for records without a cost.
    prices: Option<std::sync::Arc<crate::formats::prices::PriceTable>>,
    items: Vec<Item>,
    canonical: String,
    /// Records repeated over lines (Claude Code messages, streamed chunks), least recently
    /// updated first: the latest line of each call still open, with its line number and format.
    /// A call is stored when [`OPEN_CALLS`] later calls have been updated since, or when the
    /// stream ends, so the lines of up to that many calls may interleave.
    held: VecDeque<(u64, Box<Record>, u64, &'static str)>,
    /// Keys of repeated records already stored.
    seen: HashSet<u64>,
    /// Bytes charged to the store for `held`.
    charged: u64,
}

impl Decoder {
    /// A decoder for `ds` that quarantines lines longer than `max_line_bytes`.
    pub fn new(ds: &Datasource, max_line_bytes: usize) -> Decoder {
        Decoder {
            trie: PathTrie::new(ds.columns.iter().map(|c| c.path.as_slice())),
            types: ds.columns.iter().map(|c| c.ty).collect(),
            type_names: ds
                .columns
                .iter()
                .map(|c| match &c.declared {
                    Some(d) => d.to_string(),
                    None => c.ty.name().to_string(),
                })
                .collect(),
            declared: ds
                .columns
                .iter()
                .map(|c| {
                    (c.ty == ColumnType::Values)
                        .then(|| c.declared.clone())
                        .flatten()
                })
                .collect(),
            values: Vec::new(),
            nullable: ds.columns.iter().map(|c| c.nullable).collect(),
            defaults: ds.columns.iter().map(|c| c.default.clone()).collect(),
            names: ds.columns.iter().map(|c| c.name.clone()).collect(),
            time_column: ds.time_column,
            max_line_bytes: max_line_bytes.max(1),
            streams_started: 0,
            open: false,
            report: Report::default(),
            pending: Vec::new(),
            pending_len_total: 0,
            line_start: 0,
            overflow: false,
            after_cr: false,
            full: None,
            found: vec![None; ds.columns.len()],
            cells: Vec::with_capacity(ds.columns.len()),
            text: String::new(),
            unescape: Vec::new(),
            now: 0,
            formats: is_llm_events(ds).then(Box::default),
            document: None,
            document_lines: Vec::new(),
            source_bytes: 0,
        }
    }

    /// Whether lines in vendor formats are recognised (for the shipped `llm_events` datasource).
    pub fn reads_formats(&self) -> bool {
        self.formats.is_some()
    }

    /// Chooses the format of the open (or next) stream's lines instead of detecting each line's,
    /// or goes back to detection with `None`. Ignored where vendor formats are not read.
    pub fn set_format(&mut self, format: Option<Format>) {
        if let Some(f) = &mut self.formats {
            f.forced = format;
        }
    }

    /// Sets the price table that costs records of vendor formats whose log gives no cost;
    /// `None` leaves their cost 0.
    pub fn set_prices(
        &mut self,
        prices: Option<std::sync::Arc<crate::formats::prices::PriceTable>>,
    ) {
        if let Some(f) = &mut self.formats {
            f.prices = prices;
        }
    }

    /// The time (seconds since the epoch) that records of the open (or next) stream without a
    /// time of their own take; `None` for the wall clock at the time of loading.
    pub fn set_stream_time(&mut self, secs: Option<i64>) {
        if let Some(f) = &mut self.formats {
            f.stream_time = secs;
        }
    }

    /// Starts a stream named `name` (ends an open one first, returning its report).
    ///
    /// Fails when ending the open stream does (its last line did not fit in the store); the new
    /// stream is started all the same.
    pub fn begin(
        &mut self,
        name: Option<&str>,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<Option<Report>> {
        let previous = if self.open {
            Some(self.end(store, q))
        } else {
            None
        };
        self.streams_started += 1;
        self.open = true;
        self.source_bytes = 0;
        self.document = match name {
            Some(n) if self.formats.is_some() && container::is_json_document(n) => Some(
                Document::Json(container::JsonDocument::new(self.max_line_bytes)),
            ),
            Some(n) if self.formats.is_some() && container::is_csv(n) => Some(Document::Csv(
                Box::new(container::CsvDocument::new(self.max_line_bytes)),
            )),
            _ => None,
        };
        self.report = Report {
            stream: match name {
                Some(n) => stream_name(n),
                None => format!("stream-{}", self.streams_started),
            },
            ..Report::default()
        };
        previous.transpose()
    }

    /// Sets the time (seconds since the epoch) recorded on lines quarantined from now on.
    pub fn set_now(&mut self, now: i64) {
        self.now = now;
    }

    /// What a store file keeps of the decoder: the number of streams started (which names the
    /// next unnamed stream) and the keys of repeated records already stored.
    pub(crate) fn saved_state(&self) -> (u64, Vec<u64>) {
        let mut seen: Vec<u64> = self
            .formats
            .as_ref()
            .map(|f| f.seen.iter().copied().collect())
            .unwrap_or_default();
        seen.sort_unstable();
        (self.streams_started, seen)
    }

    /// Restores what [`Decoder::saved_state`] gave.
    pub(crate) fn restore_state(&mut self, streams_started: u64, seen: Vec<u64>) {
        self.streams_started = streams_started;
        if let Some(f) = &mut self.formats {
            f.seen = seen.into_iter().collect();
        }
    }

    /// Bytes charged to the store for records held back while later lines may repeat them.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.formats.as_ref().map_or(0, |f| f.charged)
    }

    /// True while a stream is open.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Counts of the open stream so far.
    pub fn progress(&self) -> &Report {
        &self.report
    }

    /// Feeds the next chunk of the open stream (opening a default-named one if needed).
    ///
    /// Fails only when the store is full; the rows before the failing line stay stored and every
    /// later call fails the same way.
    pub fn write(&mut self, chunk: &[u8], store: &mut Store, q: &mut Quarantine) -> Result<()> {
        if let Some(e) = &self.full {
            return Err(e.clone());
        }
        if !self.open {
            self.begin(None, store, q)?;
        }
        if let Some(doc) = &mut self.document {
            let mut lines = std::mem::take(&mut self.document_lines);
            lines.clear();
            match doc {
                Document::Json(d) => d.feed(chunk, &mut lines),
                Document::Csv(d) => d.feed(chunk, &mut lines),
            }
            self.source_bytes += chunk.len() as u64;
            let result = self.write_lines(&lines, store, q);
            if lines.capacity() > (4 << 20) {
                lines = Vec::new();
            }
            self.document_lines = lines;
            return result;
        }
        self.write_lines(chunk, store, q)
    }

    /// Splits bytes of NDJSON into lines and processes every complete one.
    fn write_lines(&mut self, chunk: &[u8], store: &mut Store, q: &mut Quarantine) -> Result<()> {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
                if self.line_start == self.report.bytes {
                    self.line_start += 1;
                }
                self.report.bytes += 1;
            }
        }
        while !rest.is_empty() {
            let (end, ascii) = scan_line_end(rest);
            match end {
                Some(p) => {
                    let is_cr = rest[p] == b'\r';
                    let mut consumed = p + 1;
                    if is_cr {
                        if p + 1 < rest.len() {
                            if rest[p + 1] == b'\n' {
                                consumed += 1;
                            }
                        } else {
                            self.after_cr = true;
                        }
                    }
                    let line_part = &rest[..p];
                    self.report.bytes += consumed as u64;
                    if self.pending.is_empty() && !self.overflow {
                        if line_part.len() > self.max_line_bytes {
                            self.overflow = true;
                            self.pending.extend_from_slice(
                                &line_part[..QUARANTINE_RAW_BYTES.min(line_part.len())],
                            );
                            self.pending_len_total = line_part.len() as u64;
                            self.finish_line(None, store, q)?;
                        } else {
                            self.finish_line(Some((line_part, ascii)), store, q)?;
                        }
                    } else {
                        self.append_pending(line_part);
                        self.finish_line(None, store, q)?;
                    }
                    self.line_start = self.report.bytes;
                    rest = &rest[consumed..];
                }
                None => {
                    self.report.bytes += rest.len() as u64;
                    self.append_pending(rest);
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    /// Ends the open stream: parses a final unterminated line and returns the stream's report.
    ///
    /// Fails when that last line does not fit in the store (the stream is ended all the same and
    /// every later write fails the same way). A store that filled up earlier in the stream was
    /// reported by `write`; `end` then returns the report of the lines read before.
    pub fn end(&mut self, store: &mut Store, q: &mut Quarantine) -> Result<Report> {
        if !self.open {
            self.begin(None, store, q)?;
        }
        let mut result = Ok(());
        if let Some(mut doc) = self.document.take() {
            if self.full.is_none() {
                let mut lines = Vec::new();
                match &mut doc {
                    Document::Json(d) => d.finish(&mut lines),
                    Document::Csv(d) => d.finish(&mut lines),
                }
                result = self.write_lines(&lines, store, q);
            }
            self.report.bytes = self.source_bytes;
        }
        if result.is_ok() && (!self.pending.is_empty() || self.overflow) && self.full.is_none() {
            result = self.finish_line(None, store, q);
        }
        if result.is_ok() && self.full.is_none() {
            result = self.flush_held(store, q);
        }
        if let Some(f) = &mut self.formats {
            f.held.clear();
            store.release(f.charged);
            f.charged = 0;
            f.forced = None;
            f.stream_time = None;
        }
        if let Some(table) = self.formats.as_ref().and_then(|f| f.prices.as_ref()) {
            self.report.price_table = table.source.clone();
        }
        let mut known = self.report.formats.keys().filter(|k| *k != UNKNOWN);
        self.report.format = match (known.next(), known.next()) {
            (None, _) => String::new(),
            (Some(one), None) => one.clone(),
            (Some(_), Some(_)) => "mixed".to_string(),
        };
        self.pending.clear();
        self.overflow = false;
        self.after_cr = false;
        self.pending_len_total = 0;
        self.line_start = 0;
        self.open = false;
        let report = std::mem::take(&mut self.report);
        result.map(|()| report)
    }
}

impl Decoder {
    fn append_pending(&mut self, part: &[u8]) {
        self.pending_len_total += part.len() as u64;
        if self.overflow {
            let room = QUARANTINE_RAW_BYTES.saturating_sub(self.pending.len());
            self.pending
                .extend_from_slice(&part[..room.min(part.len())]);
            return;
        }
        if self.pending.len() + part.len() > self.max_line_bytes {
            self.overflow = true;
            self.pending.truncate(QUARANTINE_RAW_BYTES);
            let room = QUARANTINE_RAW_BYTES.saturating_sub(self.pending.len());
            self.pending
                .extend_from_slice(&part[..room.min(part.len())]);
        } else {
            self.pending.extend_from_slice(part);
        }
    }

    /// Completes a line: `line` (with whether it is known to be ASCII), or the pending bytes
    /// when `None`.
    fn finish_line(
        &mut self,
        line: Option<(&[u8], bool)>,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        let result = match line {
            Some((l, ascii)) => self.process_line(l, ascii, store, q),
            None => {
                let pending = std::mem::take(&mut self.pending);
                let r = self.process_line(&pending, false, store, q);
                self.pending = pending;
                self.pending.clear();
                if self.pending.capacity() > (1 << 20) {
                    self.pending.shrink_to(1 << 16);
                }
                r
            }
        };
        self.overflow = false;
        self.pending_len_total = 0;
        result
    }

    /// Counts a quarantined line and hands the row `make` builds to the quarantine table (the
    /// row is not built when neither the table nor the report would take it).
    fn quarantine(
        &mut self,
        store: &mut Store,
        q: &mut Quarantine,
        make: impl FnOnce(&Self) -> QuarantineRow,
    ) {
        self.report.quarantined += 1;
        let quote = self.report.errors.len() < REPORT_ERRORS;
        if q.is_closed() && !quote {
            q.count_closed();
            self.report.not_kept += 1;
            return;
        }
        let row = make(self);
        if quote {
            self.report
                .errors
                .push(format!("line {}: {}", row.line, row.errors.join("; ")));
        }
        if !q.push(row, store) {
            self.report.not_kept += 1;
        }
    }

    fn raw_row(&self, line_no: u64, raw: &[u8], error: String) -> QuarantineRow {
        let keep = &raw[..raw.len().min(QUARANTINE_RAW_BYTES)];
        let mut text = String::from_utf8_lossy(keep).into_owned();
        if raw.len() > keep.len() {
            text.push_str(&format!(
                " … [{} more bytes not kept]",
                raw.len() - keep.len()
            ));
        }
        QuarantineRow {
            stream: self.report.stream.clone(),
            line: line_no,
            values: Vec::new(),
            error_columns: Vec::new(),
            errors: vec![error],
            raw: Some(text),
            inserted_at: self.now,
        }
    }

    fn process_line(
        &mut self,
        line: &[u8],
        ascii: bool,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        self.report.lines += 1;
        let line_no = self.report.lines;
        let mut l = line;
        if line_no == 1 {
            if let Some(rest) = l.strip_prefix(b"\xEF\xBB\xBF") {
                l = rest;
            }
        }
        if self.overflow {
            self.count_record(UNKNOWN);
            let total = self.pending_len_total;
            let error = format!(
                "line too long: {total} bytes (the limit is {} bytes)",
                self.max_line_bytes
            );
            self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
            return Ok(());
        }
        if l.iter().all(|&c| json::is_space(c)) {
            self.report.blank += 1;
            return Ok(());
        }
        let checked = if ascii {
            Ok(())
        } else {
            std::str::from_utf8(l).map(|_| ())
        };
        match checked {
            Ok(()) => {}
            Err(e) => {
                self.count_record(UNKNOWN);
                let error = format!("invalid UTF-8 at byte {}", e.valid_up_to());
                self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
                return Ok(());
            }
        };
        self.found.iter_mut().for_each(|f| *f = None);
        if let Err(e) = json::scan_line(l, &self.trie, &mut self.found) {
            self.count_record(UNKNOWN);
            let error = format!("invalid JSON at byte {}: {}", e.at, e.message);
            self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
            return Ok(());
        }
        if self.formats.is_some() && self.time_column.is_some_and(|c| self.found[c].is_none()) {
            return self.process_vendor(l, line_no, store, q);
        }
        self.count_record(Format::Canonical.name());
        self.store_found(l, line_no, true, store, q)
    }

    /// Counts a record of `format`.
    fn count_record(&mut self, format: &str) {
        self.report.records += 1;
        match self.report.formats.get_mut(format) {
            Some(n) => *n += 1,
            None => {
                self.report.formats.insert(format.to_string(), 1);
            }
        }
    }

    /// Counts a skipped record.
    fn skip(&mut self, why: Skip) {
        self.report.skipped += 1;
        *self
            .report
            .skipped_by
            .entry(why.name().to_string())
            .or_default() += 1;
    }

    /// A line without the time column: a record of a vendor format, or of no known shape.
    fn process_vendor(
        &mut self,
        l: &[u8],
        line_no: u64,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        // serde_json refuses nesting deeper than 128, before the stack is at risk.
        let obj: serde_json::Map<String, serde_json::Value> = match serde_json::from_slice(l) {
            Ok(o) => o,
            Err(e) => {
                self.count_record(UNKNOWN);
                let error = format!("unreadable record: {e}");
                self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
                return Ok(());
            }
        };
        let forced = self.formats.as_ref().and_then(|f| f.forced);
        let format = match forced {
            Some(f) if f != Format::Canonical => {
                if !f.accepts(&obj) {
                    self.count_record(UNKNOWN);
                    let error = format!("not a {} record", f.name());
                    self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
                    return Ok(());
                }
                Some(f)
            }
            _ => crate::formats::detect(&obj).filter(|f| *f != Format::Canonical),
        };
        let Some(format) = format else {
            // No known shape: quarantined for the columns it lacks, as any canonical line.
            self.count_record(UNKNOWN);
            return self.store_found(l, line_no, true, store, q);
        };
        let mut items = self
            .formats
            .as_mut()
            .map(|f| std::mem::take(&mut f.items))
            .unwrap_or_default();
        items.clear();
        format.map(&obj, &mut items);
        drop(obj);
        for item in items.drain(..) {
            self.count_record(format.name());
            match item {
                Item::Row(rec) => self.emit(rec, format.name(), line_no, store, q)?,
                Item::Skip(why) => self.skip(why),
                Item::Bad(msg) => {
                    let error = format!("{} record: {msg}", format.name());
                    self.quarantine(store, q, |d| d.raw_row(line_no, l, error));
                }
            }
        }
        if let Some(f) = &mut self.formats {
            f.items = items;
        }
        Ok(())
    }

    /// Stores a mapped record, or holds it while later lines may repeat it.
    fn emit(
        &mut self,
        rec: Box<Record>,
        format: &'static str,
        line_no: u64,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        let Some(f) = self.formats.as_mut() else {
            return Ok(());
        };
        let Some(key) = rec.key else {
            return self.store_record(&rec, format, line_no, true, store, q);
        };
        if f.seen.contains(&key) {
            self.skip(Skip::RepeatedMessage);
            return Ok(());
        }
        if let Some(i) = f.held.iter().position(|(k, ..)| *k == key) {
            // A later line of an open call: it replaces the one held, which is skipped, and the
            // call becomes the most recently updated.
            if let Some(mut open) = f.held.remove(i) {
                open.1 = rec;
                open.2 = line_no;
                f.held.push_back(open);
            }
            self.skip(Skip::RepeatedMessage);
            return self.charge_held(line_no, store);
        }
        f.held.push_back((key, rec, line_no, format));
        if f.held.len() > OPEN_CALLS {
            if let Some((k, held, at, held_format)) = f.held.pop_front() {
                f.seen.insert(k);
                let b = held.heap_bytes().min(f.charged);
                f.charged -= b;
                store.release(b);
                self.store_record(&held, held_format, at, false, store, q)?;
            }
        }
        self.charge_held(line_no, store)
    }

    /// Brings the bytes charged to the store for the records held back up to date. More than
    /// the budget allows is the store-full error of the line that asked for it.
    fn charge_held(&mut self, line_no: u64, store: &mut Store) -> Result<()> {
        let Some(f) = self.formats.as_mut() else {
            return Ok(());
        };
        let now = f.held.iter().map(|(_, r, ..)| r.heap_bytes()).sum::<u64>();
        let before = f.charged;
        store.release(before);
        if store.charge(now).is_ok() {
            f.charged = now;
            return Ok(());
        }
        // What was charged before still fits: it was charged.
        let _ = store.charge(before);
        Err(self.store_full(store, line_no))
    }

    /// The store-full error of line `line_no`, kept as the stream's.
    fn store_full(&mut self, store: &Store, line_no: u64) -> Error {
        let e = Error::new(ErrorKind::StoreFull {
            rows: store.rows(),
            bytes: store.bytes(),
            line: line_no,
            stream: self.report.stream.clone(),
        });
        self.full = Some(e.clone());
        e
    }

    /// Stores the records held back, least recently updated first.
    fn flush_held(&mut self, store: &mut Store, q: &mut Quarantine) -> Result<()> {
        loop {
            let Some(f) = self.formats.as_mut() else {
                return Ok(());
            };
            let Some((k, held, at, format)) = f.held.pop_front() else {
                return Ok(());
            };
            f.seen.insert(k);
            let b = held.heap_bytes().min(f.charged);
            f.charged -= b;
            store.release(b);
            self.store_record(&held, format, at, false, store, q)?;
        }
    }

    /// Writes a record in the canonical shape and stores it as a canonical line.
    fn store_record(
        &mut self,
        rec: &Record,
        format: &str,
        line_no: u64,
        whole_line: bool,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        let now = self.now;
        let Some(f) = self.formats.as_mut() else {
            return Ok(());
        };
        let stream_time = f.stream_time.unwrap_or(now);
        let (cost, cost_source) = match (&f.prices, rec.cost) {
            (_, Some(_)) => {
                self.report.cost_from_log += 1;
                (None, CostSource::Log)
            }
            (Some(table), None) => match table.cost(rec, stream_time) {
                Some(c) => {
                    self.report.cost_from_table += 1;
                    (Some(c), CostSource::Table(table.cost_source.as_str()))
                }
                None => {
                    let name = if rec.model.is_empty() {
                        "(none)"
                    } else {
                        rec.model.as_str()
                    };
                    match self.report.unpriced.get_mut(name) {
                        Some(n) => *n += 1,
                        None => {
                            if self.report.unpriced.len() < REPORT_UNPRICED {
                                self.report.unpriced.insert(name.to_string(), 1);
                            }
                        }
                    }
                    (None, CostSource::Unpriced)
                }
            },
            (None, None) => (None, CostSource::Unpriced),
        };
        let mut canonical = std::mem::take(&mut f.canonical);
        canonical.clear();
        rec.write_canonical(stream_time, cost, cost_source, format, &mut canonical);
        if rec.time == crate::formats::Time::FromStream {
            self.report.time_from_stream += 1;
        }
        self.found.iter_mut().for_each(|f| *f = None);
        let result = match json::scan_line(canonical.as_bytes(), &self.trie, &mut self.found) {
            Ok(()) => self.store_found(canonical.as_bytes(), line_no, whole_line, store, q),
            Err(e) => {
                let error = format!("invalid JSON at byte {}: {}", e.at, e.message);
                let raw = canonical.clone();
                self.quarantine(store, q, |d| d.raw_row(line_no, raw.as_bytes(), error));
                Ok(())
            }
        };
        if let Some(f) = self.formats.as_mut() {
            f.canonical = canonical;
        }
        result
    }

    /// Converts the columns found in `l` and stores the row, or quarantines it. On a full store,
    /// the report is rolled back to before the line when `whole_line`, else to before the record.
    fn store_found(
        &mut self,
        l: &[u8],
        line_no: u64,
        whole_line: bool,
        store: &mut Store,
        q: &mut Quarantine,
    ) -> Result<()> {
        self.cells.clear();
        self.text.clear();
        self.values.clear();
        let mut errors: Vec<(usize, Reject)> = Vec::new();
        // What the row's values may hold: the store's room (asked for only where there are
        // such columns: `bytes` visits every dictionary).
        let room = if self.declared.iter().any(Option::is_some) {
            usize::try_from(store.max_bytes().saturating_sub(store.bytes())).unwrap_or(usize::MAX)
        } else {
            0
        };
        for col in 0..self.types.len() {
            if let Some(declared) = &self.declared[col] {
                self.cells.push(Cell::Null);
                let v = values::read(declared, self.found[col], l, room, &mut self.unescape)
                    .unwrap_or_else(|r| {
                        errors.push((col, r));
                        crate::query::Value::Null
                    });
                self.values.push(v);
                continue;
            }
            if let Some(d) = &self.defaults[col] {
                // A JSON null in a Nullable column stays NULL; only a missing key takes the
                // DEFAULT there, as in ClickHouse.
                let absent = match self.found[col] {
                    None => true,
                    Some(f) => f.kind == json::Kind::Null && !f.duplicate && !self.nullable[col],
                };
                if absent {
                    self.cells
                        .push(default_cell(self.types[col], d, self.now, &mut self.text));
                    continue;
                }
            }
            let required = self.time_column == Some(col);
            let absent =
                !matches!(self.found[col], Some(f) if f.kind != json::Kind::Null || f.duplicate);
            if absent && self.nullable[col] && !required {
                self.cells.push(Cell::Null);
                continue;
            }
            match value::convert(
                self.types[col],
                self.found[col],
                l,
                required,
                &mut self.text,
                &mut self.unescape,
            ) {
                Ok(c) => self.cells.push(c),
                Err(r) => {
                    errors.push((col, r));
                    self.cells.push(Cell::U(0));
                }
            }
        }
        if !errors.is_empty() {
            self.quarantine(store, q, |d| d.rejected_row(line_no, l, &errors));
            return Ok(());
        }
        match store.push_row_values(&self.cells, &self.text, &mut self.values) {
            Ok(()) => {
                self.report.rows += 1;
                Ok(())
            }
            Err(Full) => {
                // The report covers the lines before this one, whatever the chunking.
                self.report.records -= 1;
                if whole_line {
                    self.report.lines -= 1;
                    self.report.bytes = self.line_start;
                }
                Err(self.store_full(store, line_no))
            }
        }
    }

    fn rejected_row(&self, line_no: u64, l: &[u8], errors: &[(usize, Reject)]) -> QuarantineRow {
        // Each value is kept up to QUARANTINE_VALUE_BYTES, and all of them up to
        // QUARANTINE_RAW_BYTES.
        let mut room = QUARANTINE_RAW_BYTES;
        let values: Vec<String> = self
            .found
            .iter()
            .map(|f| {
                let text = match f {
                    Some(f) => {
                        let raw = l.get(f.start as usize..f.end as usize).unwrap_or_default();
                        let mut buf = Vec::new();
                        if f.kind == json::Kind::Str
                            && f.escaped
                            && json::unescape_into(raw, &mut buf).is_ok()
                        {
                            String::from_utf8_lossy(&buf).into_owned()
                        } else {
                            String::from_utf8_lossy(raw).into_owned()
                        }
                    }
                    None => String::new(),
                };
                let kept = truncated(text, QUARANTINE_VALUE_BYTES.min(room));
                room -= kept.len().min(room);
                kept
            })
            .collect();
        let mut error_columns = Vec::new();
        let mut messages = Vec::new();
        for (col, r) in errors {
            let name = &self.names[*col];
            let ty = self.type_names[*col].as_str();
            let shown = shorten(values.get(*col).map_or("", String::as_str), 120);
            let m = match r {
                Reject::NotType => format!("value '{shown}' on column '{name}' is not {ty}"),
                Reject::OutOfRange => {
                    format!("value '{shown}' on column '{name}' is out of range for {ty}")
                }
                Reject::Fraction => {
                    format!("value '{shown}' on column '{name}' is not an integer ({ty})")
                }
                Reject::Negative => {
                    format!("value '{shown}' on column '{name}' is negative but {ty} is unsigned")
                }
                Reject::MissingTime => {
                    if self.found[*col].is_some() {
                        format!("column '{name}' is null; every row needs a time")
                    } else {
                        format!("column '{name}' is missing; every row needs a time")
                    }
                }
                Reject::Duplicate => format!("key for column '{name}' appears more than once"),
                Reject::TooLarge => format!(
                    "value on column '{name}' holds more than the store has room for ({ty})"
                ),
            };
            error_columns.push(name.clone());
            messages.push(m);
        }
        QuarantineRow {
            stream: self.report.stream.clone(),
            line: line_no,
            values,
            error_columns,
            errors: messages,
            raw: None,
            inserted_at: self.now,
        }
    }
}

/// `s` cut to at most `max` bytes (at a character boundary) and marked `…` when cut, for
/// messages that quote input.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The format name lines that are not JSON, or of no known shape, are counted under.
pub const UNKNOWN: &str = "unknown";

/// Whether `ds` has the shipped `llm_events` columns, whose lines may come in vendor formats.
fn is_llm_events(ds: &Datasource) -> bool {
    ds.columns == crate::schema::Datasource::llm_events().columns
}

/// Raw bytes kept of a line that is too long or not JSON, and of all the column values of a
/// quarantined line together.
pub const QUARANTINE_RAW_BYTES: usize = 64 << 10;

/// Bytes kept of one column's value in a quarantined line.
pub const QUARANTINE_VALUE_BYTES: usize = 4 << 10;

/// `s` cut to at most `max` bytes (at a character boundary), with a note of how many more
/// bytes there were.
fn truncated(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let more = s.len() - end;
    s.truncate(end);
    s.push_str(&format!(" … [{more} more bytes not kept]"));
    s
}

/// Position of the first `\n` or `\r` in `b`, and whether every byte before it is ASCII, in one
/// pass of 16-byte blocks.
#[inline]
fn scan_line_end(b: &[u8]) -> (Option<usize>, bool) {
    simd::find_line_end(b)
}

/// The cell a column's `DEFAULT` stores (`now` is the time of writing, in seconds since the
/// epoch); a string is appended to the row's text.
pub(crate) fn default_cell(ty: ColumnType, d: &DefaultValue, now: i64, text: &mut String) -> Cell {
    match d {
        DefaultValue::Now => match ty {
            ColumnType::DateTime64 => Cell::I(now.saturating_mul(1000)),
            ColumnType::Date => {
                Cell::U(now.div_euclid(86_400).clamp(0, i64::from(u16::MAX)) as u64)
            }
            _ => Cell::U(now.clamp(0, crate::time::DATETIME_MAX) as u64),
        },
        DefaultValue::Str(s) => {
            let start = text.len() as u32;
            text.push_str(s);
            Cell::Str(start, s.len() as u32)
        }
        DefaultValue::UInt(v) => Cell::U(*v),
        DefaultValue::Int(v) => Cell::I(*v),
        DefaultValue::Float(v) => match ty {
            ColumnType::Float32 => Cell::F32(*v as f32),
            _ => Cell::F64(*v),
        },
    }
}

/// The name a stream is recorded under (in reports, quarantined rows and store files): a URL
/// loses its user name and password, query string and fragment, which may hold credentials
/// (`?token=`, a presigned URL's signature); any other name is kept as given.
pub fn stream_name(name: &str) -> String {
    let Some(scheme_end) = name.find("://") else {
        return name.to_string();
    };
    let scheme = &name[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return name.to_string();
    }
    let rest = &name[scheme_end + 3..];
    let cut = rest.find(['?', '#']).unwrap_or(rest.len());
    let rest = &rest[..cut];
    let host_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let authority = match authority.rfind('@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    format!("{scheme}://{authority}{}", &rest[host_end..])
}

#[cfg(test)]
mod tests {
    use super::scan_line_end;

    #[test]
    fn line_end_scan_matches_a_plain_search() {
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"abc".to_vec(),
            b"0123456789abcdef\n".to_vec(),
            b"01234567\r\n".to_vec(),
            "caf\u{e9} au lait, tr\u{e8}s bien\nnext"
                .as_bytes()
                .to_vec(),
            b"\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\n".to_vec(),
            b"aaaaaaaa\x01\x0b\x0c\x0e\x09\x8a\x8d\x0d".to_vec(),
            b"\n".to_vec(),
        ];
        for b in cases {
            for start in 0..b.len().max(1) {
                let s = &b[start.min(b.len())..];
                let want = s.iter().position(|&x| x == b'\n' || x == b'\r');
                let ascii = s[..want.unwrap_or(s.len())].is_ascii();
                assert_eq!(scan_line_end(s), (want, ascii), "{s:?}");
            }
        }
    }
}
