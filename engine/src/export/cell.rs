//! Cells of a batch as the text formats see them.

use std::borrow::Cow;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DictionaryArray, Float64Array, Int8Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{ArrowDictionaryKeyType, DataType, Int8Type, Int32Type, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::export::error::{ExportError, Result};

/// Resolves every column of `batch` once (the text writers then look cells up per row).
pub(crate) fn columns<'a>(
    batch: &'a RecordBatch,
    options: &'a FormatOptions<'a>,
    format: &'static str,
) -> Result<Vec<Column<'a>>> {
    batch.columns().iter().map(|a| Column::new(a, options, format)).collect()
}

/// One cell, typed just enough for the text formats.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell<'a> {
    /// Null.
    Null,
    /// A string (quoted as needed by the format).
    Text(Cow<'a, str>),
    /// A float (written as Python repr).
    Float(f64),
    /// An integer (written in decimal).
    Int(i64),
    /// A timestamp, µs UTC (written as F4 text).
    Time(i64),
    /// A boolean.
    Bool(bool),
}

/// A column resolved once per batch, so each cell is a cheap lookup.
pub(crate) enum Column<'a> {
    Timestamp(&'a TimestampMicrosecondArray),
    Float(&'a Float64Array),
    Bool(&'a BooleanArray),
    Int8(&'a Int8Array),
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Utf8(&'a StringArray),
    Dict32(&'a DictionaryArray<Int32Type>, &'a StringArray),
    Dict8(&'a DictionaryArray<Int8Type>, &'a StringArray),
    Other(&'a ArrayRef, ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
    pub(crate) fn new(
        array: &'a ArrayRef,
        options: &'a FormatOptions<'a>,
        format: &'static str,
    ) -> Result<Self> {
        Ok(match array.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Column::Timestamp(array.as_primitive())
            }
            DataType::Float64 => Column::Float(array.as_primitive()),
            DataType::Boolean => Column::Bool(array.as_boolean()),
            DataType::Int8 => Column::Int8(array.as_primitive()),
            DataType::Int32 => Column::Int32(array.as_primitive()),
            DataType::Int64 => Column::Int64(array.as_primitive()),
            DataType::Utf8 => Column::Utf8(array.as_string()),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = array.as_dictionary::<Int32Type>();
                Column::Dict32(d, d.values().as_string())
            }
            DataType::Dictionary(k, v) if **k == DataType::Int8 && **v == DataType::Utf8 => {
                let d = array.as_dictionary::<Int8Type>();
                Column::Dict8(d, d.values().as_string())
            }
            _ => Column::Other(
                array,
                ArrayFormatter::try_new(array.as_ref(), options)
                    .map_err(|source| ExportError::Arrow { format, source })?,
            ),
        })
    }

    pub(crate) fn cell(&self, row: usize) -> Cell<'a> {
        fn dict<'a, K: ArrowDictionaryKeyType>(
            d: &DictionaryArray<K>,
            values: &'a StringArray,
            row: usize,
        ) -> Cell<'a>
        where
            K::Native: TryInto<usize>,
        {
            match d.keys().is_valid(row).then(|| d.keys().value(row).try_into().ok()).flatten() {
                Some(k) if k < values.len() && values.is_valid(k) => {
                    Cell::Text(Cow::Borrowed(values.value(k)))
                }
                _ => Cell::Null,
            }
        }
        match self {
            Column::Timestamp(a) => nullable(*a, row, |a| Cell::Time(a.value(row))),
            Column::Float(a) => nullable(*a, row, |a| Cell::Float(a.value(row))),
            Column::Bool(a) => nullable(*a, row, |a| Cell::Bool(a.value(row))),
            Column::Int8(a) => nullable(*a, row, |a| Cell::Int(i64::from(a.value(row)))),
            Column::Int32(a) => nullable(*a, row, |a| Cell::Int(i64::from(a.value(row)))),
            Column::Int64(a) => nullable(*a, row, |a| Cell::Int(a.value(row))),
            Column::Utf8(a) => nullable(*a, row, |a| Cell::Text(Cow::Borrowed(a.value(row)))),
            Column::Dict32(d, v) => dict(d, v, row),
            Column::Dict8(d, v) => dict(d, v, row),
            Column::Other(a, f) => {
                if a.is_null(row) {
                    Cell::Null
                } else {
                    Cell::Text(Cow::Owned(f.value(row).to_string()))
                }
            }
        }
    }
}

fn nullable<'a, A: Array>(a: &'a A, row: usize, f: impl FnOnce(&'a A) -> Cell<'a>) -> Cell<'a> {
    if a.is_null(row) { Cell::Null } else { f(a) }
}
