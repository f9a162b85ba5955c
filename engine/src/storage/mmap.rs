//! The only place that maps files. Confined here so every `unsafe` block has one audit point.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

use bytes::Bytes;
use memmap2::Mmap;

/// Maps a whole file read-only and hands it out as `Bytes` (the map lives as long as any
/// `Bytes` clone does). Empty files are returned as empty `Bytes` (mapping zero bytes fails).
pub(super) fn map_file(file: &File) -> io::Result<Bytes> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: the engine maps only immutable files: segments, index and manifest files are
    // written once to a temp name, fsynced and renamed into place, and are never opened for
    // writing again; they are deleted only after no snapshot references them (unlinking keeps
    // the mapping valid on POSIX). Nobody truncates them while mapped, so the pages stay
    // backed. Every decoder bounds-checks offsets read from these bytes before using them.
    let map = unsafe { Mmap::map(file)? };
    Ok(Bytes::from_owner(map))
}
