//! `candlestore spot-check`: the same bars from two sources (vendors, or a vendor and the
//! store), compared bar by bar within a relative tolerance.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore_ingest::{
    Connectors, Difference, ProvidersConfig, Side, SpotSource, SpotSources, compare,
};
use chrono::NaiveDate;
use clap::Args;

use crate::cmd::report::parse_date;
use crate::error::{UsageError, usage};
use crate::open::{Access, open_store};
use crate::time::format_micros;

/// Arguments of `spot-check`.
#[derive(Debug, Args)]
#[command(after_help = "Sources: polygon, binance, yahoo, twelvedata (each through its own \
    connector only, providers configured as for `fetch`), or `store` (the store's own bars, \
    which needs --store). Bars are aligned by their start time; every open, high, low, close \
    and volume whose relative difference |a-b|/max(|a|,|b|) exceeds the tolerance is listed, \
    and so is every bar only one source has.\nExit code 0 when the sources agree, 1 when a \
    difference was found (or a fetch failed), 2 on usage errors.\nExamples:\n  candlestore \
    spot-check --a polygon --b yahoo --symbols AAPL,MSFT --dates 2024-01-02..2024-03-28\n  \
    candlestore spot-check --store bars --a store --b yahoo --symbols AAPL --dates \
    2024-01-02,2024-01-03 --tolerance 0.001")]
pub(crate) struct SpotCheckArgs {
    /// Store directory (needed for source `store`; its symbol master maps tickers).
    #[arg(long, value_name = "DIR")]
    store: Option<PathBuf>,
    /// First source.
    #[arg(long, value_name = "SOURCE")]
    a: String,
    /// Second source.
    #[arg(long, value_name = "SOURCE")]
    b: String,
    /// Symbols, comma-separated.
    #[arg(long, value_name = "A,B", value_delimiter = ',', required = true)]
    symbols: Vec<String>,
    /// Session dates: a range D1..D2 (inclusive) or a comma-separated list.
    #[arg(long, value_name = "D1..D2")]
    dates: String,
    /// Largest relative difference accepted (0.005 = 0.5 %).
    #[arg(long, value_name = "X", default_value_t = 0.005)]
    tolerance: f64,
    /// Table whose timeframe and asset class are compared.
    #[arg(long, value_name = "T", default_value = "stocks_daily")]
    table: String,
    /// TOML config file with [providers.<name>] sections.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The dates asked for: the window fetched, and the dates kept (`None`: all of it).
fn parse_dates(text: &str) -> anyhow::Result<(NaiveDate, NaiveDate, Option<BTreeSet<NaiveDate>>)> {
    if let Some((a, b)) = text.split_once("..") {
        let (start, end) = (parse_date("--dates", a)?, parse_date("--dates", b)?);
        if end < start {
            return usage(format!("--dates {text:?}: {end} is before {start}"));
        }
        return Ok((start, end, None));
    }
    let dates: BTreeSet<NaiveDate> = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_date("--dates", s))
        .collect::<anyhow::Result<_>>()?;
    match (dates.first(), dates.last()) {
        (Some(&s), Some(&e)) => Ok((s, e, Some(dates))),
        _ => usage("--dates: no date given (D1..D2 or D1,D2,...)"),
    }
}

pub(crate) fn run(args: &SpotCheckArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let source = |s: &str, opt: &str| {
        s.parse::<SpotSource>().map_err(|e| UsageError::new(format!("--{opt}: {e}")))
    };
    let (a, b) = (source(&args.a, "a")?, source(&args.b, "b")?);
    if a == b {
        return usage(format!("--a and --b are both {a}: compare two different sources"));
    }
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return usage(format!("--tolerance {}: must be a number >= 0", args.tolerance));
    }
    let (start, end, only) = parse_dates(&args.dates)?;
    let symbols: Vec<String> = args
        .symbols
        .iter()
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    if symbols.is_empty() {
        return usage("--symbols: no symbol given");
    }
    let store = match &args.store {
        Some(dir) => Some(open_store(dir, Access::Read { read_only })?),
        None if a == SpotSource::Store || b == SpotSource::Store => {
            return usage("source `store` needs --store DIR");
        }
        None => None,
    };
    let config = ProvidersConfig::load(args.config.as_deref())
        .map_err(|e| UsageError::new(e.to_string()))?;
    let sources = SpotSources::new(Connectors::new(&config)?, store, &args.table)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let keep = |bars: Vec<candlestore_ingest::SpotBar>| -> Vec<_> {
        match &only {
            None => bars,
            Some(dates) => bars
                .into_iter()
                .filter(|b| {
                    chrono::DateTime::from_timestamp_micros(b.datetime)
                        .is_some_and(|t| dates.contains(&t.date_naive()))
                })
                .collect(),
        }
    };
    let name = |side: Side| if side == Side::A { a.to_string() } else { b.to_string() };
    let mut differences = 0usize;
    let mut compared = 0usize;
    for symbol in &symbols {
        let (bars_a, bars_b) = runtime
            .block_on(async {
                tokio::try_join!(
                    sources.bars(a, symbol, start, end),
                    sources.bars(b, symbol, start, end)
                )
            })
            .with_context(|| format!("spot-check of {symbol}"))?;
        let (bars_a, bars_b) = (keep(bars_a), keep(bars_b));
        compared += bars_a.len().max(bars_b.len());
        for d in compare(symbol, &bars_a, &bars_b, args.tolerance) {
            differences += 1;
            match d {
                Difference::Value { symbol, datetime, field, a: va, b: vb, relative } => println!(
                    "{symbol:<10} {}  {field:<6} {}={va} {}={vb}  ({:.4}%)",
                    format_micros(datetime),
                    name(Side::A),
                    name(Side::B),
                    relative * 100.0
                ),
                Difference::Missing { symbol, datetime, only_in } => {
                    println!("{symbol:<10} {}  only in {}", format_micros(datetime), name(only_in))
                }
                _ => println!("{d:?}"),
            }
        }
    }
    println!(
        "spot-check {a} vs {b} on {}: {} symbol(s), {compared} bar(s), {differences} \
         difference(s) beyond {}%",
        args.table,
        symbols.len(),
        args.tolerance * 100.0
    );
    Ok(if differences > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
