use std::io::Write;
use std::path::{Path, PathBuf};

use candlestore::InstrumentType;

use super::*;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(rel)
}

fn read(rel: &str) -> ReferenceFile {
    read_reference(&testdata(rel), None).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn find<'a>(f: &'a ReferenceFile, symbol: &str) -> &'a SymbolRecord {
    f.records.iter().find(|r| r.symbol == symbol).unwrap_or_else(|| panic!("{symbol} missing"))
}

/// A temp file holding `text` under `name`.
fn temp(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::File::create(&path).unwrap().write_all(text.as_bytes()).unwrap();
    (dir, path)
}

#[test]
fn sp500_constituents_with_gics_sectors() {
    let f = read("reference/sp500_constituents_2026.head.csv");
    assert_eq!(f.layout, ReferenceLayout::Sp500Constituents);
    assert_eq!(f.records.len(), 22);
    let mmm = find(&f, "MMM");
    assert_eq!(mmm.name.as_deref(), Some("3M"));
    assert_eq!(mmm.sector.as_deref(), Some("Industrials"));
    assert_eq!(mmm.industry.as_deref(), Some("Industrial Conglomerates"));
    assert_eq!(mmm.instrument_type, Some(InstrumentType::Stock));
    assert_eq!(find(&f, "BRK.B").sector.as_deref(), Some("Financials"));
    assert!(f.skipped.is_empty());
}

#[test]
fn sp500_legacy_list() {
    let f = read("reference/sp500_constituents.csv");
    assert_eq!(f.layout, ReferenceLayout::Sp500Legacy);
    assert_eq!(f.records.len(), 505);
    assert_eq!(find(&f, "AOS").sector.as_deref(), Some("Industrials"));
}

#[test]
fn nasdaq_listing_skips_test_issues_and_the_trailer() {
    let f = read("reference/listings/nasdaq-listed-symbols.excerpt.csv");
    assert_eq!(f.layout, ReferenceLayout::NasdaqListedSymbols);
    assert_eq!(f.rows_read, 14);
    assert_eq!(f.records.len(), 11);
    let qqq = find(&f, "QQQ");
    assert_eq!(qqq.instrument_type, Some(InstrumentType::Etf));
    assert_eq!(qqq.mic_code.as_deref(), Some("XNAS"));
    assert_eq!(qqq.name.as_deref(), Some("Invesco QQQ Trust, Series 1"));
    assert_eq!(find(&f, "AACB").instrument_type, Some(InstrumentType::Stock));
    let reasons: Vec<(u64, &str)> = f.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(reasons[0], (13, "ZVZZT is a test issue"));
    assert!(reasons[1].1.starts_with("trailer row"), "{reasons:?}");
    assert_eq!(reasons[2], (15, "blank row"));
}

#[test]
fn short_listings() {
    let f = read("reference/listings/nasdaq-listed.excerpt.csv");
    assert_eq!(f.layout, ReferenceLayout::NasdaqListed);
    assert_eq!(f.records.len(), 5);
    assert_eq!(find(&f, "AACBR").name.as_deref(), Some("Artius II Acquisition Inc. - Rights"));
    let f = read("reference/listings/nyse-listed.head.csv");
    assert_eq!(f.layout, ReferenceLayout::NyseListed);
    let aa = find(&f, "AA");
    assert_eq!(
        aa.name.as_deref(),
        Some("Alcoa Corporation Common Stock"),
        "trailing space trimmed"
    );
    assert_eq!((aa.exchange.as_deref(), aa.mic_code.as_deref()), (Some("NYSE"), Some("XNYS")));
    assert!(f.records.iter().any(|r| r.symbol == "AAC.U"));
}

#[test]
fn other_listed_maps_exchange_codes_to_mics() {
    let f = read("reference/listings/other-listed.excerpt.csv");
    assert_eq!(f.layout, ReferenceLayout::OtherListed);
    let mic = |s: &str| find(&f, s).mic_code.clone().unwrap();
    assert_eq!(mic("A"), "XNYS");
    assert_eq!(mic("ACU"), "XASE");
    assert_eq!(mic("SPY"), "ARCX");
    assert_eq!(mic("AAAA"), "BATS");
    assert_eq!(find(&f, "SPY").instrument_type, Some(InstrumentType::Etf));
    assert_eq!(find(&f, "AAAA").exchange.as_deref(), Some("Cboe BZX"));
    // ACT `ABR$D` is written the Nasdaq way.
    assert_eq!(find(&f, "ABR-D").exchange.as_deref(), Some("NYSE"));
    assert_eq!(find(&f, "BRK.B").currency.as_deref(), Some("USD"));
}

#[test]
fn screener_json_with_market_caps_and_countries() {
    let f = read("reference/us-stock-symbols/nyse_full_tickers.excerpt.json");
    assert_eq!(f.layout, ReferenceLayout::ScreenerJson);
    let a = find(&f, "A");
    assert_eq!(a.market_cap, Some(44_906_679_096.0));
    assert_eq!(a.country.as_deref(), Some("US"));
    assert_eq!(a.mic_code.as_deref(), Some("XNYS"));
    assert_eq!(a.industry.as_deref(), Some("Biotechnology: Laboratory Analytical Instruments"));
    assert_eq!(find(&f, "BABA").country.as_deref(), Some("CN"));
    assert!(f.records.iter().any(|r| r.symbol == "BRK.B"), "BRK/B is BRK.B");
    assert!(f.records.iter().any(|r| r.symbol == "ABR-D"), "ABR^D is ABR-D");
    let f = read("reference/us-stock-symbols/amex_full_tickers.excerpt.json");
    assert_eq!(find(&f, "ACU").mic_code.as_deref(), Some("XASE"));
    assert_eq!(find(&f, "BCV-A").exchange.as_deref(), Some("NYSE American"));
}

