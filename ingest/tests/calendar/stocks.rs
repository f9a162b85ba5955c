//! NYSE: the S&P 500 sample, the backtrader ORCL daily file and the 1-minute sample.

use std::collections::BTreeSet;

use candlestore::Timeframe;
use candlestore_ingest::{Calendar, Closure, GapWindow, ImportOptions, find_gaps};
use chrono::{Datelike, NaiveDate, Weekday};

use crate::{d, imported, sp500_dates, stamp};

#[test]
fn sp500_trading_days_are_exactly_the_nyse_sessions() {
    let all: BTreeSet<NaiveDate> = sp500_dates().into_values().flatten().collect();
    assert_eq!(all.len(), 1_259);
    let sessions: BTreeSet<NaiveDate> = Calendar::Nyse
        .sessions(d("2013-02-08"), d("2018-02-07"))
        .unwrap()
        .into_iter()
        .map(|s| s.date)
        .collect();
    assert_eq!(sessions.len(), 1_259);
    assert_eq!(all, sessions);
}

#[test]
fn sp500_symbol_gaps_are_the_known_missing_days() {
    let per_symbol = sp500_dates();
    assert_eq!(per_symbol.len(), 30);
    let mut with_gaps = Vec::new();
    for (symbol, dates) in &per_symbol {
        let stored: Vec<i64> = dates.iter().map(|&d| stamp(d)).collect();
        let gaps =
            find_gaps(Calendar::Nyse, Timeframe::Day1, &stored, GapWindow::StoredSpan).unwrap();
        assert_eq!(gaps.unexpected, 0, "{symbol}: every stored day is a session");
        if gaps.is_complete() {
            continue;
        }
        let ranges: Vec<(String, String, u64)> = gaps
            .ranges
            .iter()
            .map(|r| (r.first_session.to_string(), r.last_session.to_string(), r.bars))
            .collect();
        with_gaps.push((symbol.clone(), gaps.missing, ranges));
    }
    let find = |s: &str| with_gaps.iter().find(|(sym, _, _)| sym == s).cloned().unwrap();
    let r = |a: &str, b: &str, n: u64| (a.to_owned(), b.to_owned(), n);
    assert_eq!(
        find("BMY"),
        (
            "BMY".to_owned(),
            2,
            vec![r("2013-04-26", "2013-04-26", 1), r("2013-06-07", "2013-06-07", 1)]
        )
    );
    assert_eq!(find("ORCL"), ("ORCL".to_owned(), 2, vec![r("2013-07-15", "2013-07-16", 2)]));
    assert_eq!(find("ES"), ("ES".to_owned(), 10, vec![r("2015-03-09", "2015-03-20", 10)]));
    let dhr = find("DHR");
    assert_eq!(dhr.1, 16);
    assert_eq!(&dhr.2[..2], &[r("2013-04-26", "2013-04-26", 1), r("2013-09-09", "2013-09-11", 3)]);
    assert!(dhr.2.contains(&r("2015-03-09", "2015-03-20", 10)), "{:?}", dhr.2);
    assert_eq!(find("ICE").1, 5);
    assert_eq!(find("O").1, 16);
    let names: Vec<&str> = with_gaps.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(names, ["BMY", "DHR", "ES", "ICE", "O", "ORCL"], "every other symbol is complete");
}

#[test]
fn orcl_1995_to_2014_trades_on_exactly_the_nyse_sessions() {
    // Twenty years through the 1998 start of MLK day, September 2001, the Reagan and Ford
    // days of mourning and Hurricane Sandy.
    let orcl = imported("backtrader/orcl-1995-2014.txt", &ImportOptions::default());
    let stored = &orcl["ORCL"];
    assert_eq!(stored.len(), 5_036);
    let gaps = find_gaps(
        Calendar::Nyse,
        Timeframe::Day1,
        stored,
        GapWindow::Dates { start: d("1995-01-01"), end: d("2014-12-31") },
    )
    .unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.unexpected), (5_036, 0, 0), "{:?}", gaps.ranges);
}

#[test]
fn one_minute_sample_trades_on_weekdays_including_three_us_holidays() {
    // The backtrader 1-minute sample is a European futures contract (09:01..22:00 naive
    // times): it trades every weekday, so its days are the NYSE sessions plus exactly the
    // NYSE holidays of the period that fall on weekdays.
    let bars = imported("backtrader/2006-01-02-volume-min-001.txt.gz", &ImportOptions::default());
    let dates: BTreeSet<NaiveDate> = bars
        .values()
        .flatten()
        .map(|&t| chrono::DateTime::from_timestamp_micros(t).unwrap().date_naive())
        .collect();
    assert_eq!(dates.len(), 41);
    assert!(dates.iter().all(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)));
    let (first, last) = (*dates.first().unwrap(), *dates.last().unwrap());
    let sessions: BTreeSet<NaiveDate> =
        Calendar::Nyse.sessions(first, last).unwrap().into_iter().map(|s| s.date).collect();
    let holidays: BTreeSet<NaiveDate> = Calendar::Nyse
        .closed_days(first, last)
        .unwrap()
        .into_iter()
        .filter(|(_, c)| matches!(c, Closure::Holiday(_)))
        .map(|(d, _)| d)
        .collect();
    assert_eq!(holidays, [d("2006-01-02"), d("2006-01-16"), d("2006-02-20")].into_iter().collect());
    assert_eq!(sessions.len(), 38);
    assert_eq!(&dates - &holidays, sessions);
}
