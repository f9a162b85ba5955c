//! Reads columns of a segment from its mapped bytes, through the decoded-column cache.
//!
//! A reader stays open as long as its segment is live, but holds none of the file's pages
//! resident between reads: verifying and every decode give the mapping's pages back
//! (`FileBytes::release_resident`), so a read of every segment (an export) does not leave
//! the whole store counted in the process's resident set.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::compute::concat;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::file::metadata::PageIndexPolicy;

use super::{ColumnCache, SegmentMeta};
use crate::error::{Error, Result, SegmentError};
use crate::schema::row_schema;
use crate::storage::FileBytes;

/// An open segment: its verified bytes and parsed Parquet footer.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    meta: Arc<SegmentMeta>,
    display_path: PathBuf,
    file: FileBytes,
    parquet: ArrowReaderMetadata,
    /// Columns stored (97 for version 1, 99 for version 2); columns of the row schema past
    /// them read as null.
    stored: usize,
}

impl SegmentReader {
    /// Verifies `file` against the manifest's size and checksum and parses the footer.
    pub(crate) fn open(
        meta: Arc<SegmentMeta>,
        display_path: PathBuf,
        file: FileBytes,
    ) -> Result<Self> {
        let result = Self::open_verified(meta, display_path, file.clone());
        // The checksum read every page.
        release(&file);
        result
    }

