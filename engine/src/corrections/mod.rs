//! The corrections log: one record per changed field of a revised row, kept forever (it is
//! also what `as_of` scans replay backwards).

use std::sync::{Arc, OnceLock};

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray, StringDictionaryBuilder,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};

use crate::error::{Error, Result};

/// One changed field of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// Table name.
    pub table: String,
    /// Symbol of the row.
    pub symbol: String,
    /// `datetime` of the row (µs, UTC).
    pub datetime: i64,
    /// The field that changed.
    pub field: String,
    /// Its previous value as text (null = None).
    pub old_value: Option<String>,
    /// Its new value as text.
    pub new_value: Option<String>,
    /// Revision before the change.
    pub old_revision: i32,
    /// Revision after the change.
    pub new_revision: i32,
    /// When the change was written (engine clock, µs UTC).
    pub corrected_at: i64,
    /// Ingest batch that made the change.
    pub batch_id: String,
}

/// Arrow schema of the corrections log (and of its Parquet files).
pub fn corrections_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
            let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            Arc::new(Schema::new(vec![
                Field::new("table", dict(), false),
                Field::new("symbol", dict(), false),
                Field::new("datetime", ts.clone(), false),
                Field::new("field", dict(), false),
                Field::new("old_value", DataType::Utf8, true),
                Field::new("new_value", DataType::Utf8, true),
                Field::new("old_revision", DataType::Int32, false),
                Field::new("new_revision", DataType::Int32, false),
                Field::new("corrected_at", ts, false),
                Field::new("batch_id", dict(), false),
            ]))
        })
        .clone()
}

fn dict(values: impl Iterator<Item = String>) -> ArrayRef {
    let mut b = StringDictionaryBuilder::<Int32Type>::new();
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

/// Encodes corrections as a batch of [`corrections_schema`].
pub(crate) fn to_batch(rows: &[Correction]) -> Result<RecordBatch> {
    let ts = |f: &dyn Fn(&Correction) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(f)).with_timezone("UTC"),
        )
    };
    let columns: Vec<ArrayRef> = vec![
        dict(rows.iter().map(|r| r.table.clone())),
        dict(rows.iter().map(|r| r.symbol.clone())),
        ts(&|r| r.datetime),
        dict(rows.iter().map(|r| r.field.clone())),
        Arc::new(rows.iter().map(|r| r.old_value.as_deref()).collect::<StringArray>()),
        Arc::new(rows.iter().map(|r| r.new_value.as_deref()).collect::<StringArray>()),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.old_revision))),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.new_revision))),
        ts(&|r| r.corrected_at),
        dict(rows.iter().map(|r| r.batch_id.clone())),
    ];
    Ok(RecordBatch::try_new(corrections_schema(), columns)?)
}

/// Decodes a batch of [`corrections_schema`].
pub(crate) fn from_batch(batch: &RecordBatch) -> Result<Vec<Correction>> {
    if batch.schema().fields() != corrections_schema().fields() {
        return Err(Error::Corrupt { reason: "corrections file has an unexpected schema".into() });
    }
    let d = |c: usize| {
        let a = batch.column(c).as_dictionary::<Int32Type>();
        let v = a.values().as_string::<i32>().clone();
        (a.keys().clone(), v)
    };
    let (table_k, table_v) = d(0);
    let (sym_k, sym_v) = d(1);
    let (field_k, field_v) = d(3);
    let (batch_k, batch_v) = d(9);
    let dt = batch.column(2).as_primitive::<TimestampMicrosecondType>();
    let old = batch.column(4).as_string::<i32>();
    let new = batch.column(5).as_string::<i32>();
    let old_rev = batch.column(6).as_primitive::<Int32Type>();
    let new_rev = batch.column(7).as_primitive::<Int32Type>();
    let at = batch.column(8).as_primitive::<TimestampMicrosecondType>();
    let s = |v: &StringArray, k: i32| v.value(k as usize).to_owned();
    Ok((0..batch.num_rows())
        .map(|i| Correction {
            table: s(&table_v, table_k.value(i)),
            symbol: s(&sym_v, sym_k.value(i)),
            datetime: dt.value(i),
            field: s(&field_v, field_k.value(i)),
            old_value: old.is_valid(i).then(|| old.value(i).to_owned()),
            new_value: new.is_valid(i).then(|| new.value(i).to_owned()),
            old_revision: old_rev.value(i),
            new_revision: new_rev.value(i),
            corrected_at: at.value(i),
            batch_id: s(&batch_v, batch_k.value(i)),
        })
        .collect())
}

/// Encodes a corrections batch as a Parquet file.
pub(crate) fn encode_parquet(
    batch: &RecordBatch,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buf = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(buf)
}

/// Decodes a corrections Parquet file.
pub(crate) fn decode_parquet(
    bytes: bytes::Bytes,
) -> Result<Vec<Correction>, parquet::errors::ParquetError> {
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        out.extend(
            from_batch(&batch)
                .map_err(|e| parquet::errors::ParquetError::General(e.to_string()))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_roundtrip() {
        let rows = vec![
            Correction {
                table: "stocks_daily".into(),
                symbol: "AAPL".into(),
                datetime: 1,
                field: "close".into(),
                old_value: Some("1.5".into()),
                new_value: Some("1.75".into()),
                old_revision: 1,
                new_revision: 2,
                corrected_at: 99,
                batch_id: "b1".into(),
            },
            Correction {
                table: "stocks_daily".into(),
                symbol: "AAPL".into(),
                datetime: 1,
                field: "sector".into(),
                old_value: None,
                new_value: Some("Technology".into()),
                old_revision: 1,
                new_revision: 2,
                corrected_at: 99,
                batch_id: "b1".into(),
            },
        ];
        let batch = to_batch(&rows).expect("encode");
        assert_eq!(from_batch(&batch).expect("decode"), rows);
    }
}
