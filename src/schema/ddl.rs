//! The `CREATE TABLE` statement ClickHouse runs for a datasource.

use super::{ColumnType, Datasource, PartitionKey};

/// Backquotes a name for ClickHouse.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`"))
}

/// A column's type as ClickHouse writes it, `Nullable` included.
fn column_type(ty: ColumnType, nullable: bool) -> String {
    match (ty, nullable) {
        (ColumnType::LowCardinalityString, true) => "LowCardinality(Nullable(String))".into(),
        (t, true) => format!("Nullable({})", t.name()),
        (t, false) => t.name().to_string(),
    }
}

impl Datasource {
    /// `CREATE TABLE IF NOT EXISTS` for this datasource in ClickHouse: the columns with their
    /// types, `ENGINE = MergeTree` with the partition and sorting keys (`tuple()` without one).
    ///
    /// ```
    /// let ds = llm_metrics::Datasource::llm_events();
    /// let sql = ds.create_table_sql("analytics");
    /// assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS `analytics`.`llm_events` (`event_time` DateTime, "));
    /// assert!(sql.ends_with("ENGINE = MergeTree PARTITION BY toYYYYMM(`event_time`) ORDER BY (`event_time`, `model_name`)"));
    /// ```
    pub fn create_table_sql(&self, database: &str) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{} {}", quote(&c.name), column_type(c.ty, c.nullable)))
            .collect();
        let time = |i: usize| quote(&self.columns[i].name);
        let partition = match self.partition {
            PartitionKey::None => String::new(),
            PartitionKey::YearMonth(i) => format!(" PARTITION BY toYYYYMM({})", time(i)),
            PartitionKey::Year(i) => format!(" PARTITION BY toYear({})", time(i)),
            PartitionKey::Day(i) => format!(" PARTITION BY toYYYYMMDD({})", time(i)),
        };
        let order = if self.sorting_key.is_empty() {
            "tuple()".to_string()
        } else {
            let keys: Vec<String> = self.sorting_key.iter().map(|&i| time(i)).collect();
            format!("({})", keys.join(", "))
        };
        format!(
            "CREATE TABLE IF NOT EXISTS {}.{} ({}) ENGINE = MergeTree{partition} ORDER BY {order}",
            quote(database),
            quote(&self.name),
            columns.join(", ")
        )
    }
}
