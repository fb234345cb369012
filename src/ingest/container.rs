//! JSON documents streamed as lines: a top-level array gives one line per element, an API page
//! (`{"data": [...], ...}`) one line per element of its `data` array, and any other object,
//! pretty-printed over many lines or not, one line. The document is never parsed whole: bytes
//! are passed through as they come, with the newlines of pretty-printing (always whitespace,
//! since JSON strings cannot hold a raw newline) turned into spaces and a newline written after
//! each element, so the line decoder downstream sees NDJSON and keeps its own bounds. Only an
//! object's text before its `data` array is held, up to the longest line allowed.

/// What the splitter is inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Before the first byte that is not whitespace.
    Start,
    /// Between the elements of the array being split (`base` is its depth).
    Between,
    /// Inside an element of the array being split.
    Element,
    /// Inside a top-level object, its text held in `prefix`.
    Object,
    /// Inside a top-level object's `data` array's end: skipping the rest of the object.
    SkipRest,
    /// After the document: any text that is not whitespace is passed on as a line of its own.
    After,
    /// Not a JSON document (or an object longer than the line bound): bytes pass unchanged.
    Raw,
}

/// A streaming splitter of one JSON document into NDJSON lines.
#[derive(Debug, Clone)]
pub struct JsonDocument {
    mode: Mode,
    depth: usize,
    /// Depth of the array whose elements are split.
    base: usize,
    in_string: bool,
    escape: bool,
    /// In an object: the text so far, while its `data` array is not found.
    prefix: Vec<u8>,
    /// In an object at depth 1: the last key read, and whether a `:` followed it.
    key: Vec<u8>,
    reading_key: bool,
    after_key: bool,
    expect_key: bool,
    max_prefix: usize,
    /// The element being written is a scalar (it ends at `,` or `]`).
    scalar: bool,
    /// A non-whitespace byte was written on the current line in `After` mode.
    after_text: bool,
}

impl JsonDocument {
    /// A splitter that holds at most `max_prefix` bytes of an object before its `data` array.
    pub fn new(max_prefix: usize) -> JsonDocument {
        JsonDocument {
            mode: Mode::Start,
            depth: 0,
            base: 0,
            in_string: false,
            escape: false,
            prefix: Vec::new(),
            key: Vec::new(),
            reading_key: false,
            after_key: false,
            expect_key: false,
            max_prefix,
            scalar: false,
            after_text: false,
        }
    }

    /// Appends the lines of `chunk` to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &b in chunk {
            self.byte(b, out);
        }
    }

    /// Ends the document: writes an object that never closed, or ends a last line.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self.mode {
            Mode::Object => {
                out.append(&mut self.prefix);
                out.push(b'\n');
            }
            Mode::Element | Mode::Raw => out.push(b'\n'),
            Mode::After if self.after_text => out.push(b'\n'),
            _ => {}
        }
        self.mode = Mode::After;
        self.after_text = false;
    }

    /// Tracks strings and depth for byte `b`; true when `b` is structural (outside strings).
    fn structural(&mut self, b: u8) -> bool {
        if self.in_string {
            if self.escape {
                self.escape = false;
            } else if b == b'\\' {
                self.escape = true;
            } else if b == b'"' {
                self.in_string = false;
            }
            return false;
        }
        match b {
            b'"' => {
                self.in_string = true;
                false
            }
            b'{' | b'[' => {
                self.depth += 1;
                true
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                true
            }
            _ => true,
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        let space = if b == b'\n' || b == b'\r' { b' ' } else { b };
        match self.mode {
            Mode::Raw => out.push(b),
            Mode::Start => match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'[' => {
                    self.structural(b);
                    self.base = 1;
                    self.mode = Mode::Between;
                }
                b'{' => {
                    self.structural(b);
                    self.prefix.push(b);
                    self.expect_key = true;
                    self.mode = Mode::Object;
                }
                _ => {
                    self.mode = Mode::Raw;
                    out.push(b);
                }
            },
            Mode::Between => match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => {}
                b']' => {
                    self.structural(b);
                    self.mode = self.after_array();
                }
                _ => {
                    self.structural(b);
                    self.scalar = b != b'{' && b != b'[';
                    out.push(b);
                    self.mode = Mode::Element;
                }
            },
            Mode::Element => {
                let was_string = self.in_string;
                let structural = self.structural(b) && !was_string;
                if structural && self.depth == self.base {
                    if self.scalar && b == b',' {
                        // A scalar element ends before its comma.
                        out.push(b'\n');
                        self.mode = Mode::Between;
                        return;
                    }
                    if !self.scalar && (b == b'}' || b == b']') {
                        out.push(b);
                        out.push(b'\n');
                        self.mode = Mode::Between;
                        return;
                    }
                }
                if structural && self.depth < self.base {
                    // The array's `]` right after a scalar element (or unbalanced input).
                    out.push(b'\n');
                    self.mode = self.after_array();
                    return;
                }
                out.push(space);
            }
            Mode::Object => self.object_byte(b, space, out),
            Mode::SkipRest => {
                self.structural(b);
                if self.depth == 0 {
                    self.mode = Mode::After;
                }
            }
            Mode::After => match b {
                b'\n' | b'\r' => {
                    if self.after_text {
                        out.push(b'\n');
                        self.after_text = false;
                    }
                }
                b' ' | b'\t' if !self.after_text => {}
                _ => {
                    self.after_text = true;
                    out.push(b);
                }
            },
        }
    }

    /// Where the split array's end leads: the end of the document, or the rest of the page.
    fn after_array(&self) -> Mode {
        if self.base == 1 {
            Mode::After
        } else {
            Mode::SkipRest
        }
    }

    fn object_byte(&mut self, b: u8, space: u8, out: &mut Vec<u8>) {
        let was_string = self.in_string;
        let depth_before = self.depth;
        self.structural(b);
        self.prefix.push(space);
        if depth_before == 1 {
            if was_string {
                if self.reading_key {
                    if self.in_string {
                        self.key.push(b);
                    } else {
                        self.reading_key = false;
                        self.after_key = true;
                    }
                }
            } else if self.in_string {
                // A string opens at the object's own level: a key, or a value.
                self.reading_key = self.expect_key;
                self.expect_key = false;
                self.after_key = false;
                self.key.clear();
            } else {
                match b {
                    b':' | b' ' | b'\t' | b'\n' | b'\r' => {}
                    b'[' if self.after_key && self.key == b"data" => {
                        // The page's records: split this array, drop the text before it.
                        self.prefix.clear();
                        self.base = 2;
                        self.after_key = false;
                        self.mode = Mode::Between;
                        return;
                    }
                    b',' => {
                        self.expect_key = true;
                        self.after_key = false;
                    }
                    _ => self.after_key = false,
                }
            }
        }
        if self.depth == 0 {
            out.append(&mut self.prefix);
            out.push(b'\n');
            self.mode = Mode::After;
        } else if self.prefix.len() > self.max_prefix {
            // Longer than a line may be: passed on as it is, for the line bound to refuse.
            out.append(&mut self.prefix);
            self.mode = Mode::Raw;
        }
    }
}

