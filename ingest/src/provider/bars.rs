//! Collecting parsed bars: validation (no null, NaN or infinite value is ever stored),
//! held-back open bars, duplicate timestamps, and assembly of the Arrow batches.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMicrosecondArray, UInt64Array};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::bar_schema;
use crate::provider::fetched::{BarReject, IncompleteBar, extras_schema};
use crate::provider::request::FetchRequest;

/// Column names of OHLCV, for reject reasons.
pub(crate) const OHLCV: [&str; 5] = ["open", "high", "low", "close", "volume"];

/// Values some vendors send besides OHLCV (see [`extras_schema`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Extras {
    pub(crate) trade_count: Option<u64>,
    pub(crate) vwap: Option<f64>,
    pub(crate) quote_volume: Option<f64>,
    pub(crate) taker_buy_base_volume: Option<f64>,
    pub(crate) taker_buy_quote_volume: Option<f64>,
    pub(crate) adj_close: Option<f64>,
}

/// One bar as a vendor parser produced it; values may still be missing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawBar {
    /// µs since the epoch, UTC (session date at 00:00 UTC for daily bars).
    pub(crate) datetime: i64,
    /// open, high, low, close, volume; `None` where the vendor sent null.
    pub(crate) ohlcv: [Option<f64>; 5],
    pub(crate) extras: Extras,
    /// When the bar closes (µs, UTC), if the vendor says so (Binance `closeTime` + 1 ms);
    /// otherwise `datetime` + the timeframe is used.
    pub(crate) closes_at: Option<i64>,
}

/// A complete, finite bar.
#[derive(Debug, Clone, Copy)]
struct Bar {
    datetime: i64,
    ohlcv: [f64; 5],
    extras: Extras,
}

/// Bars of one fetch, across pages.
#[derive(Debug)]
pub(crate) struct Collected {
    /// Bar length in µs, for bars without an explicit close time.
    bar_micros: i64,
    /// The requested range, `[start, end)` in µs: vendors may send more than was asked.
    range: (i64, i64),
    /// Bars sent outside the requested range (dropped: they were not asked for).
    pub(crate) outside_range: usize,
    /// "Now" of the fetch (µs, UTC): bars closing after it are held back.
    now: i64,
    bars: Vec<Bar>,
    pub(crate) rejects: Vec<BarReject>,
    pub(crate) incomplete: Vec<IncompleteBar>,
}

impl Collected {
    pub(crate) fn new(request: &FetchRequest, now: i64) -> Self {
        Self {
            bar_micros: request.timeframe.micros(),
            range: (request.start_micros(), request.end_exclusive_micros()),
            outside_range: 0,
            now,
            bars: Vec::new(),
            rejects: Vec::new(),
            incomplete: Vec::new(),
        }
    }

    /// Number of final bars so far.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.bars.len()
    }

    /// Records a bar that could not be read at all.
    pub(crate) fn reject(
        &mut self,
        page: u32,
        index: usize,
        datetime: Option<i64>,
        reason: String,
    ) {
        self.rejects.push(BarReject { page, index, datetime, reason });
    }

    /// Accepts, holds back (still open), drops (outside the range) or rejects (missing /
    /// non-finite value) one bar.
    pub(crate) fn push(&mut self, page: u32, index: usize, raw: RawBar) {
        if raw.datetime < self.range.0 || raw.datetime >= self.range.1 {
            self.outside_range += 1;
            return;
        }
        let mut ohlcv = [0.0; 5];
        for (i, v) in raw.ohlcv.iter().enumerate() {
            match v {
                None => {
                    return self.reject(
                        page,
                        index,
                        Some(raw.datetime),
                        format!("{} is null or missing", OHLCV[i]),
                    );
                }
                Some(x) if !x.is_finite() => {
                    return self.reject(
                        page,
                        index,
                        Some(raw.datetime),
                        format!("{} is not a finite number ({x})", OHLCV[i]),
                    );
                }
                Some(x) => ohlcv[i] = *x,
            }
        }
        let closes_at = raw.closes_at.unwrap_or(raw.datetime.saturating_add(self.bar_micros));
        if closes_at > self.now {
            self.incomplete.push(IncompleteBar { datetime: raw.datetime, closes_at });
            return;
        }
        self.bars.push(Bar { datetime: raw.datetime, ohlcv, extras: sanitize(raw.extras) });
    }

    /// Sorts by time, rejects repeated timestamps (the first one sent is kept) and builds the
    /// bar batch and the extras batch.
    pub(crate) fn finish(
        mut self,
        symbol: &str,
    ) -> Result<(RecordBatch, RecordBatch, Vec<BarReject>, Vec<IncompleteBar>), ArrowError> {
        // Stable sort: among equal timestamps the first one sent stays first.
        self.bars.sort_by_key(|b| b.datetime);
        let mut kept: Vec<Bar> = Vec::with_capacity(self.bars.len());
        for bar in self.bars {
            if kept.last().is_some_and(|k| k.datetime == bar.datetime) {
                self.rejects.push(BarReject {
                    page: 0,
                    index: kept.len(),
                    datetime: Some(bar.datetime),
                    reason: "the vendor sent this timestamp twice; the first bar was kept".into(),
                });
                continue;
            }
            kept.push(bar);
        }
        let n = kept.len();
        let col = |i: usize| -> ArrayRef {
            Arc::new(Float64Array::from_iter_values(kept.iter().map(|b| b.ohlcv[i])))
        };
        let batch = RecordBatch::try_new(
            bar_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(std::iter::repeat_n(symbol, n))),
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values(kept.iter().map(|b| b.datetime))
                        .with_timezone("UTC"),
                ),
                col(0),
                col(1),
                col(2),
                col(3),
                col(4),
            ],
        )?;
        let opt = |f: fn(&Extras) -> Option<f64>| -> ArrayRef {
            Arc::new(kept.iter().map(|b| f(&b.extras)).collect::<Float64Array>())
        };
        let extras = RecordBatch::try_new(
            extras_schema(),
            vec![
                Arc::new(kept.iter().map(|b| b.extras.trade_count).collect::<UInt64Array>()),
                opt(|e| e.vwap),
                opt(|e| e.quote_volume),
                opt(|e| e.taker_buy_base_volume),
                opt(|e| e.taker_buy_quote_volume),
                opt(|e| e.adj_close),
            ],
        )?;
        Ok((batch, extras, self.rejects, self.incomplete))
    }
}

