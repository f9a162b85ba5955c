//! The symbol master: persistence, the write-path fill of the F3.1 columns, WAL replay, and
//! scans by sector/exchange.

use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};
use candlestore::{
    Error, InstrumentType, MemStorage, Provider, Store, SymbolFilter, SymbolRecord,
    SymbolUpsertReport, SymbolsError,
};

use crate::support::{DAY, JAN1_2024, bars, mem_store, rows_of};

fn aapl() -> SymbolRecord {
    let mut r = SymbolRecord::new("AAPL");
    r.name = Some("Apple Inc.".into());
    r.sector = Some("Information Technology".into());
    r.industry = Some("Technology Hardware, Storage & Peripherals".into());
    r.exchange = Some("NASDAQ".into());
    r.mic_code = Some("XNAS".into());
    r.currency = Some("USD".into());
    r.country = Some("US".into());
    r.instrument_type = Some(InstrumentType::Stock);
    r.market_cap = Some(3.0e12);
    r
}

/// Text of a string/dictionary column at each row (None for null).
fn texts(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let a = batch.column(batch.schema().index_of(column).expect("column")).clone();
    let a = arrow::compute::cast(&a, &DataType::Utf8).expect("cast");
    let s = a.as_string::<i32>();
    (0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i).to_owned())).collect()
}

fn scan_all(store: &Store) -> RecordBatch {
    store.scan("stocks_daily").to_batch().expect("scan")
}

#[test]
fn upserts_persist_and_merge() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    assert!(store.symbols().is_empty());
    let report = store.upsert_symbols([aapl(), SymbolRecord::new("MSFT")]).unwrap();
    assert_eq!(report, SymbolUpsertReport { added: 2, changed: 0, unchanged: 0 });
    let mut listing = SymbolRecord::new("MSFT");
    listing.exchange = Some("NASDAQ".into());
    let report = store.upsert_symbols([aapl(), listing]).unwrap();
    assert_eq!(report, SymbolUpsertReport { added: 0, changed: 1, unchanged: 1 });
    drop(store);
    // write_atomic is durable: a power loss right after the upsert keeps it.
    storage.crash();
    let store = mem_store(&storage);
    assert_eq!(store.symbol("AAPL"), Some(aapl()));
    assert_eq!(store.symbol("MSFT").unwrap().exchange.as_deref(), Some("NASDAQ"));
    let f = SymbolFilter { exchange: Some("xnas".into()), ..Default::default() };
    assert_eq!(store.find_symbols(&f).len(), 1, "MSFT has no MIC, only AAPL matches XNAS");
    let f = SymbolFilter { text: Some("apple".into()), ..Default::default() };
    assert_eq!(store.find_symbols(&f)[0].symbol, "AAPL");
}

#[test]
fn invalid_records_are_refused_whole() {
    let store = mem_store(&MemStorage::new());
    let mut bad = aapl();
    bad.symbol = "MSFT".into();
    bad.mic_code = Some("nasdaq".into());
    let err = store.upsert_symbols([aapl(), bad]).unwrap_err();
    assert!(
        matches!(&err, Error::Symbols(SymbolsError::InvalidRecord { field: "mic_code", .. })),
        "{err}"
    );
    assert!(store.symbols().is_empty(), "nothing of the call was applied");
}

#[test]
fn appended_rows_take_metadata_from_the_master() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ = store.upsert_symbols([aapl()]).unwrap();
    let report = store
        .append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0), ("IBM", JAN1_2024, 20.0)]))
        .unwrap();
    assert_eq!(report.inserted, 2);
    let batch = scan_all(&store);
    assert_eq!(texts(&batch, "symbol"), [Some("AAPL".into()), Some("IBM".into())]);
    assert_eq!(texts(&batch, "sector"), [Some("Information Technology".into()), None]);
    assert_eq!(texts(&batch, "mic_code"), [Some("XNAS".into()), None]);
    assert_eq!(texts(&batch, "type"), [Some("stock".into()), None]);
    assert_eq!(texts(&batch, "country"), [Some("US".into()), None]);
    let cap =
        batch.column(batch.schema().index_of("market_cap").unwrap()).as_primitive::<Float64Type>();
    assert_eq!((cap.value(0), cap.is_null(1)), (3.0e12, true));
    // data_completeness counts the filled fields: 8 more non-null of 97.
    let dc = batch
        .column(batch.schema().index_of("data_completeness").unwrap())
        .as_primitive::<Float64Type>();
    assert!(
        (dc.value(0) - dc.value(1) - 8.0 / 97.0).abs() < 1e-12,
        "{} vs {}",
        dc.value(0),
        dc.value(1)
    );

    // Scans by sector and exchange find the filled rows, in memtables and after a flush.
    let tech = |s: &Store| {
        rows_of(&s.scan("stocks_daily").sector("Information Technology").collect().unwrap())
    };
    assert_eq!(tech(&store).len(), 1);
    store.flush().unwrap();
    assert_eq!(tech(&store).len(), 1);
    assert_eq!(rows_of(&store.scan("stocks_daily").exchange("NASDAQ").collect().unwrap()).len(), 1);
}

