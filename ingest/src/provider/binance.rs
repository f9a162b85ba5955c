//! Binance spot klines: `GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=`.
//!
//! Wire format: an array of arrays `[openTime (ms), "open", "high", "low", "close", "volume",
//! closeTime (ms, last ms of the bar), "quoteVolume", trades, "takerBuyBase", "takerBuyQuote",
//! "0"]`, prices and volumes as decimal strings. The last kline of a range reaching "now" is
//! still open: it is held back as incomplete, never returned as final. Errors:
//! `{"code":-1121,"msg":"Invalid symbol."}`.

use serde::Deserialize;
use serde_json::Value;

use crate::provider::bars::{Extras, RawBar};
use crate::provider::connector::{Connector, Run};
use crate::provider::error::FetchError;
use crate::provider::request::{FetchRequest, ProviderKind, Timeframe};

/// Binance's largest page.
const LIMIT: usize = 1000;
const KIND: ProviderKind = ProviderKind::Binance;

/// One kline as sent (the 12th field is unused and ignored).
#[derive(Debug, Deserialize)]
struct Kline(
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    u64,
    String,
    String,
    #[allow(dead_code)] Value,
);

#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: i64,
    msg: String,
}

pub(crate) async fn fetch(
    c: &Connector,
    req: &FetchRequest,
    run: &mut Run,
) -> Result<(), FetchError> {
    let sym = req.provider_symbol.as_str();
    let interval = match req.timeframe {
        Timeframe::Day1 => "1d",
        Timeframe::Hour1 => "1h",
        Timeframe::Minute1 => "1m",
    };
    let end_ms = req.end_exclusive_micros() / 1000 - 1;
    let mut start_ms = req.start_micros() / 1000;
    loop {
        let mut url = c.endpoint(&["api", "v3", "klines"]);
        url.query_pairs_mut()
            .append_pair("symbol", sym)
            .append_pair("interval", interval)
            .append_pair("startTime", &start_ms.to_string())
            .append_pair("endTime", &end_ms.to_string())
            .append_pair("limit", &LIMIT.to_string());
        let response = c.get(&url, sym, run).await?;
        run.pages += 1;
        let last_open = parse_page(&response.body, req, run.pages, run)?;
        match next_start(last_open, start_ms, end_ms) {
            Ok(Some(next)) => start_ms = next,
            Ok(None) => return Ok(()),
            Err(detail) => {
                return Err(FetchError::Pagination {
                    provider: KIND,
                    symbol: sym.to_owned(),
                    detail: format!("page {}: {detail}", run.pages),
                });
            }
        }
    }
}

/// Where the page after one holding (klines, last open time) starts: a full page may have
/// more behind it, starting after its last kline; a short page ends the range.
fn next_start(
    page: Option<(usize, i64)>,
    start_ms: i64,
    end_ms: i64,
) -> Result<Option<i64>, String> {
    match page {
        Some((count, last)) if count == LIMIT && last < end_ms => {
            if last < start_ms {
                return Err(format!("went back in time (startTime {start_ms}, last kline {last})"));
            }
            Ok(Some(last + 1))
        }
        _ => Ok(None),
    }
}

/// Parses one page into `run`; returns (klines on the page, last open time in ms).
fn parse_page(
    body: &[u8],
    req: &FetchRequest,
    page: u32,
    run: &mut Run,
) -> Result<Option<(usize, i64)>, FetchError> {
    let malformed = |detail: String| FetchError::Malformed {
        provider: KIND,
        symbol: req.provider_symbol.clone(),
        page,
        detail,
    };
    let klines: Vec<Kline> =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not a klines array: {e}")))?;
    for (i, k) in klines.iter().enumerate() {
        let num = |s: &str, what: &str| -> Result<f64, FetchError> {
            s.trim().parse::<f64>().map_err(|_| {
                malformed(format!("kline {i} (open time {}): {what} {s:?} is not a number", k.0))
            })
        };
        let ohlcv = [
            Some(num(&k.1, "open")?),
            Some(num(&k.2, "high")?),
            Some(num(&k.3, "low")?),
            Some(num(&k.4, "close")?),
            Some(num(&k.5, "volume")?),
        ];
        let extras = Extras {
            trade_count: Some(k.8),
            quote_volume: Some(num(&k.7, "quote volume")?),
            taker_buy_base_volume: Some(num(&k.9, "taker buy base volume")?),
            taker_buy_quote_volume: Some(num(&k.10, "taker buy quote volume")?),
            ..Extras::default()
        };
        let (Some(open), Some(close_end)) =
            (k.0.checked_mul(1000), k.6.checked_add(1).and_then(|t| t.checked_mul(1000)))
        else {
            run.collected.reject(page, i, None, format!("open time {} is not a valid time", k.0));
            continue;
        };
        if close_end <= open {
            return Err(malformed(format!(
                "kline {i}: close time {} is before open time {}",
                k.6, k.0
            )));
        }
        run.collected.push(
            page,
            i,
            RawBar { datetime: open, ohlcv, extras, closes_at: Some(close_end) },
        );
    }
    Ok(klines.last().map(|k| (klines.len(), k.0)))
}

