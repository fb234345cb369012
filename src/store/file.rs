//! The store file: an [`EventStore`] written to bytes and reopened from them.
//!
//! A file is a 16-byte header (the magic `LLMSTORE`, the format version and flags, little-endian
//! `u32`s) followed by sections. Each section is a tag (`u32`), the length of its payload (`u64`),
//! the payload, and a CRC-32 (IEEE) of tag, length and payload. The sections come in this order:
//!
//! 1. `META`: the writer, when it saved, where the schema came from (one datasource, or the
//!    `.datasource` and `.pipe` files of a project) and the pipes added since;
//! 2. for each datasource: `TABLE` (its schema, row count and stream counter), a `DICT` per
//!    string column (the column's distinct strings in code order), a `BLOCK` per block of rows
//!    (partition key, then every column's values as little-endian bytes in its storage width,
//!    an `Array` column's as each row's JSON text, then the `NULL` masks) in partition order,
//!    and `QUARANTINE` (its rows and counts);
//! 3. `END`: the number of sections before it and the rows in all.
//!
//! Reopening copies each column out of its section in one pass: no row is decoded on its own
//! but an `Array` column's, read as the decoder reads a JSON array.
//! Every length is checked against the bytes that remain and every allocation against the
//! reopened store's byte budget before it is made, so a damaged, truncated or hostile file gives
//! an [`ErrorKind::StoreFile`] error naming the byte where reading stopped, never a panic.
//!
//! A store saved with the former shipped `llm_events` (its first nine columns only, without a
//! project) reopens with today's shipped `llm_events`: every row is kept, and the columns added
//! since hold their defaults (`''` and 0), charged to the budget like any other block.

use super::{Block, Cell, ColumnData, Dictionary, Partition, Store, BLOCK_ROWS};
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::{Quarantine, QuarantineRow};
use crate::schema::{ColumnDef, ColumnType, Datasource, DefaultValue, PartitionKey};
use crate::{EventStore, Options};

/// The first eight bytes of every store file.
pub const STORE_FILE_MAGIC: [u8; 8] = *b"LLMSTORE";

/// The format version this build writes and reads.
pub const STORE_FILE_VERSION: u32 = 1;

const HEADER_BYTES: usize = 16;
const SECTION_HEAD: usize = 12;
const SECTION_TAIL: usize = 4;

const TAG_META: u32 = 1;
const TAG_TABLE: u32 = 2;
const TAG_DICT: u32 = 3;
const TAG_BLOCK: u32 = 4;
const TAG_QUARANTINE: u32 = 5;
const TAG_END: u32 = 6;

/// Largest section payload written or read: a section read in chunks is buffered whole, and on
/// wasm32 a buffer of half the address space cannot be allocated beside a store.
pub const MAX_SECTION_BYTES: u64 = if cfg!(target_arch = "wasm32") {
    1 << 30
} else {
    1 << 31
};

/// Most pipes added with [`EventStore::add_pipe`] a store keeps.
pub const MAX_ADDED_PIPES: usize = 1_000;

/// Bytes a kept key of a record repeated over lines costs (its set entry, with room to grow).
const SEEN_KEY_BYTES: u64 = 24;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), sixteen bytes at a time.

