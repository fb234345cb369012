//! Random datasource shapes and lines for them, with the values each row must hold, derived by
//! hand from how each value was written (never from the engine). Shared by the native ingest tests
//! and the wasm ones.
//!
//! A schema has nested `json:$.a.b.c` paths of several depths whose keys share prefixes, and a
//! column of every type the datasource parser accepts (under all of its spellings). Each line
//! writes the schema's values among keys outside the schema at every level: scalars, arrays and
//! objects (some of them holding keys named like schema keys), in random key order and spacing.
#![allow(dead_code)]

use llm_metrics::{EventStore, Params};
use serde_json::{json, Value as Json};

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Type names as a `.datasource` may spell them, with the kind of value each takes.
pub const TYPES: &[(&str, Ty)] = &[
    ("DateTime", Ty::DateTime),
    ("DateTime('UTC')", Ty::DateTime),
    ("DateTime64(3)", Ty::DateTime64),
    ("DateTime64(3, 'UTC')", Ty::DateTime64),
    ("String", Ty::String),
    ("LowCardinality(String)", Ty::String),
    ("UInt8", Ty::UInt(8)),
    ("UInt16", Ty::UInt(16)),
    ("UInt32", Ty::UInt(32)),
    ("UInt64", Ty::UInt(64)),
    ("Int8", Ty::Int(8)),
    ("Int16", Ty::Int(16)),
    ("Int32", Ty::Int(32)),
    ("Int64", Ty::Int(64)),
    ("Float32", Ty::Float32),
    ("Float64", Ty::Float64),
    ("Bool", Ty::Bool),
    ("Boolean", Ty::Bool),
];

