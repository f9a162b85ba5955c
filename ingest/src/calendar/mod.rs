//! Trading calendars: which dates are sessions, their hours in UTC, and why the others are
//! closed.
//!
//! Two calendars exist, chosen by asset class ([`Calendar::for_asset_class`]): the NYSE
//! calendar for stock tables (`stocks_*`) and a 24/7 UTC calendar for crypto tables
//! (`crypto_*`). Both answer only for their supported date range
//! ([`Calendar::supported_range`]) and refuse other dates with
//! [`CalendarError::DateOutOfRange`] rather than guess.

mod crypto;
pub(crate) mod error;
mod nyse;
pub(crate) mod session;

use std::fmt;

use candlestore::AssetClass;
use chrono::{Datelike, NaiveDate, TimeZone, Weekday};

pub use error::CalendarError;
pub use session::{BarAlignment, BarStarts, Session, SessionHours};

use self::nyse::{Event, NyseYear};

/// A trading calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Calendar {
    /// New York Stock Exchange (also right for NASDAQ, which closes on the same days):
    /// Monday..Friday 09:30–16:00 America/New_York, without the exchange holidays and special
    /// closures, with its early closes; 1990..=2099.
    Nyse,
    /// Every day, 00:00–24:00 UTC (crypto); 1970..=2099.
    AlwaysOpen,
}

/// What a date is in a calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// A trading session.
    Open(Session),
    /// No session, and why.
    Closed(Closure),
}

/// Why a calendar has no session on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Closure {
    /// Saturday or Sunday.
    Weekend,
    /// An exchange holiday (on its observed day).
    Holiday(Holiday),
    /// An unscheduled closure (national mourning, hurricane, attacks).
    Special {
        /// What happened.
        reason: &'static str,
    },
}

impl fmt::Display for Closure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closure::Weekend => f.write_str("weekend"),
            Closure::Holiday(h) => write!(f, "holiday: {h}"),
            Closure::Special { reason } => write!(f, "special closure: {reason}"),
        }
    }
}

/// The NYSE's recurring holidays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Holiday {
    /// January 1 (Sunday -> Monday; not observed when on a Saturday).
    NewYearsDay,
    /// Third Monday of January, from 1998.
    MartinLutherKingJrDay,
    /// Third Monday of February (Presidents' Day).
    WashingtonsBirthday,
    /// The Friday before Easter Sunday.
    GoodFriday,
    /// Last Monday of May.
    MemorialDay,
    /// June 19, from 2022.
    Juneteenth,
    /// July 4.
    IndependenceDay,
    /// First Monday of September.
    LaborDay,
    /// Fourth Thursday of November.
    Thanksgiving,
    /// December 25.
    Christmas,
}

impl fmt::Display for Holiday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Holiday::NewYearsDay => "New Year's Day",
            Holiday::MartinLutherKingJrDay => "Martin Luther King Jr. Day",
            Holiday::WashingtonsBirthday => "Washington's Birthday",
            Holiday::GoodFriday => "Good Friday",
            Holiday::MemorialDay => "Memorial Day",
            Holiday::Juneteenth => "Juneteenth",
            Holiday::IndependenceDay => "Independence Day",
            Holiday::LaborDay => "Labor Day",
            Holiday::Thanksgiving => "Thanksgiving Day",
            Holiday::Christmas => "Christmas Day",
        })
    }
}

impl Calendar {
    /// The calendar of an asset class: NYSE for stocks, 24/7 for crypto.
    pub fn for_asset_class(asset_class: AssetClass) -> Self {
        match asset_class {
            AssetClass::Stocks => Calendar::Nyse,
            AssetClass::Crypto => Calendar::AlwaysOpen,
        }
    }

