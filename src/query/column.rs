//! Column values while a query runs: borrowed store columns, computed vectors in one of three
//! 64-bit representations (`u64`, `i64`, `f64`), dictionary-coded strings, and constants.
//!
//! A column carries no type: the expression that produced it does (see [`super::types::Repr`]
//! for which representation each type uses).

use super::types::{DataType, Repr};
use super::Value;
use crate::store::{ColumnData, Dictionary};
use std::borrow::Cow;
use std::rc::Rc;

/// A string dictionary: the store's, or one built while the query runs.
#[derive(Debug, Clone)]
pub enum Dict<'a> {
    /// A column dictionary of the store.
    Store(&'a Dictionary),
    /// A dictionary built by the query.
    Own(Rc<Dictionary>),
}

impl Dict<'_> {
    /// The dictionary itself.
    pub fn get(&self) -> &Dictionary {
        match self {
            Dict::Store(d) => d,
            Dict::Own(d) => d,
        }
    }

    /// An identity for caching work per dictionary.
    pub fn id(&self) -> usize {
        self.get() as *const Dictionary as usize
    }

    /// The string of `code`.
    pub fn str(&self, code: u32) -> &str {
        self.get().get(code)
    }
}

/// Strings as codes into a dictionary.
#[derive(Debug, Clone)]
pub struct Strs<'a> {
    /// One code per row.
    pub codes: Cow<'a, [u32]>,
    /// The dictionary the codes index.
    pub dict: Dict<'a>,
}

