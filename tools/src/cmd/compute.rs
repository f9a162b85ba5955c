//! `candlestore compute`: the 97 fields of a bar file, without a store, written as F4 CSV or
//! Parquet — so users can check our numbers against their own tools.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, TimestampMicrosecondType};
use candlestore::kernel::{ComputeOptions, SeriesConfig, SeriesFault, Session, compute_each};
use candlestore::{AssetClass, Timeframe, bar_schema};
use candlestore_ingest::{ImportOptions, Layout};
use clap::{Args, ValueEnum};

use crate::error::{UsageError, usage};
use crate::output::{self, Format};

/// Arguments of `compute`.
#[derive(Debug, Args)]
#[command(after_help = "Reads the layouts `import` reads. Each symbol of the file is one series \
    (F2.1). Sessions for vwap_daily/vwap_weekly (F2.2): bars of a day or longer are their own \
    session; intraday bars use --session-tz, else UTC for crypto and America/New_York for \
    stocks. Rejected input lines are listed on standard error with their line numbers.\n\
    Example:\n  candlestore compute --input orcl-1995-2014.txt --output orcl.fields.csv \
    --metadata metadata.csv --source csv:backtrader")]
pub(crate) struct ComputeArgs {
    /// Bar file: CSV, gzip'd CSV or Parquet.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Output file; the format follows the extension: .csv (F4 exchange CSV) or .parquet.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Symbol for files without a symbol column (default: from the file name).
    #[arg(long, value_name = "S")]
    symbol: Option<String>,
    /// Bar timeframe (default: 1d when every bar is stamped at midnight UTC a day or more
    /// apart, else the smallest spacing between bars).
    #[arg(long, value_name = "TF")]
    timeframe: Option<String>,
    /// Asset class: decides the default intraday session time zone.
    #[arg(long, value_enum, default_value = "stock")]
    asset_class: AssetClassArg,
    /// Session time zone of intraday bars, e.g. UTC or America/New_York.
    #[arg(long, value_name = "TZ")]
    session_tz: Option<String>,
    /// Instrument metadata CSV: symbol,sector,industry,market_cap,exchange,mic_code,currency,
    /// country,type (F3.1).
    #[arg(long, value_name = "FILE")]
    metadata: Option<PathBuf>,
    /// Value of `source` (default csv:<layout>, e.g. csv:yahoo_daily).
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// Time zone of timestamps without an offset in the input (default UTC).
    #[arg(long, value_name = "TZ")]
    tz: Option<String>,
}

/// `--asset-class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AssetClassArg {
    /// US stocks and ETFs.
    Stock,
    /// Crypto pairs.
    Crypto,
}

fn parse_tz(flag: &str, value: &str) -> anyhow::Result<chrono_tz::Tz> {
    value.parse().map_err(|_| {
        UsageError::new(format!(
            "{flag} {value:?} is not a time zone name such as America/New_York or UTC"
        ))
        .into()
    })
}