const fn crc_tables() -> [[u32; 256]; 16] {
    let mut t = [[0u32; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut j = 1;
        while j < 16 {
            let prev = t[j - 1][i];
            t[j][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            j += 1;
        }
        i += 1;
    }
    t
}

/// The tables, computed on first use rather than shipped: 16 KiB less in the wasm module.
static CRC_TABLES: std::sync::OnceLock<[[u32; 256]; 16]> = std::sync::OnceLock::new();

/// A running CRC-32 (IEEE), the checksum of zip and PNG.
#[derive(Debug, Clone, Copy)]
pub struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// A checksum of no bytes yet.
    pub fn new() -> Crc32 {
        Crc32(!0)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let t = CRC_TABLES.get_or_init(crc_tables);
        let mut c = self.0;
        let mut chunks = bytes.chunks_exact(16);
        for b in &mut chunks {
            let lo = c ^ u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            c = t[15][(lo & 0xff) as usize]
                ^ t[14][((lo >> 8) & 0xff) as usize]
                ^ t[13][((lo >> 16) & 0xff) as usize]
                ^ t[12][(lo >> 24) as usize]
                ^ t[11][b[4] as usize]
                ^ t[10][b[5] as usize]
                ^ t[9][b[6] as usize]
                ^ t[8][b[7] as usize]
                ^ t[7][b[8] as usize]
                ^ t[6][b[9] as usize]
                ^ t[5][b[10] as usize]
                ^ t[4][b[11] as usize]
                ^ t[3][b[12] as usize]
                ^ t[2][b[13] as usize]
                ^ t[1][b[14] as usize]
                ^ t[0][b[15] as usize];
        }
        for &b in chunks.remainder() {
            c = (c >> 8) ^ t[0][((c ^ u32::from(b)) & 0xff) as usize];
        }
        self.0 = c;
    }

    /// The checksum of the bytes added.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

/// The CRC-32 (IEEE) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = Crc32::new();
    c.update(bytes);
    c.finish()
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// A section being built in a buffer: its head is patched in when it is done.
struct Section;

impl Section {
    fn start(buf: &mut Vec<u8>, tag: u32) {
        buf.clear();
        buf.extend_from_slice(&tag.to_le_bytes());
        buf.extend_from_slice(&0u64.to_le_bytes());
    }

    fn finish(buf: &mut Vec<u8>) {
        let len = (buf.len() - SECTION_HEAD) as u64;
        buf[4..12].copy_from_slice(&len.to_le_bytes());
        let crc = crc32(buf);
        buf.extend_from_slice(&crc.to_le_bytes());
    }
}

trait Put {
    fn u8(&mut self, v: u8);
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
    fn i64(&mut self, v: i64);
    fn str(&mut self, s: &str);
    fn count(&mut self, n: usize);
}

impl Put for Vec<u8> {
    fn u8(&mut self, v: u8) {
        self.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        Put::count(self, s.len());
        self.extend_from_slice(s.as_bytes());
    }
    fn count(&mut self, n: usize) {
        self.u64(n as u64);
    }
}

fn put_schema(out: &mut Vec<u8>, ds: &Datasource) {
    out.str(&ds.name);
    out.str(&ds.description);
    // `ReplacingMergeTree(ver)` names the version column.
    match ds.version_column.and_then(|v| ds.columns.get(v)) {
        Some(v) => out.str(&format!("{}({})", ds.engine, v.name)),
        None => out.str(&ds.engine),
    }
    let (kind, col) = match ds.partition {
        PartitionKey::None => (0, 0),
        PartitionKey::YearMonth(c) => (1, c),
        PartitionKey::Year(c) => (2, c),
        PartitionKey::Day(c) => (3, c),
    };
    out.u8(kind);
    out.u64(col as u64);
    Put::count(out, ds.sorting_key.len());
    for &k in &ds.sorting_key {
        out.u64(k as u64);
    }
    match ds.time_column {
        Some(c) => {
            out.u8(1);
            out.u64(c as u64);
        }
        None => {
            out.u8(0);
            out.u64(0);
        }
    }
    Put::count(out, ds.columns.len());
    for c in &ds.columns {
        out.str(&c.name);
        match &c.declared {
            Some(d) => out.str(&d.to_string()),
            None => out.str(c.ty.name()),
        }
        out.u8(u8::from(c.nullable));
        Put::count(out, c.path.len());
        for p in &c.path {
            out.str(p);
        }
        match &c.default {
            None => out.u8(0),
            Some(DefaultValue::Str(s)) => {
                out.u8(1);
                out.str(s);
            }
            Some(DefaultValue::UInt(v)) => {
                out.u8(2);
                out.u64(*v);
            }
            Some(DefaultValue::Int(v)) => {
                out.u8(3);
                out.i64(*v);
            }
            Some(DefaultValue::Float(v)) => {
                out.u8(4);
                out.u64(v.to_bits());
            }
            Some(DefaultValue::Now) => out.u8(5),
        }
    }
}

/// Tag of each [`ColumnData`] variant in a block section.
fn variant_tag(c: &ColumnData) -> u8 {
    match c {
        ColumnData::U8(_) => 0,
        ColumnData::U16(_) => 1,
        ColumnData::U32(_) => 2,
        ColumnData::U64(_) => 3,
        ColumnData::I8(_) => 4,
        ColumnData::I16(_) => 5,
        ColumnData::I32(_) => 6,
        ColumnData::I64(_) => 7,
        ColumnData::F32(_) => 8,
        ColumnData::F64(_) => 9,
        ColumnData::Str8(_) => 10,
        ColumnData::Str16(_) => 11,
        ColumnData::Str(_) => 12,
    }
}

fn put_values(out: &mut Vec<u8>, c: &ColumnData) {
    macro_rules! le {
        ($v:expr) => {{
            out.reserve(std::mem::size_of_val(&$v[..]));
            for x in $v.iter() {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }};
    }
    match c {
        ColumnData::U8(v) | ColumnData::Str8(v) => out.extend_from_slice(v),
        ColumnData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        ColumnData::U16(v) | ColumnData::Str16(v) => le!(v),
        ColumnData::I16(v) => le!(v),
        ColumnData::U32(v) | ColumnData::Str(v) => le!(v),
        ColumnData::I32(v) => le!(v),
        ColumnData::U64(v) => le!(v),
        ColumnData::I64(v) => le!(v),
        ColumnData::F32(v) => le!(v),
        ColumnData::F64(v) => le!(v),
    }
}

/// Encoding of a column of values (arrays) in a block section: each row's JSON text.
const VALUES_TAG: u8 = 13;

fn put_block(out: &mut Vec<u8>, key: i64, b: &Block) {
    out.i64(key);
    out.u32(b.rows as u32);
    for (i, c) in b.columns.iter().enumerate() {
        if let Some(values) = b.values(i) {
            out.u8(VALUES_TAG);
            let mut text = String::new();
            for v in values {
                text.clear();
                // NaN and infinities as strings, which read back as themselves.
                v.write_json_as(&mut text, true);
                out.str(&text);
            }
            continue;
        }
        out.u8(variant_tag(c));
        put_values(out, c);
    }
    for m in &b.nulls {
        match m {
            Some(m) => {
                out.u8(1);
                out.extend(m.iter().map(|&x| u8::from(x)));
            }
            None => out.u8(0),
        }
    }
}

fn put_dictionary(out: &mut Vec<u8>, col: usize, d: &Dictionary) {
    out.u64(col as u64);
    let strings = d.strings();
    let rest = strings.get(1..).unwrap_or(&[]);
    Put::count(out, rest.len());
    for s in rest {
        out.u32(s.len() as u32);
    }
    for s in rest {
        out.extend_from_slice(s.as_bytes());
    }
}

fn put_strings(out: &mut Vec<u8>, v: &[String]) {
    Put::count(out, v.len());
    for s in v {
        out.str(s);
    }
}

fn put_quarantine(out: &mut Vec<u8>, q: &Quarantine) {
    out.u64(q.count());
    out.u8(u8::from(q.is_closed()));
    Put::count(out, q.rows().len());
    for r in q.rows() {
        out.str(&r.stream);
        out.u64(r.line);
        put_strings(out, &r.values);
        put_strings(out, &r.error_columns);
        put_strings(out, &r.errors);
        match &r.raw {
            Some(raw) => {
                out.u8(1);
                out.str(raw);
            }
            None => out.u8(0),
        }
        out.i64(r.inserted_at);
    }
}

/// One part of a store file: the header or one section.
enum Item<'a> {
    Header,
    Meta,
    Table(&'a Store, &'a crate::ingest::Decoder),
    Dict(usize, &'a Dictionary),
    Block(i64, &'a Block),
    Quarantine(&'a Quarantine),
    End { sections: u32, rows: u64 },
}

impl EventStore {
    /// The parts of the store file, in order.
    fn store_file_items(&self) -> Vec<Item<'_>> {
        let mut items = vec![Item::Header, Item::Meta];
        let mut rows = 0u64;
        let tables = std::iter::once((&self.store, &self.decoder, &self.quarantine)).chain(
            self.others
                .iter()
                .map(|t| (&t.store, &t.decoder, &t.quarantine)),
        );
        for (store, decoder, quarantine) in tables {
            items.push(Item::Table(store, decoder));
            for (i, d) in store.dicts.iter().enumerate() {
                if let Some(d) = d {
                    items.push(Item::Dict(i, d));
                }
            }
            for p in &store.partitions {
                for b in &p.blocks {
                    items.push(Item::Block(p.key, b));
                }
            }
            items.push(Item::Quarantine(quarantine));
            rows += store.rows();
        }
        let sections = (items.len() - 1) as u32;
        items.push(Item::End { sections, rows });
        items
    }

    /// The number of parts of the store file: the header, then one per section (one per block
    /// of rows, dictionary, datasource and quarantine, and two more). With
    /// [`EventStore::write_store_file_parts`] a file can be written a few parts at a time,
    /// letting other work run in between, provided the store does not change meanwhile.
    pub fn store_file_parts(&self) -> usize {
        self.store_file_items().len()
    }

    /// Writes parts `start..end` of the store file (see [`EventStore::store_file_parts`]), one
    /// part per call of `sink`; returns the bytes written.
    pub fn write_store_file_parts(
        &self,
        start: usize,
        end: usize,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        let tables = std::iter::once(&self.store).chain(self.others.iter().map(|t| &t.store));
        for store in tables {
            let ds = store.datasource();
            let state = |c: &&crate::schema::ColumnDef| {
                matches!(
                    c.declared,
                    Some(crate::schema::TypeDesc::AggregateFunction { .. })
                )
            };
            if let Some(c) = ds.columns.iter().find(state) {
                return Err(Error::new(ErrorKind::StoreFile {
                    offset: 0,
                    message: format!(
                        "not supported: saving the {} column '{}' of datasource '{}'; the store cannot be saved",
                        c.type_name(),
                        c.name,
                        ds.name
                    ),
                }));
            }
        }
        let items = self.store_file_items();
        let end = end.min(items.len());
        let mut written = 0u64;
        let mut buf = Vec::new();
        for item in items.get(start..end).unwrap_or(&[]) {
            self.put_item(item, &mut buf);
            let payload = buf.len().saturating_sub(SECTION_HEAD + SECTION_TAIL) as u64;
            if payload > MAX_SECTION_BYTES {
                return Err(Error::new(ErrorKind::StoreFile {
                    offset: written,
                    message: format!(
                        "a section of {payload} bytes is longer than the {MAX_SECTION_BYTES} a section may be; the store cannot be saved"
                    ),
                }));
            }
            written += buf.len() as u64;
            sink(&buf)?;
        }
        Ok(written)
    }

    fn put_item(&self, item: &Item<'_>, buf: &mut Vec<u8>) {
        match item {
            Item::Header => {
                buf.clear();
                buf.extend_from_slice(&STORE_FILE_MAGIC);
                buf.u32(STORE_FILE_VERSION);
                buf.u32(0);
                return;
            }
            Item::Meta => {
                Section::start(buf, TAG_META);
                buf.str(concat!("llm-metrics ", env!("CARGO_PKG_VERSION")));
                buf.i64((self.wall_clock)());
                Put::count(buf, self.others.len() + 1);
                match &self.project_files {
                    Some(files) => {
                        buf.u8(1);
                        Put::count(buf, files.len());
                        for (path, text) in files {
                            buf.str(path);
                            buf.str(text);
                        }
                    }
                    None => buf.u8(0),
                }
                Put::count(buf, self.added_pipes.len());
                for (_, text) in &self.added_pipes {
                    buf.str(text);
                }
            }
            Item::Table(store, decoder) => {
                Section::start(buf, TAG_TABLE);
                put_schema(buf, store.datasource());
                buf.u64(store.rows());
                let (streams, seen) = decoder.saved_state();
                buf.u64(streams);
                Put::count(buf, seen.len());
                for k in seen {
                    buf.u64(k);
                }
            }
            Item::Dict(i, d) => {
                Section::start(buf, TAG_DICT);
                put_dictionary(buf, *i, d);
            }
            Item::Block(key, b) => {
                Section::start(buf, TAG_BLOCK);
                put_block(buf, *key, b);
            }
            Item::Quarantine(q) => {
                Section::start(buf, TAG_QUARANTINE);
                put_quarantine(buf, q);
            }
            Item::End { sections, rows } => {
                Section::start(buf, TAG_END);
                buf.u32(*sections);
                buf.u64(*rows);
            }
        }
        Section::finish(buf);
    }

    /// Writes the store as a store file, handing it to `sink` one part at a time (the header,
    /// then one section per call: a block of rows is one section, so no more than one block's
    /// bytes are held beside the store); returns the bytes written. Rows of a stream still open
    /// are included up to its last complete line.
    ///
    /// ```
    /// let mut store = llm_metrics::EventStore::new();
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"total_tokens\":7}\n")?;
    /// store.end()?;
    /// let mut file = Vec::new();
    /// let n = store.write_store_file(&mut |part| {
    ///     file.extend_from_slice(part);
    ///     Ok(())
    /// })?;
    /// assert_eq!(n, file.len() as u64);
    /// assert_eq!(&file[..8], b"LLMSTORE");
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn write_store_file(&self, sink: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<u64> {
        self.write_store_file_parts(0, usize::MAX, sink)
    }

    /// The store as one store file ([`EventStore::write_store_file`]).
    pub fn to_store_file(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_store_file(&mut |part| {
            out.extend_from_slice(part);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reopens a store from the bytes of a store file, with `options` (the budget the reopened
    /// rows count against, the line limit and result limits of queries from now on). The store
    /// answers every pipe and query as the store that wrote the file did.
    ///
    /// ```
    /// use llm_metrics::{EventStore, Options, Params};
    /// let mut store = EventStore::new();
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\",\"total_tokens\":7}\nnot json\n")?;
    /// store.end()?;
    /// let file = store.to_store_file()?;
    /// let reopened = EventStore::open_store_file(&file, Options::default())?;
    /// assert_eq!(reopened.row_count(), 1);
    /// assert_eq!(reopened.quarantine().len(), 1);
    /// let q = "SELECT model_name, sum(total_tokens) AS t FROM llm_events GROUP BY model_name";
    /// assert_eq!(reopened.sql(q, &Params::new())?.data, store.sql(q, &Params::new())?.data);
    /// assert!(EventStore::open_store_file(&file[..file.len() - 1], Options::default()).is_err());
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn open_store_file(bytes: &[u8], options: Options) -> Result<EventStore> {
        let mut r = StoreFileReader::new(options);
        r.write(bytes)?;
        r.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading.

fn damaged(at: u64, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::StoreFile {
        offset: at,
        message: message.into(),
    })
}

/// A cursor over one section's payload; every read is checked against what remains.
struct In<'a> {
    b: &'a [u8],
    pos: usize,
    /// File offset of `b[0]`, for errors.
    base: u64,
}

impl<'a> In<'a> {
    fn at(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn err(&self, message: impl Into<String>) -> Error {
        damaged(self.at(), message)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| self.err(format!("{n} bytes are needed past the section's end")))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn flag(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(damaged(self.at() - 1, format!("a flag is {v}, not 0 or 1"))),
        }
    }

    /// A count of items of at least `min_bytes` each, checked against the bytes that remain.
    fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let at = self.at();
        let n = self.u64()?;
        let left = (self.b.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes.max(1) as u64) > left {
            return Err(damaged(
                at,
                format!("a count of {n} does not fit in the {left} bytes left of the section"),
            ));
        }
        Ok(n as usize)
    }

    fn str(&mut self) -> Result<&'a str> {
        let n = self.count(1)?;
        let at = self.at();
        let b = self.take(n)?;
        std::str::from_utf8(b).map_err(|_| damaged(at, "a text is not UTF-8"))
    }

    fn string(&mut self) -> Result<String> {
        Ok(self.str()?.to_string())
    }

    fn strings(&mut self) -> Result<Vec<String>> {
        let n = self.count(8)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.string()?);
        }
        Ok(v)
    }

    fn end(&self) -> Result<()> {
        if self.pos != self.b.len() {
            return Err(self.err(format!(
                "{} bytes follow the section's contents",
                self.b.len() - self.pos
            )));
        }
        Ok(())
    }
}

fn get_schema(r: &mut In<'_>) -> Result<Datasource> {
    let name = r.string()?;
    let description = r.string()?;
    let engine_text = r.string()?;
    // `ReplacingMergeTree(ver)`: the engine and its version column's name.
    let (engine, version_name) = match engine_text
        .strip_suffix(')')
        .and_then(|t| t.split_once('('))
    {
        Some((e, v)) => (e.to_string(), Some(v.to_string())),
        None => (engine_text, None),
    };
    let pk_at = r.at();
    let pk_kind = r.u8()?;
    let pk_col = r.u64()?;
    let sk_n = r.count(8)?;
    let mut sorting_key = Vec::with_capacity(sk_n);
    for _ in 0..sk_n {
        sorting_key.push(r.u64()?);
    }
    let tc_at = r.at();
    let has_time = r.flag()?;
    let tc = r.u64()?;
    let n = r.count(17)?;
    if n == 0 {
        return Err(r.err("a datasource has no columns"));
    }
    let mut columns = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.string()?;
        let ty_at = r.at();
        let ty_name = r.str()?;
        // A scalar's stored name, or the declared type of a `SimpleAggregateFunction` column.
        let (ty, declared) = match ColumnType::from_name(ty_name) {
            Some(ty) => (ty, None),
            None => match crate::schema::TypeDesc::parse(ty_name)
                .ok()
                .and_then(|t| t.column_storage())
            {
                Some((ty, _, Some(d)))
                    if !matches!(d, crate::schema::TypeDesc::AggregateFunction { .. }) =>
                {
                    (ty, Some(d))
                }
                _ => return Err(damaged(ty_at, format!("unknown column type '{ty_name}'"))),
            },
        };
        let nullable = r.flag()?;
        let np = r.count(8)?;
        if np == 0 {
            return Err(r.err(format!("column '{name}' has an empty JSON path")));
        }
        let mut path = Vec::with_capacity(np);
        for _ in 0..np {
            path.push(r.string()?);
        }
        let d_at = r.at();
        let default = match r.u8()? {
            0 => None,
            1 => Some(DefaultValue::Str(r.string()?)),
            2 => Some(DefaultValue::UInt(r.u64()?)),
            3 => Some(DefaultValue::Int(r.i64()?)),
            4 => Some(DefaultValue::Float(f64::from_bits(r.u64()?))),
            5 => Some(DefaultValue::Now),
            k => return Err(damaged(d_at, format!("unknown DEFAULT kind {k}"))),
        };
        let fits = match &default {
            None => true,
            Some(DefaultValue::Str(_)) => ty.is_string(),
            Some(DefaultValue::Now) => ty.is_time() || ty == ColumnType::Date,
            Some(DefaultValue::Float(_)) => ty.is_float_like(),
            Some(DefaultValue::Int(_)) => ty.is_signed() || ty == ColumnType::DateTime64,
            Some(DefaultValue::UInt(_)) => {
                !ty.is_string()
                    && !ty.is_float_like()
                    && !ty.is_signed()
                    && ty != ColumnType::DateTime64
            }
        };
        if !fits {
            return Err(damaged(
                d_at,
                format!("the DEFAULT of column '{name}' is not of its type"),
            ));
        }
        columns.push(ColumnDef {
            name,
            ty,
            path,
            default,
            nullable,
            declared,
        });
    }
    let time_col = |c: u64, at: u64| -> Result<usize> {
        let col = if c < columns.len() as u64 {
            columns.get(c as usize)
        } else {
            None
        };
        match col {
            Some(col) if col.ty.is_time() => Ok(c as usize),
            _ => Err(damaged(at, format!("column {c} is not a time column"))),
        }
    };
    let partition = match pk_kind {
        0 => PartitionKey::None,
        1 => PartitionKey::YearMonth(time_col(pk_col, pk_at)?),
        2 => PartitionKey::Year(time_col(pk_col, pk_at)?),
        3 => PartitionKey::Day(time_col(pk_col, pk_at)?),
        k => return Err(damaged(pk_at, format!("unknown partition key kind {k}"))),
    };
    let time_column = if has_time {
        Some(time_col(tc, tc_at)?)
    } else {
        None
    };
    let sorting_key = sorting_key
        .into_iter()
        .map(|k| {
            if k < columns.len() as u64 {
                Ok(k as usize)
            } else {
                Err(damaged(
                    pk_at,
                    format!("sorting key column {k} is out of range"),
                ))
            }
        })
        .collect::<Result<Vec<usize>>>()?;
    let version_column = match version_name {
        Some(v) => Some(
            columns
                .iter()
                .position(|c| c.name == v)
                .ok_or_else(|| r.err(format!("version column '{v}' is not a column")))?,
        ),
        None => None,
    };
    Ok(Datasource {
        name,
        description,
        columns,
        engine,
        partition,
        sorting_key,
        time_column,
        version_column,
    })
}

/// Reads `rows` values of `width` bytes each into a vector with room for a whole block.
fn get_le<T, const W: usize>(
    r: &mut In<'_>,
    rows: usize,
    from: impl Fn([u8; W]) -> T,
) -> Result<Vec<T>> {
    let bytes = r.take(rows * W)?;
    let mut v = Vec::with_capacity(BLOCK_ROWS);
    v.extend(bytes.chunks_exact(W).map(|c| {
        let mut a = [0u8; W];
        a.copy_from_slice(c);
        from(a)
    }));
    Ok(v)
}

fn get_column(r: &mut In<'_>, tag: u8, rows: usize) -> Result<ColumnData> {
    Ok(match tag {
        0 => ColumnData::U8(get_le(r, rows, |[b]: [u8; 1]| b)?),
        1 => ColumnData::U16(get_le(r, rows, u16::from_le_bytes)?),
        2 => ColumnData::U32(get_le(r, rows, u32::from_le_bytes)?),
        3 => ColumnData::U64(get_le(r, rows, u64::from_le_bytes)?),
        4 => ColumnData::I8(get_le(r, rows, i8::from_le_bytes)?),
        5 => ColumnData::I16(get_le(r, rows, i16::from_le_bytes)?),
        6 => ColumnData::I32(get_le(r, rows, i32::from_le_bytes)?),
        7 => ColumnData::I64(get_le(r, rows, i64::from_le_bytes)?),
        8 => ColumnData::F32(get_le(r, rows, f32::from_le_bytes)?),
        9 => ColumnData::F64(get_le(r, rows, f64::from_le_bytes)?),
        10 => ColumnData::Str8(get_le(r, rows, |[b]: [u8; 1]| b)?),
        11 => ColumnData::Str16(get_le(r, rows, u16::from_le_bytes)?),
        12 => ColumnData::Str(get_le(r, rows, u32::from_le_bytes)?),
        t => return Err(r.err(format!("unknown column encoding {t}"))),
    })
}

/// Width in bytes of values under a variant tag, `None` for an unknown tag.
fn tag_width(tag: u8) -> Option<usize> {
    Some(match tag {
        0 | 4 | 10 => 1,
        1 | 5 | 11 => 2,
        2 | 6 | 8 | 12 => 4,
        3 | 7 | 9 => 8,
        _ => return None,
    })
}

/// Whether a column of type `ty` may be stored under variant `tag`.
fn tag_fits(ty: ColumnType, tag: u8) -> bool {
    if ty.is_string() {
        return matches!(tag, 10..=12);
    }
    let expected = variant_tag(&ColumnData::with_capacity(ty, 0));
    tag == expected
}

/// Text of the `llm_events.datasource` shipped before the columns after `error_message` were
/// added.
const FORMER_LLM_EVENTS: &str = include_str!("llm_events_nine_columns.datasource");

/// True when `ds` is the former shipped `llm_events`: same name, columns (names, types, JSON
/// paths, defaults) and engine keys.
fn is_former_llm_events(ds: &Datasource) -> bool {
    let Ok(former) = crate::schema::parse_datasource("llm_events", FORMER_LLM_EVENTS) else {
        return false;
    };
    ds.name == former.name
        && ds.columns == former.columns
        && ds.engine == former.engine
        && ds.partition == former.partition
        && ds.sorting_key == former.sorting_key
        && ds.time_column == former.time_column
}

/// A column of `rows` default values (`''` as dictionary code 0, 0 for numbers), with room for a
/// whole block as a block built by pushing rows has.
fn default_column(ty: ColumnType, rows: usize) -> ColumnData {
    let mut c = ColumnData::with_capacity(ty, BLOCK_ROWS);
    for _ in 0..rows {
        c.push(Cell::Null, 0);
    }
    c
}

/// The reopened store being filled.
struct Reopening {
    es: EventStore,
    /// Columns the file holds per row of the first table when it is the former shipped
    /// `llm_events` reopened with today's (the store's columns after them take defaults).
    file_columns: Option<usize>,
    /// Index of the table being read, `None` before the first `TABLE`.
    table: Option<usize>,
    /// The table's string columns whose dictionaries are still to come, in column order.
    dicts_due: Vec<usize>,
    /// Rows the table's `TABLE` section promised.
    rows_due: u64,
    /// The table's `QUARANTINE` section came.
    quarantined: bool,
    rows: u64,
}

/// Where the reader is in the file.
enum Stage {
    Header,
    Meta,
    Body(Box<Reopening>),
    /// `META` was read: its fields wait for the first `TABLE` section.
    Tables(Box<Meta>),
    Done(Box<EventStore>),
    Failed,
}

struct Meta {
    /// Bytes of the project's files and the added pipes' texts.
    bytes: u64,
    tables: usize,
    project: Option<Vec<(String, String)>>,
    added_pipes: Vec<String>,
}

/// Reopens a store file given in chunks of any size (as it is read from disk), holding no more
/// of it than one section at a time beside the store being filled.
///
/// ```
/// use llm_metrics::{EventStore, Options, StoreFileReader};
/// let mut store = EventStore::new();
/// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n")?;
/// store.end()?;
/// let file = store.to_store_file()?;
/// let mut reader = StoreFileReader::new(Options::default());
/// for chunk in file.chunks(7) {
///     reader.write(chunk)?;
/// }
/// assert_eq!(reader.finish()?.row_count(), 1);
/// # Ok::<(), llm_metrics::Error>(())
/// ```
pub struct StoreFileReader {
    options: Options,
    stage: Stage,
    /// Bytes of an unfinished section (or header).
    pending: Vec<u8>,
    /// File offset of `pending[0]`.
    offset: u64,
    sections: u32,
    /// Bytes of the budget held elsewhere while the file is read (see
    /// [`StoreFileReader::held_beside`]).
    held: u64,
}

impl std::fmt::Debug for StoreFileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFileReader")
            .field("offset", &self.offset)
            .field("pending", &self.pending.len())
            .field("sections", &self.sections)
            .finish()
    }
}

