//! Yahoo Finance chart v8: `GET /v8/finance/chart/{symbol}?period1=&period2=&interval=`.
//!
//! Wire format: `{"chart":{"result":[{"meta":{..,"exchangeTimezoneName"},"timestamp":[..],
//! "indicators":{"quote":[{"open":[..],"high":[..],"low":[..],"close":[..],"volume":[..]}],
//! "adjclose":[{"adjclose":[..]}]}}],"error":null}}`. `timestamp` is the session open (daily)
//! or bar start (intraday) in epoch seconds. A range without trading has no `timestamp` key at
//! all and `quote: [{}]` (an empty result, not an error); single values may be `null`, which
//! rejects that bar. Errors: `{"chart":{"result":null,"error":{"code":"Not Found",..}}}`.

use serde::Deserialize;

use crate::provider::bars::{Extras, RawBar};
use crate::provider::connector::{Connector, Run};
use crate::provider::error::FetchError;
use crate::provider::request::{FetchRequest, ProviderKind, Timeframe};
use crate::provider::session::{session_date_micros, zone};

const KIND: ProviderKind = ProviderKind::Yahoo;

#[derive(Debug, Deserialize)]
struct Root {
    chart: Chart,
}

#[derive(Debug, Deserialize)]
struct Chart {
    result: Option<Vec<ChartResult>>,
    error: Option<ChartError>,
}

#[derive(Debug, Deserialize)]
struct ChartError {
    code: Option<String>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChartResult {
    meta: Meta,
    timestamp: Option<Vec<i64>>,
    indicators: Indicators,
}

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(rename = "exchangeTimezoneName")]
    exchange_timezone_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Indicators {
    quote: Vec<Quote>,
    adjclose: Option<Vec<AdjClose>>,
}

type Column = Option<Vec<Option<f64>>>;

#[derive(Debug, Deserialize)]
struct Quote {
    open: Column,
    high: Column,
    low: Column,
    close: Column,
    volume: Column,
}

#[derive(Debug, Deserialize)]
struct AdjClose {
    adjclose: Column,
}

pub(crate) async fn fetch(
    c: &Connector,
    req: &FetchRequest,
    run: &mut Run,
) -> Result<(), FetchError> {
    let sym = req.provider_symbol.as_str();
    let interval = match req.timeframe {
        Timeframe::Day1 => "1d",
        Timeframe::Hour1 => "60m",
        Timeframe::Minute1 => "1m",
    };
    let mut url = c.endpoint(&["v8", "finance", "chart", sym]);
    url.query_pairs_mut()
        .append_pair("period1", &(req.start_micros() / 1_000_000).to_string())
        .append_pair("period2", &(req.end_exclusive_micros() / 1_000_000).to_string())
        .append_pair("interval", interval)
        .append_pair("includePrePost", "false")
        .append_pair("events", "div,splits");
    let response = c.get(&url, sym, run).await?;
    run.pages += 1;
    parse(&response.body, req, run)
}

