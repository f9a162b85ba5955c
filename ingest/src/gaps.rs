//! Gap detection: which bars a calendar expects that a symbol does not have.
//!
//! The question the backfill asks is "given calendar, timeframe, the stored timestamps and a
//! window, which ranges are missing?". A [`GapFinder`] answers it: it computes the window's
//! sessions once, and [`GapFinder::find`] then walks one symbol's sorted timestamps against
//! the expected bar grid in a single merge pass (O(expected + stored), no allocation besides
//! the result), so 500 symbols × 20 years reuse one session list.
//!
//! Weekends, holidays and special closures have no expected bars, so they are never gaps;
//! stored bars that fall outside the grid (on a closed day, outside the session, off the bar
//! boundaries) are counted as *unexpected*, not matched.

use candlestore::{Micros, Timeframe};
use chrono::NaiveDate;

use crate::calendar::session::{date_micros, utc_date};
use crate::calendar::{BarAlignment, Calendar, CalendarError, Session};

/// At most this many unexpected timestamps are kept as examples in a [`SymbolGaps`].
pub const MAX_UNEXPECTED_SAMPLES: usize = 5;

/// A run of consecutive missing bars (consecutive in the calendar: closed days and the time
/// between sessions do not interrupt it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapRange {
    /// Start time of the first missing bar (µs, UTC).
    pub first: Micros,
    /// Start time of the last missing bar (µs, UTC).
    pub last: Micros,
    /// Session date of the first missing bar.
    pub first_session: NaiveDate,
    /// Session date of the last missing bar.
    pub last_session: NaiveDate,
    /// Number of missing bars.
    pub bars: u64,
    /// Number of sessions with at least one missing bar in the range.
    pub sessions: u32,
}

/// The gaps of one symbol in a window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymbolGaps {
    /// Bars the calendar expects in the window.
    pub expected: u64,
    /// Expected bars that are stored.
    pub present: u64,
    /// Expected bars that are not stored (`expected - present`).
    pub missing: u64,
    /// Sessions in the window.
    pub sessions: u64,
    /// Closed days (weekends, holidays, special closures) in the window's dates: not gaps.
    pub closed_days: u64,
    /// The missing bars grouped into ranges, in time order.
    pub ranges: Vec<GapRange>,
    /// Stored bars in the window that the calendar does not expect (closed day, outside the
    /// session, not on a bar boundary).
    pub unexpected: u64,
    /// The first few of those (at most [`MAX_UNEXPECTED_SAMPLES`]).
    pub unexpected_samples: Vec<Micros>,
}

impl SymbolGaps {
    /// Whether nothing is missing.
    pub fn is_complete(&self) -> bool {
        self.missing == 0
    }
}

/// Answers gap questions for one calendar, timeframe and date window.
#[derive(Debug, Clone)]
pub struct GapFinder {
    calendar: Calendar,
    timeframe: Timeframe,
    alignment: BarAlignment,
    start: NaiveDate,
    end: NaiveDate,
    sessions: Vec<Session>,
}

