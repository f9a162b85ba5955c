//! Writes the seed corpora in `seeds/<target>/`: the golden and corrupt fixtures from
//! `testdata/`, plus files produced by a real store (a WAL holding real append records, an
//! index and a manifest after a flush), whose payloads reach the decoders behind the framing.
//! Run with `cargo run --release --bin replay -- --write-seeds`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use candlestore::{AppendOptions, ManualClock, MemStorage, Storage, Store};

use crate::targets::WAL_FILE;

const DAY: i64 = 86_400_000_000;
/// 2024-01-30T00:00:00Z in µs: two days each side of a month (= partition) boundary.
const JAN30_2024: i64 = 1_706_572_800_000_000;

fn bars(rows: &[(&str, i64, f64)]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new(
            "datetime",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("open", DataType::Float64, false),
        Field::new("high", DataType::Float64, false),
        Field::new("low", DataType::Float64, false),
        Field::new("close", DataType::Float64, false),
        Field::new("volume", DataType::Float64, false),
    ]));
    let f = |g: fn(f64) -> f64| {
        Arc::new(Float64Array::from(rows.iter().map(|r| g(r.2)).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(rows.iter().map(|r| Some(r.0)).collect::<StringArray>()),
            Arc::new(
                TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            f(|c| c - 0.5),
            f(|c| c + 1.0),
            f(|c| c - 1.0),
            f(|c| c),
            f(|c| c * 100.0),
        ],
    )
    .expect("seed batch")
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

fn first_file(mem: &MemStorage, dir: &str, suffix: &str) -> io::Result<Vec<u8>> {
    let name = mem
        .list(Path::new(dir))?
        .into_iter()
        .find(|n| n.ends_with(suffix))
        .ok_or_else(|| other(format!("no {suffix} file in {dir}")))?;
    Ok(mem.read(&Path::new(dir).join(name))?.to_vec())
}

/// Writes every seed; returns the files written.
pub fn write_all(seeds: &Path, testdata: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut put = |target: &str, name: &str, bytes: &[u8]| -> io::Result<()> {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        written.push(path);
        Ok(())
    };
    for (target, dir, name) in [
        ("wal_replay", "wal", "golden-v1.wal"),
        ("wal_replay", "wal", "corrupt-mid-v1.wal"),
        ("index_open", "index", "golden-v1.idx"),
        ("index_open", "index", "corrupt-crc-v1.idx"),
        ("manifest_decode", "manifest", "golden-v1.manifest"),
        ("kernel_state", "kernel", "golden-v1.state"),
    ] {
        let src = testdata.join(dir).join(name);
        if src.exists() {
            put(target, name, &std::fs::read(&src)?)?;
        }
    }

    // A real store: two appends (the second revising one bar and adding a symbol), spanning
    // two monthly partitions.
    let mem = MemStorage::new();
    // A fixed clock and batch ids keep the seeds byte-for-byte reproducible.
    let clock = Arc::new(ManualClock::new(JAN30_2024 + 5 * DAY));
    let store = Store::builder_with_storage(Arc::new(mem.clone()))
        .with_clock(clock)
        .open()
        .map_err(other)?;
    let t = JAN30_2024;
    let first =
        bars(&[("AAPL", t, 185.5), ("AAPL", t + DAY, 186.25), ("MSFT", t + 3 * DAY, 402.0)]);
    let second = bars(&[("AAPL", t + DAY, 187.0), ("BRK.B", t + 2 * DAY, 380.75)]);
    for (batch, id) in [(&first, "seed-1"), (&second, "seed-2")] {
        let options = AppendOptions::default().with_batch_id(id);
        let _ = store.append_with("stocks_daily", batch, &options).map_err(other)?;
    }
    put("wal_replay", "store-two-appends.wal", &mem.read(Path::new(WAL_FILE))?)?;
    let _ = store.flush().map_err(other)?;
    put("index_open", "store-flushed.idx", &first_file(&mem, "_meta/index", ".idx")?)?;
    put("manifest_decode", "store-flushed.manifest", &mem.read(Path::new("_meta/MANIFEST"))?)?;
    put("kernel_state", "store-flushed.state", &first_file(&mem, "_meta/kernel", ".state")?)?;
    Ok(written)
}
