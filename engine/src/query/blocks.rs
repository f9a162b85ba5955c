//! Bulk reads: a scan-local window of decoded rows per segment, in place of the shared
//! decoded-column cache.
//!
//! A symbol-ordered read of many symbols (an export) visits every segment of its range once
//! per symbol, a few rows each time. Through the shared cache that means either holding every
//! segment's decoded columns at once or decoding whole segments again and again once they no
//! longer fit. Segments are sorted by symbol and the scan asks for symbols in name order, so
//! the rows it asks of one segment move forward through the file: here each segment keeps one
//! decoded window of rows starting at the first row asked, sized so that the windows of all
//! segments of the scan fit [`BULK_WINDOW_BYTES`], and a request past the window decodes the
//! next one. Every row is decoded about once, memory is bounded, and the shared cache (what
//! interactive reads rely on) is left alone.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, PrimitiveBuilder, RecordBatch, StringArray,
};
use arrow::compute::concat;
use arrow::datatypes::{
    ArrowDictionaryKeyType, ArrowNativeType, DataType, Int8Type, Int16Type, Int32Type, SchemaRef,
};

use crate::error::{Error, Result};
use crate::segment::SegmentMeta;
use crate::store::Store;

/// Decoded bytes the windows of one bulk scan may hold together (an estimate: 8 bytes per
/// value of each work column).
pub(crate) const BULK_WINDOW_BYTES: usize = 128 << 20;

/// Rows below which a window is not worth a decode of its own.
const MIN_WINDOW_ROWS: usize = 1_024;

/// One segment's decoded rows `[start, start + len)`.
struct Window {
    start: usize,
    len: usize,
    columns: Vec<ArrayRef>,
}

/// The windows of one bulk scan.
pub(crate) struct Windows {
    rows_per_segment: usize,
    held: HashMap<u64, Window>,
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windows")
            .field("rows_per_segment", &self.rows_per_segment)
            .field("segments_held", &self.held.len())
            .finish()
    }
}

impl Windows {
    /// Windows for a scan of `work_columns` columns over `segments` distinct segments.
    pub(crate) fn new(segments: usize, work_columns: usize) -> Self {
        let per_row = 8 * work_columns.max(1);
        let rows_per_segment = (BULK_WINDOW_BYTES / per_row / segments.max(1)).max(MIN_WINDOW_ROWS);
        Self { rows_per_segment, held: HashMap::new() }
    }

    /// The window of `seg`'s `work` columns that holds rows `[start, start + count)`, and
    /// where row `start` is in it; decodes the next window when the rows are not in the
    /// current one.
    pub(crate) fn window(
        &mut self,
        store: &Store,
        seg: &Arc<SegmentMeta>,
        start: usize,
        count: usize,
        work: &[usize],
    ) -> Result<(&[ArrayRef], usize)> {
        let rows = usize::try_from(seg.rows).unwrap_or(usize::MAX);
        let start = start.min(rows);
        let count = count.min(rows - start);
        let hit = self
            .held
            .get(&seg.id)
            .is_some_and(|w| w.start <= start && start + count <= w.start + w.len);
        if !hit {
            // Drop the old window first: its memory is what the budget gives the new one.
            self.held.remove(&seg.id);
            let len = count.max(self.rows_per_segment).min(rows - start);
            let columns = store.segment_reader(seg)?.decode_rows(work, start, len)?;
            self.held.insert(seg.id, Window { start, len, columns });
        }
        let window = &self.held[&seg.id];
        Ok((&window.columns, start - window.start))
    }
}

