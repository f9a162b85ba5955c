//! `candlestore gaps`: missing sessions/bars per symbol of a table, against its calendar.

use std::path::PathBuf;
use std::process::ExitCode;

use candlestore_ingest::{TableGaps, gap_report};
use clap::Args;
use serde_json::json;

use crate::cmd::report::{Alignment, ReportFormat, bar_time, classify, parse_date, symbol_list};
use crate::error::usage;
use crate::open::{Access, open_store};

/// Arguments of `gaps`.
#[derive(Debug, Args)]
#[command(after_help = "The calendar comes from the table's asset class: NYSE for stocks_* \
    tables (weekends, exchange holidays, special closures and early closes are not gaps), 24/7 \
    UTC for crypto_* tables. Each symbol is checked from --start (default: its first bar) to \
    --end (default: its last bar); both are session dates, inclusive. Stored bars the calendar \
    does not expect (on a closed day, outside the session) are counted as unexpected. Exit \
    code 0 and \"no gaps\" if nothing is missing, 1 if something is, 2 on usage errors.\n\
    Examples:\n  candlestore gaps --store bars --table stocks_daily\n  candlestore gaps --store \
    bars --table stocks_daily --symbol ORCL,BMY --start 2013-01-01 --end 2013-12-31 --format json")]
pub(crate) struct GapsArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Table to check, e.g. stocks_daily.
    #[arg(long, value_name = "T")]
    table: String,
    /// Only these symbols, comma-separated (default: every symbol of the table).
    #[arg(long, value_name = "S", value_delimiter = ',')]
    symbol: Option<Vec<String>>,
    /// First session date to check (YYYY-MM-DD).
    #[arg(long, value_name = "D")]
    start: Option<String>,
    /// Last session date to check (YYYY-MM-DD, inclusive).
    #[arg(long, value_name = "D")]
    end: Option<String>,
    /// Where intraday bars start: `open` = at the session open, then every bar length (NYSE
    /// hour bars 09:30, 10:30, ...; Yahoo), `clock` = on multiples of the bar length (09:00,
    /// 10:00, ...; Polygon, QuantConnect LEAN). Same for bars of 30 minutes or less.
    #[arg(long, value_enum, default_value_t = Alignment::Open)]
    alignment: Alignment,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
}

pub(crate) fn run(args: &GapsArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let start = args.start.as_deref().map(|s| parse_date("--start", s)).transpose()?;
    let end = args.end.as_deref().map(|s| parse_date("--end", s)).transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return usage(format!("--start {s} is after --end {e}"));
    }
    let symbols = symbol_list(args.symbol.as_deref())?;
    let store = open_store(&args.store, Access::Read { read_only })?;
    let report =
        gap_report(&store, &args.table, symbols.as_deref(), start, end, args.alignment.into())
            .map_err(classify)?;
    match args.format {
        ReportFormat::Table => print_table(&report),
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&to_json(&report))?),
    }
    Ok(if report.symbols_with_gaps() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_table(report: &TableGaps) {
    let tf = report.timeframe;
    println!("table {} ({} calendar, {} bars)", report.table, report.calendar.name(), tf);
    let unit = if matches!(tf, candlestore::Timeframe::Day1) { "sessions" } else { "bars" };
    println!(
        "{:<10} {:<23} {:>9} {:>9} {:>7} {:>11} {:>11}",
        "symbol", "window", "expected", "missing", "ranges", "closed days", "unexpected"
    );
    for (symbol, (lo, hi), g) in &report.symbols {
        println!(
            "{symbol:<10} {:<23} {:>9} {:>9} {:>7} {:>11} {:>11}",
            format!("{lo}..{hi}"),
            g.expected,
            g.missing,
            g.ranges.len(),
            g.closed_days,
            g.unexpected
        );
        for r in &g.ranges {
            let span = if r.first == r.last {
                bar_time(tf, r.first)
            } else {
                format!("{}..{}", bar_time(tf, r.first), bar_time(tf, r.last))
            };
            if unit == "sessions" {
                println!("    missing {span}: {} session(s)", r.bars);
            } else {
                println!("    missing {span}: {} bar(s) in {} session(s)", r.bars, r.sessions);
            }
        }
        if let Some(first) = g.unexpected_samples.first() {
            println!(
                "    unexpected bars (not in the calendar), first at {}",
                bar_time(tf, *first)
            );
        }
    }
    let missing: u64 = report.symbols.iter().map(|(_, _, g)| g.missing).sum();
    let ranges: usize = report.symbols.iter().map(|(_, _, g)| g.ranges.len()).sum();
    let with = report.symbols_with_gaps();
    if with == 0 {
        println!("no gaps: {} symbol(s) checked", report.symbols.len());
    } else {
        println!(
            "{} of {} symbol(s) have gaps: {missing} missing {unit} in {ranges} range(s)",
            with,
            report.symbols.len()
        );
    }
}

fn to_json(report: &TableGaps) -> serde_json::Value {
    let tf = report.timeframe;
    let symbols: Vec<serde_json::Value> = report
        .symbols
        .iter()
        .map(|(symbol, (lo, hi), g)| {
            json!({
                "symbol": symbol,
                "start": lo.to_string(),
                "end": hi.to_string(),
                "expected": g.expected,
                "present": g.present,
                "missing": g.missing,
                "sessions": g.sessions,
                "closed_days": g.closed_days,
                "unexpected": g.unexpected,
                "unexpected_samples": g.unexpected_samples.iter().map(|t| bar_time(tf, *t)).collect::<Vec<_>>(),
                "ranges": g.ranges.iter().map(|r| json!({
                    "first": bar_time(tf, r.first),
                    "last": bar_time(tf, r.last),
                    "first_session": r.first_session.to_string(),
                    "last_session": r.last_session.to_string(),
                    "bars": r.bars,
                    "sessions": r.sessions,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "table": report.table,
        "calendar": report.calendar.name(),
        "timeframe": tf.code(),
        "symbols": symbols,
        "summary": {
            "symbols": report.symbols.len(),
            "symbols_with_gaps": report.symbols_with_gaps(),
            "missing": report.symbols.iter().map(|(_, _, g)| g.missing).sum::<u64>(),
            "ranges": report.symbols.iter().map(|(_, _, g)| g.ranges.len()).sum::<usize>(),
        },
    })
}
