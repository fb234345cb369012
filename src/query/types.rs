//! SQL data types of the supported ClickHouse subset, their names, and the result-type rules
//! ClickHouse applies to arithmetic and to `if`/`multiIf` branches.

use crate::schema::ColumnType;
use std::fmt;

/// The unit of an `INTERVAL n unit` literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// `SECOND`.
    Second,
    /// `MINUTE`.
    Minute,
    /// `HOUR`.
    Hour,
    /// `DAY`.
    Day,
    /// `WEEK`.
    Week,
    /// `MONTH`.
    Month,
    /// `QUARTER`.
    Quarter,
    /// `YEAR`.
    Year,
}

impl Unit {
    /// Parses a unit keyword (singular or plural, any case).
    pub fn parse(word: &str) -> Option<Unit> {
        let w = word.to_ascii_lowercase();
        let w = w.strip_suffix('s').unwrap_or(&w);
        Some(match w {
            "second" => Unit::Second,
            "minute" => Unit::Minute,
            "hour" => Unit::Hour,
            "day" => Unit::Day,
            "week" => Unit::Week,
            "month" => Unit::Month,
            "quarter" => Unit::Quarter,
            "year" => Unit::Year,
            _ => return None,
        })
    }

    /// The unit as ClickHouse spells it in `toInterval<Unit>`.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Second => "Second",
            Unit::Minute => "Minute",
            Unit::Hour => "Hour",
            Unit::Day => "Day",
            Unit::Week => "Week",
            Unit::Month => "Month",
            Unit::Quarter => "Quarter",
            Unit::Year => "Year",
        }
    }

    /// Seconds in one unit, for the fixed-length units.
    pub fn seconds(self) -> Option<i64> {
        Some(match self {
            Unit::Second => 1,
            Unit::Minute => 60,
            Unit::Hour => 3600,
            Unit::Day => 86_400,
            Unit::Week => 7 * 86_400,
            _ => return None,
        })
    }

    /// Months in one unit, for the calendar units.
    pub fn months(self) -> Option<i64> {
        Some(match self {
            Unit::Month => 1,
            Unit::Quarter => 3,
            Unit::Year => 12,
            _ => return None,
        })
    }
}

/// A SQL data type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `UInt8`.
    UInt8,
    /// `UInt16`.
    UInt16,
    /// `UInt32`.
    UInt32,
    /// `UInt64`.
    UInt64,
    /// `Int8`.
    Int8,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `Bool`.
    Bool,
    /// `String`.
    String,
    /// `LowCardinality(String)`.
    LcString,
    /// `Date`: days since 1970-01-01.
    Date,
    /// `DateTime`: seconds since the epoch.
    DateTime,
    /// `DateTime64(3)`: milliseconds since the epoch.
    DateTime64,
    /// `Array(T)`.
    Array(Box<DataType>),
    /// `Nullable(T)`: `T` or `NULL`.
    Nullable(Box<DataType>),
    /// `Nothing`: the type of `NULL` and of `[]`'s elements.
    Nothing,
    /// `IntervalSecond` … `IntervalYear`.
    Interval(Unit),
    /// `Map(K, V)`: the key and value types, boxed together to keep the type small (it is
    /// held on every level of a deep expression's recursion).
    Map(Box<(DataType, DataType)>),
    /// `LowCardinality(T)` of a type other than `String` (that is [`DataType::LcString`]):
    /// what functions of a low-cardinality column give. `Nullable` goes outside it here and
    /// prints inside it, as `LowCardinality(Nullable(T))`.
    LowCardinality(Box<DataType>),
    /// `AggregateFunction(f, T…)`: the state of an aggregate, as `fState` gives it; `f` is
    /// written with its parameters, as ClickHouse prints it (`quantiles(0.5, 0.9)`).
    AggregateFunction(Box<(String, Vec<DataType>)>),
    /// `SimpleAggregateFunction(f, T)`: a plain `T` that `f` merges, as `fSimpleState` gives
    /// it; it reads as `T` everywhere.
    SimpleAggregateFunction(Box<(String, DataType)>),
}

