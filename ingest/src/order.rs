//! Newest-first files (Yahoo exports, CryptoDataDownload, TwelveData dumps): detected from the
//! first batch and emitted oldest first, so the store appends each series in time order
//! instead of recomputing it for every batch that lands before the previous one.
//!
//! A descending file is held until its end: in memory up to [`SPILL_ROWS`] rows, beyond that
//! in an Arrow IPC temp file whose batches are read back in reverse order, so memory stays
//! bounded by one batch plus the in-memory allowance.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, Field, Schema, TimestampMicrosecondType};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;

use crate::collector::bar_schema;
use crate::error::ImportError;

/// Rows of a descending file kept in memory before the rest goes to a temp file.
pub(crate) const SPILL_ROWS: usize = 1 << 20;

/// Whether the timestamps of a batch run newest first: within each symbol, more adjacent
/// steps go down than up.
pub(crate) fn is_descending(batch: &RecordBatch) -> bool {
    let symbols = batch.column(0).as_string::<i32>();
    let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
    let (mut up, mut down) = (0usize, 0usize);
    for i in 1..batch.num_rows() {
        if symbols.value(i) != symbols.value(i - 1) {
            continue;
        }
        match ts.value(i).cmp(&ts.value(i - 1)) {
            std::cmp::Ordering::Greater => up += 1,
            std::cmp::Ordering::Less => down += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
    down > up
}

/// A batch and the source line of each row.
type Lined = (RecordBatch, Vec<u64>);

fn reversed((batch, mut lines): Lined) -> Result<Lined, arrow::error::ArrowError> {
    let n = batch.num_rows() as u32;
    let idx = UInt32Array::from_iter_values((0..n).rev());
    lines.reverse();
    Ok((take_record_batch(&batch, &idx)?, lines))
}

#[derive(Debug)]
enum Mode {
    Undecided,
    InOrder,
    Holding,
    Draining,
}

/// Spilled batches, with the line numbers as an extra column.
struct Spill {
    path: PathBuf,
    writer: Option<FileWriter<BufWriter<File>>>,
    reader: Option<FileReader<File>>,
    next: usize,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill").field("path", &self.path).field("next", &self.next).finish()
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        // A temp file of ours; nothing durable depends on it.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn spill_schema() -> Arc<Schema> {
    let mut fields: Vec<Field> = bar_schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("line", DataType::UInt64, false));
    Arc::new(Schema::new(fields))
}

/// Puts the batches of a file in ascending time order (see the module docs).
#[derive(Debug)]
pub(crate) struct Reorder {
    path: PathBuf,
    mode: Mode,
    /// In-memory batches, already reversed, in arrival order.
    held: Vec<Lined>,
    held_rows: usize,
    spill: Option<Spill>,
    /// The batch handed out last, with its lines.
    ready: Vec<Lined>,
}

impl Reorder {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            mode: Mode::Undecided,
            held: Vec::new(),
            held_rows: 0,
            spill: None,
            ready: Vec::new(),
        }
    }

    /// Whether the file was found newest first.
    pub(crate) fn newest_first(&self) -> bool {
        matches!(self.mode, Mode::Holding | Mode::Draining)
    }

    fn err(&self, line: u64, source: arrow::error::ArrowError) -> ImportError {
        ImportError::Arrow { path: self.path.clone(), line, source }
    }

    fn io(&self, source: std::io::Error) -> ImportError {
        ImportError::Io { path: self.path.clone(), source }
    }

    /// Takes one batch from the reader; returns the batch to emit now, if any.
    pub(crate) fn push(
        &mut self,
        batch: RecordBatch,
        lines: Vec<u64>,
    ) -> Result<Option<Lined>, ImportError> {
        if matches!(self.mode, Mode::Undecided) {
            self.mode = if is_descending(&batch) { Mode::Holding } else { Mode::InOrder };
        }
        if matches!(self.mode, Mode::InOrder) {
            return Ok(Some((batch, lines)));
        }
        let last = lines.last().copied().unwrap_or(0);
        let r = reversed((batch, lines)).map_err(|e| self.err(last, e))?;
        self.held_rows += r.0.num_rows();
        self.held.push(r);
        if self.held_rows > SPILL_ROWS {
            self.spill_held()?;
        }
        Ok(None)
    }

    fn spill_held(&mut self) -> Result<(), ImportError> {
        if self.spill.is_none() {
            let path = std::env::temp_dir().join(format!(
                "candlestore-reorder-{}-{}.arrow",
                std::process::id(),
                uuid_like()
            ));
            let file = File::create(&path).map_err(|e| self.io(e))?;
            let writer = FileWriter::try_new(BufWriter::new(file), &spill_schema())
                .map_err(|e| self.err(0, e))?;
            self.spill = Some(Spill { path, writer: Some(writer), reader: None, next: 0 });
        }
        let held = std::mem::take(&mut self.held);
        self.held_rows = 0;
        for (batch, lines) in held {
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            columns.push(Arc::new(UInt64Array::from(lines)));
            let with_lines =
                RecordBatch::try_new(spill_schema(), columns).map_err(|e| self.err(0, e))?;
            let spill = self.spill.as_mut().and_then(|s| s.writer.as_mut());
            if let Some(w) = spill {
                w.write(&with_lines).map_err(|e| ImportError::Arrow {
                    path: self.path.clone(),
                    line: 0,
                    source: e,
                })?;
            }
        }
        Ok(())
    }

    /// At the end of the input: start handing out the held batches, newest batch first
    /// (each already reversed), so the whole file comes out oldest first.
    pub(crate) fn finish(&mut self) -> Result<(), ImportError> {
        if !matches!(self.mode, Mode::Holding) {
            return Ok(());
        }
        self.mode = Mode::Draining;
        if let Some(spill) = &mut self.spill {
            if let Some(mut w) = spill.writer.take() {
                w.finish().map_err(|e| ImportError::Arrow {
                    path: self.path.clone(),
                    line: 0,
                    source: e,
                })?;
            }
            let file = File::open(&spill.path)
                .map_err(|source| ImportError::Io { path: spill.path.clone(), source })?;
            let reader = FileReader::try_new(file, None).map_err(|e| ImportError::Arrow {
                path: self.path.clone(),
                line: 0,
                source: e,
            })?;
            spill.next = reader.num_batches();
            spill.reader = Some(reader);
        }
        self.ready = std::mem::take(&mut self.held);
        Ok(())
    }

    /// The next held batch to emit while draining.
    pub(crate) fn pop(&mut self) -> Result<Option<Lined>, ImportError> {
        if !matches!(self.mode, Mode::Draining) {
            return Ok(None);
        }
        if let Some(b) = self.ready.pop() {
            return Ok(Some(b));
        }
        let path = self.path.clone();
        let Some(spill) = &mut self.spill else { return Ok(None) };
        let Some(reader) = &mut spill.reader else { return Ok(None) };
        if spill.next == 0 {
            return Ok(None);
        }
        spill.next -= 1;
        let arrow = |e| ImportError::Arrow { path: path.clone(), line: 0, source: e };
        reader.set_index(spill.next).map_err(arrow)?;
        let batch = match reader.next() {
            Some(b) => b.map_err(arrow)?,
            None => return Ok(None),
        };
        let n = batch.num_columns();
        let lines =
            batch.column(n - 1).as_primitive::<arrow::datatypes::UInt64Type>().values().to_vec();
        let bars =
            RecordBatch::try_new(bar_schema(), batch.columns()[..n - 1].to_vec()).map_err(arrow)?;
        Ok(Some((bars, lines)))
    }
}

