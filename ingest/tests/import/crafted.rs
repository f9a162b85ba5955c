//! Small hand-written inputs for the cases the real files do not contain.

use std::io::Write;
use std::path::PathBuf;

use candlestore_ingest::{ColumnMapping, ImportError, ImportOptions, Layout, open};

use crate::{read_all, utc};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_kind_of_bad_value_is_rejected_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "symbol,datetime,open,high,low,close,volume\n\
                aapl,2020-01-02 00:00:00,1,2,0.5,1.5,100\n\
                AAPL,2020-01-03,abc,2,0.5,1.5,100\n\
                AAPL,2020-01-04,1,NaN,0.5,1.5,100\n\
                AAPL,2020-01-05,1,2,inf,1.5,100\n\
                AAPL,not-a-date,1,2,0.5,1.5,100\n\
                AAPL,2020-01-07,1,2,0.5,1.5\n\
                ,2020-01-08,1,2,0.5,1.5,100\n\
                AAPL,1899-12-31,1,2,0.5,1.5,100\n\
                \n\
                AAPL,2020-01-09,1,0.5,2,1.5,-7\n";
    let path = write(&dir, "bars.csv", text);
    let rejects = dir.path().join("rejects.csv");
    let opts = ImportOptions::default().with_reject_file(&rejects);
    let mut reader = open(&path, &opts).unwrap();
    assert_eq!(reader.layout(), Layout::Generic);
    let rows = read_all(&mut reader, 65_536);
    // high < low and negative volume are kept (flagged later, not here).
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.symbol, ["AAPL", "AAPL"]);
    assert_eq!(rows.ohlcv[1], [1.0, 0.5, 2.0, 1.5, -7.0]);
    let got: Vec<(u64, Option<&str>, &str)> = reader
        .stats()
        .rejects
        .iter()
        .map(|r| (r.line, r.column.as_deref(), r.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("open"), "non-numeric value \"abc\""),
            (4, Some("high"), "not a finite number: \"NaN\""),
            (5, Some("low"), "not a finite number: \"inf\""),
            (6, Some("datetime"), "unparseable date/time \"not-a-date\""),
            (7, None, "wrong number of fields: expected 7, found 6"),
            (8, Some("symbol"), "empty field"),
            (
                9,
                Some("datetime"),
                "timestamp 1899-12-31T00:00:00Z is outside the accepted years 1900..=2200"
            ),
        ]
    );
    assert_eq!(reader.stats().rows_read, 9, "the blank line is not a row");
    let written = std::fs::read_to_string(&rejects).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next(), Some("line,column,reason,raw"));
    assert_eq!(
        lines.next(),
        Some("3,open,\"non-numeric value \"\"abc\"\"\",\"AAPL,2020-01-03,abc,2,0.5,1.5,100\"")
    );
    assert_eq!(written.lines().count(), 8);
}

#[test]
fn duplicates_keep_the_first_row_and_name_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "symbol,datetime,open,high,low,close,volume\n\
                A,2020-01-01,1,1,1,1,1\n\
                A,2020-01-02,2,2,2,2,2\n\
                B,2020-01-01,3,3,3,3,3\n\
                A,2020-01-02,9,9,9,9,9\n\
                A,2020-01-01,9,9,9,9,9\n\
                A,2020-01-03,4,4,4,4,4\n";
    let path = write(&dir, "dups.csv", text);
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.len(), 4);
    assert!(rows.ohlcv.iter().all(|r| r[0] != 9.0), "first occurrence kept");
    let s = reader.stats();
    assert_eq!(s.duplicates_in_file, 2);
    assert_eq!(s.rows_rejected, 0);
    assert_eq!(s.rejects[0].line, 5);
    assert_eq!(
        s.rejects[0].reason,
        "duplicate timestamp 2020-01-02T00:00:00Z for A (first seen on line 3)"
    );
    assert!(s.rejects[1].reason.ends_with("(first seen on line 2)"));
}