pub(crate) fn run(args: &ComputeArgs) -> anyhow::Result<ExitCode> {
    let format = match args.output.extension().and_then(|e| e.to_str()) {
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        _ => {
            return usage(format!(
                "--output {} must end in .csv or .parquet",
                args.output.display()
            ));
        }
    };
    let timeframe: Option<Timeframe> = match &args.timeframe {
        Some(t) => Some(t.parse().map_err(|_| {
            UsageError::new(format!("--timeframe {t:?} is not one of 1m 5m 15m 30m 1h 4h 1d 1w"))
        })?),
        None => None,
    };
    let session_tz = match &args.session_tz {
        Some(tz) => Some(parse_tz("--session-tz", tz)?),
        None => None,
    };
    let mut options = ImportOptions { symbol: args.symbol.clone(), ..ImportOptions::default() };
    if let Some(tz) = &args.tz {
        options.timezone = Some(parse_tz("--tz", tz)?);
    }
    let metadata = match &args.metadata {
        Some(path) => Some(read_metadata(path)?),
        None => None,
    };
    if !args.input.is_file() {
        anyhow::bail!("input file {} does not exist or is not a file", args.input.display());
    }

    let mut reader = candlestore_ingest::open(&args.input, &options)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let layout = reader.layout();
    let mut batches = Vec::new();
    for batch in reader.by_ref() {
        batches.push(batch.with_context(|| format!("cannot read {}", args.input.display()))?);
    }
    let stats = reader.stats();
    if stats.rows_rejected + stats.duplicates_in_file > 0 {
        eprintln!(
            "{}: {} line(s) rejected, {} duplicate(s) dropped:",
            args.input.display(),
            stats.rows_rejected,
            stats.duplicates_in_file
        );
        for r in stats.rejects.iter().take(10) {
            eprintln!("  {r}");
        }
    }
    let Some(first) = batches.first() else {
        anyhow::bail!("{} holds no bars", args.input.display());
    };
    let input = concat_batches(&first.schema(), &batches)?;
    let input = match &metadata {
        Some(m) => attach_metadata(&input, m)?,
        None => input,
    };

    let timeframe = timeframe.unwrap_or_else(|| infer_timeframe(&input));
    let asset_class = match args.asset_class {
        AssetClassArg::Stock => AssetClass::Stocks,
        AssetClassArg::Crypto => AssetClass::Crypto,
    };
    let spec = candlestore::TableSpec::new(asset_class, timeframe);
    let mut config = SeriesConfig::for_table(&spec, chrono_tz::America::New_York);
    if let (Some(tz), Session::Tz(_)) = (session_tz, config.session) {
        config.session = Session::Tz(tz);
    }
    let source = args.source.clone().unwrap_or_else(|| default_source(layout));
    let now = chrono::Utc::now().timestamp_micros();
    let compute =
        ComputeOptions { config, source, batch_id: uuid::Uuid::now_v7().to_string(), now };
    let file = File::create(&args.output)
        .with_context(|| format!("cannot create output file {}", args.output.display()))?;
    // Series are computed on other threads and written here as they come, in symbol order.
    let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(4);
    let (rows, computed) = std::thread::scope(|scope| {
        let worker = scope.spawn(move || -> candlestore::Result<Vec<SeriesFault>> {
            let mut all = Vec::new();
            compute_each(&input, &compute, |batch, faults| {
                all.extend_from_slice(faults);
                // A closed channel means the writer failed; its error is reported instead.
                let _ = tx.send(batch);
                Ok(())
            })?;
            Ok(all)
        });
        let rows = output::write_all(format, bar_schema(), rx.into_iter().map(Ok), file);
        let computed = worker.join().map_err(|_| anyhow::anyhow!("the compute thread panicked"));
        (rows, computed)
    });
    let faults = match computed.and_then(|r| r.context("computing the fields failed")) {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_file(&args.output);
            return Err(e);
        }
    };
    for f in &faults {
        eprintln!(
            "warning: {} of {} could not be computed from bar {} on (null there; see \
             validation_notes)",
            f.family, f.symbol, f.first_bar
        );
    }
    let rows = rows.with_context(|| format!("cannot write {}", args.output.display()));
    match rows {
        Ok(rows) => {
            let session = match config.session {
                Session::PerBar => "each bar".to_owned(),
                Session::Tz(tz) => format!("dates in {tz}"),
            };
            eprintln!(
                "wrote {rows} rows to {} (timeframe {}, sessions: {session})",
                args.output.display(),
                timeframe.code()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&args.output);
            Err(e)
        }
    }
}

