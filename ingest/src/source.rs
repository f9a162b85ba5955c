//! Opening an input file as a stream of text, transparently gunzipping, while counting the
//! bytes read from disk (for progress reporting).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ImportError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const PARQUET_MAGIC: [u8; 4] = *b"PAR1";

/// Bytes consumed from the file on disk (compressed bytes for `.gz`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct CountingReader {
    inner: File,
    count: ByteCounter,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A line-oriented text stream over a plain or gzip'd file.
pub(crate) struct TextInput {
    pub(crate) reader: Box<dyn BufRead + Send>,
    pub(crate) counter: ByteCounter,
    pub(crate) total_bytes: Option<u64>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Io { path: path.to_path_buf(), source }
}

/// Reads up to `N` bytes from the start of the file.
fn magic<const N: usize>(file: &mut File) -> std::io::Result<Option<[u8; N]>> {
    let mut buf = [0u8; N];
    let mut got = 0;
    while got < N {
        match file.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((got == N).then_some(buf))
}

/// Whether the file starts with the Parquet magic `PAR1`.
pub(crate) fn is_parquet(path: &Path) -> Result<bool, ImportError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    Ok(magic::<4>(&mut file).map_err(io_err(path))? == Some(PARQUET_MAGIC))
}

/// Opens `path` for reading lines; gzip is recognised by its magic bytes, not by the name.
/// Concatenated gzip members are read as one stream.
pub(crate) fn open_text(path: &Path) -> Result<TextInput, ImportError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let total_bytes = file.metadata().ok().map(|m| m.len());
    let gz = magic::<2>(&mut file).map_err(io_err(path))? == Some(GZIP_MAGIC);
    let counter = ByteCounter::default();
    let counting = CountingReader { inner: file, count: counter.clone() };
    let reader: Box<dyn BufRead + Send> = if gz {
        let decoder =
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counting));
        Box::new(BufReader::with_capacity(1 << 16, decoder))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, counting))
    };
    Ok(TextInput { reader, counter, total_bytes })
}
