//! `candlestore log fetches|compute`: the fetch log backfills write and a table's compute log.

use std::path::PathBuf;
use std::process::ExitCode;

use candlestore_ingest::read_fetch_log;
use clap::{Args, Subcommand};

use crate::cmd::report::parse_date;
use crate::open::{Access, open_store, require_store_dir};
use crate::time::format_micros;

/// Arguments of `log`.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    #[command(subcommand)]
    which: LogCommand,
}

#[derive(Debug, Subcommand)]
enum LogCommand {
    /// Every vendor fetch a backfill made: provider, symbol, range, rows, latency, status,
    /// quota left (from <store>/_ingest/fetch.log), oldest first.
    Fetches {
        /// Store directory.
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// Only this symbol.
        #[arg(long, value_name = "S")]
        symbol: Option<String>,
        /// Only fetches made on or after this date (YYYY-MM-DD, UTC).
        #[arg(long, value_name = "D")]
        since: Option<String>,
    },
    /// Indicator families that failed to compute on a series of the table (their fields are
    /// null from the bar named on).
    Compute {
        /// Store directory.
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// Table, e.g. stocks_daily.
        #[arg(long, value_name = "T")]
        table: String,
    },
}

pub(crate) fn run(args: &LogArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    match &args.which {
        LogCommand::Fetches { store, symbol, since } => {
            require_store_dir(store)?;
            let since =
                since.as_deref().map(|d| parse_date("--since", d)).transpose()?.map(|d| {
                    d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_micros()
                });
            let records = read_fetch_log(store, symbol.as_deref(), since)?;
            println!(
                "{:<24} {:<10} {:<10} {:<10} {:<10} {:>6} {:>6} {:>5} {:>8} {:<6} {:>7}  error",
                "at",
                "provider",
                "symbol",
                "start",
                "end",
                "rows",
                "stored",
                "reqs",
                "ms",
                "status",
                "quota"
            );
            for r in &records {
                println!(
                    "{:<24} {:<10} {:<10} {:<10} {:<10} {:>6} {:>6} {:>5} {:>8} {:<6} {:>7}  {}",
                    format_micros(r.at),
                    r.provider,
                    r.symbol,
                    r.start,
                    r.end,
                    r.rows,
                    r.stored,
                    r.requests,
                    r.latency_ms,
                    r.status,
                    r.quota_left.map_or_else(|| "-".to_owned(), |q| q.to_string()),
                    r.error.as_deref().unwrap_or("")
                );
            }
            println!("{} fetch(es)", records.len());
        }
        LogCommand::Compute { store, table } => {
            let access = Access::Read { read_only };
            let store = open_store(store, access)?;
            let faults = store.compute_faults(table)?;
            println!("{:<12} {:>10}  family", "symbol", "first_bar");
            for f in &faults {
                println!("{:<12} {:>10}  {}", f.symbol, f.first_bar, f.family);
            }
            println!("{} compute fault(s) in {table}", faults.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