/// The values of one column for the rows of a batch.
#[derive(Debug, Clone)]
pub enum Col<'a> {
    /// The same value in every row.
    Const(Value),
    /// Numbers in a storage width: a column of the store (borrowed), or a computed narrow
    /// column such as a 0/1 mask (owned).
    Native(Cow<'a, ColumnData>),
    /// Unsigned integers, `Bool`, `DateTime` seconds.
    U(Cow<'a, [u64]>),
    /// Signed integers, `Date` days, `DateTime64(3)` milliseconds, interval counts.
    I(Cow<'a, [i64]>),
    /// Floats.
    F(Cow<'a, [f64]>),
    /// Strings.
    S(Strs<'a>),
    /// Any other value, row by row.
    V(Cow<'a, [Value]>),
    /// A `Nullable` column: the values, and `true` for each row that is `NULL`. The values of
    /// `NULL` rows are the type's default, never read as results.
    N(Box<Col<'a>>, Cow<'a, [bool]>),
}

macro_rules! native_map {
    ($c:expr, $v:ident => $body:expr) => {
        match $c {
            ColumnData::U8($v) => $body,
            ColumnData::U16($v) => $body,
            ColumnData::U32($v) => $body,
            ColumnData::U64($v) => $body,
            ColumnData::I8($v) => $body,
            ColumnData::I16($v) => $body,
            ColumnData::I32($v) => $body,
            ColumnData::I64($v) => $body,
            ColumnData::F32($v) => $body,
            ColumnData::F64($v) => $body,
            ColumnData::Str8($v) => $body,
            ColumnData::Str16($v) => $body,
            ColumnData::Str($v) => $body,
        }
    };
}
pub(crate) use native_map;

/// Numeric access to any primitive stored value.
pub trait Prim: Copy {
    /// As `u64` (wrapping for negatives, truncating floats).
    fn u(self) -> u64;
    /// As `i64`.
    fn i(self) -> i64;
    /// As `f64`.
    fn f(self) -> f64;
    /// As `i128`, exact for every integer type.
    fn w(self) -> i128;
}

macro_rules! prim_int {
    ($($t:ty),*) => {$(
        impl Prim for $t {
            #[inline]
            fn u(self) -> u64 { self as u64 }
            #[inline]
            fn i(self) -> i64 { self as i64 }
            #[inline]
            fn f(self) -> f64 { self as f64 }
            #[inline]
            fn w(self) -> i128 { self as i128 }
        }
    )*};
}
prim_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Prim for f32 {
    #[inline]
    fn w(self) -> i128 {
        self as i128
    }
    #[inline]
    fn u(self) -> u64 {
        self as u64
    }
    #[inline]
    fn i(self) -> i64 {
        self as i64
    }
    #[inline]
    fn f(self) -> f64 {
        f64::from(self)
    }
}

impl Prim for f64 {
    #[inline]
    fn w(self) -> i128 {
        self as i128
    }
    #[inline]
    fn u(self) -> u64 {
        self as u64
    }
    #[inline]
    fn i(self) -> i64 {
        self as i64
    }
    #[inline]
    fn f(self) -> f64 {
        self
    }
}

/// A constant as `u64` (wrapping), `i64` and `f64`.
pub fn value_u(v: &Value) -> u64 {
    match v {
        Value::UInt(x) => *x,
        Value::Int(x) | Value::Date(x) | Value::DateTime(x) | Value::DateTime64(x) => *x as u64,
        Value::Float32(x) => *x as u64,
        Value::Float64(x) => *x as u64,
        Value::Bool(b) => u64::from(*b),
        _ => 0,
    }
}

/// A constant as `i64`.
pub fn value_i(v: &Value) -> i64 {
    match v {
        Value::UInt(x) => *x as i64,
        Value::Int(x) | Value::Date(x) | Value::DateTime(x) | Value::DateTime64(x) => *x,
        Value::Float32(x) => *x as i64,
        Value::Float64(x) => *x as i64,
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// A constant as `f64`.
pub fn value_f(v: &Value) -> f64 {
    match v {
        Value::UInt(x) => *x as f64,
        Value::Int(x) | Value::Date(x) | Value::DateTime(x) | Value::DateTime64(x) => *x as f64,
        Value::Float32(x) => f64::from(*x),
        Value::Float64(x) => *x,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// The `Value` of a raw representation value for type `ty`.
pub fn make_value(ty: &DataType, u: u64, i: i64, f: f64) -> Value {
    match ty.base() {
        DataType::Bool => Value::Bool(u != 0),
        DataType::DateTime => Value::DateTime(u as i64),
        DataType::Date => Value::Date(i),
        DataType::DateTime64 => Value::DateTime64(i),
        DataType::Float32 => Value::Float32(f as f32),
        DataType::Float64 => Value::Float64(f),
        t if t.is_signed() => Value::Int(i),
        DataType::Interval(_) => Value::Int(i),
        _ => Value::UInt(u),
    }
}

/// Normalises a constant to the value kind `ty` uses (e.g. `UInt` for a `DateTime` built from a
/// number).
pub fn typed_value(ty: &DataType, v: Value) -> Value {
    match (ty.repr(), &v) {
        (_, Value::Null) | (Repr::S, _) | (Repr::V, _) => v,
        _ => make_value(ty, value_u(&v), value_i(&v), value_f(&v)),
    }
}

impl<'a> Col<'a> {
    /// Number of rows (`n` for a constant).
    pub fn len(&self, n: usize) -> usize {
        match self {
            Col::Const(_) => n,
            Col::Native(c) => c.len(),
            Col::U(v) => v.len(),
            Col::I(v) => v.len(),
            Col::F(v) => v.len(),
            Col::S(s) => s.codes.len(),
            Col::V(v) => v.len(),
            Col::N(c, _) => c.len(n),
        }
    }

    /// Which rows are `NULL`, when any can be: the mask of a `Nullable` column, every row of a
    /// `NULL` constant, the `NULL`s among row values.
    pub fn nulls(&self, n: usize) -> Option<Cow<'_, [bool]>> {
        match self {
            Col::N(_, m) => Some(Cow::Borrowed(m)),
            Col::Const(Value::Null) => Some(Cow::Owned(vec![true; n])),
            Col::V(v) if v.contains(&Value::Null) => {
                Some(Cow::Owned(v.iter().map(|x| *x == Value::Null).collect()))
            }
            _ => None,
        }
    }

    /// The values without their `NULL` mask.
    pub fn values(&self) -> &Col<'a> {
        match self {
            Col::N(c, _) => c,
            c => c,
        }
    }

    /// The values as `u64`, converting as needed.
    pub fn u64s(&self, n: usize) -> Cow<'_, [u64]> {
        match self {
            Col::U(v) => Cow::Borrowed(v),
            Col::Const(c) => Cow::Owned(vec![value_u(c); n]),
            Col::Native(c) => Cow::Owned(native_map!(&**c, v => v.iter().map(|x| x.u()).collect())),
            Col::I(v) => Cow::Owned(v.iter().map(|x| *x as u64).collect()),
            Col::F(v) => Cow::Owned(v.iter().map(|x| *x as u64).collect()),
            Col::S(s) => Cow::Owned(s.codes.iter().map(|x| u64::from(*x)).collect()),
            Col::V(v) => Cow::Owned(v.iter().map(value_u).collect()),
            Col::N(c, _) => c.u64s(n),
        }
    }

    /// The values as `i64`, converting as needed.
    pub fn i64s(&self, n: usize) -> Cow<'_, [i64]> {
        match self {
            Col::I(v) => Cow::Borrowed(v),
            Col::Const(c) => Cow::Owned(vec![value_i(c); n]),
            Col::Native(c) => Cow::Owned(native_map!(&**c, v => v.iter().map(|x| x.i()).collect())),
            Col::U(v) => Cow::Owned(v.iter().map(|x| *x as i64).collect()),
            Col::F(v) => Cow::Owned(v.iter().map(|x| *x as i64).collect()),
            Col::S(s) => Cow::Owned(s.codes.iter().map(|x| i64::from(*x)).collect()),
            Col::V(v) => Cow::Owned(v.iter().map(value_i).collect()),
            Col::N(c, _) => c.i64s(n),
        }
    }

    /// The values as `f64`, converting as needed.
    pub fn f64s(&self, n: usize) -> Cow<'_, [f64]> {
        match self {
            Col::F(v) => Cow::Borrowed(v),
            Col::Const(c) => Cow::Owned(vec![value_f(c); n]),
            Col::Native(c) => Cow::Owned(native_map!(&**c, v => v.iter().map(|x| x.f()).collect())),
            Col::U(v) => Cow::Owned(v.iter().map(|x| *x as f64).collect()),
            Col::I(v) => Cow::Owned(v.iter().map(|x| *x as f64).collect()),
            Col::S(s) => Cow::Owned(s.codes.iter().map(|x| f64::from(*x)).collect()),
            Col::V(v) => Cow::Owned(v.iter().map(value_f).collect()),
            Col::N(c, _) => c.f64s(n),
        }
    }

    /// Strings as codes and dictionary; a constant or row values become a small dictionary.
    pub fn strs(&self, n: usize) -> Cow<'_, Strs<'a>> {
        match self {
            Col::S(s) => Cow::Borrowed(s),
            Col::N(c, _) => c.strs(n),
            Col::Const(v) => {
                let mut d = Dictionary::new();
                let code = d.intern(value_str(v).as_ref());
                Cow::Owned(Strs {
                    codes: Cow::Owned(vec![code; n]),
                    dict: Dict::Own(Rc::new(d)),
                })
            }
            other => {
                let mut d = Dictionary::new();
                let codes = (0..other.len(n))
                    .map(|i| d.intern(value_str(&other.value_at(i, &DataType::String)).as_ref()))
                    .collect();
                Cow::Owned(Strs {
                    codes: Cow::Owned(codes),
                    dict: Dict::Own(Rc::new(d)),
                })
            }
        }
    }

    /// The value of row `i`, for a column of type `ty`.
    pub fn value_at(&self, i: usize, ty: &DataType) -> Value {
        match self {
            Col::Const(v) => v.clone(),
            Col::Native(c) => match &**c {
                ColumnData::F32(v) => Value::Float32(v[i]),
                ColumnData::F64(v) => make_value(ty, 0, 0, v[i]),
                _ => {
                    let (u, x) = native_map!(&**c, v => (v[i].u(), v[i].i()));
                    make_value(ty, u, x, 0.0)
                }
            },
            Col::U(v) => make_value(ty, v[i], v[i] as i64, v[i] as f64),
            Col::I(v) => make_value(ty, v[i] as u64, v[i], v[i] as f64),
            Col::F(v) => make_value(ty, v[i] as u64, v[i] as i64, v[i]),
            Col::S(s) => Value::Str(s.dict.str(s.codes[i]).to_string()),
            Col::V(v) => v[i].clone(),
            Col::N(c, m) => {
                if m[i] {
                    Value::Null
                } else {
                    c.value_at(i, ty.base())
                }
            }
        }
    }

    /// The rows listed in `sel`, as a new column.
    pub fn gather(&self, sel: &[u32]) -> Col<'a> {
        fn g<T: Copy>(v: &[T], sel: &[u32]) -> Vec<T> {
            sel.iter().map(|&i| v[i as usize]).collect()
        }
        match self {
            Col::Const(v) => Col::Const(v.clone()),
            Col::Native(c) => match &**c {
                ColumnData::F32(v) => Col::F(Cow::Owned(
                    sel.iter().map(|&i| f64::from(v[i as usize])).collect(),
                )),
                ColumnData::F64(v) => Col::F(Cow::Owned(g(v, sel))),
                ColumnData::I8(_)
                | ColumnData::I16(_)
                | ColumnData::I32(_)
                | ColumnData::I64(_) => Col::I(Cow::Owned(
                    native_map!(&**c, v => sel.iter().map(|&i| v[i as usize].i()).collect()),
                )),
                _ => Col::U(Cow::Owned(
                    native_map!(&**c, v => sel.iter().map(|&i| v[i as usize].u()).collect()),
                )),
            },
            Col::U(v) => Col::U(Cow::Owned(g(v, sel))),
            Col::I(v) => Col::I(Cow::Owned(g(v, sel))),
            Col::F(v) => Col::F(Cow::Owned(g(v, sel))),
            Col::S(s) => Col::S(Strs {
                codes: Cow::Owned(g(&s.codes, sel)),
                dict: s.dict.clone(),
            }),
            Col::V(v) => Col::V(Cow::Owned(
                sel.iter().map(|&i| v[i as usize].clone()).collect(),
            )),
            Col::N(c, m) => Col::N(Box::new(c.gather(sel)), Cow::Owned(g(m, sel))),
        }
    }

    /// A column of `n` rows holding this column's rows at the positions `sel` (ascending, one
    /// per row of this column); the other rows hold zeros, empty strings or `NULL`, and are
    /// never read as results.
    pub fn scatter(&self, sel: &[u32], n: usize) -> Col<'a> {
        fn s<T: Copy>(v: impl Iterator<Item = T>, sel: &[u32], n: usize, zero: T) -> Vec<T> {
            let mut out = vec![zero; n];
            for (&i, x) in sel.iter().zip(v) {
                out[i as usize] = x;
            }
            out
        }
        match self {
            Col::Const(v) => Col::Const(v.clone()),
            Col::Native(c) => match &**c {
                ColumnData::F32(_) | ColumnData::F64(_) => Col::F(Cow::Owned(
                    native_map!(&**c, v => s(v.iter().map(|x| x.f()), sel, n, 0.0)),
                )),
                ColumnData::I8(_)
                | ColumnData::I16(_)
                | ColumnData::I32(_)
                | ColumnData::I64(_) => Col::I(Cow::Owned(
                    native_map!(&**c, v => s(v.iter().map(|x| x.i()), sel, n, 0)),
                )),
                _ => Col::U(Cow::Owned(
                    native_map!(&**c, v => s(v.iter().map(|x| x.u()), sel, n, 0)),
                )),
            },
            Col::U(v) => Col::U(Cow::Owned(s(v.iter().copied(), sel, n, 0))),
            Col::I(v) => Col::I(Cow::Owned(s(v.iter().copied(), sel, n, 0))),
            Col::F(v) => Col::F(Cow::Owned(s(v.iter().copied(), sel, n, 0.0))),
            Col::S(st) => Col::S(Strs {
                codes: Cow::Owned(s(st.codes.iter().copied(), sel, n, 0)),
                dict: st.dict.clone(),
            }),
            Col::V(v) => {
                let mut out = vec![Value::Null; n];
                for (&i, x) in sel.iter().zip(v.iter()) {
                    out[i as usize] = x.clone();
                }
                Col::V(Cow::Owned(out))
            }
            Col::N(c, m) => Col::N(
                Box::new(c.scatter(sel, n)),
                Cow::Owned(s(m.iter().copied(), sel, n, false)),
            ),
        }
    }

    /// Rows `start..end` as a borrowed column.
    pub fn slice(&self, start: usize, end: usize) -> Col<'_> {
        match self {
            Col::Const(v) => Col::Const(v.clone()),
            Col::Native(c) => match &**c {
                ColumnData::F32(_) | ColumnData::F64(_) => Col::F(Cow::Owned(
                    native_map!(&**c, v => v[start..end].iter().map(|x| x.f()).collect()),
                )),
                ColumnData::I8(_)
                | ColumnData::I16(_)
                | ColumnData::I32(_)
                | ColumnData::I64(_) => Col::I(Cow::Owned(
                    native_map!(&**c, v => v[start..end].iter().map(|x| x.i()).collect()),
                )),
                _ => Col::U(Cow::Owned(
                    native_map!(&**c, v => v[start..end].iter().map(|x| x.u()).collect()),
                )),
            },
            Col::U(v) => Col::U(Cow::Borrowed(&v[start..end])),
            Col::I(v) => Col::I(Cow::Borrowed(&v[start..end])),
            Col::F(v) => Col::F(Cow::Borrowed(&v[start..end])),
            Col::S(s) => Col::S(Strs {
                codes: Cow::Borrowed(&s.codes[start..end]),
                dict: s.dict.clone(),
            }),
            Col::V(v) => Col::V(Cow::Borrowed(&v[start..end])),
            Col::N(c, m) => Col::N(Box::new(c.slice(start, end)), Cow::Borrowed(&m[start..end])),
        }
    }

    /// The column with its data owned and stored columns widened, for keeping as a table.
    pub fn materialize(self, ty: &DataType, n: usize) -> Col<'a> {
        match self {
            Col::Native(c) => match ty.repr() {
                Repr::F => Col::F(Cow::Owned(
                    native_map!(&*c, v => v.iter().map(|x| x.f()).collect()),
                )),
                Repr::I => Col::I(Cow::Owned(
                    native_map!(&*c, v => v.iter().map(|x| x.i()).collect()),
                )),
                _ => Col::U(Cow::Owned(
                    native_map!(&*c, v => v.iter().map(|x| x.u()).collect()),
                )),
            },
            Col::Const(v) if ty.is_nullable() && ty.repr() != Repr::V => {
                let null = v == Value::Null;
                let inner = if null {
                    Col::Const(default_value(ty.base()))
                } else {
                    Col::Const(v)
                };
                Col::N(
                    Box::new(inner.materialize(ty.base(), n)),
                    Cow::Owned(vec![null; n]),
                )
            }
            Col::Const(v) => match (ty.repr(), &v) {
                (_, Value::Null) | (Repr::V, _) => Col::V(Cow::Owned(vec![v; n])),
                (Repr::U, _) => Col::U(Cow::Owned(vec![value_u(&v); n])),
                (Repr::I, _) => Col::I(Cow::Owned(vec![value_i(&v); n])),
                (Repr::F, _) => Col::F(Cow::Owned(vec![value_f(&v); n])),
                (Repr::S, _) => {
                    let s = Col::Const(v).strs(n).into_owned();
                    Col::S(s)
                }
            },
            Col::U(v) => Col::U(Cow::Owned(v.into_owned())),
            Col::I(v) => Col::I(Cow::Owned(v.into_owned())),
            Col::F(v) => Col::F(Cow::Owned(v.into_owned())),
            Col::S(s) => Col::S(Strs {
                codes: Cow::Owned(s.codes.into_owned()),
                dict: s.dict,
            }),
            Col::V(v) => Col::V(Cow::Owned(v.into_owned())),
            Col::N(c, m) => Col::N(
                Box::new(c.materialize(ty.base(), n)),
                Cow::Owned(m.into_owned()),
            ),
        }
    }

    /// Appends `other`'s rows to this (materialized) column.
    pub fn append(&mut self, other: &Col<'_>, ty: &DataType, n: usize) {
        match self {
            Col::N(c, m) => {
                let rows = other.len(n);
                match other.nulls(n) {
                    Some(o) => m.to_mut().extend_from_slice(&o),
                    None => m.to_mut().extend(std::iter::repeat(false).take(rows)),
                }
                c.append(other.values(), ty.base(), n);
            }
            Col::U(v) => v.to_mut().extend_from_slice(&other.u64s(n)),
            Col::I(v) => v.to_mut().extend_from_slice(&other.i64s(n)),
            Col::F(v) => v.to_mut().extend_from_slice(&other.f64s(n)),
            Col::S(s) => {
                let o = other.strs(n);
                if o.dict.id() == s.dict.id() {
                    s.codes.to_mut().extend_from_slice(&o.codes);
                } else {
                    // Re-code into an owned dictionary holding both.
                    let mut d = match &s.dict {
                        Dict::Own(rc) => {
                            Rc::try_unwrap(rc.clone()).unwrap_or_else(|rc| (*rc).clone())
                        }
                        Dict::Store(d) => (*d).clone(),
                    };
                    let map: Vec<u32> =
                        o.dict.get().strings().iter().map(|x| d.intern(x)).collect();
                    let codes = s.codes.to_mut();
                    codes.extend(
                        o.codes
                            .iter()
                            .map(|c| map.get(*c as usize).copied().unwrap_or(0)),
                    );
                    s.dict = Dict::Own(Rc::new(d));
                }
            }
            Col::V(v) => {
                let v = v.to_mut();
                for i in 0..other.len(n) {
                    v.push(other.value_at(i, ty));
                }
            }
            Col::Const(_) | Col::Native(_) => {}
        }
    }
}

