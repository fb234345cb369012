//! Values of the columns the store holds row by row ([`ColumnType::Values`]): `Array(T)` read
//! from a JSON array and `Map(K, V)` from a JSON object as ClickHouse's JSONEachRow reads them,
//! and `AggregateFunction(…)`, which JSON cannot write.
//!
//! As in ClickHouse: a missing key or `null` is the empty array; an element `null` is `NULL` in
//! a `Nullable` element type and the type's default otherwise; a `String` element that is not a
//! string keeps its JSON text (`1`, `true`, `{"k":1}`); other elements are read as a column of
//! their type reads a value (a number in quotes into a number), and a value that does not read
//! rejects the row. A map's values follow the same rules as elements; its keys are read from
//! their strings as a column of the key type reads a quoted value, and a repeated key is kept
//! as often as it is written (ClickHouse keeps it too). An `AggregateFunction` column takes its empty state from a missing key or
//! `null`; any other value rejects the row (ClickHouse reads only its binary state there).
//!
//! Recursion follows the column's type (at most [`crate::schema::MAX_TYPE_DEPTH`] levels), never
//! the input: the scanner has already validated the line, nesting included.

use super::json::{Found, Kind};
use super::value::{convert, Reject};
use crate::query::Value;
use crate::schema::{ColumnType, TypeDesc};
use crate::store::Cell;

/// Reads the value found for a column of type `declared` (an `Array` or `AggregateFunction`).
///
/// `room` is the most bytes the value may hold (its elements, as the store charges them); a
/// larger one is rejected as [`Reject::TooLarge`] as soon as it is known, before it is built
/// whole.
pub fn read(
    declared: &TypeDesc,
    found: Option<Found>,
    line: &[u8],
    room: usize,
    unescape: &mut Vec<u8>,
) -> Result<Value, Reject> {
    let f = match found {
        Some(f) if f.duplicate => return Err(Reject::Duplicate),
        Some(f) if f.kind != Kind::Null => f,
        _ => return Ok(crate::store::empty_value(&Some(declared.clone()))),
    };
    match declared {
        TypeDesc::Array(elem) if f.kind == Kind::Arr => {
            let mut used = 0usize;
            let mut r = Reader {
                line,
                room,
                used: &mut used,
                unescape,
                text: String::new(),
            };
            r.array(elem, f.start as usize, f.end as usize)
        }
        TypeDesc::Map(k, v) if f.kind == Kind::Obj => {
            let mut used = 0usize;
            let mut r = Reader {
                line,
                room,
                used: &mut used,
                unescape,
                text: String::new(),
            };
            r.map(k, v, f.start as usize, f.end as usize)
        }
        _ => Err(Reject::NotType),
    }
}

struct Reader<'a> {
    line: &'a [u8],
    room: usize,
    used: &'a mut usize,
    unescape: &'a mut Vec<u8>,
    text: String,
}

