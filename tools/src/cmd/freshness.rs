//! `candlestore freshness`: how old each symbol's newest bar is against its calendar.

use std::path::PathBuf;
use std::process::ExitCode;

use candlestore::{Clock, ManualClock, SystemClock};
use candlestore_ingest::{FreshnessConfig, TableFreshness, freshness_report};
use clap::Args;
use serde_json::json;

use crate::cmd::report::{Alignment, ReportFormat, bar_time, classify, human_seconds, symbol_list};
use crate::error::UsageError;
use crate::open::{Access, open_store};
use crate::time::{format_micros, parse_instant};

/// Arguments of `freshness`.
#[derive(Debug, Args)]
#[command(after_help = "A bar is expected once it is complete (at its session's close for \
    daily bars, at the end of its step for intraday bars), following the table's calendar \
    (NYSE for stocks_*, 24/7 for crypto_*). A symbol is stale when the first expected bar \
    after its newest one has been complete for longer than the threshold of its asset class, \
    read from the [freshness] section of --config (stocks = \"1d\", crypto = \"2h\" by \
    default). Exit code 0 if nothing is stale, 1 if something is, 2 on usage errors.\n\
    Example:\n  candlestore freshness --store bars --table stocks_daily --config candlestore.toml")]
pub(crate) struct FreshnessArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Only this table (default: every table).
    #[arg(long, value_name = "T")]
    table: Option<String>,
    /// Only these symbols, comma-separated.
    #[arg(long, value_name = "S", value_delimiter = ',')]
    symbol: Option<Vec<String>>,
    /// Configuration file (TOML) with a [freshness] section; other sections are ignored.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Assess as of this instant instead of now (YYYY-MM-DD = 00:00 UTC, or RFC 3339).
    #[arg(long, value_name = "TS")]
    now: Option<String>,
    /// Where intraday bars start: `open` = at the session open (NYSE hour bars 09:30,
    /// 10:30, ...), `clock` = on multiples of the bar length (09:00, 10:00, ...).
    #[arg(long, value_enum, default_value_t = Alignment::Open)]
    alignment: Alignment,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
}

pub(crate) fn run(args: &FreshnessArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => FreshnessConfig::load(path).map_err(|e| UsageError::new(e.to_string()))?,
        None => FreshnessConfig::default(),
    };
    let clock: Box<dyn Clock> = match &args.now {
        Some(text) => Box::new(ManualClock::new(parse_instant("--now", text)?.first_micros())),
        None => Box::new(SystemClock::default()),
    };
    let symbols = symbol_list(args.symbol.as_deref())?;
    let store = open_store(&args.store, Access::Read { read_only })?;
    let report = freshness_report(
        &store,
        &config,
        clock.as_ref(),
        args.table.as_deref(),
        symbols.as_deref(),
        args.alignment.into(),
    )
    .map_err(classify)?;
    match args.format {
        ReportFormat::Table => print_table(&report),
        ReportFormat::Json => {
            let tables: Vec<serde_json::Value> = report.iter().map(to_json).collect();
            println!("{}", serde_json::to_string_pretty(&json!({ "tables": tables }))?);
        }
    }
    let stale = report.iter().flat_map(|t| &t.symbols).any(|(_, f)| f.is_stale);
    Ok(if stale { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_table(report: &[TableFreshness]) {
    let mut stale = 0;
    let mut total = 0;
    for t in report {
        let tf = t.timeframe;
        println!(
            "table {} ({} calendar, {} bars) at {}: last expected bar {}",
            t.table,
            t.calendar.name(),
            tf,
            format_micros(t.now),
            t.last_expected.map_or_else(|| "none".to_owned(), |b| bar_time(tf, b))
        );
        println!(
            "{:<10} {:<27} {:>14} {:>14} {:>8} {:>6}",
            "symbol", "newest", "age", "overdue", "missing", "stale"
        );
        for (symbol, f) in &t.symbols {
            total += 1;
            stale += usize::from(f.is_stale);
            println!(
                "{symbol:<10} {:<27} {:>14} {:>14} {:>8} {:>6}",
                bar_time(tf, f.newest),
                human_seconds(f.age_seconds),
                human_seconds(f.overdue_seconds),
                f.missing_bars,
                if f.is_stale { "STALE" } else { "ok" }
            );
        }
    }
    if stale == 0 {
        println!("all fresh: {total} symbol(s) checked");
    } else {
        println!("{stale} of {total} symbol(s) stale");
    }
}

fn to_json(t: &TableFreshness) -> serde_json::Value {
    let tf = t.timeframe;
    json!({
        "table": t.table,
        "calendar": t.calendar.name(),
        "timeframe": tf.code(),
        "now": format_micros(t.now),
        "last_expected": t.last_expected.map(format_micros),
        "symbols": t.symbols.iter().map(|(symbol, f)| json!({
            "symbol": symbol,
            "newest": format_micros(f.newest),
            "last_expected": f.last_expected.map(format_micros),
            "age_seconds": f.age_seconds,
            "overdue_seconds": f.overdue_seconds,
            "missing_bars": f.missing_bars,
            "threshold_seconds": f.threshold_seconds,
            "is_stale": f.is_stale,
        })).collect::<Vec<_>>(),
    })
}
