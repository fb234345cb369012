//! Datasource definitions: Tinybird `.datasource` files and the column types they declare.

mod ddl;
pub(crate) mod file;
mod parse;
mod types;

pub use file::{
    parse_datasource_file, ColumnSpec, DatasourceFile, EngineSetting, IndexSpec, Note, TokenSpec,
    MAX_DATASOURCE_BYTES,
};
pub use parse::{default_value, parse_datasource};
pub use types::{TypeDesc, MAX_TYPE_DEPTH};

/// A column type of the supported ClickHouse subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `DateTime`: seconds since the Unix epoch, UTC, stored as `u32`.
    DateTime,
    /// `DateTime64(3)`: milliseconds since the Unix epoch, UTC, stored as `i64`.
    DateTime64,
    /// `String`: UTF-8 text, dictionary-encoded.
    String,
    /// `LowCardinality(String)`: stored exactly like `String` (both are dictionary-encoded).
    LowCardinalityString,
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
    /// `Bool`: stored as `u8` 0 or 1.
    Bool,
    /// `Date`: days since 1970-01-01, stored as `u16` (up to 2149-06-06).
    Date,
    /// A column held row by row as query values: `Array(…)` and `AggregateFunction(…)`. Its
    /// type is the column's [`ColumnDef::declared`] type.
    Values,
}

impl ColumnType {
    /// Parses a ClickHouse type name as written in a `.datasource` schema.
    pub fn from_name(name: &str) -> Option<ColumnType> {
        let compact: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        Some(match compact.as_str() {
            "DateTime" | "DateTime('UTC')" | "DateTime(\"UTC\")" => ColumnType::DateTime,
            "DateTime64(3)" | "DateTime64(3,'UTC')" | "DateTime64(3,\"UTC\")" => {
                ColumnType::DateTime64
            }
            "String" => ColumnType::String,
            "LowCardinality(String)" => ColumnType::LowCardinalityString,
            "UInt8" => ColumnType::UInt8,
            "UInt16" => ColumnType::UInt16,
            "UInt32" => ColumnType::UInt32,
            "UInt64" => ColumnType::UInt64,
            "Int8" => ColumnType::Int8,
            "Int16" => ColumnType::Int16,
            "Int32" => ColumnType::Int32,
            "Int64" => ColumnType::Int64,
            "Float32" => ColumnType::Float32,
            "Float64" => ColumnType::Float64,
            "Bool" | "Boolean" => ColumnType::Bool,
            "Date" => ColumnType::Date,
            _ => return None,
        })
    }

    /// The type's name as ClickHouse prints it in result metadata.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::DateTime => "DateTime",
            ColumnType::DateTime64 => "DateTime64(3)",
            ColumnType::String => "String",
            ColumnType::LowCardinalityString => "LowCardinality(String)",
            ColumnType::UInt8 => "UInt8",
            ColumnType::UInt16 => "UInt16",
            ColumnType::UInt32 => "UInt32",
            ColumnType::UInt64 => "UInt64",
            ColumnType::Int8 => "Int8",
            ColumnType::Int16 => "Int16",
            ColumnType::Int32 => "Int32",
            ColumnType::Int64 => "Int64",
            ColumnType::Float32 => "Float32",
            ColumnType::Float64 => "Float64",
            ColumnType::Bool => "Bool",
            ColumnType::Date => "Date",
            ColumnType::Values => "Values",
        }
    }

    /// True for the two dictionary-encoded text types.
    pub fn is_string(self) -> bool {
        matches!(self, ColumnType::String | ColumnType::LowCardinalityString)
    }

    /// True for `Float32` and `Float64`.
    pub fn is_float_like(self) -> bool {
        matches!(self, ColumnType::Float32 | ColumnType::Float64)
    }

    /// True for the signed integer types.
    pub fn is_signed(self) -> bool {
        matches!(
            self,
            ColumnType::Int8 | ColumnType::Int16 | ColumnType::Int32 | ColumnType::Int64
        )
    }

    /// True for `DateTime` and `DateTime64(3)`.
    pub fn is_time(self) -> bool {
        matches!(self, ColumnType::DateTime | ColumnType::DateTime64)
    }

    /// Bytes one value takes in the store (a dictionary code for strings).
    pub fn width(self) -> usize {
        match self {
            ColumnType::UInt8 | ColumnType::Int8 | ColumnType::Bool => 1,
            ColumnType::UInt16 | ColumnType::Int16 | ColumnType::Date => 2,
            ColumnType::UInt32
            | ColumnType::Int32
            | ColumnType::Float32
            | ColumnType::DateTime
            | ColumnType::String
            | ColumnType::LowCardinalityString => 4,
            ColumnType::UInt64
            | ColumnType::Int64
            | ColumnType::Float64
            | ColumnType::DateTime64 => 8,
            // Charged per value as it is stored.
            ColumnType::Values => 0,
        }
    }
}

