//! Builders shared by the store tests.

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit};
use candlestore::{MemStorage, Store};

pub(crate) const DAY: i64 = 86_400_000_000;
/// 2024-01-01T00:00:00Z in µs.
pub(crate) const JAN1_2024: i64 = 1_704_067_200_000_000;

pub(crate) fn ohlcv_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, true),
        Field::new(
            "datetime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("open", DataType::Float64, true),
        Field::new("high", DataType::Float64, true),
        Field::new("low", DataType::Float64, true),
        Field::new("close", DataType::Float64, true),
        Field::new("volume", DataType::Float64, true),
    ]))
}

pub(crate) fn bars(rows: &[(impl AsRef<str>, i64, f64)]) -> RecordBatch {
    let symbols: StringArray = rows.iter().map(|r| Some(r.0.as_ref())).collect();
    let ts = TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .with_timezone("UTC");
    let close: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let col = |f: &dyn Fn(f64) -> f64| {
        Arc::new(Float64Array::from(close.iter().map(|&c| f(c)).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        ohlcv_schema(),
        vec![
            Arc::new(symbols),
            Arc::new(ts),
            col(&|c| c - 0.5),
            col(&|c| c + 1.0),
            col(&|c| c - 1.0),
            col(&|c| c),
            col(&|c| (c * 100.0).round()),
        ],
    )
    .expect("bars batch")
}

pub(crate) fn mem_store(storage: &MemStorage) -> Store {
    Store::builder_with_storage(Arc::new(storage.clone())).open().expect("open mem store")
}

/// (symbol, datetime, close) of every row a scan returns, in order.
pub(crate) fn rows_of(batches: &[RecordBatch]) -> Vec<(String, i64, f64)> {
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        let sym = arrow::compute::cast(
            b.column(schema.index_of("symbol").expect("symbol")),
            &DataType::Utf8,
        )
        .expect("cast");
        let sym = sym.as_string::<i32>();
        let ts = b
            .column(schema.index_of("datetime").expect("datetime"))
            .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let close =
            b.column(schema.index_of("close").expect("close")).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            assert!(sym.is_valid(i));
            out.push((sym.value(i).to_owned(), ts.value(i), close.value(i)));
        }
    }
    out
}
