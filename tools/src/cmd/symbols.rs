//! `candlestore symbols`: the symbol master — import reference files, list and filter the
//! records, and map an engine symbol to a provider's ticker.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::{InstrumentType, Provider, SymbolFilter, SymbolRecord, provider_symbol};
use candlestore_ingest::{ReferenceLayout, read_reference};
use clap::{Args, Subcommand, ValueEnum};

use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};

/// How many skipped rows a file's summary lists.
const SHOWN: usize = 5;

/// Arguments of `symbols`.
#[derive(Debug, Args)]
pub(crate) struct SymbolsArgs {
    #[command(subcommand)]
    command: SymbolsCommand,
}

#[derive(Debug, Subcommand)]
enum SymbolsCommand {
    /// Load reference files into the store's symbol master (merging with what it holds).
    Import(ImportArgs),
    /// List the symbol master, optionally filtered.
    List(ListArgs),
    /// Print the ticker a provider uses for an engine symbol.
    Map(MapArgs),
}

/// Arguments of `symbols import`.
#[derive(Debug, Args)]
#[command(after_help = "Layouts: sp500 (Symbol,Security,GICS Sector,GICS Sub-Industry,...), \
    sp500-legacy (Symbol,Name,Sector), nasdaq-listed-symbols, nasdaq-listed, nyse-listed, \
    other-listed (exchange codes A/N/P/Z/V -> XASE/XNYS/ARCX/BATS/IEXG), metadata (the F3.1 CSV \
    symbol,sector,industry,market_cap,exchange,mic_code,currency,country,type) and screener-json \
    (us-stock-symbols *_full_tickers.json). A field a file does not know keeps its stored value.\n\
    Example:\n  candlestore symbols import --store bars constituents.csv other-listed.csv")]
pub(crate) struct ImportArgs {
    /// Store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Reference files (CSV, gzip'd CSV or JSON).
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Layout of the files: auto (from the header) or one of the names below.
    #[arg(long, value_name = "NAME", default_value = "auto")]
    layout: String,
}

/// Output format of `symbols list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    /// Aligned columns for reading.
    Table,
    /// A JSON array of records (the symbol master's own field names).
    Json,
    /// CSV with a header, in the F3.1 metadata layout plus `name`.
    Csv,
}

/// Arguments of `symbols list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Only this sector (case-insensitive).
    #[arg(long, value_name = "S")]
    sector: Option<String>,
    /// Only this exchange, by name or MIC (NASDAQ or XNAS).
    #[arg(long, value_name = "E")]
    exchange: Option<String>,
    /// Only symbols or names containing this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    q: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: ListFormat,
}

/// Arguments of `symbols map`.
#[derive(Debug, Args)]
#[command(after_help = "Without --store (or for a symbol the master does not type), --type \
    decides the rules; it defaults to crypto for binance and stock for the others.\nExamples:\n  \
    candlestore symbols map BTC --provider yahoo --type crypto      # BTC-USD\n  \
    candlestore symbols map BRK.B --provider yahoo                  # BRK-B")]
pub(crate) struct MapArgs {
    /// Engine symbol, e.g. AAPL, BRK.B, BTC.
    #[arg(value_name = "SYMBOL")]
    symbol: String,
    /// polygon, binance, yahoo or twelvedata.
    #[arg(long, value_name = "P")]
    provider: String,
    /// Store whose symbol master supplies overrides and the instrument type.
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Instrument type: stock, etf, index, future, crypto, forex or fund.
    #[arg(long = "type", value_name = "T")]
    kind: Option<String>,
}

pub(crate) fn run(args: &SymbolsArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        SymbolsCommand::Import(a) => {
            if read_only {
                return usage("--read-only cannot be used with `symbols import`, which writes");
            }
            import(a)
        }
        SymbolsCommand::List(a) => list(a, read_only),
        SymbolsCommand::Map(a) => map(a, read_only),
    }
}

fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let layout = match args.layout.trim() {
        "auto" => None,
        name => Some(ReferenceLayout::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = ReferenceLayout::ALL.iter().map(|l| l.name()).collect();
            UsageError::new(format!("--layout {name:?} is not auto or one of {}", known.join(", ")))
        })?),
    };
    for file in &args.files {
        if !file.is_file() {
            anyhow::bail!("input file {} does not exist or is not a file", file.display());
        }
    }
    let store = open_store(&args.store, Access::Write { create: true })?;
    let mut failed = 0usize;
    for file in &args.files {
        let reference = match read_reference(file, layout) {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                eprintln!("error: cannot import {}: {e}", file.display());
                continue;
            }
        };
        let records = reference.records.len();
        let report = store
            .upsert_symbols(reference.records)
            .with_context(|| format!("storing the symbols of {} failed", file.display()))?;
        println!(
            "{} (layout {}): {} rows, {} records: {} added, {} changed, {} unchanged; {} skipped",
            file.display(),
            reference.layout.name(),
            reference.rows_read,
            records,
            report.added,
            report.changed,
            report.unchanged,
            reference.skipped.len()
        );
        for s in reference.skipped.iter().take(SHOWN) {
            println!("    line {}: {}", s.line, s.reason);
        }
        if reference.skipped.len() > SHOWN {
            println!("    ... and {} more", reference.skipped.len() - SHOWN);
        }
    }
    println!("symbol master: {} symbols", store.symbols().len());
    if failed > 0 {
        eprintln!("error: {failed} of {} file(s) could not be imported", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &ListArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.store, Access::Read { read_only })?;
    let filter = SymbolFilter {
        sector: args.sector.clone(),
        exchange: args.exchange.clone(),
        text: args.q.clone(),
    };
    let records = store.find_symbols(&filter);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &records)?;
            writeln!(out)?;
        }
        ListFormat::Csv => write_csv(&mut out, &records)?,
        ListFormat::Table => write_table(&mut out, &records)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

const CSV_HEADER: [&str; 10] = [
    "symbol",
    "name",
    "sector",
    "industry",
    "market_cap",
    "exchange",
    "mic_code",
    "currency",
    "country",
    "type",
];

fn cells(r: &SymbolRecord) -> [String; 10] {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.symbol.clone(),
        s(&r.name),
        s(&r.sector),
        s(&r.industry),
        r.market_cap.map(|c| format!("{c}")).unwrap_or_default(),
        s(&r.exchange),
        s(&r.mic_code),
        s(&r.currency),
        s(&r.country),
        r.instrument_type.map(|t| t.as_str().to_owned()).unwrap_or_default(),
    ]
}

/// RFC 4180 quoting: fields with a comma, quote or line break are quoted.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn write_csv(out: &mut impl Write, records: &[SymbolRecord]) -> anyhow::Result<()> {
    writeln!(out, "{}", CSV_HEADER.join(","))?;
    for r in records {
        let row: Vec<String> = cells(r).iter().map(|c| csv_field(c)).collect();
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

fn write_table(out: &mut impl Write, records: &[SymbolRecord]) -> anyhow::Result<()> {
    // name, market_cap and industry are long; the table shows the columns one filters by.
    let shown = [0usize, 2, 5, 6, 9, 1];
    let rows: Vec<[String; 10]> = records.iter().map(cells).collect();
    let clip = |s: &str, n: usize| -> String {
        if s.chars().count() > n {
            format!("{}…", s.chars().take(n - 1).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    let widths: Vec<usize> = shown
        .iter()
        .map(|&c| {
            rows.iter()
                .map(|r| r[c].chars().count().min(40))
                .chain([CSV_HEADER[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cols: Vec<String>| -> String {
        cols.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(shown.iter().map(|&c| CSV_HEADER[c].to_owned()).collect()))?;
    for r in &rows {
        writeln!(out, "{}", line(shown.iter().map(|&c| clip(&r[c], 40)).collect()))?;
    }
    writeln!(out, "({} symbols)", rows.len())?;
    Ok(())
}

fn map(args: &MapArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let provider: Provider = args
        .provider
        .parse()
        .map_err(|e: candlestore::SymbolsError| UsageError::new(e.to_string()))?;
    let kind: Option<InstrumentType> = match &args.kind {
        Some(k) => {
            Some(k.parse().map_err(|e: candlestore::SymbolsError| UsageError::new(e.to_string()))?)
        }
        None => None,
    };
    let default_kind =
        if provider == Provider::Binance { InstrumentType::Crypto } else { InstrumentType::Stock };
    let record = match &args.store {
        Some(dir) => open_store(dir, Access::Read { read_only })?.symbol(&args.symbol),
        None => None,
    };
    // A provider override in the master wins; then --type, the master's type, the default.
    let ticker = match record.as_ref().and_then(|r| r.provider_symbols.get(&provider)) {
        Some(t) => t.clone(),
        None => {
            let kind =
                kind.or(record.as_ref().and_then(|r| r.instrument_type)).unwrap_or(default_kind);
            provider_symbol(&args.symbol, kind, provider)?
        }
    };
    println!("{ticker}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("3M"), "3M");
        assert_eq!(csv_field("Invesco QQQ Trust, Series 1"), "\"Invesco QQQ Trust, Series 1\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
    }
}