impl StoreFileReader {
    /// A reader that reopens a store with `options`.
    pub fn new(options: Options) -> StoreFileReader {
        StoreFileReader {
            options,
            stage: Stage::Header,
            pending: Vec::new(),
            offset: 0,
            sections: 0,
            held: 0,
        }
    }

    /// Counts `bytes` held elsewhere while the file is read (the store it is to replace) against
    /// the budget, so that the two together fit in `maxBytes`; the reopened store is given the
    /// whole budget once read.
    ///
    /// ```
    /// use llm_metrics::{EventStore, Options, StoreFileReader};
    /// let mut store = EventStore::new();
    /// store.write(b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"m\"}\n")?;
    /// store.end()?;
    /// let file = store.to_store_file()?;
    /// let budget = Options { max_bytes: store.store().bytes() * 3 / 2, ..Options::default() };
    /// let mut beside = StoreFileReader::new(budget).held_beside(store.store().bytes());
    /// assert!(beside.write(&file).is_err());
    /// let mut alone = StoreFileReader::new(budget);
    /// alone.write(&file)?;
    /// assert_eq!(alone.finish()?.row_count(), 1);
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn held_beside(mut self, bytes: u64) -> StoreFileReader {
        self.held = bytes;
        self
    }

    /// Bytes of the file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    /// Reads the next chunk of the file. After an error the reader refuses further chunks.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if matches!(self.stage, Stage::Failed) {
            return Err(Error::misuse(
                "the store file could not be read; start again with a new reader",
            ));
        }
        let result = self.feed(chunk);
        if result.is_err() {
            self.stage = Stage::Failed;
            self.pending = Vec::new();
        }
        result
    }

    fn feed(&mut self, mut chunk: &[u8]) -> Result<()> {
        // Complete a pending section from the chunk's front first.
        while !self.pending.is_empty() && !chunk.is_empty() {
            let have = self.pending.len();
            let need = self.next_len(&self.pending)?.unwrap_or(SECTION_HEAD);
            if self.pending.capacity() < need {
                // Room for exactly the section, so that the buffer never doubles past it.
                self.pending.try_reserve_exact(need - have).map_err(|_| {
                    damaged(
                        self.offset,
                        format!("no memory for a section of {need} bytes"),
                    )
                })?;
            }
            let take = (need - have).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.pending.len() == need && self.next_len(&self.pending)? == Some(need) {
                let pending = std::mem::take(&mut self.pending);
                self.item(&pending)?;
                self.offset += need as u64;
            }
        }
        if self.pending.is_empty() {
            // Read whole sections straight from the chunk; keep only an unfinished tail.
            let used = self.consume(chunk)?;
            self.pending.extend_from_slice(&chunk[used..]);
        }
        Ok(())
    }

    /// Length of the next item (header or whole section) at the front of `b`, once its head is
    /// there.
    fn next_len(&self, b: &[u8]) -> Result<Option<usize>> {
        if matches!(self.stage, Stage::Header) {
            if b.len() >= 8 && b[..8] != STORE_FILE_MAGIC {
                return Err(damaged(0, "not a store file (no LLMSTORE magic)"));
            }
            return Ok(Some(HEADER_BYTES));
        }
        if matches!(self.stage, Stage::Done(_)) {
            return Err(damaged(self.offset, "bytes follow the END section"));
        }
        if b.len() < SECTION_HEAD {
            return Ok(None);
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&b[4..12]);
        let len = u64::from_le_bytes(len);
        // A section is buffered (when split across chunks) beside the store being filled, and
        // what it holds is then charged to the store: it fits in what is left of the budget.
        let left = self.options.max_bytes.saturating_sub(self.in_use());
        let limit = MAX_SECTION_BYTES.min(left.saturating_add(1 << 20));
        if len > limit {
            return Err(damaged(
                self.offset + 4,
                format!("a section of {len} bytes is longer than the {limit} a section may be"),
            ));
        }
        Ok(Some(SECTION_HEAD + len as usize + SECTION_TAIL))
    }

    /// Bytes of the budget the store being filled uses so far.
    fn in_use(&self) -> u64 {
        match &self.stage {
            Stage::Body(re) => std::iter::once(&re.es.store)
                .chain(re.es.others.iter().map(|t| &t.store))
                .map(Store::bytes)
                .sum(),
            Stage::Tables(meta) => meta.bytes.saturating_add(self.held),
            _ => self.held,
        }
    }

    /// Reads every whole item at the front of `b`; returns the bytes used.
    fn consume(&mut self, b: &[u8]) -> Result<usize> {
        let mut used = 0;
        loop {
            let rest = &b[used..];
            if rest.is_empty() {
                return Ok(used);
            }
            let Some(n) = self.next_len(rest)? else {
                return Ok(used);
            };
            if rest.len() < n {
                return Ok(used);
            }
            self.item(&rest[..n])?;
            self.offset += n as u64;
            used += n;
        }
    }

    fn item(&mut self, b: &[u8]) -> Result<()> {
        if matches!(self.stage, Stage::Header) {
            if b[..8] != STORE_FILE_MAGIC {
                return Err(damaged(0, "not a store file (no LLMSTORE magic)"));
            }
            let mut v = [0u8; 4];
            v.copy_from_slice(&b[8..12]);
            let version = u32::from_le_bytes(v);
            if version != STORE_FILE_VERSION {
                return Err(damaged(
                    8,
                    format!(
                        "store file version {version}; this build reads version {STORE_FILE_VERSION}"
                    ),
                ));
            }
            v.copy_from_slice(&b[12..16]);
            if u32::from_le_bytes(v) != 0 {
                return Err(damaged(12, "unknown store file flags"));
            }
            self.stage = Stage::Meta;
            return Ok(());
        }
        let body = &b[..b.len() - SECTION_TAIL];
        let mut c = [0u8; 4];
        c.copy_from_slice(&b[b.len() - SECTION_TAIL..]);
        if crc32(body) != u32::from_le_bytes(c) {
            return Err(damaged(
                self.offset,
                "the section's checksum does not match its bytes",
            ));
        }
        c.copy_from_slice(&b[..4]);
        let tag = u32::from_le_bytes(c);
        let mut r = In {
            b: &body[SECTION_HEAD..],
            pos: 0,
            base: self.offset + SECTION_HEAD as u64,
        };
        self.section(tag, &mut r)?;
        r.end()?;
        self.sections += 1;
        Ok(())
    }

    fn section(&mut self, tag: u32, r: &mut In<'_>) -> Result<()> {
        let stage = std::mem::replace(&mut self.stage, Stage::Failed);
        self.stage = match (stage, tag) {
            (Stage::Meta, TAG_META) => {
                let _writer = r.str()?;
                let _saved_at = r.i64()?;
                let tables = r.count(1)?;
                if tables == 0 {
                    return Err(r.err("a store file has at least one datasource"));
                }
                let project = if r.flag()? {
                    let n = r.count(16)?;
                    if n > crate::MAX_PROJECT_FILES {
                        return Err(r.err(format!("{n} project files is too many")));
                    }
                    let mut files = Vec::with_capacity(n);
                    for _ in 0..n {
                        files.push((r.string()?, r.string()?));
                    }
                    Some(files)
                } else {
                    None
                };
                let pipes_at = r.at();
                let added_pipes = r.strings()?;
                if added_pipes.len() > MAX_ADDED_PIPES {
                    return Err(damaged(
                        pipes_at,
                        format!(
                            "{} added pipes is too many (at most {MAX_ADDED_PIPES})",
                            added_pipes.len()
                        ),
                    ));
                }
                let bytes = project
                    .iter()
                    .flatten()
                    .map(|(n, t)| (n.len() + t.len()) as u64)
                    .chain(added_pipes.iter().map(|t| t.len() as u64))
                    .sum::<u64>();
                if bytes > self.options.max_bytes {
                    return Err(r.err(format!(
                        "the project's files and pipes take {bytes} bytes, more than the budget of {} bytes (maxBytes)",
                        self.options.max_bytes
                    )));
                }
                Stage::Tables(Box::new(Meta {
                    bytes,
                    tables,
                    project,
                    added_pipes,
                }))
            }
            (Stage::Tables(meta), TAG_TABLE) => {
                let ds = get_schema(r)?;
                let mut file_columns = None;
                let mut es = match &meta.project {
                    Some(files) => {
                        let es = EventStore::from_project(files, self.options);
                        if es.others.len() + 1 != meta.tables {
                            return Err(r.err(format!(
                                "the project's files give {} datasources, not {}",
                                es.others.len() + 1,
                                meta.tables
                            )));
                        }
                        es
                    }
                    None => {
                        if meta.tables != 1 {
                            return Err(r.err("a store without a project has one datasource"));
                        }
                        if is_former_llm_events(&ds) {
                            file_columns = Some(ds.columns.len());
                            EventStore::with_datasource(Datasource::llm_events(), self.options)
                        } else {
                            EventStore::with_datasource(ds.clone(), self.options)
                        }
                    }
                };
                es.project_files = meta.project;
                if es.store.charge(self.held).is_err() {
                    return Err(over_budget(&es.store, self.held, r.at()));
                }
                for text in &meta.added_pipes {
                    es.add_pipe(text)
                        .map_err(|e| r.err(format!("an added pipe does not load: {e}")))?;
                }
                let mut re = Box::new(Reopening {
                    es,
                    file_columns,
                    table: None,
                    dicts_due: Vec::new(),
                    rows_due: 0,
                    quarantined: false,
                    rows: 0,
                });
                start_table(&mut re, 0, ds, r)?;
                Stage::Body(re)
            }
            (Stage::Body(mut re), TAG_TABLE) => {
                if !re.quarantined || !re.dicts_due.is_empty() {
                    return Err(r.err("a datasource's sections are missing"));
                }
                let i = re.table.map_or(0, |t| t + 1);
                if i > re.es.others.len() {
                    return Err(r.err("more datasources than the META section says"));
                }
                let ds = get_schema(r)?;
                start_table(&mut re, i, ds, r)?;
                Stage::Body(re)
            }
            (Stage::Body(mut re), TAG_DICT) => {
                get_dict(&mut re, r)?;
                Stage::Body(re)
            }
            (Stage::Body(mut re), TAG_BLOCK) => {
                get_block(&mut re, r)?;
                Stage::Body(re)
            }
            (Stage::Body(mut re), TAG_QUARANTINE) => {
                get_quarantine(&mut re, r)?;
                Stage::Body(re)
            }
            (Stage::Body(re), TAG_END) => {
                let sections = r.u32()?;
                let rows = r.u64()?;
                if sections != self.sections {
                    return Err(r.err(format!(
                        "END counts {sections} sections; {} came",
                        self.sections
                    )));
                }
                if rows != re.rows {
                    return Err(r.err(format!("END counts {rows} rows; {} came", re.rows)));
                }
                if !re.quarantined || re.table != Some(re.es.others.len()) {
                    return Err(r.err("datasources are missing before END"));
                }
                Stage::Done(Box::new(re.es))
            }
            (_, tag) => {
                return Err(damaged(
                    r.base - SECTION_HEAD as u64,
                    format!("section {tag} is not expected here"),
                ))
            }
        };
        Ok(())
    }

    /// The reopened store, once the whole file was read.
    pub fn finish(self) -> Result<EventStore> {
        if !self.pending.is_empty() && !matches!(self.stage, Stage::Failed) {
            // What the unfinished part already shows (a wrong magic, a section too long) is
            // reported as reading it whole would.
            self.next_len(&self.pending)?;
        }
        match self.stage {
            Stage::Done(mut es) => {
                es.store.charged = es.store.charged.saturating_sub(self.held);
                Ok(*es)
            }
            Stage::Failed => Err(Error::misuse(
                "the store file could not be read; start again with a new reader",
            )),
            _ => Err(damaged(
                self.bytes_read(),
                "the store file ends early (it is truncated)",
            )),
        }
    }
}

