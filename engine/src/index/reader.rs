//! Reading an index generation zero-copy from its (mapped) bytes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use roaring::RoaringBitmap;

use super::format::{
    CRC_OFFSET, HEADER_LEN, Header, Layout, MAGIC, MAX_READ_VERSION, MIN_READ_VERSION,
    POSTING_OFFSET_LEN, POSTING_RECORD_LEN, PostingRecord, SEC_BITMAPS, SEC_POSTING_OFFSETS,
    SEC_POSTINGS, SEC_SEGMENTS, SEC_SEGMENTS_BY_ID, SEC_STRINGS, SEC_SYMBOLS, SECTION_COUNT,
    SECTION_NAMES, SEGMENT_BY_ID_LEN, SEGMENT_RECORD_LEN, SYMBOL_RECORD_LEN, SegmentRecord, StrRef,
    SymbolRecord, VERSION_OFFSET, file_crc, format_micros, read_u32, read_u64,
};
use super::{IndexError, SegmentId, SymbolId};

/// A symbol's dictionary entry, borrowed from the index bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolInfo<'a> {
    /// The symbol's id in this generation.
    pub id: SymbolId,
    /// The symbol's name.
    pub name: &'a str,
    /// Its sector, if known.
    pub sector: Option<&'a str>,
    /// Its exchange, if known.
    pub exchange: Option<&'a str>,
}

/// A segment's entry in the segment table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEntry {
    /// The segment.
    pub id: SegmentId,
    /// Smallest datetime in the segment (microseconds since the Unix epoch, UTC).
    pub min_ts: i64,
    /// Largest datetime in the segment (microseconds since the Unix epoch, UTC).
    pub max_ts: i64,
    /// Number of rows in the segment.
    pub rows: u64,
    /// Number of distinct symbols in the segment.
    pub symbols: u32,
}

/// The rows of one symbol inside one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRange {
    /// The segment.
    pub segment: SegmentId,
    /// First row of the symbol in the segment.
    pub row_start: u32,
    /// Number of rows.
    pub row_count: u32,
    /// Smallest datetime of those rows (microseconds since the Unix epoch, UTC).
    pub min_ts: i64,
    /// Largest datetime of those rows (microseconds since the Unix epoch, UTC).
    pub max_ts: i64,
}

/// An opened, fully validated index generation answering queries from its bytes.
///
/// [`TableIndex::open`] checks the header, version, checksum and every table once; queries
/// then read the bytes directly. Accessors never panic: should an invariant nevertheless not
/// hold they yield `None` or fewer items.
#[derive(Debug, Clone)]
pub struct TableIndex {
    bytes: Bytes,
    path: PathBuf,
    symbol_count: u32,
    segment_count: u32,
    posting_count: u64,
    /// `(start, end)` byte ranges of each section, validated against `bytes.len()`.
    sections: [(usize, usize); SECTION_COUNT],
}

impl TableIndex {
    /// Validates `bytes` as an index file and opens it. `path` is only used in errors.
    pub fn open(bytes: Bytes, path: &Path) -> Result<TableIndex, IndexError> {
        let header = check_header(&bytes, path)?;
        let got = file_crc(&bytes);
        if got != header.crc {
            return Err(IndexError::ChecksumMismatch {
                path: path.to_owned(),
                offset: CRC_OFFSET as u64,
                expected: header.crc,
                got,
            });
        }
        check_layout(&header, path)?;
        let mut sections = [(0usize, 0usize); SECTION_COUNT];
        for (slot, s) in sections.iter_mut().zip(header.sections) {
            // In bounds: the layout matched and `file_len == bytes.len()`.
            let start = usize::try_from(s.offset).unwrap_or(usize::MAX);
            let len = usize::try_from(s.len).unwrap_or(usize::MAX);
            *slot = (start, start.saturating_add(len));
        }
        let index = TableIndex {
            bytes,
            path: path.to_owned(),
            symbol_count: header.symbol_count,
            segment_count: header.segment_count,
            posting_count: header.posting_count,
            sections,
        };
        if header.flags != 0 || header.reserved != 0 {
            return Err(index.err_malformed(16, "unknown flags or non-zero reserved header field"));
        }
        index.validate_symbols()?;
        index.validate_segments()?;
        index.validate_postings()?;
        Ok(index)
    }

    /// Number of symbols in the dictionary (ids are `0..symbol_count`).
    pub fn symbol_count(&self) -> u32 {
        self.symbol_count
    }

