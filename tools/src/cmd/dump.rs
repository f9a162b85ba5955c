//! `candlestore dump`: the store's own files in readable form. It reads the files directly
//! (no store is opened, no lock taken), so it works on a store that is in use or that does
//! not open.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use candlestore::inspect::{TableIndex, WalFileInfo, inspect_wal};
use candlestore::{FsStorage, Manifest, TableManifest};
use clap::{Args, ValueEnum};

use crate::error::usage;
use crate::open::require_store_dir;
use crate::time::format_micros;

/// What `dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum What {
    /// Generation, checkpoint and a line per table.
    Manifest,
    /// Every live segment: partition, rows, bytes, datetime range, path.
    Segments,
    /// Each table's symbol index.
    Index,
    /// Write-ahead log files and their frames.
    Wal,
    /// All of the above.
    All,
}

/// Arguments of `dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// Store directory.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// What to print.
    #[arg(long, value_enum, default_value_t = What::All)]
    what: What,
    /// Only this table (manifest, segments and index sections).
    #[arg(long, value_name = "T")]
    table: Option<String>,
}

pub(crate) fn run(args: &DumpArgs) -> anyhow::Result<ExitCode> {
    let dir = &args.store;
    require_store_dir(dir)?;
    let want = |w: What| args.what == What::All || args.what == w;
    let mut out = String::new();
    if want(What::Manifest) || want(What::Segments) || want(What::Index) {
        let manifest_path = dir.join("_meta").join("MANIFEST");
        let manifest = read_manifest(&manifest_path)?;
        if let Some(t) = &args.table
            && !manifest.as_ref().is_some_and(|m| m.tables.contains_key(t))
        {
            let known: Vec<&str> =
                manifest.iter().flat_map(|m| m.tables.keys().map(String::as_str)).collect();
            return usage(format!(
                "unknown table {t:?} in the manifest of {} (its tables: {})",
                dir.display(),
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ));
        }
        let tables: Vec<(&String, &TableManifest)> = manifest
            .iter()
            .flat_map(|m| m.tables.iter())
            .filter(|(name, _)| args.table.as_ref().is_none_or(|t| t == *name))
            .collect();
        if want(What::Manifest) {
            match &manifest {
                Some(m) => dump_manifest(&mut out, &manifest_path, m, &tables)?,
                None => writeln!(
                    out,
                    "manifest {}: none yet (nothing has been flushed)",
                    manifest_path.display()
                )?,
            }
        }
        if want(What::Segments) {
            dump_segments(&mut out, &tables)?;
        }
        if want(What::Index) {
            dump_index(&mut out, dir, &tables)?;
        }
    }
    if want(What::Wal) {
        let storage = FsStorage::new(dir)
            .with_context(|| format!("cannot open store directory {}", dir.display()))?;
        let files = inspect_wal(&storage, Path::new("_meta/wal"))
            .context("cannot read the write-ahead log")?;
        dump_wal(&mut out, &files)?;
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Reads and decodes the manifest; `None` if the store has none yet.
pub(crate) fn read_manifest(path: &Path) -> anyhow::Result<Option<Manifest>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read manifest {}", path.display()));
        }
    };
    Ok(Some(Manifest::decode(&bytes, path)?))
}

fn dump_manifest(
    out: &mut String,
    path: &Path,
    m: &Manifest,
    tables: &[(&String, &TableManifest)],
) -> anyhow::Result<()> {
    writeln!(out, "manifest {}", path.display())?;
    writeln!(
        out,
        "  generation {}, next file id {}, checkpoint LSN {} (WAL frames below it are in segments)",
        m.generation, m.next_file_id, m.checkpoint_lsn
    )?;
    writeln!(out, "  {} table(s)", m.tables.len())?;
    for (name, t) in tables {
        let rows: u64 = t.segments.iter().map(|s| s.rows).sum();
        let bytes: u64 = t.segments.iter().map(|s| s.bytes).sum();
        writeln!(
            out,
            "  table {name}: asset class {}, timeframe {}, {} segment(s), {rows} rows, {bytes} bytes",
            t.asset_class,
            t.timeframe,
            t.segments.len()
        )?;
        writeln!(out, "    index: {}", t.index.as_deref().unwrap_or("none"))?;
        if t.corrections.is_empty() {
            writeln!(out, "    corrections: none")?;
        }
        for c in &t.corrections {
            writeln!(out, "    corrections: {} ({} rows, {} bytes)", c.path, c.rows, c.bytes)?;
        }
    }
    Ok(())
}

fn dump_segments(out: &mut String, tables: &[(&String, &TableManifest)]) -> anyhow::Result<()> {
    for (name, t) in tables {
        writeln!(out, "segments of {name}: {}", t.segments.len())?;
        writeln!(
            out,
            "  {:>8} {:<18} {:>10} {:>12}  {:<27}    {:<27} {:>7} {:>5}  path",
            "id", "partition", "rows", "bytes", "min datetime", "max datetime", "symbols", "level"
        )?;
        for s in &t.segments {
            writeln!(
                out,
                "  {:>8} {:<18} {:>10} {:>12}  {} .. {} {:>7} {:>5}  {}",
                s.id,
                s.partition,
                s.rows,
                s.bytes,
                format_micros(s.min_ts),
                format_micros(s.max_ts),
                s.symbols,
                s.level,
                s.path
            )?;
        }
    }
    Ok(())
}

fn dump_index(
    out: &mut String,
    dir: &Path,
    tables: &[(&String, &TableManifest)],
) -> anyhow::Result<()> {
    for (name, t) in tables {
        let Some(rel) = &t.index else {
            writeln!(out, "index of {name}: none")?;
            continue;
        };
        let path = dir.join(rel);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read index {}", path.display()))?;
        match TableIndex::open(bytes::Bytes::from(bytes), &path) {
            Ok(index) => {
                writeln!(out, "index of {name}:")?;
                out.push_str(&index.describe());
            }
            // A broken index is something to show, not a reason to stop the dump.
            Err(e) => writeln!(out, "index of {name}: cannot be read: {e}")?,
        }
    }
    Ok(())
}

fn dump_wal(out: &mut String, files: &[WalFileInfo]) -> anyhow::Result<()> {
    writeln!(out, "write-ahead log: {} file(s)", files.len())?;
    for f in files {
        writeln!(out, "  {} ({} bytes)", f.path.display(), f.size)?;
        match &f.header {
            Some(h) => writeln!(
                out,
                "    header: format version {}, flags {:#x}, first LSN {}",
                h.version, h.flags, h.first_lsn
            )?,
            None => writeln!(out, "    header: invalid")?,
        }
        writeln!(out, "    {:>12} {:>10} {:>12}  checksum  lsn order", "offset", "LSN", "length")?;
        for fr in &f.frames {
            writeln!(
                out,
                "    {:>12} {:>10} {:>12}  {:<8}  {}",
                fr.offset,
                fr.lsn,
                fr.payload_len,
                if fr.crc_ok { "ok" } else { "BAD" },
                if fr.lsn_ok { "ok" } else { "BAD" }
            )?;
        }
        for d in &f.defects {
            writeln!(out, "    defect at offset {}: {}", d.offset, d.defect)?;
        }
    }
    Ok(())
}
