//! Twelve Data `time_series`: `GET /time_series?symbol=&interval=&start_date=&end_date=&outputsize=`.
//!
//! Wire format: `{"meta":{"symbol","interval","exchange_timezone",..},"values":[{"datetime":
//! "2023-08-24 11:09:00","open":"177.91010",..,"volume":"293189"}],"status":"ok"}`: every number
//! is a string, values come newest first, and datetimes are exchange-local without an offset
//! (dates alone for daily bars). Errors come as `{"code":400,"message":..,"status":"error"}`,
//! often inside an HTTP 200; code 429 there means "out of API credits" and is retried.

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::provider::bars::{OHLCV, RawBar};
use crate::provider::connector::{Connector, Run};
use crate::provider::error::FetchError;
use crate::provider::request::{FetchRequest, ProviderKind, Timeframe, date_micros};
use crate::provider::session::{local_to_utc_micros, zone};

/// Twelve Data's largest page; a full page means older values may remain.
const OUTPUTSIZE: usize = 5000;
/// More pages than any real range needs.
const MAX_PAGES: u32 = 1000;
const KIND: ProviderKind = ProviderKind::TwelveData;

#[derive(Debug, Deserialize)]
struct Answer {
    status: Option<String>,
    code: Option<i64>,
    message: Option<String>,
    meta: Option<Meta>,
    values: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    exchange_timezone: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Value {
    datetime: String,
    open: Option<String>,
    high: Option<String>,
    low: Option<String>,
    close: Option<String>,
    volume: Option<String>,
}

pub(crate) async fn fetch(
    c: &Connector,
    req: &FetchRequest,
    run: &mut Run,
) -> Result<(), FetchError> {
    c.api_key()?;
    let sym = req.provider_symbol.as_str();
    let interval = match req.timeframe {
        Timeframe::Day1 => "1day",
        Timeframe::Hour1 => "1h",
        Timeframe::Minute1 => "1min",
    };
    // Dates are read in the exchange's zone: ask for a day more on each side and let the
    // collector drop what falls outside the UTC range.
    let start = req.start.pred_opt().unwrap_or(req.start).to_string();
    let mut end = req.end.succ_opt().unwrap_or(req.end).format("%Y-%m-%d 23:59:59").to_string();
    loop {
        let mut url = c.endpoint(&["time_series"]);
        url.query_pairs_mut()
            .append_pair("symbol", sym)
            .append_pair("interval", interval)
            .append_pair("start_date", &start)
            .append_pair("end_date", &end)
            .append_pair("outputsize", &OUTPUTSIZE.to_string())
            .append_pair("format", "JSON");
        let response = c.get(&url, sym, run).await?;
        run.pages += 1;
        let oldest = parse(&response.body, req, run.pages, run)?;
        match earlier_end(oldest, req.timeframe.is_daily(), &end) {
            Ok(Some(earlier)) if run.pages < MAX_PAGES => end = earlier,
            Ok(None) => return Ok(()),
            Ok(Some(_)) | Err(_) => {
                return Err(FetchError::Pagination {
                    provider: KIND,
                    symbol: sym.to_owned(),
                    detail: format!("page {} did not move end_date back from {end}", run.pages),
                });
            }
        }
    }
}

/// The `end_date` of the page before one holding (values, oldest local datetime): a full page
/// is the newest OUTPUTSIZE values of the range, so older ones end just before its oldest.
/// `Err` when that would not move the end back (a loop).
fn earlier_end(
    page: Option<(usize, NaiveDateTime)>,
    daily: bool,
    end: &str,
) -> Result<Option<String>, ()> {
    let Some((_, oldest)) = page.filter(|(count, _)| *count >= OUTPUTSIZE) else {
        return Ok(None);
    };
    let earlier = if daily {
        (oldest.date() - chrono::Days::new(1)).format("%Y-%m-%d 23:59:59")
    } else {
        (oldest - chrono::TimeDelta::seconds(1)).format("%Y-%m-%d %H:%M:%S")
    }
    .to_string();
    if earlier.as_str() >= end { Err(()) } else { Ok(Some(earlier)) }
}

/// Parses one answer into `run`; returns (values on the page, oldest local datetime).
fn parse(
    body: &[u8],
    req: &FetchRequest,
    page: u32,
    run: &mut Run,
) -> Result<Option<(usize, NaiveDateTime)>, FetchError> {
    let sym = &req.provider_symbol;
    let malformed = |detail: String| FetchError::Malformed {
        provider: KIND,
        symbol: sym.clone(),
        page,
        detail,
    };
    let a: Answer = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not a time_series answer: {e}")))?;
    if a.status.as_deref() == Some("error") {
        let message = a.message.unwrap_or_default();
        // Twelve Data answers an empty range with an error; it is an empty result.
        if message.starts_with("No data is available") {
            return Ok(None);
        }
        return Err(status_error(200, a.code, message, sym));
    }
    if let Some(s) = a.status.as_deref().filter(|s| *s != "ok") {
        return Err(malformed(format!("unknown status {s:?}")));
    }
    let values = a.values.ok_or_else(|| malformed("no \"values\" array".into()))?;
    let tz_name = a.meta.and_then(|m| m.exchange_timezone);
    let tz = match tz_name.as_deref() {
        Some(name) => {
            zone(name).ok_or_else(|| malformed(format!("unknown exchange_timezone {name:?}")))?
        }
        None => {
            run.warn("the answer has no meta.exchange_timezone; datetimes read as UTC".into());
            Tz::UTC
        }
    };
    let mut oldest: Option<NaiveDateTime> = None;
    let mut volume_absent = false;
    for (i, v) in values.iter().enumerate() {
        let local = parse_datetime(&v.datetime, req.timeframe).ok_or_else(|| {
            malformed(format!("value {i}: datetime {:?} is not a date/time", v.datetime))
        })?;
        oldest = Some(oldest.map_or(local, |o| o.min(local)));
        let datetime = if req.timeframe.is_daily() {
            Some(date_micros(local.date()))
        } else {
            local_to_utc_micros(local, tz)
        };
        let Some(datetime) = datetime else {
            run.collected.reject(
                page,
                i,
                None,
                format!("{} does not exist in {tz} (clock change)", v.datetime),
            );
            continue;
        };
        let mut ohlcv = [None; 5];
        for (k, text) in [&v.open, &v.high, &v.low, &v.close, &v.volume].into_iter().enumerate() {
            ohlcv[k] = match text {
                Some(s) => Some(s.trim().parse::<f64>().map_err(|_| {
                    malformed(format!(
                        "value {i} ({}): {} {s:?} is not a number",
                        v.datetime, OHLCV[k]
                    ))
                })?),
                // Forex and computed cross rates carry no volume at all.
                None if k == 4 => {
                    volume_absent = true;
                    Some(0.0)
                }
                None => None,
            };
        }
        run.collected.push(
            page,
            i,
            RawBar { datetime, ohlcv, extras: Default::default(), closes_at: None },
        );
    }
    if volume_absent {
        run.warn("the vendor sent no volume for some bars; it is stored as 0".into());
    }
    Ok(oldest.map(|o| (values.len(), o)))
}

/// `YYYY-MM-DD HH:MM:SS` (intraday) or `YYYY-MM-DD` (daily, read as local midnight).
fn parse_datetime(text: &str, tf: Timeframe) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Some(t);
    }
    if tf.is_daily() || text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(chrono::NaiveTime::MIN));
    }
    None
}

