//! NYSE sessions and early closes against 23 years of real SPY hour bars (QuantConnect LEAN,
//! America/New_York bar-start times, regular session only: 09:00 is the 09:30-10:00 bar).

use std::collections::BTreeMap;
use std::io::Read;

use candlestore::Timeframe;
use candlestore_ingest::{BarAlignment, Calendar, GapFinder, SessionHours};
use chrono::{NaiveDate, Timelike};

use crate::{d, testdata};

/// Per date, the ET hours of its bars.
fn spy_hours() -> BTreeMap<NaiveDate, Vec<u32>> {
    let file = std::fs::File::open(testdata("lean/spy-hour-1998-2021.csv.gz")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut out: BTreeMap<NaiveDate, Vec<u32>> = BTreeMap::new();
    for line in text.lines() {
        let stamp = line.split(',').next().unwrap();
        let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d %H:%M").unwrap();
        out.entry(t.date()).or_default().push(t.hour());
    }
    out
}

#[test]
fn spy_1998_to_2021_trades_on_exactly_the_nyse_sessions() {
    let hours = spy_hours();
    let (first, last) = (*hours.keys().next().unwrap(), *hours.keys().last().unwrap());
    assert_eq!((first, last), (d("1998-01-02"), d("2021-03-31")));
    let sessions = Calendar::Nyse.sessions(first, last).unwrap();
    let dates: Vec<NaiveDate> = sessions.iter().map(|s| s.date).collect();
    let traded: Vec<NaiveDate> = hours.keys().copied().collect();
    assert_eq!(traded.len(), 5_849);
    assert_eq!(dates, traded);
}

#[test]
fn spy_volume_stops_at_13_00_on_exactly_the_early_closes() {
    // On a half day the 15:00-16:00 bar is empty or holds a few hundred shares of late prints
    // (< 0.02 % of the day); on every full session it holds more than 2 % of the day.
    let volumes = spy_volumes();
    let sessions = Calendar::Nyse.sessions(d("1998-01-02"), d("2021-03-31")).unwrap();
    let mut early = Vec::new();
    for s in &sessions {
        let by_hour = &volumes[&s.date];
        let total: f64 = by_hour.values().sum();
        let last_hour = by_hour.get(&15).copied().unwrap_or(0.0) / total;
        let calendar_says_early = s.hours == SessionHours::EarlyClose;
        assert_eq!(
            calendar_says_early,
            last_hour < 0.005,
            "{}: 15:00 bar holds {last_hour}",
            s.date
        );
        if calendar_says_early {
            early.push(s.date);
        }
    }
    assert_eq!(early.len(), 52);
    assert!(early.contains(&d("1999-12-31")) && early.contains(&d("2002-07-05")));
    assert!(early.contains(&d("2013-07-03")) && early.contains(&d("2020-12-24")));
}

/// Per date, volume per ET hour.
fn spy_volumes() -> BTreeMap<NaiveDate, BTreeMap<u32, f64>> {
    let file = std::fs::File::open(testdata("lean/spy-hour-1998-2021.csv.gz")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut out: BTreeMap<NaiveDate, BTreeMap<u32, f64>> = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let t = chrono::NaiveDateTime::parse_from_str(fields[0], "%Y%m%d %H:%M").unwrap();
        let volume: f64 = fields[5].parse().unwrap();
        *out.entry(t.date()).or_default().entry(t.hour()).or_default() += volume;
    }
    out
}

#[test]
fn spy_hour_bars_are_complete_on_a_clock_aligned_grid() {
    // LEAN stamps hour bars 09:00..15:00 ET (clock-aligned). Every expected bar of 23 years is
    // there; the only bars the calendar does not expect are 47 late prints after 13:00 on half
    // days and one 11:00 print before the 12:00 late open of 2002-09-11.
    let tz = chrono_tz::America::New_York;
    let file = std::fs::File::open(testdata("lean/spy-hour-1998-2021.csv.gz")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let stored: Vec<i64> = text
        .lines()
        .map(|line| {
            let stamp = line.split(',').next().unwrap();
            let t = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d %H:%M").unwrap();
            t.and_local_timezone(tz).single().unwrap().timestamp_micros()
        })
        .collect();
    assert_eq!(stored.len(), 40_832);
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Hour1, d("1998-01-02"), d("2021-03-31")).unwrap();
    let clock = finder.clone().with_alignment(BarAlignment::Clock).find(&stored).unwrap();
    assert_eq!((clock.expected, clock.missing, clock.unexpected), (40_784, 0, 48));
    // On the default grid (09:30, 10:30, ...) these stamps are unexpected, except the four
    // of 2002-09-11, whose 12:00 late open puts that day's grid on whole hours.
    let open = finder.find(&stored).unwrap();
    assert_eq!((open.present, open.unexpected), (4, 40_828));
}
