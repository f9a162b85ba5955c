//! `candlestore fetch`: fetch bars from one vendor and append them to a table or write CSV.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use candlestore::{AppendOptions, InvalidRows};
use candlestore_ingest::{
    AssetClass as IngestAssetClass, Connector, FetchRequest, Fetched, ProviderKind,
    ProvidersConfig, Timeframe, default_provider_ticker, master_tickers,
};
use chrono::NaiveDate;
use clap::{ArgGroup, Args};

use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};
use crate::output::{Format, write_all};
use crate::time::format_micros;

/// How many rejected bars are listed.
const SHOWN: usize = 5;

/// Arguments of `fetch`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("destination").required(true).args(["store", "output"])),
    after_help = "Base URL and API key of each provider come from the config file \
    ([providers.<name>] base_url, api_key, requests_per_minute, timeout_ms, max_retries, \
    priority) or the environment (CANDLESTORE_<NAME>_BASE_URL, CANDLESTORE_<NAME>_API_KEY; \
    NAME = POLYGON, BINANCE, YAHOO, TWELVEDATA), the environment winning. Daily bars are \
    stamped 00:00 UTC of the exchange's session date; intraday bars at their UTC start. A \
    bar still open at fetch time is reported and not stored.\nExit code 0 on success, 1 when \
    the fetch or the write fails (nothing is written then), 2 on usage errors.\nExamples:\n  \
    candlestore fetch --provider binance --symbol BTC --provider-symbol BTCUSDT --timeframe 1h \
    --start 2024-01-01 --end 2024-01-07 --store bars --table crypto_hourly\n  candlestore fetch \
    --provider yahoo --symbol AAPL --start 2020-01-01 --end 2020-12-31 --output aapl.csv"
)]
pub(crate) struct FetchArgs {
    /// Vendor: polygon, binance, yahoo or twelvedata.
    #[arg(long, value_name = "P")]
    provider: String,
    /// Engine symbol written into the bars, e.g. BTC.
    #[arg(long, value_name = "S")]
    symbol: String,
    /// The vendor's ticker, e.g. BTCUSDT, BTC-USD or X:BTCUSD (default: the store's symbol
    /// master override, else the vendor's convention for --symbol: BTC -> BTCUSDT on Binance,
    /// BRK.B -> BRK-B on Yahoo; crypto for crypto_* tables and Binance, stocks otherwise).
    #[arg(long, value_name = "X")]
    provider_symbol: Option<String>,
    /// Bar length: 1d, 1h or 1m.
    #[arg(long, value_name = "TF", default_value = "1d")]
    timeframe: String,
    /// First date, YYYY-MM-DD (UTC).
    #[arg(long, value_name = "D")]
    start: String,
    /// Last date, YYYY-MM-DD (UTC, inclusive; default: the start date).
    #[arg(long, value_name = "D")]
    end: Option<String>,
    /// Ask Polygon for unadjusted prices.
    #[arg(long)]
    unadjusted: bool,
    /// Binance: also fetch the USD-M futures funding rate and open interest and store them
    /// as the funding_rate and open_interest columns (crypto tables only; open interest is
    /// served for the last 30 days only). Also on with [providers.binance] futures = true.
    #[arg(long)]
    futures: bool,
    /// TOML config file with [providers.<name>] sections.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Store directory to append to (created if missing); needs --table.
    #[arg(long, value_name = "DIR", requires = "table")]
    store: Option<PathBuf>,
    /// Table to append to, e.g. stocks_daily.
    #[arg(long, value_name = "T", requires = "store")]
    table: Option<String>,
    /// Write the bars and the vendor extras to this CSV file instead of a store.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "store")]
    output: Option<PathBuf>,
}

impl FetchArgs {
    /// Whether the bars go into a store (refused under --read-only).
    pub(crate) fn writes_store(&self) -> bool {
        self.store.is_some()
    }
}

