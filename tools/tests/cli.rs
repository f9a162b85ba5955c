//! End-to-end tests of the `candlestore` binary on the real test data files.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;

const ORCL: &str = "backtrader/orcl-1995-2014.txt";
const ORCL_ROWS: usize = 5036;

fn testdata(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel).display().to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candlestore")).args(args).output().expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and asserts exit code 0, returning stdout.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?} failed:\nstdout: {}\nstderr: {}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Runs and asserts exit code `code`, returning stderr.
fn fails(code: i32, args: &[&str]) -> String {
    let o = run(args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "{args:?}:\nstdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").display().to_string();
    (dir, store)
}

fn import(store: &str, files: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["import", "--store", store, "--table", "stocks_daily"];
    let paths: Vec<String> = files.iter().map(|f| testdata(f)).collect();
    args.extend(paths.iter().map(String::as_str));
    args.extend(extra);
    ok(&args)
}

fn query(store: &str, extra: &[&str]) -> String {
    let mut args = vec!["query", "--store", store, "--table", "stocks_daily"];
    args.extend(extra);
    ok(&args)
}

fn orcl_store() -> (tempfile::TempDir, String) {
    let (dir, store) = store();
    import(&store, &[ORCL], &[]);
    (dir, store)
}

fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path, ext));
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn flip_byte(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn import_reports_counts_and_reimport_is_idempotent() {
    let (_dir, store) = store();
    let first = import(&store, &[ORCL], &[]);
    assert!(first.contains(&format!("rows read:          {ORCL_ROWS}")), "{first}");
    assert!(
        first.contains(&format!(
            "accepted:           {ORCL_ROWS} ({ORCL_ROWS} inserted, 0 revised, 0 unchanged)"
        )),
        "{first}"
    );
    assert!(first.contains("rejected:           0"), "{first}");
    assert!(first.contains("duplicates in file: 0"), "{first}");
    assert!(first.contains("source csv:yahoo_daily"), "{first}");

    let again = import(&store, &[ORCL], &[]);
    assert!(again.contains(&format!("(0 inserted, 0 revised, {ORCL_ROWS} unchanged)")), "{again}");

    let csv = query(&store, &["--symbol", "ORCL", "--fields", "datetime"]);
    assert_eq!(csv.lines().count(), ORCL_ROWS + 1);
}

#[test]
fn sp500_sample_reports_rejects_with_lines() {
    let (dir, store) = store();
    let rejects = dir.path().join("rejects.csv");
    let out = import(
        &store,
        &["sp500/all_stocks_5yr_sample.csv.gz"],
        &["--reject-file", rejects.to_str().unwrap()],
    );
    assert!(out.contains("rows read:          32947"), "{out}");
    assert!(out.contains("rejected:           10"), "{out}");
    assert!(out.contains("line 7563, column \"open\": empty field"), "{out}");
    assert!(out.contains("... and 5 more"), "{out}");
    assert!(out.contains("accepted:           32937 (32937 inserted"), "{out}");
    assert_eq!(std::fs::read_to_string(&rejects).unwrap().lines().count(), 11);
    // Rows stored with a failed F3.16 check (AOS 2014-05-19 has high < low) are counted as
    // flagged and listed with their line in the file.
    let flagged = out.lines().skip_while(|l| !l.contains("flagged:")).collect::<Vec<_>>();
    let count: u64 = flagged[0].split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(count > 0, "{out}");
    assert!(flagged[1].trim_start().starts_with("line "), "{out}");

    let aapl = query(&store, &["--symbol", "AAPL", "--fields", "symbol,datetime,close"]);
    let rows: Vec<&str> = aapl.lines().skip(1).collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.starts_with("AAPL,")), "{aapl}");
    assert_eq!(rows[0], "AAPL,2013-02-08T00:00:00.000000Z,67.8542");
}

