//! Timestamp parsing and UTC stamping (field spec F2.2).
//!
//! Parsing ([`parse_datetime`], [`parse_date`], [`parse_time`]) turns text into a [`RawTime`]
//! that still remembers what kind of value it was; [`Stamper`] turns it into microseconds since
//! the Unix epoch in UTC, applying the time zone of naive values and date stamping of daily bars.

use chrono::{DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{TimeZone, Timelike};

/// Earliest accepted year.
pub(crate) const MIN_YEAR: i32 = 1900;
/// Latest accepted year.
pub(crate) const MAX_YEAR: i32 = 2200;

/// A parsed timestamp before time-zone resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawTime {
    /// A calendar date without a time (a daily bar).
    Date(NaiveDate),
    /// A wall-clock date-time without offset; read in the configured time zone.
    Naive(NaiveDateTime),
    /// A date-time with an explicit UTC offset.
    Fixed(DateTime<FixedOffset>),
    /// An instant, in microseconds since the Unix epoch (from an integer epoch value).
    Epoch(i64),
}

/// Parses `YYYY-MM-DD` (no surrounding text).
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])?;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// Parses `HH:MM`, `HH:MM:SS` or `HH:MM:SS.f` (up to 9 fraction digits, kept to microseconds).
pub(crate) fn parse_time(s: &str) -> Option<NaiveTime> {
    let b = s.as_bytes();
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let h = digits(&b[0..2])?;
    let m = digits(&b[3..5])?;
    let (sec, micro) = match b.len() {
        5 => (0, 0),
        n if n >= 8 && b[5] == b':' => {
            let sec = digits(&b[6..8])?;
            let micro = match &b[8..] {
                [] => 0,
                [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
                    let v = digits(frac)?;
                    let scale = 10u32.pow(9 - frac.len() as u32);
                    (v * scale) / 1000
                }
                _ => return None,
            };
            (sec, micro)
        }
        _ => return None,
    };
    NaiveTime::from_hms_micro_opt(h, m, sec, micro)
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(v)
}

/// Converts an integer epoch value to microseconds by its magnitude:
/// |v| < 1e11 seconds, < 1e14 milliseconds, < 1e17 microseconds, otherwise nanoseconds.
/// (Binance Vision writes milliseconds, and 16-digit microseconds from 2025 on.)
pub(crate) fn epoch_to_micros(v: i64) -> i64 {
    let a = v.unsigned_abs();
    if a < 100_000_000_000 {
        v * 1_000_000
    } else if a < 100_000_000_000_000 {
        v * 1_000
    } else if a < 100_000_000_000_000_000 {
        v
    } else {
        v / 1_000
    }
}

/// Parses a full timestamp: RFC 3339 with offset or `Z` (`T` or space separator), naive
/// `YYYY-MM-DD[T| ]HH:MM:SS[.ffffff]`, date-only `YYYY-MM-DD`, or an integer epoch value.
pub(crate) fn parse_datetime(s: &str) -> Result<RawTime, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty field".to_owned());
    }
    let b = s.as_bytes();
    let sign = usize::from(b[0] == b'-');
    if b.len() > sign && b[sign..].iter().all(u8::is_ascii_digit) {
        return s
            .parse::<i64>()
            .map(|v| RawTime::Epoch(epoch_to_micros(v)))
            .map_err(|_| format!("integer timestamp {s:?} is out of range"));
    }
    if let Some((int, frac)) = s.split_once('.')
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
    {
        // Float epoch (`1502946000.0`, CryptoDataDownload's older rows): unit by the integer
        // part's magnitude, fraction kept to the microsecond.
        let whole: i64 = int.parse().map_err(|_| format!("epoch value {s:?} is out of range"))?;
        let unit = epoch_to_micros(whole) / whole.max(1);
        let digits = &frac[..frac.len().min(9)];
        let frac_value: i64 = if digits.is_empty() { 0 } else { digits.parse().unwrap_or(0) };
        let scale = 10i64.pow(digits.len() as u32);
        return Ok(RawTime::Epoch(epoch_to_micros(whole) + frac_value * unit / scale.max(1)));
    }
    if let Some(d) = parse_date(s) {
        return Ok(RawTime::Date(d));
    }
    // b[10] is ASCII, so bytes 10 and 11 are char boundaries.
    if b.len() > 10
        && matches!(b[10], b'T' | b't' | b' ')
        && let (Some(d), Some(t)) = (parse_date(&s[..10]), parse_time(&s[11..]))
    {
        return Ok(RawTime::Naive(d.and_time(t)));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Ok(RawTime::Fixed(dt));
    }
    // `+0000`-style offsets and offsets without seconds, which RFC 3339 does not allow.
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Ok(RawTime::Fixed(dt));
        }
    }
    Err(format!("unparseable date/time {s:?}"))
}