/// The text of a string constant (other values print as in JSON output).
pub fn value_str(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Str(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed(""),
        other => {
            let mut s = String::new();
            other.write_json(&mut s);
            Cow::Owned(s.trim_matches('"').to_string())
        }
    }
}

/// The value a column of type `ty` holds in a `NULL` row: 0, the empty string, an empty
/// array or map, or `NULL` itself for other row-valued types.
pub fn default_value(ty: &DataType) -> Value {
    match ty.base().repr() {
        Repr::S => Value::Str(String::new()),
        Repr::V => match ty.base() {
            DataType::Array(_) => Value::Array(Vec::new()),
            DataType::Map(_) => Value::Map(Vec::new()),
            _ => Value::Null,
        },
        _ => make_value(ty.base(), 0, 0, 0.0),
    }
}

/// A materialized column of type `ty` from one value per row.
pub fn from_values<'a>(values: Vec<Value>, ty: &DataType) -> Col<'a> {
    let n = values.len();
    if ty.is_nullable() && ty.repr() != Repr::V {
        let nulls: Vec<bool> = values.iter().map(|v| *v == Value::Null).collect();
        let inner = from_values(values, ty.base());
        return Col::N(Box::new(inner), Cow::Owned(nulls));
    }
    let v = Col::V(Cow::Owned(values));
    match ty.repr() {
        Repr::U => Col::U(Cow::Owned(v.u64s(n).into_owned())),
        Repr::I => Col::I(Cow::Owned(v.i64s(n).into_owned())),
        Repr::F => Col::F(Cow::Owned(v.f64s(n).into_owned())),
        Repr::S => Col::S(v.strs(n).into_owned()),
        Repr::V => v,
    }
}