/// A name part unique within this process.
fn uuid_like() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, StringArray, TimestampMicrosecondArray};

    fn batch(symbols: &[&str], ts: &[i64]) -> RecordBatch {
        let f = |v: f64| Arc::new(Float64Array::from(vec![v; ts.len()])) as ArrayRef;
        RecordBatch::try_new(
            bar_schema(),
            vec![
                Arc::new(StringArray::from(symbols.to_vec())),
                Arc::new(TimestampMicrosecondArray::from(ts.to_vec()).with_timezone("UTC")),
                f(1.0),
                f(2.0),
                f(0.5),
                f(1.5),
                f(10.0),
            ],
        )
        .unwrap()
    }

    fn ts_of(b: &RecordBatch) -> Vec<i64> {
        b.column(1).as_primitive::<TimestampMicrosecondType>().values().to_vec()
    }

    #[test]
    fn detects_direction_per_symbol() {
        assert!(is_descending(&batch(&["A", "A", "A"], &[3, 2, 1])));
        assert!(!is_descending(&batch(&["A", "A", "A"], &[1, 2, 3])));
        // Two ascending symbols one after the other: the step between them does not count.
        assert!(!is_descending(&batch(&["B", "B", "A", "A"], &[5, 6, 1, 2])));
        assert!(!is_descending(&batch(&["A"], &[1])));
    }

    fn drain(r: &mut Reorder, input: Vec<Lined>) -> Vec<Lined> {
        let mut out = Vec::new();
        for (b, l) in input {
            out.extend(r.push(b, l).unwrap());
        }
        r.finish().unwrap();
        while let Some(b) = r.pop().unwrap() {
            out.push(b);
        }
        out
    }

    #[test]
    fn newest_first_batches_come_out_oldest_first_with_their_lines() {
        let mut r = Reorder::new(Path::new("f.csv"));
        let out = drain(
            &mut r,
            vec![
                (batch(&["A", "A"], &[40, 30]), vec![2, 3]),
                (batch(&["A", "A"], &[20, 10]), vec![4, 5]),
            ],
        );
        assert!(r.newest_first());
        let ts: Vec<i64> = out.iter().flat_map(|(b, _)| ts_of(b)).collect();
        let lines: Vec<u64> = out.iter().flat_map(|(_, l)| l.clone()).collect();
        assert_eq!(ts, [10, 20, 30, 40]);
        assert_eq!(lines, [5, 4, 3, 2]);
    }

    #[test]
    fn ascending_files_pass_through() {
        let mut r = Reorder::new(Path::new("f.csv"));
        let out = drain(
            &mut r,
            vec![(batch(&["A", "A"], &[1, 2]), vec![2, 3]), (batch(&["A"], &[3]), vec![4])],
        );
        assert!(!r.newest_first());
        assert_eq!(out.len(), 2);
        assert_eq!(ts_of(&out[0].0), [1, 2]);
    }

    #[test]
    fn large_descending_files_spill_and_read_back_in_order() {
        let mut r = Reorder::new(Path::new("f.csv"));
        let n = 3 * SPILL_ROWS as i64 / 2;
        let chunk = 1 << 16;
        let mut input = Vec::new();
        let mut t = n;
        let mut line = 1u64;
        while t > 0 {
            let k = chunk.min(t);
            let ts: Vec<i64> = (0..k).map(|i| t - i).collect();
            let lines: Vec<u64> = (0..k as u64).map(|i| line + i).collect();
            line += k as u64;
            t -= k;
            input.push((batch(&vec!["A"; k as usize], &ts), lines));
        }
        let out = drain(&mut r, input);
        assert!(r.spill.is_some(), "more than SPILL_ROWS rows went to the temp file");
        let ts: Vec<i64> = out.iter().flat_map(|(b, _)| ts_of(b)).collect();
        assert_eq!(ts.len() as i64, n);
        assert!(ts.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(out[0].1[0], n as u64, "the oldest row was the file's last line");
        let path = r.spill.as_ref().unwrap().path.clone();
        drop(r);
        assert!(!path.exists(), "the temp file is removed");
    }
}
