//! `candlestore gaps` and `candlestore freshness` end to end on the real S&P 500 sample.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

fn testdata(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel).display().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candlestore")).args(args).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs, asserts the exit code, returns (stdout, stderr). `gaps` and `freshness` run with
/// `--read-only` so the tests can share one store concurrently.
fn expect(code: i32, args: &[&str]) -> (String, String) {
    let mut args = args.to_vec();
    if matches!(args.first(), Some(&"gaps" | &"freshness")) {
        args.push("--read-only");
    }
    let args = &args[..];
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}:\nstdout: {}\nstderr: {}",
        text(&o.stdout),
        text(&o.stderr)
    );
    (text(&o.stdout), text(&o.stderr))
}

/// One store with the S&P 500 sample (30 symbols x 5 years), shared by the tests (read-only
/// commands only).
fn sp500_store() -> &'static str {
    static STORE: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = dir.path().join("store").display().to_string();
            let file = testdata("sp500/all_stocks_5yr_sample.csv.gz");
            expect(0, &["import", "--store", &store, "--table", "stocks_daily", &file]);
            (dir, store)
        })
        .1
}

#[test]
fn gaps_lists_the_known_holes_of_the_sample() {
    let store = sp500_store();
    let (out, _) = expect(
        1,
        &["gaps", "--store", store, "--table", "stocks_daily", "--symbol", "BMY,ORCL,AAPL"],
    );
    assert!(out.starts_with("table stocks_daily (NYSE calendar, 1d bars)\n"), "{out}");
    assert!(out.contains("    missing 2013-04-26: 1 session(s)\n"), "{out}");
    assert!(out.contains("    missing 2013-06-07: 1 session(s)\n"), "{out}");
    assert!(out.contains("    missing 2013-07-15..2013-07-16: 2 session(s)\n"), "{out}");
    let aapl = out.lines().find(|l| l.starts_with("AAPL")).unwrap();
    assert!(aapl.contains("2013-02-08..2018-02-07") && aapl.contains(" 1259 "), "{aapl}");
    assert!(
        out.ends_with("2 of 3 symbol(s) have gaps: 4 missing sessions in 3 range(s)\n"),
        "{out}"
    );
}

#[test]
fn gaps_counts_rejected_rows_as_missing_and_reports_json() {
    // The importer rejects ES's 2015-07-17 row (empty open), so the store lacks that day too.
    let store = sp500_store();
    let (out, _) = expect(
        1,
        &[
            "gaps",
            "--store",
            store,
            "--table",
            "stocks_daily",
            "--symbol",
            "ES",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["calendar"], "NYSE");
    assert_eq!(v["timeframe"], "1d");
    let es = &v["symbols"][0];
    assert_eq!(es["missing"], 11);
    assert_eq!(es["ranges"][0]["first_session"], "2015-03-09");
    assert_eq!(es["ranges"][0]["last_session"], "2015-03-20");
    assert_eq!(es["ranges"][0]["bars"], 10);
    assert_eq!(es["ranges"][1]["first"], "2015-07-17");
    assert_eq!(v["summary"]["symbols_with_gaps"], 1);
}

#[test]
fn gaps_without_holes_exits_zero() {
    let store = sp500_store();
    let (out, _) = expect(
        0,
        &[
            "gaps",
            "--store",
            store,
            "--table",
            "stocks_daily",
            "--symbol",
            "AAPL,MSFT",
            "--start",
            "2014-01-01",
            "--end",
            "2014-12-31",
        ],
    );
    assert!(out.ends_with("no gaps: 2 symbol(s) checked\n"), "{out}");
    assert!(out.contains("2014-01-01..2014-12-31") && out.contains(" 252 "), "{out}");
}

#[test]
fn gaps_usage_errors_are_precise() {
    let store = sp500_store();
    let (_, err) = expect(2, &["gaps", "--store", store, "--table", "crypto_daily"]);
    assert_eq!(
        err,
        "error: table \"crypto_daily\" does not exist in the store (tables: stocks_daily)\n"
    );
    let (_, err) = expect(
        2,
        &[
            "gaps",
            "--store",
            store,
            "--table",
            "stocks_daily",
            "--start",
            "2015-02-01",
            "--end",
            "2015-01-01",
        ],
    );
    assert_eq!(err, "error: --start 2015-02-01 is after --end 2015-01-01\n");
    let (_, err) =
        expect(2, &["gaps", "--store", store, "--table", "stocks_daily", "--start", "2015-02-30"]);
    assert_eq!(err, "error: --start \"2015-02-30\" is not a date: use YYYY-MM-DD\n");
    let (_, err) =
        expect(2, &["gaps", "--store", store, "--table", "stocks_daily", "--symbol", "ZZZZ"]);
    assert!(err.starts_with("error: symbol \"ZZZZ\" has no bars in table stocks_daily"), "{err}");
}

#[test]
fn freshness_reads_thresholds_from_the_config_file() {
    let store = sp500_store();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("candlestore.toml");
    std::fs::write(
        &config,
        "[server]\nport = 8080\n\n[freshness]\nstocks = \"2d\"\ncrypto = \"1h\"\n",
    )
    .unwrap();
    let config = config.display().to_string();
    // Saturday 2018-02-10 18:00 UTC: the sample ends on Wednesday 7th; Thursday 8th closed at
    // 21:00 UTC 1d 21h ago, Friday 9th is missing too.
    let args = [
        "freshness",
        "--store",
        store,
        "--table",
        "stocks_daily",
        "--symbol",
        "AAPL",
        "--now",
        "2018-02-10T18:00:00Z",
    ];
    let (out, _) = expect(0, &[&args[..], &["--config", &config]].concat());
    assert!(out.contains("last expected bar 2018-02-09"), "{out}");
    let row = out.lines().find(|l| l.starts_with("AAPL")).unwrap();
    assert!(
        row.contains("2018-02-07")
            && row.contains("3d 18h")
            && row.contains("1d 21h")
            && row.ends_with(" ok"),
        "{row}"
    );
    // With the default threshold (1 day) the same symbol is stale.
    let (out, _) = expect(1, &[&args[..], &["--format", "json"]].concat());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let aapl = &v["tables"][0]["symbols"][0];
    assert_eq!(aapl["is_stale"], true);
    assert_eq!(aapl["missing_bars"], 2);
    assert_eq!(aapl["overdue_seconds"], 45 * 3_600);
    assert_eq!(aapl["threshold_seconds"], 86_400);
}

#[test]
fn freshness_config_errors_name_the_file_line_and_key() {
    let store = sp500_store();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[freshness]\nstocks = \"2 days\"\n").unwrap();
    let (_, err) =
        expect(2, &["freshness", "--store", store, "--config", &config.display().to_string()]);
    assert!(
        err.contains("bad.toml:2:10: [freshness] stocks = \"2 days\" is not a duration"),
        "{err}"
    );
    let (_, err) = expect(2, &["freshness", "--store", store, "--table", "stocks_5min"]);
    assert!(err.starts_with("error: table \"stocks_5min\" does not exist"), "{err}");
}

