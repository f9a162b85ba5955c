//! `candlestore demo`: the quick start's main job on the bundled real sample data — import
//! every sample file into its table, compact, verify, and show what is in the store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
use candlestore::{CompactionPolicy, Store};
use clap::Args;

use super::import::{self, ImportArgs};
use super::serve;
use crate::time::format_micros;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Store directory to fill (created if missing; re-running finds everything unchanged).
    #[arg(long, value_name = "DIR", default_value = "candlestore-demo")]
    store: PathBuf,
    /// The repository's `testdata/` directory with the bundled sample files.
    #[arg(long, value_name = "DIR")]
    testdata: Option<PathBuf>,
    /// Stop after importing and showing the store instead of serving it over HTTP (for CI).
    #[arg(long)]
    no_serve: bool,
    /// Address to serve on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = candlestore_server::DEFAULT_ADDR)]
    addr: std::net::SocketAddr,
    /// Server config file (API keys, rate limit); without one, reads are public.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Lines printed when the demo starts serving: the browser pages, then curl examples (`{url}`
/// is the base URL).
const EXAMPLES: [&str; 8] = [
    "open {url}/chart/stocks_daily/AAPL in a browser (the chart page)",
    "open {url}/docs in a browser (the API documentation)",
    "curl {url}/api/v1/status",
    "curl '{url}/api/v1/symbols?table=stocks_daily&q=AA'",
    "curl '{url}/api/v1/bars/stocks_daily/AAPL?start=2018-01-01&end=2018-01-31&fields=datetime,close,rsi,sma_50'",
    "curl '{url}/api/v1/bars/stocks_daily/AAPL?start=2018-01-01&format=csv&limit=5'",
    "curl -o aapl.parquet '{url}/api/v1/bars/stocks_daily/AAPL?format=parquet'",
    "curl -X POST {url}/api/v1/query -H 'content-type: application/json' -d '{\"table\":\"stocks_daily\",\"symbols\":[\"AAPL\",\"MSFT\"],\"fields\":\"datetime,close\",\"start\":\"2018-02-01\"}'",
];

/// (table, file relative to testdata/) of every bundled sample.
const SAMPLES: [(&str, &str); 6] = [
    ("stocks_daily", "sp500/all_stocks_5yr_sample.csv.gz"),
    ("stocks_daily", "backtrader/nvda-2014.txt"),
    ("stocks_daily", "backtrader/yhoo-2014.txt"),
    ("stocks_1min", "backtrader/2006-01-02-volume-min-001.txt.gz"),
    ("crypto_hourly", "crypto/BTCUSDT-1h-2022-01.csv"),
    ("crypto_1min", "crypto/AVAXUSDT-1m-2024-02-01.csv.gz"),
];

/// Reference files loaded into the symbol master first, so the imported bars carry sector,
/// exchange, MIC, currency and type (F3.1). Later files win on fields they both know: GICS
/// sectors from the S&P list replace the metadata file's.
const REFERENCE: [&str; 4] = [
    "reference/metadata.csv",
    "reference/sp500_constituents.csv",
    "reference/listings/nasdaq-listed-symbols.demo.csv",
    "reference/listings/other-listed.demo.csv",
];

/// Loads [`REFERENCE`] into the store's symbol master.
fn load_symbols(store_dir: &Path, testdata: &Path) -> anyhow::Result<()> {
    let store =
        Store::open(store_dir).with_context(|| format!("opening {}", store_dir.display()))?;
    for file in REFERENCE {
        let reference = candlestore_ingest::read_reference(&testdata.join(file), None)?;
        let report = store.upsert_symbols(reference.records)?;
        println!(
            "== symbols {file}: {} added, {} changed, {} unchanged",
            report.added, report.changed, report.unchanged
        );
    }
    Ok(())
}