/// How values of a type are held while a query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr {
    /// Unsigned integers, `Bool` and `DateTime` seconds, as `u64`.
    U,
    /// Signed integers, `Date` days and `DateTime64(3)` milliseconds, as `i64`.
    I,
    /// `Float32` (values exact in `f32`) and `Float64`, as `f64`.
    F,
    /// Strings, as dictionary codes.
    S,
    /// Anything else (arrays, `NULL`), one value per row.
    V,
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DataType::UInt8 => "UInt8",
            DataType::UInt16 => "UInt16",
            DataType::UInt32 => "UInt32",
            DataType::UInt64 => "UInt64",
            DataType::Int8 => "Int8",
            DataType::Int16 => "Int16",
            DataType::Int32 => "Int32",
            DataType::Int64 => "Int64",
            DataType::Float32 => "Float32",
            DataType::Float64 => "Float64",
            DataType::Bool => "Bool",
            DataType::String => "String",
            DataType::LcString => "LowCardinality(String)",
            DataType::Date => "Date",
            DataType::DateTime => "DateTime",
            DataType::DateTime64 => "DateTime64(3)",
            DataType::Nothing => "Nothing",
            DataType::Array(t) => return write!(f, "Array({t})"),
            DataType::Map(kv) => return write!(f, "Map({}, {})", kv.0, kv.1),
            // ClickHouse spells a Nullable low-cardinality string this way round.
            DataType::Nullable(t) if **t == DataType::LcString => {
                "LowCardinality(Nullable(String))"
            }
            DataType::Nullable(t) => {
                return match &**t {
                    DataType::LowCardinality(x) => write!(f, "LowCardinality(Nullable({x}))"),
                    t => write!(f, "Nullable({t})"),
                }
            }
            DataType::LowCardinality(t) => return write!(f, "LowCardinality({t})"),
            DataType::Interval(u) => return write!(f, "Interval{}", u.name()),
            DataType::AggregateFunction(st) => {
                let (func, args) = &**st;
                write!(f, "AggregateFunction({func}")?;
                for a in args {
                    write!(f, ", {a}")?;
                }
                return f.write_str(")");
            }
            DataType::SimpleAggregateFunction(st) => {
                let (func, t) = &**st;
                return write!(f, "SimpleAggregateFunction({func}, {t})");
            }
        };
        f.write_str(s)
    }
}

impl DataType {
    /// The type of a stored column.
    pub fn of_column(ty: ColumnType) -> DataType {
        match ty {
            ColumnType::DateTime => DataType::DateTime,
            ColumnType::DateTime64 => DataType::DateTime64,
            ColumnType::Date => DataType::Date,
            ColumnType::String => DataType::String,
            ColumnType::LowCardinalityString => DataType::LcString,
            ColumnType::UInt8 => DataType::UInt8,
            ColumnType::UInt16 => DataType::UInt16,
            ColumnType::UInt32 => DataType::UInt32,
            ColumnType::UInt64 => DataType::UInt64,
            ColumnType::Int8 => DataType::Int8,
            ColumnType::Int16 => DataType::Int16,
            ColumnType::Int32 => DataType::Int32,
            ColumnType::Int64 => DataType::Int64,
            ColumnType::Float32 => DataType::Float32,
            ColumnType::Float64 => DataType::Float64,
            ColumnType::Bool => DataType::Bool,
            // Its type is the column's declared one ([`DataType::of_def`]).
            ColumnType::Values => DataType::Nothing,
        }
    }

    /// The type of a stored column, as its schema declares it.
    pub fn of_def(c: &crate::schema::ColumnDef) -> DataType {
        match c.declared.as_ref().and_then(DataType::of_desc) {
            Some(t) => t,
            None => DataType::of_column(c.ty).nullable_if(c.nullable),
        }
    }

    /// The type a schema's type text describes, where the query engine has it.
    pub fn of_desc(t: &crate::schema::TypeDesc) -> Option<DataType> {
        use crate::schema::TypeDesc as T;
        Some(match t {
            T::Nullable(inner) => DataType::Nullable(Box::new(DataType::of_desc(inner)?)),
            T::LowCardinality(inner) => match &**inner {
                T::String => DataType::LcString,
                T::Nullable(s) if **s == T::String => {
                    DataType::Nullable(Box::new(DataType::LcString))
                }
                other => DataType::LowCardinality(Box::new(DataType::of_desc(other)?)),
            },
            T::Array(inner) => DataType::Array(Box::new(DataType::of_desc(inner)?)),
            T::Map(k, v) => DataType::Map(Box::new((DataType::of_desc(k)?, DataType::of_desc(v)?))),
            T::AggregateFunction { function, args } => {
                let args = args
                    .iter()
                    .map(DataType::of_desc)
                    .collect::<Option<Vec<_>>>()?;
                DataType::AggregateFunction(Box::new((function.clone(), args)))
            }
            T::SimpleAggregateFunction { function, arg } => DataType::SimpleAggregateFunction(
                Box::new((function.clone(), DataType::of_desc(arg)?)),
            ),
            other => DataType::of_column(other.storage()?),
        })
    }