    /// Number of segments.
    pub fn segment_count(&self) -> u32 {
        self.segment_count
    }

    /// Number of (symbol, segment) postings.
    pub fn posting_count(&self) -> u64 {
        self.posting_count
    }

    /// Size of the index file in bytes.
    pub fn len_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The path given to [`TableIndex::open`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of the symbol called `name` (binary search of the dictionary).
    pub fn symbol_id(&self, name: &str) -> Option<SymbolId> {
        let (mut lo, mut hi) = (0u32, self.symbol_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let mid_name = self.str_bytes(self.symbol_record(mid)?.name)?;
            match mid_name.cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(SymbolId(mid)),
            }
        }
        None
    }

    /// The dictionary entry of `id`.
    pub fn symbol(&self, id: SymbolId) -> Option<SymbolInfo<'_>> {
        let rec = self.symbol_record(id.0)?;
        Some(SymbolInfo {
            id,
            name: self.str_at(rec.name)?,
            sector: self.opt_str_at(rec.sector)?,
            exchange: self.opt_str_at(rec.exchange)?,
        })
    }

    /// All dictionary entries in id (= bytewise name) order.
    pub fn symbols(&self) -> impl Iterator<Item = SymbolInfo<'_>> {
        (0..self.symbol_count).filter_map(|i| self.symbol(SymbolId(i)))
    }

    /// Ids of the symbols whose sector is exactly `sector` (case-sensitive).
    pub fn symbols_in_sector(&self, sector: &str) -> impl Iterator<Item = SymbolId> {
        self.symbols_where(sector, |r| r.sector)
    }

    /// Ids of the symbols whose exchange is exactly `exchange` (case-sensitive).
    pub fn symbols_on_exchange(&self, exchange: &str) -> impl Iterator<Item = SymbolId> {
        self.symbols_where(exchange, |r| r.exchange)
    }

    /// All segments in (`min_ts`, id) order.
    pub fn segments(&self) -> impl Iterator<Item = SegmentEntry> {
        (0..self.segment_count).filter_map(|i| self.segment_record(i).map(entry))
    }

    /// The entry of segment `id` (binary search of the by-id table).
    pub fn segment(&self, id: SegmentId) -> Option<SegmentEntry> {
        self.segment_index(id).and_then(|i| self.segment_record(i)).map(entry)
    }

    /// The ids of the symbols present in segment `id`, decoded from its roaring bitmap.
    pub fn segment_symbols(&self, id: SegmentId) -> Result<RoaringBitmap, IndexError> {
        let rec = self
            .segment_index(id)
            .and_then(|i| self.segment_record(i))
            .ok_or_else(|| IndexError::UnknownSegment { path: self.path.clone(), segment: id })?;
        let heap_start = self.abs(SEC_BITMAPS, 0, 0) as u64;
        let offset = heap_start.saturating_add(rec.bitmap_offset);
        let bad = |reason, source| IndexError::BadBitmap {
            path: self.path.clone(),
            segment: id,
            offset,
            reason,
            source,
        };
        let bytes = usize::try_from(rec.bitmap_offset)
            .ok()
            .and_then(|start| self.sub(SEC_BITMAPS, start, rec.bitmap_len as usize))
            .ok_or_else(|| bad("bitmap out of bounds", None))?;
        let mut reader = bytes;
        let bitmap = RoaringBitmap::deserialize_from(&mut reader)
            .map_err(|e| bad("cannot decode roaring bitmap", Some(e)))?;
        if !reader.is_empty() {
            return Err(bad("trailing bytes after bitmap", None));
        }
        if bitmap.len() != u64::from(rec.symbols) {
            return Err(bad("cardinality differs from the segment's symbol count", None));
        }
        if bitmap.max().is_some_and(|m| m >= self.symbol_count) {
            return Err(bad("symbol id beyond the dictionary", None));
        }
        Ok(bitmap)
    }

    /// The row ranges of symbol `id`, one per segment containing it, in segment (`min_ts`, id)
    /// order. An O(1) slice of the postings table; empty for an unknown id.
    pub fn ranges_for_symbol(&self, id: SymbolId) -> impl Iterator<Item = RowRange> {
        let postings = self
            .posting_bounds(id.0)
            .and_then(|(start, end)| {
                let len = end.checked_sub(start)?.checked_mul(POSTING_RECORD_LEN)?;
                self.sub(SEC_POSTINGS, start.checked_mul(POSTING_RECORD_LEN)?, len)
            })
            .unwrap_or(&[]);
        postings.chunks_exact(POSTING_RECORD_LEN).filter_map(|chunk| {
            let p = PostingRecord::decode(chunk)?;
            let seg = self.segment_id_at(p.segment_index)?;
            Some(RowRange {
                segment: seg,
                row_start: p.row_start,
                row_count: p.row_count,
                min_ts: p.min_ts,
                max_ts: p.max_ts,
            })
        })
    }

    /// A human-readable dump of the whole index (for `candlestore dump`).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let _ = self.describe_into(&mut out);
        out
    }

    fn describe_into(&self, out: &mut String) -> std::fmt::Result {
        let version = read_u32(&self.bytes, VERSION_OFFSET).unwrap_or(0);
        let crc = read_u32(&self.bytes, CRC_OFFSET).unwrap_or(0);
        writeln!(out, "index {}", self.path.display())?;
        writeln!(
            out,
            "  format version {version}, {} bytes, crc32c {crc:#010x}",
            self.len_bytes()
        )?;
        writeln!(
            out,
            "  {} symbols, {} segments, {} postings",
            self.symbol_count, self.segment_count, self.posting_count
        )?;
        for (name, (start, end)) in SECTION_NAMES.iter().zip(self.sections) {
            writeln!(out, "  section {name:<16} offset {start:>10} len {:>10}", end - start)?;
        }
        writeln!(out, "symbols:")?;
        for s in self.symbols() {
            let n = self.posting_bounds(s.id.0).map_or(0, |(a, b)| b.saturating_sub(a));
            writeln!(
                out,
                "  {:>6} {:<16} sector={:<20} exchange={:<10} segments={n}",
                s.id.0,
                s.name,
                s.sector.unwrap_or("-"),
                s.exchange.unwrap_or("-"),
            )?;
        }
        writeln!(out, "segments:")?;
        for s in self.segments() {
            writeln!(
                out,
                "  {:>20} {} .. {} rows={} symbols={}",
                s.id.0,
                format_micros(s.min_ts),
                format_micros(s.max_ts),
                s.rows,
                s.symbols
            )?;
        }
        let per_symbol: Vec<usize> = (0..self.symbol_count)
            .map(|i| self.posting_bounds(i).map_or(0, |(a, b)| b.saturating_sub(a)))
            .collect();
        let min = per_symbol.iter().min().copied().unwrap_or(0);
        let max = per_symbol.iter().max().copied().unwrap_or(0);
        let without = per_symbol.iter().filter(|n| **n == 0).count();
        writeln!(
            out,
            "postings: {} total, per symbol min {min} max {max} mean {:.1}, {without} symbols \
             without postings",
            self.posting_count,
            if per_symbol.is_empty() {
                0.0
            } else {
                self.posting_count as f64 / per_symbol.len() as f64
            }
        )
    }

    // ---- raw access (bounds-checked, never panics) ----

    fn section(&self, s: usize) -> &[u8] {
        self.sections.get(s).and_then(|&(a, b)| self.bytes.get(a..b)).unwrap_or(&[])
    }

    /// `len` bytes at `start` within section `s`.
    fn sub(&self, s: usize, start: usize, len: usize) -> Option<&[u8]> {
        self.section(s).get(start..start.checked_add(len)?)
    }

    fn record(&self, s: usize, index: u32, size: usize) -> Option<&[u8]> {
        self.sub(s, (index as usize).checked_mul(size)?, size)
    }

    fn symbol_record(&self, i: u32) -> Option<SymbolRecord> {
        SymbolRecord::decode(self.record(SEC_SYMBOLS, i, SYMBOL_RECORD_LEN)?)
    }

    fn segment_record(&self, i: u32) -> Option<SegmentRecord> {
        SegmentRecord::decode(self.record(SEC_SEGMENTS, i, SEGMENT_RECORD_LEN)?)
    }

    fn segment_id_at(&self, i: u32) -> Option<SegmentId> {
        read_u64(self.record(SEC_SEGMENTS, i, SEGMENT_RECORD_LEN)?, 0).map(SegmentId)
    }

    fn segment_index(&self, id: SegmentId) -> Option<u32> {
        let by_id = self.section(SEC_SEGMENTS_BY_ID);
        let (mut lo, mut hi) = (0u32, self.segment_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let idx = read_u32(by_id, mid as usize * SEGMENT_BY_ID_LEN)?;
            let mid_id = self.segment_id_at(idx)?;
            match mid_id.cmp(&id) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(idx),
            }
        }
        None
    }

    /// `[start, end)` posting indexes of symbol `i`.
    fn posting_bounds(&self, i: u32) -> Option<(usize, usize)> {
        let offsets = self.section(SEC_POSTING_OFFSETS);
        let at = (i as usize).checked_mul(POSTING_OFFSET_LEN)?;
        let start = usize::try_from(read_u64(offsets, at)?).ok()?;
        let end = usize::try_from(read_u64(offsets, at.checked_add(POSTING_OFFSET_LEN)?)?).ok()?;
        (start <= end).then_some((start, end))
    }

    fn str_bytes(&self, r: StrRef) -> Option<&[u8]> {
        self.sub(SEC_STRINGS, r.offset as usize, r.len as usize)
    }

    fn str_at(&self, r: StrRef) -> Option<&str> {
        // Validated in `open`; re-checking a short slice is cheap and keeps this panic-free.
        std::str::from_utf8(self.str_bytes(r)?).ok()
    }

    /// `Some(None)` for the "no value" ref, `None` if the ref is invalid.
    fn opt_str_at(&self, r: StrRef) -> Option<Option<&str>> {
        if r.is_none() { Some(None) } else { self.str_at(r).map(Some) }
    }

    fn symbols_where(
        &self,
        value: &str,
        field: fn(&SymbolRecord) -> StrRef,
    ) -> impl Iterator<Item = SymbolId> {
        (0..self.symbol_count).filter_map(move |i| {
            let r = field(&self.symbol_record(i)?);
            (!r.is_none() && self.str_bytes(r)? == value.as_bytes()).then_some(SymbolId(i))
        })
    }

    // ---- validation (run once by `open`) ----

    fn err_oob(&self, offset: usize, reason: &'static str) -> IndexError {
        IndexError::OutOfBounds { path: self.path.clone(), offset: offset as u64, reason }
    }

    fn err_malformed(&self, offset: usize, reason: &'static str) -> IndexError {
        IndexError::Malformed { path: self.path.clone(), offset: offset as u64, reason }
    }

    /// Absolute file offset of record `i` of section `s`, for error messages.
    fn abs(&self, s: usize, i: u64, size: usize) -> usize {
        let base = self.sections.get(s).map_or(0, |r| r.0);
        base.saturating_add((i as usize).saturating_mul(size))
    }

    fn validate_str(&self, r: StrRef, at: usize, optional: bool) -> Result<(), IndexError> {
        if r.is_none() {
            return if !optional {
                Err(self.err_malformed(at, "symbol name is missing"))
            } else if r.len != 0 {
                Err(self.err_malformed(at, "absent string with non-zero length"))
            } else {
                Ok(())
            };
        }
        let b =
            self.str_bytes(r).ok_or_else(|| self.err_oob(at, "string outside the string heap"))?;
        std::str::from_utf8(b).map_err(|_| self.err_malformed(at, "string is not valid UTF-8"))?;
        Ok(())
    }

    fn validate_symbols(&self) -> Result<(), IndexError> {
        let mut prev: Option<&[u8]> = None;
        for i in 0..self.symbol_count {
            let at = self.abs(SEC_SYMBOLS, u64::from(i), SYMBOL_RECORD_LEN);
            let rec = self.symbol_record(i).ok_or_else(|| self.err_oob(at, "symbol record"))?;
            self.validate_str(rec.name, at, false)?;
            self.validate_str(rec.sector, at + 8, true)?;
            self.validate_str(rec.exchange, at + 16, true)?;
            let name = self.str_bytes(rec.name).ok_or_else(|| self.err_oob(at, "symbol name"))?;
            if prev.is_some_and(|p| p >= name) {
                return Err(self.err_malformed(at, "symbol names are not strictly increasing"));
            }
            prev = Some(name);
        }
        Ok(())
    }

    fn validate_segments(&self) -> Result<(), IndexError> {
        let heap_len = self.section(SEC_BITMAPS).len() as u64;
        let mut prev: Option<(i64, u64)> = None;
        for i in 0..self.segment_count {
            let at = self.abs(SEC_SEGMENTS, u64::from(i), SEGMENT_RECORD_LEN);
            let s = self.segment_record(i).ok_or_else(|| self.err_oob(at, "segment record"))?;
            if s.min_ts > s.max_ts {
                return Err(self.err_malformed(at, "segment min_ts is after max_ts"));
            }
            if s.symbols > self.symbol_count {
                return Err(self.err_malformed(at, "segment has more symbols than the dictionary"));
            }
            let end = s.bitmap_offset.checked_add(u64::from(s.bitmap_len));
            if end.is_none_or(|e| e > heap_len) {
                return Err(self.err_oob(at + 36, "segment bitmap outside the bitmap heap"));
            }
            if prev.is_some_and(|p| p >= (s.min_ts, s.id)) {
                return Err(self.err_malformed(at, "segments are not in (min_ts, id) order"));
            }
            prev = Some((s.min_ts, s.id));
        }
        let by_id = self.section(SEC_SEGMENTS_BY_ID);
        let mut prev_id: Option<SegmentId> = None;
        for i in 0..self.segment_count {
            let at = self.abs(SEC_SEGMENTS_BY_ID, u64::from(i), SEGMENT_BY_ID_LEN);
            let idx = read_u32(by_id, i as usize * SEGMENT_BY_ID_LEN)
                .ok_or_else(|| self.err_oob(at, "segment-by-id entry"))?;
            let id = self
                .segment_id_at(idx)
                .ok_or_else(|| self.err_oob(at, "segment-by-id entry beyond the segment table"))?;
            // Strictly increasing ids over `segment_count` in-range entries make it a permutation.
            if prev_id.is_some_and(|p| p >= id) {
                return Err(self.err_malformed(at, "segment-by-id table is not in id order"));
            }
            prev_id = Some(id);
        }
        Ok(())
    }

    /// Validates the postings table against the offsets and segment tables.
    fn validate_postings(&self) -> Result<(), IndexError> {
        // Per-segment bounds `(rows, min_ts, max_ts)`, copied once (segments are few).
        let bounds: Vec<(u64, i64, i64)> = (0..self.segment_count)
            .map(|i| self.segment_record(i).map_or((0, 0, -1), |s| (s.rows, s.min_ts, s.max_ts)))
            .collect();
        let postings = self.section(SEC_POSTINGS);
        let offsets = self.section(SEC_POSTING_OFFSETS);
        let at = self.abs(SEC_POSTING_OFFSETS, 0, POSTING_OFFSET_LEN);
        if read_u64(offsets, 0) != Some(0) {
            return Err(self.err_malformed(at, "first posting offset is not 0"));
        }
        let mut start = 0u64;
        for i in 1..=u64::from(self.symbol_count) {
            let at = self.abs(SEC_POSTING_OFFSETS, i, POSTING_OFFSET_LEN);
            let end = usize::try_from(i)
                .ok()
                .and_then(|i| read_u64(offsets, i.checked_mul(POSTING_OFFSET_LEN)?))
                .unwrap_or(0);
            let block = (end >= start && end <= self.posting_count)
                .then(|| {
                    let s = usize::try_from(start).ok()?.checked_mul(POSTING_RECORD_LEN)?;
                    let e = usize::try_from(end).ok()?.checked_mul(POSTING_RECORD_LEN)?;
                    postings.get(s..e)
                })
                .flatten();
            let Some(block) = block else {
                let reason = "posting offsets decrease or exceed the posting count";
                return Err(self.err_oob(at, reason));
            };
            // Fast branch-free pass; on failure, a second pass finds and names the problem.
            if !block_is_valid(block, &bounds) {
                let mut prev_seg: Option<u32> = None;
                for (p, chunk) in (start..).zip(block.chunks_exact(POSTING_RECORD_LEN)) {
                    let rec = PostingRecord::decode(chunk);
                    if let Err((oob, reason)) = check_posting(rec, &bounds, &mut prev_seg) {
                        let at = self.abs(SEC_POSTINGS, p, POSTING_RECORD_LEN);
                        return Err(if oob {
                            self.err_oob(at, reason)
                        } else {
                            self.err_malformed(at, reason)
                        });
                    }
                }
            }
            start = end;
        }
        if start != self.posting_count {
            let at =
                self.abs(SEC_POSTING_OFFSETS, u64::from(self.symbol_count), POSTING_OFFSET_LEN);
            return Err(self.err_malformed(at, "last posting offset is not the posting count"));
        }
        Ok(())
    }
}

