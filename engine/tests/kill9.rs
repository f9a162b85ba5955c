//! `kill -9` at random points during a long durable ingest, many times over one store.
//!
//! The test binary re-executes itself as the writer: with `CANDLESTORE_KILL9_CHILD=<dir>` set,
//! `kill9_child` appends deterministic batches forever and prints `kill9-ack {k}` after each durable
//! append of batch `k` returned. The parent kills it with SIGKILL after a random delay, reopens
//! the store and checks it against a `BTreeMap` model fed only by acknowledged batches:
//!
//! - every acknowledged write is present, exactly once, with the values (and revision) of the
//!   last write to its key;
//! - the one batch that may have been in flight is either wholly present or wholly absent;
//! - nothing else is present, and `verify()` finds no problem.
//!
//! Knobs: `CANDLESTORE_KILL9_ITERATIONS` (default 25), `CANDLESTORE_KILL9_SEED` (default: from
//! the clock; always printed), `CANDLESTORE_KILL9_KEEP=1` keeps the store directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    Array, AsArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Field, Float64Type, Int32Type, Schema, TimeUnit, TimestampMicrosecondType,
};
use candlestore::{AppendOptions, CompactionPolicy, Durability, Store};
use rand::{Rng, SeedableRng, rngs::StdRng};

const CHILD_ENV: &str = "CANDLESTORE_KILL9_CHILD";
const TABLE: &str = "stocks_daily";
const SYMBOLS: usize = 50;
const DAYS: i64 = 20;
const DAY: i64 = 86_400_000_000;
/// 2000-01-01T00:00:00Z in µs.
const EPOCH: i64 = 946_684_800_000_000;
/// Memtable threshold of the writer: small, so kills also land inside automatic flushes.
const CHILD_FLUSH_ROWS: usize = 3_000;
/// Printed by the writer, followed by the batch number, once an append of it returned `Ok`.
const ACK: &str = "kill9-ack ";

/// One row of a batch: symbol index, datetime (µs), close.
type Row = (usize, i64, f64);
/// Store key: (symbol, datetime).
type Key = (String, i64);

/// What the store should hold for a key.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expected {
    close: f64,
    revision: i32,
    batch: u64,
}

fn symbol(i: usize) -> String {
    format!("K9S{i:02}")
}

/// The rows of batch `k`, a pure function of `k`. Most batches insert 50 symbols × 20 new
/// days; every 7th batch instead rewrites (with new closes) 25 symbols over a 20-day window
/// straddling two earlier batches, so revisions and partition rewrites are exercised.
fn batch_rows(k: u64) -> Vec<Row> {
    let revising = k % 7 == 6;
    let (first_day, symbols): (i64, Vec<usize>) = if revising {
        ((k as i64 / 2) * DAYS + DAYS / 2, (0..SYMBOLS).step_by(2).collect())
    } else {
        (k as i64 * DAYS, (0..SYMBOLS).collect())
    };
    let mut rows = Vec::with_capacity(symbols.len() * DAYS as usize);
    for &s in &symbols {
        for d in first_day..first_day + DAYS {
            let close = 100.0 + k as f64 + s as f64 / 100.0 + (d % 7) as f64 / 1000.0;
            rows.push((s, EPOCH + d * DAY, close));
        }
    }
    rows
}

fn to_batch(rows: &[Row]) -> RecordBatch {
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
    let symbols: StringArray = rows.iter().map(|r| Some(symbol(r.0))).collect();
    let ts = TimestampMicrosecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .with_timezone("UTC");
    let derive = |f: fn(f64) -> f64| {
        Arc::new(Float64Array::from(rows.iter().map(|r| f(r.2)).collect::<Vec<_>>()))
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(symbols),
            Arc::new(ts),
            derive(|c| c - 0.5),
            derive(|c| c + 1.0),
            derive(|c| c - 1.0),
            derive(|c| c),
            derive(|c| (c * 100.0).round()),
        ],
    )
    .expect("kill9 batch")
}

fn parse_batch_id(id: &str) -> Option<u64> {
    id.strip_prefix('b')?.parse().ok()
}

