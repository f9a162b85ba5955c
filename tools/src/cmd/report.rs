//! What `gaps` and `freshness` share: the output format flag, date parsing, turning the
//! user's mistakes among coverage errors into usage errors, and compact text for times.

use candlestore::Timeframe;
use candlestore_ingest::{BarAlignment, CalendarError, CoverageError};
use chrono::NaiveDate;
use clap::ValueEnum;

use crate::error::UsageError;
use crate::time::format_micros;

/// Output format of `gaps` and `freshness`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Aligned text for people.
    Table,
    /// One JSON object (timestamps as F4 text).
    Json,
}

/// `--alignment` values: where intraday bars start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Alignment {
    /// At the session open, then every bar length (NYSE hour bars 09:30, 10:30, ...).
    Open,
    /// On multiples of the bar length since 00:00 UTC (NYSE hour bars 09:00, 10:00, ...).
    Clock,
}

impl From<Alignment> for BarAlignment {
    fn from(a: Alignment) -> Self {
        match a {
            Alignment::Open => BarAlignment::SessionOpen,
            Alignment::Clock => BarAlignment::Clock,
        }
    }
}

/// Parses a `YYYY-MM-DD` option value.
pub(crate) fn parse_date(option: &str, text: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        UsageError::new(format!("{option} {text:?} is not a date: use YYYY-MM-DD")).into()
    })
}

/// Unknown table/symbol, start after end and dates outside the calendar are the user's
/// mistakes (exit 2); store errors are not.
pub(crate) fn classify(err: CoverageError) -> anyhow::Error {
    let usage = match &err {
        CoverageError::UnknownTable { .. } | CoverageError::UnknownSymbol { .. } => true,
        CoverageError::Calendar { source, .. } => matches!(
            source,
            CalendarError::StartAfterEnd { .. } | CalendarError::DateOutOfRange { .. }
        ),
        _ => false,
    };
    if usage { UsageError::new(err.to_string()).into() } else { err.into() }
}

/// A bar time as text: the date for daily and weekly bars, F4 text otherwise.
pub(crate) fn bar_time(timeframe: Timeframe, micros: i64) -> String {
    let text = format_micros(micros);
    if matches!(timeframe, Timeframe::Day1 | Timeframe::Week1) {
        text[..10].to_owned()
    } else {
        text
    }
}

/// A duration in seconds as `1d 4h 5m 6s` (largest units first, zero parts left out).
pub(crate) fn human_seconds(seconds: i64) -> String {
    if seconds == 0 {
        return "0s".to_owned();
    }
    let mut rest = seconds.unsigned_abs();
    let mut parts = Vec::new();
    for (unit, name) in [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")] {
        if rest >= unit {
            parts.push(format!("{}{name}", rest / unit));
            rest %= unit;
        }
    }
    let sign = if seconds < 0 { "-" } else { "" };
    format!("{sign}{}", parts.join(" "))
}

/// The `--symbol A,B` list trimmed, or `None` for every symbol; an empty entry is a usage
/// error.
pub(crate) fn symbol_list(list: Option<&[String]>) -> anyhow::Result<Option<Vec<String>>> {
    let Some(list) = list else { return Ok(None) };
    let list: Vec<String> = list.iter().map(|s| s.trim().to_owned()).collect();
    if list.is_empty() || list.iter().any(String::is_empty) {
        return Err(UsageError::new("--symbol has an empty symbol").into());
    }
    Ok(Some(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human_seconds(0), "0s");
        assert_eq!(human_seconds(90_061), "1d 1h 1m 1s");
        assert_eq!(human_seconds(7_200), "2h");
        assert_eq!(human_seconds(-60), "-1m");
    }

    #[test]
    fn dates_and_bar_times() {
        assert!(parse_date("--start", "2014-13-01").unwrap_err().to_string().contains("--start"));
        assert_eq!(bar_time(Timeframe::Day1, 0), "1970-01-01");
        assert_eq!(bar_time(Timeframe::Min1, 0), "1970-01-01T00:00:00.000000Z");
    }
}