impl GapFinder {
    /// A finder for the sessions of `start..=end` (session dates).
    ///
    /// Errors: `start > end`, or a date outside the calendar's supported range.
    pub fn new(
        calendar: Calendar,
        timeframe: Timeframe,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Self, CalendarError> {
        if start > end {
            return Err(CalendarError::StartAfterEnd {
                what: "gap window",
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        let sessions = calendar.sessions(start, end)?;
        Ok(Self { calendar, timeframe, alignment: BarAlignment::default(), start, end, sessions })
    }

    /// Places intraday bars by `alignment` (default [`BarAlignment::SessionOpen`]); use
    /// [`BarAlignment::Clock`] for sources that stamp NYSE hour bars 09:00, 10:00, ...
    pub fn with_alignment(mut self, alignment: BarAlignment) -> Self {
        self.alignment = alignment;
        self
    }

    /// The calendar.
    pub fn calendar(&self) -> Calendar {
        self.calendar
    }

    /// The timeframe.
    pub fn timeframe(&self) -> Timeframe {
        self.timeframe
    }

    /// The window's first and last session date.
    pub fn window(&self) -> (NaiveDate, NaiveDate) {
        (self.start, self.end)
    }

    /// The window's sessions.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// Missing bars over the whole window. `stored` must be strictly increasing (µs, UTC);
    /// timestamps outside the window are ignored.
    pub fn find(&self, stored: &[Micros]) -> Result<SymbolGaps, CalendarError> {
        self.find_between(stored, Micros::MIN, Micros::MAX)
    }

    /// Missing bars of the window whose start time `t` has `first <= t <= last` (pass a
    /// symbol's first and last stored bar to ask "what is missing between them").
    pub fn find_between(
        &self,
        stored: &[Micros],
        first: Micros,
        last: Micros,
    ) -> Result<SymbolGaps, CalendarError> {
        if first > last {
            return Err(CalendarError::StartAfterEnd {
                what: "gap time range",
                start: format!("{first} µs"),
                end: format!("{last} µs"),
            });
        }
        let mut walk = Walk::new(stored, first, last);
        let mut out = SymbolGaps::default();
        let (lo_date, hi_date) = self.date_bounds(first, last);
        let from = self.sessions.partition_point(|s| s.date < lo_date);
        let to = self.sessions.partition_point(|s| s.date <= hi_date).max(from);
        let mut open: Option<GapRange> = None;
        for session in &self.sessions[from..to] {
            let mut counted_session = false;
            let mut in_window = false;
            for bar in session.bar_starts_aligned(self.timeframe, self.alignment) {
                if bar < first || bar > last {
                    continue;
                }
                in_window = true;
                out.expected += 1;
                if walk.take(bar, &mut out)? {
                    out.present += 1;
                    if let Some(range) = open.take() {
                        out.ranges.push(range);
                    }
                    counted_session = false;
                } else {
                    out.missing += 1;
                    match &mut open {
                        Some(range) => {
                            range.last = bar;
                            range.last_session = session.date;
                            range.bars += 1;
                            if !counted_session {
                                range.sessions += 1;
                            }
                        }
                        None => {
                            open = Some(GapRange {
                                first: bar,
                                last: bar,
                                first_session: session.date,
                                last_session: session.date,
                                bars: 1,
                                sessions: 1,
                            });
                        }
                    }
                    counted_session = true;
                }
            }
            if in_window {
                out.sessions += 1;
            }
        }
        if let Some(range) = open {
            out.ranges.push(range);
        }
        walk.finish(&mut out)?;
        // Closed days between the window's effective dates.
        let span_start = lo_date.max(self.start);
        let span_end = hi_date.min(self.end);
        if span_start <= span_end {
            let days = u64::try_from((span_end - span_start).num_days() + 1).unwrap_or(0);
            let sessions_in_span = (self.sessions.partition_point(|s| s.date <= span_end)
                - self.sessions.partition_point(|s| s.date < span_start))
                as u64;
            out.closed_days = days - sessions_in_span;
        }
        Ok(out)
    }

    /// The session dates that can hold bars in `first..=last`: their UTC dates (NYSE sessions
    /// lie inside their UTC date; 24/7 sessions are UTC days), clamped to the window.
    fn date_bounds(&self, first: Micros, last: Micros) -> (NaiveDate, NaiveDate) {
        let lo = if first == Micros::MIN {
            self.start
        } else {
            utc_date(first).unwrap_or(self.start).max(self.start)
        };
        let hi = if last == Micros::MAX {
            self.end
        } else {
            utc_date(last).unwrap_or(self.end).min(self.end)
        };
        (lo, hi)
    }
}

/// "Which ranges are missing" in one call: the sessions of `start..=end` (or, when `window`
/// is [`GapWindow::StoredSpan`], between the first and last stored bar).
pub fn find_gaps(
    calendar: Calendar,
    timeframe: Timeframe,
    stored: &[Micros],
    window: GapWindow,
) -> Result<SymbolGaps, CalendarError> {
    match window {
        GapWindow::Dates { start, end } => {
            GapFinder::new(calendar, timeframe, start, end)?.find(stored)
        }
        GapWindow::StoredSpan => {
            let (Some(&first), Some(&last)) = (stored.first(), stored.last()) else {
                return Ok(SymbolGaps::default());
            };
            let date = |t| utc_date(t).ok_or(CalendarError::TimestampOutOfRange { micros: t });
            let finder = GapFinder::new(calendar, timeframe, date(first)?, date(last)?)?;
            finder.find_between(stored, first, last)
        }
    }
}

/// The window of [`find_gaps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapWindow {
    /// From the first to the last stored bar.
    StoredSpan,
    /// Every session with `start <= date <= end`.
    Dates {
        /// First session date.
        start: NaiveDate,
        /// Last session date (inclusive).
        end: NaiveDate,
    },
}

/// 00:00 UTC of `date` and the last µs of `date`: the time bounds of a date window.
pub fn date_window_micros(start: NaiveDate, end: NaiveDate) -> (Micros, Micros) {
    (date_micros(start), date_micros(end) + 86_400_000_000 - 1)
}

/// The cursor over the stored timestamps during the merge.
struct Walk<'a> {
    stored: &'a [Micros],
    pos: usize,
    last: Micros,
}

impl<'a> Walk<'a> {
    fn new(stored: &'a [Micros], first: Micros, last: Micros) -> Self {
        let pos = stored.partition_point(|&t| t < first);
        Self { stored, pos, last }
    }

    /// Consumes stored timestamps up to `bar`; true if `bar` itself is stored. Everything
    /// skipped on the way is unexpected.
    fn take(&mut self, bar: Micros, out: &mut SymbolGaps) -> Result<bool, CalendarError> {
        while let Some(&t) = self.stored.get(self.pos) {
            if t > bar {
                return Ok(false);
            }
            self.check_order()?;
            self.pos += 1;
            if t == bar {
                return Ok(true);
            }
            note_unexpected(out, t);
        }
        Ok(false)
    }

    /// Counts the stored timestamps after the last expected bar up to the window's end.
    fn finish(&mut self, out: &mut SymbolGaps) -> Result<(), CalendarError> {
        while let Some(&t) = self.stored.get(self.pos) {
            if t > self.last {
                break;
            }
            self.check_order()?;
            self.pos += 1;
            note_unexpected(out, t);
        }
        Ok(())
    }

    fn check_order(&self) -> Result<(), CalendarError> {
        if self.pos > 0 {
            let (previous, value) = (self.stored[self.pos - 1], self.stored[self.pos]);
            if value <= previous {
                return Err(CalendarError::UnsortedTimestamps { index: self.pos, previous, value });
            }
        }
        Ok(())
    }
}

fn note_unexpected(out: &mut SymbolGaps, t: Micros) {
    out.unexpected += 1;
    if out.unexpected_samples.len() < MAX_UNEXPECTED_SAMPLES {
        out.unexpected_samples.push(t);
    }
}

#[cfg(test)]
mod tests;