/// The writer. Runs only when the parent sets `CANDLESTORE_KILL9_CHILD`; a no-op otherwise.
#[test]
fn kill9_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else { return };
    let store = Store::builder(&dir)
        .with_durability(Durability::Durable)
        .with_flush_rows(CHILD_FLUSH_ROWS)
        .open()
        .expect("child: open store");
    // Resume after the newest batch the store holds: its rows can only have been overwritten
    // by later batches, so the maximum batch id present is the last batch committed.
    let mut k = 0u64;
    let existing = if store.tables().iter().any(|t| t == TABLE) {
        store.scan(TABLE).columns(["batch_id"]).collect().expect("child: scan batch ids")
    } else {
        Vec::new()
    };
    for b in existing {
        let ids = arrow::compute::cast(b.column(0), &DataType::Utf8).expect("cast batch_id");
        for id in ids.as_string::<i32>().iter().flatten() {
            let n = parse_batch_id(id).unwrap_or_else(|| panic!("child: foreign batch id {id:?}"));
            k = k.max(n + 1);
        }
    }
    let mut out = std::io::stdout().lock();
    loop {
        let rows = batch_rows(k);
        let report = store
            .append_with(
                TABLE,
                &to_batch(&rows),
                &AppendOptions::default().with_batch_id(format!("b{k}")),
            )
            .unwrap_or_else(|e| panic!("child: append b{k}: {e}"));
        // Every generated write changes its key; the parent's revision model relies on it.
        assert_eq!(report.inserted + report.revised, rows.len(), "child: b{k}: {report:?}");
        writeln!(out, "{ACK}{k}").and_then(|()| out.flush()).expect("child: stdout");
        if k % 5 == 4 {
            store.flush().unwrap_or_else(|e| panic!("child: flush after b{k}: {e}"));
        }
        if k % 11 == 10 {
            store
                .compact(&CompactionPolicy::default())
                .unwrap_or_else(|e| panic!("child: compact after b{k}: {e}"));
        }
        k += 1;
    }
}

/// The parent's oracle: the expected content of the table and the next batch number.
#[derive(Debug, Default)]
struct Model {
    rows: BTreeMap<Key, Expected>,
    next_batch: u64,
}

impl Model {
    fn apply(&mut self, k: u64) {
        assert_eq!(k, self.next_batch, "batches must be applied in order");
        for (s, ts, close) in batch_rows(k) {
            let key = (symbol(s), ts);
            let revision = match self.rows.get(&key) {
                // Every write of the generator changes the close, so each one bumps the revision.
                Some(old) => {
                    assert_ne!(
                        old.close, close,
                        "generator rewrote {key:?} unchanged; the revision model assumes not"
                    );
                    old.revision + 1
                }
                None => 1,
            };
            self.rows.insert(key, Expected { close, revision, batch: k });
        }
        // A changed bar changes the derived fields (EMAs, OBV, ...) of every later bar of its
        // series: the store rewrites those at revision + 1 in the same batch.
        let mut first_changed: BTreeMap<String, i64> = BTreeMap::new();
        for (s, ts, _) in batch_rows(k) {
            if self.rows[&(symbol(s), ts)].revision > 1 {
                let first = first_changed.entry(symbol(s)).or_insert(ts);
                *first = (*first).min(ts);
            }
        }
        for ((sym, ts), e) in self.rows.iter_mut() {
            if e.batch != k && first_changed.get(sym).is_some_and(|&first| *ts > first) {
                e.revision += 1;
                e.batch = k;
            }
        }
        self.next_batch = k + 1;
    }
}