/// How a stream's bytes are read, from its name: `.json` (also `.json.gz`) is a JSON document,
/// anything else NDJSON.
pub fn is_json_document(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    base.ends_with(".json")
}

#[cfg(test)]
mod tests {
    use super::JsonDocument;

    fn split(text: &str) -> String {
        let mut out = Vec::new();
        let mut d = JsonDocument::new(1 << 20);
        // One byte at a time: the result does not depend on the chunking.
        for b in text.as_bytes() {
            d.feed(std::slice::from_ref(b), &mut out);
        }
        d.finish(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn arrays_give_a_line_per_element() {
        assert_eq!(
            split("[{\"a\":1},{\"b\":[1,2]}]"),
            "{\"a\":1}\n{\"b\":[1,2]}\n"
        );
        assert_eq!(
            split("[\n  {\n    \"a\": \"x]\\\"}\"\n  },\n  {\"b\": {}}\n]\n"),
            // The newline after `{` and four spaces; the newline and two spaces before `}`.
            "{     \"a\": \"x]\\\"}\"   }\n{\"b\": {}}\n"
        );
        assert_eq!(split("[]"), "");
        assert_eq!(split(" [ 1 , \"s\" ,null]"), "1 \n\"s\" \nnull\n");
        assert_eq!(split("[{\"a\":1}] trailing"), "{\"a\":1}\ntrailing\n");
    }

    #[test]
    fn pages_give_their_data_and_objects_themselves() {
        assert_eq!(
            split(
                "{\"meta\":{\"page\":1,\"data\":[9]},\"data\":[{\"id\":1},{\"id\":2}],\"x\":[3]}"
            ),
            "{\"id\":1}\n{\"id\":2}\n"
        );
        assert_eq!(
            split("{\n  \"resourceSpans\": [\n    {\"data\": [1]}\n  ]\n}\n"),
            "{   \"resourceSpans\": [     {\"data\": [1]}   ] }\n"
        );
        assert_eq!(split("{\"a\":1}\n{\"b\":2}\n"), "{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(split("{\"a\":"), "{\"a\":\n");
        assert_eq!(split("not json\nat all"), "not json\nat all\n");
    }
}

/// A streaming reader of CSV with a header row (RFC 4180, as `csv-core` reads it: quoted fields
/// may hold commas, quotes and newlines) that writes each record as one JSON object line keyed
/// by the header: cells as strings, except cells holding a JSON object or array (as exports
/// write nested fields), which are kept as JSON; empty cells are left out. A record longer than
/// the line bound is written as a line that names it, for the decoder to quarantine.
#[derive(Debug, Clone)]
pub struct CsvDocument {
    reader: csv_core::Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
    n_fields: usize,
    n_ends: usize,
    header: Option<Vec<String>>,
    max_record: usize,
    too_long: u64,
}

impl CsvDocument {
    /// A reader whose records are at most `max_record` bytes.
    pub fn new(max_record: usize) -> CsvDocument {
        CsvDocument {
            reader: csv_core::Reader::new(),
            fields: vec![0; 4096],
            ends: vec![0; 64],
            n_fields: 0,
            n_ends: 0,
            header: None,
            max_record,
            too_long: 0,
        }
    }

    /// Appends the lines of the records `chunk` completes to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        loop {
            let (result, n_in, n_out, n_end) = self.reader.read_record(
                chunk,
                &mut self.fields[self.n_fields..],
                &mut self.ends[self.n_ends..],
            );
            chunk = &chunk[n_in..];
            self.n_fields += n_out;
            self.n_ends += n_end;
            match result {
                csv_core::ReadRecordResult::InputEmpty | csv_core::ReadRecordResult::End => return,
                csv_core::ReadRecordResult::OutputFull => {
                    if self.fields.len() >= self.max_record {
                        // Past the bound: the record's bytes are counted, not kept.
                        self.too_long += self.n_fields as u64;
                        self.n_fields = 0;
                        self.n_ends = 0;
                    } else {
                        let grown = (self.fields.len() * 2).min(self.max_record.max(4096));
                        self.fields.resize(grown, 0);
                    }
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    self.record(out);
                    self.n_fields = 0;
                    self.n_ends = 0;
                    self.too_long = 0;
                }
            }
        }
    }