#[test]
fn gaps_on_a_crypto_minute_table_uses_the_24_7_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    let file = testdata("crypto/AVAXUSDT-1m-2024-02-01.csv.gz");
    expect(0, &["import", "--store", &store, "--table", "crypto_1min", &file]);
    let (out, _) = expect(0, &["gaps", "--store", &store, "--table", "crypto_1min"]);
    assert!(out.starts_with("table crypto_1min (24/7 calendar, 1m bars)\n"), "{out}");
    assert!(out.contains(" 1440 ") && out.ends_with("no gaps: 1 symbol(s) checked\n"), "{out}");
    // Asked through the next day, the whole of 2024-02-02 is one missing range.
    let (out, _) =
        expect(1, &["gaps", "--store", &store, "--table", "crypto_1min", "--end", "2024-02-02"]);
    assert!(
        out.contains(
            "    missing 2024-02-02T00:00:00.000000Z..2024-02-02T23:59:00.000000Z: 1440 bar(s) in 1 session(s)\n"
        ),
        "{out}"
    );
}

#[test]
fn gaps_alignment_clock_matches_hour_bars_stamped_on_the_hour() {
    // The first two weeks of the real LEAN SPY hour bars (America/New_York, 09:00..15:00),
    // written in the generic layout with UTC offsets.
    use std::io::Read;
    let mut text = String::new();
    let file = std::fs::File::open(testdata("lean/spy-hour-1998-2021.csv.gz")).unwrap();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut csv = String::from("symbol,datetime,open,high,low,close,volume\n");
    for line in text.lines().take_while(|l| l < &"19980117") {
        let f: Vec<&str> = line.split(',').collect();
        let t = chrono::NaiveDateTime::parse_from_str(f[0], "%Y%m%d %H:%M").unwrap();
        let t = t.and_local_timezone(chrono_tz::America::New_York).single().unwrap();
        let px = |s: &str| s.parse::<f64>().unwrap() / 10_000.0;
        csv.push_str(&format!(
            "SPY,{},{},{},{},{},{}\n",
            t.to_rfc3339(),
            px(f[1]),
            px(f[2]),
            px(f[3]),
            px(f[4]),
            f[5]
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("spy-hour.csv");
    std::fs::write(&input, csv).unwrap();
    let store = dir.path().join("store").display().to_string();
    expect(
        0,
        &["import", "--store", &store, "--table", "stocks_hourly", &input.display().to_string()],
    );
    let (out, _) =
        expect(0, &["gaps", "--store", &store, "--table", "stocks_hourly", "--alignment", "clock"]);
    // 1998-01-02 .. 1998-01-16: 11 sessions x 7 bars.
    assert!(out.contains(" 77 ") && out.ends_with("no gaps: 1 symbol(s) checked\n"), "{out}");
    let (out, _) =
        expect(1, &["gaps", "--store", &store, "--table", "stocks_hourly", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["symbols"][0]["unexpected"], 77);
    assert_eq!(v["symbols"][0]["unexpected_samples"][0], "1998-01-02T14:00:00.000000Z");
}