pub(crate) fn run(args: &FetchArgs) -> anyhow::Result<ExitCode> {
    let kind: ProviderKind =
        args.provider.parse().map_err(|e| UsageError::new(format!("--provider: {e}")))?;
    let timeframe: Timeframe =
        args.timeframe.parse().map_err(|e| UsageError::new(format!("--timeframe: {e}")))?;
    let start = parse_date("--start", &args.start)?;
    let end = match &args.end {
        Some(e) => parse_date("--end", e)?,
        None => start,
    };
    if end < start {
        return usage(format!("--end {end} is before --start {start}"));
    }
    let config = ProvidersConfig::load(args.config.as_deref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    if args.futures && kind != ProviderKind::Binance {
        return usage("--futures needs --provider binance (USD-M futures)");
    }
    let crypto_table = args.table.as_deref().is_some_and(|t| {
        candlestore::TableSpec::from_conventional_name(t)
            .is_some_and(|s| s.asset_class == candlestore::AssetClass::Crypto)
    });
    if args.futures && args.table.is_some() && !crypto_table {
        return usage(
            "--futures stores funding_rate and open_interest, which only crypto tables have",
        );
    }
    // Check the destination before spending a request on the vendor.
    let store = match (&args.store, &args.table) {
        (Some(dir), Some(table)) => {
            let store = open_store(dir, Access::Write { create: true })?;
            candlestore::TableName::new(table)?;
            store.table_spec(table)?;
            Some((store, table.clone()))
        }
        _ => None,
    };
    let provider_symbol = match &args.provider_symbol {
        Some(p) => p.clone(),
        None => default_ticker(args, kind, store.as_ref().map(|(s, _)| s))?,
    };
    let request = FetchRequest::new(args.symbol.clone(), provider_symbol, timeframe, start, end)
        .with_adjusted(!args.unadjusted)
        .with_futures(args.futures);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let connector = Connector::new(kind, config.get(kind))?;
    let mut fetched = runtime.block_on(connector.fetch(&request))?;
    if args.table.is_some() && !crypto_table {
        // `futures = true` in the config: a stock table has no place for the columns.
        fetched.batch = candlestore_ingest::without_futures(&fetched.batch);
    }
    println!("fetched: {}", fetched.meta);
    report_held_back(&fetched);

    match (store, &args.output) {
        (Some((store, table)), _) => {
            if fetched.batch.num_rows() > 0 {
                let options = AppendOptions::default()
                    .with_source(kind.name())
                    .with_invalid_rows(InvalidRows::Skip);
                let report = store
                    .append_with(&table, &fetched.batch, &options)
                    .with_context(|| format!("appending the fetched bars to {table} failed"))?;
                store.flush().context("flushing the fetched bars to segments failed")?;
                println!(
                    "stored in {table}: {} inserted, {} revised, {} unchanged, {} rejected by the store (source {})",
                    report.inserted,
                    report.revised,
                    report.unchanged,
                    report.rejected.len(),
                    kind.name()
                );
                for e in report.rejected.iter().take(SHOWN) {
                    println!("  rejected row {}: {} {}", e.row, e.column, e.problem);
                }
            } else {
                println!("stored in {table}: nothing to store");
            }
        }
        (None, Some(path)) => {
            let rows = write_csv(&fetched, path)?;
            println!("wrote {rows} rows to {}", path.display());
        }
        (None, None) => return usage("give --store DIR --table T or --output FILE.csv"),
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_date(option: &str, text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        UsageError::new(format!("{option} {text:?} is not a date: use YYYY-MM-DD")).into()
    })
}

/// Rejected and still-open bars are listed: they are not stored, and the user should know.
fn report_held_back(f: &Fetched) {
    if !f.incomplete.is_empty() {
        let first = f.incomplete[0];
        println!(
            "held back: {} bar(s) still open (first {}, closes {}); fetch again after they close",
            f.incomplete.len(),
            format_micros(first.datetime),
            format_micros(first.closes_at)
        );
    }
    if !f.rejects.is_empty() {
        println!("rejected: {} bar(s) from the vendor", f.rejects.len());
        for r in f.rejects.iter().take(SHOWN) {
            let at = r.datetime.map(format_micros).map(|t| format!(" ({t})")).unwrap_or_default();
            println!("  {r}{at}");
        }
        if f.rejects.len() > SHOWN {
            println!("  ... and {} more", f.rejects.len() - SHOWN);
        }
    }
    for w in &f.meta.warnings {
        println!("warning: {w}");
    }
    if f.meta.outside_range > 0 {
        println!("ignored: {} bar(s) outside the requested range", f.meta.outside_range);
    }
}

/// The bar columns followed by the vendor extras, as F4 CSV.
fn write_csv(f: &Fetched, path: &std::path::Path) -> anyhow::Result<u64> {
    let fields: Vec<_> = f
        .batch
        .schema()
        .fields()
        .iter()
        .chain(f.extras.schema().fields().iter())
        .cloned()
        .collect();
    let schema = std::sync::Arc::new(Schema::new(fields));
    let columns = f.batch.columns().iter().chain(f.extras.columns()).cloned().collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    write_all(Format::Csv, schema, std::iter::once(Ok(batch)), file)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The vendor's ticker for `--symbol` when `--provider-symbol` is not given: the symbol
/// master's override or instrument type when a store is open, else the vendor's convention
/// for the table's asset class (crypto for `crypto_*` tables and, without a table, Binance).
fn default_ticker(
    args: &FetchArgs,
    kind: ProviderKind,
    store: Option<&candlestore::Store>,
) -> anyhow::Result<String> {
    let crypto = match &args.table {
        Some(t) => candlestore::TableSpec::from_conventional_name(t)
            .is_some_and(|spec| spec.asset_class == candlestore::AssetClass::Crypto),
        None => kind == ProviderKind::Binance,
    };
    let class = if crypto { IngestAssetClass::Crypto } else { IngestAssetClass::Equity };
    let ticker = match store {
        Some(store) => master_tickers(store.clone())(&args.symbol, class, kind),
        None => default_provider_ticker(&args.symbol, class, kind),
    };
    ticker.ok_or_else(|| {
        UsageError::new(format!(
            "{} has no ticker for {:?} as a{} instrument; give --provider-symbol",
            kind.name(),
            args.symbol,
            if crypto { " crypto" } else { " stock" }
        ))
        .into()
    })
}
