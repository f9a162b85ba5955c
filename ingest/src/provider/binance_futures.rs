//! Binance USD-M futures: the funding rate history and the open interest statistics of a
//! perpetual, attached to fetched crypto bars as the `funding_rate` and `open_interest`
//! columns (stored as the crypto tables' extra columns, format-spec/segments.md).
//!
//! Endpoints (on `futures_base_url`, default `https://fapi.binance.com`; wire formats as in
//! Binance's USD-M futures documentation, "Get Funding Rate History" and "Open Interest
//! Statistics"):
//! - `GET /fapi/v1/fundingRate?symbol=&startTime=&endTime=&limit=1000`: an array, ascending, of
//!   `{"symbol","fundingTime" (ms),"fundingRate" (decimal string),"markPrice"}`; a full page
//!   continues after its last `fundingTime`.
//! - `GET /futures/data/openInterestHist?symbol=&period=&limit=500&startTime=&endTime=`: an
//!   array of `{"symbol","sumOpenInterest","sumOpenInterestValue" (decimal strings),
//!   "timestamp" (ms; the docs' example writes it as a string, the live API as a number: both
//!   are accepted)}`. **Binance serves only the last 30 days**: older parts of a range are not
//!   asked for and their bars keep `open_interest` null (not an error).
//!
//! A spot symbol without a perpetual is answered 400 `{"code":-1121,"msg":"Invalid symbol."}`:
//! both columns stay null and the fetch carries a warning. Any other failure (after the same
//! retries, rate limit and breaker as the klines) fails the whole fetch: no bars are returned
//! without the columns that were asked for.
//!
//! Which value a bar gets (the rules of format-spec/segments.md, "Extra columns"):
//! - `funding_rate`: the rate of the latest funding event with `fundingTime <= open` (the
//!   bar's open time), if that event is less than 24 hours before the open; else null.
//! - `open_interest`: `sumOpenInterest` (contracts, in base-asset units) of the latest
//!   observation with `close - period < timestamp <= close`, where `close` is the end of the
//!   bar (open + bar length) and `period` the statistics period asked for (`5m` for 1-minute
//!   bars, `1h` for hourly, `1d` for daily); else null.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, TimestampMicrosecondType};
use serde::Deserialize;

use crate::provider::connector::{Connector, Run};
use crate::provider::error::FetchError;
use crate::provider::request::{FetchRequest, ProviderKind, Timeframe};

const KIND: ProviderKind = ProviderKind::Binance;
/// Largest funding-rate page.
const FUNDING_LIMIT: usize = 1000;
/// Largest open-interest page.
const OI_LIMIT: i64 = 500;
/// How far before a bar's open its funding event may lie (Binance funds every 1, 4 or 8 hours).
const FUNDING_MAX_AGE_MS: i64 = 24 * 3_600_000;
/// How far back Binance serves open interest statistics.
const OI_HISTORY_MS: i64 = 30 * 86_400_000;
/// Pages of one fetch beyond which pagination is considered broken.
const MAX_PAGES: u32 = 10_000;

/// Name of the funding rate column attached to the bars.
pub const FUNDING_RATE_COLUMN: &str = "funding_rate";
/// Name of the open interest column attached to the bars.
pub const OPEN_INTEREST_COLUMN: &str = "open_interest";

/// One funding event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FundingEvent {
    pub(crate) time_ms: i64,
    pub(crate) rate: f64,
}

/// One open interest observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OpenInterest {
    pub(crate) time_ms: i64,
    pub(crate) contracts: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FundingItem {
    symbol: String,
    funding_time: i64,
    funding_rate: String,
    // `markPrice` is not used (and so not required: old events may lack it).
}

