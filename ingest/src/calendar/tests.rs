use chrono::NaiveDate;

use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

/// Weekday closures of a year, as dates.
fn holidays(year: i32) -> Vec<String> {
    Calendar::Nyse
        .closed_days(d(&format!("{year}-01-01")), d(&format!("{year}-12-31")))
        .unwrap()
        .into_iter()
        .filter(|(_, c)| *c != Closure::Weekend)
        .map(|(date, _)| date.to_string())
        .collect()
}

fn early_closes(year: i32) -> Vec<(String, i64)> {
    Calendar::Nyse
        .sessions(d(&format!("{year}-01-01")), d(&format!("{year}-12-31")))
        .unwrap()
        .into_iter()
        .filter(|s| s.hours == SessionHours::EarlyClose)
        .map(|s| (s.date.to_string(), s.close))
        .collect()
}

#[test]
fn nyse_holidays_of_recent_years() {
    assert_eq!(
        holidays(2021),
        [
            "2021-01-01",
            "2021-01-18",
            "2021-02-15",
            "2021-04-02",
            "2021-05-31",
            "2021-07-05",
            "2021-09-06",
            "2021-11-25",
            "2021-12-24"
        ]
    );
    // Jan 1 2022 is a Saturday: no holiday (and Dec 31 2021 was a full session). Juneteenth
    // starts, observed on Monday June 20.
    assert_eq!(
        holidays(2022),
        [
            "2022-01-17",
            "2022-02-21",
            "2022-04-15",
            "2022-05-30",
            "2022-06-20",
            "2022-07-04",
            "2022-09-05",
            "2022-11-24",
            "2022-12-26"
        ]
    );
    assert_eq!(
        holidays(2024),
        [
            "2024-01-01",
            "2024-01-15",
            "2024-02-19",
            "2024-03-29",
            "2024-05-27",
            "2024-06-19",
            "2024-07-04",
            "2024-09-02",
            "2024-11-28",
            "2024-12-25"
        ]
    );
    // 2025: the national day of mourning for Jimmy Carter.
    assert_eq!(
        holidays(2025),
        [
            "2025-01-01",
            "2025-01-09",
            "2025-01-20",
            "2025-02-17",
            "2025-04-18",
            "2025-05-26",
            "2025-06-19",
            "2025-07-04",
            "2025-09-01",
            "2025-11-27",
            "2025-12-25"
        ]
    );
    // July 4 2026 is a Saturday: observed Friday July 3.
    assert_eq!(
        holidays(2026),
        [
            "2026-01-01",
            "2026-01-19",
            "2026-02-16",
            "2026-04-03",
            "2026-05-25",
            "2026-06-19",
            "2026-07-03",
            "2026-09-07",
            "2026-11-26",
            "2026-12-25"
        ]
    );
    // Juneteenth and Christmas on Saturdays: observed the Fridays before.
    assert_eq!(
        holidays(2027),
        [
            "2027-01-01",
            "2027-01-18",
            "2027-02-15",
            "2027-03-26",
            "2027-05-31",
            "2027-06-18",
            "2027-07-05",
            "2027-09-06",
            "2027-11-25",
            "2027-12-24"
        ]
    );
}

#[test]
fn nyse_holidays_before_mlk_and_juneteenth() {
    // 1997: no MLK day; 1998: the first one.
    assert_eq!(
        holidays(1997),
        [
            "1997-01-01",
            "1997-02-17",
            "1997-03-28",
            "1997-05-26",
            "1997-07-04",
            "1997-09-01",
            "1997-11-27",
            "1997-12-25"
        ]
    );
    assert!(holidays(1998).contains(&"1998-01-19".to_owned()));
    assert!(!holidays(2021).iter().any(|h| h.starts_with("2021-06")), "no Juneteenth in 2021");
}

