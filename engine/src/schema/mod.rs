//! The 97-column bar schema of the field specification (F1): names, order, Arrow types and
//! nullability, plus which columns the store itself assigns.

mod fields_table;

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use fields_table::FIELDS;

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

/// Number of columns of a bar row.
pub const FIELD_COUNT: usize = 97;

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

/// The position of a column by name.
pub fn column_index(name: &str) -> Option<usize> {
    FIELDS.iter().position(|f| f.name == name)
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
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELD_COUNT);
    }
}
