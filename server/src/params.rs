//! Parsing request parameters into typed values, each failure a 400 naming the parameter.

use std::collections::BTreeMap;

use candlestore::export::Format;
use candlestore::{TableName, TableSpec, column_index, is_valid_symbol, table_column_count};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::ApiError;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A query string as name -> value, refusing unknown and repeated names.
#[derive(Debug, Default)]
pub(crate) struct QueryParams(BTreeMap<String, String>);

impl QueryParams {
    /// Checks every name against `allowed`.
    pub(crate) fn parse(pairs: Vec<(String, String)>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::invalid(
                    "unknown_parameter",
                    &name,
                    format!(
                        "unknown query parameter {name:?}; this endpoint takes: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if map.contains_key(&name) {
                return Err(ApiError::invalid(
                    "repeated_parameter",
                    &name,
                    format!("query parameter {name:?} is given twice"),
                ));
            }
            map.insert(name, value);
        }
        Ok(Self(map))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A point in time given as `YYYY-MM-DD` (the whole UTC day) or RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Instant {
    Date(i64),
    Exact(i64),
}

impl Instant {
    /// The first microsecond covered.
    pub(crate) fn first(self) -> i64 {
        match self {
            Instant::Date(t) | Instant::Exact(t) => t,
        }
    }

    /// One past the last microsecond covered (a date covers its whole day).
    pub(crate) fn end_exclusive(self) -> i64 {
        match self {
            Instant::Date(t) => t.saturating_add(MICROS_PER_DAY),
            Instant::Exact(t) => t.saturating_add(1),
        }
    }
}

pub(crate) fn instant(param: &str, text: &str) -> Result<Instant, ApiError> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(t) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(Instant::Date(t.and_utc().timestamp_micros()));
    }
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => Ok(Instant::Exact(t.with_timezone(&Utc).timestamp_micros())),
        Err(_) => Err(ApiError::invalid(
            "invalid_date",
            param,
            format!(
                "{param} {text:?} is not a date: use YYYY-MM-DD or an RFC 3339 timestamp such \
                 as 2014-01-02T15:30:00Z"
            ),
        )),
    }
}

/// A half-open time range `[start, end)` in µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
}

/// `start` (inclusive) and `end` (inclusive; a date means its whole day).
pub(crate) fn range(start: Option<&str>, end: Option<&str>) -> Result<Range, ApiError> {
    let s = start.map(|t| instant("start", t)).transpose()?;
    let e = end.map(|t| instant("end", t)).transpose()?;
    if let (Some(s), Some(e)) = (s, e)
        && s.first() >= e.end_exclusive()
    {
        return Err(ApiError::invalid(
            "invalid_range",
            "start",
            format!(
                "start {} is after end {}",
                start.unwrap_or_default().trim(),
                end.unwrap_or_default().trim()
            ),
        ));
    }
    Ok(Range { start: s.map(Instant::first), end: e.map(Instant::end_exclusive) })
}

/// Checks that every field of `names` (known names) is a column of `table`: the extra
/// columns (`funding_rate`, `open_interest`) exist in crypto tables only.
pub(crate) fn fields_of_table(param: &str, names: &[String], table: &str) -> Result<(), ApiError> {
    let width = TableSpec::from_conventional_name(table)
        .map_or(candlestore::FIELD_COUNT, |s| table_column_count(s.asset_class));
    match names.iter().find(|n| column_index(n).is_some_and(|c| c >= width)) {
        Some(name) => Err(ApiError::invalid(
            "unknown_field",
            param,
            format!("field {name:?} in {param} exists only in crypto tables, not in {table}"),
        )),
        None => Ok(()),
    }
}

/// A comma-separated field list: known names, no repeats.
pub(crate) fn fields(param: &str, names: &[String]) -> Result<Vec<String>, ApiError> {
    if names.is_empty() {
        return Err(ApiError::invalid("invalid_fields", param, format!("{param} is empty")));
    }
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if column_index(name).is_none() {
            return Err(ApiError::invalid(
                "unknown_field",
                param,
                format!(
                    "unknown field {name:?} in {param} (the 97 field names are in the field \
                     specification, e.g. datetime, open, close, volume, rsi, sma_50; crypto \
                     tables also have funding_rate and open_interest)"
                ),
            ));
        }
        if out.contains(name) {
            return Err(ApiError::invalid(
                "invalid_fields",
                param,
                format!("field {name:?} is listed twice in {param}"),
            ));
        }
        out.push(name.clone());
    }
    Ok(out)
}

/// Splits `a,b,c` (blank items are errors).
pub(crate) fn split_list(param: &str, text: &str) -> Result<Vec<String>, ApiError> {
    text.split(',')
        .map(|s| {
            let s = s.trim();
            if s.is_empty() {
                Err(ApiError::invalid(
                    "invalid_list",
                    param,
                    format!("{param} {text:?} has an empty item"),
                ))
            } else {
                Ok(s.to_owned())
            }
        })
        .collect()
}