    /// Short name (`NYSE`, `24/7`).
    pub fn name(self) -> &'static str {
        match self {
            Calendar::Nyse => "NYSE",
            Calendar::AlwaysOpen => "24/7",
        }
    }

    /// The time zone session dates and hours are defined in.
    pub fn time_zone(self) -> chrono_tz::Tz {
        match self {
            Calendar::Nyse => chrono_tz::America::New_York,
            Calendar::AlwaysOpen => chrono_tz::UTC,
        }
    }

    /// First and last date (inclusive) the calendar answers for.
    pub fn supported_range(self) -> (NaiveDate, NaiveDate) {
        let ymd = |(y, m, d): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        match self {
            Calendar::Nyse => (ymd((nyse::FIRST_YEAR, 1, 1)), ymd((nyse::LAST_YEAR, 12, 31))),
            Calendar::AlwaysOpen => (ymd(crypto::FIRST_DATE), ymd(crypto::LAST_DATE)),
        }
    }

    /// What `date` is: a session (with its hours) or a closed day (with the reason).
    pub fn day(self, date: NaiveDate) -> Result<Day, CalendarError> {
        let mut cache = None;
        let day = self.day_cached(date, &mut cache)?;
        Ok(match day {
            Day::Open(s) => {
                Day::Open(Session { opens_week: self.opens_week(date, &mut cache)?, ..s })
            }
            closed => closed,
        })
    }

    /// The session on `date`, `None` on a closed day.
    pub fn session(self, date: NaiveDate) -> Result<Option<Session>, CalendarError> {
        Ok(match self.day(date)? {
            Day::Open(s) => Some(s),
            Day::Closed(_) => None,
        })
    }

    /// Every session with `start <= date <= end`, in order.
    pub fn sessions(self, start: NaiveDate, end: NaiveDate) -> Result<Vec<Session>, CalendarError> {
        let mut out = Vec::new();
        self.walk(start, end, |day| {
            if let (_, Day::Open(s)) = day {
                out.push(s);
            }
        })?;
        Ok(out)
    }

    /// Every closed date with `start <= date <= end` and why it is closed, in order.
    pub fn closed_days(
        self,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Closure)>, CalendarError> {
        let mut out = Vec::new();
        self.walk(start, end, |day| {
            if let (date, Day::Closed(c)) = day {
                out.push((date, c));
            }
        })?;
        Ok(out)
    }

    /// Calls `f` for every date of `start..=end` with what it is.
    fn walk(
        self,
        start: NaiveDate,
        end: NaiveDate,
        mut f: impl FnMut((NaiveDate, Day)),
    ) -> Result<(), CalendarError> {
        if start > end {
            return Err(CalendarError::StartAfterEnd {
                what: "calendar date range",
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        self.check(start)?;
        self.check(end)?;
        let mut cache = None;
        let mut last_week_with_session: Option<NaiveDate> = None;
        let mut first = true;
        for date in start.iter_days().take_while(|d| *d <= end) {
            let day = match self.day_cached(date, &mut cache)? {
                Day::Open(s) => {
                    let monday = s.week_monday();
                    let opens_week = if first {
                        self.opens_week(date, &mut cache)?
                    } else {
                        last_week_with_session != Some(monday)
                    };
                    first = false;
                    last_week_with_session = Some(monday);
                    Day::Open(Session { opens_week, ..s })
                }
                closed => closed,
            };
            f((date, day));
        }
        Ok(())
    }

    /// Whether no session precedes `date` in its ISO week (days before the supported range
    /// count as closed).
    fn opens_week(
        self,
        date: NaiveDate,
        cache: &mut Option<NyseYear>,
    ) -> Result<bool, CalendarError> {
        let monday = session::week_monday(date);
        let (first, _) = self.supported_range();
        for earlier in monday.iter_days().take_while(|d| *d < date) {
            if earlier >= first && matches!(self.day_cached(earlier, cache)?, Day::Open(_)) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn check(self, date: NaiveDate) -> Result<(), CalendarError> {
        let (first, last) = self.supported_range();
        if date < first || date > last {
            return Err(CalendarError::DateOutOfRange { calendar: self.name(), date, first, last });
        }
        Ok(())
    }

    /// [`day`](Self::day) with `opens_week` left `true`, reusing a year table across calls.
    fn day_cached(
        self,
        date: NaiveDate,
        cache: &mut Option<NyseYear>,
    ) -> Result<Day, CalendarError> {
        self.check(date)?;
        match self {
            Calendar::AlwaysOpen => Ok(Day::Open(crypto::session(date, true))),
            Calendar::Nyse => {
                if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
                    return Ok(Day::Closed(Closure::Weekend));
                }
                if !matches!(cache, Some(y) if y.year() == date.year()) {
                    *cache = Some(NyseYear::new(date.year()));
                }
                let (open, close, hours) = match cache.as_ref().and_then(|y| y.event(date)) {
                    Some(Event::Closed(c)) => return Ok(Day::Closed(c)),
                    Some(Event::Hours { open, close, hours }) => (open, close, hours),
                    None => (nyse::REGULAR_OPEN, nyse::REGULAR_CLOSE, SessionHours::Regular),
                };
                Ok(Day::Open(Session {
                    date,
                    open: self.local_micros(date, open)?,
                    close: self.local_micros(date, close)?,
                    hours,
                    opens_week: true,
                }))
            }
        }
    }

    /// A wall-clock time of `date` in the calendar's zone, as UTC µs. Session times are never
    /// inside a DST transition (those happen at 02:00), so the mapping is unique; `earliest`
    /// only guards the type.
    fn local_micros(self, date: NaiveDate, (h, m): (u32, u32)) -> Result<i64, CalendarError> {
        let (first, last) = self.supported_range();
        let out_of_range =
            || CalendarError::DateOutOfRange { calendar: self.name(), date, first, last };
        let naive = date.and_hms_opt(h, m, 0).ok_or_else(out_of_range)?;
        let local =
            self.time_zone().from_local_datetime(&naive).earliest().ok_or_else(out_of_range)?;
        Ok(local.timestamp_micros())
    }
}

#[cfg(test)]
mod tests;
