//! The real files copied into `testdata/`.

use candlestore_ingest::{ImportOptions, Layout, open};

use crate::{Rows, read_all, testdata, utc};

#[test]
fn sp500_sample_rejects_the_empty_price_rows_with_their_lines() {
    let path = testdata("sp500/all_stocks_5yr_sample.csv.gz");
    let opts = ImportOptions::default().with_batch_rows(10_000);
    let mut reader = open(&path, &opts).unwrap();
    assert_eq!(reader.layout(), Layout::Sp500FiveYear);
    let rows = read_all(&mut reader, 10_000);
    let stats = reader.stats();
    assert_eq!(stats.rows_read, 32_947);
    assert_eq!(stats.rows_rejected, 10);
    assert_eq!(stats.rows_accepted, 32_937);
    assert_eq!(stats.duplicates_in_file, 0);
    assert_eq!(rows.len(), 32_937);
    let lines: Vec<u64> = stats.rejects.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        [7563, 10813, 10936, 14794, 15440, 26803, 26926, 28035, 29967, 30998],
        "the empty open / open,high,low rows of BHF, DHR, ES, FTV, O, REGN, UA, VRTX"
    );
    for r in &stats.rejects {
        assert_eq!(r.column.as_deref(), Some("open"), "{r}");
        assert_eq!(r.reason, "empty field");
    }
    assert_eq!(stats.rejects[0].raw, "2017-07-26,,,,69.0842,3,BHF");
    assert_eq!(stats.rejects[0].to_string(), "line 7563, column \"open\": empty field");

    // First row: AAPL (the file's `ls` order puts AAPL before AAP), daily bar at 00:00 UTC.
    assert_eq!(rows.symbol[0], "AAPL");
    assert_eq!(rows.datetime[0], utc("2013-02-08T00:00:00Z"));
    // AOS 2014-05-19 has high < low: stored as is (flagged later, not here).
    let aos = rows.find("AOS", utc("2014-05-19T00:00:00Z")).unwrap();
    assert_eq!(rows.ohlcv[aos], [23.89, 23.595, 23.85, 24.445, 1_944_854.0]);
    // Every symbol is upper case; 30 symbols.
    let mut syms = rows.symbol.clone();
    syms.dedup();
    assert_eq!(syms.len(), 30);
    assert!(syms.iter().all(|s| *s == s.to_uppercase()));
    // Progress: the whole compressed file was consumed.
    assert_eq!(Some(reader.bytes_read()), reader.total_bytes());
}

#[test]
fn yahoo_daily_orcl() {
    let path = testdata("backtrader/orcl-1995-2014.txt");
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::YahooDaily);
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(reader.stats().rows_accepted, 5036);
    assert_eq!(reader.stats().rows_rejected, 0);
    assert!(rows.symbol.iter().all(|s| s == "ORCL"));
    assert_eq!(rows.datetime[0], utc("1995-01-03T00:00:00Z"));
    assert_eq!(*rows.datetime.last().unwrap(), utc("2014-12-31T00:00:00Z"));
    // Adj Close (1.883304) is skipped: close is the 5th field, volume the 7th.
    assert_eq!(rows.ohlcv[0], [2.179012, 2.191358, 2.117284, 2.117284, 36_301_200.0]);
}

#[test]
fn yahoo_daily_nvda_and_yhoo() {
    for (file, sym) in [("nvda-2014.txt", "NVDA"), ("yhoo-2014.txt", "YHOO")] {
        let path = testdata(&format!("backtrader/{file}"));
        let mut reader = open(&path, &ImportOptions::default()).unwrap();
        assert_eq!(reader.layout(), Layout::YahooDaily);
        let rows = read_all(&mut reader, 65_536);
        assert_eq!(rows.len(), 252, "{file}");
        assert!(rows.symbol.iter().all(|s| s == sym));
        assert_eq!(rows.datetime[0], utc("2014-01-02T00:00:00Z"));
    }
}

#[test]
fn backtrader_one_minute_with_the_short_header() {
    let path = testdata("backtrader/2006-01-02-volume-min-001.txt.gz");
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::BacktraderIntraday);
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(reader.stats().rows_rejected, 0, "{:?}", reader.stats().rejects.first());
    assert_eq!(rows.len(), 30_889);
    // F5.3: the file stem is the symbol, as is.
    assert!(rows.symbol.iter().all(|s| s == "2006-01-02-volume-min-001"));
    assert_eq!(rows.datetime[0], utc("2006-01-02T09:01:00Z"));
    assert_eq!(rows.ohlcv[0], [3602.0, 3603.0, 3597.0, 3599.0, 5699.0]);
    assert_eq!(*rows.datetime.last().unwrap(), utc("2006-02-27T22:00:00Z"));
}

#[test]
fn binance_vision_spot_and_futures() {
    let path = testdata("crypto/BTCUSDT-1h-2022-01.csv");
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    assert_eq!(reader.layout(), Layout::BinanceKline { header: true });
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.len(), 744);
    assert!(rows.symbol.iter().all(|s| s == "BTCUSDT"));
    assert_eq!(rows.datetime[0], 1_640_995_200_000_000);
    assert_eq!(rows.ohlcv[0], [46216.93, 46731.39, 46208.37, 46656.13, 1503.33095]);

    let path = testdata("crypto/AVAXUSDT-1m-2024-02-01.csv.gz");
    let mut reader = open(&path, &ImportOptions::default()).unwrap();
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.len(), 1440);
    assert!(rows.symbol.iter().all(|s| s == "AVAXUSDT"));
    assert_eq!(rows.datetime[0], utc("2024-02-01T00:00:00Z"));
    assert_eq!(*rows.datetime.last().unwrap(), utc("2024-02-01T23:59:00Z"));
}

#[test]
fn binance_us_rfc3339_through_the_generic_layout() {
    let path = testdata("crypto/BTCUSDC_1m_20230301.csv.gz");
    let opts = ImportOptions::default().with_symbol("btcusdc");
    let mut reader = open(&path, &opts).unwrap();
    assert_eq!(reader.layout(), Layout::Generic);
    let rows = read_all(&mut reader, 65_536);
    assert_eq!(rows.len(), 1440);
    assert!(rows.symbol.iter().all(|s| s == "BTCUSDC"));
    assert_eq!(rows.datetime[0], utc("2023-03-01T00:00:00Z"));
}

impl Rows {
    fn find(&self, symbol: &str, ts: i64) -> Option<usize> {
        (0..self.len()).find(|&i| self.symbol[i] == symbol && self.datetime[i] == ts)
    }
}