    /// Parses a type name as used in template `Array(name, 'Type')` and `CAST`.
    pub fn from_name(name: &str) -> Option<DataType> {
        let compact: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(inner) = compact
            .strip_prefix("Array(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return Some(DataType::Array(Box::new(DataType::from_name(inner)?)));
        }
        if compact == "LowCardinality(Nullable(String))" {
            return Some(DataType::Nullable(Box::new(DataType::LcString)));
        }
        if let Some(inner) = compact
            .strip_prefix("Nullable(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return Some(DataType::Nullable(Box::new(DataType::from_name(inner)?)));
        }
        ColumnType::from_name(&compact).map(DataType::of_column)
    }

    /// How values of this type are held.
    pub fn repr(&self) -> Repr {
        match self {
            DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Bool
            | DataType::DateTime => Repr::U,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Date
            | DataType::DateTime64
            | DataType::Interval(_) => Repr::I,
            DataType::Float32 | DataType::Float64 => Repr::F,
            DataType::String | DataType::LcString => Repr::S,
            DataType::Nullable(t) | DataType::LowCardinality(t) => t.repr(),
            DataType::SimpleAggregateFunction(st) => st.1.repr(),
            DataType::Array(_)
            | DataType::Map(..)
            | DataType::Nothing
            | DataType::AggregateFunction(..) => Repr::V,
        }
    }

    /// The type without `Nullable` and without a `LowCardinality` of a non-string type.
    pub fn base(&self) -> &DataType {
        match self {
            DataType::Nullable(t) => t.base(),
            DataType::LowCardinality(t) => t,
            DataType::SimpleAggregateFunction(st) => st.1.base(),
            t => t,
        }
    }

    /// True for `LowCardinality(T)` and `LowCardinality(Nullable(T))`, strings included.
    pub fn is_low_cardinality(&self) -> bool {
        match self {
            DataType::Nullable(t) => t.is_low_cardinality(),
            DataType::LowCardinality(_) | DataType::LcString => true,
            _ => false,
        }
    }

    /// `LowCardinality` of this type (`Nullable` kept), as a function of a low-cardinality
    /// column gives it; arrays, `Nothing` and intervals stay as they are.
    pub fn low_cardinality(self) -> DataType {
        let nullable = self.is_nullable();
        let inner = match self.base() {
            DataType::String | DataType::LcString => DataType::LcString,
            DataType::Array(_) | DataType::Map(..) | DataType::Nothing | DataType::Interval(_) => {
                return self
            }
            t => DataType::LowCardinality(Box::new(t.clone())),
        };
        inner.nullable_if(nullable)
    }

    /// The type with `LowCardinality` taken off (`Nullable` kept): what aggregates and
    /// `if`/`multiIf` of a low-cardinality string give in ClickHouse.
    pub fn without_low_cardinality(self) -> DataType {
        match self {
            DataType::LcString => DataType::String,
            DataType::LowCardinality(t) => *t,
            DataType::Nullable(t) => DataType::Nullable(Box::new(t.without_low_cardinality())),
            t => t,
        }
    }

    /// True for `Nullable(T)`.
    pub fn is_nullable(&self) -> bool {
        matches!(self, DataType::Nullable(_))
    }

    /// `Nullable(self)` when `nullable`, else `self`.
    pub fn nullable_if(self, nullable: bool) -> DataType {
        if nullable && !self.is_nullable() && self != DataType::Nothing {
            DataType::Nullable(Box::new(self))
        } else {
            self
        }
    }

    /// True for the integer types (not `Bool`, not times).
    pub fn is_int(&self) -> bool {
        matches!(
            self.base(),
            DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64
                | DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
        )
    }

    /// True for integers, `Bool` and floats.
    pub fn is_number(&self) -> bool {
        self.is_int() || self.is_float() || *self.base() == DataType::Bool
    }

    /// True for `Float32` and `Float64`.
    pub fn is_float(&self) -> bool {
        matches!(self.base(), DataType::Float32 | DataType::Float64)
    }

    /// True for the signed integer types.
    pub fn is_signed(&self) -> bool {
        matches!(
            self.base(),
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
        )
    }

    /// True for `String` and `LowCardinality(String)`.
    pub fn is_string(&self) -> bool {
        matches!(self.base(), DataType::String | DataType::LcString)
    }

    /// True for `Date`, `DateTime` and `DateTime64(3)`.
    pub fn is_time(&self) -> bool {
        matches!(
            self.base(),
            DataType::Date | DataType::DateTime | DataType::DateTime64
        )
    }

