//! Errors of the calendars, gap detection and freshness computations.

use chrono::NaiveDate;

/// Bad input to a calendar question: a date outside the supported range, a window whose start
/// is after its end, timestamps that are not strictly increasing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CalendarError {
    /// The date is outside the years the calendar's rules are known for.
    #[error("{calendar} calendar: {date} is outside its supported range {first}..={last}")]
    DateOutOfRange {
        /// The calendar's name (`NYSE`, `24/7`).
        calendar: &'static str,
        /// The date asked for.
        date: NaiveDate,
        /// First supported date.
        first: NaiveDate,
        /// Last supported date.
        last: NaiveDate,
    },

    /// A timestamp (µs since the epoch) that has no calendar date (beyond chrono's range).
    #[error("timestamp {micros} µs is outside the representable date range")]
    TimestampOutOfRange {
        /// The timestamp.
        micros: i64,
    },

    /// A window's start is after its end.
    #[error("{what}: start {start} is after end {end}")]
    StartAfterEnd {
        /// What the window is for (`gap window`, `--start/--end`, ...).
        what: &'static str,
        /// The start given.
        start: String,
        /// The end given.
        end: String,
    },

    /// Stored timestamps handed to gap detection must be strictly increasing.
    #[error(
        "stored timestamps are not strictly increasing at index {index}: {value} µs follows \
         {previous} µs"
    )]
    UnsortedTimestamps {
        /// Index of the offending element.
        index: usize,
        /// The element before it.
        previous: i64,
        /// The offending element.
        value: i64,
    },
}
