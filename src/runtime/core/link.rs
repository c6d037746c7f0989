//! The byte stream of an open connection, with the queue of frames that were encoded
//! before the I/O thread got them: data frames JS encoded at `send()` and the tail of a
//! frame JS began writing through (`direct`). tungstenite writes control frames over
//! the same stream.
//!
//! Order is kept in one place: every write of tungstenite's goes out only after the
//! whole queue, and the driver queues a frame only once tungstenite's own buffer is
//! empty. Frames therefore never interleave, a Pong that tungstenite writes while it
//! reads waits behind a half-written frame instead of cutting into it, and reading goes
//! on while a large frame waits for the socket (a peer that echoes cannot deadlock us).
//!
//! Queued frames go out with vectored writes: a burst of small frames costs one
//! `writev`, and a large one is written from the buffer it was encoded into, with no
//! copy into a write buffer first.
//!
//! Reads go through [`Inbound`]: a read-ahead buffer, and the fast path that takes large
//! binary frames off the stream before tungstenite sees them.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::runtime::core::inbound::Inbound;
use crate::runtime::core::transport::{MaybeTls, Transport};

/// Frames handed to one `writev`; Linux takes up to 1024 (`IOV_MAX`), and past a few
/// dozen the kernel's socket buffer is full anyway.
const WRITE_SLICES_MAX: usize = 64;

/// A frame this small is appended to the queue's last buffer instead of queued on its
/// own, so that a burst of thousands of small frames is a few buffers, not thousands.
const COALESCE_MAX_BYTES: usize = 4 * 1024;

/// A buffer that small frames are appended to stops growing here.
const COALESCE_BUFFER_BYTES: usize = 64 * 1024;

/// The stream under tungstenite, with the queue of pre-encoded frames.
pub struct Link<S = MaybeTls> {
    io: S,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of `queue[0]` already written.
    written: usize,
    /// Whether `queue`'s last buffer may take more small frames (it was queued for
    /// coalescing, not moved in whole).
    tail_open: bool,
    /// tungstenite holds bytes its last write did not get out (the rest of a Pong it
    /// queued while reading, with the socket full): no frame may be queued before they
    /// are written, or it would land inside that Pong.
    tungstenite_holds: bool,
    inbound: Inbound,
}

impl<S: Transport> Link<S> {
    /// `io` with nothing queued; `peer_masks` when we are the server, `leftover` the
    /// bytes read past the handshake (see `inbound`).
    pub fn new(io: S, peer_masks: bool, leftover: Vec<u8>) -> Self {
        Link {
            io,
            queue: VecDeque::new(),
            written: 0,
            tail_open: false,
            tungstenite_holds: false,
            inbound: Inbound::new(peer_masks, leftover),
        }
    }

    /// The large binary message the read side took past tungstenite (see `inbound`); the
    /// driver asks whenever tungstenite's read pends.
    pub fn take_done(&mut self) -> Option<Vec<u8>> {
        self.inbound.take_done()
    }

    /// The stream itself.
    pub fn io(&self) -> &S {
        &self.io
    }

    /// The stream itself, mutably.
    pub fn io_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Nothing waits to be written here.
    pub fn is_drained(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether a frame may be queued now: tungstenite has no partly written frame.
    /// tungstenite writes its whole buffer with each write, so a write that took all it
    /// was given left it empty; the driver flushes tungstenite when this says no.
    pub fn may_queue(&self) -> bool {
        !self.tungstenite_holds
    }

    /// Queues an encoded frame after everything queued so far.
    pub fn push(&mut self, frame: Vec<u8>) {
        if frame.len() <= COALESCE_MAX_BYTES {
            // Appending to the first buffer is fine even while it is partly written:
            // `written` counts from its start.
            if let Some(last) = self.queue.back_mut().filter(|_| self.tail_open) {
                if last.len() + frame.len() <= COALESCE_BUFFER_BYTES {
                    last.extend_from_slice(&frame);
                    return;
                }
            }
            self.tail_open = true;
        } else {
            self.tail_open = false;
        }
        self.queue.push_back(frame);
    }

    /// Writes queued frames until none is left (`Ready(Ok)`) or the socket is full
    /// (`Pending`, the task is woken when it can take more).
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.queue.is_empty() {
            let n = {
                let mut slices = [IoSlice::new(&[]); WRITE_SLICES_MAX];
                let mut count = 0;
                for (i, buf) in self.queue.iter().take(WRITE_SLICES_MAX).enumerate() {
                    let from = if i == 0 { self.written } else { 0 };
                    slices[i] = IoSlice::new(&buf[from..]);
                    count = i + 1;
                }
                match ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count]))? {
                    0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                    n => n,
                }
            };
            self.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Drops the first `n` queued bytes, which the socket took.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.queue.front() else {
                return;
            };
            let left = front.len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.queue.pop_front();
        }
        if self.queue.is_empty() {
            self.tail_open = false;
        }
    }
}

impl<S: Transport> AsyncRead for Link<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.inbound.poll_read(&mut this.io, cx, buf)
    }
}

impl<S: Transport> AsyncWrite for Link<S> {
    /// tungstenite's bytes, after every queued frame.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.tungstenite_holds = true;
        ready!(this.poll_drain(cx))?;
        let written = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        this.tungstenite_holds = written < buf.len();
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pair() -> (Link, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (
            Link::new(
                MaybeTls::Plain(crate::runtime::core::socket::Socket::Reactor(client)),
                false,
                Vec::new(),
            ),
            server,
        )
    }

    #[tokio::test]
    async fn small_frames_coalesce_and_large_ones_stay_whole() {
        let (mut link, _peer) = pair().await;
        for _ in 0..100 {
            link.push(vec![1; 10]);
        }
        assert_eq!(link.queue.len(), 1, "100 small frames in one buffer");
        link.push(vec![2; COALESCE_MAX_BYTES + 1]);
        link.push(vec![3; 10]);
        assert_eq!(link.queue.len(), 3, "a large frame is not appended to");
        link.advance(1000 + COALESCE_MAX_BYTES + 1 + 10);
        assert!(link.is_drained());
        assert!(!link.tail_open);
    }

    #[tokio::test]
    async fn reads_pass_every_byte_in_order_then_the_end() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut link, mut peer) = pair().await;
        // Not frames: the read side passes what it cannot parse as is.
        let sent: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8 | 0x40).collect();
        peer.write_all(&sent).await.unwrap();
        drop(peer);
        let mut got = Vec::new();
        link.read_to_end(&mut got).await.unwrap();
        assert!(got == sent, "every byte, in order");
    }

    #[tokio::test]
    async fn order_holds_through_partial_writes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut link, mut peer) = pair().await;
        // More than the socket buffers take, so writes are partial and pend.
        let mut expected = Vec::new();
        for i in 0..64u8 {
            let frame = vec![i; if i % 3 == 0 { 200_000 } else { 100 }];
            expected.extend_from_slice(&frame);
            link.push(frame);
        }
        expected.extend_from_slice(b"tail");
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            peer.read_to_end(&mut got).await.unwrap();
            got
        });
        // tungstenite's write goes out after everything queued.
        link.write_all(b"tail").await.unwrap();
        link.shutdown().await.unwrap();
        drop(link);
        let got = reader.await.unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "bytes arrive in queue order");
    }
}
