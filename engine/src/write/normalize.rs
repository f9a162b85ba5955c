//! Turns a caller's batch (any subset of the 97 columns and the extras, compatible types) into
//! a validated row-schema batch plus the set of columns the caller provided.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType};
use arrow::util::display::FormatOptions;

use crate::error::{Error, Result, RowError, RowProblem};
use crate::schema::{
    COLUMN_COUNT, REQUIRED_INPUT_COLUMNS, col, column_index, field_defs, row_schema,
};

/// 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z in µs: the supported datetime range.
pub(crate) const MIN_TS: i64 = -2_208_988_800_000_000;
pub(crate) const MAX_TS: i64 = 7_258_118_400_000_000;

/// What to do with invalid rows of an appended batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidRows {
    /// Reject the whole batch with [`Error::InvalidRows`] listing every bad row; nothing is
    /// written.
    #[default]
    Reject,
    /// Write the valid rows and report the invalid ones in the
    /// [`AppendReport`](crate::AppendReport).
    Skip,
}

/// A normalized input batch.
#[derive(Debug)]
pub(crate) struct Normalized {
    /// Row-schema columns (the 97, then the extras); non-provided ones are all-null.
    pub(crate) batch: RecordBatch,
    /// Which columns the caller provided (or the symbol master filled).
    pub(crate) provided: [bool; COLUMN_COUNT],
    /// Provided columns whose values came from the symbol master, not the caller: they apply
    /// to new keys only; a stored row keeps its own values (F3.1: "at the time the row is
    /// written"). Carried through the WAL as field metadata ([`ORIGIN_KEY`]).
    pub(crate) from_master: [bool; COLUMN_COUNT],
}

/// Field-metadata key marking a column filled from the symbol master (value
/// [`ORIGIN_MASTER`]); written into WAL records so replay applies the same rule.
pub(crate) const ORIGIN_KEY: &str = "candlestore:origin";
/// See [`ORIGIN_KEY`].
pub(crate) const ORIGIN_MASTER: &str = "master";

/// Whether `s` is a valid engine ticker: 1-64 chars of ASCII letters, digits and
/// `. - _ = / ^ :`. Tickers are conventionally upper case (the importers upper-case them);
/// lower case is accepted because some sources name instruments by file name (F5.3).
pub fn is_valid_symbol(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_=/^:".contains(&b))
}