/// Parses LEAN's `YYYYMMDD HH:MM`; `00:00` is a date (a daily bar, stamped per F2.2).
pub(crate) fn parse_lean(s: &str) -> Result<RawTime, String> {
    let t = s.trim();
    let bad = || format!("unparseable LEAN date/time {t:?} (expected YYYYMMDD HH:MM)");
    if t.len() != 14 || t.as_bytes()[8] != b' ' {
        return Err(bad());
    }
    let (y, m, d) =
        (digits(&t.as_bytes()[0..4]), digits(&t.as_bytes()[4..6]), digits(&t.as_bytes()[6..8]));
    let date = match (y, m, d) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(bad)?,
        _ => return Err(bad()),
    };
    let time = parse_time(&t[9..]).ok_or_else(bad)?;
    Ok(if time == NaiveTime::MIN {
        RawTime::Date(date)
    } else {
        RawTime::Naive(date.and_time(time))
    })
}

/// Resolves [`RawTime`] to UTC microseconds (F2.2) and checks the accepted year range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamper {
    tz: chrono_tz::Tz,
    daily: Option<bool>,
}

impl Stamper {
    pub(crate) fn new(tz: chrono_tz::Tz, daily: Option<bool>) -> Self {
        Self { tz, daily }
    }

    /// UTC microseconds for `raw`, or the reason it is rejected.
    pub(crate) fn stamp(&self, raw: RawTime) -> Result<i64, String> {
        let force_daily = self.daily == Some(true);
        let micros = match raw {
            RawTime::Date(d) if self.daily == Some(false) => {
                self.local(d.and_time(NaiveTime::MIN))?
            }
            RawTime::Date(d) => midnight_utc(d),
            RawTime::Naive(n) if force_daily => midnight_utc(n.date()),
            RawTime::Naive(n) => self.local(n)?,
            RawTime::Fixed(dt) if force_daily => midnight_utc(dt.date_naive()),
            RawTime::Fixed(dt) => dt.timestamp_micros(),
            RawTime::Epoch(us) if force_daily => {
                let utc = DateTime::from_timestamp_micros(us)
                    .ok_or_else(|| format!("epoch value {us} µs is out of range"))?;
                midnight_utc(utc.with_timezone(&self.tz).date_naive())
            }
            RawTime::Epoch(us) => us,
        };
        check_range(micros)
    }

    fn local(&self, n: NaiveDateTime) -> Result<i64, String> {
        match self.tz.from_local_datetime(&n) {
            LocalResult::Single(dt) => Ok(dt.timestamp_micros()),
            // Repeated wall-clock hour (DST end): take the first; a second bar stamped with the
            // same wall-clock time then shows up as a duplicate instead of being merged.
            LocalResult::Ambiguous(first, _) => Ok(first.timestamp_micros()),
            LocalResult::None => Err(format!("local time {n} does not exist in {}", self.tz)),
        }
    }
}

fn midnight_utc(d: NaiveDate) -> i64 {
    d.and_time(NaiveTime::MIN).and_utc().timestamp_micros()
}

