//! Tests of the index: a naive in-memory model as oracle, corruption, golden fixtures.

mod corrupt;
mod golden;
mod roundtrip;

use std::collections::BTreeMap;
use std::path::Path;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{IndexBuilder, SegmentId, SymbolId, SymbolRange, TableIndex};

const MONTH_US: i64 = 30 * 86_400 * 1_000_000;
const BASE_US: i64 = 1_262_304_000_000_000; // 2010-01-01T00:00:00Z

/// One range of the model: `(symbol, row_start, row_count, min_ts, max_ts)`.
type ModelRange = (String, u32, u32, i64, i64);

/// The naive oracle: plain maps of what was put into the builder.
#[derive(Debug, Clone, Default)]
pub(super) struct Model {
    pub(super) symbols: BTreeMap<String, (Option<String>, Option<String>)>,
    pub(super) segments: BTreeMap<SegmentId, Vec<ModelRange>>,
}

impl Model {
    /// A random table: `n_segments` monthly segments over a universe of `n_symbols` symbols.
    pub(super) fn random(seed: u64, n_segments: usize, n_symbols: usize, density: f64) -> Model {
        let mut rng = StdRng::seed_from_u64(seed);
        let sectors = ["Technology", "Energy", "Health Care", "Financials", "Énergie"];
        let exchanges = ["NASDAQ", "NYSE", "XETRA", "nyse"];
        let mut m = Model::default();
        while m.symbols.len() < n_symbols {
            let len = rng.random_range(1..=6);
            let mut name: String =
                (0..len).map(|_| char::from(rng.random_range(b'A'..=b'Z'))).collect();
            if rng.random_bool(0.05) {
                name.push_str(".Ü");
            }
            let sector = rng.random_bool(0.8).then(|| sectors[rng.random_range(0..sectors.len())]);
            let exchange =
                rng.random_bool(0.7).then(|| exchanges[rng.random_range(0..exchanges.len())]);
            m.symbols.insert(name, (sector.map(String::from), exchange.map(String::from)));
        }
        let names: Vec<String> = m.symbols.keys().cloned().collect();
        while m.segments.len() < n_segments {
            let i = m.segments.len() as i64;
            // Some segments share a start so (min_ts, id) ordering is exercised.
            let start = BASE_US + (i - i64::from(rng.random_bool(0.1))) * MONTH_US;
            let id = SegmentId(rng.random_range(0..1_000_000));
            let mut members: Vec<&String> =
                names.iter().filter(|_| rng.random_bool(density)).collect();
            if members.is_empty() {
                members.push(&names[0]);
            }
            // Row order need not be name order: shuffle the clusters.
            for k in (1..members.len()).rev() {
                members.swap(k, rng.random_range(0..=k));
            }
            let mut row = 0u32;
            let mut ranges = Vec::new();
            for (k, name) in members.into_iter().enumerate() {
                let count = rng.random_range(1..2_000);
                let lo = if k == 0 { start } else { start + rng.random_range(0..MONTH_US / 2) };
                let hi = lo + rng.random_range(0..MONTH_US / 2);
                ranges.push((name.clone(), row, count, lo, hi));
                row += count;
            }
            m.segments.entry(id).or_insert(ranges);
        }
        m
    }

    pub(super) fn builder(&self) -> IndexBuilder {
        let mut b = IndexBuilder::new();
        for (name, (sector, exchange)) in &self.symbols {
            b.symbol(name, sector.as_deref(), exchange.as_deref());
        }
        for (id, ranges) in &self.segments {
            b.add_segment(*id, &as_symbol_ranges(ranges)).unwrap();
        }
        b
    }

    pub(super) fn build(&self) -> Vec<u8> {
        self.builder().finish()
    }

    fn segment_bounds(ranges: &[ModelRange]) -> (i64, i64, u64) {
        let min = ranges.iter().map(|r| r.3).min().unwrap();
        let max = ranges.iter().map(|r| r.4).max().unwrap();
        (min, max, ranges.iter().map(|r| u64::from(r.2)).sum())
    }