/// Concatenates one symbol's parts (columns sliced from many segments' windows) into one
/// batch.
///
/// Dictionary columns are rebuilt with a dictionary of just the values the rows use: each
/// slice still carries its whole segment's dictionary (every symbol of the partition), and
/// `concat` would merge those hundreds of dictionaries value by value for every column.
pub(crate) fn concat_symbol(schema: &SchemaRef, parts: &[Vec<ArrayRef>]) -> Result<RecordBatch> {
    let columns = (0..schema.fields().len())
        .map(|c| {
            let parts: Vec<&dyn Array> = parts.iter().map(|p| p[c].as_ref()).collect();
            match schema.field(c).data_type() {
                DataType::Dictionary(k, v) if v.as_ref() == &DataType::Utf8 => match k.as_ref() {
                    DataType::Int8 => rekey::<Int8Type>(&parts),
                    DataType::Int16 => rekey::<Int16Type>(&parts),
                    DataType::Int32 => rekey::<Int32Type>(&parts),
                    _ => Ok(concat(&parts)?),
                },
                _ => Ok(concat(&parts)?),
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// Concatenates string dictionary arrays into one whose dictionary holds only the values its
/// keys use, in first-use order.
fn rekey<K: ArrowDictionaryKeyType>(parts: &[&dyn Array]) -> Result<ArrayRef> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut keys = PrimitiveBuilder::<K>::with_capacity(len);
    let mut values: Vec<&str> = Vec::new();
    let mut index: HashMap<&str, K::Native> = HashMap::new();
    for part in parts {
        let dict = part.as_dictionary::<K>();
        let strings = dict.values().as_string::<i32>();
        // Rows of one symbol repeat a key for long stretches: remember the last mapping.
        let mut last: Option<(K::Native, K::Native)> = None;
        for key in dict.keys() {
            let Some(key) = key else {
                keys.append_null();
                continue;
            };
            let new = match last {
                Some((old, new)) if old == key => new,
                _ => {
                    let value = strings.value(key.as_usize());
                    let new = match index.get(value) {
                        Some(&k) => k,
                        None => {
                            let k = K::Native::from_usize(values.len()).ok_or_else(|| {
                                Error::Corrupt {
                                    reason: format!(
                                        "more than {} distinct values for a dictionary column",
                                        values.len()
                                    ),
                                }
                            })?;
                            values.push(value);
                            index.insert(value, k);
                            k
                        }
                    };
                    last = Some((key, new));
                    new
                }
            };
            keys.append_value(new);
        }
    }
    let values: ArrayRef = Arc::new(StringArray::from(values));
    Ok(Arc::new(DictionaryArray::<K>::try_new(keys.finish(), values)?))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;
    use crate::storage::MemStorage;

    /// A flushed store of 12 symbols x 9 days in one month partition (one segment).
    fn store() -> Store {
        let store = Store::builder_with_storage(Arc::new(MemStorage::new())).open().expect("open");
        let (mut sym, mut ts, mut px) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..12 {
            for d in 0..9i64 {
                sym.push(format!("S{s:02}"));
                ts.push(1_704_067_200_000_000 + d * 86_400_000_000);
                px.push(100.0 + s as f64 + d as f64 / 10.0);
            }
        }
        let tz = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![Field::new("symbol", DataType::Utf8, false)];
        fields.push(Field::new("datetime", tz, false));
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(sym)),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
        ];
        for name in ["open", "high", "low", "close", "volume"] {
            fields.push(Field::new(name, DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from(px.clone())));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch");
        let _ = store.append("stocks_daily", &batch).expect("append");
        store.flush().expect("flush");
        store
    }

    #[test]
    fn sliding_windows_return_the_rows_a_full_decode_has() {
        let store = store();
        let seg = {
            let state = store.inner.state.read();
            let table = &state.version.tables["stocks_daily"];
            assert_eq!(table.segments.len(), 1);
            table.segments.values().next().cloned().expect("segment")
        };
        let work: Vec<usize> = (0..crate::schema::FIELD_COUNT).collect();
        let full =
            store.segment_reader(&seg).expect("reader").columns_uncached(&work).expect("all");
        // Windows of 20 rows over runs of 9: some requests hit, some slide, one straddles.
        let mut windows = Windows { rows_per_segment: 20, held: HashMap::new() };
        for (start, count) in [(0, 9), (9, 9), (18, 9), (27, 9), (36, 9), (99, 9), (100, 50)] {
            let (got, at) = windows.window(&store, &seg, start, count, &work).expect("window");
            let count = count.min(108 - start);
            for (g, f) in got.iter().zip(&full) {
                assert_eq!(
                    g.slice(at, count).to_data(),
                    f.slice(start, count).to_data(),
                    "rows {start}+{count}"
                );
            }
        }
        assert_eq!(windows.held.len(), 1, "one window per segment");
        assert_eq!(store.cache_bytes(), 0, "windows bypass the shared cache");
    }

    #[test]
    fn windows_share_the_budget_and_never_shrink_below_the_minimum() {
        let per_row = 8 * 97;
        assert_eq!(Windows::new(1, 97).rows_per_segment, BULK_WINDOW_BYTES / per_row);
        assert_eq!(Windows::new(4, 97).rows_per_segment, BULK_WINDOW_BYTES / per_row / 4);
        assert_eq!(Windows::new(100_000, 97).rows_per_segment, MIN_WINDOW_ROWS);
        assert_eq!(Windows::new(0, 0).rows_per_segment, BULK_WINDOW_BYTES / 8);
    }
}