#[test]
fn query_csv_is_f4_with_all_97_fields() {
    let (_dir, store) = orcl_store();
    let csv = query(&store, &["--symbol", "ORCL", "--start", "1995-01-03", "--end", "1995-01-03"]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let names: Vec<String> =
        candlestore::bar_schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(header.len(), 97);
    assert_eq!(header, names);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "date-only --end includes exactly that day: {csv}");
    let row: Vec<&str> = rows[0].split(',').collect();
    let get = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(get("datetime"), "1995-01-03T00:00:00.000000Z");
    assert_eq!(get("symbol"), "ORCL");
    assert_eq!(get("open"), "2.179012");
    assert_eq!(get("high"), "2.191358");
    assert_eq!(get("low"), "2.117284");
    assert_eq!(get("close"), "2.117284");
    assert_eq!(get("volume"), "36301200.0");
    assert_eq!(get("revision"), "1");
    assert_eq!(get("source"), "csv:yahoo_daily");
    assert_eq!(get("sector"), "", "null is an empty field");
    assert!(matches!(get("is_validated"), "true" | "false" | ""));
}

#[test]
fn date_ranges_and_field_selection() {
    let (_dir, store) = orcl_store();
    let two = query(
        &store,
        &[
            "--symbol",
            "ORCL",
            "--start",
            "1995-01-03",
            "--end",
            "1995-01-04",
            "--fields",
            "datetime,close",
        ],
    );
    assert_eq!(
        two,
        "datetime,close\n1995-01-03T00:00:00.000000Z,2.117284\n1995-01-04T00:00:00.000000Z,2.135803\n"
    );
    let exact = query(
        &store,
        &[
            "--symbol",
            "ORCL",
            "--start",
            "1995-01-03T00:00:00Z",
            "--end",
            "1995-01-04T00:00:00Z",
            "--fields",
            "close",
        ],
    );
    assert_eq!(exact.lines().count(), 3, "an RFC 3339 --end includes that instant: {exact}");
    let none = query(
        &store,
        &["--symbol", "ORCL", "--start", "1995-01-01", "--end", "1995-01-02", "--fields", "close"],
    );
    assert_eq!(none, "close\n");
}

#[test]
fn json_output_parses() {
    let (_dir, store) = orcl_store();
    let range = ["--symbol", "ORCL", "--start", "2014-01-01", "--end", "2014-12-31"];
    let csv_rows =
        query(&store, &[&range[..], &["--fields", "datetime"]].concat()).lines().count() - 1;
    assert!(csv_rows > 200);
    let json = query(
        &store,
        &[&range[..], &["--format", "json", "--fields", "datetime,symbol,close,volume,revision"]]
            .concat(),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), csv_rows);
    assert_eq!(rows[0]["datetime"], "2014-01-02T00:00:00.000000Z");
    assert_eq!(rows[0]["symbol"], "ORCL");
    assert!(rows[0]["close"].is_f64());
    assert_eq!(rows[0]["revision"], 1);
    let all = query(&store, &["--symbol", "ORCL", "--format", "json", "--end", "1995-01-03"]);
    let v: serde_json::Value = serde_json::from_str(&all).unwrap();
    assert_eq!(v[0].as_object().unwrap().len(), 97);
    assert!(v[0]["sector"].is_null());
    assert_eq!(v[0]["volume"], serde_json::json!(36301200.0));
}

#[test]
fn parquet_and_arrow_outputs_read_back() {
    let (dir, store) = orcl_store();
    let pq = dir.path().join("orcl.parquet");
    let ipc = dir.path().join("orcl.arrows");
    let o = run(&[
        "query",
        "--store",
        &store,
        "--table",
        "stocks_daily",
        "--symbol",
        "ORCL",
        "--format",
        "parquet",
        "--output",
        pq.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains(&format!("wrote {ORCL_ROWS} rows")), "{}", stderr(&o));
    query(&store, &["--symbol", "ORCL", "--format", "arrow", "-o", ipc.to_str().unwrap()]);

    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(&pq).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), ORCL_ROWS);
    assert_eq!(
        batches[0].schema().fields(),
        candlestore::bar_schema().fields(),
        "Parquet keeps the F1 types"
    );

    let reader =
        arrow::ipc::reader::StreamReader::try_new(File::open(&ipc).unwrap(), None).unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), ORCL_ROWS);
    assert_eq!(schema.fields(), candlestore::bar_schema().fields());
}