#[test]
fn f31_metadata_csv() {
    let f = read("reference/metadata.csv");
    assert_eq!(f.layout, ReferenceLayout::Metadata);
    let nvda = find(&f, "NVDA");
    assert_eq!(nvda.sector.as_deref(), Some("Technology"));
    assert_eq!(nvda.exchange.as_deref(), Some("NASDAQ"));
    assert_eq!(nvda.mic_code.as_deref(), Some("XNAS"));
    assert_eq!(nvda.country.as_deref(), Some("US"));
    assert_eq!(nvda.market_cap, None);
    assert_eq!(nvda.instrument_type, Some(InstrumentType::Stock));
}

#[test]
fn a_malformed_row_names_file_line_and_column() {
    let (_d, p) = temp(
        "meta.csv",
        "symbol,sector,market_cap,country,type\nAAA,Energy,1e9,US,stock\nBBB,Energy,lots,US,stock\n",
    );
    let err = read_reference(&p, None).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::Row { line: 3, column: Some(c), .. } if c == "market_cap"),
        "{err}"
    );
    assert!(err.to_string().contains("meta.csv, line 3"), "{err}");
    let (_d, p) = temp("meta.csv", "symbol,type\nAAA,equity\n");
    let err = read_reference(&p, None).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::Row { line: 2, column: Some(c), .. } if c == "type"),
        "{err}"
    );
    let (_d, p) = temp("meta.csv", "symbol,country\nAAA,Atlantis\n");
    assert!(read_reference(&p, None).unwrap_err().to_string().contains("Atlantis"));
    let (_d, p) = temp("meta.csv", "symbol,sector\nAAA,Energy\nBBB\n");
    let err = read_reference(&p, None).unwrap_err();
    assert!(err.to_string().contains("line 3") && err.to_string().contains("fields"), "{err}");
    let (_d, p) = temp("meta.csv", "symbol,sector\nA B,Energy\n");
    assert!(matches!(read_reference(&p, None).unwrap_err(), ReferenceError::Row { line: 2, .. }));
}

#[test]
fn unknown_exchange_code_is_an_error() {
    let header = "ACT Symbol,Company Name,Security Name,Exchange,CQS Symbol,ETF,Round Lot Size,Test Issue,NASDAQ Symbol";
    let (_d, p) = temp("other.csv", &format!("{header}\nA,Agilent,Agilent,X,A,N,100.0,N,A\n"));
    let err = read_reference(&p, None).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::Row { line: 2, column: Some(c), .. } if c == "Exchange"),
        "{err}"
    );
}

#[test]
fn repeated_symbols_keep_the_first_row() {
    let (_d, p) = temp("meta.csv", "symbol,sector\nAAA,Energy\nAAA,Utilities\n");
    let f = read_reference(&p, None).unwrap();
    assert_eq!(f.records.len(), 1);
    assert_eq!(f.records[0].sector.as_deref(), Some("Energy"));
    assert_eq!(f.skipped[0].line, 3);
}

#[test]
fn unknown_and_mismatched_layouts() {
    let (_d, p) = temp("x.csv", "foo,bar\n1,2\n");
    assert!(matches!(read_reference(&p, None).unwrap_err(), ReferenceError::UnknownLayout { .. }));
    let err =
        read_reference(&testdata("reference/metadata.csv"), Some(ReferenceLayout::OtherListed))
            .unwrap_err();
    assert!(matches!(err, ReferenceError::HeaderMismatch { column: "actsymbol", .. }), "{err}");
    let err =
        read_reference(&testdata("reference/metadata.csv"), Some(ReferenceLayout::ScreenerJson))
            .unwrap_err();
    assert!(matches!(err, ReferenceError::UnknownLayout { .. }));
    for l in ReferenceLayout::ALL {
        assert_eq!(ReferenceLayout::from_name(l.name()), Some(l));
    }
}

#[test]
fn malformed_json_names_the_line() {
    let (_d, p) = temp("nyse_x.json", "[\n {\"symbol\": \"A\"},\n {\"symbol\": 5}\n]\n");
    let err = read_reference(&p, None).unwrap_err();
    assert!(matches!(err, ReferenceError::Row { line: 3, .. }), "{err}");
    let (_d, p) = temp("nyse_x.json", "[\n {\"symbol\": \"A\", \"country\": \"Atlantis\"}\n]\n");
    let err = read_reference(&p, None).unwrap_err();
    assert!(err.to_string().contains("Atlantis") && err.to_string().contains("item 1"), "{err}");
    let (_d, p) = temp("nyse_x.json", "[\n {\"symbol\": \"A\"}\n");
    assert!(read_reference(&p, None).is_err(), "truncated JSON");
}