/// `timestamp` of an open interest item: a number, or (as in the docs' example) a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Millis {
    Number(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OiItem {
    symbol: String,
    sum_open_interest: String,
    sum_open_interest_value: String,
    timestamp: Millis,
}

/// The statistics period used for bars of `timeframe`, and its length in ms.
pub(crate) fn oi_period(timeframe: Timeframe) -> (&'static str, i64) {
    match timeframe {
        Timeframe::Minute1 => ("5m", 300_000),
        Timeframe::Hour1 => ("1h", 3_600_000),
        Timeframe::Day1 => ("1d", 86_400_000),
    }
}

fn bar_ms(timeframe: Timeframe) -> i64 {
    match timeframe {
        Timeframe::Minute1 => 60_000,
        Timeframe::Hour1 => 3_600_000,
        Timeframe::Day1 => 86_400_000,
    }
}

/// Fetches the funding events and open interest observations of the request's range and
/// attaches them to `batch` (the fetched bars) as two Float64 columns.
pub(crate) async fn attach_futures(
    c: &Connector,
    req: &FetchRequest,
    batch: RecordBatch,
    now_ms: i64,
    run: &mut Run,
) -> Result<RecordBatch, FetchError> {
    let sym = req.provider_symbol.as_str();
    let start_ms = req.start_micros() / 1000;
    let end_ms = req.end_exclusive_micros() / 1000 - 1;
    let (funding, oi) =
        match fetch_funding(c, req, start_ms - FUNDING_MAX_AGE_MS, end_ms, run).await {
            Ok(funding) => {
                let oi = fetch_open_interest(c, req, start_ms, end_ms, now_ms, run).await?;
                (funding, oi)
            }
            Err(FetchError::UnknownSymbol { message, .. }) => {
                run.warn(format!(
                    "binance futures has no USD-M perpetual {sym} ({message}): funding_rate and \
                 open_interest left null"
                ));
                (Vec::new(), Vec::new())
            }
            Err(e) => return Err(e),
        };
    let (_, period_ms) = oi_period(req.timeframe);
    attach(&batch, &funding, &oi, bar_ms(req.timeframe), period_ms)
        .map_err(|source| FetchError::Arrow { provider: KIND, symbol: sym.to_owned(), source })
}

fn malformed(req: &FetchRequest, page: u32, detail: String) -> FetchError {
    FetchError::Malformed { provider: KIND, symbol: req.provider_symbol.clone(), page, detail }
}

fn pagination(req: &FetchRequest, detail: String) -> FetchError {
    FetchError::Pagination { provider: KIND, symbol: req.provider_symbol.clone(), detail }
}

/// Every funding event in `[from_ms, to_ms]`, ascending.
async fn fetch_funding(
    c: &Connector,
    req: &FetchRequest,
    from_ms: i64,
    to_ms: i64,
    run: &mut Run,
) -> Result<Vec<FundingEvent>, FetchError> {
    let sym = req.provider_symbol.as_str();
    let mut events: Vec<FundingEvent> = Vec::new();
    let mut start = from_ms;
    for page in 1..=MAX_PAGES {
        let mut url = c.futures_endpoint(&["fapi", "v1", "fundingRate"])?;
        url.query_pairs_mut()
            .append_pair("symbol", sym)
            .append_pair("startTime", &start.to_string())
            .append_pair("endTime", &to_ms.to_string())
            .append_pair("limit", &FUNDING_LIMIT.to_string());
        let response = c.get(&url, sym, run).await?;
        let items = parse_funding(&response.body, req, page, start, to_ms)?;
        let full = items.len() == FUNDING_LIMIT;
        let last = items.last().map(|e| e.time_ms);
        events.extend(items);
        match last {
            Some(last) if full && last < to_ms => start = last + 1,
            _ => return Ok(events),
        }
    }
    Err(pagination(req, format!("fundingRate: more than {MAX_PAGES} pages")))
}

/// One funding page: strictly ascending events inside `[from_ms, to_ms]` of the asked symbol.
pub(crate) fn parse_funding(
    body: &[u8],
    req: &FetchRequest,
    page: u32,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<FundingEvent>, FetchError> {
    let items: Vec<FundingItem> = serde_json::from_slice(body)
        .map_err(|e| malformed(req, page, format!("fundingRate: not a funding rate array: {e}")))?;
    let mut out: Vec<FundingEvent> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = |what: String| malformed(req, page, format!("fundingRate item {i}: {what}"));
        if item.symbol != req.provider_symbol {
            return Err(bad(format!("symbol {:?} is not the one asked for", item.symbol)));
        }
        let rate = strict_number(&item.funding_rate)
            .ok_or_else(|| bad(format!("fundingRate {:?} is not a number", item.funding_rate)))?;
        let t = item.funding_time;
        next_in_range("fundingTime", t, out.last().map(|p| p.time_ms), from_ms, to_ms)
            .map_err(bad)?;
        out.push(FundingEvent { time_ms: t, rate });
    }
    Ok(out)
}

/// Open interest observations of `[start_ms, end_ms]` (plus one period before, so the first
/// bar has its observation), clipped to what Binance serves (the last 30 days before
/// `now_ms`), ascending. Asked for in windows of at most 500 periods, so each window is one
/// page whichever end Binance fills a page from.
async fn fetch_open_interest(
    c: &Connector,
    req: &FetchRequest,
    start_ms: i64,
    end_ms: i64,
    now_ms: i64,
    run: &mut Run,
) -> Result<Vec<OpenInterest>, FetchError> {
    let sym = req.provider_symbol.as_str();
    let (period, period_ms) = oi_period(req.timeframe);
    // Observations up to the close of the last bar; none older than Binance keeps (with a
    // period of margin, so a window never starts right at the edge of what it serves).
    let from = (start_ms - period_ms).max(now_ms - OI_HISTORY_MS + period_ms);
    let to = end_ms + bar_ms(req.timeframe);
    if from > start_ms - period_ms {
        let since = chrono::DateTime::from_timestamp_millis(from)
            .map_or_else(|| from.to_string(), |d| d.format("%Y-%m-%d %H:%M UTC").to_string());
        run.warn(format!(
            "binance futures keeps open interest for the last 30 days only: open_interest of \
             {sym} left null before {since}"
        ));
    }
    if from > to {
        return Ok(Vec::new());
    }
    let mut out: Vec<OpenInterest> = Vec::new();
    let window = OI_LIMIT * period_ms;
    let mut lo = from;
    let mut page = 0;
    while lo <= to {
        page += 1;
        if page > MAX_PAGES {
            return Err(pagination(req, format!("openInterestHist: more than {MAX_PAGES} pages")));
        }
        let hi = (lo + window - 1).min(to);
        let mut url = c.futures_endpoint(&["futures", "data", "openInterestHist"])?;
        url.query_pairs_mut()
            .append_pair("symbol", sym)
            .append_pair("period", period)
            .append_pair("limit", &OI_LIMIT.to_string())
            .append_pair("startTime", &lo.to_string())
            .append_pair("endTime", &hi.to_string());
        let response = c.get(&url, sym, run).await?;
        let items = parse_open_interest(&response.body, req, page, lo, hi)?;
        if out.last().zip(items.first()).is_some_and(|(p, n)| p.time_ms >= n.time_ms) {
            return Err(malformed(req, page, "openInterestHist: went back in time".into()));
        }
        out.extend(items);
        lo = hi + 1;
    }
    Ok(out)
}

/// One open interest page: strictly ascending observations inside `[from_ms, to_ms]`.
pub(crate) fn parse_open_interest(
    body: &[u8],
    req: &FetchRequest,
    page: u32,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<OpenInterest>, FetchError> {
    let items: Vec<OiItem> = serde_json::from_slice(body).map_err(|e| {
        malformed(req, page, format!("openInterestHist: not an open interest array: {e}"))
    })?;
    let mut out: Vec<OpenInterest> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = |what: String| malformed(req, page, format!("openInterestHist item {i}: {what}"));
        if item.symbol != req.provider_symbol {
            return Err(bad(format!("symbol {:?} is not the one asked for", item.symbol)));
        }
        let contracts =
            strict_number(&item.sum_open_interest).filter(|v| *v >= 0.0).ok_or_else(|| {
                bad(format!(
                    "sumOpenInterest {:?} is not a non-negative number",
                    item.sum_open_interest
                ))
            })?;
        if strict_number(&item.sum_open_interest_value).is_none() {
            return Err(bad(format!(
                "sumOpenInterestValue {:?} is not a number",
                item.sum_open_interest_value
            )));
        }
        let t = match &item.timestamp {
            Millis::Number(t) => Some(*t),
            Millis::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok()
            }
            Millis::Text(_) => None,
        }
        .ok_or_else(|| bad(format!("timestamp {:?} is not milliseconds", item.timestamp)))?;
        next_in_range("timestamp", t, out.last().map(|p| p.time_ms), from_ms, to_ms)
            .map_err(bad)?;
        out.push(OpenInterest { time_ms: t, contracts });
    }
    Ok(out)
}

