use candlestore::Timeframe;
use chrono::{NaiveDate, TimeZone};

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn stamp(s: &str) -> Micros {
    date_micros(d(s))
}

fn utc(s: &str) -> Micros {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

/// A New York wall time, converted with chrono-tz independently of the calendar.
fn et(date: &str, h: u32, m: u32) -> Micros {
    let naive = d(date).and_hms_opt(h, m, 0).unwrap();
    chrono_tz::America::New_York.from_local_datetime(&naive).single().unwrap().timestamp_micros()
}

fn minutes(date: &str, from: (u32, u32), to: (u32, u32), step: u32) -> Vec<Micros> {
    let mut out = Vec::new();
    let (mut h, mut m) = from;
    while (h, m) < to {
        out.push(et(date, h, m));
        m += step;
        h += m / 60;
        m %= 60;
    }
    out
}

#[test]
fn daily_holes_are_grouped_and_holidays_are_not_gaps() {
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Day1, d("2024-01-01"), d("2024-01-31")).unwrap();
    let all: Vec<Micros> = finder.sessions().iter().map(Session::date_stamp).collect();
    assert_eq!(all.len(), 21, "January 2024: 23 weekdays minus New Year's Day and MLK day");
    let stored: Vec<Micros> = all
        .iter()
        .copied()
        .filter(|&t| ![stamp("2024-01-10"), stamp("2024-01-11"), stamp("2024-01-24")].contains(&t))
        .collect();
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.present, gaps.missing), (21, 18, 3));
    assert_eq!(gaps.sessions, 21);
    assert_eq!(gaps.closed_days, 10, "8 weekend days + 2 holidays");
    assert_eq!(
        gaps.ranges,
        vec![
            GapRange {
                first: stamp("2024-01-10"),
                last: stamp("2024-01-11"),
                first_session: d("2024-01-10"),
                last_session: d("2024-01-11"),
                bars: 2,
                sessions: 2,
            },
            GapRange {
                first: stamp("2024-01-24"),
                last: stamp("2024-01-24"),
                first_session: d("2024-01-24"),
                last_session: d("2024-01-24"),
                bars: 1,
                sessions: 1,
            },
        ]
    );
    // A range across a weekend and a holiday stays one range: Fri 12th .. Tue 16th.
    let stored: Vec<Micros> = all
        .iter()
        .copied()
        .filter(|&t| t < stamp("2024-01-12") || t > stamp("2024-01-16"))
        .collect();
    let gaps = finder.find(&stored).unwrap();
    assert_eq!(gaps.ranges.len(), 1);
    assert_eq!(
        (gaps.ranges[0].first_session, gaps.ranges[0].last_session),
        (d("2024-01-12"), d("2024-01-16"))
    );
    assert_eq!((gaps.ranges[0].bars, gaps.ranges[0].sessions), (2, 2));
    assert!(finder.find(&all).unwrap().is_complete());
}

#[test]
fn bars_on_closed_days_are_unexpected_not_matched() {
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Day1, d("2024-01-12"), d("2024-01-16")).unwrap();
    // Saturday 13th and MLK day 15th hold bars: unexpected; nothing is missing.
    let stored =
        [stamp("2024-01-12"), stamp("2024-01-13"), stamp("2024-01-15"), stamp("2024-01-16")];
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.unexpected), (2, 0, 2));
    assert_eq!(gaps.unexpected_samples, vec![stamp("2024-01-13"), stamp("2024-01-15")]);
}

#[test]
fn intraday_gaps_span_sessions_and_follow_dst() {
    // Friday 2024-03-08 (EST) and Monday 2024-03-11 (EDT): 78 five-minute bars each.
    let mut stored = minutes("2024-03-08", (9, 30), (16, 0), 5);
    stored.extend(minutes("2024-03-11", (9, 30), (16, 0), 5));
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Min5, d("2024-03-08"), d("2024-03-11")).unwrap();
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.unexpected), (156, 0, 0));
    // The first Monday bar is 13:30 UTC, the first Friday bar 14:30 UTC.
    assert!(
        stored.contains(&utc("2024-03-11T13:30:00Z"))
            && stored.contains(&utc("2024-03-08T14:30:00Z"))
    );

    // Drop Friday 15:50..16:00 and Monday 09:30..09:40: one range over the weekend, 4 bars,
    // 2 sessions.
    let holes = [
        et("2024-03-08", 15, 50),
        et("2024-03-08", 15, 55),
        et("2024-03-11", 9, 30),
        et("2024-03-11", 9, 35),
    ];
    let partial: Vec<Micros> = stored.iter().copied().filter(|t| !holes.contains(t)).collect();
    let gaps = finder.find(&partial).unwrap();
    assert_eq!(gaps.ranges.len(), 1);
    let r = gaps.ranges[0];
    assert_eq!((r.first, r.last, r.bars, r.sessions), (holes[0], holes[3], 4, 2));
    assert_eq!((r.first_session, r.last_session), (d("2024-03-08"), d("2024-03-11")));

    // A bar stamped 16:00 (the close) or off the 5-minute grid is unexpected.
    let mut odd = stored.clone();
    odd.push(et("2024-03-11", 16, 0));
    odd.insert(1, et("2024-03-08", 9, 31));
    let gaps = finder.find(&odd).unwrap();
    assert_eq!((gaps.missing, gaps.unexpected), (0, 2));
}

