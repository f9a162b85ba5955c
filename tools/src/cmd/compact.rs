//! `candlestore compact`: merge the small segments of each partition.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::CompactionPolicy;
use clap::Args;

use crate::cmd::dump::read_manifest;
use crate::error::usage;
use crate::open::{Access, open_store};

/// Arguments of `compact`.
#[derive(Debug, Args)]
#[command(after_help = "Each daily import leaves small segments in the partitions it \
    touches; compaction merges them (per partition, consecutive segments up to --target-rows) \
    without changing what queries return.")]
pub(crate) struct CompactArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Print the merges that would run, change nothing (works while the store is in use).
    #[arg(long)]
    dry_run: bool,
    /// Merge a partition once it has at least this many segments (at least 2).
    #[arg(long, value_name = "N", default_value_t = CompactionPolicy::default().min_segments)]
    min_segments: usize,
    /// Upper bound on the rows of one merged segment.
    #[arg(long, value_name = "N", default_value_t = CompactionPolicy::default().target_rows)]
    target_rows: u64,
    /// Rows merged between two commits: bounds the memory of a run over a large backlog.
    #[arg(long, value_name = "N", default_value_t = CompactionPolicy::default().group_rows)]
    group_rows: u64,
}

pub(crate) fn run(args: &CompactArgs) -> anyhow::Result<ExitCode> {
    if args.min_segments < 2 {
        return usage(format!("--min-segments {} must be at least 2", args.min_segments));
    }
    if args.target_rows == 0 {
        return usage("--target-rows must be at least 1");
    }
    if args.group_rows == 0 {
        return usage("--group-rows must be at least 1");
    }
    let policy = CompactionPolicy {
        min_segments: args.min_segments,
        target_rows: args.target_rows,
        group_rows: args.group_rows,
    };
    if args.dry_run {
        let store = open_store(&args.store, Access::Read { read_only: true })?;
        let plan = store.compaction_plan(&policy);
        if plan.is_empty() {
            println!(
                "nothing to compact (no partition has {} or more mergeable segments)",
                args.min_segments
            );
            return Ok(ExitCode::SUCCESS);
        }
        let inputs: usize = plan.iter().map(|t| t.inputs.len()).sum();
        println!("{} merge(s) would turn {inputs} segments into {}:", plan.len(), plan.len());
        for t in &plan {
            let ids: Vec<String> = t.inputs.iter().map(u64::to_string).collect();
            println!(
                "  {} {}: segments {} -> one segment of {} rows",
                t.table,
                t.partition,
                ids.join(", "),
                t.rows
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store(&args.store, Access::Write { create: false })?;
    let before = live_segments(&args.store)?;
    let report = store.compact(&policy).context("compaction failed")?;
    drop(store);
    let after = live_segments(&args.store)?;
    if report.tasks == 0 {
        println!(
            "nothing to compact (no partition has {} or more mergeable segments)",
            args.min_segments
        );
    } else {
        println!(
            "ran {} merge(s) in {} commit(s): {} segments -> {}, {} rows rewritten",
            report.tasks, report.commits, report.segments_in, report.segments_out, report.rows
        );
    }
    println!("live segments: {before} before, {after} after");
    Ok(ExitCode::SUCCESS)
}

/// Live segments in the manifest (the engine has no public accessor for them yet).
fn live_segments(dir: &Path) -> anyhow::Result<usize> {
    let manifest = read_manifest(&dir.join("_meta").join("MANIFEST"))?;
    Ok(manifest.map_or(0, |m| m.tables.values().map(|t| t.segments.len()).sum()))
}
