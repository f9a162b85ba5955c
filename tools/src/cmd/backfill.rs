//! `candlestore backfill`: per symbol, fetch what the calendar says is missing from a table,
//! store it, and keep job state so a killed run resumes where it stopped.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::SymbolFilter;
use candlestore_ingest::{
    Backfill, BackfillSpec, Connectors, Outcome, ProviderKind, ProvidersConfig, master_tickers,
};
use chrono::{Days, Utc};
use clap::{ArgGroup, Args};

use crate::cmd::report::parse_date;
use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};

/// Arguments of `backfill`.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("which").required(true).args(["symbols", "universe", "sector"])),
    after_help = "What is missing comes from the table's calendar (NYSE for stocks_*, 24/7 \
    for crypto_*) against the stored bars; only that is fetched, through the asset class's \
    provider chain (or --source only), and only bars that fill a gap are stored. Job state \
    (status, last good date, retries, last error per symbol) is kept in \
    <store>/_ingest/backfill/<table>.state: a symbol whose window a previous run completed is \
    skipped, and a killed run resumes without refetching what landed. Every fetch is logged \
    (`candlestore log fetches`). Providers are configured as for `fetch` (--config, \
    CANDLESTORE_<NAME>_BASE_URL / _API_KEY).\nExit code 0 when every symbol succeeded, 1 when \
    one failed (see the summary), 2 on usage errors.\nExamples:\n  candlestore backfill \
    --store bars --table stocks_daily --symbols AAPL,MSFT --start 2020-01-01\n  candlestore \
    backfill --store bars --table crypto_daily --universe coins.txt --start 2023-01-01 \
    --end 2023-12-31 --source binance\n  candlestore backfill --store bars --table \
    stocks_daily --sector \"Information Technology\" --start 2024-01-01"
)]
pub(crate) struct BackfillArgs {
    /// Store directory (created if missing).
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Table, e.g. stocks_daily (1d, 1h and 1m tables).
    #[arg(long, value_name = "T")]
    table: String,
    /// Symbols, comma-separated.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    symbols: Option<Vec<String>>,
    /// A file with one symbol per line (blank lines and `#` comments ignored).
    #[arg(long, value_name = "FILE")]
    universe: Option<PathBuf>,
    /// Every symbol of this sector in the store's symbol master (`candlestore symbols
    /// import` loads it), e.g. "Information Technology"; ASCII case is ignored.
    #[arg(long, value_name = "S")]
    sector: Option<String>,
    /// First session date, YYYY-MM-DD.
    #[arg(long, value_name = "D")]
    start: String,
    /// Last session date, YYYY-MM-DD (inclusive; default: yesterday, UTC).
    #[arg(long, value_name = "D")]
    end: Option<String>,
    /// Only this provider (polygon, binance, yahoo, twelvedata) instead of the chain.
    #[arg(long, value_name = "P")]
    source: Option<String>,
    /// TOML config file with [providers.<name>] sections.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Binance: attach the USD-M futures funding rate and open interest to the bars fetched
    /// for a crypto table (as [providers.binance] futures = true does). Only the missing
    /// bars are fetched; `fetch --futures` adds the columns to bars already stored.
    #[arg(long)]
    futures: bool,
    /// Symbols fetched at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
}

/// The symbols of a universe file: one per line, `#` starts a comment.
pub(crate) fn read_universe(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("--universe {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let s = line.split('#').next().unwrap_or("").trim();
        if s.is_empty() {
            continue;
        }
        if s.chars().any(char::is_whitespace) {
            return usage(format!(
                "--universe {}:{}: {s:?} is not one symbol (one symbol per line)",
                path.display(),
                n + 1
            ));
        }
        out.push(s.to_ascii_uppercase());
    }
    if out.is_empty() {
        return usage(format!("--universe {}: no symbols in the file", path.display()));
    }
    Ok(out)
}