#[test]
fn early_close_sessions_expect_bars_until_13_00() {
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Min1, d("2024-12-24"), d("2024-12-24")).unwrap();
    let stored = minutes("2024-12-24", (9, 30), (13, 0), 1);
    assert_eq!(stored.len(), 210);
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.unexpected), (210, 0, 0));
    let full_day = minutes("2024-12-24", (9, 30), (16, 0), 1);
    let gaps = finder.find(&full_day).unwrap();
    assert_eq!((gaps.missing, gaps.unexpected), (0, 180));
}

#[test]
fn crypto_hours_run_through_weekends_and_midnight() {
    let finder =
        GapFinder::new(Calendar::AlwaysOpen, Timeframe::Hour1, d("2023-12-30"), d("2024-01-01"))
            .unwrap();
    let start = utc("2023-12-30T00:00:00Z");
    let hour = 3_600_000_000;
    let stored: Vec<Micros> = (0..72)
        .map(|i| start + i * hour)
        .filter(|t| {
            // 22:00 Dec 31 .. 01:00 Jan 1 missing
            !(utc("2023-12-31T22:00:00Z")..=utc("2024-01-01T01:00:00Z")).contains(t)
        })
        .collect();
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing, gaps.closed_days), (72, 4, 0));
    assert_eq!(gaps.ranges.len(), 1);
    assert_eq!((gaps.ranges[0].bars, gaps.ranges[0].sessions), (4, 2));
}

#[test]
fn weekly_bars_sit_on_each_weeks_first_session() {
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Week1, d("2024-01-01"), d("2024-01-31")).unwrap();
    // Weeks of Jan 2024 start Tue 2 (Jan 1 holiday), Mon 8, Tue 16 (MLK), Mon 22, Mon 29.
    let stored =
        [stamp("2024-01-02"), stamp("2024-01-08"), stamp("2024-01-22"), stamp("2024-01-29")];
    let gaps = finder.find(&stored).unwrap();
    assert_eq!((gaps.expected, gaps.missing), (5, 1));
    assert_eq!(gaps.ranges[0].first_session, d("2024-01-16"));
}

#[test]
fn stored_span_ignores_before_first_and_after_last_bar() {
    let stored = [stamp("2024-01-03"), stamp("2024-01-05")];
    let gaps = find_gaps(Calendar::Nyse, Timeframe::Day1, &stored, GapWindow::StoredSpan).unwrap();
    assert_eq!((gaps.expected, gaps.missing), (3, 1));
    assert_eq!(gaps.ranges[0].first_session, d("2024-01-04"));
    // Intraday: a symbol starting mid-session does not report the session's start as missing.
    let stored = minutes("2024-01-03", (10, 0), (10, 5), 1);
    let gaps = find_gaps(Calendar::Nyse, Timeframe::Min1, &stored, GapWindow::StoredSpan).unwrap();
    assert_eq!((gaps.expected, gaps.missing), (5, 0));
    let gaps = find_gaps(Calendar::Nyse, Timeframe::Min1, &[], GapWindow::StoredSpan).unwrap();
    assert_eq!(gaps, SymbolGaps::default());
    // A date window reports everything of an empty symbol as missing.
    let window = GapWindow::Dates { start: d("2024-01-02"), end: d("2024-01-05") };
    let gaps = find_gaps(Calendar::Nyse, Timeframe::Day1, &[], window).unwrap();
    assert_eq!((gaps.missing, gaps.ranges.len()), (4, 1));
}

#[test]
fn invalid_input_is_refused_precisely() {
    let err = GapFinder::new(Calendar::Nyse, Timeframe::Day1, d("2024-02-01"), d("2024-01-01"))
        .unwrap_err();
    assert_eq!(err.to_string(), "gap window: start 2024-02-01 is after end 2024-01-01");
    let finder =
        GapFinder::new(Calendar::Nyse, Timeframe::Day1, d("2024-01-01"), d("2024-01-31")).unwrap();
    let err = finder.find(&[stamp("2024-01-03"), stamp("2024-01-02")]).unwrap_err();
    assert_eq!(
        err,
        CalendarError::UnsortedTimestamps {
            index: 1,
            previous: stamp("2024-01-03"),
            value: stamp("2024-01-02")
        }
    );
    let err = finder.find(&[stamp("2024-01-03"), stamp("2024-01-03")]).unwrap_err();
    assert!(
        err.to_string().starts_with("stored timestamps are not strictly increasing at index 1"),
        "{err}"
    );
    assert!(matches!(finder.find_between(&[], 5, 4), Err(CalendarError::StartAfterEnd { .. })));
    assert!(matches!(
        GapFinder::new(Calendar::Nyse, Timeframe::Day1, d("1980-01-01"), d("2024-01-31")),
        Err(CalendarError::DateOutOfRange { .. })
    ));
}