/// Whether every posting of one symbol's block passes [`check_posting`] (without saying
/// which fails), evaluated without data-dependent branches.
fn block_is_valid(block: &[u8], bounds: &[(u64, i64, i64)]) -> bool {
    let chunks = block.chunks_exact(POSTING_RECORD_LEN);
    let mut ok = chunks.remainder().is_empty();
    let mut next_min_seg = 0u64; // segment indexes strictly increase within a block
    for chunk in chunks {
        let Some(p) = PostingRecord::decode(chunk) else { return false };
        let Some(&(rows, min_ts, max_ts)) = bounds.get(p.segment_index as usize) else {
            return false;
        };
        ok &= (u64::from(p.segment_index) >= next_min_seg)
            & (p.reserved == 0)
            & (p.row_count != 0)
            & (p.min_ts <= p.max_ts)
            & (u64::from(p.row_start) + u64::from(p.row_count) <= rows)
            & (p.min_ts >= min_ts)
            & (p.max_ts <= max_ts);
        next_min_seg = u64::from(p.segment_index) + 1;
    }
    ok
}

/// Checks one posting against the bounds `(rows, min_ts, max_ts)` of every segment.
/// Errors are `(out_of_bounds, reason)`.
#[inline]
fn check_posting(
    rec: Option<PostingRecord>,
    bounds: &[(u64, i64, i64)],
    prev: &mut Option<u32>,
) -> Result<(), (bool, &'static str)> {
    let malformed = |reason| Err((false, reason));
    let rec = rec.ok_or((true, "posting record out of bounds"))?;
    let &(rows, min_ts, max_ts) = bounds
        .get(rec.segment_index as usize)
        .ok_or((true, "posting refers to a segment beyond the segment table"))?;
    if prev.is_some_and(|q| q >= rec.segment_index) {
        return malformed("postings of a symbol are not in segment order");
    }
    *prev = Some(rec.segment_index);
    if rec.reserved != 0 {
        return malformed("reserved posting field is not zero");
    }
    if rec.row_count == 0 || rec.min_ts > rec.max_ts {
        return malformed("empty posting or min_ts after max_ts");
    }
    if u64::from(rec.row_start) + u64::from(rec.row_count) > rows {
        return Err((true, "posting rows beyond the segment's row count"));
    }
    if rec.min_ts < min_ts || rec.max_ts > max_ts {
        return malformed("posting datetimes outside the segment's bounds");
    }
    Ok(())
}