/// The kind of values a column takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// `DateTime`.
    DateTime,
    /// `DateTime64(3)`.
    DateTime64,
    /// `String` or `LowCardinality(String)`.
    String,
    /// An unsigned integer of this many bits.
    UInt(u32),
    /// A signed integer of this many bits.
    Int(u32),
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Bool`.
    Bool,
}

/// One column of a generated schema.
#[derive(Debug, Clone)]
pub struct Column {
    /// `c0`, `c1`, ...
    pub name: String,
    /// The type as written in the schema.
    pub type_name: String,
    /// Its kind of values.
    pub ty: Ty,
    /// `Nullable(...)`: a missing key or `null` reads back as `null`.
    pub nullable: bool,
    /// Keys from the root object.
    pub path: Vec<String>,
}

/// A generated datasource.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Columns in schema order.
    pub columns: Vec<Column>,
    /// The column every row needs (the first time column), if any.
    pub time: Option<usize>,
}

const KEYS: &[&str] = &[
    "a",
    "ab",
    "abc",
    "b",
    "response",
    "usage",
    "u",
    "prompt_tokens",
    "p",
    "x1",
    "Id",
    "meta",
];
const JUNK_KEYS: &[&str] = &[
    "zz",
    "extra",
    "a_",
    "AB_x",
    "id2",
    "usage_",
    "prompt",
    "response_meta",
    "p",
    "a",
    "q",
];

impl Shape {
    /// A random schema of 1 to 12 columns; no path is a prefix of another, and paths differ
    /// in more than ASCII case (keys are matched without regard to it).
    pub fn random(rng: &mut Rng) -> Shape {
        let n = 1 + rng.below(12) as usize;
        let mut columns: Vec<Column> = Vec::new();
        let mut tries = 0;
        while columns.len() < n && tries < 200 {
            tries += 1;
            let deepest = if rng.pct(20) { 7 } else { 4 };
            let depth = 1 + rng.below(deepest) as usize;
            let path: Vec<String> = (0..depth).map(|_| rng.pick(KEYS).to_string()).collect();
            let lower: Vec<String> = path.iter().map(|k| k.to_ascii_lowercase()).collect();
            let clash = columns.iter().any(|c| {
                let other: Vec<String> = c.path.iter().map(|k| k.to_ascii_lowercase()).collect();
                let m = other.len().min(lower.len());
                other[..m] == lower[..m]
            });
            if clash {
                continue;
            }
            let (type_name, ty) = *rng.pick(TYPES);
            // Any type but the times may be Nullable (a time column is every row's time).
            let nullable = !matches!(ty, Ty::DateTime | Ty::DateTime64) && rng.pct(30);
            let type_name = match (nullable, type_name) {
                (false, t) => t.to_string(),
                (true, "LowCardinality(String)") => "LowCardinality(Nullable(String))".into(),
                (true, t) => format!("Nullable({t})"),
            };
            columns.push(Column {
                name: format!("c{}", columns.len()),
                type_name,
                ty,
                path,
                nullable,
            });
        }
        let time = columns
            .iter()
            .position(|c| matches!(c.ty, Ty::DateTime | Ty::DateTime64));
        Shape { columns, time }
    }

    /// The `.datasource` text: a SCHEMA block only (no ENGINE lines).
    pub fn datasource(&self) -> String {
        let mut s = String::from("DESCRIPTION >\n    generated shape\n\nSCHEMA >\n");
        for (i, c) in self.columns.iter().enumerate() {
            let sep = if i + 1 < self.columns.len() { "," } else { "" };
            s.push_str(&format!(
                "    `{}` {} `json:$.{}`{sep}\n",
                c.name,
                c.type_name,
                c.path.join(".")
            ));
        }
        s
    }

    /// `SELECT c0, c1, ... FROM llm_events`.
    pub fn select(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        format!("SELECT {} FROM llm_events", names.join(", "))
    }

    /// A line for this schema and the value each column must then hold (as ClickHouse's JSON
    /// output writes it).
    pub fn line(&self, rng: &mut Rng) -> (String, Vec<Json>) {
        let mut root = Obj::default();
        let mut expected = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            let present = self.time == Some(i) || rng.pct(85);
            let (text, want) = if !present {
                let want = if c.nullable {
                    Json::Null
                } else {
                    default(c.ty)
                };
                (String::new(), want)
            } else if c.nullable && rng.pct(20) {
                ("null".to_string(), Json::Null)
            } else {
                value(c.ty, rng)
            };
            expected.push(want);
            root.insert(&c.path, present.then_some(text));
        }
        let mut out = String::new();
        root.write(rng, &mut out);
        (out, expected)
    }
}

/// An object along the schema's paths, before serialization.
#[derive(Default)]
struct Obj {
    /// Key and either a value's JSON text or a nested object. An absent column leaves its
    /// path's objects in place (possibly empty).
    entries: Vec<(String, Entry)>,
}

enum Entry {
    Text(Option<String>),
    Obj(Obj),
}

impl Obj {
    fn insert(&mut self, path: &[String], text: Option<String>) {
        let Some((key, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            self.entries.push((key.clone(), Entry::Text(text)));
            return;
        }
        let pos = self.entries.iter().position(|(k, _)| k == key);
        let idx = match pos {
            Some(i) => i,
            None => {
                self.entries.push((key.clone(), Entry::Obj(Obj::default())));
                self.entries.len() - 1
            }
        };
        if let Entry::Obj(o) = &mut self.entries[idx].1 {
            o.insert(rest, text);
        }
    }

    fn is_empty(&self) -> bool {
        self.entries.iter().all(|(_, e)| match e {
            Entry::Text(t) => t.is_none(),
            Entry::Obj(o) => o.is_empty(),
        })
    }

    fn write(&self, rng: &mut Rng, out: &mut String) {
        let mut items: Vec<(String, String)> = Vec::new();
        for (k, e) in &self.entries {
            match e {
                Entry::Text(Some(t)) => items.push((k.clone(), t.clone())),
                Entry::Text(None) => {}
                Entry::Obj(o) => {
                    if o.is_empty() && rng.pct(30) {
                        // Nothing of the schema below: the object may be absent or not an
                        // object at all.
                        match rng.below(4) {
                            0 => {}
                            1 => items.push((k.clone(), "null".into())),
                            2 => {
                                let v = format!("[{}]", junk(rng, 2));
                                items.push((k.clone(), v));
                            }
                            _ => items.push((k.clone(), "[]".into())),
                        }
                    } else {
                        let mut s = String::new();
                        o.write(rng, &mut s);
                        items.push((k.clone(), s));
                    }
                }
            }
        }
        let extra = rng.below(4);
        for _ in 0..extra {
            let k = rng.pick(JUNK_KEYS).to_string();
            let clash = self.entries.iter().any(|(e, _)| e.eq_ignore_ascii_case(&k))
                || items.iter().any(|(e, _)| e.eq_ignore_ascii_case(&k));
            if !clash {
                let v = junk(rng, 3);
                items.push((k, v));
            }
        }
        // Shuffle.
        for i in (1..items.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
        const SPACES: [&str; 4] = [" ", "  ", "\t", " \t "];
        let sp = |rng: &mut Rng| -> &'static str {
            if rng.pct(80) {
                ""
            } else {
                SPACES[rng.below(4) as usize]
            }
        };
        out.push('{');
        out.push_str(sp(rng));
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
                out.push_str(sp(rng));
            }
            out.push_str(&Json::String(k.clone()).to_string());
            out.push_str(sp(rng));
            out.push(':');
            out.push_str(sp(rng));
            out.push_str(v);
            out.push_str(sp(rng));
        }
        out.push('}');
    }
}

/// Any JSON value outside the schema, nesting at most `depth` more levels; objects may hold keys
/// named like schema keys.
pub fn junk(rng: &mut Rng, depth: u32) -> String {
    let k = if depth == 0 {
        rng.below(6)
    } else {
        rng.below(9)
    };
    match k {
        0 => "null".into(),
        1 => "true".into(),
        2 => "false".into(),
        3 => rng
            .pick(&[
                "0",
                "-1",
                "3.25",
                "1e308",
                "-0.5E-3",
                "123456789012345678901234",
            ])
            .to_string(),
        4 => rng
            .pick(&[
                r#""""#,
                r#""x""#,
                r#""\"}{][,:""#,
                r#""\u00e9\ud83d\ude00\n""#,
                r#""{\"p\":1}""#,
            ])
            .to_string(),
        5 => rng.pick(&["{}", "[]", "[[]]", "{\"a\":{}}"]).to_string(),
        6 | 7 => {
            let n = rng.below(4);
            let parts: Vec<String> = (0..n).map(|_| junk(rng, depth - 1)).collect();
            format!("[{}]", parts.join(","))
        }
        _ => {
            let n = rng.below(4);
            let parts: Vec<String> = (0..n)
                .map(|i| {
                    let key = if rng.pct(50) {
                        rng.pick(KEYS).to_string()
                    } else {
                        format!("k{i}")
                    };
                    format!("\"{key}\":{}", junk(rng, depth - 1))
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

/// What a column holds when its key is absent.
fn default(ty: Ty) -> Json {
    match ty {
        Ty::DateTime => json!("1970-01-01 00:00:00"),
        Ty::DateTime64 => json!("1970-01-01 00:00:00.000"),
        Ty::String => json!(""),
        Ty::UInt(_) | Ty::Int(_) => json!(0),
        Ty::Float32 | Ty::Float64 => json!(0.0),
        Ty::Bool => json!(false),
    }
}

/// A value of type `ty` as JSON text, and what the column then holds.
fn value(ty: Ty, rng: &mut Rng) -> (String, Json) {
    match ty {
        Ty::DateTime | Ty::DateTime64 => {
            let (y, mo, d) = (1971 + rng.below(130), 1 + rng.below(12), 1 + rng.below(28));
            let (h, mi, s) = (rng.below(24), rng.below(60), rng.below(60));
            let date = format!("{y:04}-{mo:02}-{d:02}");
            let clock = format!("{h:02}:{mi:02}:{s:02}");
            if ty == Ty::DateTime {
                let text = if rng.pct(50) {
                    format!("\"{date} {clock}\"")
                } else {
                    format!("\"{date}T{clock}Z\"")
                };
                (text, json!(format!("{date} {clock}")))
            } else {
                let ms = rng.below(1000);
                (
                    format!("\"{date} {clock}.{ms:03}\""),
                    json!(format!("{date} {clock}.{ms:03}")),
                )
            }
        }
        Ty::String => {
            const PIECES: &[(&str, &str)] = &[
                ("gpt-4o", "gpt-4o"),
                ("a b", "a b"),
                ("\\\"", "\""),
                ("\\\\", "\\"),
                ("\\n", "\n"),
                ("\\u00e9", "\u{e9}"),
                ("\u{e9}", "\u{e9}"),
                ("\\ud83d\\ude00", "\u{1F600}"),
                ("{\\\"p\\\":1}", "{\"p\":1}"),
                ("\\/", "/"),
            ];
            let n = rng.below(5);
            let (mut text, mut want) = (String::from("\""), String::new());
            for _ in 0..n {
                let (t, w) = rng.pick(PIECES);
                text.push_str(t);
                want.push_str(w);
            }
            text.push('"');
            (text, json!(want))
        }
        Ty::UInt(bits) => {
            let max = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let v = match rng.below(4) {
                0 => 0,
                1 => max,
                _ => rng.next() % max.saturating_add(1).max(1),
            };
            let v = if bits == 64 && v == 0 && rng.pct(50) {
                rng.next()
            } else {
                v
            };
            let text = if rng.pct(20) {
                format!("\"{v}\"")
            } else {
                v.to_string()
            };
            (text, json!(v))
        }
        Ty::Int(bits) => {
            let (lo, hi) = if bits == 64 {
                (i64::MIN, i64::MAX)
            } else {
                (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
            };
            let v = match rng.below(4) {
                0 => lo,
                1 => hi,
                _ => {
                    let span = (hi as i128 - lo as i128 + 1) as u128;
                    (lo as i128 + (u128::from(rng.next()) % span) as i128) as i64
                }
            };
            let text = if rng.pct(20) {
                format!("\"{v}\"")
            } else {
                v.to_string()
            };
            (text, json!(v))
        }
        Ty::Float32 => {
            let v = (rng.below(8001) as f64 - 4000.0) / 4.0;
            (format!("{v}"), json!(v))
        }
        Ty::Float64 => {
            let v = (rng.below(2_000_001) as f64 - 1_000_000.0) / 1024.0;
            (format!("{v}"), json!(v))
        }
        Ty::Bool => {
            let (text, v) =
                *rng.pick(&[("true", true), ("false", false), ("1", true), ("0", false)]);
            (text.to_string(), json!(v))
        }
    }
}

/// Compares one JSON cell of a query result with the expected value: numbers by value, the rest
/// exactly. Returns a description of the difference.
pub fn same_cell(got: &Json, want: &Json) -> bool {
    match (got, want) {
        (Json::Number(a), Json::Number(b)) => {
            if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
                x == y
            } else if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
                x == y
            } else {
                a.as_f64() == b.as_f64()
            }
        }
        _ => got == want,
    }
}

/// Ingests `lines` lines written for `shape` into a store made from its datasource text (as
/// `EventStore.fromDatasource` does), in chunks of random sizes, and checks every stored value.
pub fn check_shape(shape: &Shape, seed: u64, lines: usize) {
    let mut rng = Rng::new(seed);
    let ds = shape.datasource();
    let mut store = EventStore::from_datasource(&ds).unwrap_or_else(|e| panic!("{ds}: {e}"));
    let mut data = String::new();
    let mut expected = Vec::new();
    for _ in 0..lines {
        let (line, want) = shape.line(&mut rng);
        data.push_str(&line);
        data.push('\n');
        expected.push(want);
    }
    let bytes = data.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let n = (1 + rng.below(300) as usize).min(bytes.len() - at);
        store.write(&bytes[at..at + n]).expect("write");
        at += n;
    }
    let report = store.end().expect("end");
    assert_eq!(
        (report.lines, report.rows, report.quarantined),
        (lines as u64, lines as u64, 0),
        "{ds}\n{data}\n{:?}",
        report.errors
    );
    let result = store.sql(&shape.select(), &Params::new()).expect("select");
    let json: Json = serde_json::from_str(&result.to_json()).expect("endpoint JSON");
    let rows = json["data"].as_array().expect("data");
    assert_eq!(rows.len(), lines);
    for (r, (row, want)) in rows.iter().zip(&expected).enumerate() {
        for (c, col) in shape.columns.iter().enumerate() {
            let got = &row[&col.name];
            assert!(
                same_cell(got, &want[c]),
                "{ds}\nline {}: {}\ncolumn {} ({}): got {got}, want {}",
                r + 1,
                data.lines().nth(r).unwrap_or(""),
                col.name,
                col.type_name,
                want[c]
            );
        }
    }
}

/// Stores lines of `seeds` random shapes, `lines` lines each, and checks every value.
pub fn check_random_shapes(seeds: u64, lines: usize) {
    for seed in 0..seeds {
        let mut rng = Rng::new(seed);
        let shape = Shape::random(&mut rng);
        check_shape(&shape, seed ^ 0xABCD, lines);
    }
}

/// A datasource in the shape of an LLM API response log (model and usage nested under
/// `response`), fed lines whose objects also hold keys, arrays and objects outside the schema:
/// every line is stored with the values written, worked out by hand.
pub fn check_llm_response_shape() {
    let ds = "SCHEMA >\n    `event_time` DateTime `json:$.event_time`,\n    `model_name` String `json:$.model`,\n    `user` String `json:$.user`,\n    `prompt_tokens` UInt32 `json:$.response.usage.prompt_tokens`,\n    `completion_tokens` UInt32 `json:$.response.usage.completion_tokens`\n";
    let mut store = EventStore::from_datasource(ds).expect("datasource");
    store
        .write(br#"{"event_time":"2024-05-01 10:00:00","model":"gpt-4o","user":"u1","response":{"id":"x","choices":[{"message":{"role":"assistant"}}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"details":{"cached":0}},"meta":null}}
{"response":{"usage":{"completion_tokens":4,"prompt_tokens":20,"x":[1]},"object":{}},"event_time":"2024-05-01 10:00:01","model":"claude","extra":[{"a":{}}]}
"#)
        .expect("write");
    let report = store.end().expect("end");
    assert_eq!((report.lines, report.rows), (2, 2), "{:?}", report.errors);
    let r = store
        .sql(
            "SELECT model_name, user, prompt_tokens, completion_tokens FROM llm_events",
            &Params::new(),
        )
        .expect("select");
    let json: Json = serde_json::from_str(&r.to_json()).expect("endpoint JSON");
    assert_eq!(
        json["data"],
        json!([
            {"model_name": "gpt-4o", "user": "u1", "prompt_tokens": 12, "completion_tokens": 3},
            {"model_name": "claude", "user": "", "prompt_tokens": 20, "completion_tokens": 4}
        ])
    );
}
