//! `candlestore query`: bars of some symbols of one table, as CSV, JSON, Parquet or Arrow.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::{FIELD_COUNT, column_index};
use clap::Args;

use crate::error::usage;
use crate::open::{Access, open_store};
use crate::output::{self, Format};
use crate::time::parse_instant;

/// Arguments of `query`.
#[derive(Debug, Args)]
#[command(after_help = "Dates are YYYY-MM-DD (UTC) or RFC 3339 timestamps. --start is \
    inclusive; --end is inclusive too: a date-only --end includes that whole day, a timestamp \
    --end includes that instant.\nExamples:\n  candlestore query --store bars --table \
    stocks_daily --symbol ORCL --start 2014-01-01 --end 2014-12-31 --fields \
    datetime,open,high,low,close,volume\n  candlestore query --store bars --table stocks_daily \
    --symbol ORCL --format parquet --output orcl.parquet")]
pub(crate) struct QueryArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Table to read, e.g. stocks_daily.
    #[arg(long, value_name = "T")]
    table: String,
    /// Symbol(s) to read, comma-separated, exactly as stored (tickers are upper case), e.g.
    /// ORCL or ORCL,AAPL.
    #[arg(long, value_name = "S", value_delimiter = ',', required = true)]
    symbol: Vec<String>,
    /// First date or instant to include (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "D")]
    start: Option<String>,
    /// Last date or instant to include; a date includes its whole day (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "D")]
    end: Option<String>,
    /// Columns to return, comma-separated, in this order (default: all of the table's fields:
    /// the 97, and funding_rate, open_interest in crypto tables).
    #[arg(long, value_name = "a,b,...", value_delimiter = ',')]
    fields: Option<Vec<String>>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Read the data as it was at this time (YYYY-MM-DD = 00:00 UTC, or RFC 3339): later
    /// inserts are hidden and later revisions undone.
    #[arg(long, value_name = "TS")]
    as_of: Option<String>,
    /// Only bars with quality_score >= Q (0..=1).
    #[arg(long, value_name = "Q")]
    min_quality: Option<f64>,
    /// Only bars with is_validated = true.
    #[arg(long)]
    validated_only: bool,
}

pub(crate) fn run(args: &QueryArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    if let Some(fields) = &args.fields {
        if fields.is_empty() || fields.iter().any(|f| f.trim().is_empty()) {
            return usage("--fields has an empty field name");
        }
        for f in fields {
            if column_index(f.trim()).is_none() {
                return usage(format!(
                    "unknown field {:?} in --fields: it is not one of the {FIELD_COUNT} bar fields \
                     nor funding_rate / open_interest (omit --fields to get them all, with their \
                     names in the header)",
                    f.trim()
                ));
            }
        }
    }
    let start = args.start.as_deref().map(|s| parse_instant("--start", s)).transpose()?;
    let end = args.end.as_deref().map(|s| parse_instant("--end", s)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s.first_micros() >= e.end_exclusive()
    {
        return usage(format!(
            "--start {} is after --end {}",
            args.start.as_deref().unwrap_or_default(),
            args.end.as_deref().unwrap_or_default()
        ));
    }
    let as_of = args.as_of.as_deref().map(|s| parse_instant("--as-of", s)).transpose()?;
    if let Some(q) = args.min_quality
        && !(0.0..=1.0).contains(&q)
    {
        return usage(format!("--min-quality {q} is outside 0..=1"));
    }
    let symbols: Vec<String> = args.symbol.iter().map(|s| s.trim().to_owned()).collect();
    if symbols.iter().any(String::is_empty) {
        return usage("--symbol has an empty symbol");
    }
    if args.format.is_binary() && args.output.is_none() && std::io::stdout().is_terminal() {
        return usage(format!(
            "refusing to write {} to a terminal; pass --output FILE or redirect standard output",
            if args.format == Format::Parquet { "Parquet" } else { "Arrow IPC" }
        ));
    }

    let store = open_store(&args.store, Access::Read { read_only })?;
    let tables = store.tables();
    if !tables.contains(&args.table) {
        let known = if tables.is_empty() { "none".to_owned() } else { tables.join(", ") };
        return usage(format!(
            "unknown table {:?} in store {} (its tables: {known})",
            args.table,
            args.store.display()
        ));
    }
    let mut scan = store.scan(&args.table).symbols(symbols);
    if let Some(s) = start {
        scan = scan.start(s.first_micros());
    }
    if let Some(e) = end {
        scan = scan.end(e.end_exclusive());
    }
    if let Some(fields) = &args.fields {
        scan = scan.columns(fields.iter().map(|f| f.trim().to_owned()));
    }
    if let Some(t) = as_of {
        scan = scan.as_of(t.first_micros());
    }
    if let Some(q) = args.min_quality {
        scan = scan.min_quality(q);
    }
    let scan = scan
        .validated_only(args.validated_only)
        .build()
        .with_context(|| format!("cannot query table {}", args.table))?;
    let schema = scan.schema();
    let batches = scan.map(|b| b.context("reading the store failed"));

    match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create output file {}", path.display()))?;
            let result = output::write_all(args.format, schema, batches, file)
                .with_context(|| format!("cannot write {}", path.display()));
            match result {
                Ok(rows) => eprintln!("wrote {rows} rows to {}", path.display()),
                Err(e) => {
                    // A partial file would look like a complete answer.
                    let _ = std::fs::remove_file(path);
                    return Err(e);
                }
            }
        }
        None => {
            let stdout = std::io::stdout();
            match output::write_all(args.format, schema, batches, stdout) {
                Ok(_) => {}
                Err(e) if is_broken_pipe(&e) => {}
                Err(e) => return Err(e.context("cannot write to standard output")),
            }
            let _ = std::io::stdout().flush();
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The reader of our standard output went away (`| head`): not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<parquet::errors::ParquetError>()
                .is_some_and(|e| e.to_string().contains("Broken pipe"))
            || c.downcast_ref::<arrow::error::ArrowError>()
                .is_some_and(|e| matches!(e, arrow::error::ArrowError::IoError(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}
