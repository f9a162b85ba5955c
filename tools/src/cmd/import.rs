//! `candlestore import`: stream bar files into a table, then report per file what happened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMicrosecondType;
use candlestore::{AppendOptions, AppendReport, Durability, InvalidRows, RowError, Store};
use candlestore_ingest::{BarReader, ColumnMapping, ImportOptions, Layout, Reject};
use clap::Args;

use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};
use crate::progress::file_bar;
use crate::time::format_micros;

/// How many reasons of each kind a file's summary lists.
const SHOWN: usize = 5;

/// Arguments of `import`.
#[derive(Debug, Args)]
#[command(after_help = "Layouts are detected from each file's header (Yahoo/backtrader daily \
    and intraday, Yahoo exports, the Kaggle S&P 500 file, Binance klines, QuantConnect LEAN \
    daily, CryptoDataDownload with or without its banner line, any CSV naming symbol/datetime/\
    open/high/low/close/volume, Parquet); --map reads any other CSV. Newest-first files are \
    stored oldest first. Rows failing an F3.16 check are stored and counted as flagged. Rows with a missing or \
    non-numeric value or an unreadable date are rejected and listed with their line numbers; \
    re-importing a file changes nothing and reports its rows as unchanged.\nExit code 0 when \
    every row was either stored or rejected with a reason; 1 on an I/O or store error.\n\
    Example:\n  candlestore import --store bars --table stocks_daily orcl-1995-2014.txt \
    --symbol ORCL")]
pub(crate) struct ImportArgs {
    /// Store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Table to write, e.g. stocks_daily or crypto_1min (created on first use).
    #[arg(long, value_name = "T")]
    table: String,
    /// Files to import: CSV, gzip'd CSV or Parquet.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Symbol for files without a symbol column (default: from the file name).
    #[arg(long, value_name = "S")]
    symbol: Option<String>,
    /// Time zone of timestamps without an offset, e.g. America/New_York (default UTC).
    #[arg(long, value_name = "TZ")]
    tz: Option<String>,
    /// Value of the `source` column (default: csv:<layout>, e.g. csv:yahoo_daily, or
    /// parquet).
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Source column for each bar field, e.g. symbol=Name,datetime=Date,close=Last. Keys:
    /// symbol, datetime, date, time, open, high, low, close, volume.
    #[arg(long, value_name = "FIELD=COLUMN,...", value_delimiter = ',')]
    map: Vec<String>,
    /// Write every rejected line to this CSV file (line,column,reason,raw); with several
    /// input files, one file each: F.1, F.2, ...
    #[arg(long, value_name = "F")]
    reject_file: Option<PathBuf>,
    /// Do not fsync each batch; the final flush still makes the import durable.
    #[arg(long)]
    buffered: bool,
    /// Leave the rows in the write-ahead log instead of flushing them to segments at the end.
    #[arg(long)]
    no_flush: bool,
}

