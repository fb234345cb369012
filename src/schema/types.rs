//! ClickHouse column types as written in a `.datasource` schema, parsed into a description.
//!
//! Every type of the grammar is read, whether or not the store can hold it:
//! [`TypeDesc::storage`] says which ones it can. The text form ([`std::fmt::Display`]) is the
//! name ClickHouse gives the type (`DESCRIBE`, `toTypeName`): `Decimal32(2)` is `Decimal(9, 2)`,
//! `Boolean` is `Bool`, spaces are normalised.

use super::ColumnType;
use std::fmt;

/// Most levels a type may nest (`Array(Array(…))`); deeper types are refused before the
/// parser's recursion could exhaust wasm32's 1 MiB stack.
pub const MAX_TYPE_DEPTH: usize = 32;

/// Longest type text read, in bytes.
pub const MAX_TYPE_TEXT: usize = 4096;

/// A parsed ClickHouse column type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeDesc {
    /// `UInt8` … `UInt256`: the width in bits.
    UInt(u16),
    /// `Int8` … `Int256`: the width in bits.
    Int(u16),
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Decimal(P, S)`, also written `Decimal32(S)`, `Decimal64(S)`, `Decimal128(S)`, `Decimal256(S)`.
    Decimal {
        /// Digits in all.
        precision: u8,
        /// Digits after the point.
        scale: u8,
    },
    /// `Bool` (also written `Boolean`).
    Bool,
    /// `String`.
    String,
    /// `FixedString(N)`.
    FixedString(u32),
    /// `UUID`.
    Uuid,
    /// `IPv4`.
    IPv4,
    /// `IPv6`.
    IPv6,
    /// `Date`.
    Date,
    /// `Date32`.
    Date32,
    /// `DateTime` with an optional time zone.
    DateTime(Option<String>),
    /// `DateTime64(precision[, time zone])`.
    DateTime64(u8, Option<String>),
    /// `Enum8('a' = 1, …)`.
    Enum8(Vec<(String, i64)>),
    /// `Enum16('a' = 1, …)`.
    Enum16(Vec<(String, i64)>),
    /// `Nullable(T)`.
    Nullable(Box<TypeDesc>),
    /// `LowCardinality(T)`.
    LowCardinality(Box<TypeDesc>),
    /// `Array(T)`.
    Array(Box<TypeDesc>),
    /// `Map(K, V)`.
    Map(Box<TypeDesc>, Box<TypeDesc>),
    /// `Tuple(T, …)` or `Tuple(name T, …)`.
    Tuple(Vec<(Option<String>, TypeDesc)>),
    /// `AggregateFunction(func[(params)], T, …)`: the state of an aggregate.
    AggregateFunction {
        /// The function with its parameters, as ClickHouse prints it: `sum`, `quantiles(0.5, 0.9)`.
        function: String,
        /// Argument types.
        args: Vec<TypeDesc>,
    },
    /// `JSON`: a semi-structured object (read; not stored).
    Json,
    /// `SimpleAggregateFunction(func, T)`: a value merged by `func`.
    SimpleAggregateFunction {
        /// The function's name.
        function: String,
        /// The value's type.
        arg: Box<TypeDesc>,
    },
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl fmt::Display for TypeDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeDesc::UInt(b) => write!(f, "UInt{b}"),
            TypeDesc::Int(b) => write!(f, "Int{b}"),
            TypeDesc::Float32 => f.write_str("Float32"),
            TypeDesc::Float64 => f.write_str("Float64"),
            TypeDesc::Decimal { precision, scale } => write!(f, "Decimal({precision}, {scale})"),
            TypeDesc::Bool => f.write_str("Bool"),
            TypeDesc::String => f.write_str("String"),
            TypeDesc::FixedString(n) => write!(f, "FixedString({n})"),
            TypeDesc::Uuid => f.write_str("UUID"),
            TypeDesc::IPv4 => f.write_str("IPv4"),
            TypeDesc::IPv6 => f.write_str("IPv6"),
            TypeDesc::Date => f.write_str("Date"),
            TypeDesc::Date32 => f.write_str("Date32"),
            TypeDesc::Json => f.write_str("JSON"),
            TypeDesc::DateTime(None) => f.write_str("DateTime"),
            TypeDesc::DateTime(Some(tz)) => write!(f, "DateTime({})", quote(tz)),
            TypeDesc::DateTime64(p, None) => write!(f, "DateTime64({p})"),
            TypeDesc::DateTime64(p, Some(tz)) => write!(f, "DateTime64({p}, {})", quote(tz)),
            TypeDesc::Enum8(values) | TypeDesc::Enum16(values) => {
                let bits = if matches!(self, TypeDesc::Enum8(_)) {
                    8
                } else {
                    16
                };
                write!(f, "Enum{bits}(")?;
                for (i, (name, v)) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {v}", quote(name))?;
                }
                f.write_str(")")
            }
            TypeDesc::Nullable(t) => write!(f, "Nullable({t})"),
            TypeDesc::LowCardinality(t) => write!(f, "LowCardinality({t})"),
            TypeDesc::Array(t) => write!(f, "Array({t})"),
            TypeDesc::Map(k, v) => write!(f, "Map({k}, {v})"),
            TypeDesc::Tuple(items) => {
                f.write_str("Tuple(")?;
                for (i, (name, t)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match name {
                        Some(n) => write!(f, "{n} {t}")?,
                        None => write!(f, "{t}")?,
                    }
                }
                f.write_str(")")
            }
            TypeDesc::AggregateFunction { function, args } => {
                write!(f, "AggregateFunction({function}")?;
                for a in args {
                    write!(f, ", {a}")?;
                }
                f.write_str(")")
            }
            TypeDesc::SimpleAggregateFunction { function, arg } => {
                write!(f, "SimpleAggregateFunction({function}, {arg})")
            }
        }
    }
}

impl TypeDesc {
    /// Parses a type as written in a schema (`Array(Map(String, String))`, `Decimal(10, 2)`,
    /// `DateTime64(3, 'UTC')`, …). Fails on unknown names, wrong arguments and combinations
    /// ClickHouse refuses (`Nullable(Array(…))`, `LowCardinality(Array(…))`).
    pub fn parse(text: &str) -> Result<TypeDesc, String> {
        if text.len() > MAX_TYPE_TEXT {
            return Err(format!("type text longer than {MAX_TYPE_TEXT} bytes"));
        }
        let toks = tokenize(text)?;
        let mut p = Parser { toks, pos: 0 };
        let t = p.ty(0)?;
        if p.pos != p.toks.len() {
            return Err(format!("unexpected {} after type '{t}'", p.describe()));
        }
        Ok(t)
    }

    /// The store's type for a column of this type, or `None` where the store cannot hold it yet.
    /// The stored type and whether it is `Nullable`: `Nullable(T)` and
    /// `LowCardinality(Nullable(String))` are `T` with a NULL mark per row.
    pub fn nullable_storage(&self) -> Option<(ColumnType, bool)> {
        match self {
            TypeDesc::Nullable(inner) => Some((inner.storage()?, true)),
            TypeDesc::LowCardinality(inner) => match &**inner {
                TypeDesc::Nullable(s) if **s == TypeDesc::String => {
                    Some((ColumnType::LowCardinalityString, true))
                }
                _ => Some((self.storage()?, false)),
            },
            t => Some((t.storage()?, false)),
        }
    }

    /// How the store holds a column of this type: the stored type, whether it is `Nullable`,
    /// and the declared type where it is not the stored one (`SimpleAggregateFunction(f, T)`
    /// is stored as `T`; `Array(T)` and `Map(K, V)` of stored scalars or of such arrays and maps, and
    /// `AggregateFunction(…)`, are stored as [`ColumnType::Values`]). `None` where the store
    /// cannot hold it yet.
    pub fn column_storage(&self) -> Option<(ColumnType, bool, Option<TypeDesc>)> {
        if let Some((ty, nullable)) = self.nullable_storage() {
            return Some((ty, nullable, None));
        }
        match self {
            TypeDesc::SimpleAggregateFunction { arg, .. } => {
                let (ty, nullable) = arg.nullable_storage()?;
                Some((ty, nullable, Some(self.clone())))
            }
            TypeDesc::Array(_) | TypeDesc::Map(..) if self.is_array_element() => {
                Some((ColumnType::Values, false, Some(self.clone())))
            }
            TypeDesc::AggregateFunction { .. } => {
                Some((ColumnType::Values, false, Some(self.clone())))
            }
            _ => None,
        }
    }

    /// True for the types a stored `Array` or `Map` value may hold: stored scalars (`Nullable`
    /// and `LowCardinality` too), and arrays and maps of them (a map's key a stored scalar that
    /// is not `Nullable`, as ClickHouse requires).
    pub fn is_array_element(&self) -> bool {
        match self {
            TypeDesc::Array(inner) => inner.is_array_element(),
            TypeDesc::Map(k, v) => {
                matches!(k.nullable_storage(), Some((_, false))) && v.is_array_element()
            }
            t => t.nullable_storage().is_some(),
        }
    }

    /// The stored type, for the types the store holds (not `Nullable`).
    pub fn storage(&self) -> Option<ColumnType> {
        Some(match self {
            TypeDesc::UInt(8) => ColumnType::UInt8,
            TypeDesc::UInt(16) => ColumnType::UInt16,
            TypeDesc::UInt(32) => ColumnType::UInt32,
            TypeDesc::UInt(64) => ColumnType::UInt64,
            TypeDesc::Int(8) => ColumnType::Int8,
            TypeDesc::Int(16) => ColumnType::Int16,
            TypeDesc::Int(32) => ColumnType::Int32,
            TypeDesc::Int(64) => ColumnType::Int64,
            TypeDesc::Float32 => ColumnType::Float32,
            TypeDesc::Float64 => ColumnType::Float64,
            TypeDesc::Bool => ColumnType::Bool,
            TypeDesc::String => ColumnType::String,
            TypeDesc::LowCardinality(inner) if **inner == TypeDesc::String => {
                ColumnType::LowCardinalityString
            }
            TypeDesc::Date => ColumnType::Date,
            TypeDesc::DateTime(tz) if is_utc(tz) => ColumnType::DateTime,
            TypeDesc::DateTime64(3, tz) if is_utc(tz) => ColumnType::DateTime64,
            _ => return None,
        })
    }

    /// Levels of nesting: 1 for a type with no type inside it.
    pub fn depth(&self) -> usize {
        1 + match self {
            TypeDesc::Nullable(t) | TypeDesc::LowCardinality(t) | TypeDesc::Array(t) => t.depth(),
            TypeDesc::Map(k, v) => k.depth().max(v.depth()),
            TypeDesc::Tuple(items) => items.iter().map(|(_, t)| t.depth()).max().unwrap_or(0),
            TypeDesc::AggregateFunction { args, .. } => {
                args.iter().map(TypeDesc::depth).max().unwrap_or(0)
            }
            TypeDesc::SimpleAggregateFunction { arg, .. } => arg.depth(),
            _ => 0,
        }
    }

    /// True for `AggregateFunction` and `SimpleAggregateFunction`.
    pub fn is_aggregate(&self) -> bool {
        matches!(
            self,
            TypeDesc::AggregateFunction { .. } | TypeDesc::SimpleAggregateFunction { .. }
        )
    }
}

fn is_utc(tz: &Option<String>) -> bool {
    matches!(tz.as_deref(), None | Some("UTC"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Str(String),
    Open,
    Close,
    Comma,
    Eq,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            b'=' => {
                toks.push(Tok::Eq);
                i += 1;
            }
            b'\'' | b'"' | b'`' => {
                let quote_char = c;
                let mut s = String::new();
                i += 1;
                loop {
                    let Some(&d) = b.get(i) else {
                        return Err("unclosed quote in type".to_string());
                    };
                    if d == b'\\' {
                        let Some(&e) = b.get(i + 1) else {
                            return Err("unclosed quote in type".to_string());
                        };
                        s.push(char::from(e));
                        i += 2;
                        continue;
                    }
                    if d == quote_char {
                        i += 1;
                        break;
                    }
                    // Multi-byte characters are copied whole.
                    let len = utf8_len(d);
                    s.push_str(text.get(i..i + len).unwrap_or("\u{fffd}"));
                    i += len;
                }
                toks.push(if quote_char == b'`' {
                    Tok::Ident(s)
                } else {
                    Tok::Str(s)
                });
            }
            b'0'..=b'9' | b'-' | b'+' | b'.' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'_')) {
                    i += 1;
                }
                toks.push(Tok::Num(text[start..i].to_string()));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                toks.push(Tok::Ident(text[start..i].to_string()));
            }
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected character '{ch}' in type"));
            }
        }
    }
    Ok(toks)
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of type".to_string(),
            Some(Tok::Ident(s)) => format!("'{s}'"),
            Some(Tok::Num(s)) => format!("'{s}'"),
            Some(Tok::Str(s)) => quote(s),
            Some(Tok::Open) => "'('".to_string(),
            Some(Tok::Close) => "')'".to_string(),
            Some(Tok::Comma) => "','".to_string(),
            Some(Tok::Eq) => "'='".to_string(),
        }
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        if self.peek() == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what}, found {}", self.describe()))
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn number(&mut self, what: &str) -> Result<u64, String> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let v = n
                    .parse::<u64>()
                    .map_err(|_| format!("{what} must be a whole number, found '{n}'"))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(format!("expected {what}, found {}", self.describe())),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        match self.peek() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(format!("expected {what}, found {}", self.describe())),
        }
    }

    /// One type argument list `(T, …)`, after the name.
    fn type_args(&mut self, depth: usize) -> Result<Vec<TypeDesc>, String> {
        self.expect(Tok::Open, "'('")?;
        let mut out = vec![self.ty(depth + 1)?];
        while self.eat(&Tok::Comma) {
            out.push(self.ty(depth + 1)?);
        }
        self.expect(Tok::Close, "')'")?;
        Ok(out)
    }

    fn one_arg(&mut self, name: &str, depth: usize) -> Result<TypeDesc, String> {
        let mut args = self.type_args(depth)?;
        if args.len() != 1 {
            return Err(format!("{name} takes one type, found {}", args.len()));
        }
        Ok(args.remove(0))
    }

    fn ty(&mut self, depth: usize) -> Result<TypeDesc, String> {
        if depth >= MAX_TYPE_DEPTH {
            return Err(format!("type nests more than {MAX_TYPE_DEPTH} levels"));
        }
        let name = match self.peek() {
            Some(Tok::Ident(n)) => n.clone(),
            _ => return Err(format!("expected a type, found {}", self.describe())),
        };
        self.pos += 1;
        let simple = match name.as_str() {
            "UInt8" => Some(TypeDesc::UInt(8)),
            "UInt16" => Some(TypeDesc::UInt(16)),
            "UInt32" => Some(TypeDesc::UInt(32)),
            "UInt64" => Some(TypeDesc::UInt(64)),
            "UInt128" => Some(TypeDesc::UInt(128)),
            "UInt256" => Some(TypeDesc::UInt(256)),
            "Int8" => Some(TypeDesc::Int(8)),
            "Int16" => Some(TypeDesc::Int(16)),
            "Int32" => Some(TypeDesc::Int(32)),
            "Int64" => Some(TypeDesc::Int(64)),
            "Int128" => Some(TypeDesc::Int(128)),
            "Int256" => Some(TypeDesc::Int(256)),
            "Float32" => Some(TypeDesc::Float32),
            "Float64" => Some(TypeDesc::Float64),
            "Bool" | "Boolean" => Some(TypeDesc::Bool),
            "String" => Some(TypeDesc::String),
            "UUID" => Some(TypeDesc::Uuid),
            "IPv4" => Some(TypeDesc::IPv4),
            "IPv6" => Some(TypeDesc::IPv6),
            "Date" => Some(TypeDesc::Date),
            "Date32" => Some(TypeDesc::Date32),
            "JSON" => Some(TypeDesc::Json),
            _ => None,
        };
        if let Some(t) = simple {
            if self.peek() == Some(&Tok::Open) {
                return Err(format!("{name} takes no arguments"));
            }
            return Ok(t);
        }
        let t = match name.as_str() {
            "DateTime" => {
                if self.eat(&Tok::Open) {
                    let tz = self.string("a time zone")?;
                    self.expect(Tok::Close, "')'")?;
                    TypeDesc::DateTime(Some(tz))
                } else {
                    TypeDesc::DateTime(None)
                }
            }
            "DateTime64" => {
                self.expect(Tok::Open, "'(' and a precision")?;
                let p = self.number("a precision")?;
                if p > 9 {
                    return Err(format!("DateTime64 precision {p} is out of range 0 to 9"));
                }
                let tz = if self.eat(&Tok::Comma) {
                    Some(self.string("a time zone")?)
                } else {
                    None
                };
                self.expect(Tok::Close, "')'")?;
                TypeDesc::DateTime64(p as u8, tz)
            }
            "Decimal" => {
                self.expect(Tok::Open, "'(' and a precision")?;
                let p = self.number("a precision")?;
                let s = if self.eat(&Tok::Comma) {
                    self.number("a scale")?
                } else {
                    0
                };
                self.expect(Tok::Close, "')'")?;
                decimal(p, s)?
            }
            "Decimal32" | "Decimal64" | "Decimal128" | "Decimal256" => {
                let p = match name.as_str() {
                    "Decimal32" => 9,
                    "Decimal64" => 18,
                    "Decimal128" => 38,
                    _ => 76,
                };
                self.expect(Tok::Open, "'(' and a scale")?;
                let s = self.number("a scale")?;
                self.expect(Tok::Close, "')'")?;
                decimal(p, s)?
            }
            "FixedString" => {
                self.expect(Tok::Open, "'(' and a length")?;
                let n = self.number("a length")?;
                self.expect(Tok::Close, "')'")?;
                if n == 0 || n > 0xFF_FFFF {
                    return Err(format!("FixedString length {n} is out of range"));
                }
                TypeDesc::FixedString(n as u32)
            }
            "Enum8" | "Enum16" => {
                let values = self.enum_values(&name)?;
                if name == "Enum8" {
                    TypeDesc::Enum8(values)
                } else {
                    TypeDesc::Enum16(values)
                }
            }
            "Nullable" => {
                let inner = self.one_arg("Nullable", depth)?;
                if matches!(
                    inner,
                    TypeDesc::Nullable(_)
                        | TypeDesc::LowCardinality(_)
                        | TypeDesc::Array(_)
                        | TypeDesc::Map(..)
                        | TypeDesc::Tuple(_)
                ) || inner.is_aggregate()
                {
                    return Err(format!("{inner} cannot be inside Nullable"));
                }
                TypeDesc::Nullable(Box::new(inner))
            }
            "LowCardinality" => {
                let inner = self.one_arg("LowCardinality", depth)?;
                let base = match &inner {
                    TypeDesc::Nullable(t) => t.as_ref(),
                    t => t,
                };
                if !matches!(
                    base,
                    TypeDesc::String
                        | TypeDesc::FixedString(_)
                        | TypeDesc::UInt(_)
                        | TypeDesc::Int(_)
                        | TypeDesc::Float32
                        | TypeDesc::Float64
                        | TypeDesc::Date
                        | TypeDesc::Date32
                        | TypeDesc::DateTime(_)
                        | TypeDesc::Uuid
                        | TypeDesc::IPv4
                        | TypeDesc::IPv6
                        | TypeDesc::Bool
                ) {
                    return Err(format!("LowCardinality({inner}) is not allowed"));
                }
                TypeDesc::LowCardinality(Box::new(inner))
            }
            "Array" => TypeDesc::Array(Box::new(self.one_arg("Array", depth)?)),
            "Map" => {
                let mut args = self.type_args(depth)?;
                if args.len() != 2 {
                    return Err(format!("Map takes two types, found {}", args.len()));
                }
                let v = args.remove(1);
                let k = args.remove(0);
                let key_base = match &k {
                    TypeDesc::LowCardinality(t) => t.as_ref(),
                    t => t,
                };
                if !matches!(
                    key_base,
                    TypeDesc::String
                        | TypeDesc::FixedString(_)
                        | TypeDesc::UInt(_)
                        | TypeDesc::Int(_)
                        | TypeDesc::Date
                        | TypeDesc::Date32
                        | TypeDesc::DateTime(_)
                        | TypeDesc::DateTime64(..)
                        | TypeDesc::Uuid
                        | TypeDesc::IPv4
                        | TypeDesc::IPv6
                        | TypeDesc::Bool
                        | TypeDesc::Enum8(_)
                        | TypeDesc::Enum16(_)
                        | TypeDesc::Decimal { .. }
                ) {
                    return Err(format!("Map key type {k} is not allowed"));
                }
                TypeDesc::Map(Box::new(k), Box::new(v))
            }
            "Tuple" => {
                self.expect(Tok::Open, "'('")?;
                let mut items = Vec::new();
                loop {
                    // `name Type` when an identifier is followed by another type's name.
                    let named = matches!(
                        (self.toks.get(self.pos), self.toks.get(self.pos + 1)),
                        (Some(Tok::Ident(_)), Some(Tok::Ident(_)))
                    );
                    let field = if named {
                        match self.peek() {
                            Some(Tok::Ident(n)) => {
                                let n = n.clone();
                                self.pos += 1;
                                Some(n)
                            }
                            _ => None,
                        }
                    } else {
                        None
                    };
                    items.push((field, self.ty(depth + 1)?));
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::Close, "')'")?;
                TypeDesc::Tuple(items)
            }
            "AggregateFunction" | "SimpleAggregateFunction" => {
                self.expect(Tok::Open, "'(' and a function")?;
                let function = self.function()?;
                let mut args = Vec::new();
                while self.eat(&Tok::Comma) {
                    args.push(self.ty(depth + 1)?);
                }
                self.expect(Tok::Close, "')'")?;
                if name == "AggregateFunction" {
                    TypeDesc::AggregateFunction { function, args }
                } else {
                    if args.len() != 1 {
                        return Err(format!(
                            "SimpleAggregateFunction takes a function and one type, found {} types",
                            args.len()
                        ));
                    }
                    let arg = Box::new(args.remove(0));
                    TypeDesc::SimpleAggregateFunction { function, arg }
                }
            }
            _ => return Err(format!("unknown type '{name}'")),
        };
        Ok(t)
    }

    /// An aggregate function's name with optional literal parameters: `quantiles(0.5, 0.9)`.
    fn function(&mut self) -> Result<String, String> {
        let mut out = match self.peek() {
            Some(Tok::Ident(n)) => n.clone(),
            _ => {
                return Err(format!(
                    "expected a function name, found {}",
                    self.describe()
                ))
            }
        };
        self.pos += 1;
        if self.eat(&Tok::Open) {
            out.push('(');
            let mut first = true;
            while !self.eat(&Tok::Close) {
                if !first {
                    self.expect(Tok::Comma, "',' or ')'")?;
                    out.push_str(", ");
                }
                first = false;
                match self.peek() {
                    Some(Tok::Num(n)) => out.push_str(n),
                    Some(Tok::Str(s)) => out.push_str(&quote(s)),
                    _ => {
                        return Err(format!(
                            "expected a parameter of '{out}', found {}",
                            self.describe()
                        ))
                    }
                }
                self.pos += 1;
            }
            out.push(')');
        }
        Ok(out)
    }

    fn enum_values(&mut self, name: &str) -> Result<Vec<(String, i64)>, String> {
        self.expect(Tok::Open, "'('")?;
        let mut values = Vec::new();
        let mut next = 1i64;
        loop {
            let label = self.string("an enum label")?;
            let v = if self.eat(&Tok::Eq) {
                match self.peek() {
                    Some(Tok::Num(n)) => {
                        let v = n
                            .parse::<i64>()
                            .map_err(|_| format!("{name} value '{n}' is not an integer"))?;
                        self.pos += 1;
                        v
                    }
                    _ => return Err(format!("expected a value, found {}", self.describe())),
                }
            } else {
                next
            };
            let (lo, hi) = if name == "Enum8" {
                (i64::from(i8::MIN), i64::from(i8::MAX))
            } else {
                (i64::from(i16::MIN), i64::from(i16::MAX))
            };
            if !(lo..=hi).contains(&v) {
                return Err(format!("{name} value {v} is out of range"));
            }
            next = v + 1;
            values.push((label, v));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(Tok::Close, "')'")?;
        Ok(values)
    }
}

fn decimal(p: u64, s: u64) -> Result<TypeDesc, String> {
    if !(1..=76).contains(&p) {
        return Err(format!("Decimal precision {p} is out of range 1 to 76"));
    }
    if s > p {
        return Err(format!(
            "Decimal scale {s} is larger than its precision {p}"
        ));
    }
    Ok(TypeDesc::Decimal {
        precision: p as u8,
        scale: s as u8,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}String{}", "Array(".repeat(40), ")".repeat(40));
        let e = TypeDesc::parse(&deep).unwrap_err();
        assert!(e.contains("more than 32 levels"), "{e}");
        let ok = format!("{}String{}", "Array(".repeat(31), ")".repeat(31));
        assert_eq!(TypeDesc::parse(&ok).unwrap().depth(), 32);
        let huge = "Array(".repeat(100_000);
        assert!(TypeDesc::parse(&huge).is_err());
    }
}