/// Extras are optional: a non-finite one becomes null rather than costing the bar.
fn sanitize(mut e: Extras) -> Extras {
    for v in [
        &mut e.vwap,
        &mut e.quote_volume,
        &mut e.taker_buy_base_volume,
        &mut e.taker_buy_quote_volume,
        &mut e.adj_close,
    ] {
        if v.is_some_and(|x| !x.is_finite()) {
            *v = None;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, TimestampMicrosecondType};

    use super::*;

    fn raw(t: i64, close: Option<f64>) -> RawBar {
        RawBar {
            datetime: t,
            ohlcv: [Some(1.0), Some(2.0), Some(0.5), close, Some(10.0)],
            extras: Extras { vwap: Some(f64::NAN), trade_count: Some(3), ..Extras::default() },
            closes_at: None,
        }
    }

    fn collected(bar_micros: i64, now: i64) -> Collected {
        let mut c = Collected::new(
            &FetchRequest::new(
                "X",
                "X",
                crate::Timeframe::Minute1,
                chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
                chrono::NaiveDate::from_ymd_opt(2100, 1, 1).unwrap(),
            ),
            now,
        );
        c.bar_micros = bar_micros;
        c
    }

    #[test]
    fn sorts_rejects_and_holds_back() {
        let mut c = collected(10, 100);
        c.push(1, 0, raw(30, Some(1.5)));
        c.push(1, 1, raw(10, Some(1.25)));
        c.push(1, 2, raw(20, None));
        c.push(1, 3, raw(40, Some(f64::INFINITY)));
        c.push(2, 0, raw(10, Some(9.0)));
        c.push(2, 1, raw(95, Some(1.0))); // closes at 105 > now
        assert_eq!(c.len(), 3);
        c.range = (0, 1000);
        c.push(3, 0, raw(1000, Some(1.0)));
        c.push(3, 1, raw(-1, None));
        assert_eq!(c.outside_range, 2, "outside the range: dropped before any check");
        let (batch, extras, rejects, incomplete) = c.finish("BTC").unwrap();
        assert_eq!(batch.num_rows(), 2);
        let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.values(), &[10, 30]);
        // The first bar sent for t=10 wins over the later duplicate.
        assert_eq!(batch.column(5).as_primitive::<Float64Type>().value(0), 1.25);
        assert_eq!(batch.column(0).as_string::<i32>().value(1), "BTC");
        assert_eq!(extras.num_rows(), 2);
        assert!(extras.column(1).is_null(0), "NaN vwap becomes null");
        let reasons: Vec<String> = rejects.iter().map(ToString::to_string).collect();
        assert_eq!(reasons.len(), 3, "{reasons:?}");
        assert!(reasons[0].contains("page 1, bar 2: close is null or missing"), "{reasons:?}");
        assert!(reasons[1].contains("close is not a finite number"), "{reasons:?}");
        assert!(reasons[2].contains("twice"), "{reasons:?}");
        assert_eq!(incomplete, vec![IncompleteBar { datetime: 95, closes_at: 105 }]);
    }

    #[test]
    fn empty_is_a_valid_batch() {
        let (batch, extras, rejects, incomplete) = collected(10, 0).finish("X").unwrap();
        assert_eq!((batch.num_rows(), extras.num_rows()), (0, 0));
        assert!(rejects.is_empty() && incomplete.is_empty());
        assert_eq!(batch.schema(), bar_schema());
    }
}