#[test]
fn bad_query_inputs_are_usage_errors() {
    let (_dir, store) = orcl_store();
    let q = |extra: &[&str]| {
        let mut args =
            vec!["query", "--store", store.as_str(), "--table", "stocks_daily", "--symbol", "ORCL"];
        args.extend(extra);
        fails(2, &args)
    };
    let e = q(&["--fields", "close,bogus_field"]);
    assert!(e.contains("unknown field \"bogus_field\""), "{e}");
    let e = q(&["--start", "2014-02-01", "--end", "2014-01-01"]);
    assert!(e.contains("--start 2014-02-01 is after --end 2014-01-01"), "{e}");
    let e = q(&["--start", "2014-02-30"]);
    assert!(e.contains("--start \"2014-02-30\" is not a date"), "{e}");
    let e = q(&["--end", "Jan 5"]);
    assert!(e.contains("--end \"Jan 5\""), "{e}");
    let e = fails(2, &["query", "--store", &store, "--table", "crypto_1min", "--symbol", "BTC"]);
    assert!(e.contains("unknown table \"crypto_1min\"") && e.contains("stocks_daily"), "{e}");
    let e = fails(2, &["query", "--store", &store, "--table", "stocks_daily"]);
    assert!(e.contains("--symbol"), "{e}");
    let e = fails(
        2,
        &["query", "--store", "/nonexistent/store", "--table", "stocks_daily", "--symbol", "X"],
    );
    assert!(e.contains("/nonexistent/store does not exist"), "{e}");
}

