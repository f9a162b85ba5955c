//! On-disk layout of the index file (normative description: `format-spec/index.md`).
//!
//! Everything here is plain data plus bounds-checked little-endian readers; the reader and the
//! builder share these definitions so that the two sides cannot drift apart.

/// First 8 bytes of every index file.
pub(crate) const MAGIC: [u8; 8] = *b"CSIDX\0\r\n";
/// The format version this build writes.
pub(crate) const VERSION: u32 = 1;
/// The oldest format version this build reads.
pub(crate) const MIN_READ_VERSION: u32 = 1;
/// The newest format version this build reads.
pub(crate) const MAX_READ_VERSION: u32 = 1;

/// Size of the fixed header, including the section table.
pub(crate) const HEADER_LEN: usize = 160;
/// Byte offset of the version field.
pub(crate) const VERSION_OFFSET: usize = 8;
/// Byte offset of the crc32c field (the only bytes not covered by the checksum).
pub(crate) const CRC_OFFSET: usize = 12;
const FLAGS_OFFSET: usize = 16;
const RESERVED_OFFSET: usize = 20;
const FILE_LEN_OFFSET: usize = 24;
const SYMBOL_COUNT_OFFSET: usize = 32;
const SEGMENT_COUNT_OFFSET: usize = 36;
const POSTING_COUNT_OFFSET: usize = 40;
const SECTION_TABLE_OFFSET: usize = 48;

/// Number of sections, in file order.
pub(crate) const SECTION_COUNT: usize = 7;
/// Symbol table: `symbol_count` × [`SYMBOL_RECORD_LEN`].
pub(crate) const SEC_SYMBOLS: usize = 0;
/// Per-symbol postings offsets: `symbol_count + 1` × u64.
pub(crate) const SEC_POSTING_OFFSETS: usize = 1;
/// Segment table in (min_ts, id) order: `segment_count` × [`SEGMENT_RECORD_LEN`].
pub(crate) const SEC_SEGMENTS: usize = 2;
/// Segment indexes in ascending segment-id order: `segment_count` × u32.
pub(crate) const SEC_SEGMENTS_BY_ID: usize = 3;
/// Postings grouped by symbol: `posting_count` × [`POSTING_RECORD_LEN`].
pub(crate) const SEC_POSTINGS: usize = 4;
/// UTF-8 string heap.
pub(crate) const SEC_STRINGS: usize = 5;
/// Concatenated portable-format roaring bitmaps.
pub(crate) const SEC_BITMAPS: usize = 6;

/// Human-readable section names, for `describe` and error messages.
pub(crate) const SECTION_NAMES: [&str; SECTION_COUNT] =
    ["symbols", "posting_offsets", "segments", "segments_by_id", "postings", "strings", "bitmaps"];

pub(crate) const SYMBOL_RECORD_LEN: usize = 24;
pub(crate) const POSTING_OFFSET_LEN: usize = 8;
pub(crate) const SEGMENT_RECORD_LEN: usize = 48;
pub(crate) const SEGMENT_BY_ID_LEN: usize = 4;
pub(crate) const POSTING_RECORD_LEN: usize = 32;

/// String-ref offset meaning "no value" (its length must be 0).
pub(crate) const NONE_OFFSET: u32 = u32::MAX;

/// Rounds `n` up to a multiple of 8 (`None` on overflow).
pub(crate) fn align8(n: u64) -> Option<u64> {
    n.checked_add(7).map(|v| v & !7)
}

/// Reads a little-endian u32 at `off`, `None` if out of bounds.
#[inline]
pub(crate) fn read_u32(b: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let arr: [u8; 4] = b.get(off..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(arr))
}

/// Reads a little-endian u64 at `off`, `None` if out of bounds.
#[inline]
pub(crate) fn read_u64(b: &[u8], off: usize) -> Option<u64> {
    let end = off.checked_add(8)?;
    let arr: [u8; 8] = b.get(off..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(arr))
}

/// Reads a little-endian i64 at `off`, `None` if out of bounds.
#[inline]
pub(crate) fn read_i64(b: &[u8], off: usize) -> Option<i64> {
    read_u64(b, off).map(|v| v as i64)
}

/// The checksum of a whole file: crc32c over every byte except the crc field itself.
pub(crate) fn file_crc(b: &[u8]) -> u32 {
    let head = b.get(..CRC_OFFSET).unwrap_or(b);
    let tail = b.get(CRC_OFFSET + 4..).unwrap_or(&[]);
    crc32c::crc32c_append(crc32c::crc32c(head), tail)
}

/// A `(offset, len)` pair locating a section in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SectionRef {
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// The canonical placement of every section for given counts and heap sizes.
///
/// Sections follow the header in table order, each starting at the next 8-byte boundary after
/// the previous one; the file ends at the 8-byte boundary after the last section. A reader
/// requires the header's section table to equal this exactly, which bounds-checks every section
/// at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) sections: [SectionRef; SECTION_COUNT],
    pub(crate) file_len: u64,
}

