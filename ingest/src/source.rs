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
        Box::new(BufReader::with_capacity(1 << 16, Inflater::spawn(decoder)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, counting))
    };
    Ok(TextInput { reader, counter, total_bytes })
}

/// Bytes of one decompressed block handed from the inflating thread to the parser.
const INFLATE_BLOCK: usize = 256 * 1024;
/// Blocks in flight: memory stays bounded (about 1 MiB) whatever the file's size.
const INFLATE_BLOCKS_IN_FLIGHT: usize = 4;

/// Decompression on its own thread: gunzipping is a third of the parse when it shares the
/// parser's thread, and the two run side by side on two cores. A bounded channel carries
/// blocks in order; a read error is delivered in its place in the stream, so the parser
/// reports it exactly as it would have inline. Dropping the reader stops the thread at its
/// next block.
struct Inflater {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    block: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Inflater {
    fn spawn<R: Read + Send + 'static>(inner: R) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(INFLATE_BLOCKS_IN_FLIGHT);
        let spawned =
            std::thread::Builder::new().name("candlestore-gunzip".into()).spawn(|| pump(inner, tx));
        let rx = match spawned {
            Ok(_) => rx,
            Err(e) => {
                // No thread: the failure is the stream's first read.
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                rx
            }
        };
        Self { rx, block: Vec::new(), pos: 0, done: false }
    }
}

/// The inflating thread: full blocks until a short one (the end) or an error, which is sent
/// in its place; stops early when the reader is gone.
fn pump<R: Read>(mut inner: R, tx: std::sync::mpsc::SyncSender<std::io::Result<Vec<u8>>>) {
    loop {
        let mut block = vec![0u8; INFLATE_BLOCK];
        let mut filled = 0;
        let result = loop {
            match inner.read(&mut block[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == block.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        block.truncate(filled);
        let full = filled == INFLATE_BLOCK;
        if filled > 0 && tx.send(Ok(block)).is_err() {
            return;
        }
        match result {
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
            Ok(()) if !full => return, // end of stream: the channel closes
            Ok(()) => {}
        }
    }
}

impl Read for Inflater {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.block.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    self.block = block;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod inflater_tests {
    use std::io::{Read, Write};

    use super::Inflater;

    /// Blocks arrive whole and in order across block boundaries; an error mid-stream is
    /// delivered after the bytes before it.
    #[test]
    fn streams_blocks_in_order_and_delivers_errors() {
        let data: Vec<u8> = (0..1_000_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let mut out = Vec::new();
        Inflater::spawn(flate2::read::MultiGzDecoder::new(std::io::Cursor::new(gz.clone())))
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, data);

        // A truncated gzip stream: the bytes that decoded, then the decoder's error.
        let cut = gz[..gz.len() / 2].to_vec();
        let mut out = Vec::new();
        let err = Inflater::spawn(flate2::read::MultiGzDecoder::new(std::io::Cursor::new(cut)))
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
        assert!(!out.is_empty() && data.starts_with(&out));
    }
}
