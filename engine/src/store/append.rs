//! Appending bars: conform, validate, upsert against the current state, log, then make the
//! rows visible in the memtable.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{Field, Int32Type, Schema, TimestampMicrosecondType};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;

use super::lookup::Lookup;
use super::{Store, SymbolMeta};
use crate::error::{Error, Result, RowError};
use crate::schema::{COLUMN_COUNT, col};
use crate::symbols::fill::{fill_from_master, mark_origin};
use crate::table::TableName;
use crate::wal::{Durability, Lsn};
use crate::write::{Applied, InvalidRows, Normalized, WriteContext, apply, conform, validate};

/// Options of one append.
#[derive(Debug, Clone, Default)]
pub struct AppendOptions {
    /// Persist mode; `None` uses the store's default.
    pub durability: Option<Durability>,
    /// What to do with invalid rows (default: reject the batch).
    pub invalid_rows: InvalidRows,
    /// `source` for rows whose batch has no `source` column (default `"api"`).
    pub source: Option<String>,
    /// Ingest batch id recorded in `batch_id` and the corrections log (default: a new UUIDv7).
    pub batch_id: Option<String>,
}

impl AppendOptions {
    /// Sets the persist mode.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = Some(durability);
        self
    }

    /// Sets the invalid-row policy.
    pub fn with_invalid_rows(mut self, policy: InvalidRows) -> Self {
        self.invalid_rows = policy;
        self
    }

    /// Sets the default `source`.
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Sets the batch id.
    pub fn with_batch_id(mut self, batch_id: impl Into<String>) -> Self {
        self.batch_id = Some(batch_id.into());
        self
    }
}

/// What an append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct AppendReport {
    /// New keys written at revision 1.
    pub inserted: usize,
    /// Existing keys rewritten with changed values (revision + 1).
    pub revised: usize,
    /// Existing keys whose values were identical (nothing written).
    pub unchanged: usize,
    /// Other stored bars rewritten (revision + 1) because the append changed their series'
    /// history (a corrected or back-filled bar) and so their derived fields.
    pub recomputed: usize,
    /// Rows skipped as invalid (only with [`InvalidRows::Skip`]).
    pub rejected: Vec<RowError>,
    /// Rows of this append (inserted or revised) stored with `is_validated = false`: they
    /// failed an F3.16 check (OHLC inconsistency, price gap, volume anomaly, ...).
    pub flagged: usize,
    /// The first [`MAX_FLAGGED_KEPT`] flagged rows, in the order written.
    pub flagged_rows: Vec<FlaggedRow>,
    /// Batch id of the write.
    pub batch_id: String,
    /// WAL position of the write (`None` if nothing was written).
    pub lsn: Option<u64>,
}

/// How many [`FlaggedRow`]s an [`AppendReport`] keeps; `flagged` keeps counting.
pub const MAX_FLAGGED_KEPT: usize = 20;

/// A row stored with `is_validated = false`, and why (its `validation_notes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedRow {
    /// The symbol.
    pub symbol: String,
    /// The bar's `datetime` (µs UTC).
    pub datetime: i64,
    /// The failed checks, as in `validation_notes`.
    pub notes: String,
}

const RECORD_APPEND: u8 = 1;
/// Longest `batch_id` or `source` accepted (the WAL record stores u16 lengths).
const MAX_LABEL_BYTES: usize = 1024;