/// An empty, materialized column of type `ty`.
pub fn empty_col<'a>(ty: &DataType) -> Col<'a> {
    if ty.is_nullable() && ty.repr() != Repr::V {
        return Col::N(Box::new(empty_col(ty.base())), Cow::Owned(Vec::new()));
    }
    match ty.repr() {
        Repr::U => Col::U(Cow::Owned(Vec::new())),
        Repr::I => Col::I(Cow::Owned(Vec::new())),
        Repr::F => Col::F(Cow::Owned(Vec::new())),
        Repr::S => Col::S(Strs {
            codes: Cow::Owned(Vec::new()),
            dict: Dict::Own(Rc::new(Dictionary::new())),
        }),
        Repr::V => Col::V(Cow::Owned(Vec::new())),
    }
}

/// Query results kept as columns: a node's result that a later node reads, or any other table
/// a query can read with `FROM`.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    /// Column names.
    pub names: Vec<String>,
    /// Column types.
    pub types: Vec<DataType>,
    /// Materialized columns.
    pub cols: Vec<Col<'a>>,
    /// Number of rows.
    pub rows: usize,
}

impl Table<'static> {
    /// A table from an endpoint result (a row-oriented source such as the quarantine); column
    /// types are read from `meta`, unknown ones kept as `String`.
    pub fn from_endpoint(e: &super::Endpoint) -> Table<'static> {
        let columns: Vec<(&str, DataType)> = e
            .meta
            .iter()
            .map(|m| {
                (
                    m.name.as_str(),
                    DataType::from_name(&m.ty).unwrap_or(DataType::String),
                )
            })
            .collect();
        Table::from_rows(&columns, &e.data)
    }

    /// A table from rows of values, e.g. the quarantine. Each row holds one value per column;
    /// values must match the column types (`Str` for `String`, `UInt` for unsigned, …).
    pub fn from_rows(columns: &[(&str, DataType)], rows: &[Vec<Value>]) -> Table<'static> {
        let mut cols: Vec<Col<'static>> = columns.iter().map(|(_, t)| empty_col(t)).collect();
        for (c, (_, ty)) in columns.iter().enumerate() {
            let values: Vec<Value> = rows
                .iter()
                .map(|r| r.get(c).cloned().unwrap_or(Value::Null))
                .collect();
            let col = Col::V(Cow::Owned(values));
            cols[c].append(&col, ty, rows.len());
        }
        Table {
            names: columns.iter().map(|(n, _)| n.to_string()).collect(),
            types: columns.iter().map(|(_, t)| t.clone()).collect(),
            cols,
            rows: rows.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_gather_and_tables() {
        let data = ColumnData::U32(vec![5, 6, 7]);
        let c = Col::Native(Cow::Borrowed(&data));
        assert_eq!(&*c.u64s(3), &[5, 6, 7]);
        assert_eq!(&*c.f64s(3), &[5.0, 6.0, 7.0]);
        let g = c.gather(&[2, 0]);
        assert_eq!(&*g.u64s(2), &[7, 5]);
        assert_eq!(g.value_at(0, &DataType::DateTime), Value::DateTime(7));
        let k = Col::Const(Value::Str("x".into()));
        let s = k.strs(2);
        assert_eq!(s.dict.str(s.codes[1]), "x");
        let t = Table::from_rows(
            &[("a", DataType::String), ("b", DataType::UInt64)],
            &[
                vec![Value::Str("p".into()), Value::UInt(1)],
                vec![Value::Str("q".into()), Value::UInt(2)],
            ],
        );
        assert_eq!(t.rows, 2);
        assert_eq!(
            t.cols[0].value_at(1, &DataType::String),
            Value::Str("q".into())
        );
        assert_eq!(&*t.cols[1].u64s(2), &[1, 2]);
    }
}