/// Checks a `TABLE` section against the store's table `i` and reads its counters.
fn start_table(re: &mut Reopening, i: usize, ds: Datasource, r: &mut In<'_>) -> Result<()> {
    if re.table.is_some() && (!re.quarantined || !re.dicts_due.is_empty()) {
        return Err(r.err("a datasource's sections are missing"));
    }
    let rows_due = r.u64()?;
    let streams = r.u64()?;
    let in_use: u64 = std::iter::once(&re.es.store)
        .chain(re.es.others.iter().map(|t| &t.store))
        .map(Store::bytes)
        .sum();
    let (decoder, store) = match i.checked_sub(1) {
        None => (&mut re.es.decoder, &re.es.store),
        Some(j) => match re.es.others.get_mut(j) {
            Some(t) => (&mut t.decoder, &t.store),
            None => return Err(r.err("more datasources than the META section says")),
        },
    };
    let seen_at = r.at();
    let n = r.count(8)?;
    // The keys of repeated records are held beside the store, one for each record stored (as
    // when it was loaded, where they are not charged) or quarantined. The rows the table says
    // it holds must fit in what is left of its budget, and keys beyond them are charged there
    // too, before any is allocated.
    let rows_bytes = rows_due.saturating_mul(store.row_width() as u64);
    let extra_keys = (n as u64).saturating_sub(rows_due);
    let seen_bytes = extra_keys.saturating_mul(SEEN_KEY_BYTES);
    if in_use.saturating_add(rows_bytes).saturating_add(seen_bytes) > store.max_bytes {
        return Err(damaged(
            seen_at,
            format!(
                "the store file needs more than the budget of {} bytes (maxBytes): {in_use} are in use, {rows_bytes} more are needed for its {rows_due} rows and {seen_bytes} for {extra_keys} keys of repeated records beyond them",
                store.max_bytes
            ),
        ));
    }
    let mut seen = Vec::with_capacity(n);
    for _ in 0..n {
        seen.push(r.u64()?);
    }
    let upgraded = i == 0 && re.file_columns == Some(ds.columns.len());
    if store.datasource() != &ds && !upgraded {
        return Err(r.err(format!(
            "the schema of datasource '{}' does not match the project's files",
            ds.name
        )));
    }
    decoder.restore_state(streams, seen);
    // The dictionaries of columns the file does not hold stay as they are: `''` alone.
    let file_columns = ds.columns.len();
    re.dicts_due = store
        .dicts
        .iter()
        .enumerate()
        .filter_map(|(c, d)| d.as_ref().map(|_| c))
        .filter(|&c| c < file_columns)
        .collect();
    re.dicts_due.reverse();
    re.table = Some(i);
    re.rows_due = rows_due;
    re.quarantined = false;
    Ok(())
}