impl Layout {
    /// Computes the layout; `None` if any size overflows u64.
    pub(crate) fn new(
        symbol_count: u32,
        segment_count: u32,
        posting_count: u64,
        strings_len: u64,
        bitmaps_len: u64,
    ) -> Option<Layout> {
        let symbols = u64::from(symbol_count);
        let segments = u64::from(segment_count);
        let lens = [
            symbols.checked_mul(SYMBOL_RECORD_LEN as u64)?,
            symbols.checked_add(1)?.checked_mul(POSTING_OFFSET_LEN as u64)?,
            segments.checked_mul(SEGMENT_RECORD_LEN as u64)?,
            segments.checked_mul(SEGMENT_BY_ID_LEN as u64)?,
            posting_count.checked_mul(POSTING_RECORD_LEN as u64)?,
            strings_len,
            bitmaps_len,
        ];
        let mut sections = [SectionRef::default(); SECTION_COUNT];
        let mut pos = HEADER_LEN as u64;
        for (slot, len) in sections.iter_mut().zip(lens) {
            let offset = align8(pos)?;
            *slot = SectionRef { offset, len };
            pos = offset.checked_add(len)?;
        }
        Some(Layout { sections, file_len: align8(pos)? })
    }
}

/// The decoded fixed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) version: u32,
    pub(crate) crc: u32,
    pub(crate) flags: u32,
    pub(crate) reserved: u32,
    pub(crate) file_len: u64,
    pub(crate) symbol_count: u32,
    pub(crate) segment_count: u32,
    pub(crate) posting_count: u64,
    pub(crate) sections: [SectionRef; SECTION_COUNT],
}

impl Header {
    /// Decodes the header; `None` if `b` is shorter than [`HEADER_LEN`]. Does not check magic.
    pub(crate) fn decode(b: &[u8]) -> Option<Header> {
        let mut sections = [SectionRef::default(); SECTION_COUNT];
        for (i, s) in sections.iter_mut().enumerate() {
            let at = SECTION_TABLE_OFFSET + i * 16;
            *s = SectionRef { offset: read_u64(b, at)?, len: read_u64(b, at + 8)? };
        }
        Some(Header {
            version: read_u32(b, VERSION_OFFSET)?,
            crc: read_u32(b, CRC_OFFSET)?,
            flags: read_u32(b, FLAGS_OFFSET)?,
            reserved: read_u32(b, RESERVED_OFFSET)?,
            file_len: read_u64(b, FILE_LEN_OFFSET)?,
            symbol_count: read_u32(b, SYMBOL_COUNT_OFFSET)?,
            segment_count: read_u32(b, SEGMENT_COUNT_OFFSET)?,
            posting_count: read_u64(b, POSTING_COUNT_OFFSET)?,
            sections,
        })
    }

    /// Encodes the header (with the crc field as given) into exactly [`HEADER_LEN`] bytes.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut put = |at: usize, bytes: &[u8]| {
            if let Some(dst) = out.get_mut(at..at + bytes.len()) {
                dst.copy_from_slice(bytes);
            }
        };
        put(0, &MAGIC);
        put(VERSION_OFFSET, &self.version.to_le_bytes());
        put(CRC_OFFSET, &self.crc.to_le_bytes());
        put(FLAGS_OFFSET, &self.flags.to_le_bytes());
        put(RESERVED_OFFSET, &self.reserved.to_le_bytes());
        put(FILE_LEN_OFFSET, &self.file_len.to_le_bytes());
        put(SYMBOL_COUNT_OFFSET, &self.symbol_count.to_le_bytes());
        put(SEGMENT_COUNT_OFFSET, &self.segment_count.to_le_bytes());
        put(POSTING_COUNT_OFFSET, &self.posting_count.to_le_bytes());
        for (i, s) in self.sections.iter().enumerate() {
            let at = SECTION_TABLE_OFFSET + i * 16;
            put(at, &s.offset.to_le_bytes());
            put(at + 8, &s.len.to_le_bytes());
        }
        out
    }
}

/// A reference into the string heap; `offset == NONE_OFFSET && len == 0` means "no value".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StrRef {
    pub(crate) offset: u32,
    pub(crate) len: u32,
}

impl StrRef {
    pub(crate) const NONE: StrRef = StrRef { offset: NONE_OFFSET, len: 0 };

    pub(crate) fn is_none(self) -> bool {
        self.offset == NONE_OFFSET
    }
}

/// One entry of the symbol table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SymbolRecord {
    pub(crate) name: StrRef,
    pub(crate) sector: StrRef,
    pub(crate) exchange: StrRef,
}

impl SymbolRecord {
    pub(crate) fn decode(b: &[u8]) -> Option<SymbolRecord> {
        let r = |at| Some(StrRef { offset: read_u32(b, at)?, len: read_u32(b, at + 4)? });
        Some(SymbolRecord { name: r(0)?, sector: r(8)?, exchange: r(16)? })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        for s in [self.name, self.sector, self.exchange] {
            out.extend_from_slice(&s.offset.to_le_bytes());
            out.extend_from_slice(&s.len.to_le_bytes());
        }
    }
}

