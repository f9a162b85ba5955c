//! Parse + validate throughput of the file importers, without a store: what
//! `candlestore import` does before the engine sees a batch — decompress, detect the layout,
//! parse every field, convert timestamps to UTC, reject rows with missing or non-numeric
//! OHLCV (with line numbers), flag duplicate keys, and build the Arrow batches.
//!
//! usage: parsebench FILE... [--reps 5]
//!
//! Prints rows accepted/rejected and the best and median rows/s over `reps` passes of each
//! file (one thread: the importer is a single streaming pass).

use std::path::PathBuf;
use std::time::Instant;

use candlestore_ingest::{ImportOptions, open};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut files = Vec::new();
    let mut reps = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--reps" {
            reps = args.next().ok_or("--reps N")?.parse()?;
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if files.is_empty() {
        return Err("usage: parsebench FILE... [--reps 5]".into());
    }
    println!("| file | layout | rows accepted | rejected | best rows/s | median rows/s |");
    println!("|---|---|--:|--:|--:|--:|");
    for file in &files {
        let mut rates = Vec::with_capacity(reps);
        let (mut rows, mut rejected, mut layout) = (0u64, 0u64, String::new());
        for _ in 0..reps.max(1) {
            let t0 = Instant::now();
            let mut reader = open(file, &ImportOptions::default())?;
            layout = format!("{:?}", reader.layout());
            rows = 0;
            for batch in reader.by_ref() {
                rows += batch?.num_rows() as u64;
            }
            rejected = reader.stats().rows_rejected;
            let read = reader.stats().rows_read;
            rates.push(read as f64 / t0.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        let name = file.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        println!(
            "| {name} | {layout} | {rows} | {rejected} | {:.2} M | {:.2} M |",
            rates[rates.len() - 1] / 1e6,
            rates[rates.len() / 2] / 1e6
        );
    }
    Ok(())
}
