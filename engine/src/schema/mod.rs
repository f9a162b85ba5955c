//! The 97-column bar schema of the field specification (F1): names, order, Arrow types and
//! nullability, plus which columns the store itself assigns; and the optional extra columns
//! some asset classes carry after the 97 (crypto: `funding_rate`, `open_interest`).
//!
//! Inside the engine every row has all [`COLUMN_COUNT`] columns ([`row_schema`]): a table
//! whose asset class has no extras simply never holds a value in them, and never shows or
//! stores them ([`table_schema`], the segment writer).

mod fields_table;

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use fields_table::FIELDS;

use crate::table::AssetClass;

/// The Arrow type family of a field (F1 type codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `TS`: Timestamp(Microsecond, "UTC").
    Timestamp,
    /// `F64`.
    Float64,
    /// `D32`: Dictionary(Int32, Utf8).
    Dict32,
    /// `D8`: Dictionary(Int8, Utf8).
    Dict8,
    /// `BOOL`.
    Boolean,
    /// `I8`.
    Int8,
    /// `I32`.
    Int32,
}

impl FieldKind {
    /// The Arrow data type of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            FieldKind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            FieldKind::Float64 => DataType::Float64,
            FieldKind::Dict32 => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            FieldKind::Dict8 => {
                DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
            }
            FieldKind::Boolean => DataType::Boolean,
            FieldKind::Int8 => DataType::Int8,
            FieldKind::Int32 => DataType::Int32,
        }
    }
}

/// One row of the F1 field table.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Column name.
    pub name: &'static str,
    /// Type family.
    pub kind: FieldKind,
    /// Whether the column may hold nulls.
    pub nullable: bool,
}

impl FieldDef {
    const fn new(name: &'static str, kind: FieldKind, nullable: bool) -> Self {
        Self { name, kind, nullable }
    }
}

/// All 97 field definitions in schema order.
pub fn field_defs() -> &'static [FieldDef; 97] {
    &FIELDS
}

/// Number of F1 fields (the columns every table has).
pub const FIELD_COUNT: usize = 97;

/// The extra columns after the 97, in order: crypto tables only (format-spec/segments.md).
/// Never computed by the kernel; null unless an append provides them.
const EXTRAS: [FieldDef; 2] = [
    FieldDef::new("funding_rate", FieldKind::Float64, true),
    FieldDef::new("open_interest", FieldKind::Float64, true),
];

/// Number of extra columns.
pub const EXTRA_COUNT: usize = EXTRAS.len();

/// Width of the engine's rows: the 97 F1 fields, then the extras.
pub const COLUMN_COUNT: usize = FIELD_COUNT + EXTRA_COUNT;

/// The extra columns' definitions (positions [`FIELD_COUNT`]..[`COLUMN_COUNT`]).
pub fn extra_field_defs() -> &'static [FieldDef; EXTRA_COUNT] {
    &EXTRAS
}

/// The definition of the column at `index` (an F1 field or an extra).
///
/// # Panics
/// If `index >= COLUMN_COUNT`.
pub fn column_def(index: usize) -> &'static FieldDef {
    if index < FIELD_COUNT { &FIELDS[index] } else { &EXTRAS[index - FIELD_COUNT] }
}

/// Whether the column at `index` is one of the extras.
pub fn is_extra(index: usize) -> bool {
    (FIELD_COUNT..COLUMN_COUNT).contains(&index)
}

/// Column positions of the fields the engine addresses by name.
pub mod col {
    /// `datetime`
    pub const DATETIME: usize = 0;
    /// `symbol`
    pub const SYMBOL: usize = 1;
    /// `open`
    pub const OPEN: usize = 2;
    /// `high`
    pub const HIGH: usize = 3;
    /// `low`
    pub const LOW: usize = 4;
    /// `close`
    pub const CLOSE: usize = 5;
    /// `volume`
    pub const VOLUME: usize = 6;
    /// `sector`
    pub const SECTOR: usize = 7;
    /// `exchange`
    pub const EXCHANGE: usize = 10;
    /// `created_at`
    pub const CREATED_AT: usize = 15;
    /// `price_range`
    pub const PRICE_RANGE: usize = 77;
    /// `high_low_spread`
    pub const HIGH_LOW_SPREAD: usize = 78;
    /// `updated_at`
    pub const UPDATED_AT: usize = 85;
    /// `source`
    pub const SOURCE: usize = 86;
    /// `revision`
    pub const REVISION: usize = 87;
    /// `is_validated`
    pub const IS_VALIDATED: usize = 88;
    /// `quality_score`
    pub const QUALITY_SCORE: usize = 89;
    /// `validation_notes`
    pub const VALIDATION_NOTES: usize = 90;
    /// `gap_detected`
    pub const GAP_DETECTED: usize = 91;
    /// `volume_anomaly`
    pub const VOLUME_ANOMALY: usize = 92;
    /// `data_completeness`
    pub const DATA_COMPLETENESS: usize = 93;
    /// `fetched_at`
    pub const FETCHED_AT: usize = 94;
    /// `computed_at`
    pub const COMPUTED_AT: usize = 95;
    /// `batch_id`
    pub const BATCH_ID: usize = 96;
    /// `funding_rate` (extra, crypto tables)
    pub const FUNDING_RATE: usize = 97;
    /// `open_interest` (extra, crypto tables)
    pub const OPEN_INTEREST: usize = 98;
}

