//! The WAL file format (normative description: `format-spec/wal.md`).
//!
//! Encoding is infallible; decoding never trusts a byte from disk for indexing without a bounds
//! check and reports every problem as a [`Defect`] at a byte offset.

use std::fmt;

use super::Lsn;

/// The first 8 bytes of every WAL file.
pub(crate) const MAGIC: [u8; 8] = *b"CSWAL\0\r\n";
/// The format version this build writes.
pub const FORMAT_VERSION: u32 = 1;
/// The oldest format version this build reads.
pub(crate) const MIN_READ_VERSION: u32 = 1;
/// Size of the file header: magic, version, flags, first LSN, crc32c.
pub(crate) const HEADER_LEN: usize = 28;
/// Size of a frame's header: payload length, crc32c, LSN.
pub(crate) const FRAME_HEADER_LEN: usize = 16;
/// The largest payload a frame may carry (1 GiB). A larger declared length is never valid.
pub const MAX_PAYLOAD_LEN: usize = 1 << 30;

/// The header of one WAL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// Format version the file was written with.
    pub version: u32,
    /// Reserved flags (0 in version 1).
    pub flags: u32,
    /// LSN of the file's first frame (the next LSN, if the file holds no frame yet).
    pub first_lsn: Lsn,
}

/// Why bytes of a WAL file are not a valid header or frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Defect {
    /// The file is shorter than a header.
    HeaderTruncated {
        /// Bytes present.
        len: u64,
    },
    /// The file does not start with the WAL magic.
    BadMagic,
    /// Written by a format version this build cannot read.
    UnsupportedVersion {
        /// Version found.
        found: u32,
    },
    /// Unknown header flags are set.
    UnknownFlags {
        /// Flags found.
        flags: u32,
    },
    /// The header checksum does not match.
    HeaderChecksum {
        /// Stored crc32c.
        expected: u32,
        /// Computed crc32c.
        got: u32,
    },
    /// The file name's LSN differs from the header's first LSN.
    NameMismatch {
        /// LSN in the file name.
        name_lsn: Lsn,
        /// LSN in the header.
        header_lsn: Lsn,
    },
    /// Every byte from here to the end of the file is zero (a preallocated or torn tail).
    ZeroFill,
    /// The frame (header or payload) runs past the end of the file.
    FrameTruncated {
        /// Bytes the frame needs (header + declared payload; the header alone if incomplete).
        needed: u64,
        /// Bytes present from the frame's start to the end of the file.
        available: u64,
    },
    /// The declared payload length exceeds [`MAX_PAYLOAD_LEN`].
    FrameTooLarge {
        /// Declared payload length.
        declared: u32,
    },
    /// The frame checksum does not match its LSN and payload.
    Checksum {
        /// Stored crc32c.
        expected: u32,
        /// Computed crc32c.
        got: u32,
    },
    /// The LSN is not the one that must come next.
    LsnDiscontinuity {
        /// The LSN continuity requires.
        expected: Lsn,
        /// The LSN found.
        found: Lsn,
    },
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Defect::HeaderTruncated { len } => {
                write!(f, "file is {len} bytes, shorter than the {HEADER_LEN}-byte header")
            }
            Defect::BadMagic => f.write_str("not a candlestore WAL file (bad magic)"),
            Defect::UnsupportedVersion { found } => write!(
                f,
                "format version {found} is not supported \
                 (this build reads {MIN_READ_VERSION}..={FORMAT_VERSION})"
            ),
            Defect::UnknownFlags { flags } => write!(f, "unknown header flags {flags:#010x}"),
            Defect::HeaderChecksum { expected, got } => {
                write!(
                    f,
                    "header checksum mismatch (stored {expected:#010x}, computed {got:#010x})"
                )
            }
            Defect::NameMismatch { name_lsn, header_lsn } => {
                write!(f, "file name says first LSN {name_lsn}, header says {header_lsn}")
            }
            Defect::ZeroFill => f.write_str("zero-filled tail"),
            Defect::FrameTruncated { needed, available } => {
                write!(f, "frame needs {needed} bytes, only {available} remain in the file")
            }
            Defect::FrameTooLarge { declared } => {
                write!(f, "declared payload length {declared} exceeds the {MAX_PAYLOAD_LEN} limit")
            }
            Defect::Checksum { expected, got } => {
                write!(f, "frame checksum mismatch (stored {expected:#010x}, computed {got:#010x})")
            }
            Defect::LsnDiscontinuity { expected, found } => {
                write!(f, "expected LSN {expected}, found {found}")
            }
        }
    }
}