    /// Ends the document: writes a last record without a line end.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.feed(&[], out);
    }

    fn record(&mut self, out: &mut Vec<u8>) {
        if self.too_long > 0 {
            let bytes = self.too_long + self.n_fields as u64;
            out.extend_from_slice(
                format!(
                    "CSV record too long: {bytes} bytes (the limit is {} bytes)\n",
                    self.max_record
                )
                .as_bytes(),
            );
            return;
        }
        let mut cells = Vec::with_capacity(self.n_ends);
        let mut start = 0;
        for &end in &self.ends[..self.n_ends] {
            cells.push(String::from_utf8_lossy(&self.fields[start..end]).into_owned());
            start = end;
        }
        let Some(header) = &self.header else {
            if let Some(first) = cells.first_mut() {
                if let Some(rest) = first.strip_prefix('\u{feff}') {
                    *first = rest.to_string();
                }
            }
            self.header = Some(cells);
            return;
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            out.push(b'\n');
            return;
        }
        let mut line = String::from("{");
        let mut first = true;
        for (i, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let name = header
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column_{}", i + 1));
            if !first {
                line.push(',');
            }
            first = false;
            line.push_str(&serde_json::Value::from(name).to_string());
            line.push(':');
            let t = cell.trim_start();
            let nested = (t.starts_with('{') || t.starts_with('['))
                && serde_json::from_str::<serde::de::IgnoredAny>(t).is_ok();
            if nested {
                // Pretty-printed JSON in a cell: its newlines are whitespace.
                line.extend(
                    t.chars()
                        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
                );
            } else {
                line.push_str(&serde_json::Value::from(cell.as_str()).to_string());
            }
        }
        line.push_str("}\n");
        out.extend_from_slice(line.as_bytes());
    }
}

/// A stream named `*.csv` (also `*.csv.gz`) is CSV with a header row.
pub fn is_csv(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    base.ends_with(".csv")
}

#[cfg(test)]
mod csv_tests {
    use super::CsvDocument;

    fn read(text: &str, chunk: usize) -> String {
        let mut out = Vec::new();
        let mut d = CsvDocument::new(1 << 20);
        for c in text.as_bytes().chunks(chunk) {
            d.feed(c, &mut out);
        }
        d.finish(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn records_become_objects_keyed_by_the_header() {
        let text =
            "\u{feff}a,b,c\r\n1,\"x, \"\"y\"\"\nz\",\r\n,,\n2,\"{\"\"k\"\": [1,\n2]}\",\"[oops\"";
        let want = "{\"a\":\"1\",\"b\":\"x, \\\"y\\\"\\nz\"}\n\n{\"a\":\"2\",\"b\":{\"k\": [1, 2]},\"c\":\"[oops\"}\n";
        for chunk in [1, 2, 7, 1000] {
            assert_eq!(read(text, chunk), want, "chunk {chunk}");
        }
    }

    #[test]
    fn a_record_past_the_bound_is_named_not_kept() {
        let mut out = Vec::new();
        let mut d = CsvDocument::new(8192);
        d.feed(b"a,b\n", &mut out);
        let big = format!("{},1\n2,3\n", "x".repeat(50_000));
        d.feed(big.as_bytes(), &mut out);
        d.finish(&mut out);
        let text = String::from_utf8(out).expect("utf-8");
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap_or("")
                .starts_with("CSV record too long: "),
            "{text}"
        );
        assert_eq!(lines.next(), Some("{\"a\":\"2\",\"b\":\"3\"}"));
        assert!(d.fields.len() <= 8192);
    }
}