fn table_store(re: &mut Reopening) -> Option<&mut Store> {
    match re.table?.checked_sub(1) {
        None => Some(&mut re.es.store),
        Some(j) => re.es.others.get_mut(j).map(|t| &mut t.store),
    }
}

fn over_budget(store: &Store, add: u64, at: u64) -> Error {
    damaged(
        at,
        format!(
            "the store file needs more than the budget of {} bytes (maxBytes): {} are in use and {add} more are needed",
            store.max_bytes,
            store.bytes()
        ),
    )
}

fn get_dict(re: &mut Reopening, r: &mut In<'_>) -> Result<()> {
    let at = r.at();
    let Some(&col) = re.dicts_due.last() else {
        return Err(r.err("a dictionary section is not expected here"));
    };
    if re.quarantined {
        return Err(r.err("a dictionary section is not expected here"));
    }
    let c = r.u64()?;
    if c != col as u64 {
        return Err(damaged(
            at,
            format!("the dictionary of column {c} comes where column {col}'s is due"),
        ));
    }
    let n = r.count(4)?;
    let lens = r.take(n * 4)?;
    let total: u64 = lens
        .chunks_exact(4)
        .map(|l| u64::from(u32::from_le_bytes([l[0], l[1], l[2], l[3]])))
        .sum();
    let text_at = r.at();
    let text = r.take(usize::try_from(total).unwrap_or(usize::MAX))?;
    let text =
        std::str::from_utf8(text).map_err(|_| damaged(text_at, "a dictionary is not UTF-8"))?;
    let Some(store) = table_store(re) else {
        return Err(damaged(at, "a dictionary comes before its datasource"));
    };
    // Strings, their boxes and the index entries, before any is allocated.
    let estimate = total + n as u64 * 48;
    if store.bytes().saturating_add(estimate) > store.max_bytes {
        return Err(over_budget(store, estimate, at));
    }
    let mut d = Dictionary::new();
    let mut pos = 0usize;
    for (k, l) in lens.chunks_exact(4).enumerate() {
        let l = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
        let s = text.get(pos..pos + l).ok_or_else(|| {
            damaged(
                text_at + pos as u64,
                "a dictionary string ends inside a character",
            )
        })?;
        pos += l;
        let code = d.intern(s);
        if code as usize != k + 1 {
            return Err(damaged(
                text_at + pos as u64,
                format!(
                    "the dictionary holds '{}' twice",
                    crate::ingest::shorten(s, 40)
                ),
            ));
        }
    }
    store.dicts[col] = Some(d);
    if store.bytes() > store.max_bytes {
        return Err(over_budget(store, 0, at));
    }
    re.dicts_due.pop();
    Ok(())
}