/// The file name of the WAL file whose first LSN is `first_lsn`.
pub(crate) fn file_name(first_lsn: Lsn) -> String {
    format!("wal-{:020}.log", first_lsn.0)
}

/// The first LSN encoded in a WAL file name, or `None` for any other name.
pub(crate) fn parse_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Lsn)
}

/// Encodes a file header.
pub(crate) fn encode_header(first_lsn: Lsn) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[0..8].copy_from_slice(&MAGIC);
    out[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&0u32.to_le_bytes());
    out[16..24].copy_from_slice(&first_lsn.0.to_le_bytes());
    let crc = crc32c::crc32c(&out[..24]);
    out[24..28].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes and validates a file header from the start of `bytes`.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<FileHeader, Defect> {
    let Some(h) = bytes.get(..HEADER_LEN) else {
        if bytes.iter().all(|&b| b == 0) {
            return Err(Defect::ZeroFill);
        }
        return Err(Defect::HeaderTruncated { len: bytes.len() as u64 });
    };
    if h.iter().all(|&b| b == 0) && bytes.iter().all(|&b| b == 0) {
        return Err(Defect::ZeroFill);
    }
    if h[0..8] != MAGIC {
        return Err(Defect::BadMagic);
    }
    let expected = read_u32(h, 24);
    let got = crc32c::crc32c(&h[..24]);
    if expected != got {
        return Err(Defect::HeaderChecksum { expected, got });
    }
    let version = read_u32(h, 8);
    if !(MIN_READ_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(Defect::UnsupportedVersion { found: version });
    }
    let flags = read_u32(h, 12);
    if flags != 0 {
        return Err(Defect::UnknownFlags { flags });
    }
    Ok(FileHeader { version, flags, first_lsn: Lsn(read_u64(h, 16)) })
}

/// The checksum of a frame: crc32c over the 8 LSN bytes followed by the payload (unmasked).
pub(crate) fn frame_crc(lsn: Lsn, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&lsn.0.to_le_bytes()), payload)
}

/// Encodes a whole frame into `out` (cleared first), ready for one `append` call.
pub(crate) fn encode_frame_into(out: &mut Vec<u8>, lsn: Lsn, payload: &[u8]) {
    debug_assert!(payload.len() <= MAX_PAYLOAD_LEN);
    out.clear();
    out.reserve(FRAME_HEADER_LEN + payload.len());
    // MAX_PAYLOAD_LEN < u32::MAX, and writers reject larger payloads before encoding.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&frame_crc(lsn, payload).to_le_bytes());
    out.extend_from_slice(&lsn.0.to_le_bytes());
    out.extend_from_slice(payload);
}

/// A structurally complete frame: its declared length fits in the file. The checksum has been
/// computed but not judged; the caller decides what a mismatch means.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFrame<'a> {
    /// Byte offset of the frame's first byte in the file.
    pub(crate) offset: u64,
    /// LSN stored in the frame.
    pub(crate) lsn: Lsn,
    /// Stored checksum.
    pub(crate) stored_crc: u32,
    /// Checksum computed over the stored LSN and payload.
    pub(crate) computed_crc: u32,
    /// The payload bytes.
    pub(crate) payload: &'a [u8],
}

impl RawFrame<'_> {
    /// Offset one past the frame's last byte.
    pub(crate) fn end(&self) -> u64 {
        self.offset + (FRAME_HEADER_LEN + self.payload.len()) as u64
    }

    /// Whether the stored checksum matches.
    pub(crate) fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }
}

/// One step of walking the frames of a file.
#[derive(Debug)]
pub(crate) enum Step<'a> {
    /// A frame whose bytes are all present.
    Frame(RawFrame<'a>),
    /// The end of the file, exactly at a frame boundary.
    End,
    /// Bytes at `offset` cannot be a frame; walking cannot continue past them.
    Broken {
        /// Where the broken frame starts.
        offset: u64,
        /// What is wrong.
        defect: Defect,
    },
}