#[test]
fn import_errors() {
    let (dir, store) = store();
    let e = fails(1, &["import", "--store", &store, "--table", "stocks_daily", "/nonexistent.csv"]);
    assert!(e.contains("/nonexistent.csv"), "{e}");
    let e = fails(
        2,
        &[
            "import",
            "--store",
            &store,
            "--table",
            "stocks_daily",
            "--tz",
            "Mars/Olympus",
            &testdata(ORCL),
        ],
    );
    assert!(e.contains("Mars/Olympus"), "{e}");
    let e = fails(
        2,
        &[
            "import",
            "--store",
            &store,
            "--table",
            "stocks_daily",
            "--map",
            "price=Close",
            &testdata(ORCL),
        ],
    );
    assert!(e.contains("\"price\""), "{e}");
    let e = fails(
        2,
        &["--read-only", "import", "--store", &store, "--table", "stocks_daily", &testdata(ORCL)],
    );
    assert!(e.contains("--read-only"), "{e}");
    let not_bars = dir.path().join("notes.txt");
    std::fs::write(&not_bars, "hello\nworld\n").unwrap();
    let o =
        run(&["import", "--store", &store, "--table", "stocks_daily", not_bars.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stderr(&o).contains("cannot import"), "{}", stderr(&o));
}

#[test]
fn verify_detects_a_damaged_segment() {
    let (dir, store) = orcl_store();
    let out = ok(&["verify", "--store", &store]);
    assert!(out.contains("no problems found"), "{out}");
    assert!(out.contains(&format!("with {ORCL_ROWS} rows")), "{out}");
    let segments = files_under(&dir.path().join("store").join("stocks_daily"), "parquet");
    assert!(segments.len() > 100);
    let victim = &segments[segments.len() / 2];
    let len = std::fs::metadata(victim).unwrap().len() as usize;
    flip_byte(victim, len / 2);
    let o = run(&["verify", "--store", &store, "--read-only"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(
        stdout(&o).contains("problem(s):")
            && stdout(&o).contains("checksum mismatch")
            && stdout(&o).contains(name),
        "{}",
        stdout(&o)
    );
}

#[test]
fn dump_prints_manifest_segments_index_and_wal() {
    let (_dir, store) = orcl_store();
    let all = ok(&["dump", "--store", &store]);
    assert!(all.contains("table stocks_daily: asset class stocks, timeframe 1d"), "{all}");
    assert!(
        all.contains("month=1995-01")
            && all.contains("1995-01-03T00:00:00.000000Z .. 1995-01-31T00:00:00.000000Z"),
        "{all}"
    );
    assert!(all.contains("index of stocks_daily:") && all.contains("ORCL"), "{all}");
    assert!(all.contains("write-ahead log:"), "{all}");
    let segments =
        ok(&["dump", "--store", &store, "--what", "segments", "--table", "stocks_daily"]);
    assert!(segments.starts_with("segments of stocks_daily: 240"), "{segments}");
    assert!(!segments.contains("write-ahead log"));
    let e = fails(2, &["dump", "--store", &store, "--table", "nope"]);
    assert!(e.contains("unknown table \"nope\""), "{e}");
}

#[test]
fn compact_merges_segments_of_several_imports() {
    let (_dir, store) = store();
    import(&store, &["backtrader/nvda-2014.txt"], &[]);
    import(&store, &["backtrader/yhoo-2014.txt"], &[]);
    let before = query(&store, &["--symbol", "NVDA,YHOO", "--fields", "symbol,datetime,close"]);
    let plan = ok(&["compact", "--store", &store, "--dry-run"]);
    assert!(plan.starts_with("12 merge(s) would turn 24 segments into 12"), "{plan}");
    // 12 merges of 2 x ~21 rows, at most 100 rows per commit: two merges per commit.
    let out = ok(&["compact", "--store", &store, "--group-rows", "100"]);
    assert!(out.contains("ran 12 merge(s) in 6 commit(s)"), "{out}");
    assert!(out.contains("live segments: 24 before, 12 after"), "{out}");
    assert_eq!(
        query(&store, &["--symbol", "NVDA,YHOO", "--fields", "symbol,datetime,close"]),
        before
    );
    assert!(ok(&["compact", "--store", &store]).contains("nothing to compact"));
    ok(&["verify", "--store", &store]);
    fails(2, &["compact", "--store", &store, "--min-segments", "1"]);
    fails(2, &["compact", "--store", &store, "--group-rows", "0"]);
}

#[test]
fn repair_cuts_a_wal_corrupted_in_the_middle() {
    let (dir, store) = store();
    import(&store, &["backtrader/nvda-2014.txt"], &["--no-flush"]);
    import(&store, &["backtrader/yhoo-2014.txt"], &["--no-flush"]);
    let wal = files_under(&dir.path().join("store").join("_meta").join("wal"), "log");
    assert!(!wal.is_empty());
    // File header 28 bytes, frame header 16 (format-spec/wal.md): byte 60 is in the payload.
    flip_byte(&wal[0], 28 + 16 + 16);
    let wal_name = wal[0].file_name().unwrap().to_str().unwrap();

    let e = fails(1, &["query", "--store", &store, "--table", "stocks_daily", "--symbol", "NVDA"]);
    assert!(e.contains(wal_name) && e.contains("offset 28"), "{e}");
    assert!(e.contains(&format!("candlestore repair --store {store} --wal")), "{e}");

    let dry = ok(&["repair", "--store", &store, "--wal"]);
    assert!(dry.contains(&format!("{wal_name} at offset 28: frame checksum mismatch")), "{dry}");
    assert!(dry.contains("nothing was changed"), "{dry}");
    fails(1, &["verify", "--store", &store]);

    let fixed = ok(&["repair", "--store", &store, "--wal", "--yes"]);
    assert!(fixed.contains("the store opens again"), "{fixed}");
    ok(&["verify", "--store", &store]);
    assert!(ok(&["repair", "--store", &store, "--wal"]).contains("nothing to repair"));
    // The dropped writes can be imported again.
    import(&store, &["backtrader/nvda-2014.txt"], &[]);
    assert_eq!(query(&store, &["--symbol", "NVDA", "--fields", "close"]).lines().count(), 253);
}

#[test]
fn locked_store_hints_at_read_only() {
    let (_dir, store) = orcl_store();
    let lock =
        File::options().write(true).open(Path::new(&store).join("_meta").join("LOCK")).unwrap();
    lock.try_lock().unwrap();
    let e = fails(1, &["query", "--store", &store, "--table", "stocks_daily", "--symbol", "ORCL"]);
    assert!(e.contains("locked") && e.contains("--read-only"), "{e}");
    let csv = ok(&[
        "query",
        "--read-only",
        "--store",
        &store,
        "--table",
        "stocks_daily",
        "--symbol",
        "ORCL",
        "--fields",
        "close",
    ]);
    assert_eq!(csv.lines().count(), ORCL_ROWS + 1);
    ok(&["verify", "--store", &store, "--read-only"]);
    ok(&["dump", "--store", &store, "--what", "manifest"]);
    fails(1, &["import", "--store", &store, "--table", "stocks_daily", &testdata(ORCL)]);
    lock.unlock().unwrap();
}

#[test]
fn help_describes_every_command() {
    let top = ok(&["--help"]);
    for cmd in ["import", "query", "dump", "verify", "compact", "repair", "--read-only"] {
        assert!(top.contains(cmd), "{top}");
    }
    for (cmd, flag) in [
        ("import", "--reject-file"),
        ("query", "--validated-only"),
        ("dump", "--what"),
        ("verify", "--store"),
        ("compact", "--dry-run"),
        ("repair", "--yes"),
    ] {
        let help = ok(&[cmd, "--help"]);
        assert!(help.contains(flag), "{cmd}: {help}");
    }
}

/// Rows of an F4 CSV (header first), from a plain or gzip'd file.
fn read_f4(path: &str) -> Vec<Vec<String>> {
    use std::io::Read;
    let mut text = String::new();
    let file = File::open(path).unwrap();
    if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text).unwrap();
    }
    text.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

/// The F5.2 rule over the first `rows` data rows; returns the differing columns.
fn f5_mismatches(got: &[Vec<String>], want: &[Vec<String>], rows: usize) -> Vec<String> {
    assert_eq!(got[0], want[0], "header");
    let skipped = ["created_at", "updated_at", "fetched_at", "computed_at", "batch_id"];
    let mut bad = Vec::new();
    for (c, name) in want[0].iter().enumerate() {
        if skipped.contains(&name.as_str()) {
            continue;
        }
        let floats: Option<Vec<f64>> = want[1..]
            .iter()
            .filter(|r| !r[c].is_empty())
            .map(|r| r[c].parse::<f64>().ok())
            .collect();
        let scale = floats.as_ref().map_or(0.0, |v| {
            let mut a: Vec<f64> = v.iter().filter(|x| **x != 0.0).map(|x| x.abs()).collect();
            a.sort_by(f64::total_cmp);
            match a.len() {
                0 => 0.0,
                n if n % 2 == 1 => a[n / 2],
                n => (a[n / 2 - 1] + a[n / 2]) / 2.0,
            }
        });
        let differing = (1..=rows)
            .filter(|&i| {
                let (g, w) = (&got[i][c], &want[i][c]);
                if g == w {
                    return false;
                }
                match (floats.is_some(), g.parse::<f64>(), w.parse::<f64>()) {
                    (true, Ok(a), Ok(b)) => (a - b).abs() > 1e-6 * a.abs().max(b.abs()).max(scale),
                    _ => true,
                }
            })
            .count();
        if differing > 0 {
            bad.push(format!("{name}: {differing} rows"));
        }
    }
    bad
}

#[test]
fn compute_reproduces_the_daily_reference_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("orcl.fields.csv");
    let o = run(&[
        "compute",
        "--input",
        &testdata(ORCL),
        "--output",
        out.to_str().unwrap(),
        "--metadata",
        &testdata("reference/metadata.csv"),
        "--source",
        "csv:backtrader",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote 5036 rows") && stderr(&o).contains("timeframe 1d"));
    let got = read_f4(out.to_str().unwrap());
    let want = read_f4(&testdata("reference/orcl-1995-2014.fields.csv.gz"));
    assert_eq!(got.len(), want.len());
    let bad = f5_mismatches(&got, &want, ORCL_ROWS);
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn compute_reproduces_the_minute_reference_with_utc_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("minute.fields.parquet");
    let csv = dir.path().join("minute.fields.csv");
    let input = testdata("backtrader/2006-01-02-volume-min-001.txt.gz");
    for output in [&out, &csv] {
        let o = run(&[
            "compute",
            "--input",
            &input,
            "--output",
            output.to_str().unwrap(),
            "--session-tz",
            "UTC",
            "--source",
            "csv:backtrader",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("timeframe 1m, sessions: dates in UTC"), "{}", stderr(&o));
    }
    let want = read_f4(&testdata("reference/2006-01-02-volume-min-001.head6000.fields.csv.gz"));
    let got = read_f4(csv.to_str().unwrap());
    let bad = f5_mismatches(&got, &want, want.len() - 1);
    assert!(bad.is_empty(), "{bad:?}");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(&out).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 30_889);
    assert_eq!(batches[0].schema().fields(), candlestore::bar_schema().fields());
}

#[test]
fn compute_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let out = out.to_str().unwrap();
    let input = testdata(ORCL);
    let e = fails(2, &["compute", "--input", &input, "--output", "x.json"]);
    assert!(e.contains("must end in .csv or .parquet"), "{e}");
    let e = fails(2, &["compute", "--input", &input, "--output", out, "--timeframe", "2d"]);
    assert!(e.contains("--timeframe \"2d\""), "{e}");
    let e = fails(2, &["compute", "--input", &input, "--output", out, "--session-tz", "Mars/Base"]);
    assert!(e.contains("--session-tz \"Mars/Base\" is not a time zone"), "{e}");
    let e = fails(1, &["compute", "--input", "/nonexistent.csv", "--output", out]);
    assert!(e.contains("/nonexistent.csv does not exist"), "{e}");
    let meta = dir.path().join("meta.csv");
    std::fs::write(&meta, "symbol,sector\nORCL,Tech,extra\n").unwrap();
    let e = fails(
        1,
        &["compute", "--input", &input, "--output", out, "--metadata", meta.to_str().unwrap()],
    );
    assert!(e.contains("line 2: 3 fields, the header has 2"), "{e}");
    assert!(!Path::new(out).exists(), "no partial output");
}

#[test]
fn verify_fields_recomputes_the_stored_fields() {
    let (_dir, store) = orcl_store();
    let out = ok(&["verify", "--store", &store, "--fields"]);
    assert!(out.contains("stocks_daily: derived fields ok"), "{out}");
    assert!(out.contains("no problems found"), "{out}");
}

fn symbols(store: &str, sub: &str, extra: &[&str]) -> String {
    let mut args = vec!["symbols", sub, "--store", store];
    args.extend(extra);
    ok(&args)
}

#[test]
fn symbols_import_list_and_map() {
    let (_dir, store) = store();
    let sp = testdata("reference/sp500_constituents_2026.head.csv");
    let other = testdata("reference/listings/other-listed.excerpt.csv");
    let out = ok(&["symbols", "import", "--store", &store, &sp, &other]);
    assert!(
        out.contains("(layout sp500): 22 rows, 22 records: 22 added, 0 changed, 0 unchanged"),
        "{out}"
    );
    // A and BRK.B are in both files: the listing adds exchange and MIC to the S&P records.
    assert!(
        out.contains("(layout other-listed): 11 rows, 11 records: 9 added, 2 changed, 0 unchanged"),
        "{out}"
    );
    // Re-importing the last file changes nothing. (Re-importing the S&P file would change
    // the names of A and BRK.B back: the file imported last wins on the fields it knows.)
    let again = ok(&["symbols", "import", "--store", &store, &other]);
    assert!(again.contains("0 added, 0 changed, 11 unchanged"), "{again}");

    let csv = symbols(&store, "list", &["--exchange", "XNYS", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("symbol,name,sector,industry,market_cap,exchange,mic_code,currency,country,type")
    );
    let brk = csv.lines().find(|l| l.starts_with("BRK.B,")).expect("BRK.B listed");
    assert!(brk.contains(",Financials,") && brk.contains(",NYSE,XNYS,USD,"), "{brk}");
    let json = symbols(&store, "list", &["--sector", "information technology", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let syms: Vec<&str> =
        v.as_array().unwrap().iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert!(syms.contains(&"ADBE") && !syms.contains(&"MMM"), "{syms:?}");
    let table = symbols(&store, "list", &["--q", "berkshire"]);
    assert!(table.contains("BRK.B") && table.contains("(1 symbols)"), "{table}");

    assert_eq!(ok(&["symbols", "map", "BTC", "--provider", "binance"]), "BTCUSDT\n");
    assert_eq!(
        ok(&["symbols", "map", "BTC", "--provider", "polygon", "--type", "crypto"]),
        "X:BTCUSD\n"
    );
    assert_eq!(
        ok(&["symbols", "map", "BRK.B", "--provider", "yahoo", "--store", &store]),
        "BRK-B\n"
    );
    let err = fails(2, &["symbols", "map", "AAPL", "--provider", "alpaca"]);
    assert!(err.contains("alpaca"), "{err}");
    let err = fails(1, &["symbols", "map", "AAPL", "--provider", "binance", "--type", "stock"]);
    assert!(err.contains("crypto"), "{err}");
}

#[test]
fn symbols_import_errors_name_file_and_line() {
    let (dir, store) = store();
    let bad = dir.path().join("meta.csv");
    std::fs::write(&bad, "symbol,sector,country\nAAA,Energy,US\nBBB,Energy,Atlantis\n").unwrap();
    let o = run(&["symbols", "import", "--store", &store, bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("meta.csv, line 3, column \"country\""), "{err}");
    let err = fails(
        2,
        &["symbols", "import", "--store", &store, "--layout", "nope", bad.to_str().unwrap()],
    );
    assert!(err.contains("--layout"), "{err}");
    let err =
        fails(2, &["--read-only", "symbols", "import", "--store", &store, bad.to_str().unwrap()]);
    assert!(err.contains("read-only"), "{err}");
}

#[test]
fn imported_bars_carry_the_symbol_masters_metadata() {
    let (_dir, store) = store();
    ok(&["symbols", "import", "--store", &store, &testdata("reference/metadata.csv")]);
    import(&store, &["backtrader/orcl-1995-2014.txt"], &[]);
    let csv = query(
        &store,
        &["--symbol", "ORCL", "--fields", "symbol,sector,exchange,mic_code,country,type"],
    );
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), ORCL_ROWS);
    assert!(rows.iter().all(|r| *r == "ORCL,Technology,NYSE,XNYS,US,stock"), "{}", rows[0]);
}

#[test]
fn import_stores_newest_first_and_lean_files_in_order() {
    let (_dir, store) = store();
    let out = import(&store, &["yahoo/orcl-2000-yahoofinance.csv", "lean/aapl.csv"], &[]);
    assert!(
        out.contains("order:              newest first in the file; stored oldest first"),
        "{out}"
    );
    assert!(out.contains("layout yahoo_export"), "{out}");
    assert!(out.contains("layout lean_daily"), "{out}");
    assert!(
        out.contains("accepted:           252 (252 inserted, 0 revised, 0 unchanged)"),
        "{out}"
    );
    // Appended in time order: no stored bar had to be recomputed, so none has revision 2.
    let csv = query(&store, &["--symbol", "ORCL", "--fields", "datetime,close,revision"]);
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 252);
    assert!(rows[0].starts_with("2000-01-03T00:00:00.000000Z,"), "{}", rows[0]);
    assert!(rows.iter().all(|r| r.ends_with(",1")), "{csv}");
    let aapl = query(&store, &["--symbol", "AAPL", "--fields", "datetime,close"]);
    assert!(
        aapl.lines().nth(1).unwrap().starts_with("2021-02-18T00:00:00.000000Z,129.71"),
        "{aapl}"
    );
}
