//! Polygon.io aggregates v2: `/v2/aggs/ticker/{ticker}/range/{mult}/{span}/{from}/{to}`, with
//! `next_url` cursor pagination.
//!
//! Wire format: `{"ticker","queryCount","resultsCount","adjusted","results":[{"v","vw","o",
//! "c","h","l","t","n"}],"status","request_id","next_url"?}`; `t` is the bar start in ms. Daily
//! bars of stocks start at New York midnight, those of `X:` (crypto) and `C:` (forex) tickers
//! at UTC midnight. `status` is `OK` or `DELAYED` (data behind real time, still valid).

use std::collections::HashSet;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::provider::bars::{Extras, RawBar};
use crate::provider::connector::{Connector, Run};
use crate::provider::error::FetchError;
use crate::provider::request::{FetchRequest, ProviderKind, Timeframe};
use crate::provider::session::session_date_micros;

/// Polygon's largest page.
const LIMIT: &str = "50000";
/// More pages than any real range needs: a loop, not data.
const MAX_PAGES: u32 = 10_000;

const KIND: ProviderKind = ProviderKind::Polygon;

#[derive(Debug, Deserialize)]
struct Page {
    status: Option<String>,
    #[serde(rename = "resultsCount")]
    results_count: Option<u64>,
    results: Option<Vec<Agg>>,
    next_url: Option<String>,
    error: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Agg {
    t: i64,
    o: Option<f64>,
    h: Option<f64>,
    l: Option<f64>,
    c: Option<f64>,
    v: Option<f64>,
    vw: Option<f64>,
    n: Option<f64>,
}

pub(crate) async fn fetch(
    c: &Connector,
    req: &FetchRequest,
    run: &mut Run,
) -> Result<(), FetchError> {
    c.api_key()?;
    let sym = req.provider_symbol.as_str();
    let mut url = c.endpoint(&first_path(req).iter().map(String::as_str).collect::<Vec<_>>());
    url.query_pairs_mut()
        .append_pair("adjusted", if req.adjusted { "true" } else { "false" })
        .append_pair("sort", "asc")
        .append_pair("limit", LIMIT);
    let zone = daily_zone(sym);
    let mut seen = HashSet::new();
    loop {
        if !seen.insert(url.to_string()) {
            return Err(FetchError::Pagination {
                provider: KIND,
                symbol: sym.to_owned(),
                detail: format!("next_url repeats {}", url.path()),
            });
        }
        if run.pages >= MAX_PAGES {
            return Err(FetchError::Pagination {
                provider: KIND,
                symbol: sym.to_owned(),
                detail: format!("more than {MAX_PAGES} pages"),
            });
        }
        let response = c.get(&url, sym, run).await?;
        run.pages += 1;
        match parse_page(&response.body, req, run.pages, zone, run)? {
            Some(next) => url = c.rebase(&next, sym, run.pages)?,
            None => return Ok(()),
        }
    }
}

/// Path segments of the first page. Daily ranges are dates; intraday ranges are ms instants so
/// that the UTC range is exact whatever zone Polygon reads dates in.
fn first_path(req: &FetchRequest) -> Vec<String> {
    let span = match req.timeframe {
        Timeframe::Day1 => "day",
        Timeframe::Hour1 => "hour",
        Timeframe::Minute1 => "minute",
    };
    let (from, to) = if req.timeframe.is_daily() {
        (req.start.to_string(), req.end.to_string())
    } else {
        (
            (req.start_micros() / 1000).to_string(),
            (req.end_exclusive_micros() / 1000 - 1).to_string(),
        )
    };
    ["v2", "aggs", "ticker", &req.provider_symbol, "range", "1", span, &from, &to]
        .map(str::to_owned)
        .to_vec()
}

/// The zone whose midnight starts Polygon's daily bars for `ticker`.
fn daily_zone(ticker: &str) -> Tz {
    if ticker.starts_with("X:") || ticker.starts_with("C:") {
        Tz::UTC
    } else {
        chrono_tz::America::New_York
    }
}

/// Parses one page into `run`; returns the next page's link.
fn parse_page(
    body: &[u8],
    req: &FetchRequest,
    page: u32,
    zone: Tz,
    run: &mut Run,
) -> Result<Option<String>, FetchError> {
    let malformed = |detail: String| FetchError::Malformed {
        provider: KIND,
        symbol: req.provider_symbol.clone(),
        page,
        detail,
    };
    let p: Page = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("not an aggregates answer: {e}")))?;
    match p.status.as_deref() {
        Some("OK") => {}
        Some("DELAYED") => run.vendor_status = Some("DELAYED".to_owned()),
        Some(other) => {
            return Err(FetchError::Vendor {
                provider: KIND,
                symbol: req.provider_symbol.clone(),
                status: 200,
                code: Some(other.to_owned()),
                message: p.error.or(p.message).unwrap_or_else(|| "(no message)".to_owned()),
            });
        }
        None => return Err(malformed("no \"status\" field".to_owned())),
    }
    let results = p.results.unwrap_or_default();
    if let Some(count) = p.results_count
        && count != results.len() as u64
    {
        return Err(malformed(format!(
            "resultsCount is {count} but {} results were sent",
            results.len()
        )));
    }
    for (i, a) in results.iter().enumerate() {
        let start = a.t.checked_mul(1000);
        let datetime = match (start, req.timeframe.is_daily()) {
            (Some(t), true) => session_date_micros(t, zone),
            (t, false) => t,
            (None, true) => None,
        };
        let Some(datetime) = datetime else {
            run.collected.reject(page, i, None, format!("t = {} is not a valid time", a.t));
            continue;
        };
        let trade_count = a.n.filter(|n| *n >= 0.0 && n.fract() == 0.0).map(|n| n as u64);
        run.collected.push(
            page,
            i,
            RawBar {
                datetime,
                ohlcv: [a.o, a.h, a.l, a.c, a.v],
                extras: Extras { trade_count, vwap: a.vw, ..Extras::default() },
                closes_at: None,
            },
        );
    }
    Ok(p.next_url.filter(|u| !u.trim().is_empty()))
}

