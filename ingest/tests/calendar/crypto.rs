//! 24/7: Binance hourly and one-minute klines.

use candlestore::Timeframe;
use candlestore_ingest::{Calendar, GapFinder, GapWindow, ImportOptions, find_gaps};

use crate::{d, imported, utc};

#[test]
fn btcusdt_hourly_january_2022_is_complete() {
    let bars = imported("crypto/BTCUSDT-1h-2022-01.csv", &ImportOptions::default());
    let stored = &bars["BTCUSDT"];
    let window = GapWindow::Dates { start: d("2022-01-01"), end: d("2022-01-31") };
    let gaps = find_gaps(Calendar::AlwaysOpen, Timeframe::Hour1, stored, window).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.unexpected, gaps.closed_days), (744, 0, 0, 0));
    // Remove a real stretch of six hours across midnight: one range over two sessions.
    let holes = utc("2022-01-15T21:00:00Z")..=utc("2022-01-16T02:00:00Z");
    let cut: Vec<i64> = stored.iter().copied().filter(|t| !holes.contains(t)).collect();
    let gaps = find_gaps(Calendar::AlwaysOpen, Timeframe::Hour1, &cut, window).unwrap();
    assert_eq!(gaps.ranges.len(), 1);
    let r = gaps.ranges[0];
    assert_eq!((r.first, r.last, r.bars, r.sessions), (*holes.start(), *holes.end(), 6, 2));
}

#[test]
fn avaxusdt_one_minute_day_is_complete_and_reused_finder_agrees() {
    let bars = imported("crypto/AVAXUSDT-1m-2024-02-01.csv.gz", &ImportOptions::default());
    let (symbol, stored) = bars.iter().next().unwrap();
    assert_eq!(stored.len(), 1_440, "{symbol}");
    let finder =
        GapFinder::new(Calendar::AlwaysOpen, Timeframe::Min1, d("2024-02-01"), d("2024-02-02"))
            .unwrap();
    // The whole window: the second day is entirely missing.
    let gaps = finder.find(stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.ranges.len()), (2_880, 1_440, 1));
    // Between the first and last stored bar: complete.
    let gaps = finder.find_between(stored, stored[0], *stored.last().unwrap()).unwrap();
    assert!(gaps.is_complete());
}