#[test]
fn special_closures_are_named() {
    for (date, reason) in [
        ("1994-04-27", "Nixon"),
        ("2001-09-11", "September 11"),
        ("2001-09-14", "September 11"),
        ("2004-06-11", "Reagan"),
        ("2007-01-02", "Ford"),
        ("2012-10-29", "Sandy"),
        ("2012-10-30", "Sandy"),
        ("2018-12-05", "Bush"),
        ("2025-01-09", "Carter"),
    ] {
        match Calendar::Nyse.day(d(date)).unwrap() {
            Day::Closed(Closure::Special { reason: r }) => {
                assert!(r.contains(reason), "{date}: {r}")
            }
            other => panic!("{date}: {other:?}"),
        }
    }
    assert_eq!(
        Calendar::Nyse.day(d("2024-03-29")).unwrap(),
        Day::Closed(Closure::Holiday(Holiday::GoodFriday))
    );
    assert_eq!(Calendar::Nyse.day(d("2024-03-30")).unwrap(), Day::Closed(Closure::Weekend));
}

#[test]
fn early_closes_follow_their_historical_rules() {
    let et = |date: &str, hm: &str| {
        let tz = chrono_tz::America::New_York;
        let naive =
            chrono::NaiveDateTime::parse_from_str(&format!("{date} {hm}"), "%Y-%m-%d %H:%M")
                .unwrap();
        tz.from_local_datetime(&naive).single().unwrap().timestamp_micros()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, i64)> {
        v.iter().map(|(date, hm)| ((*date).to_owned(), et(date, hm))).collect()
    };
    // July 3 on a Wednesday: early close from 2013 on; Christmas Eve on a Tuesday.
    assert_eq!(
        early_closes(2024),
        pairs(&[("2024-07-03", "13:00"), ("2024-11-29", "13:00"), ("2024-12-24", "13:00")])
    );
    assert_eq!(
        early_closes(2013),
        pairs(&[("2013-07-03", "13:00"), ("2013-11-29", "13:00"), ("2013-12-24", "13:00")])
    );
    // Before 2013 a Wednesday July 3 was a full day (2002: July 4 on a Thursday closed early on
    // Friday July 5 instead).
    assert_eq!(
        early_closes(2002),
        pairs(&[("2002-07-05", "13:00"), ("2002-11-29", "13:00"), ("2002-12-24", "13:00")])
    );
    // Christmas Eve on a Friday is the observed Christmas holiday; July 3 2021 is a Saturday.
    assert_eq!(early_closes(2021), pairs(&[("2021-11-26", "13:00")]));
    // 1992: 2 p.m. closes; 1991: no day-after-Thanksgiving early close yet.
    assert_eq!(early_closes(1992), pairs(&[("1992-11-27", "14:00"), ("1992-12-24", "14:00")]));
    assert_eq!(early_closes(1991).iter().filter(|(d, _)| d == "1991-11-29").count(), 0);
    // Unscheduled hours: the late open of 2001-09-17 and the 15:56 close of 2005-06-01.
    let s = Calendar::Nyse.session(d("2001-09-17")).unwrap().unwrap();
    assert_eq!((s.open, s.hours), (et("2001-09-17", "09:33"), SessionHours::Irregular));
    let s = Calendar::Nyse.session(d("2005-06-01")).unwrap().unwrap();
    assert_eq!(s.close, et("2005-06-01", "15:56"));
}

