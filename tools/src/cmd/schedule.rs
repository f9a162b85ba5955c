//! `candlestore schedule`: run the daily backfill at the configured local time, with misfire
//! handling; `--status` shows the last and next run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore_ingest::{
    Backfill, BackfillSpec, Connectors, Decision, ProvidersConfig, ScheduleConfig, ScheduleState,
    decide, master_tickers,
};
use chrono::{DateTime, Utc};
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
    let root = args.store.clone();
    let backfill = Backfill::new(store.clone(), Connectors::new(&providers)?)
        .with_tickers(master_tickers(store));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        loop {
            let mut state = ScheduleState::load(&root)?;
            let last = state.last_slot.and_then(DateTime::<Utc>::from_timestamp_micros);
            match decide(&config, last, Utc::now()) {
                Decision::Run { slot, misfire } => {
                    let (start, end) = config.window(slot);
                    eprintln!(
                        "schedule: running the {} slot{} for {start}..={end}",
                        format_micros(slot.timestamp_micros()),
                        if misfire { " (missed, within grace)" } else { "" }
                    );
                    // The slot is recorded before the run: a crash mid-run must not make
                    // the next start run it again (the backfill itself resumes by gaps).
                    state.last_slot = Some(slot.timestamp_micros());
                    state.last_started = Some(Utc::now().timestamp_micros());
                    state.next_slot = Some(config.slot_after(slot).timestamp_micros());
                    state.save(&root)?;
                    let spec = BackfillSpec {
                        table: config.table.clone(),
                        symbols: config.universe.clone(),
                        start,
                        end,
                        source: None,
                        concurrency: args.concurrency.max(1),
                    };
                    state.last_outcome = Some(match backfill.run(&spec, |_| {}).await {
                        Ok(s) => format!(
                            "{} ok, {} failed, {} skipped; {} bars written, {} requests",
                            s.ok(),
                            s.failed(),
                            s.skipped(),
                            s.bars_written(),
                            s.requests()
                        ),
                        Err(e) => format!("error: {e}"),
                    });
                    state.last_finished = Some(Utc::now().timestamp_micros());
                    state.save(&root)?;
                    eprintln!("schedule: {}", state.last_outcome.as_deref().unwrap_or(""));
                }
                Decision::Wait { until, skipped } => {
                    if let Some(s) = skipped {
                        eprintln!(
                            "schedule: the {} slot was missed beyond the grace period; skipped",
                            format_micros(s.timestamp_micros())
                        );
                    }
                    state.next_slot = Some(until.timestamp_micros());
                    state.save(&root)?;
                    eprintln!("schedule: next run {}", format_micros(until.timestamp_micros()));
                    let wait = (until - Utc::now()).to_std().unwrap_or_default();
                    tokio::time::sleep(wait).await;
                }
                _ => anyhow::bail!("unexpected schedule decision"),
            }
        }
    })
}