/// One entry of the segment table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentRecord {
    pub(crate) id: u64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) rows: u64,
    pub(crate) symbols: u32,
    pub(crate) bitmap_len: u32,
    pub(crate) bitmap_offset: u64,
}

impl SegmentRecord {
    #[inline]
    pub(crate) fn decode(b: &[u8]) -> Option<SegmentRecord> {
        Some(SegmentRecord {
            id: read_u64(b, 0)?,
            min_ts: read_i64(b, 8)?,
            max_ts: read_i64(b, 16)?,
            rows: read_u64(b, 24)?,
            symbols: read_u32(b, 32)?,
            bitmap_len: read_u32(b, 36)?,
            bitmap_offset: read_u64(b, 40)?,
        })
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.symbols.to_le_bytes());
        out.extend_from_slice(&self.bitmap_len.to_le_bytes());
        out.extend_from_slice(&self.bitmap_offset.to_le_bytes());
    }
}

/// One posting: the rows of one symbol inside one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PostingRecord {
    pub(crate) segment_index: u32,
    pub(crate) row_start: u32,
    pub(crate) row_count: u32,
    pub(crate) reserved: u32,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
}

impl PostingRecord {
    #[inline]
    pub(crate) fn decode(b: &[u8]) -> Option<PostingRecord> {
        <&[u8; POSTING_RECORD_LEN]>::try_from(b).ok().map(PostingRecord::from_array)
    }

    /// Infallible decode of a fixed-size record (destructuring: no indexing, no checks).
    #[inline]
    pub(crate) fn from_array(a: &[u8; POSTING_RECORD_LEN]) -> PostingRecord {
        let [
            s0,
            s1,
            s2,
            s3,
            r0,
            r1,
            r2,
            r3,
            c0,
            c1,
            c2,
            c3,
            z0,
            z1,
            z2,
            z3,
            m0,
            m1,
            m2,
            m3,
            m4,
            m5,
            m6,
            m7,
            x0,
            x1,
            x2,
            x3,
            x4,
            x5,
            x6,
            x7,
        ] = *a;
        PostingRecord {
            segment_index: u32::from_le_bytes([s0, s1, s2, s3]),
            row_start: u32::from_le_bytes([r0, r1, r2, r3]),
            row_count: u32::from_le_bytes([c0, c1, c2, c3]),
            reserved: u32::from_le_bytes([z0, z1, z2, z3]),
            min_ts: i64::from_le_bytes([m0, m1, m2, m3, m4, m5, m6, m7]),
            max_ts: i64::from_le_bytes([x0, x1, x2, x3, x4, x5, x6, x7]),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.segment_index.to_le_bytes());
        out.extend_from_slice(&self.row_start.to_le_bytes());
        out.extend_from_slice(&self.row_count.to_le_bytes());
        out.extend_from_slice(&self.reserved.to_le_bytes());
        out.extend_from_slice(&self.min_ts.to_le_bytes());
        out.extend_from_slice(&self.max_ts.to_le_bytes());
    }
}

/// Formats microseconds since the Unix epoch as an RFC 3339 UTC timestamp (for `describe`).
pub(crate) fn format_micros(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), valid for the whole i64 microsecond range.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_aligned_and_ordered() {
        let l = Layout::new(3, 2, 5, 13, 7).unwrap();
        let mut prev_end = HEADER_LEN as u64;
        for s in l.sections {
            assert_eq!(s.offset % 8, 0);
            assert!(s.offset >= prev_end && s.offset < prev_end + 8);
            prev_end = s.offset + s.len;
        }
        assert_eq!(l.file_len % 8, 0);
        assert!(l.file_len >= prev_end);
        assert!(Layout::new(u32::MAX, u32::MAX, u64::MAX, 0, 0).is_none());
    }

    #[test]
    fn header_roundtrip() {
        let h = Header {
            version: VERSION,
            crc: 0xdead_beef,
            flags: 0,
            reserved: 0,
            file_len: 4096,
            symbol_count: 3,
            segment_count: 2,
            posting_count: 5,
            sections: Layout::new(3, 2, 5, 13, 7).unwrap().sections,
        };
        let bytes = h.encode();
        assert_eq!(bytes[..8], MAGIC);
        assert_eq!(Header::decode(&bytes), Some(h));
        assert_eq!(Header::decode(&bytes[..HEADER_LEN - 1]), None);
    }

    #[test]
    fn micros_formatting() {
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(format_micros(1_700_000_000_123_456), "2023-11-14T22:13:20.123456Z");
        assert_eq!(format_micros(-1), "1969-12-31T23:59:59.999999Z");
        // Extremes must not panic.
        let _ = format_micros(i64::MIN);
        let _ = format_micros(i64::MAX);
    }
}
