//! `candlestore repair --wal`: the explicit path for a write-ahead log corrupted before its
//! end. Opening such a store fails (nothing is dropped silently); this command shows exactly
//! what cutting the log at the first defect would drop and, with `--yes`, does it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::FsStorage;
use candlestore::inspect::{WalFileInfo, inspect_wal, repair_wal};
use clap::Args;

use crate::open::{Access, open_store, require_store_dir};

/// Bytes of a WAL file header (format-spec/wal.md); a defect inside it removes the file.
const WAL_HEADER_LEN: u64 = 28;

/// Arguments of `repair`.
#[derive(Debug, Args)]
#[command(after_help = "Without --yes nothing is changed: the command prints where the log \
    would be cut and which frames (writes) would be lost. With --yes it cuts the log at its \
    first invalid header, frame or LSN gap, deletes every later WAL file, and checks that the \
    store opens. Writes in the dropped frames are lost: re-import their files afterwards.")]
pub(crate) struct RepairArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Repair the write-ahead log (the only repair there is so far).
    #[arg(long, required = true)]
    wal: bool,
    /// Really cut the log; without it, only describe what would be dropped.
    #[arg(long)]
    yes: bool,
}

/// Where the first defect is and what cutting there drops.
#[derive(Debug)]
struct Plan<'a> {
    file: &'a WalFileInfo,
    defect: String,
    defect_offset: u64,
    cut: u64,
    later: &'a [WalFileInfo],
    frames_dropped: usize,
    intact_dropped: usize,
    bytes_dropped: u64,
}

fn plan(files: &[WalFileInfo]) -> Option<Plan<'_>> {
    let i = files.iter().position(|f| !f.defects.is_empty())?;
    let file = &files[i];
    let first = file.defects.iter().min_by_key(|d| d.offset)?;
    let cut = if first.offset < WAL_HEADER_LEN { 0 } else { first.offset };
    let later = &files[i + 1..];
    let dropped = || {
        file.frames.iter().filter(|f| f.offset >= cut).chain(later.iter().flat_map(|f| &f.frames))
    };
    // The defective frame itself is not an intact write; everything valid after it is.
    let intact_here = file.frames.iter().filter(|f| f.offset > first.offset && f.crc_ok).count();
    let intact_later = later.iter().flat_map(|f| &f.frames).filter(|f| f.crc_ok).count();
    Some(Plan {
        file,
        defect: first.defect.to_string(),
        defect_offset: first.offset,
        cut,
        later,
        frames_dropped: dropped().count(),
        intact_dropped: intact_here + intact_later,
        bytes_dropped: file.size.saturating_sub(cut) + later.iter().map(|f| f.size).sum::<u64>(),
    })
}

pub(crate) fn run(args: &RepairArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.store;
    require_store_dir(dir)?;
    let storage = FsStorage::new(dir)
        .with_context(|| format!("cannot open store directory {}", dir.display()))?;
    let wal_dir = Path::new("_meta/wal");
    let files = inspect_wal(&storage, wal_dir).context("cannot read the write-ahead log")?;
    let frames: usize = files.iter().map(|f| f.frames.len()).sum();
    let Some(plan) = plan(&files) else {
        println!(
            "the write-ahead log ({} file(s), {frames} frame(s)) has no defect; nothing to repair",
            files.len()
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "first defect: {} at offset {}: {}",
        plan.file.path.display(),
        plan.defect_offset,
        plan.defect
    );
    if plan.cut == 0 {
        println!("  {} would be removed (its header is invalid)", plan.file.path.display());
    } else {
        println!(
            "  {} would be cut to {} bytes (from {})",
            plan.file.path.display(),
            plan.cut,
            plan.file.size
        );
    }
    for f in plan.later {
        println!("  {} would be removed ({} frame(s))", f.path.display(), f.frames.len());
    }
    println!(
        "  frames dropped: {} ({} of them with a valid checksum, i.e. writes that are lost), {} bytes",
        plan.frames_dropped, plan.intact_dropped, plan.bytes_dropped
    );
    if !args.yes {
        println!(
            "nothing was changed; run `candlestore repair --store {} --wal --yes` to cut the log there",
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let lock = lock_store(dir)?;
    let report = repair_wal(&storage, wal_dir).context("the WAL repair failed")?;
    drop(lock);
    match &report.cut {
        Some(cut) if cut.file_removed => {
            println!("removed {} ({})", cut.path.display(), cut.defect)
        }
        Some(cut) => {
            println!("cut {} at offset {} ({})", cut.path.display(), cut.offset, cut.defect)
        }
        None => println!("the log was already valid; nothing changed"),
    }
    for f in &report.removed_files {
        println!("removed {}", f.display());
    }
    println!(
        "kept {} frame(s); dropped {} intact frame(s) and {} bytes; the next write gets LSN {}",
        report.frames_kept, report.intact_frames_dropped, report.bytes_dropped, report.next_lsn
    );
    let store = open_store(dir, Access::Write { create: false })
        .context("the store still does not open after the repair")?;
    println!(
        "the store opens again ({} frame(s) replayed); re-import whatever the dropped writes held",
        store.recovery_report().frames_replayed
    );
    Ok(ExitCode::SUCCESS)
}

/// Takes the store's writer lock (the engine's `_meta/LOCK`) so no process writes the log
/// while it is cut.
fn lock_store(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join("_meta").join("LOCK");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => anyhow::bail!(
            "store {} is locked by another process (lock file {}); stop it before repairing",
            dir.display(),
            path.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}