    /// Bits of an integer type (`Bool` counts as 8).
    pub fn int_bits(&self) -> u32 {
        match self.base() {
            DataType::UInt8 | DataType::Int8 | DataType::Bool => 8,
            DataType::UInt16 | DataType::Int16 => 16,
            DataType::UInt32 | DataType::Int32 => 32,
            _ => 64,
        }
    }

    /// The integer type of `bits` and signedness.
    pub fn int_of(bits: u32, signed: bool) -> DataType {
        match (bits, signed) {
            (8, false) => DataType::UInt8,
            (16, false) => DataType::UInt16,
            (32, false) => DataType::UInt32,
            (_, false) => DataType::UInt64,
            (8, true) => DataType::Int8,
            (16, true) => DataType::Int16,
            (32, true) => DataType::Int32,
            (_, true) => DataType::Int64,
        }
    }

    /// Bytes one value of the type takes when stored (for `bytes_read`).
    pub fn width(&self) -> usize {
        match self.base() {
            DataType::UInt8 | DataType::Int8 | DataType::Bool => 1,
            DataType::UInt16 | DataType::Int16 | DataType::Date => 2,
            DataType::UInt64
            | DataType::Int64
            | DataType::Float64
            | DataType::DateTime64
            | DataType::Array(_) => 8,
            _ => 4,
        }
    }
}

/// The result type of `plus`, `minus` or `multiply` on two numbers, as ClickHouse types it.
pub fn arithmetic_type(op: &str, a: &DataType, b: &DataType) -> Option<DataType> {
    let (a, b) = (a.base(), b.base());
    if !(a.is_number() && b.is_number()) {
        return None;
    }
    if a.is_float() || b.is_float() {
        return Some(DataType::Float64);
    }
    let (sa, sb) = (a.is_signed(), b.is_signed());
    let bits = a.int_bits().max(b.int_bits());
    let wider = (bits * 2).min(64);
    Some(match op {
        "minus" => DataType::int_of(wider, true),
        _ if sa || sb => DataType::int_of(wider, true),
        _ => DataType::int_of(wider, false),
    })
}

/// The result type of `modulo` (`%`) on two numbers.
pub fn modulo_type(a: &DataType, b: &DataType) -> Option<DataType> {
    let (a, b) = (a.base(), b.base());
    if !(a.is_number() && b.is_number()) {
        return None;
    }
    if a.is_float() || b.is_float() {
        return Some(DataType::Float64);
    }
    // The sign follows the dividend; the width follows the divisor, doubled when signed.
    let bits = if a.is_signed() {
        (b.int_bits() * 2).min(64)
    } else {
        b.int_bits()
    };
    Some(DataType::int_of(bits, a.is_signed()))
}

/// The common type of the branches of `if`/`multiIf` and of `coalesce` arguments.
pub fn common_type(types: &[&DataType]) -> Option<DataType> {
    let mut nullable = false;
    let mut out: Option<DataType> = None;
    for t in types {
        if **t == DataType::Nothing || **t == DataType::Nullable(Box::new(DataType::Nothing)) {
            nullable = true;
            continue;
        }
        nullable |= t.is_nullable();
        let t = t.base().clone();
        out = Some(match out {
            None => t,
            Some(o) => supertype(&o, &t)?,
        });
    }
    Some(match out {
        Some(t) => t.nullable_if(nullable),
        // Only NULLs: ClickHouse types that `Nullable(Nothing)`.
        None => DataType::Nullable(Box::new(DataType::Nothing)),
    })
}

/// Whether `a` and `b` are one type once `Bool` counts as `UInt8`: ClickHouse's `Bool` is
/// `UInt8` under another name, and its common type of such types is the first one (`if(c,
/// true, 5)` is `Bool`, `if(c, 5, true)` is `UInt8`; the byte is kept as it is either way).
pub fn same_but_bool(a: &DataType, b: &DataType) -> bool {
    let plain = |t: &DataType| {
        if *t == DataType::Bool {
            DataType::UInt8
        } else {
            t.clone()
        }
    };
    match (a, b) {
        (DataType::Array(x), DataType::Array(y)) => same_but_bool(x, y),
        (DataType::Nullable(x), DataType::Nullable(y)) => same_but_bool(x, y),
        _ => plain(a) == plain(b),
    }
}