/// Checks an item's time `t` (field `name`): inside `[from_ms, to_ms]` and after the previous
/// item's; the message says which rule it broke.
fn next_in_range(
    name: &str,
    t: i64,
    previous: Option<i64>,
    from_ms: i64,
    to_ms: i64,
) -> Result<(), String> {
    if !(from_ms..=to_ms).contains(&t) {
        return Err(format!("{name} {t} is outside the range asked for"));
    }
    if previous.is_some_and(|p| p >= t) {
        return Err(format!("{name} {t} is not after the previous item's"));
    }
    Ok(())
}

/// A decimal string as Binance writes it (`-0.03750000`, `20403.637`): optional sign,
/// digits, optional fraction; no spaces, exponents, `NaN` or `inf`.
fn strict_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    if !ok {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `batch` (bars of one symbol, ascending `datetime`) with `funding_rate` and `open_interest`
/// appended, by the rules of the module documentation.
pub(crate) fn attach(
    batch: &RecordBatch,
    funding: &[FundingEvent],
    oi: &[OpenInterest],
    bar_ms: i64,
    period_ms: i64,
) -> Result<RecordBatch, arrow::error::ArrowError> {
    let ts = batch
        .column(batch.schema().index_of("datetime")?)
        .as_primitive::<TimestampMicrosecondType>();
    let mut rates: Vec<Option<f64>> = Vec::with_capacity(ts.len());
    let mut interest: Vec<Option<f64>> = Vec::with_capacity(ts.len());
    // Both lists and the bars ascend: one forward pass each.
    let (mut f, mut o) = (0usize, 0usize);
    for i in 0..ts.len() {
        let open = ts.value(i).div_euclid(1000);
        let close = open + bar_ms;
        while f < funding.len() && funding[f].time_ms <= open {
            f += 1;
        }
        rates.push(
            f.checked_sub(1)
                .map(|k| funding[k])
                .filter(|e| open - e.time_ms < FUNDING_MAX_AGE_MS)
                .map(|e| e.rate),
        );
        while o < oi.len() && oi[o].time_ms <= close {
            o += 1;
        }
        interest.push(
            o.checked_sub(1)
                .map(|k| oi[k])
                .filter(|x| close - x.time_ms < period_ms)
                .map(|x| x.contracts),
        );
    }
    let mut fields: Vec<Field> =
        batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(FUNDING_RATE_COLUMN, DataType::Float64, true));
    fields.push(Field::new(OPEN_INTEREST_COLUMN, DataType::Float64, true));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(Float64Array::from(rates)));
    columns.push(Arc::new(Float64Array::from(interest)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// `batch` without the futures columns (for a destination that does not store them).
pub fn without_futures(batch: &RecordBatch) -> RecordBatch {
    let schema = batch.schema();
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| {
            let name = schema.field(i).name();
            name != FUNDING_RATE_COLUMN && name != OPEN_INTEREST_COLUMN
        })
        .collect();
    if keep.len() == schema.fields().len() {
        return batch.clone();
    }
    // Projecting existing columns cannot fail.
    batch.project(&keep).unwrap_or_else(|_| batch.clone())
}

/// Whether `batch` carries any non-null futures value (tests, reports).
pub fn has_futures_values(batch: &RecordBatch) -> bool {
    [FUNDING_RATE_COLUMN, OPEN_INTEREST_COLUMN]
        .iter()
        .any(|name| batch.column_by_name(name).is_some_and(|c| c.null_count() < c.len()))
}

#[cfg(test)]
mod tests {
    use arrow::array::{StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::Float64Type;

    use super::*;

    const FUNDING: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/api-samples/binance/futures_funding_rate.json"
    ));
    const OPEN_INTEREST: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/api-samples/binance/futures_open_interest_hist.json"
    ));

    fn req() -> FetchRequest {
        let d = "2019-10-09".parse().unwrap();
        FetchRequest::new("BTC", "BTCUSDT", Timeframe::Minute1, d, d)
    }

    #[test]
    fn the_docs_examples_parse() {
        let events = parse_funding(FUNDING, &req(), 1, 0, i64::MAX).unwrap();
        assert_eq!(
            events,
            vec![
                FundingEvent { time_ms: 1_570_608_000_000, rate: -0.0375 },
                FundingEvent { time_ms: 1_570_636_800_000, rate: 0.0001 },
            ]
        );
        // The docs write `timestamp` as a string; the live API sends a number.
        let oi = parse_open_interest(OPEN_INTEREST, &req(), 1, 0, i64::MAX).unwrap();
        assert_eq!(
            oi,
            vec![
                OpenInterest { time_ms: 1_583_127_900_000, contracts: 20403.637 },
                OpenInterest { time_ms: 1_583_128_200_000, contracts: 20401.367 },
            ]
        );
        let live = br#"[{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":"150570784.07809979","timestamp":1583127900000}]"#;
        assert_eq!(parse_open_interest(live, &req(), 1, 0, i64::MAX).unwrap()[0], oi[0]);
        assert!(parse_funding(b"[]", &req(), 1, 0, 1).unwrap().is_empty());
    }

    #[test]
    fn malformed_answers_name_provider_symbol_and_problem() {
        let r = req();
        let err = |body: &[u8]| parse_funding(body, &r, 3, 0, i64::MAX).unwrap_err().to_string();
        let e = err(&FUNDING[..FUNDING.len() / 2]);
        assert!(e.contains("binance BTCUSDT") && e.contains("page 3") && e.contains("EOF"), "{e}");
        let e = err(br#"[{"symbol":"BTCUSDT","fundingTime":1,"fundingRate":"1e-4"}]"#);
        assert!(e.contains("\"1e-4\" is not a number"), "{e}");
        for bad in ["", " 0.1", "NaN", "inf", "0.", ".5", "--1", "0x10"] {
            assert_eq!(strict_number(bad), None, "{bad:?}");
        }
        assert_eq!(strict_number("-0.03750000"), Some(-0.0375));
        let e = err(br#"[{"symbol":"ETHUSDT","fundingTime":1,"fundingRate":"0.1"}]"#);
        assert!(e.contains("ETHUSDT"), "{e}");
        let e = err(br#"[{"symbol":"BTCUSDT","fundingTime":5,"fundingRate":"0.1"},{"symbol":"BTCUSDT","fundingTime":5,"fundingRate":"0.1"}]"#);
        assert!(e.contains("not after"), "{e}");
        let e = err(br#"[{"symbol":"BTCUSDT","fundingRate":"0.1"}]"#);
        assert!(e.contains("fundingTime"), "{e}");
        let e = parse_funding(FUNDING, &r, 1, 1_570_636_800_001, i64::MAX).unwrap_err().to_string();
        assert!(e.contains("outside the range"), "{e}");

        let oi =
            |body: &[u8]| parse_open_interest(body, &r, 1, 0, i64::MAX).unwrap_err().to_string();
        let e = oi(&OPEN_INTEREST[..OPEN_INTEREST.len() - 3]);
        assert!(e.contains("binance BTCUSDT") && e.contains("openInterestHist"), "{e}");
        let e = oi(br#"[{"symbol":"BTCUSDT","sumOpenInterest":"-1","sumOpenInterestValue":"1","timestamp":1}]"#);
        assert!(e.contains("sumOpenInterest"), "{e}");
        let e = oi(br#"[{"symbol":"BTCUSDT","sumOpenInterest":"1","sumOpenInterestValue":"x","timestamp":1}]"#);
        assert!(e.contains("sumOpenInterestValue"), "{e}");
        let e = oi(br#"[{"symbol":"BTCUSDT","sumOpenInterest":"1","sumOpenInterestValue":"1","timestamp":"12a"}]"#);
        assert!(e.contains("timestamp"), "{e}");
    }

    fn bars(opens_ms: &[i64]) -> RecordBatch {
        let n = opens_ms.len();
        let ts = TimestampMicrosecondArray::from_iter_values(opens_ms.iter().map(|t| t * 1000))
            .with_timezone("UTC");
        let ones = Arc::new(Float64Array::from(vec![1.0; n])) as ArrayRef;
        RecordBatch::try_new(
            crate::bar_schema(),
            vec![
                Arc::new(StringArray::from(vec!["BTC"; n])),
                Arc::new(ts),
                ones.clone(),
                ones.clone(),
                ones.clone(),
                ones.clone(),
                ones,
            ],
        )
        .unwrap()
    }

    fn values(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
        batch.column_by_name(name).unwrap().as_primitive::<Float64Type>().iter().collect()
    }

    #[test]
    fn funding_is_the_latest_event_at_or_before_the_open_within_a_day() {
        const H: i64 = 3_600_000;
        let funding = [
            FundingEvent { time_ms: 8 * H, rate: 0.1 },
            FundingEvent { time_ms: 16 * H, rate: 0.2 },
        ];
        // Hourly bars: before the first event, at it, between, at the second, a day later.
        let b = bars(&[7 * H, 8 * H, 15 * H, 16 * H, 39 * H, 40 * H]);
        let out = attach(&b, &funding, &[], H, H).unwrap();
        assert_eq!(
            values(&out, FUNDING_RATE_COLUMN),
            [None, Some(0.1), Some(0.1), Some(0.2), Some(0.2), None]
        );
        assert_eq!(values(&out, OPEN_INTEREST_COLUMN), [None; 6]);
        assert_eq!(out.num_columns(), 9);
        assert!(has_futures_values(&out));
        assert_eq!(without_futures(&out).schema(), crate::bar_schema());
        assert!(!has_futures_values(&without_futures(&out)));
    }

    #[test]
    fn open_interest_is_the_latest_observation_of_the_period_ending_at_the_close() {
        const M: i64 = 60_000;
        let oi = [
            OpenInterest { time_ms: 5 * M, contracts: 10.0 },
            OpenInterest { time_ms: 10 * M, contracts: 20.0 },
        ];
        // 1-minute bars, 5-minute statistics: bar 3 closes at 4 (nothing yet), bar 4 at 5.
        let b = bars(&[3 * M, 4 * M, 8 * M, 9 * M, 13 * M, 14 * M]);
        let out = attach(&b, &[], &oi, M, 5 * M).unwrap();
        assert_eq!(
            values(&out, OPEN_INTEREST_COLUMN),
            [None, Some(10.0), Some(10.0), Some(20.0), Some(20.0), None]
        );
    }

    #[test]
    fn periods_follow_the_bar_length() {
        assert_eq!(oi_period(Timeframe::Minute1), ("5m", 300_000));
        assert_eq!(oi_period(Timeframe::Hour1), ("1h", 3_600_000));
        assert_eq!(oi_period(Timeframe::Day1), ("1d", 86_400_000));
    }
}