/// Binance's error shape `{"code":-1121,"msg":"Invalid symbol."}`.
pub(crate) fn error_for(status: u16, body: &[u8], symbol: &str) -> Option<FetchError> {
    let e: ErrorBody = serde_json::from_slice(body).ok()?;
    Some(if e.code == -1121 {
        FetchError::UnknownSymbol { provider: KIND, symbol: symbol.to_owned(), message: e.msg }
    } else {
        FetchError::Vendor {
            provider: KIND,
            symbol: symbol.to_owned(),
            status,
            code: Some(e.code.to_string()),
            message: e.msg,
        }
    })
}

#[cfg(test)]
mod tests {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, TimestampMicrosecondType, UInt64Type};

    use super::*;

    const SPOT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/api-samples/binance/http_spot_market_klines.json"
    ));
    const DOCS: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/api-samples/binance/klines_response.json"
    ));

    fn req(tf: Timeframe, start: &str, end: &str) -> FetchRequest {
        FetchRequest::new("BTC", "BTCUSDT", tf, start.parse().unwrap(), end.parse().unwrap())
    }

    #[test]
    fn the_still_open_last_kline_is_held_back() {
        let r = req(Timeframe::Minute1, "2021-10-22", "2021-10-22");
        // "Now" is 2021-10-22 23:12:30 UTC: the 23:12 kline closes at 23:13.
        let now = 1_634_944_350_000_000;
        let mut run = Run::for_test(&r, now);
        assert_eq!(parse_page(SPOT, &r, 1, &mut run).unwrap(), Some((10, 1_634_944_320_000)));
        let (batch, extras, rejects, incomplete) = run.collected.finish("BTC").unwrap();
        assert_eq!(batch.num_rows(), 9);
        assert!(rejects.is_empty());
        assert_eq!(incomplete.len(), 1);
        assert_eq!(incomplete[0].datetime, 1_634_944_320_000_000);
        assert_eq!(incomplete[0].closes_at, 1_634_944_380_000_000);
        let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(ts.value(0), 1_634_943_780_000_000);
        assert_eq!(batch.column(2).as_primitive::<Float64Type>().value(0), 60685.22);
        assert_eq!(batch.column(6).as_primitive::<Float64Type>().value(0), 21.63272);
        assert_eq!(extras.column(0).as_primitive::<UInt64Type>().value(0), 617);
        assert_eq!(extras.column(3).as_primitive::<Float64Type>().value(0), 12.28492);
        assert_eq!(extras.column(4).as_primitive::<Float64Type>().value(0), 745719.4102284);
        assert!(extras.column(1).is_null(0), "Binance sends no vwap");

        // Once it has closed, the same answer gives ten final bars.
        let mut run = Run::for_test(&r, 1_634_944_380_000_000);
        parse_page(SPOT, &r, 1, &mut run).unwrap();
        assert_eq!(run.collected.len(), 10);
    }

    #[test]
    fn full_pages_continue_after_their_last_kline() {
        assert_eq!(next_start(Some((LIMIT, 5_000)), 1_000, 10_000), Ok(Some(5_001)));
        assert_eq!(next_start(Some((LIMIT - 1, 5_000)), 1_000, 10_000), Ok(None), "short page");
        assert_eq!(next_start(Some((LIMIT, 10_000)), 1_000, 10_000), Ok(None), "range done");
        assert_eq!(next_start(None, 1_000, 10_000), Ok(None), "empty page");
        assert!(
            next_start(Some((LIMIT, 500)), 1_000, 10_000).unwrap_err().contains("back in time")
        );
    }

    #[test]
    fn the_docs_example_parses() {
        let r = req(Timeframe::Day1, "2017-07-03", "2017-07-09");
        let mut run = Run::for_test(&r, i64::MAX);
        parse_page(DOCS, &r, 1, &mut run).unwrap();
        assert_eq!(run.collected.len(), 1);
    }

    #[test]
    fn bad_klines_fail_the_page_and_name_the_problem() {
        let r = req(Timeframe::Minute1, "2021-10-22", "2021-10-22");
        let mut run = Run::for_test(&r, i64::MAX);
        let bad = br#"[[1634943780000,"abc","1","1","1","1",1634943839999,"1",3,"1","1","0"]]"#;
        let err = parse_page(bad, &r, 2, &mut run).unwrap_err().to_string();
        assert!(
            err.contains("binance BTCUSDT") && err.contains("page 2") && err.contains("\"abc\""),
            "{err}"
        );
        let short = br#"[[1634943780000,"1","1","1","1","1",1634943839999]]"#;
        assert!(parse_page(short, &r, 1, &mut run).is_err());
        let truncated = &SPOT[..SPOT.len() / 2];
        let err = parse_page(truncated, &r, 1, &mut run).unwrap_err().to_string();
        assert!(err.contains("EOF"), "{err}");
    }

    #[test]
    fn error_bodies_map_to_unknown_symbol() {
        let e = error_for(400, br#"{"code":-1121,"msg":"Invalid symbol."}"#, "NOPE").unwrap();
        assert!(
            matches!(e, FetchError::UnknownSymbol { ref symbol, .. } if symbol == "NOPE"),
            "{e}"
        );
        let e = error_for(400, br#"{"code":-1100,"msg":"Illegal characters"}"#, "X").unwrap();
        assert!(e.to_string().contains("-1100"), "{e}");
    }
}
