//! The New York Stock Exchange calendar, 1990..=2099.
//!
//! Rules (as the exchange has applied them; sources: NYSE holiday announcements and the NYSE
//! closings history):
//! * Holidays: New Year's Day (Sunday -> Monday; **not** observed on the Friday before when
//!   Jan 1 is a Saturday), Martin Luther King Jr. Day (third Monday of January, from 1998),
//!   Washington's Birthday (third Monday of February), Good Friday (two days before Easter
//!   Sunday, Gregorian computus), Memorial Day (last Monday of May), Juneteenth (June 19, from
//!   2022), Independence Day (July 4), Labor Day (first Monday of September), Thanksgiving
//!   (fourth Thursday of November), Christmas (December 25). Fixed-date holidays other than
//!   New Year's Day move to Friday when they fall on a Saturday and to Monday on a Sunday.
//! * Scheduled 13:00 early closes: July 3 on a Monday, Tuesday or Thursday (from 1995) and on a
//!   Wednesday (from 2013); Friday July 5 (1996..=2012, when July 4 was a Thursday); the day
//!   after Thanksgiving (14:00 in 1992, 13:00 from 1993); December 24 on Monday..Thursday
//!   (14:00 in 1990..=1992, 13:00 from 1993); and December 26 of 1997 and 2003 and
//!   December 31, 1999.
//! * Unscheduled full closures, late opens and unusual early closes since 1990 are listed in
//!   [`SPECIAL_CLOSURES`] and [`IRREGULAR_HOURS`].
//!
//! Years after the current one assume today's rules and no unscheduled closures (which cannot
//! be known in advance); before 1990 the rules differ (other holidays, 10:00 opens before
//! 1985), so those dates are refused rather than answered wrongly.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{Closure, Holiday};
use crate::calendar::session::SessionHours;

/// First year whose sessions this calendar knows.
pub(super) const FIRST_YEAR: i32 = 1990;
/// Last year whose sessions this calendar knows.
pub(super) const LAST_YEAR: i32 = 2099;

/// A wall-clock time in America/New_York: (hour, minute).
pub(super) type WallTime = (u32, u32);

/// Regular hours, America/New_York: 09:30..16:00.
pub(super) const REGULAR_OPEN: (u32, u32) = (9, 30);
/// See [`REGULAR_OPEN`].
pub(super) const REGULAR_CLOSE: (u32, u32) = (16, 0);
const EARLY_CLOSE_1PM: (u32, u32) = (13, 0);
const EARLY_CLOSE_2PM: (u32, u32) = (14, 0);

/// Full-day closures that no holiday rule produces: (year, month, day, reason).
pub(super) const SPECIAL_CLOSURES: &[(i32, u32, u32, &str)] = &[
    (1994, 4, 27, "funeral of former President Richard Nixon"),
    (2001, 9, 11, "September 11 attacks"),
    (2001, 9, 12, "September 11 attacks"),
    (2001, 9, 13, "September 11 attacks"),
    (2001, 9, 14, "September 11 attacks"),
    (2004, 6, 11, "national day of mourning for former President Ronald Reagan"),
    (2007, 1, 2, "national day of mourning for former President Gerald Ford"),
    (2012, 10, 29, "Hurricane Sandy"),
    (2012, 10, 30, "Hurricane Sandy"),
    (2018, 12, 5, "national day of mourning for former President George H. W. Bush"),
    (2025, 1, 9, "national day of mourning for former President Jimmy Carter"),
];

/// 13:00 early closes outside the recurring rules: the Fridays after Christmas 1997 and 2003,
/// and New Year's Eve 1999 (disputed in some references; SPY's hour bars in
/// `testdata/lean/` stop at 13:00 that day exactly as on every other half day).
const ADHOC_EARLY_CLOSES: &[(i32, u32, u32)] = &[(1997, 12, 26), (1999, 12, 31), (2003, 12, 26)];