/// Polygon's error shape: `{"status":"ERROR"|"NOT_AUTHORIZED"|"NOT_FOUND","error"|"message":..}`.
pub(crate) fn error_for(status: u16, body: &[u8], symbol: &str) -> Option<FetchError> {
    let p: Page = serde_json::from_slice(body).ok()?;
    let message = p.error.or(p.message)?;
    Some(FetchError::Vendor {
        provider: KIND,
        symbol: symbol.to_owned(),
        status,
        code: p.status,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(tf: Timeframe, start: &str, end: &str) -> FetchRequest {
        FetchRequest::new("AAPL", "AAPL", tf, start.parse().unwrap(), end.parse().unwrap())
    }

    #[test]
    fn paths_use_dates_for_days_and_instants_intraday() {
        let d = first_path(&req(Timeframe::Day1, "2005-04-01", "2005-04-04")).join("/");
        assert_eq!(d, "v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04");
        let h = first_path(&req(Timeframe::Hour1, "2024-04-29", "2024-04-29")).join("/");
        assert_eq!(h, "v2/aggs/ticker/AAPL/range/1/hour/1714348800000/1714435199999");
        assert_eq!(daily_zone("X:BTCUSD"), Tz::UTC);
    }

    #[test]
    fn error_bodies_are_read() {
        let e = error_for(
            401,
            br#"{"status":"ERROR","request_id":"x","error":"Unknown API Key"}"#,
            "AAPL",
        )
        .unwrap()
        .to_string();
        assert!(
            e.contains("HTTP 401") && e.contains("ERROR") && e.contains("Unknown API Key"),
            "{e}"
        );
        assert!(error_for(500, b"<html>", "AAPL").is_none());
    }

    #[test]
    fn status_and_counts_are_checked() {
        let r = req(Timeframe::Day1, "2020-01-01", "2020-01-10");
        let mut run = Run::for_test(&r, i64::MAX);
        let err = parse_page(br#"{"status":"ERROR","error":"bad"}"#, &r, 1, Tz::UTC, &mut run)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad"), "{err}");
        let err = parse_page(br#"{"resultsCount":0}"#, &r, 1, Tz::UTC, &mut run).unwrap_err();
        assert!(err.to_string().contains("status"), "{err}");
        let err = parse_page(
            br#"{"status":"OK","resultsCount":2,"results":[{"t":1577941200000,"o":1,"h":1,"l":1,"c":1,"v":1}]}"#,
            &r,
            3,
            Tz::UTC,
            &mut run,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("resultsCount is 2 but 1") && err.contains("page 3"), "{err}");
        let next =
            parse_page(br#"{"status":"OK","resultsCount":0}"#, &r, 1, Tz::UTC, &mut run).unwrap();
        assert_eq!(next, None);
        assert_eq!(run.collected.len(), 0);
    }
}