fn get_block(re: &mut Reopening, r: &mut In<'_>) -> Result<()> {
    let at = r.at();
    if !re.dicts_due.is_empty() || re.quarantined {
        return Err(r.err("a block is not expected here"));
    }
    let former = match (re.table, re.file_columns) {
        (Some(0), Some(n)) => Some(n),
        _ => None,
    };
    let Some(store) = table_store(re) else {
        return Err(r.err("a block comes before its datasource"));
    };
    let key = r.i64()?;
    let rows = r.u32()? as usize;
    if rows == 0 || rows > BLOCK_ROWS {
        return Err(damaged(
            at + 8,
            format!("a block of {rows} rows (1 to {BLOCK_ROWS} are)"),
        ));
    }
    let ncols = store.datasource.columns.len();
    // Columns the file holds: all of them, but for a former `llm_events` reopened with today's,
    // whose later columns take their defaults.
    let held = match former {
        Some(n) => n.min(ncols),
        None => ncols,
    };
    // What the block reserves, as a block built by pushing rows does; checked before allocating.
    let mut add = 0u64;
    // Bytes of the values columns' texts: a bound checked before they are read.
    let mut texts = 0u64;
    {
        let mut probe = In {
            b: r.b,
            pos: r.pos,
            base: r.base,
        };
        for c in &store.datasource.columns[..held] {
            let tag_at = probe.at();
            let tag = probe.u8()?;
            if tag == VALUES_TAG || c.ty == ColumnType::Values {
                if tag != VALUES_TAG || c.ty != ColumnType::Values {
                    return Err(damaged(
                        tag_at,
                        format!("column '{}' stored with encoding {tag}", c.name),
                    ));
                }
                for _ in 0..rows {
                    // Charged in full once read; its text bounds it here.
                    texts +=
                        (probe.str()?.len() + std::mem::size_of::<crate::query::Value>()) as u64;
                }
                continue;
            }
            let width = tag_width(tag)
                .ok_or_else(|| damaged(tag_at, format!("unknown column encoding {tag}")))?;
            if !tag_fits(c.ty, tag) {
                return Err(damaged(
                    tag_at,
                    format!(
                        "column '{}' of type {} stored with encoding {tag}",
                        c.name,
                        c.ty.name()
                    ),
                ));
            }
            probe.take(rows * width)?;
            add += (BLOCK_ROWS * width) as u64;
        }
        add += store.datasource.columns[held..]
            .iter()
            .map(|c| (BLOCK_ROWS * ColumnData::with_capacity(c.ty, 0).width()) as u64)
            .sum::<u64>();
        add += store
            .datasource
            .columns
            .iter()
            .filter(|c| c.nullable)
            .count() as u64
            * BLOCK_ROWS as u64;
    }
    if store.bytes().saturating_add(add).saturating_add(texts) > store.max_bytes {
        return Err(over_budget(store, add.saturating_add(texts), at));
    }
    let mut columns = Vec::with_capacity(ncols);
    let mut values: Vec<Option<Vec<crate::query::Value>>> = vec![None; ncols];
    for (i, c) in store.datasource.columns[..held].iter().enumerate() {
        let tag = r.u8()?;
        let col_at = r.at();
        if let (VALUES_TAG, Some(declared)) = (tag, &c.declared) {
            let mut vals = Vec::with_capacity(rows);
            let mut unescape = Vec::new();
            let room = usize::try_from(store.max_bytes.saturating_sub(store.bytes()))
                .unwrap_or(usize::MAX);
            for _ in 0..rows {
                let at = r.at();
                let text = r.str()?.as_bytes();
                let found = crate::ingest::json::Found {
                    // A map is written as a JSON object, an array (or a state's `null`) as
                    // itself.
                    kind: if text.first() == Some(&b'{') {
                        crate::ingest::json::Kind::Obj
                    } else {
                        crate::ingest::json::Kind::Arr
                    },
                    start: 0,
                    end: u32::try_from(text.len()).unwrap_or(u32::MAX),
                    escaped: false,
                    duplicate: false,
                    mantissa: 0,
                    decimals: u8::MAX,
                };
                let v =
                    crate::ingest::values::read(declared, Some(found), text, room, &mut unescape)
                        .map_err(|_| {
                        damaged(
                            at,
                            format!("column '{}' holds a value that is not {declared}", c.name),
                        )
                    })?;
                let bytes =
                    std::mem::size_of::<crate::query::Value>() + super::value_heap_bytes(&v);
                add = add.saturating_add(bytes as u64);
                vals.push(v);
            }
            if store.bytes().saturating_add(add) > store.max_bytes {
                return Err(over_budget(store, add, at));
            }
            values[i] = Some(vals);
            columns.push(ColumnData::with_capacity(c.ty, 0));
            continue;
        }
        let data = get_column(r, tag, rows)?;
        if let Some(Some(d)) = store.dicts.get(i) {
            let len = d.len() as u64;
            let max = match &data {
                ColumnData::Str8(v) => v.iter().copied().max().map(u64::from),
                ColumnData::Str16(v) => v.iter().copied().max().map(u64::from),
                ColumnData::Str(v) => v.iter().copied().max().map(u64::from),
                _ => None,
            };
            if max.is_some_and(|m| m >= len) {
                return Err(damaged(
                    col_at,
                    format!(
                        "column '{}' holds a string code past its dictionary of {len}",
                        c.name
                    ),
                ));
            }
        }
        columns.push(data);
    }
    columns.extend(
        store.datasource.columns[held..]
            .iter()
            .map(|c| default_column(c.ty, rows)),
    );
    let mut nulls = Vec::with_capacity(ncols);
    for c in &store.datasource.columns[..held] {
        let m_at = r.at();
        let has = r.flag()?;
        if has != c.nullable {
            return Err(damaged(
                m_at,
                format!(
                    "column '{}': a NULL mask where none belongs, or none where one does",
                    c.name
                ),
            ));
        }
        if has {
            let bytes = r.take(rows)?;
            if bytes.iter().any(|&b| b > 1) {
                return Err(damaged(
                    m_at + 1,
                    "a NULL mask holds a value other than 0 or 1",
                ));
            }
            let mut m = Vec::with_capacity(BLOCK_ROWS);
            m.extend(bytes.iter().map(|&b| b == 1));
            nulls.push(Some(m));
        } else {
            nulls.push(None);
        }
    }
    // Columns the file does not hold: a `Nullable` one is `NULL`, as ClickHouse fills it.
    for c in &store.datasource.columns[held..] {
        nulls.push(c.nullable.then(|| {
            let mut m = Vec::with_capacity(BLOCK_ROWS);
            m.resize(rows, true);
            m
        }));
    }
    let (min_time, max_time) = match store.datasource.time_column.map(|t| &columns[t]) {
        Some(ColumnData::U32(v)) => (
            v.iter().copied().min().map_or(0, i64::from),
            v.iter().copied().max().map_or(0, i64::from),
        ),
        Some(ColumnData::I64(v)) => (
            v.iter().copied().min().unwrap_or(0),
            v.iter().copied().max().unwrap_or(0),
        ),
        _ => (0, 0),
    };
    if store.partition_key(min_time) != key || store.partition_key(max_time) != key {
        return Err(damaged(
            at,
            format!("a block's rows are not all in its partition {key}"),
        ));
    }
    let block = Block {
        values,
        columns,
        nulls,
        rows,
        min_time,
        max_time,
    };
    match store.partitions.last_mut() {
        Some(p) if p.key == key => {
            if p.blocks.last().is_some_and(|b| b.rows < BLOCK_ROWS) {
                return Err(damaged(at, "a block follows a block that is not full"));
            }
            p.blocks.push(block);
        }
        Some(p) if p.key > key => {
            return Err(damaged(at, "partitions are out of order"));
        }
        _ => store.partitions.push(Partition {
            key,
            blocks: vec![block],
        }),
    }
    store.block_bytes += add;
    store.rows += rows as u64;
    re.rows += rows as u64;
    Ok(())
}

