//! `candlestore`: import bar files into a store, query it, inspect, verify, compact and repair
//! its files, and check its tables against their trading calendars (`gaps`, `freshness`).
//!
//! Every error is printed as one line, `error: <sentence>` (the causes joined by ": "). Exit
//! codes: 0 success, 1 failure (I/O, store, problems found by `verify`, gaps found by `gaps`,
//! stale symbols found by `freshness`, differences found by `spot-check`), 2 usage errors
//! (bad arguments, unknown field or table, malformed dates).

mod cmd;
mod error;
mod open;
mod output;
mod progress;
mod time;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{UsageError, exit_code_for};

/// Command-line tool for candlestore, an embedded storage engine for OHLCV market-data bars.
#[derive(Debug, Parser)]
#[command(
    name = "candlestore",
    version,
    about,
    long_about = "Command-line tool for candlestore, an embedded storage engine for OHLCV \
                  market-data bars.\n\nA store is a directory. `import` loads CSV (plain or \
                  gzip'd) and Parquet bar files into a table, `fetch` gets bars from a vendor, \
                  `query` reads bars back as CSV, JSON, Parquet or Arrow, `dump`, `verify`, \
                  `compact` and `repair` look after the store's files, `gaps` and \
                  `freshness` check the tables against their trading calendars, `backfill` \
                  and `schedule` fill them from the vendors, and `serve` answers queries over \
                  HTTP.",
    after_help = "Exit codes: 0 success, 1 failure (I/O or store error, problems found by \
                  verify, gaps found by gaps, stale symbols found by freshness, differences found by \
                  spot-check), 2 usage \
                  error.\nExamples:\n  candlestore import --store bars --table \
                  stocks_daily orcl-1995-2014.txt\n  candlestore query --store bars \
                  --table stocks_daily --symbol ORCL --start 2014-01-01 --end 2014-01-31\n  \
                  candlestore verify --store bars --read-only"
)]
struct Cli {
    /// Open the store without taking its writer lock and without replaying the write-ahead
    /// log, so `query`, `dump` and `verify` work while another process writes to it. Rows
    /// not yet flushed to segments are not visible. Refused by commands that write.
    #[arg(long, global = true)]
    read_only: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The quick start: import the bundled real sample data, compact, verify, show the store.
    Demo(cmd::demo::DemoArgs),
    /// Import CSV (plain or .gz) or Parquet bar files into a table.
    Import(cmd::import::ImportArgs),
    /// Fetch bars from a vendor (Polygon, Binance, Yahoo, Twelve Data) into a table or a CSV.
    Fetch(cmd::fetch::FetchArgs),
    /// Compute the 97 fields of a bar file without a store (F4 CSV or Parquet out).
    Compute(cmd::compute::ComputeArgs),
    /// Read bars of one or more symbols as CSV, JSON, Parquet or Arrow IPC.
    Query(cmd::query::QueryArgs),
    /// Print the store's manifest, segments, indexes and write-ahead log in readable form.
    Dump(cmd::dump::DumpArgs),
    /// Check every file of the store (checksums, order, index, WAL framing); exit 1 on problems.
    Verify(cmd::verify::VerifyArgs),
    /// Merge the small segments of each partition into larger ones.
    Compact(cmd::compact::CompactArgs),
    /// Repair a write-ahead log corrupted in the middle (the explicit, data-dropping path).
    Repair(cmd::repair::RepairArgs),
    /// List missing sessions/bars per symbol of a table against its trading calendar.
    Gaps(cmd::gaps::GapsArgs),
    /// Fetch what each symbol is missing against the calendar, resumably, with job state.
    Backfill(cmd::backfill::BackfillArgs),
    /// Show the fetch log (`log fetches`) or a table's compute log (`log compute`).
    Log(cmd::log::LogArgs),
    /// Run the daily backfill at a configured local time (misfire handling); --status.
    Schedule(cmd::schedule::ScheduleArgs),
    /// Report how old each symbol's newest bar is against its calendar; flag stale ones.
    Freshness(cmd::freshness::FreshnessArgs),
    /// Compare the same bars from two sources (vendors or the store) within a tolerance.
    SpotCheck(cmd::spot_check::SpotCheckArgs),
    /// Serve the store over HTTP (JSON, CSV, Arrow, Parquet) until Ctrl-C or SIGTERM.
    Serve(cmd::serve::ServeArgs),
    /// The symbol master: import reference files, list and filter symbols, map to provider tickers.
    Symbols(cmd::symbols::SymbolsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code_for(&err))
        }
    }
}

fn args_status(args: &cmd::schedule::ScheduleArgs) -> bool {
    args.status()
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let read_only = cli.read_only;
    let refuse = |name: &str| -> anyhow::Result<()> {
        if read_only {
            return Err(UsageError::new(format!(
                "--read-only cannot be used with `{name}`, which writes to the store"
            ))
            .into());
        }
        Ok(())
    };
    match cli.command {
        Command::Demo(args) => {
            refuse("demo")?;
            cmd::demo::run(&args)
        }
        Command::Import(args) => {
            refuse("import")?;
            cmd::import::run(&args)
        }
        Command::Fetch(args) => {
            if args.writes_store() {
                refuse("fetch")?;
            }
            cmd::fetch::run(&args)
        }
        Command::Compute(args) => cmd::compute::run(&args),
        Command::Query(args) => cmd::query::run(&args, read_only),
        Command::Dump(args) => cmd::dump::run(&args),
        Command::Verify(args) => cmd::verify::run(&args, read_only),
        Command::Compact(args) => {
            refuse("compact")?;
            cmd::compact::run(&args)
        }
        Command::Repair(args) => {
            refuse("repair")?;
            cmd::repair::run(&args)
        }
        Command::Gaps(args) => cmd::gaps::run(&args, read_only),
        Command::Backfill(args) => {
            refuse("backfill")?;
            cmd::backfill::run(&args)
        }
        Command::Schedule(args) => {
            if !args_status(&args) {
                refuse("schedule")?;
            }
            cmd::schedule::run(&args)
        }
        Command::Log(args) => cmd::log::run(&args, read_only),
        Command::Freshness(args) => cmd::freshness::run(&args, read_only),
        Command::SpotCheck(args) => cmd::spot_check::run(&args, read_only),
        Command::Serve(args) => cmd::serve::run(&args, read_only),
        Command::Symbols(args) => cmd::symbols::run(&args, read_only),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