fn status_error(status: u16, code: Option<i64>, message: String, symbol: &str) -> FetchError {
    if code == Some(400) && message.contains("not found") {
        FetchError::UnknownSymbol { provider: KIND, symbol: symbol.to_owned(), message }
    } else {
        FetchError::Vendor {
            provider: KIND,
            symbol: symbol.to_owned(),
            status,
            code: code.map(|c| c.to_string()),
            message,
        }
    }
}

/// The "out of API credits" answer Twelve Data sends with HTTP 200.
pub(crate) fn body_rate_limited(body: &[u8]) -> Option<String> {
    let a: Answer = serde_json::from_slice(body).ok()?;
    (a.status.as_deref() == Some("error") && a.code == Some(429))
        .then(|| format!("rate limited (code 429): {}", a.message.unwrap_or_default()))
}

/// Twelve Data's error shape `{"code":..,"message":..,"status":"error"}`.
pub(crate) fn error_for(status: u16, body: &[u8], symbol: &str) -> Option<FetchError> {
    let a: Answer = serde_json::from_slice(body).ok()?;
    (a.status.as_deref() == Some("error"))
        .then(|| status_error(status, a.code, a.message.unwrap_or_default(), symbol))
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, TimestampMicrosecondType};

    use super::*;

    macro_rules! sample {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../testdata/api-samples/twelvedata/",
                $name
            ))
        };
    }

    fn req(sym: &str, tf: Timeframe, start: &str, end: &str) -> FetchRequest {
        FetchRequest::new(sym, sym, tf, start.parse().unwrap(), end.parse().unwrap())
    }

    #[test]
    fn strings_newest_first_local_times() {
        let r = req("AAPL", Timeframe::Minute1, "2023-08-24", "2023-08-24");
        let mut run = Run::for_test(&r, i64::MAX);
        let oldest =
            parse(sample!("time_series_AAPL_1min_2023-08-24.json"), &r, 1, &mut run).unwrap();
        assert_eq!(oldest.unwrap().0, 30);
        assert_eq!(oldest.unwrap().1.to_string(), "2023-08-24 10:40:00");
        let (batch, ..) = run.collected.finish("AAPL").unwrap();
        assert_eq!(batch.num_rows(), 30);
        let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        // Oldest first after sorting; 10:40 EDT = 14:40 UTC.
        assert_eq!(ts.value(0), 1_692_888_000_000_000);
        assert_eq!(ts.value(29), 1_692_889_740_000_000);
        assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(29), 177.9101);
        assert_eq!(batch.column(6).as_primitive::<Float64Type>().value(29), 293189.0);
    }

    #[test]
    fn full_pages_ask_for_older_values() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let end = "2023-08-25 23:59:59";
        assert_eq!(
            earlier_end(Some((OUTPUTSIZE, t("2023-08-24 10:40:00"))), false, end),
            Ok(Some("2023-08-24 10:39:59".to_owned()))
        );
        assert_eq!(
            earlier_end(Some((OUTPUTSIZE, t("2023-08-24 00:00:00"))), true, end),
            Ok(Some("2023-08-23 23:59:59".to_owned()))
        );
        assert_eq!(earlier_end(Some((30, t("2023-08-24 10:40:00"))), false, end), Ok(None));
        assert_eq!(earlier_end(None, false, end), Ok(None));
        assert_eq!(earlier_end(Some((OUTPUTSIZE, t("2023-08-26 10:00:00"))), false, end), Err(()));
    }

    #[test]
    fn the_docs_example_and_cross_rates_without_volume() {
        let r = req("AAPL", Timeframe::Minute1, "2021-09-16", "2021-09-16");
        let mut run = Run::for_test(&r, i64::MAX);
        parse(sample!("time_series.json"), &r, 1, &mut run).unwrap();
        assert_eq!(run.collected.len(), 1);

        let r = req("JPY/BTC", Timeframe::Minute1, "2025-08-07", "2025-08-07");
        let mut run = Run::for_test(&r, i64::MAX);
        parse(sample!("time_series_cross.json"), &r, 1, &mut run).unwrap();
        assert!(run.collected.len() > 0);
        assert_eq!(run.warnings.len(), 2, "{:?}", run.warnings);
        let (batch, ..) = run.collected.finish("JPYBTC").unwrap();
        // Cross rates are computed: high below open in many rows, stored as sent (flagged later).
        assert!(batch.column(6).as_primitive::<Float64Type>().values().iter().all(|v| *v == 0.0));
    }

    #[test]
    fn errors_and_empty_ranges() {
        let r = req("INVALID", Timeframe::Day1, "2024-11-22", "2024-11-22");
        let body = sample!("batch_error.json");
        let batch: serde_json::Value = serde_json::from_slice(body).unwrap();
        let invalid = serde_json::to_vec(&batch["INVALID"]).unwrap();
        let err = parse(&invalid, &r, 1, &mut Run::for_test(&r, i64::MAX)).unwrap_err();
        assert!(matches!(err, FetchError::UnknownSymbol { .. }), "{err}");
        let ok = serde_json::to_vec(&batch["AAPL"]).unwrap();
        let r = req("AAPL", Timeframe::Day1, "2024-11-22", "2024-11-22");
        let mut run = Run::for_test(&r, i64::MAX);
        parse(&ok, &r, 1, &mut run).unwrap();
        assert_eq!(run.collected.len(), 1);

        let empty = br#"{"code":400,"message":"No data is available on the specified dates. Try setting different start/end dates.","status":"error"}"#;
        assert_eq!(parse(empty, &r, 1, &mut run).unwrap(), None);
        let credits = br#"{"code":429,"message":"You have run out of API credits for the current minute.","status":"error"}"#;
        assert!(body_rate_limited(credits).unwrap().contains("run out of API credits"));
        assert!(body_rate_limited(empty).is_none());
        let bad_number = br#"{"meta":{"exchange_timezone":"UTC"},"values":[{"datetime":"2024-11-22","open":"1.0","high":"x","low":"1","close":"1","volume":"1"}],"status":"ok"}"#;
        let err = parse(bad_number, &r, 1, &mut run).unwrap_err().to_string();
        assert!(err.contains("twelvedata AAPL") && err.contains("high \"x\""), "{err}");
        let bad_date =
            br#"{"meta":{},"values":[{"datetime":"22/11/2024","open":"1"}],"status":"ok"}"#;
        assert!(parse(bad_date, &r, 1, &mut run).unwrap_err().to_string().contains("22/11/2024"));
    }
}
