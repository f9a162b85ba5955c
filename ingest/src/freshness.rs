//! Freshness: how far a symbol's newest bar is behind what the calendar expects by now.
//!
//! A bar is *expected* once it is complete: an intraday bar at the end of its step (capped at
//! the close), a daily bar at its session's close, a weekly bar at the close of its week's
//! last session. A symbol is stale when the first expected bar after its newest one has been
//! complete for longer than the asset class's threshold, so a Friday bar read on Sunday is not
//! stale, and neither is a bar whose session has not closed yet.

use std::time::Duration;

use candlestore::{Micros, Timeframe};
use chrono::{Days, NaiveDate};

use crate::calendar::session::{utc_date, week_monday};
use crate::calendar::{BarAlignment, Calendar, CalendarError, Session};

const MICROS_PER_SECOND: i64 = 1_000_000;

/// The freshness of one symbol at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Start time of the newest stored bar (µs, UTC).
    pub newest: Micros,
    /// Start time of the calendar's last complete bar as of now (`None` if the calendar has
    /// none before now in its supported range).
    pub last_expected: Option<Micros>,
    /// `now - newest`, in seconds.
    pub age_seconds: i64,
    /// How long the first expected bar after `newest` has been complete (0 when up to date).
    pub overdue_seconds: i64,
    /// Expected bars after `newest` up to and including `last_expected`.
    pub missing_bars: u64,
    /// The threshold applied, in seconds.
    pub threshold_seconds: i64,
    /// `overdue_seconds > threshold_seconds`.
    pub is_stale: bool,
}

/// A complete bar: its start and the instant it became complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedBar {
    /// Start time (µs, UTC).
    pub start: Micros,
    /// The instant it is complete (µs, UTC).
    pub end: Micros,
}

/// The calendar's last bar that is complete at `now` (its end `<= now`), on the intraday grid
/// of `alignment`.
pub fn last_expected_bar(
    calendar: Calendar,
    timeframe: Timeframe,
    alignment: BarAlignment,
    now: Micros,
) -> Result<Option<ExpectedBar>, CalendarError> {
    let (first, last) = calendar.supported_range();
    let today = utc_date(now).ok_or(CalendarError::TimestampOutOfRange { micros: now })?;
    if today < first {
        return Ok(None);
    }
    // A week past today covers the rest of the current week (for weekly bar ends); the
    // lookback doubles until a complete bar is found (the longest NYSE closure since 1990 is
    // 6 days).
    let end = today.checked_add_days(Days::new(7)).unwrap_or(last).min(last);
    let mut lookback = 16u64;
    loop {
        let start = today.checked_sub_days(Days::new(lookback)).unwrap_or(first).max(first);
        let sessions = calendar.sessions(start.min(end), end)?;
        let found = bars_with_ends(&sessions, timeframe, alignment)
            .filter(|b| b.end <= now)
            .max_by_key(|b| b.start);
        if found.is_some() || start == first {
            return Ok(found);
        }
        lookback *= 2;
    }
}

/// The calendar's first bar that starts after `newest`, with the instant it is complete
/// (`None` past the calendar's supported range). Looks at two whole weeks at a time, so its
/// cost does not grow with how old `newest` is.
pub fn next_expected_bar(
    calendar: Calendar,
    timeframe: Timeframe,
    alignment: BarAlignment,
    newest: Micros,
) -> Result<Option<ExpectedBar>, CalendarError> {
    let (first, last) = calendar.supported_range();
    let day = utc_date(newest).ok_or(CalendarError::TimestampOutOfRange { micros: newest })?;
    // From the Monday of the day before (a session may start the UTC day before its date), in
    // whole weeks so that weekly bars see every session of their week.
    let mut from = week_monday(day.checked_sub_days(Days::new(1)).unwrap_or(first).max(first));
    while from <= last {
        let to = from.checked_add_days(Days::new(13)).unwrap_or(last).min(last);
        let sessions = calendar.sessions(from.max(first), to)?;
        if let Some(bar) =
            bars_with_ends(&sessions, timeframe, alignment).find(|b| b.start > newest)
        {
            return Ok(Some(bar));
        }
        match to.checked_add_days(Days::new(1)) {
            Some(next) => from = next,
            None => break,
        }
    }
    Ok(None)
}