    /// Asserts that every query of `idx` agrees with the model.
    pub(super) fn check(&self, idx: &TableIndex) {
        let names: Vec<&String> = self.symbols.keys().collect();
        assert_eq!(idx.symbol_count() as usize, names.len());
        for (i, name) in names.iter().enumerate() {
            let id = SymbolId(i as u32);
            assert_eq!(idx.symbol_id(name), Some(id));
            let info = idx.symbol(id).unwrap();
            let (sector, exchange) = &self.symbols[*name];
            assert_eq!(info.name, name.as_str());
            assert_eq!(info.sector, sector.as_deref());
            assert_eq!(info.exchange, exchange.as_deref());
            let mut missing = (*name).clone();
            missing.push('\0');
            assert_eq!(idx.symbol_id(&missing), None);
        }
        assert_eq!(idx.symbol_id(""), None);
        assert_eq!(idx.symbol(SymbolId(names.len() as u32)), None);
        let listed: Vec<String> = idx.symbols().map(|s| s.name.to_owned()).collect();
        assert_eq!(listed.iter().collect::<Vec<_>>(), names);

        for sector in ["Technology", "Énergie", "technology", "Nope"] {
            let want: Vec<SymbolId> = (0..names.len() as u32)
                .filter(|&i| self.symbols[names[i as usize]].0.as_deref() == Some(sector))
                .map(SymbolId)
                .collect();
            assert_eq!(idx.symbols_in_sector(sector).collect::<Vec<_>>(), want, "{sector}");
        }
        for exchange in ["NASDAQ", "NYSE", "nyse", "Nope"] {
            let want: Vec<SymbolId> = (0..names.len() as u32)
                .filter(|&i| self.symbols[names[i as usize]].1.as_deref() == Some(exchange))
                .map(SymbolId)
                .collect();
            assert_eq!(idx.symbols_on_exchange(exchange).collect::<Vec<_>>(), want);
        }

        let mut order: Vec<(i64, SegmentId)> =
            self.segments.iter().map(|(id, r)| (Model::segment_bounds(r).0, *id)).collect();
        order.sort();
        let listed: Vec<SegmentId> = idx.segments().map(|s| s.id).collect();
        assert_eq!(listed, order.iter().map(|o| o.1).collect::<Vec<_>>());
        for (id, ranges) in &self.segments {
            let e = idx.segment(*id).unwrap();
            let (min, max, rows) = Model::segment_bounds(ranges);
            assert_eq!((e.id, e.min_ts, e.max_ts, e.rows), (*id, min, max, rows));
            assert_eq!(e.symbols as usize, ranges.len());
            let bitmap = idx.segment_symbols(*id).unwrap();
            let want: Vec<u32> = {
                let mut v: Vec<u32> =
                    ranges.iter().map(|r| idx.symbol_id(&r.0).unwrap().0).collect();
                v.sort();
                v
            };
            assert_eq!(bitmap.iter().collect::<Vec<_>>(), want);
        }
        let absent = SegmentId(u64::MAX);
        assert!(idx.segment(absent).is_none());
        assert!(idx.segment_symbols(absent).is_err());

        for (i, name) in names.iter().enumerate() {
            let mut want = Vec::new();
            for (_, seg) in &order {
                if let Some(r) = self.segments[seg].iter().find(|r| &r.0 == *name) {
                    want.push((*seg, r.1, r.2, r.3, r.4));
                }
            }
            let got: Vec<_> = idx
                .ranges_for_symbol(SymbolId(i as u32))
                .map(|r| (r.segment, r.row_start, r.row_count, r.min_ts, r.max_ts))
                .collect();
            assert_eq!(got, want, "ranges of {name}");
        }
        assert_eq!(idx.ranges_for_symbol(SymbolId(u32::MAX)).count(), 0);
        let total: usize = self.segments.values().map(Vec::len).sum();
        assert_eq!(idx.posting_count() as usize, total);
    }
}

pub(super) fn as_symbol_ranges(ranges: &[ModelRange]) -> Vec<SymbolRange<'_>> {
    ranges
        .iter()
        .map(|(symbol, row_start, row_count, min_ts, max_ts)| SymbolRange {
            symbol,
            row_start: *row_start,
            row_count: *row_count,
            min_ts: *min_ts,
            max_ts: *max_ts,
        })
        .collect()
}

pub(super) fn open(bytes: &[u8]) -> Result<TableIndex, super::IndexError> {
    TableIndex::open(Bytes::copy_from_slice(bytes), Path::new("test.idx"))
}

/// Recomputes the checksum after a test edited the bytes.
pub(super) fn fix_crc(bytes: &mut [u8]) {
    let crc = super::format::file_crc(bytes);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// Calls every accessor; used on arbitrary (possibly hostile) files that opened.
pub(super) fn exercise(idx: &TableIndex) {
    let n = idx.symbol_count();
    let names: Vec<String> = idx.symbols().map(|s| s.name.to_owned()).collect();
    for name in &names {
        let _ = idx.symbol_id(name);
    }
    let _ = idx.symbol_id("zzz");
    for i in 0..n.saturating_add(2) {
        let _ = idx.symbol(SymbolId(i));
        let _ = idx.ranges_for_symbol(SymbolId(i)).count();
    }
    let _ = idx.symbols_in_sector("Technology").count();
    let _ = idx.symbols_on_exchange("NYSE").count();
    let ids: Vec<SegmentId> = idx.segments().map(|s| s.id).collect();
    for id in ids.iter().copied().chain([SegmentId(0), SegmentId(u64::MAX)]) {
        let _ = idx.segment(id);
        let _ = idx.segment_symbols(id);
    }
    let _ = idx.describe();
    let _ = idx.len_bytes();
    let rebuilt = IndexBuilder::from_index(idx).finish();
    open(&rebuilt).expect("re-encoding an index that opened must open");
}
