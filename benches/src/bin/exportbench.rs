//! What one HTTP range response costs the server, without the network: a warm scan of one
//! symbol's range written through the export writers (JSON, CSV, Arrow IPC, Parquet) into
//! memory, the work `GET /api/v1/bars` does per request before the bytes reach the socket.
//!
//! usage: exportbench --store DIR [--table stocks_daily] [--symbol AAPL]
//!        [--start 2017-01-01] [--end 2018-01-01] [--fields open,high,…] [--reps 2000]
//!        [--formats json,csv,arrow,parquet]
//!
//! Prints, per format: rows, bytes, p50/p99 µs per response on one thread (the scan's column
//! cache is warm: the first run of each format is discarded).

use std::time::Instant;

use candlestore::Store;
use candlestore::export::{BatchWriter, Format};
use chrono::NaiveDate;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn micros(date: &str) -> i64 {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a YYYY-MM-DD date");
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_micros()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let store_dir = arg(&args, "--store").ok_or("--store DIR is required")?;
    let table = arg(&args, "--table").unwrap_or_else(|| "stocks_daily".into());
    let symbol = arg(&args, "--symbol").unwrap_or_else(|| "AAPL".into());
    let start = micros(&arg(&args, "--start").unwrap_or_else(|| "2017-01-01".into()));
    let end = micros(&arg(&args, "--end").unwrap_or_else(|| "2018-01-01".into()));
    let fields: Option<Vec<String>> =
        arg(&args, "--fields").map(|f| f.split(',').map(str::to_owned).collect());
    let reps: usize = arg(&args, "--reps").map_or(Ok(2000), |r| r.parse())?;
    let formats: Vec<Format> = match arg(&args, "--formats") {
        None => Format::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|f| {
                Format::ALL.into_iter().find(|x| x.name() == f).ok_or(format!("unknown format {f}"))
            })
            .collect::<Result<_, _>>()?,
    };
    let store = Store::builder(&store_dir).read_only().open()?;
    println!("| format | rows | bytes | p50 µs | p99 µs |");
    println!("|---|--:|--:|--:|--:|");
    for format in formats {
        let mut samples = Vec::with_capacity(reps);
        let (mut rows, mut bytes) = (0u64, 0usize);
        for rep in 0..=reps {
            let t0 = Instant::now();
            let mut scan = store.scan(&table).symbol(symbol.clone()).start(start).end(end);
            if let Some(f) = &fields {
                scan = scan.columns(f.iter().cloned());
            }
            let scan = scan.build()?;
            let schema = scan.schema();
            let mut out = Vec::new();
            let mut writer = BatchWriter::try_new(format, &mut out, &schema)?;
            for batch in scan {
                writer.write(&batch?)?;
            }
            let (_, n) = writer.finish()?;
            rows = n;
            let dt = t0.elapsed();
            if rep > 0 {
                samples.push(dt.as_secs_f64() * 1e6);
            }
            bytes = out.len();
        }
        samples.sort_by(f64::total_cmp);
        let q = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
        println!("| {} | {rows} | {bytes} | {:.0} | {:.0} |", format.name(), q(0.5), q(0.99));
    }
    Ok(())
}