impl ImportArgs {
    /// Arguments for importing `files` into `table` with defaults for everything else.
    pub(crate) fn for_files(store: &Path, table: &str, files: Vec<PathBuf>) -> Self {
        Self {
            store: store.to_path_buf(),
            table: table.to_owned(),
            files,
            symbol: None,
            tz: None,
            source: None,
            map: Vec::new(),
            reject_file: None,
            buffered: false,
            no_flush: false,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Default)]
struct FileOutcome {
    stored: AppendReport,
    store_rejects: Vec<String>,
    store_rejected: usize,
    /// Stored rows that failed an F3.16 check (`is_validated = false`).
    flagged: usize,
    flagged_notes: Vec<String>,
}

pub(crate) fn run(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let mut options = ImportOptions { symbol: args.symbol.clone(), ..ImportOptions::default() };
    if let Some(tz) = &args.tz {
        let tz: chrono_tz::Tz = tz.parse().map_err(|_| {
            UsageError::new(format!(
                "--tz {tz:?} is not a time zone name such as America/New_York or UTC"
            ))
        })?;
        options.timezone = Some(tz);
    }
    if !args.map.is_empty() {
        options.mapping = Some(parse_mapping(&args.map)?);
    }
    for file in &args.files {
        if !file.is_file() {
            anyhow::bail!("input file {} does not exist or is not a file", file.display());
        }
    }
    let store = open_store(&args.store, Access::Write { create: true })?;
    // Table names are checked before any file is read.
    candlestore::TableName::new(&args.table)?;
    store.table_spec(&args.table)?;

    let mut failed_files = 0usize;
    for (i, file) in args.files.iter().enumerate() {
        let mut file_options = options.clone();
        file_options.reject_file =
            args.reject_file.as_ref().map(|f| reject_path(f, i, args.files.len()));
        match import_file(&store, args, file, &file_options) {
            Ok(()) => {}
            Err(FileError::Input(e)) => {
                failed_files += 1;
                eprintln!("error: {:#}", e.context(format!("cannot import {}", file.display())));
            }
            Err(FileError::Store(e)) => {
                return Err(e.context(format!(
                    "importing {} into {} failed",
                    file.display(),
                    args.table
                )));
            }
        }
    }
    if !args.no_flush {
        let report = store.flush().context("flushing the imported rows to segments failed")?;
        println!(
            "flushed {} rows into {} new segment(s) ({} replaced)",
            report.rows, report.segments_written, report.segments_replaced
        );
    }
    if failed_files > 0 {
        eprintln!("error: {failed_files} of {} file(s) could not be imported", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A file that cannot be read is reported and skipped; a store failure stops the import.
enum FileError {
    Input(anyhow::Error),
    Store(anyhow::Error),
}

fn import_file(
    store: &Store,
    args: &ImportArgs,
    file: &Path,
    options: &ImportOptions,
) -> Result<(), FileError> {
    let mut reader: BarReader =
        candlestore_ingest::open(file, options).map_err(|e| FileError::Input(e.into()))?;
    let layout = reader.layout();
    let source = args.source.clone().unwrap_or_else(|| default_source(layout));
    let mut append =
        AppendOptions::default().with_invalid_rows(InvalidRows::Skip).with_source(source.clone());
    if args.buffered {
        append = append.with_durability(Durability::Buffered);
    }
    let name = file
        .file_name()
        .map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let bar = file_bar(reader.total_bytes(), &name);
    let mut outcome = FileOutcome::default();
    let mut input_error = None;
    while let Some(batch) = reader.next() {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                input_error = Some(anyhow::Error::from(e));
                break;
            }
        };
        let report = store.append_with(&args.table, &batch, &append).map_err(|e| {
            bar.finish_and_clear();
            FileError::Store(e.into())
        })?;
        let lines = reader.batch_lines();
        note_store_rejects(&mut outcome, &batch, lines, &report.rejected);
        note_flagged(&mut outcome, &batch, lines, &report);
        outcome.stored.inserted += report.inserted;
        outcome.stored.revised += report.revised;
        outcome.stored.unchanged += report.unchanged;
        bar.set_position(reader.bytes_read());
    }
    bar.finish_and_clear();
    print_summary(&name, file, layout, &source, &reader, &outcome, options.reject_file.as_deref());
    match input_error {
        Some(e) => Err(FileError::Input(e.context(
            "the file could only be read in part (the rows before the error were imported)",
        ))),
        None => Ok(()),
    }
}

/// The source line of the row of `batch` with this key, if the reader reported lines.
fn line_of(batch: &RecordBatch, lines: &[u64], symbol: &str, datetime: i64) -> Option<u64> {
    let sym = batch.column_by_name("symbol")?.as_string_opt::<i32>()?;
    let ts = batch.column_by_name("datetime")?.as_primitive_opt::<TimestampMicrosecondType>()?;
    (0..batch.num_rows())
        .find(|&i| ts.value(i) == datetime && sym.value(i) == symbol)
        .and_then(|i| lines.get(i).copied())
}

/// Rows stored with `is_validated = false`, with their line and the checks they failed.
fn note_flagged(
    outcome: &mut FileOutcome,
    batch: &RecordBatch,
    lines: &[u64],
    report: &AppendReport,
) {
    outcome.flagged += report.flagged;
    for f in report.flagged_rows.iter().take(SHOWN.saturating_sub(outcome.flagged_notes.len())) {
        let at = line_of(batch, lines, &f.symbol, f.datetime)
            .map_or_else(String::new, |l| format!("line {l}, "));
        outcome.flagged_notes.push(format!(
            "{at}{} {}: {}",
            f.symbol,
            format_micros(f.datetime),
            f.notes
        ));
    }
}

/// Rows the engine refused (after the importer accepted them), described by line and key.
fn note_store_rejects(
    outcome: &mut FileOutcome,
    batch: &RecordBatch,
    lines: &[u64],
    rejected: &[RowError],
) {
    outcome.store_rejected += rejected.len();
    let symbol = batch.schema().index_of("symbol").ok().map(|i| batch.column(i).clone());
    let datetime = batch.schema().index_of("datetime").ok().map(|i| batch.column(i).clone());
    for e in rejected.iter().take(SHOWN.saturating_sub(outcome.store_rejects.len())) {
        let sym = symbol
            .as_ref()
            .and_then(|a| a.as_string_opt::<i32>())
            .filter(|a| e.row < a.len())
            .map_or("?".to_owned(), |a| a.value(e.row).to_owned());
        let ts = datetime
            .as_ref()
            .and_then(|a| a.as_primitive_opt::<TimestampMicrosecondType>())
            .filter(|a| e.row < a.len())
            .map_or("?".to_owned(), |a| format_micros(a.value(e.row)));
        let at = lines.get(e.row).map_or_else(String::new, |l| format!("line {l}, "));
        outcome.store_rejects.push(format!("{at}{sym} {ts}: {} {}", e.column, e.problem));
    }
}

fn print_summary(
    name: &str,
    file: &Path,
    layout: Layout,
    source: &str,
    reader: &BarReader,
    outcome: &FileOutcome,
    reject_file: Option<&Path>,
) {
    let stats = reader.stats();
    let s = &outcome.stored;
    let (duplicates, invalid): (Vec<&Reject>, Vec<&Reject>) =
        stats.rejects.iter().partition(|r| r.reason.starts_with("duplicate"));
    println!(
        "{name} ({}; layout {}, source {source}):",
        file.display(),
        layout_name(layout).unwrap_or("other")
    );
    println!("  rows read:          {}", stats.rows_read);
    if reader.newest_first() {
        println!("  order:              newest first in the file; stored oldest first");
    }
    println!(
        "  accepted:           {} ({} inserted, {} revised, {} unchanged)",
        s.inserted + s.revised + s.unchanged,
        s.inserted,
        s.revised,
        s.unchanged
    );
    println!(
        "  flagged:            {} (stored with is_validated = false: a failed F3.16 check)",
        outcome.flagged
    );
    list(outcome.flagged_notes.iter().cloned(), outcome.flagged as u64);
    println!("  rejected:           {}", stats.rows_rejected);
    list(invalid.iter().map(ToString::to_string), stats.rows_rejected);
    println!(
        "  duplicates in file: {} (the first row of each key was kept)",
        stats.duplicates_in_file
    );
    list(duplicates.iter().map(ToString::to_string), stats.duplicates_in_file);
    if outcome.store_rejected > 0 {
        println!("  rejected by store:  {}", outcome.store_rejected);
        list(outcome.store_rejects.iter().cloned(), outcome.store_rejected as u64);
    }
    if let Some(f) = reject_file
        && stats.rows_rejected + stats.duplicates_in_file > 0
    {
        println!("  every rejected line is in {}", f.display());
    }
}

fn list(reasons: impl Iterator<Item = String>, total: u64) {
    let mut shown = 0u64;
    for r in reasons.take(SHOWN) {
        println!("    {r}");
        shown += 1;
    }
    if total > shown {
        println!("    ... and {} more", total - shown);
    }
}

fn layout_name(layout: Layout) -> Option<&'static str> {
    Some(match layout {
        Layout::Sp500FiveYear => "sp500_five_year",
        Layout::YahooDaily => "yahoo_daily",
        Layout::YahooExport => "yahoo_export",
        Layout::LeanDaily => "lean_daily",
        Layout::CryptoDataDownload { .. } => "cryptodatadownload",
        Layout::BacktraderDaily => "backtrader_daily",
        Layout::BacktraderIntraday => "backtrader_intraday",
        Layout::BinanceKline { .. } => "binance_kline",
        Layout::Generic => "generic",
        Layout::Mapped => "mapped",
        Layout::Parquet => "parquet",
        _ => return None,
    })
}

/// `csv:<layout>` for CSV layouts, `parquet` for Parquet, `file` for anything else.
fn default_source(layout: Layout) -> String {
    match layout_name(layout) {
        Some("parquet") => "parquet".to_owned(),
        Some(name) => format!("csv:{name}"),
        None => "file".to_owned(),
    }
}

/// The reject file of input `i` of `n`: `F` itself for one input, else `F.<i+1>`.
fn reject_path(base: &Path, i: usize, n: usize) -> PathBuf {
    if n == 1 {
        return base.to_path_buf();
    }
    let mut name = base.as_os_str().to_owned();
    name.push(format!(".{}", i + 1));
    PathBuf::from(name)
}

fn parse_mapping(items: &[String]) -> anyhow::Result<ColumnMapping> {
    let mut m = ColumnMapping::default();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let Some((key, column)) = item.split_once('=') else {
            return usage(format!("--map entry {item:?} is not FIELD=COLUMN, e.g. datetime=Date"));
        };
        let column = column.trim();
        if column.is_empty() {
            return usage(format!("--map entry {item:?} names no column"));
        }
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "symbol" => &mut m.symbol,
            "datetime" => &mut m.datetime,
            "date" => &mut m.date,
            "time" => &mut m.time,
            "open" => &mut m.open,
            "high" => &mut m.high,
            "low" => &mut m.low,
            "close" => &mut m.close,
            "volume" => &mut m.volume,
            other => {
                return usage(format!(
                    "--map key {other:?} is not one of symbol, datetime, date, time, open, high, low, close, volume"
                ));
            }
        };
        if slot.is_some() {
            return usage(format!("--map gives {} twice", key.trim()));
        }
        *slot = Some(column.to_owned());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_mapping() {
        let m =
            parse_mapping(&["symbol=Name".into(), " datetime = Date ".into(), "Close=Last".into()])
                .unwrap();
        assert_eq!(m.symbol.as_deref(), Some("Name"));
        assert_eq!(m.datetime.as_deref(), Some("Date"));
        assert_eq!(m.close.as_deref(), Some("Last"));
        assert!(parse_mapping(&["price=Last".into()]).is_err());
        assert!(parse_mapping(&["close".into()]).is_err());
        assert!(parse_mapping(&["close=A".into(), "close=B".into()]).is_err());
    }

    #[test]
    fn reject_files_are_numbered_for_several_inputs() {
        assert_eq!(reject_path(Path::new("r.csv"), 0, 1), PathBuf::from("r.csv"));
        assert_eq!(reject_path(Path::new("r.csv"), 1, 3), PathBuf::from("r.csv.2"));
    }

    #[test]
    fn sources_name_the_layout() {
        assert_eq!(default_source(Layout::YahooDaily), "csv:yahoo_daily");
        assert_eq!(default_source(Layout::Parquet), "parquet");
    }
}
