//! Parsing the command line's dates and formatting timestamps (F4: `YYYY-MM-DDTHH:MM:SS.ffffffZ`).

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{UsageError, usage};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A point in time given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instant {
    /// `YYYY-MM-DD`: the day starting at this 00:00 UTC (µs since the epoch).
    Date(i64),
    /// An RFC 3339 timestamp (µs since the epoch).
    Exact(i64),
}

impl Instant {
    /// The first microsecond the instant covers.
    pub(crate) fn first_micros(self) -> i64 {
        match self {
            Instant::Date(t) | Instant::Exact(t) => t,
        }
    }

    /// One past the last microsecond the instant covers (a date covers its whole day).
    pub(crate) fn end_exclusive(self) -> i64 {
        match self {
            Instant::Date(t) => t.saturating_add(MICROS_PER_DAY),
            Instant::Exact(t) => t.saturating_add(1),
        }
    }
}

/// Parses `YYYY-MM-DD` or an RFC 3339 timestamp; `option` names the flag in errors.
pub(crate) fn parse_instant(option: &str, text: &str) -> anyhow::Result<Instant> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let micros = date
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp_micros())
            .ok_or_else(|| UsageError::new(format!("{option} {text:?} is not a valid date")))?;
        return Ok(Instant::Date(micros));
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(Instant::Exact(t.with_timezone(&Utc).timestamp_micros())),
        Err(_) => usage(format!(
            "{option} {text:?} is not a date: use YYYY-MM-DD or an RFC 3339 timestamp such as \
             2014-01-02T15:30:00Z"
        )),
    }
}

/// Formats µs since the epoch as F4 text, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub(crate) fn format_micros(micros: i64) -> String {
    candlestore::export::format_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_cover_their_whole_day() {
        let d = parse_instant("--end", "1995-01-03").unwrap();
        assert_eq!(format_micros(d.first_micros()), "1995-01-03T00:00:00.000000Z");
        assert_eq!(format_micros(d.end_exclusive()), "1995-01-04T00:00:00.000000Z");
    }

    #[test]
    fn rfc3339_is_converted_to_utc() {
        let t = parse_instant("--start", "2014-01-02T10:30:00-05:00").unwrap();
        assert_eq!(
            t,
            Instant::Exact(
                parse_instant("--start", "2014-01-02T15:30:00Z").unwrap().first_micros()
            )
        );
        assert_eq!(t.end_exclusive(), t.first_micros() + 1);
    }

    #[test]
    fn malformed_dates_name_the_option() {
        let err = parse_instant("--start", "2014-13-45").unwrap_err().to_string();
        assert!(err.contains("--start") && err.contains("2014-13-45"), "{err}");
        assert!(parse_instant("--end", "yesterday").is_err());
    }

    #[test]
    fn formats_fractional_micros() {
        assert_eq!(format_micros(1_500_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
    }
}
