//! `candlestore verify`: re-read every file of the store and report every problem.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use crate::open::{Access, open_store};

/// Arguments of `verify`.
#[derive(Debug, Args)]
#[command(after_help = "Checks segment checksums and sizes, Parquet decodability, row order \
    and key uniqueness, partition bounds, the index against the segments, the corrections \
    files and the WAL framing; with --fields, also recomputes every series' derived fields and \
    compares them with the stored ones. Exit code 0 if the store is consistent, 1 if any \
    problem was found.")]
pub(crate) struct VerifyArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Also recompute the 97 fields of every series and compare with the stored values
    /// (reads every table whole).
    #[arg(long)]
    fields: bool,
}

pub(crate) fn run(args: &VerifyArgs, read_only: bool) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.store, Access::Read { read_only })?;
    let recovery = store.recovery_report();
    if let Some((path, offset, dropped)) = &recovery.torn_tail {
        println!(
            "note: opening cut a torn write off the WAL: {} at offset {offset} ({dropped} bytes)",
            path.display()
        );
    }
    let mut report = store.verify().context("verification could not run")?;
    if args.fields {
        for table in store.tables() {
            let problems = store
                .verify_fields(&table)
                .with_context(|| format!("recomputing the fields of {table} failed"))?;
            println!(
                "{table}: derived fields {}",
                if problems.is_empty() { "ok" } else { "DIFFER" }
            );
            report.problems.extend(problems);
        }
    }
    println!(
        "checked {} table(s), {} segment(s) with {} rows, {} WAL frame(s)",
        report.tables, report.segments, report.rows, report.wal_frames
    );
    if report.is_ok() {
        println!("no problems found");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} problem(s):", report.problems.len());
    for p in &report.problems {
        println!("  {p}");
    }
    Ok(ExitCode::FAILURE)
}