    fn open_verified(
        meta: Arc<SegmentMeta>,
        display_path: PathBuf,
        file: FileBytes,
    ) -> Result<Self> {
        let bytes = file.bytes();
        if bytes.len() as u64 != meta.bytes {
            return Err(SegmentError::SizeMismatch {
                path: display_path,
                expected: meta.bytes,
                got: bytes.len() as u64,
            }
            .into());
        }
        let got = crc32c::crc32c(bytes);
        if got != meta.crc32c {
            return Err(SegmentError::ChecksumMismatch {
                path: display_path,
                expected: meta.crc32c,
                got,
            }
            .into());
        }
        // The offset index lets a row-range read (`decode_rows`) skip pages outside its range
        // without decompressing them.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let parquet = ArrowReaderMetadata::load(bytes, options)
            .map_err(|source| SegmentError::Parquet { path: display_path.clone(), source })?;
        let version = parquet
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == "candlestore.format_version"))
            .and_then(|k| k.value.as_deref())
            .and_then(|v| v.parse::<u32>().ok());
        let version = match version {
            Some(v) if (super::SEGMENT_V1..=super::SEGMENT_FORMAT_VERSION).contains(&v) => v,
            found => {
                return Err(SegmentError::Schema {
                    path: display_path,
                    reason: format!(
                        "segment format version {found:?} is not readable by this build (reads 1..={})",
                        super::SEGMENT_FORMAT_VERSION
                    ),
                }
                .into());
            }
        };
        let stored = super::columns_of(version);
        let schema = parquet.schema();
        let expected = row_schema();
        if schema.fields().len() != stored
            || schema
                .fields()
                .iter()
                .zip(expected.fields())
                .any(|(a, b)| a.name() != b.name() || a.data_type() != b.data_type())
        {
            return Err(SegmentError::Schema {
                path: display_path,
                reason: format!(
                    "columns differ from the first {stored} of the bar schema (format version {version})"
                ),
            }
            .into());
        }
        Ok(Self { meta, display_path, file, parquet, stored })
    }

    /// The full columns `cols` (schema positions), decoded once and then served from `cache`.
    pub(crate) fn columns(&self, cols: &[usize], cache: &ColumnCache) -> Result<Vec<ArrayRef>> {
        let mut out: Vec<Option<ArrayRef>> =
            cols.iter().map(|&c| cache.get(self.meta.id, c)).collect();
        let missing: Vec<usize> =
            cols.iter().zip(&out).filter(|(_, a)| a.is_none()).map(|(&c, _)| c).collect();
        if !missing.is_empty() {
            let decoded = self.decode(&missing)?;
            for (c, array) in missing.iter().zip(decoded) {
                cache.insert(self.meta.id, *c, array.clone());
                for (slot, &want) in out.iter_mut().zip(cols) {
                    if want == *c && slot.is_none() {
                        *slot = Some(array.clone());
                    }
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Decodes columns without going through (or filling) the cache: for one-off bulk reads
    /// such as compaction, which would otherwise evict what readers use.
    pub(crate) fn columns_uncached(&self, cols: &[usize]) -> Result<Vec<ArrayRef>> {
        self.decode(cols)
    }

    /// Decodes rows `[start, start + len)` of columns `cols` (schema positions), without the
    /// cache. With the page index loaded the reader skips whole pages outside the range
    /// instead of decompressing them, so a narrow range costs its own pages only.
    pub(crate) fn decode_rows(
        &self,
        cols: &[usize],
        start: usize,
        len: usize,
    ) -> Result<Vec<ArrayRef>> {
        let rows = usize::try_from(self.meta.rows).unwrap_or(usize::MAX);
        if start.checked_add(len).is_none_or(|end| end > rows) {
            return Err(Error::Corrupt {
                reason: format!(
                    "segment {}: rows {start}..{} asked of {rows}",
                    self.display_path.display(),
                    start.saturating_add(len)
                ),
            });
        }
        let selection =
            RowSelection::from(vec![RowSelector::skip(start), RowSelector::select(len)]);
        self.decode_selected(cols, Some(selection), len)
    }

    fn decode(&self, cols: &[usize]) -> Result<Vec<ArrayRef>> {
        let rows = usize::try_from(self.meta.rows).unwrap_or(usize::MAX);
        self.decode_selected(cols, None, rows)
    }

    /// Decodes `cols` (all rows, or `selection`), checking that each has `expect` rows, and
    /// gives the pages it read back.
    fn decode_selected(
        &self,
        cols: &[usize],
        selection: Option<RowSelection>,
        expect: usize,
    ) -> Result<Vec<ArrayRef>> {
        let result = self.decode_mapped(cols, selection, expect);
        release(&self.file);
        result
    }

    fn decode_mapped(
        &self,
        cols: &[usize],
        selection: Option<RowSelection>,
        expect: usize,
    ) -> Result<Vec<ArrayRef>> {
        if cols.iter().any(|&c| c >= self.stored) {
            // Columns this segment predates (the extras of a version 1 segment): null.
            let stored: Vec<usize> = cols.iter().copied().filter(|&c| c < self.stored).collect();
            let decoded = if stored.is_empty() {
                Vec::new()
            } else {
                self.decode_mapped(&stored, selection, expect)?
            };
            let mut decoded = decoded.into_iter();
            return cols
                .iter()
                .map(|&c| {
                    if c < self.stored {
                        decoded.next().ok_or_else(|| Error::Corrupt {
                            reason: format!("column {c} missing from decoded projection"),
                        })
                    } else {
                        Ok(arrow::array::new_null_array(row_schema().field(c).data_type(), expect))
                    }
                })
                .collect();
        }
        let mut sorted = cols.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mask = ProjectionMask::roots(
            self.parquet.metadata().file_metadata().schema_descr(),
            sorted.iter().copied(),
        );
        let parquet_err = |source| -> Error {
            SegmentError::Parquet { path: self.display_path.clone(), source }.into()
        };
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
            self.file.bytes().clone(),
            self.parquet.clone(),
        )
        .with_projection(mask)
        .with_batch_size(expect.max(1));
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection);
        }
        let reader = builder.build().map_err(parquet_err)?;
        let mut batches = Vec::new();
        for batch in reader {
            batches.push(batch?);
        }
        // The projected batch holds the columns in schema order.
        let mut arrays = Vec::with_capacity(cols.len());
        for &c in cols {
            let pos = sorted.binary_search(&c).map_err(|_| Error::Corrupt {
                reason: format!("column {c} missing from decoded projection"),
            })?;
            let parts: Vec<&dyn arrow::array::Array> =
                batches.iter().map(|b| b.column(pos).as_ref()).collect();
            let array = match parts.len() {
                0 => arrow::array::new_empty_array(row_schema().field(c).data_type()),
                1 => batches[0].column(pos).clone(),
                _ => concat(&parts)?,
            };
            if array.len() != expect {
                return Err(Error::Corrupt {
                    reason: format!(
                        "segment {}: column {c} decoded {} rows, expected {expect} (manifest: {} rows)",
                        self.display_path.display(),
                        array.len(),
                        self.meta.rows
                    ),
                });
            }
            arrays.push(array);
        }
        Ok(arrays)
    }
}

#[cfg(all(test, target_os = "linux"))]
impl SegmentReader {
    /// The resident size of the segment's mapping, `None` when it is not mapped.
    pub(crate) fn resident_kib(&self) -> Option<u64> {
        if !self.file.is_mapped() {
            return None;
        }
        crate::storage::resident_kib(self.file.bytes())
    }
}

/// Gives a segment's resident pages back. Advisory: if the kernel refuses, the pages stay
/// resident until it reclaims them, which costs memory, not correctness.
fn release(file: &FileBytes) {
    let _ = file.release_resident();
}