pub(crate) fn format(text: Option<&str>) -> Result<Format, ApiError> {
    match text {
        None => Ok(Format::Json),
        Some(t) => t.trim().to_ascii_lowercase().parse().map_err(|_| {
            ApiError::invalid(
                "invalid_format",
                "format",
                format!("format {t:?} is not one of json, csv, arrow, parquet"),
            )
        }),
    }
}

pub(crate) fn boolean(param: &str, text: Option<&str>) -> Result<bool, ApiError> {
    match text.map(str::trim) {
        None => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(t) => Err(ApiError::invalid(
            "invalid_boolean",
            param,
            format!("{param} {t:?} is not true or false"),
        )),
    }
}

pub(crate) fn quality(text: Option<&str>) -> Result<Option<f64>, ApiError> {
    let Some(t) = text else { return Ok(None) };
    match t.trim().parse::<f64>() {
        Ok(q) if (0.0..=1.0).contains(&q) => Ok(Some(q)),
        _ => Err(ApiError::invalid(
            "invalid_quality",
            "min_quality",
            format!("min_quality {t:?} is not a number between 0 and 1"),
        )),
    }
}

/// `limit`: 1..=max rows; beyond max the request is refused rather than silently capped.
pub(crate) fn limit(text: Option<&str>, max: u64) -> Result<Option<u64>, ApiError> {
    let Some(t) = text else { return Ok(None) };
    match t.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        Ok(n) if n > max => Err(ApiError::invalid(
            "limit_exceeded",
            "limit",
            format!("limit {n} is more than the {max} rows a page may have"),
        )),
        _ => Err(ApiError::invalid(
            "invalid_limit",
            "limit",
            format!("limit {t:?} is not a whole number from 1 to {max}"),
        )),
    }
}

/// A table name, validated before it is used anywhere.
pub(crate) fn table_name(param: &str, name: &str) -> Result<String, ApiError> {
    TableName::new(name).map(|t| t.as_str().to_owned()).map_err(|_| {
        ApiError::invalid(
            "invalid_table",
            param,
            format!(
                "{name:?} is not a table name (lower-case letters, digits and _, starting with a \
                 letter, at most 63)"
            ),
        )
    })
}

/// A symbol, validated before it is used anywhere.
pub(crate) fn symbol_name(param: &str, name: &str) -> Result<String, ApiError> {
    if is_valid_symbol(name) {
        Ok(name.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_symbol",
            param,
            format!("{name:?} is not a symbol (1 to 64 of A-Z a-z 0-9 and . - _ = / ^ :)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_ranges() {
        let r = range(Some("2014-01-02"), Some("2014-01-02")).unwrap();
        assert_eq!(r.end.unwrap() - r.start.unwrap(), MICROS_PER_DAY);
        let e = range(Some("2014-02-01"), Some("2014-01-31")).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), ("invalid_range", Some("start")));
        let e = range(Some("2014-13-01"), None).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), ("invalid_date", Some("start")));
        assert!(e.message.contains("2014-13-01"));
        let t = instant("as_of", "2014-01-02T10:30:00-05:00").unwrap();
        assert_eq!(t, Instant::Exact(instant("x", "2014-01-02T15:30:00Z").unwrap().first()));
    }

    #[test]
    fn values_are_checked() {
        assert!(fields("fields", &["close".into(), "nope".into()]).is_err());
        assert!(fields("fields", &["close".into(), "close".into()]).is_err());
        let extras = ["close".to_owned(), "funding_rate".to_owned(), "open_interest".to_owned()];
        assert_eq!(fields("fields", &extras).unwrap(), extras);
        assert!(fields_of_table("fields", &extras, "crypto_daily").is_ok());
        let err = fields_of_table("fields", &extras, "stocks_daily").unwrap_err();
        assert!(format!("{err:?}").contains("funding_rate"), "{err:?}");
        assert!(fields_of_table("fields", &extras[..1], "stocks_daily").is_ok());
        assert_eq!(split_list("fields", "a, b").unwrap(), vec!["a", "b"]);
        assert!(split_list("fields", "a,,b").is_err());
        assert_eq!(format(Some("Arrow")).unwrap(), Format::Arrow);
        assert_eq!(format(Some("xml")).unwrap_err().code, "invalid_format");
        assert!(boolean("validated_only", Some("maybe")).is_err());
        assert_eq!(quality(Some("0.5")).unwrap(), Some(0.5));
        assert!(quality(Some("1.5")).is_err() && quality(Some("NaN")).is_err());
        assert_eq!(limit(Some("10"), 100).unwrap(), Some(10));
        assert_eq!(limit(Some("101"), 100).unwrap_err().code, "limit_exceeded");
        assert_eq!(limit(Some("0"), 100).unwrap_err().code, "invalid_limit");
        assert!(table_name("table", "../etc").is_err());
        assert!(symbol_name("symbol", "A B").is_err() && symbol_name("symbol", "BRK.B").is_ok());
        let e = QueryParams::parse(vec![("strat".into(), "1".into())], &["start"]).unwrap_err();
        assert_eq!((e.code, e.param.as_deref()), ("unknown_parameter", Some("strat")));
        let twice = vec![("start".into(), "1".into()), ("start".into(), "2".into())];
        assert!(QueryParams::parse(twice, &["start"]).is_err());
    }
}
