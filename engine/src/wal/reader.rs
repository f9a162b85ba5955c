//! Listing and reading WAL files, and the non-judging inspection behind `candlestore dump`.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::format::{self, Defect, FileHeader, FrameWalker, HEADER_LEN, Step};
use super::{Lsn, WalError};
use crate::storage::{Storage, display_path};

/// A WAL file found in the log directory.
#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    /// The first LSN its name declares.
    pub(crate) name_lsn: Lsn,
    /// Its name inside the directory.
    pub(crate) name: String,
    /// Its storage-relative path.
    pub(crate) path: PathBuf,
}

/// The WAL files of `dir`, oldest first. Other files are ignored; a missing directory is empty.
pub(crate) fn list_files(storage: &dyn Storage, dir: &Path) -> Result<Vec<LogFile>, WalError> {
    let names = storage.list(dir).map_err(|source| io_error(storage, dir, source))?;
    let mut files: Vec<LogFile> = names
        .into_iter()
        .filter_map(|name| {
            let name_lsn = format::parse_file_name(&name)?;
            Some(LogFile { name_lsn, path: dir.join(&name), name })
        })
        .collect();
    files.sort_by_key(|f| f.name_lsn);
    Ok(files)
}

/// Reads a whole WAL file. The caller drops the bytes before truncating or removing the file
/// (`FsStorage` maps it).
pub(crate) fn read_file(storage: &dyn Storage, path: &Path) -> Result<Bytes, WalError> {
    storage.read(path).map_err(|source| io_error(storage, path, source))
}

pub(crate) fn io_error(storage: &dyn Storage, path: &Path, source: std::io::Error) -> WalError {
    WalError::Io { path: display_path(storage, path), source }
}

/// A file's header, validated against the LSN its name declares.
pub(crate) fn check_header(bytes: &[u8], name_lsn: Lsn) -> Result<FileHeader, DefectAt> {
    let header = format::decode_header(bytes).map_err(|defect| DefectAt { offset: 0, defect })?;
    if header.first_lsn != name_lsn {
        let defect = Defect::NameMismatch { name_lsn, header_lsn: header.first_lsn };
        return Err(DefectAt { offset: FIRST_LSN_OFFSET, defect });
    }
    Ok(header)
}

/// Offset of the first-LSN field inside the header.
pub(crate) const FIRST_LSN_OFFSET: u64 = 16;

/// A defect and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefectAt {
    /// Byte offset of the defective header or frame.
    pub offset: u64,
    /// What is wrong.
    pub defect: Defect,
}

/// One frame as found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameInfo {
    /// Byte offset of the frame's first byte.
    pub offset: u64,
    /// The LSN stored in the frame.
    pub lsn: Lsn,
    /// Declared (and present) payload length.
    pub payload_len: u32,
    /// Whether the frame's checksum matches.
    pub crc_ok: bool,
    /// Whether the LSN follows its predecessor (or the file header) without gap or repeat.
    pub lsn_ok: bool,
}

/// One WAL file as found on disk, for `candlestore dump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalFileInfo {
    /// The file name.
    pub name: String,
    /// The file's path for display (anchored at the storage root).
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// The header, if it is valid.
    pub header: Option<FileHeader>,
    /// Every structurally complete frame, in file order.
    pub frames: Vec<FrameInfo>,
    /// Every problem found, in file order: checksum and LSN problems of listed frames, then at
    /// most one defect that stopped the walk (a torn or impossible frame, or a bad header).
    pub defects: Vec<DefectAt>,
}

/// Describes every WAL file of `dir` and every frame in it. Corruption is reported in
/// [`WalFileInfo::defects`], never as an error; only I/O fails.
pub fn inspect(storage: &dyn Storage, dir: &Path) -> Result<Vec<WalFileInfo>, WalError> {
    let mut out = Vec::new();
    let mut expected: Option<Lsn> = None;
    for file in list_files(storage, dir)? {
        let bytes = read_file(storage, &file.path)?;
        let mut info = WalFileInfo {
            name: file.name.clone(),
            path: display_path(storage, &file.path),
            size: bytes.len() as u64,
            header: None,
            frames: Vec::new(),
            defects: Vec::new(),
        };
        match check_header(&bytes, file.name_lsn) {
            Ok(header) => {
                info.header = Some(header);
                if let Some(exp) = expected
                    && exp != header.first_lsn
                {
                    let defect =
                        Defect::LsnDiscontinuity { expected: exp, found: header.first_lsn };
                    info.defects.push(DefectAt { offset: FIRST_LSN_OFFSET, defect });
                }
                expected = Some(walk_for_inspect(&bytes, header.first_lsn, &mut info));
            }
            Err(defect) => {
                info.defects.push(defect);
                expected = None;
            }
        }
        out.push(info);
    }
    Ok(out)
}

/// Lists every frame of a file into `info`; returns the LSN expected after the last one.
fn walk_for_inspect(bytes: &[u8], first_lsn: Lsn, info: &mut WalFileInfo) -> Lsn {
    let mut expected = first_lsn;
    let mut walker = FrameWalker::new(bytes, HEADER_LEN);
    while let Some(step) = walker.step() {
        match step {
            Step::Frame(f) => {
                let crc_ok = f.crc_ok();
                let lsn_ok = f.lsn == expected;
                if !crc_ok {
                    let defect = Defect::Checksum { expected: f.stored_crc, got: f.computed_crc };
                    info.defects.push(DefectAt { offset: f.offset, defect });
                } else if !lsn_ok {
                    let defect = Defect::LsnDiscontinuity { expected, found: f.lsn };
                    info.defects.push(DefectAt { offset: f.offset, defect });
                }
                // A frame whose checksum fails may carry a garbled LSN: keep counting from the
                // expected one. A checksummed LSN is trusted, so later frames are judged
                // against it and one gap is reported once.
                expected = if crc_ok { f.lsn.next() } else { expected.next() };
                let payload_len = u32::try_from(f.payload.len()).unwrap_or(u32::MAX);
                info.frames.push(FrameInfo {
                    offset: f.offset,
                    lsn: f.lsn,
                    payload_len,
                    crc_ok,
                    lsn_ok,
                });
            }
            Step::End => {}
            Step::Broken { offset, defect } => info.defects.push(DefectAt { offset, defect }),
        }
    }
    expected
}
