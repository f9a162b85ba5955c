//! The vendor connectors against a local mock server replaying real vendor answers.

mod fallback;
mod faults;
mod futures;
mod mock;
mod vendors;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use chrono::NaiveDate;

/// The `datetime` column as RFC 3339 UTC strings.
/// A `YYYY-MM-DD` date.
pub(crate) fn datetimes(batch: &RecordBatch) -> Vec<String> {
    batch
        .column(1)
        .as_primitive::<TimestampMicrosecondType>()
        .values()
        .iter()
        .map(|t| {
            chrono::DateTime::from_timestamp_micros(*t)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        })
        .collect()
}

/// Column `i` of a Float64 column.
pub(crate) fn f64s(batch: &RecordBatch, i: usize) -> Vec<f64> {
    batch.column(i).as_primitive::<Float64Type>().values().to_vec()
}

/// A `YYYY-MM-DD` date.
pub(crate) fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}
