//! How old the newest bar is, and whether that is stale for the table's timeframe.
//!
//! The rule here is calendar-free: crypto trades around the clock, so a crypto table is
//! stale once three bar intervals pass without a new bar; a stock table gets one bar
//! interval plus four days (a weekend with a holiday on either side) before it is stale.
//! An exchange calendar (the `[freshness]` config of the ingest work) can refine this.

use candlestore::{AssetClass, TableSpec};
use serde::Serialize;

const DAY_SECONDS: i64 = 86_400;

/// Age of the newest bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Freshness {
    /// Seconds between the newest bar's `datetime` and now (`None`: no bar at all).
    pub(crate) data_age_seconds: Option<i64>,
    /// Whether that is older than the table's staleness threshold (no bar at all is stale).
    pub(crate) is_stale: bool,
}

/// Seconds after which the newest bar of a `spec` table is stale.
pub(crate) fn stale_after_seconds(spec: &TableSpec) -> i64 {
    let bar = spec.timeframe.seconds();
    match spec.asset_class {
        AssetClass::Crypto => 3 * bar,
        _ => bar + 4 * DAY_SECONDS,
    }
}

/// Freshness of a newest bar at `newest` (µs) seen at `now` (µs).
pub(crate) fn freshness(spec: &TableSpec, newest: Option<i64>, now: i64) -> Freshness {
    match newest {
        None => Freshness { data_age_seconds: None, is_stale: true },
        Some(t) => {
            let age = now.saturating_sub(t).div_euclid(1_000_000);
            Freshness { data_age_seconds: Some(age), is_stale: age > stale_after_seconds(spec) }
        }
    }
}

#[cfg(test)]
mod tests {
    use candlestore::Timeframe;

    use super::*;

    #[test]
    fn thresholds_by_asset_class() {
        let now = 1_700_000_000_000_000i64;
        let s = |secs: i64| Some(now - secs * 1_000_000);
        let stocks = TableSpec::new(AssetClass::Stocks, Timeframe::Day1);
        assert!(!freshness(&stocks, s(3 * DAY_SECONDS), now).is_stale);
        assert!(freshness(&stocks, s(6 * DAY_SECONDS), now).is_stale);
        let crypto = TableSpec::new(AssetClass::Crypto, Timeframe::Hour1);
        assert_eq!(freshness(&crypto, s(2 * 3600), now).data_age_seconds, Some(7200));
        assert!(!freshness(&crypto, s(2 * 3600), now).is_stale);
        assert!(freshness(&crypto, s(4 * 3600), now).is_stale);
        assert!(freshness(&crypto, None, now).is_stale);
    }
}