fn entry(s: SegmentRecord) -> SegmentEntry {
    SegmentEntry {
        id: SegmentId(s.id),
        min_ts: s.min_ts,
        max_ts: s.max_ts,
        rows: s.rows,
        symbols: s.symbols,
    }
}

/// Checks magic, version and length, and decodes the header.
fn check_header(b: &[u8], path: &Path) -> Result<Header, IndexError> {
    let prefix = b.get(..MAGIC.len()).unwrap_or(b);
    if MAGIC.get(..prefix.len()) != Some(prefix) {
        return Err(IndexError::BadMagic { path: path.to_owned() });
    }
    if let Some(found) = read_u32(b, VERSION_OFFSET)
        && !(MIN_READ_VERSION..=MAX_READ_VERSION).contains(&found)
    {
        return Err(IndexError::UnsupportedVersion {
            path: path.to_owned(),
            found,
            min: MIN_READ_VERSION,
            max: MAX_READ_VERSION,
        });
    }
    let too_short = || IndexError::LengthMismatch {
        path: path.to_owned(),
        expected: HEADER_LEN as u64,
        actual: b.len() as u64,
    };
    let header = Header::decode(b).ok_or_else(too_short)?;
    if header.file_len != b.len() as u64 {
        return Err(IndexError::LengthMismatch {
            path: path.to_owned(),
            expected: header.file_len,
            actual: b.len() as u64,
        });
    }
    Ok(header)
}

/// Checks that the section table is the canonical layout for the header's counts.
fn check_layout(header: &Header, path: &Path) -> Result<(), IndexError> {
    let strings_len = header.sections.get(SEC_STRINGS).map_or(0, |s| s.len);
    let bitmaps_len = header.sections.get(SEC_BITMAPS).map_or(0, |s| s.len);
    let layout = Layout::new(
        header.symbol_count,
        header.segment_count,
        header.posting_count,
        strings_len,
        bitmaps_len,
    )
    .ok_or_else(|| IndexError::Malformed {
        path: path.to_owned(),
        offset: 32,
        reason: "table sizes overflow",
    })?;
    if layout.sections != header.sections || layout.file_len != header.file_len {
        return Err(IndexError::OutOfBounds {
            path: path.to_owned(),
            offset: 48,
            reason: "section table does not match the counts (sections misplaced or sized wrong)",
        });
    }
    Ok(())
}
