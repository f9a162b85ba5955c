use std::time::Duration;

use candlestore::Timeframe;
use chrono::NaiveDate;

use super::*;
use crate::calendar::BarAlignment;
use crate::calendar::session::date_micros;

fn stamp(s: &str) -> Micros {
    date_micros(s.parse::<NaiveDate>().unwrap())
}

fn utc(s: &str) -> Micros {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn a_friday_bar_is_fresh_over_the_weekend_and_during_monday() {
    let fri = stamp("2024-03-08");
    for now in ["2024-03-08T21:00:00Z", "2024-03-10T12:00:00Z", "2024-03-11T19:59:59Z"] {
        let f =
            assess(Calendar::Nyse, Timeframe::Day1, BarAlignment::SessionOpen, fri, utc(now), DAY)
                .unwrap();
        assert_eq!(f.last_expected, Some(fri), "{now}");
        assert_eq!((f.overdue_seconds, f.missing_bars, f.is_stale), (0, 0, false), "{now}");
    }
    let f = assess(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        fri,
        utc("2024-03-10T12:00:00Z"),
        DAY,
    )
    .unwrap();
    assert_eq!(f.age_seconds, 2 * 86_400 + 12 * 3_600);
    // Before Friday's close, Thursday is the last complete bar.
    let f = assess(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        fri,
        utc("2024-03-08T20:59:00Z"),
        DAY,
    )
    .unwrap();
    assert_eq!(f.last_expected, Some(stamp("2024-03-07")));
}

#[test]
fn missing_sessions_become_stale_after_the_threshold() {
    let fri = stamp("2024-03-08");
    // Tuesday 20:30 UTC: Monday closed at 20:00 UTC (EDT) a day and a half hour ago.
    let now = utc("2024-03-12T20:30:00Z");
    let f =
        assess(Calendar::Nyse, Timeframe::Day1, BarAlignment::SessionOpen, fri, now, DAY).unwrap();
    assert_eq!(f.last_expected, Some(stamp("2024-03-12")));
    assert_eq!(f.missing_bars, 2);
    assert_eq!(f.overdue_seconds, 24 * 3_600 + 1_800);
    assert!(f.is_stale);
    let f = assess(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        fri,
        now,
        Duration::from_secs(36 * 3_600),
    )
    .unwrap();
    assert!(!f.is_stale);
    assert_eq!(f.threshold_seconds, 129_600);
}

#[test]
fn holidays_and_early_closes_shift_expectations() {
    // Good Friday 2024-03-29: Thursday's bar is still the last one on Monday morning.
    let f = assess(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        stamp("2024-03-28"),
        utc("2024-04-01T12:00:00Z"),
        DAY,
    )
    .unwrap();
    assert_eq!((f.last_expected, f.is_stale), (Some(stamp("2024-03-28")), false));
    // Christmas Eve closes at 13:00 ET = 18:00 UTC.
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        utc("2024-12-24T18:00:00Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!((b.start, b.end), (stamp("2024-12-24"), utc("2024-12-24T18:00:00Z")));
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Day1,
        BarAlignment::SessionOpen,
        utc("2024-12-24T17:59:59Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(b.start, stamp("2024-12-23"));
}

#[test]
fn intraday_and_crypto_last_bars() {
    // Monday 2024-03-11 10:00:30 EDT: the 09:59 bar is the last complete one.
    let now = utc("2024-03-11T14:00:30Z");
    let f = assess(
        Calendar::Nyse,
        Timeframe::Min1,
        BarAlignment::SessionOpen,
        utc("2024-03-11T13:55:00Z"),
        now,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(f.last_expected, Some(utc("2024-03-11T13:59:00Z")));
    assert_eq!(f.missing_bars, 4);
    assert_eq!(f.overdue_seconds, 210, "the 09:56 bar completed at 09:57");
    assert!(f.is_stale);
    // Before the open, Friday's 15:59 bar (EST, 20:59 UTC) is the last.
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Min1,
        BarAlignment::SessionOpen,
        utc("2024-03-11T13:29:00Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(b.start, utc("2024-03-08T20:59:00Z"));
    let b = last_expected_bar(
        Calendar::AlwaysOpen,
        Timeframe::Hour1,
        BarAlignment::SessionOpen,
        utc("2024-01-01T00:30:00Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(b.start, utc("2023-12-31T23:00:00Z"));
    let f = assess(
        Calendar::AlwaysOpen,
        Timeframe::Hour1,
        BarAlignment::SessionOpen,
        utc("2023-12-31T20:00:00Z"),
        utc("2024-01-01T00:30:00Z"),
        Duration::from_secs(7_200),
    )
    .unwrap();
    assert_eq!((f.missing_bars, f.overdue_seconds, f.is_stale), (3, 9_000, true));
}

#[test]
fn weekly_bars_complete_at_the_weeks_last_close() {
    // Week of MLK day 2024: stamped Tuesday 16th, complete Friday 19th 16:00 EST = 21:00 UTC.
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Week1,
        BarAlignment::SessionOpen,
        utc("2024-01-19T21:00:00Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!((b.start, b.end), (stamp("2024-01-16"), utc("2024-01-19T21:00:00Z")));
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Week1,
        BarAlignment::SessionOpen,
        utc("2024-01-19T20:00:00Z"),
    )
    .unwrap()
    .unwrap();
    assert_eq!(b.start, stamp("2024-01-08"));
}

#[test]
fn out_of_range_clock_is_refused() {
    assert_eq!(
        last_expected_bar(
            Calendar::Nyse,
            Timeframe::Day1,
            BarAlignment::SessionOpen,
            stamp("1980-06-01")
        )
        .unwrap(),
        None
    );
    assert!(matches!(
        last_expected_bar(Calendar::Nyse, Timeframe::Day1, BarAlignment::SessionOpen, i64::MAX),
        Err(CalendarError::TimestampOutOfRange { .. })
    ));
}

#[test]
fn clock_aligned_hour_bars() {
    // Monday 2024-03-11 16:00 EDT: the last hour bar is 15:00 ET on the clock grid and 15:30 ET
    // on the session-open grid; both complete at the close.
    let now = utc("2024-03-11T20:00:00Z");
    let clock = last_expected_bar(Calendar::Nyse, Timeframe::Hour1, BarAlignment::Clock, now);
    let clock = clock.unwrap().unwrap();
    assert_eq!((clock.start, clock.end), (utc("2024-03-11T19:00:00Z"), now));
    let open = last_expected_bar(Calendar::Nyse, Timeframe::Hour1, BarAlignment::SessionOpen, now);
    assert_eq!(open.unwrap().unwrap().start, utc("2024-03-11T19:30:00Z"));
    // A source stamping on the hour is up to date under the clock grid.
    let day = Duration::from_secs(3_600);
    let f = assess(Calendar::Nyse, Timeframe::Hour1, BarAlignment::Clock, clock.start, now, day)
        .unwrap();
    assert_eq!((f.missing_bars, f.is_stale), (0, false));
    // The first clock bar of the day (09:00 ET) completes at 10:00 ET.
    let b = last_expected_bar(
        Calendar::Nyse,
        Timeframe::Hour1,
        BarAlignment::Clock,
        utc("2024-03-11T14:00:00Z"),
    );
    assert_eq!(b.unwrap().unwrap().start, utc("2024-03-11T13:00:00Z"));
}

/// `is_stale` (first bar after the newest, no counting) gives `assess`'s verdict, for every
/// timeframe, both calendars, newest bars before holidays, weekends and early closes, and
/// clocks from minutes to years later.
#[test]
fn is_stale_agrees_with_assess() {
    let newest_days = [
        "2024-01-08",
        "2024-02-20",
        "2023-11-22",
        "2023-11-24",
        "2023-12-22",
        "2024-03-28",
        "2024-07-03",
    ];
    let offsets_h = [0i64, 1, 5, 13, 20, 26, 49, 73, 100, 200, 24 * 40, 24 * 400];
    let thresholds = [Duration::from_secs(3600), Duration::from_secs(86_400)];
    let mut checked = 0;
    for calendar in [Calendar::Nyse, Calendar::AlwaysOpen] {
        for tf in
            [Timeframe::Min1, Timeframe::Min15, Timeframe::Hour1, Timeframe::Day1, Timeframe::Week1]
        {
            for day in newest_days {
                let date: NaiveDate = day.parse().unwrap();
                let sessions = calendar.sessions(date, date).unwrap();
                let Some(session) = sessions.first() else { continue };
                let starts: Vec<Micros> =
                    session.bar_starts_aligned(tf, BarAlignment::default()).collect();
                // (A weekly bar starts only on its week's first session.)
                let (Some(&first), Some(&last)) = (starts.first(), starts.last()) else {
                    continue;
                };
                for newest in [first, last] {
                    for h in offsets_h {
                        let now = newest + h * 3_600_000_000 + 60_000_000;
                        for t in thresholds {
                            let a = assess(calendar, tf, BarAlignment::default(), newest, now, t)
                                .unwrap();
                            let b = is_stale(calendar, tf, BarAlignment::default(), newest, now, t)
                                .unwrap();
                            assert_eq!(b, a.is_stale, "{calendar:?} {tf:?} {newest} +{h}h {t:?}");
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}