/// Reads the whole table; reports a key seen twice.
fn scan_all(store: &Store) -> Result<BTreeMap<Key, Expected>, String> {
    if !store.tables().iter().any(|t| t == TABLE) {
        return Ok(BTreeMap::new());
    }
    let batches = store
        .scan(TABLE)
        .columns(["symbol", "datetime", "close", "revision", "batch_id"])
        .collect()
        .map_err(|e| format!("scan failed: {e}"))?;
    let mut out = BTreeMap::new();
    for b in &batches {
        let sym = arrow::compute::cast(b.column(0), &DataType::Utf8).map_err(|e| e.to_string())?;
        let sym = sym.as_string::<i32>();
        let ts = b.column(1).as_primitive::<TimestampMicrosecondType>();
        let close = b.column(2).as_primitive::<Float64Type>();
        let rev = b.column(3).as_primitive::<Int32Type>();
        let bid = arrow::compute::cast(b.column(4), &DataType::Utf8).map_err(|e| e.to_string())?;
        let bid = bid.as_string::<i32>();
        for i in 0..b.num_rows() {
            let key = (sym.value(i).to_owned(), ts.value(i));
            let batch = if bid.is_valid(i) { parse_batch_id(bid.value(i)) } else { None }
                .ok_or_else(|| {
                    format!(
                        "row {key:?}: unexpected batch_id {:?}",
                        bid.is_valid(i).then(|| bid.value(i))
                    )
                })?;
            let got = Expected { close: close.value(i), revision: rev.value(i), batch };
            if let Some(prev) = out.insert(key.clone(), got) {
                return Err(format!(
                    "check (b): key {key:?} returned twice by one scan: {prev:?} and {got:?}"
                ));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Tally {
    acked: u64,
    in_flight_present: u64,
    in_flight_absent: u64,
    torn_tails: u64,
    frames_replayed: u64,
    orphans_removed: u64,
    no_ack_runs: u64,
}

/// Reopens the store after a kill and checks it against the model (which it advances past a
/// wholly present in-flight batch).
fn check_after_kill(dir: &Path, model: &mut Model, tally: &mut Tally) -> Result<(), String> {
    let store = Store::builder(dir).open().map_err(|e| format!("reopen failed: {e}"))?;
    let rec = store.recovery_report();
    tally.torn_tails += u64::from(rec.torn_tail.is_some());
    tally.frames_replayed += rec.frames_replayed;
    tally.orphans_removed += rec.orphans_removed as u64;
    let mut found = scan_all(&store)?;

    // (a) The batch after the last acknowledged one may have been in flight: all or nothing.
    let k = model.next_batch;
    let rows = batch_rows(k);
    let landed = rows
        .iter()
        .filter(|(s, ts, close)| {
            found.get(&(symbol(*s), *ts)).is_some_and(|g| g.batch == k && g.close == *close)
        })
        .count();
    if landed == rows.len() {
        model.apply(k);
        tally.in_flight_present += 1;
    } else if landed == 0 {
        tally.in_flight_absent += 1;
    } else {
        return Err(format!(
            "check (a): unacknowledged batch b{k} is half-present: {landed} of {} rows",
            rows.len()
        ));
    }

    // (a), (d) Exactly the model: every key, value, revision and batch; nothing else.
    let mut problems = Vec::new();
    for (key, want) in &model.rows {
        match found.remove(key) {
            None => {
                problems.push(format!("missing {key:?} (written by acknowledged b{})", want.batch))
            }
            Some(got) if got != *want => {
                problems.push(format!("{key:?}: want {want:?}, got {got:?}"))
            }
            Some(_) => {}
        }
    }
    problems.extend(found.iter().map(|(key, got)| format!("unexpected row {key:?}: {got:?}")));
    if !problems.is_empty() {
        let n = problems.len();
        problems.truncate(10);
        return Err(format!("check (a)/(d): {n} rows differ from the model, first: {problems:#?}"));
    }

    // (c) The store verifies clean.
    let report = store.verify().map_err(|e| format!("verify failed: {e}"))?;
    if !report.is_ok() {
        return Err(format!("check (c): verify found problems: {:#?}", report.problems));
    }
    Ok(())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let iterations = env_u64("CANDLESTORE_KILL9_ITERATIONS").unwrap_or(25);
    let seed = env_u64("CANDLESTORE_KILL9_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    println!(
        "kill9: seed {seed} (rerun with CANDLESTORE_KILL9_SEED={seed}), {iterations} iterations"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tmp = tempfile::Builder::new().prefix("candlestore-kill9-").tempdir().expect("tempdir");
    // Kept if the test fails, for a post-mortem; removed at the end of a passing run.
    tmp.disable_cleanup(true);
    let dir = tmp.path().to_path_buf();
    let exe = std::env::current_exe().expect("current_exe");
    let mut model = Model::default();
    let mut tally = Tally::default();
    let started = Instant::now();

    for iteration in 0..iterations {
        let mut child = Command::new(&exe)
            .args(["--exact", "kill9_child", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, &dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn writer");
        let stdout = child.stdout.take().expect("child stdout");
        let mut stderr = child.stderr.take().expect("child stderr");
        let acks = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.expect("read child stdout");
                // libtest may have printed `test kill9_child ... ` on the same line.
                if let Some(at) = line.find(ACK) {
                    acks.push(line[at + ACK.len()..].trim().parse::<u64>().expect("ack number"));
                }
            }
            acks
        });
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let delay = rng.random_range(50..800);
        std::thread::sleep(Duration::from_millis(delay));
        let exited_early = child.try_wait().expect("try_wait");
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("wait for the writer");
        let acks = acks.join().expect("stdout reader");
        let errors = errors.join().expect("stderr reader");
        let fail = |what: String| -> ! {
            panic!(
                "kill9 iteration {iteration} (seed {seed}, kill after {delay} ms): {what}\n\
                 store kept at {}\nwriter stderr:\n{errors}",
                dir.display()
            )
        };
        if let Some(s) = exited_early {
            fail(format!("the writer exited by itself ({s}) before the kill"));
        }

        // Acknowledged batches are consecutive and continue where the store left off.
        for (i, &k) in acks.iter().enumerate() {
            if k != model.next_batch {
                fail(format!(
                    "ack #{i} of this run is b{k}, expected b{} (the writer resumed at the wrong batch)",
                    model.next_batch
                ));
            }
            model.apply(k);
        }
        tally.acked += acks.len() as u64;
        tally.no_ack_runs += u64::from(acks.is_empty());
        if let Err(what) = check_after_kill(&dir, &mut model, &mut tally) {
            fail(what);
        }
        println!(
            "kill9: iteration {iteration}: killed after {delay} ms, {} acks, next batch b{}, {} keys",
            acks.len(),
            model.next_batch,
            model.rows.len()
        );
    }
    println!(
        "kill9: done in {:.1?}: {iterations} kills, {} batches acknowledged, in-flight batch present {} / absent {} times, \
         {} runs without an ack, {} torn WAL tails recovered, {} WAL frames replayed, {} orphan files removed, {} keys",
        started.elapsed(),
        tally.acked,
        tally.in_flight_present,
        tally.in_flight_absent,
        tally.no_ack_runs,
        tally.torn_tails,
        tally.frames_replayed,
        tally.orphans_removed,
        model.rows.len()
    );
    if std::env::var_os("CANDLESTORE_KILL9_KEEP").is_some() {
        println!("kill9: store kept at {}", dir.display());
    } else {
        tmp.disable_cleanup(false);
    }
}