fn parse(body: &[u8], req: &FetchRequest, run: &mut Run) -> Result<(), FetchError> {
    let sym = &req.provider_symbol;
    let malformed = |detail: String| FetchError::Malformed {
        provider: KIND,
        symbol: sym.clone(),
        page: 1,
        detail,
    };
    let root: Root =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not a chart answer: {e}")))?;
    if let Some(e) = root.chart.error {
        return Err(chart_error(200, e, sym));
    }
    let mut results = root.chart.result.ok_or_else(|| malformed("chart.result is null".into()))?;
    if results.len() != 1 {
        return Err(malformed(format!("chart.result has {} entries, expected 1", results.len())));
    }
    let r = results.remove(0);
    // No `timestamp` key: nothing traded in the range (a weekend, a holiday).
    let Some(timestamps) = r.timestamp else { return Ok(()) };
    let n = timestamps.len();
    let quote = r
        .indicators
        .quote
        .into_iter()
        .next()
        .ok_or_else(|| malformed("indicators.quote is empty".into()))?;
    let column = |name: &str, col: Column| -> Result<Vec<Option<f64>>, FetchError> {
        let col = col.ok_or_else(|| malformed(format!("indicators.quote[0].{name} is missing")))?;
        if col.len() != n {
            return Err(malformed(format!(
                "indicators.quote[0].{name} has {} values for {n} timestamps",
                col.len()
            )));
        }
        Ok(col)
    };
    let cols = [
        column("open", quote.open)?,
        column("high", quote.high)?,
        column("low", quote.low)?,
        column("close", quote.close)?,
        column("volume", quote.volume)?,
    ];
    let adj =
        match r.indicators.adjclose.and_then(|a| a.into_iter().next()).and_then(|a| a.adjclose) {
            Some(a) if a.len() != n => {
                return Err(malformed(format!(
                    "adjclose has {} values for {n} timestamps",
                    a.len()
                )));
            }
            other => other,
        };
    let tz = if req.timeframe.is_daily() {
        let name = r.meta.exchange_timezone_name.ok_or_else(|| {
            malformed(
                "meta.exchangeTimezoneName is missing; daily bars need the exchange's zone".into(),
            )
        })?;
        Some(
            zone(&name)
                .ok_or_else(|| malformed(format!("unknown exchangeTimezoneName {name:?}")))?,
        )
    } else {
        None
    };
    for (i, t) in timestamps.iter().enumerate() {
        let utc = t.checked_mul(1_000_000);
        let datetime = match (utc, tz) {
            (Some(u), Some(z)) => session_date_micros(u, z),
            (u, _) => u,
        };
        let Some(datetime) = datetime else {
            run.collected.reject(1, i, None, format!("timestamp {t} is not a valid time"));
            continue;
        };
        run.collected.push(
            1,
            i,
            RawBar {
                datetime,
                ohlcv: std::array::from_fn(|k| cols[k][i]),
                extras: Extras { adj_close: adj.as_ref().and_then(|a| a[i]), ..Extras::default() },
                closes_at: None,
            },
        );
    }
    Ok(())
}

fn chart_error(status: u16, e: ChartError, symbol: &str) -> FetchError {
    let message = e.description.unwrap_or_else(|| "(no description)".to_owned());
    if e.code.as_deref() == Some("Not Found") {
        FetchError::UnknownSymbol { provider: KIND, symbol: symbol.to_owned(), message }
    } else {
        FetchError::Vendor {
            provider: KIND,
            symbol: symbol.to_owned(),
            status,
            code: e.code,
            message,
        }
    }
}