/// 1d when all bars sit at midnight UTC, else the smallest spacing within a symbol.
fn infer_timeframe(input: &RecordBatch) -> Timeframe {
    let Ok(i) = input.schema().index_of("datetime") else { return Timeframe::Day1 };
    let Some(ts) = input.column(i).as_primitive_opt::<TimestampMicrosecondType>() else {
        return Timeframe::Day1;
    };
    const DAY: i64 = 86_400_000_000;
    if ts.values().iter().all(|t| t.rem_euclid(DAY) == 0) {
        return Timeframe::Day1;
    }
    let mut smallest = i64::MAX;
    for w in ts.values().windows(2) {
        if w[1] > w[0] {
            smallest = smallest.min(w[1] - w[0]);
        }
    }
    let seconds = smallest / 1_000_000;
    [
        Timeframe::Min1,
        Timeframe::Min5,
        Timeframe::Min15,
        Timeframe::Min30,
        Timeframe::Hour1,
        Timeframe::Hour4,
    ]
    .into_iter()
    .find(|t| seconds <= t.seconds())
    .unwrap_or(Timeframe::Hour4)
}

fn default_source(layout: Layout) -> String {
    match layout {
        Layout::Parquet => "parquet".to_owned(),
        Layout::YahooDaily => "csv:yahoo_daily".to_owned(),
        Layout::BacktraderDaily | Layout::BacktraderIntraday => "csv:backtrader".to_owned(),
        Layout::Sp500FiveYear => "csv:sp500_five_year".to_owned(),
        Layout::BinanceKline { .. } => "csv:binance_kline".to_owned(),
        _ => "csv".to_owned(),
    }
}

const METADATA_COLUMNS: [&str; 8] =
    ["sector", "industry", "market_cap", "exchange", "mic_code", "currency", "country", "type"];

/// symbol → the eight metadata values (empty = unknown).
type Metadata = HashMap<String, Vec<String>>;

fn read_metadata(path: &Path) -> anyhow::Result<Metadata> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read metadata file {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        anyhow::bail!("metadata file {} is empty", path.display());
    };
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    let position = |name: &str| header.iter().position(|h| *h == name);
    let Some(symbol_at) = position("symbol") else {
        anyhow::bail!("metadata file {}: the header has no symbol column", path.display());
    };
    let columns: Vec<Option<usize>> = METADATA_COLUMNS.iter().map(|c| position(c)).collect();
    let mut out = Metadata::new();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            anyhow::bail!(
                "metadata file {} line {}: {} fields, the header has {}",
                path.display(),
                n + 1,
                cells.len(),
                header.len()
            );
        }
        let values = columns.iter().map(|c| c.map_or("", |c| cells[c]).to_owned()).collect();
        out.insert(cells[symbol_at].to_owned(), values);
    }
    Ok(out)
}

/// Adds the metadata columns (null for unknown symbols or empty values).
fn attach_metadata(input: &RecordBatch, metadata: &Metadata) -> anyhow::Result<RecordBatch> {
    let symbols = arrow::compute::cast(
        input.column(input.schema().index_of("symbol").context("the input has no symbol")?),
        &DataType::Utf8,
    )?;
    let symbols = symbols.as_string::<i32>();
    let mut fields: Vec<Field> =
        input.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = input.columns().to_vec();
    for (k, name) in METADATA_COLUMNS.iter().enumerate() {
        if fields.iter().any(|f| f.name() == name) {
            continue;
        }
        let values: StringArray = (0..input.num_rows())
            .map(|i| {
                metadata.get(symbols.value(i)).map(|v| v[k].as_str()).filter(|v| !v.is_empty())
            })
            .collect();
        let column: ArrayRef = if *name == "market_cap" {
            let cast = arrow::compute::cast_with_options(
                &values,
                &DataType::Float64,
                &arrow::compute::CastOptions { safe: false, ..Default::default() },
            )
            .context("metadata market_cap is not a number")?;
            fields.push(Field::new(*name, DataType::Float64, true));
            cast
        } else {
            fields.push(Field::new(*name, DataType::Utf8, true));
            Arc::new(values)
        };
        columns.push(column);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}