/// Columns whose values the store assigns on every write (lineage); their values in an
/// appended batch are replaced, and they are ignored when deciding whether a rewrite changed
/// a row.
pub const LINEAGE_COLUMNS: [usize; 5] =
    [col::CREATED_AT, col::UPDATED_AT, col::REVISION, col::COMPUTED_AT, col::BATCH_ID];

/// Columns an appended batch must carry.
pub(crate) const REQUIRED_INPUT_COLUMNS: [usize; 7] =
    [col::DATETIME, col::SYMBOL, col::OPEN, col::HIGH, col::LOW, col::CLOSE, col::VOLUME];

/// Whether a column is excluded from the "did this row change?" comparison.
pub(crate) fn is_lineage(index: usize) -> bool {
    LINEAGE_COLUMNS.contains(&index) || index == col::FETCHED_AT
}

/// The F1 schema (97 columns), shared.
pub fn bar_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> =
                FIELDS.iter().map(|f| Field::new(f.name, f.kind.data_type(), f.nullable)).collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The engine's row schema: the 97 F1 columns, then the extras ([`COLUMN_COUNT`] columns).
pub fn row_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let fields: Vec<Field> = FIELDS
                .iter()
                .chain(&EXTRAS)
                .map(|f| Field::new(f.name, f.kind.data_type(), f.nullable))
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The columns a table of `asset_class` has, in order: the 97 F1 fields ([`bar_schema`]) for
/// stocks; the 97 plus `funding_rate` and `open_interest` ([`row_schema`]) for crypto.
pub fn table_schema(asset_class: AssetClass) -> SchemaRef {
    match asset_class {
        AssetClass::Stocks => bar_schema(),
        AssetClass::Crypto => row_schema(),
    }
}

/// Number of columns of a table of `asset_class` (a prefix of the row schema).
pub fn table_column_count(asset_class: AssetClass) -> usize {
    match asset_class {
        AssetClass::Stocks => FIELD_COUNT,
        AssetClass::Crypto => COLUMN_COUNT,
    }
}

/// A table's full rows (its default scan: the 97, or all [`COLUMN_COUNT`]) as row-schema
/// rows: the extras a table does not have are added as nulls.
pub(crate) fn widen(
    batch: &arrow::array::RecordBatch,
) -> Result<arrow::array::RecordBatch, arrow::error::ArrowError> {
    let rows = batch.num_rows();
    let full = row_schema();
    let mut columns = batch.columns().to_vec();
    for c in columns.len()..COLUMN_COUNT {
        columns.push(arrow::array::new_null_array(full.field(c).data_type(), rows));
    }
    arrow::array::RecordBatch::try_new(full, columns)
}

/// The position of a column by name: an F1 field or an extra (whether a given table has the
/// extra is [`table_column_count`]'s question).
pub fn column_index(name: &str) -> Option<usize> {
    FIELDS.iter().chain(&EXTRAS).position(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_has_97_fields_in_spec_order() {
        let s = bar_schema();
        assert_eq!(s.fields().len(), FIELD_COUNT);
        assert_eq!(s.field(col::DATETIME).name(), "datetime");
        assert_eq!(s.field(col::SYMBOL).name(), "symbol");
        assert_eq!(s.field(col::VOLUME).name(), "volume");
        assert_eq!(s.field(col::EXCHANGE).name(), "exchange");
        assert_eq!(s.field(col::CREATED_AT).name(), "created_at");
        assert_eq!(s.field(col::PRICE_RANGE).name(), "price_range");
        assert_eq!(s.field(col::UPDATED_AT).name(), "updated_at");
        assert_eq!(s.field(col::REVISION).name(), "revision");
        assert_eq!(s.field(col::DATA_COMPLETENESS).name(), "data_completeness");
        assert_eq!(s.field(col::BATCH_ID).name(), "batch_id");
        assert_eq!(s.field(82).data_type(), &FieldKind::Dict8.data_type());
        assert!(!s.field(col::QUALITY_SCORE).is_nullable());
        assert!(s.field(16).is_nullable(), "rsi is nullable");
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = FIELDS.iter().chain(&EXTRAS).map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMN_COUNT);
    }

    #[test]
    fn extras_follow_the_97_and_only_crypto_tables_have_them() {
        let row = row_schema();
        assert_eq!(row.fields().len(), 99);
        assert_eq!(&row.fields()[..FIELD_COUNT], &bar_schema().fields()[..]);
        assert_eq!(row.field(col::FUNDING_RATE).name(), "funding_rate");
        assert_eq!(row.field(col::OPEN_INTEREST).name(), "open_interest");
        for c in [col::FUNDING_RATE, col::OPEN_INTEREST] {
            assert_eq!(row.field(c).data_type(), &DataType::Float64);
            assert!(row.field(c).is_nullable());
            assert!(is_extra(c));
            assert_eq!(column_def(c).name, row.field(c).name());
        }
        assert!(!is_extra(col::BATCH_ID));
        assert_eq!(column_index("open_interest"), Some(col::OPEN_INTEREST));
        assert_eq!(table_schema(AssetClass::Stocks), bar_schema());
        assert_eq!(table_schema(AssetClass::Crypto), row);
        assert_eq!(table_column_count(AssetClass::Stocks), 97);
        assert_eq!(table_column_count(AssetClass::Crypto), 99);
    }
}