#[test]
fn sessions_follow_daylight_saving_time() {
    // 2024-03-10: EST -> EDT. Friday opens 14:30 UTC, Monday 13:30 UTC.
    let fri = Calendar::Nyse.session(d("2024-03-08")).unwrap().unwrap();
    let mon = Calendar::Nyse.session(d("2024-03-11")).unwrap().unwrap();
    assert_eq!((fri.open, fri.close), (utc("2024-03-08T14:30:00Z"), utc("2024-03-08T21:00:00Z")));
    assert_eq!((mon.open, mon.close), (utc("2024-03-11T13:30:00Z"), utc("2024-03-11T20:00:00Z")));
    // 2024-11-03: EDT -> EST.
    let fri = Calendar::Nyse.session(d("2024-11-01")).unwrap().unwrap();
    let mon = Calendar::Nyse.session(d("2024-11-04")).unwrap().unwrap();
    assert_eq!(fri.open, utc("2024-11-01T13:30:00Z"));
    assert_eq!(mon.open, utc("2024-11-04T14:30:00Z"));
    // Before 2007 DST started on the first Sunday of April.
    let s = Calendar::Nyse.session(d("2006-03-13")).unwrap().unwrap();
    assert_eq!(s.open, utc("2006-03-13T14:30:00Z"));
    let s = Calendar::Nyse.session(d("2006-04-03")).unwrap().unwrap();
    assert_eq!(s.open, utc("2006-04-03T13:30:00Z"));
    // An early close in EST: 13:00 ET = 18:00 UTC.
    let s = Calendar::Nyse.session(d("2024-12-24")).unwrap().unwrap();
    assert_eq!((s.close, s.hours), (utc("2024-12-24T18:00:00Z"), SessionHours::EarlyClose));
    assert_eq!(s.bar_count(candlestore::Timeframe::Min1), 210);
}

#[test]
fn year_boundaries_and_weeks() {
    // 2021-12-31 (Friday before a Saturday New Year's Day) is a session; 2022-01-03 too.
    let s = Calendar::Nyse.sessions(d("2021-12-30"), d("2022-01-04")).unwrap();
    let dates: Vec<String> = s.iter().map(|s| s.date.to_string()).collect();
    assert_eq!(dates, ["2021-12-30", "2021-12-31", "2022-01-03", "2022-01-04"]);
    assert_eq!(s.iter().map(|s| s.opens_week).collect::<Vec<_>>(), [false, false, true, false]);
    // A week starting with a holiday opens on Tuesday, also when asked mid-week.
    let s = Calendar::Nyse.session(d("2024-01-16")).unwrap().unwrap();
    assert!(s.opens_week);
    let s = Calendar::Nyse.sessions(d("2024-01-17"), d("2024-01-19")).unwrap();
    assert!(s.iter().all(|s| !s.opens_week));
    // 2023-01-02: New Year's Day on a Sunday, observed Monday.
    assert_eq!(
        Calendar::Nyse.day(d("2023-01-02")).unwrap(),
        Day::Closed(Closure::Holiday(Holiday::NewYearsDay))
    );
    // Crypto: every day, weeks open on Monday.
    let s = Calendar::AlwaysOpen.sessions(d("2023-12-30"), d("2024-01-02")).unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(s.iter().map(|s| s.opens_week).collect::<Vec<_>>(), [false, false, true, false]);
    assert_eq!((s[0].open, s[0].close), (utc("2023-12-30T00:00:00Z"), utc("2023-12-31T00:00:00Z")));
}

#[test]
fn invalid_ranges_are_refused() {
    let err = Calendar::Nyse.sessions(d("2024-02-01"), d("2024-01-01")).unwrap_err();
    assert_eq!(err.to_string(), "calendar date range: start 2024-02-01 is after end 2024-01-01");
    let err = Calendar::Nyse.day(d("1989-12-29")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "NYSE calendar: 1989-12-29 is outside its supported range 1990-01-01..=2099-12-31"
    );
    assert!(matches!(
        Calendar::AlwaysOpen.sessions(d("2099-12-31"), d("2100-01-01")),
        Err(CalendarError::DateOutOfRange { calendar: "24/7", .. })
    ));
}

#[test]
fn every_year_has_plausible_session_counts() {
    // 250..=253 sessions a year outside years with special closures (2001: 248, 2012: 250).
    for year in 1990..=2099 {
        let n = Calendar::Nyse
            .sessions(d(&format!("{year}-01-01")), d(&format!("{year}-12-31")))
            .unwrap()
            .len();
        assert!((248..=254).contains(&n), "{year}: {n} sessions");
    }
}

#[test]
fn calendar_by_asset_class() {
    assert_eq!(Calendar::for_asset_class(candlestore::AssetClass::Stocks), Calendar::Nyse);
    assert_eq!(Calendar::for_asset_class(candlestore::AssetClass::Crypto), Calendar::AlwaysOpen);
}