/// Walks the frames of one file's bytes (after its header). Stops for good after `End` or
/// `Broken`.
#[derive(Debug)]
pub(crate) struct FrameWalker<'a> {
    bytes: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> FrameWalker<'a> {
    /// Starts walking at `start` (normally [`HEADER_LEN`]).
    pub(crate) fn new(bytes: &'a [u8], start: usize) -> Self {
        Self { bytes, pos: start, done: false }
    }

    /// The next step, or `None` after the walk ended.
    pub(crate) fn step(&mut self) -> Option<Step<'a>> {
        if self.done {
            return None;
        }
        let offset = self.pos as u64;
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return Some(Step::End);
        }
        if rest.iter().all(|&b| b == 0) {
            return Some(self.broken(offset, Defect::ZeroFill));
        }
        let available = rest.len() as u64;
        let Some(header) = rest.get(..FRAME_HEADER_LEN) else {
            let needed = FRAME_HEADER_LEN as u64;
            return Some(self.broken(offset, Defect::FrameTruncated { needed, available }));
        };
        let declared = read_u32(header, 0);
        if declared as usize > MAX_PAYLOAD_LEN {
            return Some(self.broken(offset, Defect::FrameTooLarge { declared }));
        }
        let total = FRAME_HEADER_LEN + declared as usize;
        let Some(frame) = rest.get(..total) else {
            let needed = total as u64;
            return Some(self.broken(offset, Defect::FrameTruncated { needed, available }));
        };
        let stored_crc = read_u32(header, 4);
        let lsn = Lsn(read_u64(header, 8));
        let payload = &frame[FRAME_HEADER_LEN..];
        let computed_crc = frame_crc(lsn, payload);
        self.pos += total;
        Some(Step::Frame(RawFrame { offset, lsn, stored_crc, computed_crc, payload }))
    }

    fn broken(&mut self, offset: u64, defect: Defect) -> Step<'a> {
        self.done = true;
        Step::Broken { offset, defect }
    }
}

/// Whether every byte of `bytes` from `from` on is zero (true for an empty remainder).
pub(crate) fn zero_from(bytes: &[u8], from: u64) -> bool {
    let from = usize::try_from(from).unwrap_or(usize::MAX);
    bytes.get(from..).unwrap_or_default().iter().all(|&b| b == 0)
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut buf = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        buf.copy_from_slice(src);
    }
    u32::from_le_bytes(buf)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        buf.copy_from_slice(src);
    }
    u64::from_le_bytes(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_defects() {
        let h = encode_header(Lsn(42));
        assert_eq!(decode_header(&h), Ok(FileHeader { version: 1, flags: 0, first_lsn: Lsn(42) }));
        assert_eq!(decode_header(&h[..10]), Err(Defect::HeaderTruncated { len: 10 }));
        assert_eq!(decode_header(&[0u8; 40]), Err(Defect::ZeroFill));
        assert_eq!(decode_header(&[]), Err(Defect::ZeroFill));
        let mut bad = h;
        bad[0] ^= 1;
        assert_eq!(decode_header(&bad), Err(Defect::BadMagic));
        let mut bad = h;
        bad[17] ^= 1;
        assert!(matches!(decode_header(&bad), Err(Defect::HeaderChecksum { .. })));
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name(Lsn(7)), "wal-00000000000000000007.log");
        assert_eq!(parse_file_name(&file_name(Lsn(u64::MAX))), Some(Lsn(u64::MAX)));
        assert_eq!(parse_file_name("wal-7.log"), None);
        assert_eq!(parse_file_name("wal-0000000000000000000x.log"), None);
        assert_eq!(parse_file_name("manifest"), None);
    }

    #[test]
    fn walker_reports_structure() {
        let mut file = encode_header(Lsn(1)).to_vec();
        let mut frame = Vec::new();
        encode_frame_into(&mut frame, Lsn(1), b"abc");
        file.extend_from_slice(&frame);
        let mut w = FrameWalker::new(&file, HEADER_LEN);
        let Some(Step::Frame(f)) = w.step() else { panic!("expected a frame") };
        assert!(f.crc_ok());
        assert_eq!((f.offset, f.lsn, f.payload, f.end()), (28, Lsn(1), &b"abc"[..], 47));
        assert!(matches!(w.step(), Some(Step::End)));
        assert!(w.step().is_none());

        let cut = &file[..file.len() - 1];
        let mut w = FrameWalker::new(cut, HEADER_LEN);
        assert!(matches!(
            w.step(),
            Some(Step::Broken { offset: 28, defect: Defect::FrameTruncated { needed: 19, .. } })
        ));
        let mut huge = file.clone();
        huge[HEADER_LEN + 3] = 0xff;
        let mut w = FrameWalker::new(&huge, HEADER_LEN);
        assert!(matches!(
            w.step(),
            Some(Step::Broken { defect: Defect::FrameTooLarge { .. }, .. })
        ));
    }
}