impl Reader<'_> {
    /// The array whose text (brackets included) is `line[start..end]`, of elements `elem`.
    fn array(&mut self, elem: &TypeDesc, start: usize, end: usize) -> Result<Value, Reject> {
        let mut items = Vec::new();
        let mut i = start + 1;
        loop {
            i = self.ws(i, end);
            match self.line.get(i) {
                Some(b']') => break,
                Some(_) if i < end => {}
                _ => return Err(Reject::NotType),
            }
            let (kind, s, e, escaped, next) = self.element(i, end)?;
            *self.used = self
                .used
                .saturating_add(std::mem::size_of::<Value>())
                .saturating_add(if kind == Kind::Str { e - s } else { 0 });
            if *self.used > self.room {
                return Err(Reject::TooLarge);
            }
            items.push(self.item(elem, kind, s, e, escaped)?);
            i = self.ws(next, end);
            match self.line.get(i) {
                Some(b',') => i += 1,
                Some(b']') => break,
                _ => return Err(Reject::NotType),
            }
        }
        Ok(Value::Array(items))
    }

    /// The map whose text (braces included) is `line[start..end]`, of keys `key` and values
    /// `value`.
    fn map(
        &mut self,
        key: &TypeDesc,
        value: &TypeDesc,
        start: usize,
        end: usize,
    ) -> Result<Value, Reject> {
        let mut pairs = Vec::new();
        let mut i = start + 1;
        loop {
            i = self.ws(i, end);
            match self.line.get(i) {
                Some(b'}') => break,
                Some(b'"') if i < end => {}
                _ => return Err(Reject::NotType),
            }
            let (ks, ke, kescaped) = match self.element(i, end)? {
                (Kind::Str, s, e, escaped, next) => {
                    i = next;
                    (s, e, escaped)
                }
                _ => return Err(Reject::NotType),
            };
            i = self.ws(i, end);
            if self.line.get(i) != Some(&b':') {
                return Err(Reject::NotType);
            }
            i = self.ws(i + 1, end);
            let (kind, s, e, escaped, next) = self.element(i, end)?;
            *self.used = self
                .used
                .saturating_add(2 * std::mem::size_of::<Value>())
                .saturating_add(ke - ks)
                .saturating_add(if kind == Kind::Str { e - s } else { 0 });
            if *self.used > self.room {
                return Err(Reject::TooLarge);
            }
            let k = self.item(key, Kind::Str, ks, ke, kescaped)?;
            let v = self.item(value, kind, s, e, escaped)?;
            pairs.push((k, v));
            i = self.ws(next, end);
            match self.line.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => break,
                _ => return Err(Reject::NotType),
            }
        }
        Ok(Value::Map(pairs))
    }

    /// One element of type `elem`: its kind and span (a string's without the quotes).
    fn item(
        &mut self,
        elem: &TypeDesc,
        kind: Kind,
        s: usize,
        e: usize,
        escaped: bool,
    ) -> Result<Value, Reject> {
        if let TypeDesc::Array(inner) = elem {
            return match kind {
                Kind::Arr => self.array(inner, s, e),
                Kind::Null => Ok(Value::Array(Vec::new())),
                _ => Err(Reject::NotType),
            };
        }
        if let TypeDesc::Map(k, v) = elem {
            return match kind {
                Kind::Obj => self.map(k, v, s, e),
                Kind::Null => Ok(Value::Map(Vec::new())),
                _ => Err(Reject::NotType),
            };
        }
        let Some((ty, nullable)) = elem.nullable_storage() else {
            return Err(Reject::NotType);
        };
        if kind == Kind::Null && nullable {
            return Ok(Value::Null);
        }
        let found = Found {
            kind,
            start: s as u32,
            end: e as u32,
            escaped,
            duplicate: false,
            mantissa: 0,
            decimals: u8::MAX,
        };
        self.text.clear();
        let cell = convert(
            ty,
            Some(found),
            self.line,
            false,
            &mut self.text,
            self.unescape,
        )?;
        let v = cell_value(ty, cell, &self.text);
        if let Value::Str(x) = &v {
            // Escapes decoded: charge what is held.
            *self.used = self.used.saturating_add(x.len()).saturating_sub(e - s);
        }
        Ok(v)
    }

    fn ws(&self, mut i: usize, end: usize) -> usize {
        while i < end && matches!(self.line.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        i
    }

    /// The element at `i`: kind, span, whether a string has escapes, and where it ends.
    fn element(&self, i: usize, end: usize) -> Result<(Kind, usize, usize, bool, usize), Reject> {
        let b = self.line;
        match b.get(i) {
            Some(b'"') => {
                let (close, escaped) = string_end(b, i + 1, end).ok_or(Reject::NotType)?;
                Ok((Kind::Str, i + 1, close, escaped, close + 1))
            }
            Some(b'[' | b'{') => {
                let close = container_end(b, i, end).ok_or(Reject::NotType)?;
                let kind = if b[i] == b'[' { Kind::Arr } else { Kind::Obj };
                Ok((kind, i, close, false, close))
            }
            Some(_) => {
                let mut j = i;
                while j < end && !matches!(b[j], b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
                {
                    j += 1;
                }
                let kind = match &b[i..j] {
                    b"true" => Kind::True,
                    b"false" => Kind::False,
                    b"null" => Kind::Null,
                    _ => Kind::Num,
                };
                Ok((kind, i, j, false, j))
            }
            None => Err(Reject::NotType),
        }
    }
}

/// The index of the quote closing the string whose text starts at `i`, and whether it has
/// escapes.
fn string_end(b: &[u8], mut i: usize, end: usize) -> Option<(usize, bool)> {
    let mut escaped = false;
    while i < end {
        match b[i] {
            b'"' => return Some((i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// The index just past the container opening at `i`, by counting brackets outside strings
/// (no recursion).
fn container_end(b: &[u8], mut i: usize, end: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < end {
        match b[i] {
            b'"' => {
                i = string_end(b, i + 1, end)?.0;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The query value of a cell of a column of type `ty` (`text` holds string cells' bytes).
pub fn cell_value(ty: ColumnType, cell: Cell, text: &str) -> Value {
    match (ty, cell) {
        (_, Cell::Null) => Value::Null,
        (ColumnType::Bool, Cell::U(x)) => Value::Bool(x != 0),
        (ColumnType::Date, Cell::U(x)) => Value::Date(x as i64),
        (ColumnType::DateTime, Cell::U(x)) => Value::DateTime(x as i64),
        (ColumnType::DateTime64, Cell::I(x)) => Value::DateTime64(x),
        (_, Cell::U(x)) => Value::UInt(x),
        (_, Cell::I(x)) => Value::Int(x),
        (_, Cell::F32(x)) => Value::Float32(x),
        (_, Cell::F64(x)) => Value::Float64(x),
        (_, Cell::Str(s, n)) => Value::Str(
            text.get(s as usize..(s as usize).saturating_add(n as usize))
                .unwrap_or("")
                .to_string(),
        ),
    }
}
