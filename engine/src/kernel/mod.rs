//! The indicator kernel: every derived field of the field specification (F3.2–F3.16),
//! computed from one series' OHLCV columns.
//!
//! Each indicator family is a small state machine over column slices (`group_a`, `group_b`)
//! that carries everything it needs to continue a series: running a series in one chunk or
//! in any split into consecutive chunks gives bit-for-bit the same values and end state. That
//! is what lets the store compute only the new bars of an append from a persisted
//! [`SeriesState`] and still equal a batch run over the whole history.
//!
//! A family that fails (a panic, i.e. a bug) is isolated: its fields are null from that bar
//! on, the other fields are still computed, and `validation_notes` names the family
//! (`compute_failed:<family>`).

mod assemble;
mod batch;
#[allow(unreachable_pub)]
mod frame;
#[allow(unreachable_pub)]
mod group_a;
#[allow(unreachable_pub)]
mod group_b;
pub(crate) mod state_file;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub(crate) use assemble::fill_derived;
pub use batch::{ComputeOptions, SeriesFault, compute_batch, compute_each};
pub(crate) use frame::Out;
pub use frame::Session;
use frame::{Config, Fault, Input};
use group_a::GroupA;
use group_b::GroupB;

use crate::error::{Error, Result};
use crate::schema::col;
use crate::table::{AssetClass, TableSpec};

/// Version of the kernel's definitions and state layout. Persisted states of another version
/// are discarded and the series recomputed from history on their next append.
pub const KERNEL_VERSION: u32 = 1;

/// How a series' bars are grouped into sessions (F2.2) and anything else a series'
/// computation depends on besides its bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesConfig {
    /// Session rule for `vwap_daily` / `vwap_weekly`.
    pub session: Session,
}

impl SeriesConfig {
    /// The F2.2 rule for a table: bars of a day or longer are their own session; intraday
    /// crypto uses UTC dates; intraday stocks use `stock_tz` dates (America/New_York for US
    /// listings).
    pub fn for_table(spec: &TableSpec, stock_tz: chrono_tz::Tz) -> Self {
        let session = if spec.timeframe.seconds() >= 86_400 {
            Session::PerBar
        } else if spec.asset_class == AssetClass::Crypto {
            Session::Tz(chrono_tz::UTC)
        } else {
            Session::Tz(stock_tz)
        };
        Self { session }
    }

    fn frame(&self) -> Config {
        Config { session: self.session }
    }
}

/// The columns the kernel computes (F1 positions). Values a caller provides for them are
/// ignored: the store computes them itself.
pub fn computed_columns() -> &'static [usize] {
    static COLUMNS: OnceLock<Vec<usize>> = OnceLock::new();
    COLUMNS.get_or_init(|| {
        let mut c: Vec<usize> = GroupA::FIELDS.iter().chain(GroupB::FIELDS).copied().collect();
        c.push(col::DATA_COMPLETENESS);
        c.sort_unstable();
        c.dedup();
        c
    })
}

/// The OHLCV columns of consecutive bars of one series.
#[derive(Debug, Clone, Copy)]
pub struct Bars<'a> {
    /// Timestamps, µs UTC, strictly increasing.
    pub ts: &'a [i64],
    /// Opens.
    pub open: &'a [f64],
    /// Highs.
    pub high: &'a [f64],
    /// Lows.
    pub low: &'a [f64],
    /// Closes.
    pub close: &'a [f64],
    /// Volumes.
    pub volume: &'a [f64],
}

impl<'a> Bars<'a> {
    /// The datetime and OHLCV columns of a 97-column bar batch (rows already in time order).
    pub(crate) fn of(batch: &'a arrow::array::RecordBatch) -> Self {
        use arrow::array::AsArray;
        use arrow::datatypes::{Float64Type, TimestampMicrosecondType};
        let f = |c: usize| batch.column(c).as_primitive::<Float64Type>().values().as_ref();
        Bars {
            ts: batch.column(col::DATETIME).as_primitive::<TimestampMicrosecondType>().values(),
            open: f(col::OPEN),
            high: f(col::HIGH),
            low: f(col::LOW),
            close: f(col::CLOSE),
            volume: f(col::VOLUME),
        }
    }

    /// Bars `a..b` (panics outside `0..=len`).
    pub(crate) fn range(&self, a: usize, b: usize) -> Bars<'a> {
        Bars {
            ts: &self.ts[a..b],
            open: &self.open[a..b],
            high: &self.high[a..b],
            low: &self.low[a..b],
            close: &self.close[a..b],
            volume: &self.volume[a..b],
        }
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether there are no bars.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

/// Everything needed to continue computing one series (one symbol of one table) after its
/// last bar: the recursive state of every indicator family and the bounded windows the
/// windowed ones need. A few KiB per series.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeriesState {
    bars: u64,
    last_ts: Option<i64>,
    /// Families that failed: (first bar nulled, family).
    failed: Vec<(u64, String)>,
    a: GroupA,
    b: GroupB,
}

impl Default for SeriesState {
    fn default() -> Self {
        Self::new()
    }
}