/// Unscheduled hours: (year, month, day, open, close) in America/New_York.
const IRREGULAR_HOURS: &[(i32, u32, u32, WallTime, WallTime)] = &[
    (1990, 12, 27, (9, 31), REGULAR_CLOSE), // Con Edison transformer explosion
    (1991, 1, 17, (9, 31), REGULAR_CLOSE),  // Gulf war: moment of silence
    (1991, 2, 25, (9, 31), REGULAR_CLOSE),  // Gulf war: moment of silence
    (1994, 2, 11, REGULAR_OPEN, (14, 30)),  // snowstorm
    (1995, 12, 18, (10, 30), REGULAR_CLOSE), // computer problems
    (1996, 1, 8, (11, 0), (14, 0)),         // blizzard
    (1997, 10, 27, REGULAR_OPEN, (15, 30)), // circuit breaker
    (2001, 9, 17, (9, 33), REGULAR_CLOSE),  // moment of silence after September 11
    (2001, 10, 8, (9, 31), REGULAR_CLOSE),  // moment of silence, Enduring Freedom
    (2002, 9, 11, (12, 0), REGULAR_CLOSE),  // first anniversary of September 11
    (2003, 3, 20, (9, 32), REGULAR_CLOSE),  // moment of silence, Iraqi Freedom
    (2004, 6, 7, (9, 32), REGULAR_CLOSE),   // moment of silence for Ronald Reagan
    (2005, 6, 1, REGULAR_OPEN, (15, 56)),   // systems communication problem
    (2006, 12, 27, (9, 32), REGULAR_CLOSE), // moment of silence for Gerald Ford
];

/// What one weekday of the year is, when it is not a regular session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// No session.
    Closed(Closure),
    /// A session with other hours (America/New_York wall times).
    Hours {
        /// Open, (hour, minute).
        open: (u32, u32),
        /// Close, (hour, minute).
        close: (u32, u32),
        /// Early close or irregular.
        hours: SessionHours,
    },
}

/// The non-regular weekdays of one year, sorted by date.
#[derive(Debug, Clone)]
pub(super) struct NyseYear {
    year: i32,
    events: Vec<(NaiveDate, Event)>,
}

impl NyseYear {
    /// The year's table. `year` must be within `FIRST_YEAR..=LAST_YEAR`.
    pub(super) fn new(year: i32) -> Self {
        let mut events: Vec<(NaiveDate, Event)> = Vec::with_capacity(24);
        let mut closed = |date: Option<NaiveDate>, holiday: Holiday| {
            if let Some(date) = date {
                events.push((date, Event::Closed(Closure::Holiday(holiday))));
            }
        };
        closed(new_years_day(year), Holiday::NewYearsDay);
        if year >= 1998 {
            closed(nth_weekday(year, 1, Weekday::Mon, 3), Holiday::MartinLutherKingJrDay);
        }
        closed(nth_weekday(year, 2, Weekday::Mon, 3), Holiday::WashingtonsBirthday);
        closed(easter_sunday(year).and_then(|e| e.pred_opt()?.pred_opt()), Holiday::GoodFriday);
        closed(last_weekday(year, 5, Weekday::Mon), Holiday::MemorialDay);
        if year >= 2022 {
            closed(observed(year, 6, 19), Holiday::Juneteenth);
        }
        closed(observed(year, 7, 4), Holiday::IndependenceDay);
        closed(nth_weekday(year, 9, Weekday::Mon, 1), Holiday::LaborDay);
        let thanksgiving = nth_weekday(year, 11, Weekday::Thu, 4);
        closed(thanksgiving, Holiday::Thanksgiving);
        closed(observed(year, 12, 25), Holiday::Christmas);

        for &(y, m, d, reason) in SPECIAL_CLOSURES {
            if y == year
                && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
            {
                events.push((date, Event::Closed(Closure::Special { reason })));
            }
        }

        let early = |close: (u32, u32)| Event::Hours {
            open: REGULAR_OPEN,
            close,
            hours: SessionHours::EarlyClose,
        };
        let mut sessions: Vec<(NaiveDate, Event)> = Vec::new();
        if let Some(jul3) = NaiveDate::from_ymd_opt(year, 7, 3) {
            let rule = match jul3.weekday() {
                Weekday::Mon | Weekday::Tue | Weekday::Thu => year >= 1995,
                Weekday::Wed => year >= 2013,
                _ => false,
            };
            if rule {
                sessions.push((jul3, early(EARLY_CLOSE_1PM)));
            }
        }
        if let Some(jul5) = NaiveDate::from_ymd_opt(year, 7, 5)
            && jul5.weekday() == Weekday::Fri
            && (1996..=2012).contains(&year)
        {
            sessions.push((jul5, early(EARLY_CLOSE_1PM)));
        }
        if let Some(friday) = thanksgiving.and_then(|t| t.succ_opt())
            && year >= 1992
        {
            let close = if year == 1992 { EARLY_CLOSE_2PM } else { EARLY_CLOSE_1PM };
            sessions.push((friday, early(close)));
        }
        if let Some(dec24) = NaiveDate::from_ymd_opt(year, 12, 24)
            && matches!(dec24.weekday(), Weekday::Mon | Weekday::Tue | Weekday::Wed | Weekday::Thu)
        {
            let close = if year <= 1992 { EARLY_CLOSE_2PM } else { EARLY_CLOSE_1PM };
            sessions.push((dec24, early(close)));
        }
        for &(y, m, d) in ADHOC_EARLY_CLOSES {
            if y == year
                && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
            {
                sessions.push((date, early(EARLY_CLOSE_1PM)));
            }
        }
        for &(y, m, d, open, close) in IRREGULAR_HOURS {
            if y == year
                && let Some(date) = NaiveDate::from_ymd_opt(y, m, d)
            {
                sessions.push((date, Event::Hours { open, close, hours: SessionHours::Irregular }));
            }
        }
        // A closure wins over an early close on the same day (e.g. December 24 when Christmas
        // is observed that day cannot happen on Monday..Thursday, but a special closure could
        // fall on an early-close day).
        for (date, event) in sessions {
            if !events.iter().any(|(d, _)| *d == date) {
                events.push((date, event));
            }
        }
        events.retain(|(d, _)| d.year() == year);
        events.sort_by_key(|(d, _)| *d);
        Self { year, events }
    }

