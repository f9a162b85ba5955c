//! Streaming response bodies: a blocking producer (the scan and the format writer, on a
//! blocking thread) writes into a [`ChunkSender`]; the async side sends the chunks as they
//! come. The channel is bounded, so a slow client slows the scan instead of buffering the
//! result (a response shorter than one chunk is handed over whole). A producer that fails sends an error, which aborts the body (the client sees a
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
const CHUNKS_IN_FLIGHT: usize = 4;

/// Hands the body to the async side (false: nobody is waiting for it any more), or, when the
/// producer failed before a byte was delivered, the reason (the response can still be an
/// error status instead of a cut-off 200).
pub(crate) type Deliver = Box<dyn FnOnce(Result<Body, String>) -> bool + Send>;

/// The producer's end. Until the output outgrows one chunk nothing crosses threads: a short
/// response is delivered whole by [`ChunkSender::finish`] (one hand-off per request instead of
/// one per chunk plus the end); a longer one switches to the bounded chunk channel.
pub(crate) struct ChunkSender {
    state: State,
    buf: Vec<u8>,
}

enum State {
    /// Nothing delivered yet.
    Pending(Deliver),
    /// The body is a stream fed by this channel.
    Streaming(mpsc::Sender<Message>),
    /// Finished or failed.
    Done,
}

impl std::fmt::Debug for ChunkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Pending(_) => "pending",
            State::Streaming(_) => "streaming",
            State::Done => "done",
        };
        f.debug_struct("ChunkSender")
            .field("state", &state)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

/// A producer whose body goes to `deliver` (a short one whole, a long one as a stream).
pub(crate) fn sender(deliver: Deliver) -> ChunkSender {
    ChunkSender { state: State::Pending(deliver), buf: Vec::with_capacity(CHUNK_BYTES) }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")
}

impl ChunkSender {
    /// Switches to streaming (delivering the stream body) if not done yet.
    fn stream(&mut self) -> io::Result<&mpsc::Sender<Message>> {
        self.state = match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(deliver) => {
                let (tx, rx) = mpsc::channel::<Message>(CHUNKS_IN_FLIGHT);
                if !deliver(Ok(Body::from_stream(Chunks { rx, done: false }))) {
                    return Err(gone());
                }
                State::Streaming(tx)
            }
            other => other,
        };
        match &self.state {
            State::Streaming(tx) => Ok(tx),
            _ => Err(io::Error::other("the response is already complete")),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        self.stream()?.blocking_send(Message::Data(chunk)).map_err(|_| gone())
    }

    /// Ends the body with an error: before anything was delivered, the error itself is
    /// delivered; after, the transfer aborts (what was sent stays).
    pub(crate) fn fail(mut self, message: String) {
        self.buf.clear();
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(deliver) => {
                deliver(Err(message));
            }
            State::Streaming(tx) => {
                let _ = tx.blocking_send(Message::Failed(message));
            }
            State::Done => {}
        }
    }

    /// Ends the body normally.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if matches!(self.state, State::Streaming(_)) {
            self.send()?;
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(deliver) => {
                let bytes = Bytes::from(std::mem::take(&mut self.buf));
                if deliver(Ok(Body::from(bytes))) { Ok(()) } else { Err(gone()) }
            }
            State::Streaming(tx) => tx.blocking_send(Message::Done).map_err(|_| gone()),
            State::Done => Ok(()),
        }
    }
}

impl Drop for ChunkSender {
    /// A producer that stops without finishing (a panic) must not look like a complete body.
    fn drop(&mut self) {
        let message = "the response was cut short: its producer stopped".to_owned();
        match std::mem::replace(&mut self.state, State::Done) {
            State::Pending(deliver) => {
                deliver(Err(message));
            }
            State::Streaming(tx) => {
                let _ = tx.try_send(Message::Failed(message));
            }
            State::Done => {}
        }
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
        // A flush does not force a short response out as a stream: `finish` delivers it.
        if matches!(self.state, State::Streaming(_)) { self.send() } else { Ok(()) }
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

    /// A sender and the body it delivers.
    fn channel() -> (ChunkSender, tokio::sync::oneshot::Receiver<Result<Body, String>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (sender(Box::new(move |b| tx.send(b).is_ok())), rx)
    }

    /// The body, or the error delivered instead of one.
    async fn body(rx: tokio::sync::oneshot::Receiver<Result<Body, String>>) -> Body {
        rx.await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn finished_failed_and_abandoned_bodies() {
        let (mut tx, rx) = channel();
        let writer = tokio::task::spawn_blocking(move || {
            tx.write_all(&vec![b'x'; CHUNK_BYTES + 10]).unwrap();
            tx.finish().unwrap();
        });
        let parts = collect(body(rx).await).await;
        writer.await.unwrap();
        let total: usize = parts.iter().map(|p| p.as_ref().unwrap().len()).sum();
        assert_eq!(total, CHUNK_BYTES + 10);

        // Failing or stopping after a chunk went out aborts the body.
        let (mut tx, rx) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(&vec![b'x'; CHUNK_BYTES]).unwrap();
            tx.fail("segment 7 is corrupt".into());
        });
        let parts = collect(body(rx).await).await;
        assert!(parts.last().unwrap().as_ref().unwrap_err().contains("segment 7"), "{parts:?}");

        let (mut tx, rx) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(&vec![b'x'; CHUNK_BYTES]).unwrap();
            drop(tx);
        });
        let parts = collect(body(rx).await).await;
        assert!(parts.last().unwrap().is_err(), "{parts:?}");

        // Before anything went out, the error is delivered instead of a body.
        let (mut tx, rx) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(b"partial").unwrap();
            tx.fail("segment 7 is corrupt".into());
        });
        assert_eq!(rx.await.unwrap().unwrap_err(), "segment 7 is corrupt");
        let (mut tx, rx) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(b"partial").unwrap();
            drop(tx);
        });
        assert!(rx.await.unwrap().unwrap_err().contains("cut short"));

        // A short response arrives whole, in one piece.
        let (mut tx, rx) = channel();
        tokio::task::spawn_blocking(move || {
            tx.write_all(b"short").unwrap();
            tx.flush().unwrap();
            tx.finish().unwrap();
        });
        let parts = collect(body(rx).await).await;
        assert_eq!(parts, vec![Ok(Bytes::from_static(b"short"))]);
    }
}