/// A decoded WAL payload.
#[derive(Debug)]
pub(crate) struct AppendRecord {
    pub(crate) table: String,
    pub(crate) batch_id: String,
    pub(crate) now: i64,
    pub(crate) source: String,
    pub(crate) batch: RecordBatch,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Payload layout (format-spec/wal.md): kind u8 = 1, table, batch id (u16 length + UTF-8
/// each), now i64, source (u16 + UTF-8), then an Arrow IPC stream of the provided columns.
pub(crate) fn encode_record(
    table: &str,
    batch_id: &str,
    now: i64,
    source: &str,
    batch: &RecordBatch,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + batch.get_array_memory_size());
    out.push(RECORD_APPEND);
    put_str(&mut out, table);
    put_str(&mut out, batch_id);
    out.extend_from_slice(&now.to_le_bytes());
    put_str(&mut out, source);
    let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    Ok(out)
}

struct RecordCursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> RecordCursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self.bytes.get(self.pos..self.pos + n).ok_or_else(|| record_error("truncated"))?;
        self.pos += n;
        Ok(s)
    }

    fn string(&mut self) -> Result<String> {
        let len = self.take(2)?;
        let len = u16::from_le_bytes([len[0], len[1]]) as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| record_error("invalid UTF-8"))
    }

    fn i64(&mut self) -> Result<i64> {
        let b = self.take(8)?;
        Ok(i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }
}

fn record_error(reason: &str) -> Error {
    Error::Corrupt { reason: format!("WAL record: {reason}") }
}

pub(crate) fn decode_record(bytes: &[u8]) -> Result<AppendRecord> {
    let mut cur = RecordCursor { bytes, pos: 0 };
    if cur.take(1)?[0] != RECORD_APPEND {
        return Err(record_error("unknown record kind"));
    }
    let table = cur.string()?;
    let batch_id = cur.string()?;
    let now = cur.i64()?;
    let source = cur.string()?;
    let rest = bytes.get(cur.pos..).ok_or_else(|| record_error("truncated"))?;
    // The payload passed its crc, but arrow's IPC reader can panic on malformed input rather
    // than return an error; a bad record must be refused, never crash the open.
    let decoded = std::panic::catch_unwind(|| -> Result<RecordBatch> {
        let mut reader = StreamReader::try_new(Cursor::new(rest), None)?;
        reader.next().ok_or_else(|| record_error("no batch"))?.map_err(Error::from)
    });
    let batch = match decoded {
        Ok(result) => result?,
        Err(_) => return Err(record_error("malformed Arrow IPC payload")),
    };
    Ok(AppendRecord { table, batch_id, now, source, batch })
}

