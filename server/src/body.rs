//! Streaming response bodies: a blocking producer (the scan and the format writer, on a
//! blocking thread) writes into a [`ChunkSender`]; the async side sends the chunks as they
//! come. The channel is bounded, so a slow client slows the scan instead of buffering the
//! result. A producer that fails sends an error, which aborts the body (the client sees a
//! broken transfer, never a silently truncated one). So does a producer that stops without
//! saying it finished (a panic): only an explicit [`ChunkSender::finish`] ends the body.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures::Stream;
use tokio::sync::mpsc;

/// Bytes per chunk sent to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight between the producer and the connection.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The writing end: an `io::Write` on a blocking thread.
#[derive(Debug)]
pub(crate) struct ChunkSender {
    tx: mpsc::Sender<Message>,
    buf: Vec<u8>,
}

/// A body fed by a [`ChunkSender`].
pub(crate) fn channel() -> (ChunkSender, Body) {
    let (tx, rx) = mpsc::channel::<Message>(CHUNKS_IN_FLIGHT);
    (
        ChunkSender { tx, buf: Vec::with_capacity(CHUNK_BYTES) },
        Body::from_stream(Chunks { rx, done: false }),
    )
}

impl ChunkSender {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        self.tx
            .blocking_send(Message::Data(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Ends the body with an error: the connection is cut instead of completing the
    /// response, so the client cannot mistake a partial result for a whole one.
    pub(crate) fn fail(mut self, message: String) {
        // Whatever was buffered is dropped with the rest: the response is void anyway.
        self.buf.clear();
        let _ = self.tx.blocking_send(Message::Failed(message));
    }

    /// Sends what is buffered and ends the body normally.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.send()?;
        self.tx
            .blocking_send(Message::Done)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[derive(Debug)]
enum Message {
    Data(Bytes),
    Done,
    Failed(String),
}

struct Chunks {
    rx: mpsc::Receiver<Message>,
    done: bool,
}

impl Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = match self.rx.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(m) => m,
        };
        Poll::Ready(match item {
            Some(Message::Data(b)) => Some(Ok(b)),
            Some(Message::Done) => {
                self.done = true;
                None
            }
            Some(Message::Failed(message)) => {
                self.done = true;
                Some(Err(io::Error::other(message)))
            }
            None => {
                self.done = true;
                Some(Err(io::Error::other("the response was cut short: its producer stopped")))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    async fn collect(body: Body) -> Vec<Result<Bytes, String>> {
        body.into_data_stream().map(|r| r.map_err(|e| e.to_string())).collect().await
    }

    #[tokio::test]
    async fn finished_failed_and_abandoned_bodies() {
        let (mut tx, body) = channel();
        let writer = tokio::task::spawn_blocking(move || {
            tx.write_all(&vec![b'x'; CHUNK_BYTES + 10]).unwrap();
            tx.finish().unwrap();
        });
        let parts = collect(body).await;
        writer.await.unwrap();
        let total: usize = parts.iter().map(|p| p.as_ref().unwrap().len()).sum();
        assert_eq!(total, CHUNK_BYTES + 10);

        let (mut tx, body) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(b"partial").unwrap();
            tx.fail("segment 7 is corrupt".into());
        });
        let parts = collect(body).await;
        assert!(parts.last().unwrap().as_ref().unwrap_err().contains("segment 7"), "{parts:?}");

        let (mut tx, body) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(b"partial").unwrap();
            drop(tx);
        });
        let parts = collect(body).await;
        assert!(parts.last().unwrap().is_err(), "{parts:?}");
    }
}
