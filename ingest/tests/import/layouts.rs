//! The LEAN, CryptoDataDownload, Yahoo export and newest-first layouts, on real excerpts.

use std::io::Write;

use candlestore_ingest::{ImportOptions, Layout, open};

use crate::{read_all, testdata, utc};

#[test]
fn lean_daily_deci_cents_without_trailing_newline() {
    let path = testdata("lean/aapl.csv");
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::LeanDaily);
    let rows = read_all(&mut reader, 1 << 16);
    assert_eq!(rows.len(), 30, "the last line has no newline and is still read");
    assert!(rows.symbol.iter().all(|s| s == "AAPL"), "symbol from the file name, upper-cased");
    assert_eq!(rows.datetime[0], utc("2021-02-18T00:00:00Z"));
    // 20210218 00:00,1292200,1299950,1274000,1297100,93027275
    assert_eq!(rows.ohlcv[0], [129.22, 129.995, 127.4, 129.71, 93_027_275.0]);
    assert_eq!(*rows.datetime.last().unwrap(), utc("2021-03-31T00:00:00Z"));
    assert!(!reader.newest_first());
}

#[test]
fn cryptodatadownload_newest_first_mixed_epoch_units() {
    let path = testdata("crypto/Binance_BTCUSDT_d.excerpt.csv");
    let mut reader = open(&path, &ImportOptions::default().with_batch_rows(4)).unwrap();
    assert_eq!(reader.layout(), Layout::CryptoDataDownload { banner: false });
    let mut lines = Vec::new();
    let mut rows = crate::Rows::default();
    while let Some(b) = reader.next() {
        let b = b.unwrap();
        rows.push(&b);
        lines.extend_from_slice(reader.batch_lines());
    }
    assert!(reader.newest_first());
    assert_eq!(rows.len(), 10);
    assert!(rows.datetime.windows(2).all(|w| w[0] < w[1]), "emitted oldest first");
    assert_eq!(rows.datetime[0], utc("2017-08-17T00:00:00Z"), "float seconds 1502928000.0");
    assert_eq!(rows.datetime[9], utc("2021-06-11T00:00:00Z"), "milliseconds 1623369600000");
    assert_eq!(lines[0], 11, "each row keeps its source line");
    assert_eq!(lines[9], 2);
    assert!(rows.symbol.iter().all(|s| s == "BTCUSDT"));
    // Volume is the base-asset volume (`Volume BTC`).
    assert_eq!(rows.ohlcv[0], [4469.93, 4485.39, 4200.74, 4285.08, 647.86]);
}

#[test]
fn cryptodatadownload_banner_line_is_skipped() {
    // CryptoDataDownload puts its site address above the header; the shared copy has it
    // stripped, so the banner is put back here in front of the real rows.
    let real = std::fs::read_to_string(testdata("crypto/Binance_BTCUSDT_d.excerpt.csv")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Binance_BTCUSDT_d.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    write!(f, "https://www.CryptoDataDownload.com\n{real}").unwrap();
    drop(f);
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::CryptoDataDownload { banner: true });
    let rows = read_all(&mut reader, 1 << 16);
    assert_eq!(rows.len(), 10);
    assert_eq!(reader.stats().rows_read, 10, "banner and header are not data");
    assert_eq!(*rows.datetime.last().unwrap(), utc("2021-06-11T00:00:00Z"));
}

#[test]
fn yahoo_export_newest_first_is_stored_oldest_first() {
    let path = testdata("yahoo/orcl-2000-yahoofinance.csv");
    let mut reader = open(&path, &ImportOptions::default().with_batch_rows(100)).unwrap();
    assert_eq!(reader.layout(), Layout::YahooExport);
    let rows = read_all(&mut reader, 100);
    assert!(reader.newest_first());
    assert_eq!(rows.len(), 252);
    assert!(rows.symbol.iter().all(|s| s == "ORCL"));
    assert!(rows.datetime.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(rows.datetime[0], utc("2000-01-03T00:00:00Z"));
    // 2000-12-29,30.87,31.31,28.69,29.06,31655500,28.41 (Adj Close not used).
    assert_eq!(rows.ohlcv[251], [30.87, 31.31, 28.69, 29.06, 31_655_500.0]);
}

#[test]
fn yahoo_download_null_rows_are_rejected_with_their_line() {
    // The layout of a Yahoo download CSV; `null` rows are how it marks a day without data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ORCL.csv");
    std::fs::write(
        &path,
        "Date,Open,High,Low,Close,Adj Close,Volume\n\
         2014-12-30,45.16,45.48,44.93,45.05,41.95,9437900\n\
         2014-12-31,null,null,null,null,null,null\n",
    )
    .unwrap();
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::YahooDaily);
    let rows = read_all(&mut reader, 1 << 16);
    assert_eq!(rows.len(), 1);
    let r = &reader.stats().rejects[0];
    assert_eq!((r.line, r.column.as_deref()), (3, Some("Open")));
    assert!(r.reason.starts_with("null value"), "{r}");
}

#[test]
fn a_malformed_lean_row_is_rejected_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spy.csv");
    std::fs::write(
        &path,
        "19980102 00:00,975000,975600,953700,975600,3831400\n19980105 00:00,x,1,1,1,1",
    )
    .unwrap();
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    let rows = read_all(&mut reader, 1 << 16);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows.ohlcv[0][0], 97.5);
    let r = &reader.stats().rejects[0];
    assert_eq!((r.line, r.column.as_deref()), (2, Some("open")));
}
