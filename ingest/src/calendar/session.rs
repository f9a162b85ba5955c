//! One trading session and the bars a timeframe expects in it.

use candlestore::{Micros, Timeframe};
use chrono::{Datelike, NaiveDate};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// How a session's hours compare with the calendar's regular hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionHours {
    /// The regular hours (NYSE 09:30–16:00 America/New_York; 24/7: the whole UTC day).
    Regular,
    /// A scheduled early close (NYSE 13:00, before or after some holidays).
    EarlyClose,
    /// An unscheduled change: a late open (moment of silence, outage) or an early close at an
    /// unusual time (snow, system problems).
    Irregular,
}

/// Where intraday bars start within a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BarAlignment {
    /// At the open, then every bar length (NYSE hour bars 09:30, 10:30, ..., 15:30; Yahoo's
    /// convention). The default.
    #[default]
    SessionOpen,
    /// On multiples of the bar length since 00:00 UTC (NYSE hour bars 09:00, 10:00, ...,
    /// 15:00, the first one holding 09:30-10:00; QuantConnect LEAN's and Polygon's
    /// convention). Identical to `SessionOpen` when the open is on such a multiple (every
    /// timeframe up to 30 minutes on the NYSE, everything on the 24/7 calendar).
    Clock,
}

/// One trading session: its date (in the exchange's time zone) and its open and close in UTC.
///
/// Invariant: `open < close`, both on a whole minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Session {
    /// The session date as the exchange reports it.
    pub date: NaiveDate,
    /// First instant of the session, µs since the epoch, UTC.
    pub open: Micros,
    /// The instant the session closes (exclusive), µs since the epoch, UTC.
    pub close: Micros,
    /// Regular, early close or irregular hours.
    pub hours: SessionHours,
    /// Whether this is the first session of its ISO week (Monday..Sunday); weekly bars are
    /// stamped on it.
    pub opens_week: bool,
}

impl Session {
    /// 00:00:00 UTC of the session date: the stamp of its daily bar (field spec F2.2).
    pub fn date_stamp(&self) -> Micros {
        date_micros(self.date)
    }

    /// The start times of the bars `timeframe` expects in this session, ascending.
    ///
    /// * intraday (1m .. 4h): `open, open + step, ...` while `< close` (bars are stamped at
    ///   their start; the last bar of a session whose length is not a multiple of the step is
    ///   a short bar ending at the close);
    /// * `1d`: one bar at [`date_stamp`](Self::date_stamp);
    /// * `1w`: one bar at `date_stamp` if the session [`opens_week`](Self::opens_week), else
    ///   none.
    pub fn bar_starts(&self, timeframe: Timeframe) -> BarStarts {
        self.bar_starts_aligned(timeframe, BarAlignment::SessionOpen)
    }

    /// [`bar_starts`](Self::bar_starts) with intraday bars placed by `alignment`; with
    /// [`BarAlignment::Clock`] the first bar starts at the open rounded down to a multiple of
    /// the bar length since 00:00 UTC (09:00 for hour bars of a 09:30 open) and covers the
    /// open. Daily and weekly bars are not affected.
    pub fn bar_starts_aligned(&self, timeframe: Timeframe, alignment: BarAlignment) -> BarStarts {
        match timeframe {
            Timeframe::Day1 => {
                BarStarts { next: self.date_stamp(), step: 1, end: self.date_stamp() + 1 }
            }
            Timeframe::Week1 => {
                let end = if self.opens_week { self.date_stamp() + 1 } else { self.date_stamp() };
                BarStarts { next: self.date_stamp(), step: 1, end }
            }
            _ => {
                let step = step_micros(timeframe);
                let next = match alignment {
                    BarAlignment::SessionOpen => self.open,
                    BarAlignment::Clock => self.open - self.open.rem_euclid(step),
                };
                BarStarts { next, step, end: self.close }
            }
        }
    }

    /// Number of bars `timeframe` expects in this session.
    pub fn bar_count(&self, timeframe: Timeframe) -> u64 {
        self.bar_starts(timeframe).len() as u64
    }

    /// The instant an intraday or daily bar starting at `start` is complete: the end of its
    /// step capped at the close for intraday bars, the close for daily bars. (Weekly bars end
    /// at the close of the week's last session, which a single session does not know.)
    pub fn bar_end(&self, timeframe: Timeframe, start: Micros) -> Micros {
        match timeframe {
            Timeframe::Day1 | Timeframe::Week1 => self.close,
            _ => (start + step_micros(timeframe)).min(self.close),
        }
    }