/// Whether a symbol whose newest bar starts at `newest` is stale at `now`: the first expected
/// bar after it has been complete for longer than `threshold` — [`assess`]'s `is_stale`
/// without counting the missing bars, in time independent of the data's age (what the HTTP
/// server asks on every response).
pub fn is_stale(
    calendar: Calendar,
    timeframe: Timeframe,
    alignment: BarAlignment,
    newest: Micros,
    now: Micros,
    threshold: Duration,
) -> Result<bool, CalendarError> {
    let threshold_seconds = i64::try_from(threshold.as_secs()).unwrap_or(i64::MAX);
    Ok(match next_expected_bar(calendar, timeframe, alignment, newest)? {
        Some(next) if next.end <= now => {
            now.saturating_sub(next.end) / MICROS_PER_SECOND > threshold_seconds
        }
        _ => false,
    })
}

/// How fresh a symbol whose newest bar starts at `newest` is at `now` (intraday bars on the
/// grid of `alignment`).
pub fn assess(
    calendar: Calendar,
    timeframe: Timeframe,
    alignment: BarAlignment,
    newest: Micros,
    now: Micros,
    threshold: Duration,
) -> Result<Freshness, CalendarError> {
    let threshold_seconds = i64::try_from(threshold.as_secs()).unwrap_or(i64::MAX);
    let last = last_expected_bar(calendar, timeframe, alignment, now)?;
    let mut out = Freshness {
        newest,
        last_expected: last.map(|b| b.start),
        age_seconds: now.saturating_sub(newest) / MICROS_PER_SECOND,
        overdue_seconds: 0,
        missing_bars: 0,
        threshold_seconds,
        is_stale: false,
    };
    let Some(last) = last else { return Ok(out) };
    if newest >= last.start {
        return Ok(out);
    }
    let (first_date, _) = calendar.supported_range();
    let from = utc_date(newest).ok_or(CalendarError::TimestampOutOfRange { micros: newest })?;
    let from = from.checked_sub_days(Days::new(1)).unwrap_or(first_date).max(first_date);
    let to = utc_date(last.end).ok_or(CalendarError::TimestampOutOfRange { micros: last.end })?;
    let to = to.checked_add_days(Days::new(7)).unwrap_or(to).min(calendar.supported_range().1);
    let sessions = calendar.sessions(from.min(to), to)?;
    let mut next_end: Option<Micros> = None;
    for bar in bars_with_ends(&sessions, timeframe, alignment) {
        if bar.start > newest && bar.start <= last.start {
            if next_end.is_none() {
                next_end = Some(bar.end);
            }
            out.missing_bars += 1;
        }
    }
    if let Some(end) = next_end {
        out.overdue_seconds = now.saturating_sub(end).max(0) / MICROS_PER_SECOND;
    }
    out.is_stale = out.overdue_seconds > threshold_seconds;
    Ok(out)
}

/// The bars of consecutive sessions with the instant each is complete. Weekly bars end at the
/// close of the last session of their week among `sessions`.
fn bars_with_ends(
    sessions: &[Session],
    timeframe: Timeframe,
    alignment: BarAlignment,
) -> impl Iterator<Item = ExpectedBar> + '_ {
    sessions.iter().enumerate().flat_map(move |(i, s)| {
        let week_end = if timeframe == Timeframe::Week1 {
            let monday: NaiveDate = s.week_monday();
            sessions[i..].iter().take_while(|n| n.week_monday() == monday).map(|n| n.close).max()
        } else {
            None
        };
        s.bar_starts_aligned(timeframe, alignment).map(move |start| ExpectedBar {
            start,
            end: week_end.unwrap_or_else(|| s.bar_end(timeframe, start)),
        })
    })
}

#[cfg(test)]
mod tests;