/// One column of a datasource.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Column type.
    pub ty: ColumnType,
    /// JSON path as keys from the root object: `json:$.a.b` is `["a", "b"]`.
    pub path: Vec<String>,
    /// The value stored when the key is missing or `null` (`DEFAULT` in the schema); without
    /// one, the type's default (0, empty string), or `NULL` in a `Nullable` column.
    pub default: Option<DefaultValue>,
    /// `Nullable(T)`: a missing key or JSON `null` is stored as `NULL` (unless a `DEFAULT` is
    /// given).
    pub nullable: bool,
    /// The type the schema declares, where it is not `ty` itself (with `nullable`):
    /// `SimpleAggregateFunction(f, T)` (stored as `T`), and the types stored as
    /// [`ColumnType::Values`] (`Array(…)`, `AggregateFunction(…)`).
    pub declared: Option<TypeDesc>,
}

impl ColumnDef {
    /// The column's type name as ClickHouse reports it (`Nullable(Int32)`,
    /// `SimpleAggregateFunction(sum, Int64)`, `Array(LowCardinality(String))`).
    pub fn type_name(&self) -> String {
        match &self.declared {
            Some(t) => t.to_string(),
            None if self.nullable && self.ty == ColumnType::LowCardinalityString => {
                "LowCardinality(Nullable(String))".to_string()
            }
            None if self.nullable => format!("Nullable({})", self.ty.name()),
            None => self.ty.name().to_string(),
        }
    }
}

/// A column's `DEFAULT`, read as a value of the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// For string columns.
    Str(String),
    /// For unsigned integers, `Bool` (0 or 1) and `DateTime` (seconds).
    UInt(u64),
    /// For signed integers and `DateTime64(3)` (milliseconds).
    Int(i64),
    /// For `Float32` and `Float64`.
    Float(f64),
    /// `now()`, `now64()`, `today()` on a time or `Date` column: the time the row is written.
    Now,
}

/// How rows are split into partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKey {
    /// No partitioning: one partition.
    None,
    /// `toYYYYMM(col)` on a time column (index into the columns).
    YearMonth(usize),
    /// `toYear(col)` on a time column.
    Year(usize),
    /// `toYYYYMMDD(col)` / `toDate(col)` on a time column.
    Day(usize),
}

/// A parsed `.datasource` file.
#[derive(Debug, Clone, PartialEq)]
pub struct Datasource {
    /// Datasource name (the file name without `.datasource`).
    pub name: String,
    /// The `DESCRIPTION` text.
    pub description: String,
    /// Columns in schema order.
    pub columns: Vec<ColumnDef>,
    /// The `ENGINE` value, e.g. `MergeTree`.
    pub engine: String,
    /// The partition key.
    pub partition: PartitionKey,
    /// Sorting key columns (indexes into `columns`).
    pub sorting_key: Vec<usize>,
    /// `ReplacingMergeTree`'s version column (`ENGINE_VER`), which `FINAL` keeps the highest
    /// of per sorting key.
    pub version_column: Option<usize>,
    /// The column whose min/max each block records: the partition key's time column, else the
    /// first time column of the sorting key, else the first time column.
    pub time_column: Option<usize>,
}

impl Datasource {
    /// Index of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The founding `llm_events` datasource shipped in `datasources/llm_events.datasource`.
    pub fn llm_events() -> Datasource {
        match parse_datasource("llm_events", LLM_EVENTS) {
            Ok(ds) => ds,
            // The shipped file is covered by a unit test; this arm is unreachable in practice.
            Err(e) => unreachable!("shipped datasource is invalid: {e}"),
        }
    }
}

/// Text of the shipped `llm_events.datasource`.
pub const LLM_EVENTS: &str = include_str!("../../datasources/llm_events.datasource");
