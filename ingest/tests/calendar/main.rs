//! The calendars and gap detection against the real sample files in `testdata/`.

mod crypto;
mod lean;
mod stocks;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::AsArray;
use arrow::datatypes::TimestampMicrosecondType;
use candlestore_ingest::{ImportOptions, open};
use chrono::NaiveDate;

pub(crate) fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
}

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub(crate) fn utc(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

/// 00:00 UTC of a date (the stamp of a daily bar).
pub(crate) fn stamp(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros()
}

/// The raw `date` and `Name` columns of the S&P 500 sample, per symbol (read directly, not
/// through the importer, which rejects a few rows with empty prices: those dates are in the
/// file, so they are not gaps of the file).
pub(crate) fn sp500_dates() -> BTreeMap<String, BTreeSet<NaiveDate>> {
    let file = std::fs::File::open(testdata("sp500/all_stocks_5yr_sample.csv.gz")).unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).unwrap();
    let mut out: BTreeMap<String, BTreeSet<NaiveDate>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        out.entry(fields[6].to_owned()).or_default().insert(d(fields[0]));
    }
    out
}

/// Every timestamp of a file read through the importer, per symbol, ascending.
pub(crate) fn imported(rel: &str, options: &ImportOptions) -> BTreeMap<String, Vec<i64>> {
    let mut reader = open(&testdata(rel), options).unwrap();
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for batch in &mut reader {
        let batch = batch.unwrap();
        let sym = batch.column(0).as_string::<i32>();
        let dt = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        for i in 0..batch.num_rows() {
            out.entry(sym.value(i).to_owned()).or_default().push(dt.value(i));
        }
    }
    for v in out.values_mut() {
        v.sort_unstable();
    }
    out
}
