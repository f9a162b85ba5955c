//! What a fetch returns: the bars as an Arrow batch in the ingest bar schema, the vendor extras
//! beside it, the bars that were held back, and metadata about the fetch itself.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::provider::error::ProviderFailure;
use crate::provider::request::{ProviderKind, Timeframe};

/// The result of a successful fetch. `batch` and `extras` have the same rows in the same order
/// (ascending `datetime`, no duplicates).
#[derive(Debug)]
pub struct Fetched {
    /// Final bars in [`bar_schema`](crate::bar_schema): symbol (the engine symbol of the
    /// request), datetime (µs, UTC), open, high, low, close, volume; for a Binance fetch with
    /// futures asked for ([`FetchRequest::futures`](crate::FetchRequest::futures)) also
    /// `funding_rate` and `open_interest` (Float64, nullable). Ready for `Store::append` (the
    /// two futures columns only into a crypto table; see [`without_futures`](crate::without_futures)).
    pub batch: RecordBatch,
    /// Vendor extras per row of `batch`, in [`extras_schema`]; null where the vendor does not
    /// send the value.
    pub extras: RecordBatch,
    /// Bars the vendor sent that have not closed yet at the time of the fetch (e.g. the last
    /// Binance kline); they are not in `batch` and must not be stored as final.
    pub incomplete: Vec<IncompleteBar>,
    /// Bars the vendor sent that could not be used (a null or non-finite value, a duplicate
    /// timestamp, a local time that does not exist); they are not in `batch`.
    pub rejects: Vec<BarReject>,
    /// How the fetch went.
    pub meta: FetchMeta,
}

/// A bar that was still open when it was fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncompleteBar {
    /// Bar start (or session date at 00:00 UTC for daily bars), µs since the epoch, UTC.
    pub datetime: i64,
    /// When the bar closes, µs since the epoch, UTC.
    pub closes_at: i64,
}

/// A bar of the vendor's answer that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarReject {
    /// 1-based page of the answer.
    pub page: u32,
    /// 0-based position of the bar in that page, as the vendor sent it.
    pub index: usize,
    /// The bar's timestamp when it could be read (µs, UTC).
    pub datetime: Option<i64>,
    /// What was wrong, e.g. `open is null`.
    pub reason: String,
}

impl fmt::Display for BarReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "page {}, bar {}: {}", self.page, self.index, self.reason)
    }
}

/// A quota figure read from a response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The header it came from, e.g. `x-mbx-used-weight-1m`.
    pub header: &'static str,
    /// Whether the value is what is left or what has been used.
    pub kind: QuotaKind,
    /// The header's value.
    pub value: u64,
}

/// What a [`Quota`] value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaKind {
    /// Units left in the current window (Twelve Data `api-credits-left`).
    Remaining,
    /// Units used in the current window (Binance `x-mbx-used-weight-1m`).
    Used,
}

impl fmt::Display for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            QuotaKind::Remaining => "left",
            QuotaKind::Used => "used",
        };
        write!(f, "{} {what} ({})", self.value, self.header)
    }
}

/// Metadata of one fetch.
#[derive(Debug)]
pub struct FetchMeta {
    /// The provider that served the bars.
    pub provider: ProviderKind,
    /// The engine symbol.
    pub symbol: String,
    /// The provider's symbol.
    pub provider_symbol: String,
    /// Bar length.
    pub timeframe: Timeframe,
    /// Rows in the batch.
    pub rows: usize,
    /// Pages read (answers that carried bars or ended the range).
    pub pages: u32,
    /// HTTP requests sent, retries included.
    pub requests: u32,
    /// Requests that were retries of a failed one.
    pub retries: u32,
    /// Wall time of the whole fetch, waits included.
    pub latency: Duration,
    /// The vendor's quota as of the last response, when it sends one.
    pub quota: Option<Quota>,
    /// The vendor's own status word when it is not plain success (Polygon `DELAYED`).
    pub vendor_status: Option<String>,
    /// Bars the vendor sent outside the requested range (dropped, not stored).
    pub outside_range: usize,
    /// Things the caller should know about the answer, e.g. that the vendor sent no volume
    /// (stored as 0) or no exchange time zone (UTC assumed).
    pub warnings: Vec<String>,
    /// Providers of a fallback chain that failed before this one served.
    pub fallback_failures: Vec<ProviderFailure>,
}

impl fmt::Display for FetchMeta {
    /// One line: `polygon AAPL (as AAPL) 1d: 2 rows, 1 page, 1 request, 0 retries, 12 ms, quota n/a`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{} {} (as {}) {}: {}, {}, {}, {}, {} ms, quota {}",
            self.provider,
            self.provider_symbol,
            self.symbol,
            self.timeframe,
            plural(self.rows as u64, "row"),
            plural(u64::from(self.pages), "page"),
            plural(u64::from(self.requests), "request"),
            if self.retries == 1 {
                "1 retry".to_owned()
            } else {
                format!("{} retries", self.retries)
            },
            self.latency.as_millis(),
            self.quota.map_or_else(|| "n/a".to_owned(), |q| q.to_string()),
        )?;
        if let Some(status) = &self.vendor_status {
            write!(f, ", vendor status {status}")?;
        }
        if !self.fallback_failures.is_empty() {
            let failed: Vec<&str> =
                self.fallback_failures.iter().map(|p| p.provider.name()).collect();
            write!(f, ", after {} failed", failed.join(", "))?;
        }
        Ok(())
    }
}

/// The schema of [`Fetched::extras`]: per-bar values some vendors send besides OHLCV, all
/// nullable: `trade_count` UInt64 (Polygon `n`, Binance trades), `vwap` Float64 (Polygon `vw`),
/// `quote_volume`, `taker_buy_base_volume`, `taker_buy_quote_volume` Float64 (Binance),
/// `adj_close` Float64 (Yahoo `adjclose`).
pub fn extras_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let f = |name: &str| Field::new(name, DataType::Float64, true);
            Arc::new(Schema::new(vec![
                Field::new("trade_count", DataType::UInt64, true),
                f("vwap"),
                f("quote_volume"),
                f("taker_buy_base_volume"),
                f("taker_buy_quote_volume"),
                f("adj_close"),
            ]))
        })
        .clone()
}