/// The derived values of a chunk of bars, as computed by [`SeriesState::advance`].
#[derive(Debug, Clone)]
pub struct Computed {
    pub(crate) out: Out,
    /// Per bar of the chunk: families failed at that bar (empty for almost every chunk).
    pub(crate) failed: Vec<(u64, String)>,
    pub(crate) t0: u64,
}

impl Computed {
    /// Number of bars computed.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether no bar was computed.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// A computed column as f64 codes (NaN = null; booleans 0/1; regimes 0/1/2), for tests
    /// and diagnostics. `None` for a column the kernel does not compute.
    pub fn raw(&self, column: usize) -> Option<&[f64]> {
        let c = self.out.col(column);
        (c.len() == self.out.len() && !c.is_empty()).then_some(c)
    }

    /// Families that failed, with the series position of the first bar they are null at.
    pub fn faults(&self) -> &[(u64, String)] {
        &self.failed
    }

    /// Per bar of the chunk, the families failed there; empty when none failed.
    pub(crate) fn row_failures(&self) -> Vec<Vec<String>> {
        if self.failed.is_empty() {
            return Vec::new();
        }
        (0..self.len())
            .map(|i| {
                let t = self.t0 + i as u64;
                self.failed
                    .iter()
                    .filter(|(first, _)| *first <= t)
                    .map(|(_, f)| f.clone())
                    .collect()
            })
            .collect()
    }
}

impl SeriesState {
    /// The state of an empty series.
    pub fn new() -> Self {
        Self { bars: 0, last_ts: None, failed: Vec::new(), a: GroupA::new(), b: GroupB::new() }
    }

    /// Bars consumed so far.
    pub fn bars(&self) -> u64 {
        self.bars
    }

    /// Families that failed on this series: (position of the first bar they are null at,
    /// family). They stay null until the series is recomputed.
    pub fn failures(&self) -> &[(u64, String)] {
        &self.failed
    }

    /// Timestamp of the last bar consumed.
    pub fn last_ts(&self) -> Option<i64> {
        self.last_ts
    }

    /// Computes the derived fields of `bars`, the next bars of the series, and advances the
    /// state past them. Timestamps must be strictly increasing and after [`Self::last_ts`].
    pub fn advance(&mut self, config: &SeriesConfig, bars: &Bars<'_>) -> Result<Computed> {
        let n = bars.len();
        for (name, len) in [
            ("open", bars.open.len()),
            ("high", bars.high.len()),
            ("low", bars.low.len()),
            ("close", bars.close.len()),
            ("volume", bars.volume.len()),
        ] {
            if len != n {
                return Err(Error::InvalidOption {
                    option: "bars",
                    reason: format!("{name} has {len} values, datetime has {n}"),
                });
            }
        }
        let mut prev = self.last_ts;
        for &ts in bars.ts {
            if prev.is_some_and(|p| ts <= p) {
                return Err(Error::InvalidOption {
                    option: "bars",
                    reason: format!(
                        "timestamps must increase: {ts} follows {}",
                        prev.unwrap_or_default()
                    ),
                });
            }
            prev = Some(ts);
        }
        let t0 = self.bars;
        let input = Input {
            t0,
            ts: bars.ts,
            open: bars.open,
            high: bars.high,
            low: bars.low,
            close: bars.close,
            volume: bars.volume,
        };
        let cfg = config.frame();
        let mut out = Out::new(n, computed_columns());
        let mut faults: Vec<Fault> = Vec::new();
        if n > 0 {
            self.a.run(&input, &cfg, &mut out, &mut faults);
            self.b.run(&input, &cfg, &mut out, &mut faults);
        }
        for fault in faults {
            self.failed.push((fault.first_bar, fault.family));
        }
        let failed = self.failed.clone();
        self.bars += n as u64;
        if let Some(&last) = bars.ts.last() {
            self.last_ts = Some(last);
        }
        Ok(Computed { out, failed, t0 })
    }
}

/// Decodes a kernel state file (format-spec/kernel-state.md): every series' state, by symbol.
/// A file of another kernel version decodes to no states; a damaged one is an error naming
/// `path`.
pub fn decode_states(bytes: &[u8], path: &std::path::Path) -> Result<Vec<(String, SeriesState)>> {
    let mut states: Vec<(String, SeriesState)> =
        state_file::decode(bytes, path)?.into_iter().map(|(s, st)| (s.to_string(), *st)).collect();
    states.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(states)
}

/// Encodes series states as a kernel state file (what a flush writes).
pub fn encode_states(states: &[(String, SeriesState)]) -> Result<Vec<u8>> {
    let map: state_file::States = states
        .iter()
        .map(|(s, st)| (std::sync::Arc::from(s.as_str()), Box::new(st.clone())))
        .collect();
    state_file::encode(&map)
}

/// Computes a whole series from its first bar (a batch run).
pub fn compute_series(config: &SeriesConfig, bars: &Bars<'_>) -> Result<(Computed, SeriesState)> {
    let mut state = SeriesState::new();
    let computed = state.advance(config, bars)?;
    Ok((computed, state))
}
