//! Time stamping of vendor bars (field spec F2.2): daily bars at 00:00 UTC of the session date
//! as the exchange reports it; intraday bars at their start in UTC.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::provider::request::date_micros;

/// The session date of an instant in the exchange's zone, stamped 00:00 UTC (µs).
///
/// Polygon sends New York midnight, Yahoo the session open: both fall on the session date
/// in the exchange's own zone, which is not always the UTC date (Jakarta opens at 02:00 UTC
/// of the same date, but New York midnight is 04:00/05:00 UTC).
pub(crate) fn session_date_micros(utc_micros: i64, zone: Tz) -> Option<i64> {
    let t = DateTime::from_timestamp_micros(utc_micros)?;
    Some(date_micros(t.with_timezone(&zone).date_naive()))
}

/// An exchange-local wall-clock time in UTC µs. An ambiguous time (the repeated hour when
/// clocks go back) is read as its first occurrence; a time that does not exist (the hour
/// skipped when clocks go forward) gives `None`.
pub(crate) fn local_to_utc_micros(local: NaiveDateTime, zone: Tz) -> Option<i64> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.timestamp_micros()),
        LocalResult::None => None,
    }
}

/// A time zone by IANA name.
pub(crate) fn zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_dates_follow_the_exchange_zone() {
        let ny = zone("America/New_York").unwrap();
        // Polygon: 2005-04-01 05:00 UTC and 2005-04-04 04:00 UTC are New York midnights.
        assert_eq!(session_date_micros(1_112_331_600_000_000, ny), Some(1_112_313_600_000_000));
        assert_eq!(session_date_micros(1_112_587_200_000_000, ny), Some(1_112_572_800_000_000));
        // Yahoo: Jakarta's open 2020-01-02 02:00 UTC is 09:00 local, same date.
        let jk = zone("Asia/Jakarta").unwrap();
        assert_eq!(session_date_micros(1_577_930_400_000_000, jk), Some(1_577_923_200_000_000));
    }

    #[test]
    fn local_times_across_dst_changes() {
        let ny = zone("America/New_York").unwrap();
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(local_to_utc_micros(t("2023-08-24 11:09:00"), ny), Some(1_692_889_740_000_000));
        assert_eq!(local_to_utc_micros(t("2023-03-12 02:30:00"), ny), None, "skipped hour");
        // 01:30 on 2023-11-05 happens twice; the first is EDT (05:30 UTC).
        assert_eq!(local_to_utc_micros(t("2023-11-05 01:30:00"), ny), Some(1_699_162_200_000_000));
        assert!(zone("Mars/Olympus").is_none());
    }
}