    /// Monday of the session's ISO week.
    pub(crate) fn week_monday(&self) -> NaiveDate {
        week_monday(self.date)
    }
}

/// The bar start times of one session (see [`Session::bar_starts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarStarts {
    next: Micros,
    step: Micros,
    end: Micros,
}

impl Iterator for BarStarts {
    type Item = Micros;

    fn next(&mut self) -> Option<Micros> {
        if self.next >= self.end {
            return None;
        }
        let t = self.next;
        self.next += self.step;
        Some(t)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = if self.next >= self.end {
            0
        } else {
            usize::try_from((self.end - self.next + self.step - 1) / self.step)
                .unwrap_or(usize::MAX)
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for BarStarts {}

/// Bar length of an intraday timeframe in µs (daily and weekly bars are placed per session).
pub(crate) fn step_micros(timeframe: Timeframe) -> Micros {
    timeframe.seconds() * MICROS_PER_SECOND
}

/// 00:00:00 UTC of `date`, µs since the epoch.
pub(crate) fn date_micros(date: NaiveDate) -> Micros {
    (i64::from(date.num_days_from_ce()) - i64::from(EPOCH_DAYS_FROM_CE)) * MICROS_PER_DAY
}

/// The UTC date of a timestamp; `None` beyond chrono's range.
pub(crate) fn utc_date(micros: Micros) -> Option<NaiveDate> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let from_ce = i32::try_from(days + i64::from(EPOCH_DAYS_FROM_CE)).ok()?;
    NaiveDate::from_num_days_from_ce_opt(from_ce)
}

/// Monday of `date`'s ISO week.
pub(crate) fn week_monday(date: NaiveDate) -> NaiveDate {
    date - chrono::Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// `NaiveDate::from_ymd(1970, 1, 1).num_days_from_ce()`.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn date_micros_round_trips() {
        assert_eq!(date_micros(d("1970-01-01")), 0);
        assert_eq!(date_micros(d("2024-01-02")), 1_704_153_600_000_000);
        assert_eq!(utc_date(1_704_153_600_000_000 - 1), Some(d("2024-01-01")));
        assert_eq!(utc_date(-1), Some(d("1969-12-31")));
        assert_eq!(utc_date(i64::MAX), None);
        assert_eq!(week_monday(d("2024-01-07")), d("2024-01-01"));
        assert_eq!(week_monday(d("2024-01-01")), d("2024-01-01"));
    }

    #[test]
    fn intraday_grid_ends_before_close() {
        let open = date_micros(d("2024-01-02")) + (14 * 3600 + 30 * 60) * MICROS_PER_SECOND;
        let s = Session {
            date: d("2024-01-02"),
            open,
            close: open + 390 * 60 * MICROS_PER_SECOND,
            hours: SessionHours::Regular,
            opens_week: true,
        };
        assert_eq!(s.bar_count(Timeframe::Min1), 390);
        assert_eq!(s.bar_count(Timeframe::Min5), 78);
        assert_eq!(s.bar_count(Timeframe::Min30), 13);
        // 6.5 hours: 7 hourly bars, the last one 15:30-16:00.
        assert_eq!(s.bar_count(Timeframe::Hour1), 7);
        assert_eq!(s.bar_count(Timeframe::Hour4), 2);
        let last = s.bar_starts(Timeframe::Hour1).last().unwrap();
        assert_eq!(s.bar_end(Timeframe::Hour1, last), s.close);
        assert_eq!(s.bar_starts(Timeframe::Day1).collect::<Vec<_>>(), vec![s.date_stamp()]);
        assert_eq!(s.bar_count(Timeframe::Week1), 1);
        let clock: Vec<i64> = s.bar_starts_aligned(Timeframe::Hour1, BarAlignment::Clock).collect();
        assert_eq!(clock.len(), 7);
        assert_eq!(clock[0], open - 30 * 60 * MICROS_PER_SECOND);
        assert_eq!(s.bar_end(Timeframe::Hour1, clock[6]), s.close);
        let five: Vec<i64> = s.bar_starts_aligned(Timeframe::Min5, BarAlignment::Clock).collect();
        assert_eq!(five, s.bar_starts(Timeframe::Min5).collect::<Vec<_>>());
        let later = Session { opens_week: false, ..s };
        assert_eq!(later.bar_count(Timeframe::Week1), 0);
    }
}