#[test]
fn caller_values_win_and_stored_rows_keep_theirs() {
    let store = mem_store(&MemStorage::new());
    let _ = store.upsert_symbols([aapl()]).unwrap();
    let _ = store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0)])).unwrap();
    // The master changes: the stored row keeps the sector it was written with, and
    // re-appending the same bar is unchanged, not a revision.
    let mut moved = SymbolRecord::new("AAPL");
    moved.sector = Some("Consumer Electronics".into());
    let _ = store.upsert_symbols([moved]).unwrap();
    let again = store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0)])).unwrap();
    assert_eq!((again.unchanged, again.revised), (1, 0));
    // A new bar takes the new value.
    let _ = store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024 + DAY, 11.0)])).unwrap();
    let batch = scan_all(&store);
    assert_eq!(
        texts(&batch, "sector"),
        [Some("Information Technology".into()), Some("Consumer Electronics".into())]
    );
    // A batch that carries its own sector column keeps it (nulls included).
    let plain = bars(&[("AAPL", JAN1_2024 + 2 * DAY, 12.0)]);
    let mut fields: Vec<_> = plain.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(arrow::datatypes::Field::new("sector", DataType::Utf8, true));
    let mut columns = plain.columns().to_vec();
    columns.push(std::sync::Arc::new(arrow::array::StringArray::from(vec![Some("Own")])));
    let own =
        RecordBatch::try_new(std::sync::Arc::new(arrow::datatypes::Schema::new(fields)), columns)
            .unwrap();
    let _ = store.append("stocks_daily", &own).unwrap();
    let batch = scan_all(&store);
    assert_eq!(texts(&batch, "sector")[2].as_deref(), Some("Own"));
    assert_eq!(texts(&batch, "mic_code")[2].as_deref(), Some("XNAS"), "other columns still filled");
}

#[test]
fn wal_replay_restores_the_metadata_the_rows_were_written_with() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ = store.upsert_symbols([aapl()]).unwrap();
    let _ = store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0)])).unwrap();
    let mut moved = SymbolRecord::new("AAPL");
    moved.sector = Some("Consumer Electronics".into());
    let _ = store.upsert_symbols([moved]).unwrap();
    drop(store);
    storage.crash();
    // Not flushed: the row comes back from the WAL with the sector of its append, not the
    // master's current one.
    let store = mem_store(&storage);
    assert!(store.recovery_report().frames_replayed > 0);
    let batch = scan_all(&store);
    assert_eq!(texts(&batch, "sector"), [Some("Information Technology".into())]);
    // And the replayed record still marks the column master-filled: re-appending is a no-op.
    let again = store.append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0)])).unwrap();
    assert_eq!(again.unchanged, 1);
}

#[test]
fn sector_scans_fall_back_to_the_master_for_rows_written_before_it() {
    let store = mem_store(&MemStorage::new());
    let _ = store
        .append("stocks_daily", &bars(&[("AAPL", JAN1_2024, 10.0), ("IBM", JAN1_2024, 20.0)]))
        .unwrap();
    store.flush().unwrap();
    let tech =
        || rows_of(&store.scan("stocks_daily").sector("Information Technology").collect().unwrap());
    assert!(tech().is_empty());
    let _ = store.upsert_symbols([aapl()]).unwrap();
    let rows = tech();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0, "AAPL");
    // The stored row itself is not rewritten.
    assert_eq!(texts(&scan_all(&store), "sector"), [None, None]);
}

#[test]
fn provider_tickers_use_overrides_then_rules() {
    let store = mem_store(&MemStorage::new());
    let mut btc = SymbolRecord::new("BTC");
    btc.instrument_type = Some(InstrumentType::Crypto);
    btc.provider_symbols.insert(Provider::Binance, "BTCFDUSD".into());
    let _ = store.upsert_symbols([btc]).unwrap();
    assert_eq!(store.provider_symbol("BTC", Provider::Binance, None).unwrap(), "BTCFDUSD");
    assert_eq!(store.provider_symbol("BTC", Provider::Yahoo, None).unwrap(), "BTC-USD");
    assert_eq!(store.provider_symbol("BTC", Provider::Polygon, None).unwrap(), "X:BTCUSD");
    assert_eq!(
        store.provider_symbol("BRK.B", Provider::Yahoo, Some(InstrumentType::Stock)).unwrap(),
        "BRK-B"
    );
    let err = store.provider_symbol("XYZ", Provider::Yahoo, None).unwrap_err();
    assert!(err.to_string().contains("type"), "{err}");
}

#[test]
fn a_corrupt_symbol_master_stops_the_open() {
    let storage = MemStorage::new();
    let store = mem_store(&storage);
    let _ = store.upsert_symbols([aapl()]).unwrap();
    drop(store);
    storage.corrupt(Path::new("_meta/SYMBOLS"), 40).unwrap();
    let err = Store::builder_with_storage(std::sync::Arc::new(storage.clone())).open().unwrap_err();
    assert!(matches!(err, Error::Symbols(SymbolsError::ChecksumMismatch { .. })), "{err}");
    assert!(err.to_string().contains("_meta/SYMBOLS"), "{err}");
}

#[test]
fn read_only_stores_refuse_upserts_but_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let _ = store.upsert_symbols([aapl()]).unwrap();
    drop(store);
    let ro = Store::builder(dir.path()).read_only().open().unwrap();
    assert_eq!(ro.symbols().len(), 1);
    assert!(matches!(ro.upsert_symbols([aapl()]).unwrap_err(), Error::ReadOnly));
}