    /// The year this table is for.
    pub(super) fn year(&self) -> i32 {
        self.year
    }

    /// The event of a weekday of this year, `None` for a regular session.
    pub(super) fn event(&self, date: NaiveDate) -> Option<Event> {
        self.events.binary_search_by_key(&date, |(d, _)| *d).ok().map(|i| self.events[i].1)
    }
}

/// January 1, or Monday January 2 when it is a Sunday; nothing when it is a Saturday (the
/// NYSE does not close on the Friday before, which is in the previous year).
fn new_years_day(year: i32) -> Option<NaiveDate> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    match jan1.weekday() {
        Weekday::Sat => None,
        Weekday::Sun => jan1.succ_opt(),
        _ => Some(jan1),
    }
}

/// A fixed-date holiday's observed day: Saturday -> Friday, Sunday -> Monday.
fn observed(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    match date.weekday() {
        Weekday::Sat => date.pred_opt(),
        Weekday::Sun => date.succ_opt(),
        _ => Some(date),
    }
}

/// The `n`-th (1-based) `weekday` of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// The last `weekday` of a month.
fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm, "Meeus/Jones/
/// Butcher").
pub(super) fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_dates() {
        // Known Easter Sundays, including the earliest (March 22) and latest (April 25) ones.
        for (year, date) in [
            (1818, "1818-03-22"),
            (1943, "1943-04-25"),
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2038, "2038-04-25"),
        ] {
            assert_eq!(easter_sunday(year), Some(d(date)), "{year}");
        }
    }

    #[test]
    fn observance_rules() {
        assert_eq!(new_years_day(2022), None, "Jan 1 2022 is a Saturday: not observed");
        assert_eq!(new_years_day(2023), Some(d("2023-01-02")));
        assert_eq!(observed(2021, 12, 25), Some(d("2021-12-24")));
        assert_eq!(observed(2022, 12, 25), Some(d("2022-12-26")));
        assert_eq!(last_weekday(2024, 5, Weekday::Mon), Some(d("2024-05-27")));
        assert_eq!(last_weekday(2021, 5, Weekday::Mon), Some(d("2021-05-31")));
    }

    #[test]
    fn special_tables_are_weekdays_in_range() {
        for &(y, m, day, reason) in SPECIAL_CLOSURES {
            let date = NaiveDate::from_ymd_opt(y, m, day).expect(reason);
            assert!(date.weekday().num_days_from_monday() < 5, "{date} {reason}");
            assert!((FIRST_YEAR..=LAST_YEAR).contains(&y));
        }
        for &(y, m, day, open, close) in IRREGULAR_HOURS {
            let date = NaiveDate::from_ymd_opt(y, m, day).expect("valid");
            assert!(date.weekday().num_days_from_monday() < 5, "{date}");
            assert!(open < close, "{date}");
        }
    }
}