fn testdata_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    let candidates =
        [PathBuf::from("testdata"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")];
    candidates
        .into_iter()
        .find(|d| d.join("README.md").is_file())
        .context("cannot find the bundled testdata/ directory: run from the repository root or pass --testdata DIR")
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let testdata = testdata_dir(args.testdata.as_deref())?;
    load_symbols(&args.store, &testdata)?;
    for (table, file) in SAMPLES {
        println!("== import {file} -> {table}");
        let code =
            import::run(&ImportArgs::for_files(&args.store, table, vec![testdata.join(file)]))?;
        if code != ExitCode::SUCCESS {
            anyhow::bail!("importing {file} failed");
        }
    }
    let store =
        Store::open(&args.store).with_context(|| format!("opening {}", args.store.display()))?;
    let compaction = store.compact(&CompactionPolicy::default())?;
    println!(
        "== compact: {} partitions merged ({} segments -> {})",
        compaction.tasks, compaction.segments_in, compaction.segments_out
    );
    let verify = store.verify()?;
    println!(
        "== verify: {} tables, {} segments, {} rows: {}",
        verify.tables,
        verify.segments,
        verify.rows,
        if verify.is_ok() { "ok".to_owned() } else { verify.problems.join("; ") }
    );
    for table in store.tables() {
        let batch = store.scan(&table).columns(["symbol"]).to_batch()?;
        let symbols = arrow::compute::cast(batch.column(0), &arrow::datatypes::DataType::Utf8)?;
        let mut names: Vec<&str> = symbols.as_string::<i32>().iter().flatten().collect();
        names.dedup();
        names.sort_unstable();
        names.dedup();
        println!("   {table:14} {:>7} bars, {:>3} symbols", batch.num_rows(), names.len());
    }
    let tech = store
        .scan("stocks_daily")
        .sector("Information Technology")
        .columns(["symbol", "exchange", "mic_code"])
        .to_batch()?;
    let tech_symbols = arrow::compute::cast(tech.column(0), &arrow::datatypes::DataType::Utf8)?;
    let mut tech_names: Vec<&str> = tech_symbols.as_string::<i32>().iter().flatten().collect();
    tech_names.sort_unstable();
    tech_names.dedup();
    println!(
        "== sector scan: stocks_daily, sector \"Information Technology\": {} bars of {}",
        tech.num_rows(),
        tech_names.join(" ")
    );
    let last = store
        .scan("stocks_daily")
        .symbol("AAPL")
        .columns([
            "datetime",
            "close",
            "volume",
            "rsi",
            "macd",
            "sma_50",
            "bb_percent",
            "atr",
            "regime_trend",
            "quality_score",
        ])
        .to_batch()?;
    print_tail(&last, 5);
    println!(
        "\nNext: candlestore query --store {0} --table stocks_daily --symbol AAPL --start 2018-01-01 --format csv\n      \
         duckdb -c \"SELECT symbol, count(*) FROM read_parquet('{0}/stocks_daily/**/*.parquet', hive_partitioning=true) GROUP BY 1\"",
        args.store.display()
    );
    if !verify.is_ok() {
        return Ok(ExitCode::from(1));
    }
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    println!();
    let config = serve::load_config(args.config.as_deref())?;
    serve::serve(candlestore_server::Server::builder(store, config), args.addr, &EXAMPLES)
}

fn print_tail(batch: &RecordBatch, n: usize) {
    println!("\n== AAPL, last {n} daily bars with some of the 97 fields the store computed");
    println!(
        "{:27} {:>9} {:>10} {:>6} {:>7} {:>8} {:>6} {:>6} {:>8} {:>7}",
        "datetime", "close", "volume", "rsi", "macd", "sma_50", "%b", "atr", "trend", "quality"
    );
    let ts = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    let f = |c: usize, i: usize| {
        let a = batch.column(c).as_primitive::<Float64Type>();
        if a.is_null(i) { f64::NAN } else { a.value(i) }
    };
    let trend = arrow::compute::cast(batch.column(8), &arrow::datatypes::DataType::Utf8);
    for i in batch.num_rows().saturating_sub(n)..batch.num_rows() {
        let label = trend
            .as_ref()
            .ok()
            .map(|t| t.as_string::<i32>())
            .filter(|t| t.is_valid(i))
            .map_or("", |t| t.value(i));
        println!(
            "{:27} {:>9.4} {:>10.0} {:>6.1} {:>7.3} {:>8.3} {:>6.2} {:>6.3} {:>8} {:>7.2}",
            format_micros(ts.value(i)),
            f(1, i),
            f(2, i),
            f(3, i),
            f(4, i),
            f(5, i),
            f(6, i),
            f(7, i),
            label,
            f(9, i)
        );
    }
}