/// Rejects instants outside years [`MIN_YEAR`]..=[`MAX_YEAR`] (UTC).
pub(crate) fn check_range(micros: i64) -> Result<i64, String> {
    match DateTime::from_timestamp_micros(micros) {
        Some(dt) if (MIN_YEAR..=MAX_YEAR).contains(&dt.year()) => Ok(micros),
        Some(dt) => Err(format!(
            "timestamp {} is outside the accepted years {MIN_YEAR}..={MAX_YEAR}",
            dt.format("%Y-%m-%dT%H:%M:%S%.fZ")
        )),
        None => Err(format!("timestamp {micros} µs is out of range")),
    }
}

/// `true` if `s` looks like a time of day (`HH:MM:SS`), used by layout detection.
pub(crate) fn looks_like_time(s: &str) -> bool {
    parse_time(s.trim()).is_some_and(|t| t.nanosecond() % 1000 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn parses_all_accepted_forms() {
        let st = Stamper::new(chrono_tz::UTC, None);
        let cases = [
            ("2013-02-08", "2013-02-08T00:00:00Z"),
            ("2006-01-02 09:01:00", "2006-01-02T09:01:00Z"),
            ("2006-01-02T09:01:00.250", "2006-01-02T09:01:00.25Z"),
            ("2023-03-01 00:00:00+00:00", "2023-03-01T00:00:00Z"),
            ("2023-03-01T01:00:00+01:00", "2023-03-01T00:00:00Z"),
            ("2023-03-01T00:00:00Z", "2023-03-01T00:00:00Z"),
            ("1640995200", "2022-01-01T00:00:00Z"),
            ("1640995200000", "2022-01-01T00:00:00Z"),
            ("1735689600000000", "2025-01-01T00:00:00Z"),
            ("1502946000.0", "2017-08-17T05:00:00Z"),
            ("1502946000.25", "2017-08-17T05:00:00.25Z"),
            ("1623283200000.0", "2021-06-10T00:00:00Z"),
        ];
        for (input, want) in cases {
            let got = st.stamp(parse_datetime(input).unwrap()).unwrap();
            assert_eq!(got, utc(want), "{input}");
        }
    }

    #[test]
    fn naive_times_use_the_configured_zone() {
        let st = Stamper::new(chrono_tz::America::New_York, None);
        let got = st.stamp(parse_datetime("2020-01-02 09:30:00").unwrap()).unwrap();
        assert_eq!(got, utc("2020-01-02T14:30:00Z"));
        // Dates stay 00:00 UTC of the session date.
        let got = st.stamp(parse_datetime("2020-01-02").unwrap()).unwrap();
        assert_eq!(got, utc("2020-01-02T00:00:00Z"));
        let err = st.stamp(parse_datetime("2021-03-14 02:30:00").unwrap()).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn lean_times() {
        let st = Stamper::new(chrono_tz::America::New_York, None);
        let got = st.stamp(parse_lean("19980102 00:00").unwrap()).unwrap();
        assert_eq!(got, utc("1998-01-02T00:00:00Z"), "a daily bar is its date at 00:00 UTC");
        let got = st.stamp(parse_lean("20131007 09:31").unwrap()).unwrap();
        assert_eq!(got, utc("2013-10-07T13:31:00Z"));
        for bad in ["1998010200:00", "19981302 00:00", "1998-01-02 00:00", "19980102 0000"] {
            assert!(parse_lean(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn forced_daily_stamps_the_local_date() {
        let st = Stamper::new(chrono_tz::UTC, Some(true));
        let got = st.stamp(parse_datetime("2020-01-02T23:00:00-05:00").unwrap()).unwrap();
        assert_eq!(got, utc("2020-01-02T00:00:00Z"));
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        for bad in
            ["", "abc", "2020-13-01", "2020-01-02 25:00:00", "02/01/2020", "1e9", ".5", "1.x"]
        {
            assert!(parse_datetime(bad).is_err(), "{bad:?}");
        }
        let st = Stamper::new(chrono_tz::UTC, None);
        assert!(st.stamp(parse_datetime("1899-12-31").unwrap()).is_err());
        assert!(st.stamp(parse_datetime("2201-01-01").unwrap()).is_err());
        assert!(st.stamp(parse_datetime("2200-12-31").unwrap()).is_ok());
        assert!(st.stamp(parse_datetime("0").unwrap()).is_ok()); // 1970
    }
}