/// The provided columns only (what the WAL stores).
fn provided_columns(input: &Normalized) -> Result<RecordBatch> {
    let schema = input.batch.schema();
    let (fields, columns): (Vec<Field>, Vec<_>) = (0..COLUMN_COUNT)
        .filter(|&c| input.provided[c])
        .map(|c| {
            let field = mark_origin(schema.field(c).clone(), input.from_master[c]);
            (field, input.batch.column(c).clone())
        })
        .unzip();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

impl Store {
    /// Appends bars to `table` (upserting by (symbol, datetime)) with default options: the
    /// store's persist mode, and the whole batch rejected if any row is invalid.
    pub fn append(&self, table: &str, batch: &RecordBatch) -> Result<AppendReport> {
        self.append_with(table, batch, &AppendOptions::default())
    }

    /// Appends bars with explicit options. The batch may carry any subset of the 97 columns
    /// (by name, castable types), for a crypto table also `funding_rate` and `open_interest`
    /// ([`Error::NotInTable`] for another table), and must carry symbol, datetime and OHLCV. Store-owned
    /// lineage columns (created_at, updated_at, revision, computed_at, batch_id) are assigned
    /// here. Returns once the rows are visible to scans and, under
    /// [`Durability::Durable`], fsync'd.
    pub fn append_with(
        &self,
        table: &str,
        batch: &RecordBatch,
        options: &AppendOptions,
    ) -> Result<AppendReport> {
        self.check_writable()?;
        TableName::new(table)?;
        let mut input = conform(batch)?;
        check_extras(table, &input)?;
        ignore_computed(&mut input);
        let errors = validate(&input.batch);
        let mut rejected = Vec::new();
        if !errors.is_empty() {
            match options.invalid_rows {
                InvalidRows::Reject => return Err(Error::InvalidRows { rows: errors }),
                InvalidRows::Skip => {
                    let mut keep = vec![true; input.batch.num_rows()];
                    for e in &errors {
                        keep[e.row] = false;
                    }
                    input.batch = filter_record_batch(&input.batch, &BooleanArray::from(keep))?;
                    rejected = errors;
                }
            }
        }
        // The master as of this call; a concurrent upsert_symbols applies to later appends.
        let master = self.inner.symbols.read().clone();
        fill_from_master(&mut input, &master)?;
        let batch_id = options.batch_id.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut report =
            AppendReport { rejected, batch_id: batch_id.clone(), ..Default::default() };
        if input.batch.num_rows() == 0 {
            return Ok(report);
        }
        let source = options.source.as_deref().unwrap_or("api");
        for (option, value) in [("batch_id", batch_id.as_str()), ("source", source)] {
            if value.is_empty() || value.len() > MAX_LABEL_BYTES {
                return Err(Error::InvalidOption {
                    option,
                    reason: format!("must be 1 to {MAX_LABEL_BYTES} bytes, got {}", value.len()),
                });
            }
        }
        let wal_batch = provided_columns(&input)?;
        let durability = options.durability.unwrap_or(self.inner.options.durability);
        let lsn = {
            let _write = self.inner.write_lock.lock();
            let now = self.inner.clock.now_micros();
            {
                let mut state = self.inner.state.write();
                Store::resolve_table(&mut state, table)?;
            }
            let ctx = WriteContext { table, now, batch_id: &batch_id, source };
            let applied = self.apply_to_state(table, &input, &ctx)?;
            let (applied, states) = self.derive(table, applied, &ctx)?;
            report.inserted = applied.inserted;
            report.revised = applied.revised;
            report.unchanged = applied.unchanged;
            report.recomputed = applied.recomputed;
            if applied.batch.num_rows() == 0 {
                return Ok(report);
            }
            note_flagged(&mut report, &applied.batch, applied.recomputed, &input.batch);
            let record = encode_record(table, &batch_id, now, source, &wal_batch)?;
            let wal = self.inner.wal.get().ok_or(Error::ReadOnly)?;
            let lsn = wal.append(&record)?;
            self.install_applied(table, applied, states, now)?;
            lsn
        };
        if durability == Durability::Durable {
            self.inner.wal.get().ok_or(Error::ReadOnly)?.sync(lsn)?;
        }
        report.lsn = Some(lsn.0);
        self.maybe_flush()?;
        Ok(report)
    }

    /// Runs the upsert rule against the current state (caller holds the write lock).
    pub(crate) fn apply_to_state(
        &self,
        table: &str,
        input: &Normalized,
        ctx: &WriteContext<'_>,
    ) -> Result<Applied> {
        let state = self.inner.state.read();
        let table_state = state
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?;
        let version = state.version.tables.get(table).cloned();
        let mut lookup = Lookup::new(self, table_state, version.as_deref());
        apply(input, &mut lookup, ctx)
    }

    /// Makes applied rows visible (caller holds the write lock).
    pub(crate) fn install_applied(
        &self,
        table: &str,
        applied: Applied,
        states: super::derive::NewStates,
        now: i64,
    ) -> Result<()> {
        // The table exists: the upsert rule ran against it.
        let partitioning = self
            .inner
            .state
            .read()
            .tables
            .get(table)
            .ok_or_else(|| Error::UnknownTable { table: table.to_owned() })?
            .spec
            .timeframe
            .partitioning();
        // Outside the state lock: readers are not held up by the reorder.
        let (batch, keys) =
            crate::memtable::partition_major(applied.batch, applied.keys, partitioning)?;
        let mut state = self.inner.state.write();
        let t = Store::resolve_table(&mut state, table)?;
        update_symbols(&mut t.symbols, &batch);
        if !states.is_empty() {
            let kernels = Arc::make_mut(&mut t.kernels);
            kernels.extend(states);
        }
        t.active.insert(batch, &keys, now);
        t.pending_corrections.extend(applied.corrections);
        Ok(())
    }

    /// Replays one WAL frame during recovery.
    pub(crate) fn replay_record(&self, lsn: Lsn, payload: &[u8]) -> Result<()> {
        let record = decode_record(payload)
            .map_err(|e| Error::Corrupt { reason: format!("WAL frame {lsn}: {e}") })?;
        let mut input = conform(&record.batch)?;
        ignore_computed(&mut input);
        let _write = self.inner.write_lock.lock();
        {
            let mut state = self.inner.state.write();
            Store::resolve_table(&mut state, &record.table)?;
        }
        let ctx = WriteContext {
            table: &record.table,
            now: record.now,
            batch_id: &record.batch_id,
            source: &record.source,
        };
        let applied = self.apply_to_state(&record.table, &input, &ctx)?;
        let (applied, states) = self.derive(&record.table, applied, &ctx)?;
        if applied.batch.num_rows() > 0 {
            self.install_applied(&record.table, applied, states, record.now)?;
        }
        Ok(())
    }

    /// Whether the active memtables reached a flush threshold (rows, bytes or age).
    fn flush_due(&self) -> bool {
        let state = self.inner.state.read();
        let rows: usize = state.tables.values().map(|t| t.active.live_rows()).sum();
        let bytes: usize = state.tables.values().map(|t| t.active.bytes()).sum();
        let oldest = state.tables.values().filter_map(|t| t.active.oldest_write()).min();
        let aged = match (self.inner.options.flush_age, oldest) {
            (Some(age), Some(oldest)) => {
                self.inner.clock.now_micros() - oldest > age.as_micros() as i64
            }
            _ => false,
        };
        rows >= self.inner.options.flush_rows || bytes >= self.inner.options.flush_bytes || aged
    }

    /// Flushes once a threshold is reached. With background flushes (the default) the flush
    /// runs on its own thread and this append returns at once. If the previous background
    /// flush is still running when the next threshold is reached, the append waits for it
    /// first, so at most one frozen and one active memtable exist (memory stays bounded by
    /// twice the threshold). A background flush that failed is redone here, in the
    /// foreground, so its error reaches an append.
    fn maybe_flush(&self) -> Result<()> {
        if !self.flush_due() {
            return Ok(());
        }
        if !self.inner.options.background_flush {
            self.flush()?;
            return Ok(());
        }
        let mut slot = self.inner.background_flush.lock();
        if let Some(handle) = slot.take() {
            if !matches!(handle.join(), Ok(Ok(_))) {
                drop(slot);
                // Its frozen memtables wait in `failed_flush`; this retries them.
                self.flush()?;
                return Ok(());
            }
            // It froze the memtables it saw when it started: what is due is decided afresh.
            if !self.flush_due() {
                return Ok(());
            }
        }
        let store = self.background_handle();
        match std::thread::Builder::new()
            .name("candlestore-flush".into())
            .spawn(move || store.flush_in_place())
        {
            Ok(handle) => *slot = Some(handle),
            // No thread to be had (a resource limit): flush here instead.
            Err(_) => {
                drop(slot);
                self.flush()?;
            }
        }
        Ok(())
    }
}

/// Counts the appended rows of `written` (the rows of `input`; with `recomputed > 0` also
/// other stored bars, which are not this append's) whose `is_validated` is false.
fn note_flagged(
    report: &mut AppendReport,
    written: &RecordBatch,
    recomputed: usize,
    input: &RecordBatch,
) {
    let valid = written.column(col::IS_VALIDATED).as_boolean();
    if valid.null_count() == 0 && valid.true_count() == valid.len() {
        return;
    }
    // Only when some series was recomputed do rows of other bars appear: tell them apart by
    // key (rare; the common path does no hashing).
    let own: Option<std::collections::HashSet<(String, i64)>> = (recomputed > 0).then(|| {
        let syms = input.column(col::SYMBOL).as_dictionary::<Int32Type>();
        let names = syms.values().as_string::<i32>();
        let ts = input.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
        (0..input.num_rows())
            .map(|i| (names.value(syms.keys().value(i) as usize).to_owned(), ts.value(i)))
            .collect()
    });
    let syms = written.column(col::SYMBOL).as_dictionary::<Int32Type>();
    let names = syms.values().as_string::<i32>();
    let ts = written.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>();
    let notes = written.column(col::VALIDATION_NOTES);
    for i in 0..written.num_rows() {
        if !valid.is_valid(i) || valid.value(i) {
            continue;
        }
        let symbol = names.value(syms.keys().value(i) as usize);
        if let Some(own) = &own
            && !own.contains(&(symbol.to_owned(), ts.value(i)))
        {
            continue;
        }
        report.flagged += 1;
        if report.flagged_rows.len() < MAX_FLAGGED_KEPT {
            report.flagged_rows.push(FlaggedRow {
                symbol: symbol.to_owned(),
                datetime: ts.value(i),
                notes: text_at(notes.as_ref(), i).unwrap_or_default(),
            });
        }
    }
}

/// A string or dictionary-of-string cell as text.
fn text_at(array: &dyn Array, i: usize) -> Option<String> {
    if array.is_null(i) {
        return None;
    }
    if let Some(d) = array.as_dictionary_opt::<Int32Type>() {
        let values = d.values().as_string::<i32>();
        return Some(values.value(d.keys().value(i) as usize).to_owned());
    }
    array.as_string_opt::<i32>().map(|s| s.value(i).to_owned())
}

/// The extra columns belong to crypto tables: naming one in an append to another table is an
/// error (its value would have nowhere to be stored).
fn check_extras(table: &str, input: &Normalized) -> Result<()> {
    let width = crate::table::TableSpec::from_conventional_name(table)
        .map_or(COLUMN_COUNT, |s| crate::schema::table_column_count(s.asset_class));
    match (width..COLUMN_COUNT).find(|&c| input.provided[c]) {
        Some(c) => Err(Error::NotInTable {
            column: crate::schema::column_def(c).name.to_owned(),
            table: table.to_owned(),
        }),
        None => Ok(()),
    }
}

/// The kernel computes its columns itself: values a caller provides for them are not used
/// (nor logged).
fn ignore_computed(input: &mut Normalized) {
    for &c in crate::kernel::computed_columns() {
        input.provided[c] = false;
    }
}

fn update_symbols(
    symbols: &mut std::collections::BTreeMap<String, SymbolMeta>,
    batch: &RecordBatch,
) {
    let sym = batch.column(col::SYMBOL).as_dictionary::<Int32Type>();
    let sym_values = sym.values().as_string::<i32>();
    let sector = batch.column(col::SECTOR).as_dictionary::<Int32Type>();
    let exchange = batch.column(col::EXCHANGE).as_dictionary::<Int32Type>();
    let text = |d: &arrow::array::DictionaryArray<Int32Type>, i: usize| -> Option<String> {
        if d.is_null(i) {
            return None;
        }
        let values = d.values().as_string::<i32>();
        Some(values.value(d.keys().value(i) as usize).to_owned())
    };
    let mut last_key = None;
    for i in 0..batch.num_rows() {
        let key = sym.keys().value(i);
        let has_meta = sector.is_valid(i) || exchange.is_valid(i);
        if last_key == Some(key) && !has_meta {
            continue;
        }
        last_key = Some(key);
        let name = sym_values.value(key as usize);
        if !has_meta && symbols.contains_key(name) {
            continue;
        }
        let entry = symbols.entry(name.to_owned()).or_default();
        if let Some(s) = text(sector, i) {
            entry.sector = Some(s);
        }
        if let Some(e) = text(exchange, i) {
            entry.exchange = Some(e);
        }
    }
}