/// Casts the caller's columns to the row schema.
pub(crate) fn conform(input: &RecordBatch) -> Result<Normalized> {
    let schema = row_schema();
    let rows = input.num_rows();
    let (slots, provided) = cast_slots(input)?;
    let columns: Vec<ArrayRef> = slots
        .into_iter()
        .zip(schema.fields())
        .map(|(slot, f)| slot.unwrap_or_else(|| new_null_array(f.data_type(), rows)))
        .collect();
    // Nullability is enforced after validation (rows with nulls in required columns are
    // rejected there), so build against a relaxed schema first.
    let relaxed = Arc::new(arrow::datatypes::Schema::new(
        schema.fields().iter().map(|f| f.as_ref().clone().with_nullable(true)).collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(relaxed, columns)?;
    let mut from_master = [false; COLUMN_COUNT];
    for field in input.schema().fields() {
        if field.metadata().get(ORIGIN_KEY).map(String::as_str) == Some(ORIGIN_MASTER)
            && let Some(idx) = column_index(field.name())
        {
            from_master[idx] = true;
        }
    }
    Ok(Normalized { batch, provided, from_master })
}

/// The caller's columns cast to their F1 (or extra) types, by position, and which were provided. Fails
/// on an unknown column, an uncastable type or a missing required column.
pub(crate) fn cast_slots(
    input: &RecordBatch,
) -> Result<(Vec<Option<ArrayRef>>, [bool; COLUMN_COUNT])> {
    let schema = row_schema();
    let mut slots: Vec<Option<ArrayRef>> = vec![None; COLUMN_COUNT];
    let mut provided = [false; COLUMN_COUNT];
    let cast_options = CastOptions { safe: false, format_options: FormatOptions::default() };
    for (field, array) in input.schema().fields().iter().zip(input.columns()) {
        let idx = column_index(field.name())
            .ok_or_else(|| Error::UnknownColumn { column: field.name().clone() })?;
        let target = schema.field(idx).data_type();
        let array = if array.data_type() == target {
            array.clone()
        } else {
            cast_with_options(array, target, &cast_options).map_err(|_| Error::ColumnType {
                column: field.name().clone(),
                expected: target.to_string(),
                found: array.data_type().to_string(),
            })?
        };
        slots[idx] = Some(array);
        provided[idx] = true;
    }
    for &c in &REQUIRED_INPUT_COLUMNS {
        if !provided[c] {
            return Err(Error::MissingColumn { column: field_defs()[c].name });
        }
    }
    Ok((slots, provided))
}

/// [`validate`] on the key and OHLCV columns alone (positions as in F1), for callers that
/// have not built a 97-column batch.
pub(crate) fn validate_keys(slots: &[Option<ArrayRef>], rows: usize) -> Result<Vec<RowError>> {
    let fields: Vec<arrow::datatypes::Field> = REQUIRED_INPUT_COLUMNS
        .iter()
        .map(|&c| row_schema().field(c).as_ref().clone().with_nullable(true))
        .collect();
    let mut columns = Vec::with_capacity(REQUIRED_INPUT_COLUMNS.len());
    for &c in &REQUIRED_INPUT_COLUMNS {
        columns
            .push(slots[c].clone().ok_or(Error::MissingColumn { column: field_defs()[c].name })?);
    }
    let keys = RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns)?;
    debug_assert_eq!(keys.num_rows(), rows);
    Ok(validate_with(&|c| {
        let at = REQUIRED_INPUT_COLUMNS.iter().position(|&r| r == c).unwrap_or(0);
        keys.column(at).clone()
    }))
}

/// Every invalid row of a conformed batch (missing or malformed key, non-finite OHLCV,
/// duplicate key within the batch), in row order.
pub(crate) fn validate(batch: &RecordBatch) -> Vec<RowError> {
    validate_with(&|c| batch.column(c).clone())
}

/// [`validate`] over columns looked up by F1 position (only key and OHLCV are read).
fn validate_with(column: &dyn Fn(usize) -> ArrayRef) -> Vec<RowError> {
    let mut errors = Vec::new();
    let symbol_column = column(col::SYMBOL);
    let ts_column = column(col::DATETIME);
    let price_columns: Vec<ArrayRef> = [col::OPEN, col::HIGH, col::LOW, col::CLOSE, col::VOLUME]
        .iter()
        .map(|&c| column(c))
        .collect();
    let symbols = symbol_column.as_dictionary::<Int32Type>();
    let symbol_values = symbols.values().as_string::<i32>();
    let valid_key: Vec<bool> = (0..symbol_values.len())
        .map(|k| symbol_values.is_valid(k) && is_valid_symbol(symbol_values.value(k)))
        .collect();
    let ts = ts_column.as_primitive::<TimestampMicrosecondType>();
    let prices: Vec<(&'static str, &arrow::array::PrimitiveArray<Float64Type>)> =
        [col::OPEN, col::HIGH, col::LOW, col::CLOSE, col::VOLUME]
            .iter()
            .zip(&price_columns)
            .map(|(&c, a)| (field_defs()[c].name, a.as_primitive::<Float64Type>()))
            .collect();
    // Canonical key per dictionary entry, so equal symbols under different dictionary keys
    // compare equal.
    let mut first_key: std::collections::HashMap<&str, i32> = std::collections::HashMap::new();
    let canon: Vec<i32> = (0..symbol_values.len())
        .map(|k| {
            if symbol_values.is_null(k) {
                return k as i32;
            }
            *first_key.entry(symbol_values.value(k)).or_insert(k as i32)
        })
        .collect();
    let mut last_ts: Vec<i64> = vec![i64::MIN; canon.len()];
    let mut ordered = true;
    for row in 0..ts.len() {
        let mut push =
            |column: &'static str, problem| errors.push(RowError { row, column, problem });
        let sym_ok = if symbols.is_null(row) {
            push("symbol", RowProblem::Missing);
            false
        } else if !valid_key.get(symbols.keys().value(row) as usize).copied().unwrap_or(false) {
            push("symbol", RowProblem::InvalidSymbol);
            false
        } else {
            true
        };
        let ts_ok = if ts.is_null(row) {
            push("datetime", RowProblem::Missing);
            false
        } else if !(MIN_TS..MAX_TS).contains(&ts.value(row)) {
            push("datetime", RowProblem::TimestampOutOfRange);
            false
        } else {
            true
        };
        for (name, values) in &prices {
            if values.is_null(row) {
                push(name, RowProblem::Missing);
            } else if !values.value(row).is_finite() {
                push(name, RowProblem::NotFinite);
            }
        }
        if sym_ok && ts_ok && ordered {
            let key = canon[symbols.keys().value(row) as usize] as usize;
            if ts.value(row) > last_ts[key] {
                last_ts[key] = ts.value(row);
            } else {
                ordered = false;
            }
        }
    }
    if !ordered {
        // Timestamps go backwards within a symbol somewhere: check keys exactly.
        let mut seen: HashSet<(i32, i64)> = HashSet::with_capacity(ts.len());
        for row in 0..ts.len() {
            if symbols.is_null(row) || ts.is_null(row) {
                continue;
            }
            let key = canon[symbols.keys().value(row) as usize];
            if !seen.insert((key, ts.value(row))) {
                errors.push(RowError {
                    row,
                    column: "datetime",
                    problem: RowProblem::DuplicateKey,
                });
            }
        }
        errors.sort_by_key(|e| e.row);
    }
    errors
}
