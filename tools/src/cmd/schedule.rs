//! `candlestore schedule`: run the daily backfill at the configured local time, with misfire
//! handling; `--status` shows the last and next run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore_ingest::{
    Backfill, Connectors, ProvidersConfig, ScheduleConfig, ScheduleState, Scheduler, Tick,
    master_tickers,
};
use chrono::Utc;
use clap::Args;

use crate::error::UsageError;
use crate::open::{Access, open_store, require_store_dir};
use crate::time::format_micros;

/// Arguments of `schedule`.
#[derive(Debug, Args)]
#[command(after_help = "The config file's [schedule] section: time = \"18:30\", timezone = \
    \"America/New_York\", table = \"stocks_daily\", universe = [\"AAPL\", ...] or universe_file \
    = \"file\", lookback_days = 7, grace = \"6h\"; providers as for `fetch`. Each day at the \
    local time, the symbols are backfilled over the lookback window. A run missed while the \
    process was down runs once at start-up when it is at most `grace` old, never twice. The \
    last and next run are kept in <store>/_ingest/schedule.state.\nExamples:\n  candlestore \
    schedule --store bars --config candlestore.toml\n  candlestore schedule --store bars \
    --config candlestore.toml --status")]
pub(crate) struct ScheduleArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// TOML config file with [schedule] (and [providers.<name>]).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Print the last and next run and exit.
    #[arg(long)]
    status: bool,
    /// Symbols fetched at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
}

impl ScheduleArgs {
    /// Whether only the status is asked for (no writes).
    pub(crate) fn status(&self) -> bool {
        self.status
    }
}

fn show(t: Option<i64>) -> String {
    t.map_or_else(|| "never".to_owned(), format_micros)
}

pub(crate) fn run(args: &ScheduleArgs) -> anyhow::Result<ExitCode> {
    let config = ScheduleConfig::load(&args.config).map_err(|e| UsageError::new(e.to_string()))?;
    if args.status {
        require_store_dir(&args.store)?;
        let state = ScheduleState::load(&args.store)?;
        let next = config.slot_after(Utc::now()).timestamp_micros();
        println!("table: {} ({} symbols)", config.table, config.universe.len());
        println!("daily at: {} {}", config.time.format("%H:%M"), config.timezone);
        println!(
            "last run: slot {} (started {}, finished {})",
            show(state.last_slot),
            show(state.last_started),
            show(state.last_finished)
        );
        println!("last outcome: {}", state.last_outcome.as_deref().unwrap_or("-"));
        println!("next run: {}", format_micros(next));
        return Ok(ExitCode::SUCCESS);
    }
    let providers =
        ProvidersConfig::load(Some(&args.config)).map_err(|e| UsageError::new(e.to_string()))?;
    let store = open_store(&args.store, Access::Write { create: true })?;
    let backfill = Backfill::new(store.clone(), Connectors::new(&providers)?)
        .with_tickers(master_tickers(store));
    let scheduler = Scheduler::new(config, args.store.clone(), args.concurrency);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(scheduler.run_forever(
        |spec| {
            let backfill = backfill.clone();
            async move { backfill.run(&spec, |_| {}).await.map_err(|e| e.to_string()) }
        },
        |tick| match tick {
            Tick::Ran { slot, misfire, window: (start, end), outcome } => eprintln!(
                "schedule: ran the {} slot{} for {start}..={end}: {outcome}",
                format_micros(slot.timestamp_micros()),
                if *misfire { " (missed, within grace)" } else { "" }
            ),
            Tick::Wait { until, skipped } => {
                if let Some(s) = skipped {
                    eprintln!(
                        "schedule: the {} slot was missed beyond the grace period; skipped",
                        format_micros(s.timestamp_micros())
                    );
                }
                eprintln!("schedule: next run {}", format_micros(until.timestamp_micros()));
            }
            _ => {}
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}