fn get_quarantine(re: &mut Reopening, r: &mut In<'_>) -> Result<()> {
    let at = r.at();
    if !re.dicts_due.is_empty() || re.quarantined {
        return Err(r.err("a quarantine section is not expected here"));
    }
    let Some(i) = re.table else {
        return Err(r.err("a quarantine section comes before its datasource"));
    };
    let rows_due = re.rows_due;
    let (store, quarantine) = match i.checked_sub(1) {
        None => (&mut re.es.store, &mut re.es.quarantine),
        Some(j) => match re.es.others.get_mut(j) {
            Some(t) => (&mut t.store, &mut t.quarantine),
            None => return Err(r.err("a quarantine section comes before its datasource")),
        },
    };
    if store.rows() != rows_due {
        return Err(damaged(
            at,
            format!(
                "datasource '{}' holds {} rows; its TABLE section says {rows_due}",
                store.datasource.name,
                store.rows()
            ),
        ));
    }
    let count = r.u64()?;
    let closed = r.flag()?;
    let n = r.count(49)?;
    if (n as u64) > count {
        return Err(r.err(format!("{n} quarantined rows kept of {count} counted")));
    }
    let mut q = Quarantine::default();
    for _ in 0..n {
        let row_at = r.at();
        let row = QuarantineRow {
            stream: r.string()?,
            line: r.u64()?,
            values: r.strings()?,
            error_columns: r.strings()?,
            errors: r.strings()?,
            raw: if r.flag()? { Some(r.string()?) } else { None },
            inserted_at: r.i64()?,
        };
        if !q.push(row, store) {
            return Err(damaged(
                row_at,
                format!(
                    "the quarantine's rows need more than its share of the budget of {} bytes (maxBytes)",
                    store.max_bytes
                ),
            ));
        }
    }
    q.restore_counts(count, closed);
    *quarantine = q;
    re.quarantined = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_former_llm_events_is_todays_first_columns_and_engine() {
        let former = crate::schema::parse_datasource("llm_events", FORMER_LLM_EVENTS).unwrap();
        let today = Datasource::llm_events();
        assert_eq!(former.columns.len(), 9);
        assert!(is_former_llm_events(&former));
        assert!(!is_former_llm_events(&today));
        // Old rows keep their meaning: the same columns first, the same partitions and time.
        assert_eq!(today.columns[..9], former.columns[..]);
        assert_eq!(
            (&today.partition, &today.sorting_key, today.time_column),
            (&former.partition, &former.sorting_key, former.time_column)
        );
        // The added columns take '' and 0 in old rows: no DEFAULT, no NULL.
        assert!(today.columns[9..]
            .iter()
            .all(|c| c.default.is_none() && !c.nullable));
        let mut renamed = former.clone();
        renamed.name = "events".into();
        assert!(!is_former_llm_events(&renamed));
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The check value of CRC-32/ISO-HDLC for "123456789".
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog") in Python.
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
        // zlib.crc32(bytes(range(256)) * 4) in Python: every table and the tail.
        let bytes: Vec<u8> = (0..1024).map(|i| i as u8).collect();
        assert_eq!(crc32(&bytes), 0xB70B_4C26);
        let mut c = Crc32::new();
        for piece in bytes.chunks(37) {
            c.update(piece);
        }
        assert_eq!(c.finish(), 0xB70B_4C26);
    }
}