#[test]
fn binance_without_header_in_ms_and_us() {
    let dir = tempfile::tempdir().unwrap();
    let ms = "1640995200000,1,2,0.5,1.5,10,1640998799999,1,1,1,1,0\n";
    let us = "1735689600000000,1,2,0.5,1.5,10,1735693199999999,1,1,1,1,0\n";
    let path = write(&dir, "ETHUSDT-1h-2025-01.csv", &format!("{ms}{us}"));
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::BinanceKline { header: false });
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.datetime, [utc("2022-01-01T00:00:00Z"), utc("2025-01-01T00:00:00Z")]);
    assert_eq!(rows.symbol, ["ETHUSDT", "ETHUSDT"]);
}

#[test]
fn mapping_time_zone_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Day,Clock,O,H,L,Last,Vol,Extra\n");
    for m in 0..25 {
        text.push_str(&format!("2020-01-02,09:{:02}:00,1,2,0.5,1.5,{m},x\n", 30 + m));
    }
    let path = write(&dir, "spy-minutes.csv", &text);
    // Unrecognised header without a mapping: an error naming the file and header.
    match open(&path, &ImportOptions::default()).unwrap_err() {
        ImportError::UnknownLayout { path: p, header } => {
            assert_eq!(p, path);
            assert!(header.starts_with("Day,Clock"));
        }
        e => panic!("unexpected {e}"),
    }
    let mapping = ColumnMapping {
        date: Some("day".into()),
        time: Some("CLOCK".into()),
        open: Some("O".into()),
        high: Some("H".into()),
        low: Some("L".into()),
        close: Some("Last".into()),
        volume: Some("Vol".into()),
        ..Default::default()
    };
    let opts = ImportOptions::default()
        .with_mapping(mapping)
        .with_symbol("spy")
        .with_timezone(chrono_tz::America::New_York)
        .with_batch_rows(10);
    let mut reader = open(&path, &opts).unwrap();
    assert_eq!(reader.layout(), Layout::Mapped);
    let mut sizes = Vec::new();
    for b in reader.by_ref() {
        sizes.push(b.unwrap().num_rows());
    }
    assert_eq!(sizes, [10, 10, 5]);
    let mut reader = open(&path, &opts).unwrap();
    let rows = read_all(&mut reader, 10);
    assert_eq!(rows.datetime[0], utc("2020-01-02T14:30:00Z"));
    assert_eq!(rows.symbol[0], "SPY");
}

#[test]
fn gzip_with_two_members_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv.gz");
    let mut out = Vec::new();
    for part in ["symbol,datetime,open,high,low,close,volume\r\n", "X,1700000000,1,2,0.5,1.5,3\r\n"]
    {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(part.as_bytes()).unwrap();
        out.extend(enc.finish().unwrap());
    }
    std::fs::write(&path, out).unwrap();
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.datetime, [1_700_000_000_000_000]);
    assert_eq!(rows.ohlcv[0][4], 3.0);
}

#[test]
fn forced_daily_stamps_dates() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "symbol,datetime,open,high,low,close,volume\nX,2020-01-02T16:00:00-05:00,1,2,0.5,1.5,3\n";
    let path = write(&dir, "d.csv", text);
    let mut reader = open(&path, &ImportOptions::default().with_daily(true)).unwrap();
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.datetime, [utc("2020-01-02T00:00:00Z")]);
}

#[test]
fn missing_file_and_empty_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    assert!(matches!(open(&missing, &ImportOptions::default()), Err(ImportError::Io { .. })));
    let empty = write(&dir, "empty.csv", "");
    assert!(matches!(open(&empty, &ImportOptions::default()), Err(ImportError::EmptyFile { .. })));
    let ok = write(&dir, "h.csv", "symbol,datetime,open,high,low,close,volume\n");
    let opts = ImportOptions::default().with_batch_rows(0);
    assert!(matches!(open(&ok, &opts), Err(ImportError::InvalidBatchRows { .. })));
    let mut reader = open(&ok, &ImportOptions::default()).unwrap();
    assert!(reader.next().is_none());
}