pub(crate) fn run(args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let mut symbols: Vec<String> = match (&args.symbols, &args.universe, &args.sector) {
        (Some(list), _, _) => {
            list.iter().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect()
        }
        (None, Some(file), _) => read_universe(file)?,
        // Resolved from the symbol master once the store is open.
        (None, None, Some(_)) => Vec::new(),
        (None, None, None) => return usage("give --symbols A,B, --universe FILE or --sector S"),
    };
    let start = parse_date("--start", &args.start)?;
    let end = match &args.end {
        Some(e) => parse_date("--end", e)?,
        None => Utc::now().date_naive() - Days::new(1),
    };
    if end < start {
        return usage(format!("--end {end} is before --start {start}"));
    }
    let source = args
        .source
        .as_deref()
        .map(|s| s.parse::<ProviderKind>().map_err(|e| UsageError::new(format!("--source: {e}"))))
        .transpose()?;
    if args.concurrency == 0 {
        return usage("--concurrency must be at least 1");
    }
    let mut config = ProvidersConfig::load(args.config.as_deref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    if args.futures {
        let crypto = candlestore::TableSpec::from_conventional_name(&args.table)
            .is_some_and(|s| s.asset_class == candlestore::AssetClass::Crypto);
        if !crypto {
            return usage(
                "--futures attaches funding_rate and open_interest, which only crypto tables have",
            );
        }
        config.get_mut(candlestore_ingest::ProviderKind::Binance).futures = true;
    }
    candlestore::TableName::new(&args.table)?;
    let store = open_store(&args.store, Access::Write { create: true })?;
    if let (None, None, Some(sector)) = (&args.symbols, &args.universe, &args.sector) {
        let filter = SymbolFilter { sector: Some(sector.clone()), ..SymbolFilter::default() };
        symbols = store.find_symbols(&filter).into_iter().map(|r| r.symbol).collect();
        if symbols.is_empty() {
            return usage(format!(
                "--sector {sector:?}: no symbol of the store's symbol master has this sector \
                 (load reference files with `candlestore symbols import`)"
            ));
        }
    }
    let spec = BackfillSpec {
        table: args.table.clone(),
        symbols,
        start,
        end,
        source,
        concurrency: args.concurrency,
    };
    let backfill =
        Backfill::new(store.clone(), Connectors::new(&config)?).with_tickers(master_tickers(store));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let plan = backfill.plan(&spec).or_else(|e| match e {
        // A conventional table not yet declared is created by the run itself.
        candlestore_ingest::BackfillError::Coverage(_) => Ok(Vec::new()),
        other => Err(other),
    })?;
    let missing: u64 = plan.iter().map(|p| p.missing).sum();
    eprintln!(
        "backfill {}: {} symbol(s), {missing} missing bar(s) planned",
        spec.table,
        spec.symbols.len()
    );
    let bar = crate::progress::count_bar(spec.symbols.len() as u64, "symbols");
    let shown = bar.clone();
    let summary = runtime.block_on(backfill.run(&spec, move |o| {
        shown.inc(1);
        shown.set_message(format!("{} {}", o.symbol, outcome_name(o.outcome)));
    }))?;
    bar.finish_and_clear();

    println!(
        "{:<12} {:<8} {:>8} {:>8} {:>8} {:>7}  error",
        "symbol", "status", "missing", "written", "requests", "retries"
    );
    for o in &summary.symbols {
        println!(
            "{:<12} {:<8} {:>8} {:>8} {:>8} {:>7}  {}",
            o.symbol,
            outcome_name(o.outcome),
            o.missing,
            o.bars_written,
            o.requests,
            o.retries,
            o.error.as_deref().unwrap_or("")
        );
    }
    println!(
        "summary: {} ok, {} failed, {} skipped; {} bars written, {} requests, {} retries",
        summary.ok(),
        summary.failed(),
        summary.skipped(),
        summary.bars_written(),
        summary.requests(),
        summary.retries()
    );
    Ok(if summary.failed() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
        _ => "other",
    }
}