/// Yahoo's error shape `{"chart":{"result":null,"error":{"code","description"}}}`.
pub(crate) fn error_for(status: u16, body: &[u8], symbol: &str) -> Option<FetchError> {
    let root: Root = serde_json::from_slice(body).ok()?;
    root.chart.error.map(|e| chart_error(status, e, symbol))
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
                "/../testdata/api-samples/yahoo/",
                $name
            ))
        };
    }

    fn parse_sample(body: &[u8], sym: &str, tf: Timeframe, start: &str, end: &str) -> Run {
        let r = FetchRequest::new(sym, sym, tf, start.parse().unwrap(), end.parse().unwrap());
        let mut run = Run::for_test(&r, i64::MAX);
        parse(body, &r, &mut run).unwrap();
        run
    }

    fn dates(run: Run) -> Vec<String> {
        let (batch, ..) = run.collected.finish("S").unwrap();
        let ts = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        ts.values()
            .iter()
            .map(|t| chrono::DateTime::from_timestamp_micros(*t).unwrap().to_rfc3339())
            .collect()
    }

    #[test]
    fn daily_bars_are_stamped_with_the_local_session_date() {
        let run = parse_sample(
            sample!("chart-AAPL-2020-01-01-to-2020-01-03.json"),
            "AAPL",
            Timeframe::Day1,
            "2020-01-01",
            "2020-01-03",
        );
        let (batch, extras, ..) = run.collected.finish("AAPL").unwrap();
        assert_eq!(batch.num_rows(), 1);
        // Session open 2020-01-02 14:30 UTC -> 2020-01-02 00:00 UTC.
        assert_eq!(
            batch.column(1).as_primitive::<TimestampMicrosecondType>().value(0),
            1_577_923_200_000_000
        );
        assert_eq!(batch.column(5).as_primitive::<Float64Type>().value(0), 75.0875015258789);
        assert_eq!(batch.column(6).as_primitive::<Float64Type>().value(0), 135_480_400.0);
        assert_eq!(extras.column(5).as_primitive::<Float64Type>().value(0), 72.71607208251953);

        let jk = parse_sample(
            sample!("chart-WSKT.JK-2020-01-01-to-2020-01-03.json"),
            "WSKT.JK",
            Timeframe::Day1,
            "2020-01-01",
            "2020-01-03",
        );
        assert_eq!(dates(jk), vec!["2020-01-02T00:00:00+00:00"]);
        let btc = parse_sample(
            sample!("chart-BTC-USD-2020-01-01-to-2020-01-03.json"),
            "BTC-USD",
            Timeframe::Day1,
            "2020-01-01",
            "2020-01-03",
        );
        assert_eq!(
            dates(btc),
            vec![
                "2020-01-01T00:00:00+00:00",
                "2020-01-02T00:00:00+00:00",
                "2020-01-03T00:00:00+00:00"
            ]
        );
        let fx = parse_sample(
            sample!("chart-EURUSD=X-2020-01-01-to-2020-01-03.json"),
            "EURUSD=X",
            Timeframe::Day1,
            "2020-01-01",
            "2020-01-03",
        );
        assert_eq!(dates(fx).len(), 3);
        let oslo = parse_sample(
            sample!("chart-AZT.OL-2020-01-01-to-2020-01-03.json"),
            "AZT.OL",
            Timeframe::Day1,
            "2020-01-01",
            "2020-01-03",
        );
        assert_eq!(dates(oslo), vec!["2020-01-02T00:00:00+00:00"]);
        let split = parse_sample(
            sample!("chart-AAPL-2020-08-31-to-2020-11-07.json"),
            "AAPL",
            Timeframe::Day1,
            "2020-08-31",
            "2020-11-07",
        );
        let d = dates(split);
        assert_eq!(d.len(), 49);
        assert_eq!(d[0], "2020-08-31T00:00:00+00:00");
    }

    #[test]
    fn no_timestamp_key_is_an_empty_result() {
        let run = parse_sample(
            sample!("chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"),
            "AAPL",
            Timeframe::Minute1,
            "2025-02-01",
            "2025-02-02",
        );
        assert_eq!(run.collected.len(), 0);
        assert!(run.collected.rejects.is_empty());
    }

    #[test]
    fn nulls_reject_their_bar_and_lengths_must_agree() {
        let body =
            std::str::from_utf8(sample!("chart-BTC-USD-2020-01-01-to-2020-01-03.json")).unwrap();
        // Yahoo sends `null` for a missing value; the real body with one close nulled.
        let nulled = body.replace("6985.47021484375,", "null,");
        assert_ne!(nulled, body);
        let r = FetchRequest::new(
            "BTC",
            "BTC-USD",
            Timeframe::Day1,
            "2020-01-01".parse().unwrap(),
            "2020-01-03".parse().unwrap(),
        );
        let mut run = Run::for_test(&r, i64::MAX);
        parse(nulled.as_bytes(), &r, &mut run).unwrap();
        assert_eq!(run.collected.len(), 2);
        assert_eq!(run.collected.rejects[0].to_string(), "page 1, bar 1: close is null or missing");

        let short =
            body.replace("[18565664997,20802083465,28111481032]", "[18565664997,20802083465]");
        let err =
            parse(short.as_bytes(), &r, &mut Run::for_test(&r, i64::MAX)).unwrap_err().to_string();
        assert!(
            err.contains("yahoo BTC-USD") && err.contains("volume has 2 values for 3 timestamps"),
            "{err}"
        );
        let err = parse(&body.as_bytes()[..300], &r, &mut Run::for_test(&r, i64::MAX))
            .unwrap_err()
            .to_string();
        assert!(err.contains("malformed response") && err.contains("EOF"), "{err}");
    }

    #[test]
    fn chart_errors_name_the_symbol() {
        let body = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
        let e = error_for(404, body, "NOPE").unwrap();
        assert!(matches!(e, FetchError::UnknownSymbol { .. }), "{e}");
        assert!(e.to_string().contains("\"NOPE\"") && e.to_string().contains("delisted"));
        let body = br#"{"chart":{"result":null,"error":{"code":"Bad Request","description":"Invalid input"}}}"#;
        assert!(matches!(error_for(400, body, "X"), Some(FetchError::Vendor { status: 400, .. })));
    }
}
