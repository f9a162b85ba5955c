//! The only place that maps files. Confined here so every `unsafe` block has one audit point.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{Mmap, UncheckedAdvice};

/// A whole immutable file's bytes, as [`Storage::read_file`](super::Storage::read_file)
/// returns them: mapped by [`FsStorage`](super::FsStorage), owned in memory otherwise.
///
/// Pages of a mapped file that were read count in the process's resident set until the
/// kernel reclaims them; [`FileBytes::release_resident`] gives them back at once (they stay
/// in the page cache, and reading them again faults them back in), so a reader that keeps
/// many large files open holds resident only what it is reading.
#[derive(Debug, Clone)]
pub struct FileBytes {
    bytes: Bytes,
    map: Option<Arc<Mmap>>,
}

/// Lets `Bytes` own a shared mapping while [`FileBytes`] keeps a handle to advise it.
struct SharedMap(Arc<Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl FileBytes {
    /// Bytes held in memory (nothing to release).
    pub fn owned(bytes: Bytes) -> Self {
        Self { bytes, map: None }
    }

    /// The file's bytes (zero copy; a clone shares the mapping).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Whether the bytes are a file mapping.
    pub fn is_mapped(&self) -> bool {
        self.map.is_some()
    }

    /// Drops this mapping's resident pages from the process (`MADV_DONTNEED`); the bytes stay
    /// valid and unchanged. Advisory: an error only means the pages stay resident. A no-op
    /// for bytes held in memory.
    pub fn release_resident(&self) -> io::Result<()> {
        let Some(map) = &self.map else { return Ok(()) };
        // SAFETY: `MADV_DONTNEED` discards a mapping's private, modified pages, which would
        // change what the bytes read. This mapping is read-only (`Mmap`, `PROT_READ`) of an
        // immutable file (see `map_file`), so it has no modified pages: every page dropped
        // here reads back from the file with the same contents on its next access. Nothing
        // else about the mapping (its address or length) changes, so all `Bytes` slices of
        // it stay valid.
        unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) }
    }
}

/// Maps a whole file read-only and hands it out as `Bytes` (the map lives as long as any
/// `Bytes` clone does). Empty files are returned as empty `Bytes` (mapping zero bytes fails).
pub(super) fn map_file(file: &File) -> io::Result<Bytes> {
    Ok(map_file_bytes(file)?.bytes)
}

/// Maps a whole file read-only, keeping a handle to the mapping (see [`FileBytes`]).
pub(super) fn map_file_bytes(file: &File) -> io::Result<FileBytes> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(FileBytes::owned(Bytes::new()));
    }
    // SAFETY: the engine maps only immutable files: segments, index and manifest files are
    // written once to a temp name, fsynced and renamed into place, and are never opened for
    // writing again; they are deleted only after no snapshot references them (unlinking keeps
    // the mapping valid on POSIX). Nobody truncates them while mapped, so the pages stay
    // backed. Every decoder bounds-checks offsets read from these bytes before using them.
    let map = Arc::new(unsafe { Mmap::map(file)? });
    let bytes = Bytes::from_owner(SharedMap(map.clone()));
    Ok(FileBytes { bytes, map: Some(map) })
}

/// The resident size of the mapping that holds `bytes`, from `/proc/self/smaps` (tests).
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn resident_kib(bytes: &[u8]) -> Option<u64> {
    let at = bytes.as_ptr() as usize;
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-')
            && let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        {
            inside = lo <= at && at < hi;
        } else if inside && let Some(rest) = line.strip_prefix("Rss:") {
            return rest.trim().trim_end_matches("kB").trim().parse().ok();
        }
    }
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn releasing_drops_resident_pages_and_keeps_the_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        File::create(&path).and_then(|mut f| f.write_all(&data)).expect("write");
        let file = map_file_bytes(&File::open(&path).expect("open")).expect("map");
        assert!(file.is_mapped());
        let slice = file.bytes().slice(1000..2000);
        assert_eq!(crc32c::crc32c(file.bytes()), crc32c::crc32c(&data), "every page read");
        let touched = resident_kib(file.bytes()).expect("the mapping is in smaps");
        assert!(touched >= 4096, "reading made the file resident ({touched} KiB)");
        file.release_resident().expect("madvise");
        assert_eq!(resident_kib(file.bytes()), Some(0), "released pages are not resident");
        assert_eq!(&file.bytes()[..], &data[..], "the bytes read back unchanged");
        assert_eq!(&slice[..], &data[1000..2000], "slices taken before stay valid");
    }

    #[test]
    fn owned_and_empty_files_have_nothing_to_release() {
        let owned = FileBytes::owned(Bytes::from_static(b"abc"));
        assert!(!owned.is_mapped());
        owned.release_resident().expect("no-op");
        assert_eq!(&owned.bytes()[..], b"abc");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("empty");
        File::create(&path).expect("create");
        let empty = map_file_bytes(&File::open(&path).expect("open")).expect("map empty");
        assert!(empty.bytes().is_empty() && !empty.is_mapped());
        empty.release_resident().expect("no-op");
    }
}