fn supertype(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b || same_but_bool(a, b) {
        return Some(a.clone());
    }
    if a.is_string() && b.is_string() {
        return Some(DataType::String);
    }
    match (a, b) {
        (DataType::Date, DataType::DateTime) | (DataType::DateTime, DataType::Date) => {
            return Some(DataType::DateTime)
        }
        // The elements of `[]` are `Nothing`, which takes the other array's element type.
        (DataType::Array(x), DataType::Array(y)) if **x == DataType::Nothing => {
            return Some(DataType::Array(y.clone()))
        }
        (DataType::Array(x), DataType::Array(y)) if **y == DataType::Nothing => {
            return Some(DataType::Array(x.clone()))
        }
        (DataType::Array(x), DataType::Array(y)) => {
            return Some(DataType::Array(Box::new(common_type(&[x, y])?)))
        }
        _ => {}
    }
    if !(a.is_number() && b.is_number()) {
        return None;
    }
    let a = if *a == DataType::Bool {
        &DataType::UInt8
    } else {
        a
    };
    let b = if *b == DataType::Bool {
        &DataType::UInt8
    } else {
        b
    };
    if a.is_float() || b.is_float() {
        let int_bits = [a, b]
            .iter()
            .filter(|t| t.is_int())
            .map(|t| t.int_bits())
            .max()
            .unwrap_or(0);
        let f32_only = [a, b]
            .iter()
            .all(|t| **t == DataType::Float32 || !t.is_float());
        return Some(if f32_only && int_bits <= 16 {
            DataType::Float32
        } else {
            DataType::Float64
        });
    }
    let (sa, sb) = (a.is_signed(), b.is_signed());
    let (ba, bb) = (a.int_bits(), b.int_bits());
    if sa == sb {
        return Some(DataType::int_of(ba.max(bb), sa));
    }
    let (ub, sbits) = if sa { (bb, ba) } else { (ba, bb) };
    if ub >= 64 {
        // ClickHouse answers with a Variant type here, which is outside the subset.
        return None;
    }
    Some(DataType::int_of(sbits.max(ub * 2), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arithmetic_types() {
        assert_eq!(
            DataType::Array(Box::new(DataType::Float64)).to_string(),
            "Array(Float64)"
        );
        let t = |a: DataType, b: DataType| arithmetic_type("plus", &a, &b).map(|t| t.to_string());
        assert_eq!(
            t(DataType::UInt32, DataType::UInt32).as_deref(),
            Some("UInt64")
        );
        assert_eq!(
            t(DataType::UInt8, DataType::UInt8).as_deref(),
            Some("UInt16")
        );
        assert_eq!(t(DataType::UInt8, DataType::Int8).as_deref(), Some("Int16"));
        assert_eq!(
            t(DataType::Float32, DataType::Float32).as_deref(),
            Some("Float64")
        );
        assert_eq!(
            arithmetic_type("minus", &DataType::UInt16, &DataType::UInt8).map(|t| t.to_string()),
            Some("Int32".into())
        );
        let m = |a: DataType, b: DataType| modulo_type(&a, &b).map(|t| t.to_string());
        assert_eq!(
            m(DataType::UInt32, DataType::UInt8).as_deref(),
            Some("UInt8")
        );
        assert_eq!(
            m(DataType::Int32, DataType::UInt8).as_deref(),
            Some("Int16")
        );
        assert_eq!(
            m(DataType::UInt64, DataType::Int64).as_deref(),
            Some("UInt64")
        );
        let c = |a: DataType, b: DataType| common_type(&[&a, &b]).map(|t| t.to_string());
        assert_eq!(
            c(DataType::UInt8, DataType::UInt32).as_deref(),
            Some("UInt32")
        );
        assert_eq!(c(DataType::UInt8, DataType::Int8).as_deref(), Some("Int16"));
        assert_eq!(
            c(DataType::UInt32, DataType::Int32).as_deref(),
            Some("Int64")
        );
        assert_eq!(
            c(DataType::Float32, DataType::UInt8).as_deref(),
            Some("Float32")
        );
        assert_eq!(
            c(DataType::UInt8, DataType::Float64).as_deref(),
            Some("Float64")
        );
        assert_eq!(c(DataType::UInt64, DataType::Int64), None);
        // Bool and UInt8 take the first one's name; wider types take Bool as UInt8.
        assert_eq!(c(DataType::Bool, DataType::UInt8).as_deref(), Some("Bool"));
        assert_eq!(c(DataType::UInt8, DataType::Bool).as_deref(), Some("UInt8"));
        assert_eq!(
            c(DataType::Bool, DataType::UInt16).as_deref(),
            Some("UInt16")
        );
        assert_eq!(c(DataType::Bool, DataType::Int8).as_deref(), Some("Int16"));
        assert_eq!(
            common_type(&[
                &DataType::Nothing,
                &DataType::Nullable(Box::new(DataType::Bool)),
                &DataType::UInt8
            ])
            .map(|t| t.to_string())
            .as_deref(),
            Some("Nullable(Bool)")
        );
    }
}
