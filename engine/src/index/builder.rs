//! Building an index generation: collect symbols and segments, then [`IndexBuilder::finish`].

use std::collections::BTreeMap;

use roaring::RoaringBitmap;

use super::format::{
    HEADER_LEN, Header, Layout, POSTING_RECORD_LEN, PostingRecord, SEC_BITMAPS,
    SEC_POSTING_OFFSETS, SEC_POSTINGS, SEC_SEGMENTS, SEC_SEGMENTS_BY_ID, SEC_STRINGS, SEC_SYMBOLS,
    SECTION_COUNT, SEGMENT_RECORD_LEN, SYMBOL_RECORD_LEN, SegmentRecord, StrRef, SymbolRecord,
    VERSION, file_crc,
};
use super::{IndexError, SegmentId, TableIndex};

/// The rows of one symbol inside one segment, as given to [`IndexBuilder::add_segment`].
///
/// A segment's rows are clustered by symbol, so each symbol occupies one contiguous range
/// `row_start..row_start + row_count` of the segment's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolRange<'a> {
    /// The symbol's name.
    pub symbol: &'a str,
    /// First row of the symbol in the segment.
    pub row_start: u32,
    /// Number of rows of the symbol (at least 1).
    pub row_count: u32,
    /// Smallest datetime of those rows (microseconds since the Unix epoch, UTC).
    pub min_ts: i64,
    /// Largest datetime of those rows (microseconds since the Unix epoch, UTC).
    pub max_ts: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SymbolMeta {
    sector: Option<String>,
    exchange: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnedRange {
    symbol: String,
    row_start: u32,
    row_count: u32,
    min_ts: i64,
    max_ts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SegmentData {
    min_ts: i64,
    max_ts: i64,
    rows: u64,
    ranges: Vec<OwnedRange>,
}

/// Collects the symbols and segments of one index generation and encodes them.
///
/// Output is a pure function of the content (symbol metadata and segments with their ranges),
/// independent of insertion order: equal content gives equal bytes.
///
/// ```ignore
/// let mut b = IndexBuilder::new();
/// b.symbol("AAPL", Some("Technology"), Some("NASDAQ"));
/// b.add_segment(SegmentId(1), &[SymbolRange { symbol: "AAPL", row_start: 0, row_count: 390,
///     min_ts: t0, max_ts: t1 }])?;
/// let bytes = b.finish();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexBuilder {
    symbols: BTreeMap<String, SymbolMeta>,
    segments: BTreeMap<SegmentId, SegmentData>,
}

impl IndexBuilder {
    /// An empty builder.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// A builder holding everything in `index`, to derive the next generation from it.
    pub fn from_index(index: &TableIndex) -> IndexBuilder {
        let mut b = IndexBuilder::new();
        for seg in index.segments() {
            b.segments.insert(
                seg.id,
                SegmentData {
                    min_ts: seg.min_ts,
                    max_ts: seg.max_ts,
                    rows: seg.rows,
                    ranges: Vec::with_capacity(seg.symbols as usize),
                },
            );
        }
        for info in index.symbols() {
            b.symbols.insert(
                info.name.to_owned(),
                SymbolMeta {
                    sector: info.sector.map(str::to_owned),
                    exchange: info.exchange.map(str::to_owned),
                },
            );
            for r in index.ranges_for_symbol(info.id) {
                if let Some(seg) = b.segments.get_mut(&r.segment) {
                    seg.ranges.push(OwnedRange {
                        symbol: info.name.to_owned(),
                        row_start: r.row_start,
                        row_count: r.row_count,
                        min_ts: r.min_ts,
                        max_ts: r.max_ts,
                    });
                }
            }
        }
        b
    }

    /// Registers `name` or updates its metadata: a `Some` value replaces the stored one, a
    /// `None` keeps it.
    pub fn symbol(&mut self, name: &str, sector: Option<&str>, exchange: Option<&str>) {
        let meta = self.symbols.entry(name.to_owned()).or_default();
        if let Some(s) = sector {
            meta.sector = Some(s.to_owned());
        }
        if let Some(e) = exchange {
            meta.exchange = Some(e.to_owned());
        }
    }

    /// Adds a segment given the row range of every symbol it contains; the segment's datetime
    /// bounds and row count are derived from the ranges. Unknown symbols are registered without
    /// metadata.
    ///
    /// The ranges (in any order) must tile the segment's rows: sorted by `row_start` they start
    /// at row 0 and each begins where the previous ends. Each symbol appears at most once, each
    /// range is non-empty with `min_ts <= max_ts`. A segment that is already present, or has
    /// no ranges, is rejected. On error the builder is unchanged.
    pub fn add_segment(
        &mut self,
        seg: SegmentId,
        ranges: &[SymbolRange<'_>],
    ) -> Result<(), IndexError> {
        if self.segments.contains_key(&seg) {
            return Err(IndexError::InvalidSegment {
                segment: seg,
                reason: "segment is already in the index",
            });
        }
        let bad = |r: &SymbolRange<'_>, reason| IndexError::InvalidRange {
            segment: seg,
            symbol: r.symbol.to_owned(),
            reason,
        };
        if ranges.is_empty() {
            return Err(IndexError::InvalidSegment { segment: seg, reason: "segment has no rows" });
        }
        let mut sorted: Vec<&SymbolRange<'_>> = ranges.iter().collect();
        sorted.sort_by_key(|r| (r.row_start, r.symbol));
        let mut next_row: u64 = 0;
        let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
        for r in &sorted {
            if r.row_count == 0 {
                return Err(bad(r, "empty row range"));
            }
            if r.min_ts > r.max_ts {
                return Err(bad(r, "min_ts is after max_ts"));
            }
            if r.row_start.checked_add(r.row_count).is_none() {
                return Err(bad(r, "row range ends beyond u32::MAX"));
            }
            if u64::from(r.row_start) != next_row {
                return Err(bad(r, "row ranges must tile the segment from row 0 (gap or overlap)"));
            }
            next_row += u64::from(r.row_count);
            min_ts = min_ts.min(r.min_ts);
            max_ts = max_ts.max(r.max_ts);
        }
        let mut names: Vec<&str> = ranges.iter().map(|r| r.symbol).collect();
        names.sort_unstable();
        if let Some(dup) = names.windows(2).find(|w| w.first() == w.get(1)) {
            let symbol = dup.first().copied().unwrap_or_default().to_owned();
            return Err(IndexError::InvalidRange {
                segment: seg,
                symbol,
                reason: "symbol appears twice in the segment",
            });
        }

        let mut owned: Vec<OwnedRange> = ranges
            .iter()
            .map(|r| OwnedRange {
                symbol: r.symbol.to_owned(),
                row_start: r.row_start,
                row_count: r.row_count,
                min_ts: r.min_ts,
                max_ts: r.max_ts,
            })
            .collect();
        owned.sort_by_key(|r| r.row_start);
        for r in &owned {
            if !self.symbols.contains_key(&r.symbol) {
                self.symbols.insert(r.symbol.clone(), SymbolMeta::default());
            }
        }
        self.segments.insert(seg, SegmentData { min_ts, max_ts, rows: next_row, ranges: owned });
        Ok(())
    }

    /// Removes a segment and its postings; returns whether it was present. Its symbols stay
    /// in the dictionary.
    pub fn remove_segment(&mut self, seg: SegmentId) -> bool {
        self.segments.remove(&seg).is_some()
    }

    /// Encodes the index. Equal content gives equal bytes.
    ///
    /// # Panics
    ///
    /// If the string heap (all distinct names, sectors and exchanges) exceeds 4 GiB, or there
    /// are more than `u32::MAX` symbols or segments — limits no real table approaches.
    pub fn finish(self) -> Vec<u8> {
        // Dictionary: ids are positions in bytewise name order (BTreeMap<String> order).
        let ids: BTreeMap<&str, u32> = self
            .symbols
            .keys()
            .enumerate()
            .map(|(i, n)| (n.as_str(), to_u32(i, "symbols")))
            .collect();
        let mut heap = StringHeap::default();
        let mut symbol_table = Vec::with_capacity(self.symbols.len() * SYMBOL_RECORD_LEN);
        for (name, meta) in &self.symbols {
            let rec = SymbolRecord {
                name: heap.intern(name),
                sector: meta.sector.as_deref().map_or(StrRef::NONE, |s| heap.intern(s)),
                exchange: meta.exchange.as_deref().map_or(StrRef::NONE, |s| heap.intern(s)),
            };
            rec.encode(&mut symbol_table);
        }
        let strings = heap.bytes;

        // Segments in (min_ts, id) order; postings of a symbol follow the same order.
        let mut order: Vec<(&SegmentId, &SegmentData)> = self.segments.iter().collect();
        order.sort_by_key(|(id, d)| (d.min_ts, **id));
        let mut index_of: BTreeMap<SegmentId, u32> = BTreeMap::new();
        let mut per_symbol: Vec<Vec<PostingRecord>> = vec![Vec::new(); self.symbols.len()];
        let mut segment_table = Vec::with_capacity(order.len() * SEGMENT_RECORD_LEN);
        let mut bitmaps: Vec<u8> = Vec::new();
        for (idx, (id, data)) in order.iter().enumerate() {
            let idx = to_u32(idx, "segments");
            index_of.insert(**id, idx);
            let mut bitmap = RoaringBitmap::new();
            for r in &data.ranges {
                let Some(&sid) = ids.get(r.symbol.as_str()) else { continue };
                bitmap.insert(sid);
                if let Some(list) = per_symbol.get_mut(sid as usize) {
                    list.push(PostingRecord {
                        segment_index: idx,
                        row_start: r.row_start,
                        row_count: r.row_count,
                        reserved: 0,
                        min_ts: r.min_ts,
                        max_ts: r.max_ts,
                    });
                }
            }
            bitmap.optimize();
            let bitmap_offset = bitmaps.len() as u64;
            // Writing into a Vec cannot fail.
            let _ = bitmap.serialize_into(&mut bitmaps);
            SegmentRecord {
                id: id.0,
                min_ts: data.min_ts,
                max_ts: data.max_ts,
                rows: data.rows,
                symbols: to_u32(bitmap.len() as usize, "symbols"),
                bitmap_len: to_u32(bitmaps.len() - bitmap_offset as usize, "bitmap"),
                bitmap_offset,
            }
            .encode(&mut segment_table);
        }
        let mut by_id = Vec::with_capacity(order.len() * 4);
        for idx in index_of.values() {
            by_id.extend_from_slice(&idx.to_le_bytes());
        }

        let posting_count: usize = per_symbol.iter().map(Vec::len).sum();
        let mut posting_offsets = Vec::with_capacity((per_symbol.len() + 1) * 8);
        let mut postings = Vec::with_capacity(posting_count * POSTING_RECORD_LEN);
        posting_offsets.extend_from_slice(&0u64.to_le_bytes());
        let mut running = 0u64;
        for list in &per_symbol {
            for p in list {
                p.encode(&mut postings);
            }
            running += list.len() as u64;
            posting_offsets.extend_from_slice(&running.to_le_bytes());
        }

        let symbol_count = to_u32(self.symbols.len(), "symbols");
        let segment_count = to_u32(order.len(), "segments");
        let layout = Layout::new(
            symbol_count,
            segment_count,
            posting_count as u64,
            strings.len() as u64,
            bitmaps.len() as u64,
        )
        .unwrap_or_else(|| panic!("index layout exceeds u64"));
        let mut header = Header {
            version: VERSION,
            crc: 0,
            flags: 0,
            reserved: 0,
            file_len: layout.file_len,
            symbol_count,
            segment_count,
            posting_count: posting_count as u64,
            sections: layout.sections,
        };
        let mut out = Vec::with_capacity(layout.file_len as usize);
        out.extend_from_slice(&header.encode());
        let mut bodies: [&[u8]; SECTION_COUNT] = [&[]; SECTION_COUNT];
        bodies[SEC_SYMBOLS] = &symbol_table;
        bodies[SEC_POSTING_OFFSETS] = &posting_offsets;
        bodies[SEC_SEGMENTS] = &segment_table;
        bodies[SEC_SEGMENTS_BY_ID] = &by_id;
        bodies[SEC_POSTINGS] = &postings;
        bodies[SEC_STRINGS] = &strings;
        bodies[SEC_BITMAPS] = &bitmaps;
        for (section, body) in layout.sections.iter().zip(bodies) {
            out.resize(section.offset as usize, 0);
            out.extend_from_slice(body);
        }
        out.resize(layout.file_len as usize, 0);
        debug_assert!(out.len() >= HEADER_LEN);
        header.crc = file_crc(&out);
        if let Some(h) = out.get_mut(..HEADER_LEN) {
            h.copy_from_slice(&header.encode());
        }
        out
    }
}

/// Converts a count or offset to u32; exceeding it is a documented panic of `finish`.
fn to_u32(n: usize, what: &str) -> u32 {
    u32::try_from(n).unwrap_or_else(|_| panic!("index {what} exceeds u32::MAX"))
}

/// The string heap under construction; equal strings are stored once.
#[derive(Default)]
struct StringHeap<'a> {
    bytes: Vec<u8>,
    interned: BTreeMap<&'a str, StrRef>,
}

impl<'a> StringHeap<'a> {
    fn intern(&mut self, s: &'a str) -> StrRef {
        if let Some(r) = self.interned.get(s) {
            return *r;
        }
        let r = StrRef {
            offset: to_u32(self.bytes.len(), "string heap"),
            len: to_u32(s.len(), "string"),
        };
        self.bytes.extend_from_slice(s.as_bytes());
        // Every ref's end must be representable too.
        to_u32(self.bytes.len(), "string heap");
        self.interned.insert(s, r);
        r
    }
}
