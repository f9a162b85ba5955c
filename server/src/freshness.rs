//! How old the newest bar is, and whether that is stale, measured against the table's
//! trading calendar ([`candlestore_ingest::is_stale`], the same rule as `assess` in time independent of the
//! data's age): the newest bar is stale once the first
//! bar the calendar expected after it has been complete for longer than the asset class's
//! `[freshness]` threshold. A Friday daily bar read on Saturday is not stale; neither is a
//! bar whose next session has not closed yet.

use std::time::Duration;

use candlestore::TableSpec;
use candlestore_ingest::{BarAlignment, Calendar, FreshnessConfig, is_stale};
use serde::Serialize;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// Age of the newest bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Freshness {
    /// Seconds between the newest bar's `datetime` and now (`None`: no bar at all).
    pub(crate) data_age_seconds: Option<i64>,
    /// Whether an expected bar is overdue past the threshold (no bar at all is stale).
    pub(crate) is_stale: bool,
}

/// The staleness threshold of a `spec` table, in seconds.
pub(crate) fn stale_after_seconds(config: &FreshnessConfig, spec: &TableSpec) -> i64 {
    seconds(config.threshold(spec.asset_class))
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Freshness of a `spec` table's newest bar at `newest` (µs) seen at `now` (µs).
pub(crate) fn freshness(
    config: &FreshnessConfig,
    spec: &TableSpec,
    newest: Option<i64>,
    now: i64,
) -> Freshness {
    let Some(newest) = newest else {
        return Freshness { data_age_seconds: None, is_stale: true };
    };
    let age = now.saturating_sub(newest).div_euclid(MICROS_PER_SECOND);
    let calendar = Calendar::for_asset_class(spec.asset_class);
    let threshold = config.threshold(spec.asset_class);
    // Outside the calendar's supported years (1990..=2099) nothing says which bars were due;
    // an answer that cannot be vouched for is not called fresh.
    let is_stale =
        is_stale(calendar, spec.timeframe, BarAlignment::default(), newest, now, threshold)
            .unwrap_or(true);
    Freshness { data_age_seconds: Some(age), is_stale }
}

#[cfg(test)]
mod tests {
    use candlestore::{AssetClass, Timeframe};

    use super::*;

    fn at(s: &str) -> i64 {
        s.parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp_micros()
    }

    #[test]
    fn daily_stock_bars_follow_the_nyse_calendar() {
        let c = FreshnessConfig::default();
        let stocks = TableSpec::new(AssetClass::Stocks, Timeframe::Day1);
        let friday = Some(at("2024-01-12T00:00:00Z"));
        // Saturday and Sunday: no session after Friday's has closed.
        let sat = freshness(&c, &stocks, friday, at("2024-01-13T12:00:00Z"));
        assert_eq!(sat, Freshness { data_age_seconds: Some(36 * 3600), is_stale: false });
        assert!(!freshness(&c, &stocks, friday, at("2024-01-14T23:00:00Z")).is_stale);
        // Monday 2024-01-15 is Martin Luther King Jr. Day: still nothing due on Tuesday
        // morning.
        assert!(!freshness(&c, &stocks, friday, at("2024-01-16T12:00:00Z")).is_stale);
        // Tuesday's session closed at 21:00 UTC; a day (the default threshold) later it is
        // stale, not before.
        assert!(!freshness(&c, &stocks, friday, at("2024-01-17T20:00:00Z")).is_stale);
        assert!(freshness(&c, &stocks, friday, at("2024-01-17T21:01:00Z")).is_stale);
        // A tighter threshold from the config.
        let tight = FreshnessConfig { stocks: Duration::from_secs(3600), ..c };
        assert!(freshness(&tight, &stocks, friday, at("2024-01-16T22:01:00Z")).is_stale);
        assert_eq!(stale_after_seconds(&tight, &stocks), 3600);
    }

    #[test]
    fn crypto_runs_around_the_clock_and_no_bar_is_stale() {
        let c = FreshnessConfig::default();
        let crypto = TableSpec::new(AssetClass::Crypto, Timeframe::Hour1);
        let newest = Some(at("2024-01-13T10:00:00Z"));
        // The 11:00 bar completed at 12:00; overdue 1h59m < 2h.
        assert!(!freshness(&c, &crypto, newest, at("2024-01-13T13:59:00Z")).is_stale);
        assert!(freshness(&c, &crypto, newest, at("2024-01-13T14:01:00Z")).is_stale);
        assert_eq!(stale_after_seconds(&c, &crypto), 7200);
        let none = freshness(&c, &crypto, None, at("2024-01-13T14:01:00Z"));
        assert_eq!(none, Freshness { data_age_seconds: None, is_stale: true });
        // Beyond the calendar's years: stale, not a guess.
        assert!(freshness(&c, &crypto, newest, at("2150-01-01T00:00:00Z")).is_stale);
    }
}
